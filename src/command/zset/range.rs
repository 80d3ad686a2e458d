//! Range commands over one sorted set: ZRANGE (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES), ZRANGESTORE,
//! the legacy ZREVRANGE / Z[REV]RANGEBYSCORE / Z[REV]RANGEBYLEX forms, ZCOUNT, ZLEXCOUNT and
//! ZREMRANGEBYRANK/SCORE/LEX (Redis's zrangeGenericCommand and zremrangeGenericCommand).
//!
//! Arguments are parsed and validated completely before the key is looked up, in Redis's order, so
//! the same bad input gets the same error whether or not the key exists.

use super::{Args, existing_zset, limits, read_zset, reply_len, reply_scored, write_zset};
use crate::client::Client;
use crate::db::CompactBytes;
use crate::db::Value;
use crate::db::listpack::{INTBUF_SIZE, LpValue};
use crate::db::sorted_set::{LexBound, LexRange, ScoreBound, ScoreRange};
use crate::db::zset::{ZSetValue, strtod_whole};
use crate::error::{self, CmdError, CmdResult};
use crate::resp::reply::Aggregate;
use crate::server::Server;
use crate::server::keyspace::{EVENT_GENERIC, EVENT_ZSET};

const NOT_FLOAT_RANGE: &str = "min or max is not a float";
const NOT_LEX_RANGE: &str = "min or max not valid string range item";

/// A score interval from two arguments (zslParseRange): `(` makes an end exclusive; the number is
/// read like C strtod.
pub(super) fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    fn bound(a: &[u8]) -> Option<ScoreBound> {
        match a.strip_prefix(b"(") {
            Some(rest) => strtod_whole(rest).map(ScoreBound::Excl),
            None => strtod_whole(a).map(ScoreBound::Incl),
        }
    }
    match (bound(min), bound(max)) {
        (Some(lo), Some(hi)) => Ok(ScoreRange::new(lo, hi)),
        _ => Err(CmdError::err(NOT_FLOAT_RANGE)),
    }
}

/// A lexicographic interval from two arguments (zslParseLexRange): `-`, `+`, `[member`, `(member`.
pub(super) fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    fn bound(a: &[u8]) -> Option<LexBound> {
        match a.split_first() {
            Some((b'+', [])) => Some(LexBound::PosInf),
            Some((b'-', [])) => Some(LexBound::NegInf),
            Some((b'(', rest)) => Some(LexBound::Excl(rest.to_vec())),
            Some((b'[', rest)) => Some(LexBound::Incl(rest.to_vec())),
            _ => None,
        }
    }
    match (bound(min), bound(max)) {
        (Some(lo), Some(hi)) => Ok(LexRange::new(lo, hi)),
        _ => Err(CmdError::err(NOT_LEX_RANGE)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// Where range results go: the client's reply, or a list that ZRANGESTORE stores.
struct Out<'c> {
    c: &'c mut Client,
    store: Option<Vec<(CompactBytes, f64)>>,
    withscores: bool,
    n: usize,
    deferred: Option<usize>,
}

impl Out<'_> {
    /// Starts the reply; `len` is known for rank ranges, found while walking for the others.
    fn begin(&mut self, len: Option<usize>) {
        if self.store.is_some() {
            return;
        }
        match len {
            Some(n) => {
                let n = reply_len(self.c, n, self.withscores);
                self.c.reply.array(n);
            }
            None => self.deferred = Some(self.c.reply.begin_deferred()),
        }
    }

    fn emit(&mut self, m: LpValue<'_>, score: f64) {
        self.n += 1;
        match &mut self.store {
            Some(items) => {
                let mut scratch = [0u8; INTBUF_SIZE];
                items.push((CompactBytes::from(m.to_bytes(&mut scratch)), score));
            }
            None => reply_scored(self.c, m, score, self.withscores),
        }
    }

    fn finish(&mut self) {
        if let Some(at) = self.deferred.take() {
            let n = reply_len(self.c, self.n, self.withscores);
            self.c.reply.end_deferred(at, Aggregate::Array, n);
        }
    }
}

/// The parsed interval of a range command.
enum Interval {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub(super) fn zrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, None, Kind::Auto, Dir::Auto)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
pub(super) fn zrangestore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, Some(args.get(1)), Kind::Auto, Dir::Auto)
}

/// ZREVRANGE key start stop [WITHSCORES]
pub(super) fn zrevrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, None, Kind::Rank, Dir::Reverse)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub(super) fn zrangebyscore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, None, Kind::Score, Dir::Forward)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub(super) fn zrevrangebyscore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, None, Kind::Score, Dir::Reverse)
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub(super) fn zrangebylex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, None, Kind::Lex, Dir::Forward)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub(super) fn zrevrangebylex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zrange_generic(srv, c, args, None, Kind::Lex, Dir::Reverse)
}

fn zrange_generic(
    srv: &mut Server,
    c: &mut Client,
    args: &Args,
    dst: Option<&[u8]>,
    mut kind: Kind,
    mut dir: Dir,
) -> CmdResult {
    let key_idx = if dst.is_some() { 2 } else { 1 };
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = key_idx + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        if dst.is_none() && args.is(j, "withscores") {
            withscores = true;
        } else if args.is(j, "limit") && left >= 2 {
            offset = args.i64(j + 1)?;
            limit = args.i64(j + 2)?;
            j += 2;
        } else if dir == Dir::Auto && args.is(j, "rev") {
            dir = Dir::Reverse;
        } else if kind == Kind::Auto && args.is(j, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && args.is(j, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    let reverse = dir == Dir::Reverse;
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::err("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::err("syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    // Reversed score and lex ranges are written max first.
    let (mut lo, mut hi) = (args.get(key_idx + 1), args.get(key_idx + 2));
    if reverse && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let interval = match kind {
        Kind::Score => Interval::Score(parse_score_range(lo, hi)?),
        Kind::Lex => Interval::Lex(parse_lex_range(lo, hi)?),
        Kind::Rank | Kind::Auto => {
            let start = super::parse_i64(lo).ok_or(CmdError::from(error::NOT_INTEGER))?;
            let end = super::parse_i64(hi).ok_or(CmdError::from(error::NOT_INTEGER))?;
            Interval::Rank(start, end)
        }
    };
    let db = c.db;
    let limits = limits(srv);
    let store = dst.is_some();
    let mut out = Out { c, store: store.then(Vec::new), withscores, n: 0, deferred: None };
    match read_zset(srv, db, args.get(key_idx))? {
        None if !store => {
            out.c.reply.array(0);
            return Ok(());
        }
        None => {}
        Some(zs) => match &interval {
            Interval::Rank(start, end) => by_rank(zs, *start, *end, reverse, &mut out),
            Interval::Score(r) => by_score(zs, r, offset, limit, reverse, &mut out),
            Interval::Lex(r) => by_lex(zs, r, offset, limit, reverse, &mut out),
        },
    }
    let Some(dst) = dst else { return Ok(()) };
    let mut items = out.store.take().unwrap_or_default();
    let c = out.c;
    if items.is_empty() {
        c.reply.int(0);
        srv.delete_key_notify(db, dst);
        return Ok(());
    }
    if reverse {
        items.reverse();
    }
    let n = items.len();
    srv.set_key(db, dst, Value::ZSet(ZSetValue::from_sorted(&items, limits)), false);
    c.reply.int(n as i64);
    srv.notify_keyspace_event(EVENT_ZSET, "zrangestore", dst, db);
    srv.dirty += 1;
    Ok(())
}

/// Ranks `start..=end` (negative from the end), ascending or from the top.
fn by_rank(zs: &ZSetValue, start: i64, end: i64, reverse: bool, out: &mut Out<'_>) {
    let llen = zs.len() as i64;
    let start = if start < 0 { (start + llen).max(0) } else { start };
    let end = if end < 0 { end + llen } else { end };
    if start > end || start >= llen {
        out.begin(Some(0));
        out.finish();
        return;
    }
    let end = end.min(llen - 1);
    let n = (end - start + 1) as usize;
    out.begin(Some(n));
    let from = if reverse { (llen - 1 - start) as usize } else { start as usize };
    for (m, s) in zs.iter_from(from, reverse).take(n) {
        out.emit(m, s);
    }
    out.finish();
}

/// The rank `offset` steps past `rank` in the walking direction, if any (LIMIT's offset; a negative
/// offset walks off the end in Redis, leaving nothing).
fn offset_rank(rank: usize, offset: i64, reverse: bool, len: usize) -> Option<usize> {
    let off = usize::try_from(offset).ok()?;
    let r = if reverse { rank.checked_sub(off)? } else { rank.checked_add(off)? };
    (r < len).then_some(r)
}

/// LIMIT's count: negative means no limit.
fn limit_count(limit: i64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

fn by_score(zs: &ZSetValue, r: &ScoreRange, offset: i64, limit: i64, reverse: bool, out: &mut Out<'_>) {
    out.begin(None);
    let len = zs.len();
    let start = if reverse { zs.last_in_score_range(r) } else { zs.first_in_score_range(r) };
    if let Some(from) = start.and_then(|rank| offset_rank(rank, offset, reverse, len)) {
        for (m, s) in zs.iter_from(from, reverse).take(limit_count(limit)) {
            let inside = if reverse { r.value_gte_min(s) } else { r.value_lte_max(s) };
            if !inside {
                break;
            }
            out.emit(m, s);
        }
    }
    out.finish();
}

fn by_lex(zs: &ZSetValue, r: &LexRange, offset: i64, limit: i64, reverse: bool, out: &mut Out<'_>) {
    out.begin(None);
    let len = zs.len();
    let start = if reverse { zs.last_in_lex_range(r) } else { zs.first_in_lex_range(r) };
    if let Some(from) = start.and_then(|rank| offset_rank(rank, offset, reverse, len)) {
        let mut scratch = [0u8; INTBUF_SIZE];
        for (m, s) in zs.iter_from(from, reverse).take(limit_count(limit)) {
            let bytes = m.to_bytes(&mut scratch);
            let inside = if reverse { r.value_gte_min(bytes) } else { r.value_lte_max(bytes) };
            if !inside {
                break;
            }
            out.emit(m, s);
        }
    }
    out.finish();
}

/// How many members from rank `first` on stay within the upper end of the range.
fn count_from(zs: &ZSetValue, first: usize, mut below_max: impl FnMut(LpValue<'_>, f64) -> bool) -> usize {
    zs.iter_from(first, false).take_while(|&(m, s)| below_max(m, s)).count()
}

/// ZCOUNT key min max
pub(super) fn zcount(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let r = parse_score_range(args.get(2), args.get(3))?;
    let n = match read_zset(srv, c.db, args.get(1))? {
        None => 0,
        Some(zs @ ZSetValue::Listpack(_)) => {
            zs.first_in_score_range(&r).map_or(0, |f| count_from(zs, f, |_, s| r.value_lte_max(s)))
        }
        Some(zs) => match (zs.first_in_score_range(&r), zs.last_in_score_range(&r)) {
            (Some(f), Some(l)) if l >= f => l - f + 1,
            _ => 0,
        },
    };
    c.reply.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max
pub(super) fn zlexcount(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let r = parse_lex_range(args.get(2), args.get(3))?;
    let n = match read_zset(srv, c.db, args.get(1))? {
        None => 0,
        Some(zs @ ZSetValue::Listpack(_)) => zs.first_in_lex_range(&r).map_or(0, |f| {
            let mut scratch = [0u8; INTBUF_SIZE];
            count_from(zs, f, |m, _| r.value_lte_max(m.to_bytes(&mut scratch)))
        }),
        Some(zs) => match (zs.first_in_lex_range(&r), zs.last_in_lex_range(&r)) {
            (Some(f), Some(l)) if l >= f => l - f + 1,
            _ => 0,
        },
    };
    c.reply.int(n as i64);
    Ok(())
}

/// ZREMRANGEBYRANK key start stop
pub(super) fn zremrangebyrank(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let start = args.i64(2)?;
    let end = args.i64(3)?;
    zremrange_generic(srv, c, args, Interval::Rank(start, end), "zremrangebyrank")
}

/// ZREMRANGEBYSCORE key min max
pub(super) fn zremrangebyscore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let r = parse_score_range(args.get(2), args.get(3))?;
    zremrange_generic(srv, c, args, Interval::Score(r), "zremrangebyscore")
}

/// ZREMRANGEBYLEX key min max
pub(super) fn zremrangebylex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let r = parse_lex_range(args.get(2), args.get(3))?;
    zremrange_generic(srv, c, args, Interval::Lex(r), "zremrangebylex")
}

fn zremrange_generic(srv: &mut Server, c: &mut Client, args: &Args, interval: Interval, event: &str) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let Some(zs) = write_zset(srv, db, key)? else {
        c.reply.int(0);
        return Ok(());
    };
    // Deletion walks from the first member in range while members stay under the upper end, as
    // Redis's zslDeleteRangeBy* do.
    let span = match &interval {
        Interval::Rank(start, end) => {
            let llen = zs.len() as i64;
            let start = if *start < 0 { (start + llen).max(0) } else { *start };
            let end = if *end < 0 { end + llen } else { *end };
            if start > end || start >= llen {
                c.reply.int(0);
                return Ok(());
            }
            Some((start as usize, (end.min(llen - 1) - start + 1) as usize))
        }
        Interval::Score(r) => zs.first_in_score_range(r).map(|f| (f, count_from(zs, f, |_, s| r.value_lte_max(s)))),
        Interval::Lex(r) => zs.first_in_lex_range(r).map(|f| {
            let mut scratch = [0u8; INTBUF_SIZE];
            (f, count_from(zs, f, |m, _| r.value_lte_max(m.to_bytes(&mut scratch))))
        }),
    };
    let deleted = match span {
        Some((first, n)) if n > 0 => zs.delete_rank_range(first, first + n - 1),
        _ => 0,
    };
    let emptied = existing_zset(srv, db, key).is_some_and(|z| z.is_empty());
    if emptied {
        srv.dbs[db].remove(key);
    }
    if deleted > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_ZSET, event, key, db);
        if emptied {
            srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        }
    }
    srv.dirty += deleted as u64;
    c.reply.int(deleted as i64);
    Ok(())
}
