//! Sorted set commands (Redis 7.0's t_zset.c): ZADD, ZINCRBY, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK,
//! ZREVRANK, ZPOPMIN/MAX, ZMPOP, the blocking BZPOPMIN/MAX and BZMPOP, ZRANDMEMBER and ZSCAN here;
//! ranges (ZRANGE and friends, ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*) in `zset/range.rs`; set algebra
//! (ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD) in `zset/store.rs`.
//!
//! Replies follow Redis byte for byte in RESP2 and RESP3 (scores are doubles, WITHSCORES pairs are
//! nested arrays in RESP3). Encodings and their conversions live in `db::zset`; handlers never pick
//! an encoding themselves except through its constructors.

mod range;
mod store;

use super::flags::*;
use super::keys::parse_scan_cursor;
use super::{
    Args, CommandSpec, KEY1, KEY1_2, KeyAccess, KeyPerm, KeySpec, METADATA_ONLY, NO_KEYS, READS, READS_WRITES, WRITES,
};
use crate::acl::category as cat;
use crate::client::Client;
use crate::config::ClientClass;
use crate::db::listpack::LpValue;
use crate::db::zset::{AddFlags, AddOutcome, ZSetLimits, ZSetValue};
use crate::db::{NO_EXPIRE, Object, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::glob::string_match;
use crate::numeric::{format_double, parse_f64, parse_i64};
use crate::server::Server;
use crate::server::blocking::{BlockedOn, parse_timeout};
use crate::server::keyspace::{EVENT_GENERIC, EVENT_ZSET};

/// BZPOPMIN/BZPOPMAX keys: every argument but the command name and the trailing timeout.
const KEYS_BUT_LAST: KeySpec = KeySpec { first: 1, last: -2, step: 1 };

// Commands whose keys follow a count (movablekeys) find them with `numkeys_positions`: ACL key
// permissions and client-side caching need every key, not only the destination.
pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("zadd", -4, WRITE | DENYOOM | FAST, KEY1, "sorted-set", zadd).acl(cat::SORTEDSET).access(WRITES),
    CommandSpec::new("zincrby", 4, WRITE | DENYOOM | FAST, KEY1, "sorted-set", zincrby)
        .acl(cat::SORTEDSET)
        .access(READS_WRITES),
    CommandSpec::new("zrem", -3, WRITE | FAST, KEY1, "sorted-set", zrem).acl(cat::SORTEDSET).access(WRITES),
    CommandSpec::new("zcard", 2, READONLY | FAST, KEY1, "sorted-set", zcard).acl(cat::SORTEDSET).access(METADATA_ONLY),
    CommandSpec::new("zscore", 3, READONLY | FAST, KEY1, "sorted-set", zscore).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zmscore", -3, READONLY | FAST, KEY1, "sorted-set", zmscore).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zrank", 3, READONLY | FAST, KEY1, "sorted-set", zrank).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zrevrank", 3, READONLY | FAST, KEY1, "sorted-set", zrevrank).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zcount", 4, READONLY | FAST, KEY1, "sorted-set", range::zcount).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zlexcount", 4, READONLY | FAST, KEY1, "sorted-set", range::zlexcount)
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zrange", -4, READONLY, KEY1, "sorted-set", range::zrange).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zrangestore", -5, WRITE | DENYOOM, KEY1_2, "sorted-set", range::zrangestore)
        .acl(cat::SORTEDSET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("zrevrange", -4, READONLY, KEY1, "sorted-set", range::zrevrange).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zrangebyscore", -4, READONLY, KEY1, "sorted-set", range::zrangebyscore)
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zrevrangebyscore", -4, READONLY, KEY1, "sorted-set", range::zrevrangebyscore)
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zrangebylex", -4, READONLY, KEY1, "sorted-set", range::zrangebylex)
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zrevrangebylex", -4, READONLY, KEY1, "sorted-set", range::zrevrangebylex)
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zremrangebyrank", 4, WRITE, KEY1, "sorted-set", range::zremrangebyrank)
        .acl(cat::SORTEDSET)
        .access(WRITES),
    CommandSpec::new("zremrangebyscore", 4, WRITE, KEY1, "sorted-set", range::zremrangebyscore)
        .acl(cat::SORTEDSET)
        .access(WRITES),
    CommandSpec::new("zremrangebylex", 4, WRITE, KEY1, "sorted-set", range::zremrangebylex)
        .acl(cat::SORTEDSET)
        .access(WRITES),
    CommandSpec::new("zpopmin", -2, WRITE | FAST, KEY1, "sorted-set", zpopmin).acl(cat::SORTEDSET).access(READS_WRITES),
    CommandSpec::new("zpopmax", -2, WRITE | FAST, KEY1, "sorted-set", zpopmax).acl(cat::SORTEDSET).access(READS_WRITES),
    CommandSpec::new("zmpop", -4, WRITE, NO_KEYS, "sorted-set", zmpop)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::SORTEDSET)
        .access(READS_WRITES),
    CommandSpec::new("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, KEYS_BUT_LAST, "sorted-set", bzpopmin)
        .acl(cat::SORTEDSET)
        .access(READS_WRITES),
    CommandSpec::new("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, KEYS_BUT_LAST, "sorted-set", bzpopmax)
        .acl(cat::SORTEDSET)
        .access(READS_WRITES),
    CommandSpec::new("bzmpop", -5, WRITE | BLOCKING, NO_KEYS, "sorted-set", bzmpop)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SORTEDSET)
        .access(READS_WRITES),
    CommandSpec::new("zrandmember", -2, READONLY, KEY1, "sorted-set", zrandmember).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zscan", -3, READONLY, KEY1, "sorted-set", zscan).acl(cat::SORTEDSET).access(READS),
    CommandSpec::new("zunion", -3, READONLY, NO_KEYS, "sorted-set", store::zunion)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zinter", -3, READONLY, NO_KEYS, "sorted-set", store::zinter)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zdiff", -3, READONLY, NO_KEYS, "sorted-set", store::zdiff)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zintercard", -3, READONLY, NO_KEYS, "sorted-set", store::zintercard)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::SORTEDSET)
        .access(READS),
    CommandSpec::new("zunionstore", -4, WRITE | DENYOOM, KEY1, "sorted-set", store::zunionstore)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[1]))
        .acl(cat::SORTEDSET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("zinterstore", -4, WRITE | DENYOOM, KEY1, "sorted-set", store::zinterstore)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[1]))
        .acl(cat::SORTEDSET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("zdiffstore", -4, WRITE | DENYOOM, KEY1, "sorted-set", store::zdiffstore)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[1]))
        .acl(cat::SORTEDSET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
];

/// The conversion thresholds currently configured.
fn limits(srv: &Server) -> ZSetLimits {
    ZSetLimits { max_entries: srv.config.zset_max_listpack_entries(), max_value: srv.config.zset_max_listpack_value() }
}

/// The sorted set at `key` for reading: None when absent, WRONGTYPE for another type.
fn read_zset<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut ZSetValue>, CmdError> {
    match srv.lookup_read(db, key) {
        None => Ok(None),
        Some(o) => o.value.as_zset_mut().map(Some),
    }
}

/// The sorted set at `key` for writing: None when absent, WRONGTYPE for another type.
fn write_zset<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut ZSetValue>, CmdError> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(o) => o.value.as_zset_mut().map(Some),
    }
}

/// The zset at a key known to exist (after a lookup in the same command).
fn existing_zset<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Option<&'a mut ZSetValue> {
    match srv.dbs[db].get_mut(key).map(|o| &mut o.value) {
        Some(Value::ZSet(z)) => Some(z),
        _ => None,
    }
}

/// Deletes a key whose sorted set became empty, with the `del` event that follows the command's own.
fn delete_if_empty(srv: &mut Server, db: usize, key: &[u8]) -> bool {
    if existing_zset(srv, db, key).is_some_and(|z| z.is_empty()) {
        srv.dbs[db].remove(key);
        srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        return true;
    }
    false
}

/// One element of a range-like reply: a nested [member, score] pair in RESP3 with scores, else the
/// member followed by its score when asked.
fn reply_scored(c: &mut Client, m: LpValue<'_>, score: f64, withscores: bool) {
    if withscores && c.reply.resp > 2 {
        c.reply.array(2);
    }
    c.reply.lp_value(m);
    if withscores {
        c.reply.double(score);
    }
}

/// The aggregate length of `n` range elements: doubled for flat RESP2 WITHSCORES replies.
fn reply_len(c: &Client, n: usize, withscores: bool) -> usize {
    if withscores && c.reply.resp == 2 { n * 2 } else { n }
}

/// An integer argument within `min..=max`, else `msg` (or Redis's generic range message); a non-integer
/// also gets `msg` when one is given (getRangeLongFromObjectOrReply).
fn range_long(arg: &[u8], min: i64, max: i64, msg: Option<&'static str>) -> Result<i64, CmdError> {
    let v = match (parse_i64(arg), msg) {
        (Some(v), _) => v,
        (None, Some(m)) => return Err(CmdError::err(m)),
        (None, None) => return Err(error::NOT_INTEGER.into()),
    };
    if v < min || v > max {
        return Err(match msg {
            Some(m) => CmdError::err(m),
            None => CmdError::err(format!("value is out of range, value must between {min} and {max}")),
        });
    }
    Ok(v)
}

/// A non-negative integer argument (getPositiveLongFromObjectOrReply).
fn positive_long(arg: &[u8], msg: Option<&'static str>) -> Result<i64, CmdError> {
    range_long(arg, 0, i64::MAX, Some(msg.unwrap_or("value is out of range, must be positive")))
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
fn zadd(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zadd_generic(srv, c, args, false)
}

/// ZINCRBY key increment member
fn zincrby(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zadd_generic(srv, c, args, true)
}

fn zadd_generic(srv: &mut Server, c: &mut Client, args: &Args, incr_cmd: bool) -> CmdResult {
    let mut flags = AddFlags { incr: incr_cmd, ..AddFlags::default() };
    let mut ch = false;
    let mut idx = 2;
    while idx < args.len() {
        if args.is(idx, "nx") {
            flags.nx = true;
        } else if args.is(idx, "xx") {
            flags.xx = true;
        } else if args.is(idx, "ch") {
            ch = true;
        } else if args.is(idx, "incr") {
            flags.incr = true;
        } else if args.is(idx, "gt") {
            flags.gt = true;
        } else if args.is(idx, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = args.len() - idx;
    if elements == 0 || elements % 2 == 1 {
        return Err(error::SYNTAX.into());
    }
    let pairs = elements / 2;
    if flags.nx && flags.xx {
        return Err(CmdError::err("XX and NX options at the same time are not compatible"));
    }
    if [flags.gt, flags.lt, flags.nx].iter().filter(|&&f| f).count() > 1 {
        return Err(CmdError::err("GT, LT, and/or NX options at the same time are not compatible"));
    }
    if flags.incr && pairs > 1 {
        return Err(CmdError::err("INCR option supports a single increment-element pair"));
    }
    // Every score is checked before anything changes: the command applies fully or not at all.
    let mut scores = Vec::with_capacity(pairs);
    for j in 0..pairs {
        scores.push(parse_f64(args.get(idx + 2 * j)).ok_or(CmdError::from(error::NOT_FLOAT))?);
    }
    let db = c.db;
    let key = args.get(1);
    let limits = limits(srv);
    let apply = |zs: &mut ZSetValue| -> Result<(u64, u64, u64, f64), CmdError> {
        let (mut added, mut updated, mut processed) = (0, 0, 0);
        let mut last_score = 0.0;
        for (j, &score) in scores.iter().enumerate() {
            let member = args.get(idx + 1 + 2 * j);
            match zs.add(member, score, flags, limits) {
                AddOutcome::NotANumber => return Err(CmdError::err("resulting score is not a number (NaN)")),
                AddOutcome::Nop => {}
                AddOutcome::Added(s) => {
                    added += 1;
                    processed += 1;
                    last_score = s;
                }
                AddOutcome::Updated(s) => {
                    updated += 1;
                    processed += 1;
                    last_score = s;
                }
                AddOutcome::Unchanged(s) => {
                    processed += 1;
                    last_score = s;
                }
            }
        }
        Ok((added, updated, processed, last_score))
    };
    // An existing set is written through its one lookup; only a new key is looked up again.
    let outcome = match write_zset(srv, db, key)? {
        Some(zs) => apply(zs)?,
        None => {
            if flags.xx {
                if flags.incr {
                    c.reply.null();
                } else {
                    c.reply.int(0);
                }
                return Ok(());
            }
            let zs = ZSetValue::for_new_key(args.get(idx + 1).len(), limits);
            let lru = srv.clocks.fresh();
            srv.dbs[db].add_object(key, Object::new(Value::ZSet(zs), lru), NO_EXPIRE);
            srv.key_created(db, key);
            let Some(zs) = existing_zset(srv, db, key) else { return Ok(()) };
            apply(zs)?
        }
    };
    let (added, updated, processed, last_score) = outcome;
    srv.dirty += added + updated;
    if flags.incr {
        if processed > 0 {
            c.reply.double(last_score);
        } else {
            c.reply.null();
        }
    } else {
        c.reply.int(if ch { added + updated } else { added } as i64);
    }
    if added + updated > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_ZSET, if flags.incr { "zincr" } else { "zadd" }, key, db);
    }
    Ok(())
}

/// ZREM key member [member ...]
fn zrem(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let Some(zs) = write_zset(srv, db, key)? else {
        c.reply.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for member in args.iter().skip(2) {
        if zs.remove(member) {
            deleted += 1;
        }
        if zs.is_empty() {
            break;
        }
    }
    let emptied = zs.is_empty();
    if emptied {
        srv.dbs[db].remove(key);
    }
    if deleted > 0 {
        srv.notify_keyspace_event(EVENT_ZSET, "zrem", key, db);
        if emptied {
            srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        }
        srv.signal_modified_key(db, key);
        srv.dirty += deleted;
    }
    c.reply.int(deleted as i64);
    Ok(())
}

/// ZCARD key
fn zcard(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = read_zset(srv, c.db, args.get(1))?.map_or(0, |z| z.len());
    c.reply.int(n as i64);
    Ok(())
}

/// ZSCORE key member
fn zscore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match read_zset(srv, c.db, args.get(1))?.and_then(|z| z.score(args.get(2))) {
        Some(s) => c.reply.double(s),
        None => c.reply.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
fn zmscore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let zs = read_zset(srv, c.db, args.get(1))?;
    c.reply.array(args.len() - 2);
    for member in args.iter().skip(2) {
        match zs.as_ref().and_then(|z| z.score(member)) {
            Some(s) => c.reply.double(s),
            None => c.reply.null(),
        }
    }
    Ok(())
}

/// ZRANK key member
fn zrank(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    rank_generic(srv, c, args, false)
}

/// ZREVRANK key member
fn zrevrank(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    rank_generic(srv, c, args, true)
}

fn rank_generic(srv: &mut Server, c: &mut Client, args: &Args, reverse: bool) -> CmdResult {
    match read_zset(srv, c.db, args.get(1))?.and_then(|z| z.rank(args.get(2), reverse)) {
        Some(r) => c.reply.int(r as i64),
        None => c.reply.null(),
    }
    Ok(())
}

/// What a pop takes and how its reply is shaped (genericZpopCommand's where, count, emitkey,
/// use_nested_array and reply_nil_when_empty).
#[derive(Clone, Copy)]
struct Pop {
    /// From the high end.
    max: bool,
    /// How many; None for a plain single pop.
    count: Option<i64>,
    /// Name the key the members came from (blocking pops, ZMPOP).
    emit_key: bool,
    /// [member, score] pairs as nested arrays rather than one flat array.
    nested: bool,
    /// A null reply, not an empty array, when no key has members (ZMPOP).
    nil_when_empty: bool,
}

/// Pops from the first existing key of `keys`.
fn generic_zpop(srv: &mut Server, c: &mut Client, keys: &[&[u8]], pop: Pop) -> CmdResult {
    let Pop { max, count, emit_key, nested, nil_when_empty } = pop;
    let db = c.db;
    let mut found = None;
    for &key in keys {
        if write_zset(srv, db, key)?.is_some() {
            found = Some(key);
            break;
        }
    }
    let Some(key) = found else {
        if nil_when_empty {
            c.reply.null_array();
        } else {
            c.reply.array(0);
        }
        return Ok(());
    };
    if count == Some(0) {
        c.reply.array(0);
        return Ok(());
    }
    let want = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    let Some(zs) = existing_zset(srv, db, key) else { return Ok(()) };
    let popped = zs.pop(max, want);
    let n = popped.len();
    match (emit_key, nested) {
        (false, false) => c.reply.array(n * 2),
        (false, true) => c.reply.array(n),
        (true, false) => {
            c.reply.array(n * 2 + 1);
            c.reply.bulk(key);
        }
        (true, true) => {
            c.reply.array(2);
            c.reply.bulk(key);
            c.reply.array(n);
        }
    }
    for (member, score) in &popped {
        if nested {
            c.reply.array(2);
        }
        c.reply.bulk(member);
        c.reply.double(*score);
    }
    if n > 0 {
        srv.dirty += n as u64;
        srv.notify_keyspace_event(EVENT_ZSET, if max { "zpopmax" } else { "zpopmin" }, key, db);
        srv.signal_modified_key(db, key);
        // ZMPOP and the blocking pops are replicated as the plain pop of what was taken.
        if emit_key {
            let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            match count {
                Some(_) => srv.propagate_as(&[name, key, &crate::server::propagation::int_arg(n as i64)]),
                None => srv.propagate_as(&[name, key]),
            }
        }
    }
    delete_if_empty(srv, db, key);
    Ok(())
}

/// ZPOPMIN key [count]
fn zpopmin(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zpop_min_max(srv, c, args, false)
}

/// ZPOPMAX key [count]
fn zpopmax(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    zpop_min_max(srv, c, args, true)
}

fn zpop_min_max(srv: &mut Server, c: &mut Client, args: &Args, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(error::SYNTAX.into());
    }
    let count = if args.len() == 3 { Some(positive_long(args.get(2), None)?) } else { None };
    let pop = Pop { max, count, emit_key: false, nested: c.reply.resp > 2 && count.is_some(), nil_when_empty: false };
    generic_zpop(srv, c, &[args.get(1)], pop)
}

/// MIN|MAX and [COUNT count] of ZMPOP/BZMPOP, after `numkeys` at `numkeys_idx`; returns the keys.
fn parse_mpop<'a>(args: &Args<'a>, numkeys_idx: usize) -> Result<(Vec<&'a [u8]>, bool, i64), CmdError> {
    let numkeys = range_long(args.get(numkeys_idx), 1, i64::MAX, Some("numkeys should be greater than 0"))?;
    let where_idx = usize::try_from(numkeys).ok().and_then(|n| n.checked_add(numkeys_idx + 1));
    let Some(where_idx) = where_idx.filter(|&w| w < args.len()) else { return Err(error::SYNTAX.into()) };
    let max = if args.is(where_idx, "min") {
        false
    } else if args.is(where_idx, "max") {
        true
    } else {
        return Err(error::SYNTAX.into());
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && args.is(j, "count") && j + 1 < args.len() {
            count = Some(range_long(args.get(j + 1), 1, i64::MAX, Some("count should be greater than 0"))?);
            j += 2;
        } else {
            return Err(error::SYNTAX.into());
        }
    }
    let keys = (numkeys_idx + 1..where_idx).map(|i| args.get(i)).collect();
    Ok((keys, max, count.unwrap_or(1)))
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (keys, max, count) = parse_mpop(args, 1)?;
    let pop = Pop { max, count: Some(count), emit_key: true, nested: true, nil_when_empty: true };
    generic_zpop(srv, c, &keys, pop)
}

/// Pops from the first non-empty sorted set of `keys`, or blocks the client on all of them. When the
/// server serves the client later it runs the command again, which then finds the data.
fn blocking_zpop(
    srv: &mut Server,
    c: &mut Client,
    args: &Args,
    keys: &[&[u8]],
    pop: Pop,
    deadline_ms: u64,
) -> CmdResult {
    let db = c.db;
    for &key in keys {
        if write_zset(srv, db, key)?.is_some_and(|z| !z.is_empty()) {
            return generic_zpop(srv, c, &[key], pop);
        }
    }
    srv.block_client(c, args, keys, BlockedOn::ZSet, deadline_ms);
    Ok(())
}

/// BZPOPMIN key [key ...] timeout
fn bzpopmin(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    bzpop(srv, c, args, false)
}

/// BZPOPMAX key [key ...] timeout
fn bzpopmax(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    bzpop(srv, c, args, true)
}

fn bzpop(srv: &mut Server, c: &mut Client, args: &Args, max: bool) -> CmdResult {
    let deadline = parse_timeout(args.get(args.len() - 1))?;
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    let pop = Pop { max, count: None, emit_key: true, nested: false, nil_when_empty: false };
    blocking_zpop(srv, c, args, &keys, pop, deadline)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (keys, max, count) = parse_mpop(args, 2)?;
    let deadline = parse_timeout(args.get(1))?;
    let pop = Pop { max, count: Some(count), emit_key: true, nested: true, nil_when_empty: true };
    blocking_zpop(srv, c, args, &keys, pop, deadline)
}

/// ZRANDMEMBER key [count [WITHSCORES]]
fn zrandmember(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() >= 3 {
        let l = range_long(args.get(2), -i64::MAX, i64::MAX, None)?;
        let withscores = match args.len() {
            3 => false,
            4 if args.is(3, "withscores") => true,
            _ => return Err(error::SYNTAX.into()),
        };
        if withscores && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            return Err(CmdError::err("value is out of range"));
        }
        return zrandmember_with_count(srv, c, args.get(1), l, withscores);
    }
    let mut seed = srv.random();
    let Some(zs) = read_zset(srv, c.db, args.get(1))? else {
        c.reply.null();
        return Ok(());
    };
    let pick = random_below(&mut seed, zs.len());
    match zs.get_by_rank(pick) {
        Some((m, _)) => c.reply.lp_value(m),
        None => c.reply.null(),
    }
    Ok(())
}

/// A uniform index below `n` from a splitmix64 stream seeded by the server's generator.
fn random_below(seed: &mut u64, n: usize) -> usize {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    if n == 0 { 0 } else { (z % n as u64) as usize }
}

/// ZRANDMEMBER with a count: repeats allowed when negative, distinct members otherwise. Members are
/// drawn by rank, which is uniform for both encodings.
fn zrandmember_with_count(srv: &mut Server, c: &mut Client, key: &[u8], l: i64, withscores: bool) -> CmdResult {
    let mut seed = srv.random();
    // A huge negative count stops once the reply passes the hard output limit, where Redis stops
    // because the client is already condemned.
    let hard_limit = srv.config.client_output_buffer_limit(ClientClass::Normal).hard_bytes;
    let Some(zs) = read_zset(srv, c.db, key)? else {
        c.reply.array(0);
        return Ok(());
    };
    let size = zs.len();
    let count = l.unsigned_abs();
    if count == 0 {
        c.reply.array(0);
        return Ok(());
    }
    let listpack = matches!(zs, ZSetValue::Listpack(_));
    if l < 0 || count == 1 {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        c.reply.array(reply_len(c, count, withscores));
        // A listpack is walked once into positions rather than seeked per draw.
        let all: Vec<(LpValue<'_>, f64)> = if listpack { zs.iter().collect() } else { Vec::new() };
        for i in 0..count {
            if i % 1024 == 1023 && hard_limit > 0 && c.output_buffer_usage() >= hard_limit {
                break;
            }
            let r = random_below(&mut seed, size);
            let picked = if listpack { all.get(r).copied() } else { zs.get_by_rank(r) };
            if let Some((m, s)) = picked {
                reply_scored(c, m, s, withscores);
            }
        }
        srv.check_output_buffer_limits(c);
        return Ok(());
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count >= size {
        c.reply.array(reply_len(c, size, withscores));
        for (m, s) in zs.iter() {
            reply_scored(c, m, s, withscores);
        }
        return Ok(());
    }
    // Distinct ranks: drop random ones from the full list when most are wanted (Redis's CASE 3),
    // else draw until enough distinct ones are found (CASE 4).
    let ranks: Vec<usize> = if count * 3 > size {
        let mut ranks: Vec<usize> = (0..size).collect();
        while ranks.len() > count {
            let i = random_below(&mut seed, ranks.len());
            ranks.swap_remove(i);
        }
        ranks
    } else {
        let mut seen = std::collections::HashSet::with_capacity(count);
        let mut ranks = Vec::with_capacity(count);
        while ranks.len() < count {
            let r = random_below(&mut seed, size);
            if seen.insert(r) {
                ranks.push(r);
            }
        }
        if listpack {
            ranks.sort_unstable();
        }
        ranks
    };
    c.reply.array(reply_len(c, count, withscores));
    if listpack {
        let all: Vec<(LpValue<'_>, f64)> = zs.iter().collect();
        for r in ranks {
            if let Some(&(m, s)) = all.get(r) {
                reply_scored(c, m, s, withscores);
            }
        }
    } else {
        for r in ranks {
            if let Some((m, s)) = zs.get_by_rank(r) {
                reply_scored(c, m, s, withscores);
            }
        }
    }
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
fn zscan(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut cursor = parse_scan_cursor(args.get(2))?;
    let Some(zs) = read_zset(srv, c.db, args.get(1))? else {
        c.reply.array(2);
        c.reply.bulk(b"0");
        c.reply.array(0);
        return Ok(());
    };
    let super::keys::ScanOptions { count, pattern, .. } = super::keys::parse_scan_options(args, 3, false)?;
    let count = count.min(i64::MAX as usize) as i64;
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if let Some(entries) = zs.listpack_entries() {
        let mut entries = entries;
        while let (Some(m), Some(s)) = (entries.next(), entries.next()) {
            items.push((m.to_vec(), s.to_vec()));
        }
        cursor = 0;
    } else {
        // Members and scores both count against COUNT, as Redis doubles it for this type.
        let want = count.saturating_mul(2);
        let mut budget = want.saturating_mul(10);
        loop {
            let next = zs.scan_dict(cursor, |m, s| {
                let mut text = Vec::with_capacity(24);
                format_double(&mut text, *s);
                items.push((m.to_vec(), text));
            });
            cursor = next.unwrap_or(0);
            budget -= 1;
            if cursor == 0 || budget < 0 || (items.len() as i64) * 2 >= want {
                break;
            }
        }
    }
    if let Some(p) = pattern {
        items.retain(|(m, _)| string_match(p, m, false));
    }
    c.reply.array(2);
    c.reply.bulk(cursor.to_string().as_bytes());
    c.reply.array(items.len() * 2);
    for (m, s) in &items {
        c.reply.bulk(m);
        c.reply.bulk(s);
    }
    Ok(())
}
