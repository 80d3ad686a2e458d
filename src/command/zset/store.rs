//! Set algebra over sorted sets and plain sets (Redis's zunionInterDiffGenericCommand): ZUNION,
//! ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE and ZINTERCARD, with WEIGHTS and
//! AGGREGATE SUM|MIN|MAX. A plain set counts as a sorted set whose members all score 1.
//!
//! Inputs are read in place (never copied); the result is built as a sorted list and stored in the
//! encoding Redis would leave (`ZSetValue::from_sorted`). Sums that come out NaN (inf + -inf, or a
//! zero weight times an infinite score) are 0, as in Redis.

use std::collections::HashMap;

use super::{Args, limits, reply_len, reply_scored};
use crate::client::Client;
use crate::db::listpack::{INTBUF_SIZE, LpValue};
use crate::db::set::SetValue;
use crate::db::zset::{ZSetValue, cmp_scored};
use crate::db::{CompactBytes, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::numeric::parse_f64;
use crate::server::Server;
use crate::server::keyspace::EVENT_ZSET;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `val` into `target` (zunionInterAggregate).
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if val < *target {
                    *target = val;
                }
            }
            Aggregate::Max => {
                if val > *target {
                    *target = val;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plain sets as inputs. `SetValue` belongs to the set family; these three functions are the only
// place this file touches it. Until the set family provides member access they see no members.
// Wiring: `set_contains` -> `s.contains(member)`; `set_for_each` -> walk every member as bytes
// (intset integers formatted in decimal), stopping as soon as `f` returns false.
// ---------------------------------------------------------------------------------------------

/// Number of members of a plain set.
fn set_len(s: &SetValue) -> usize {
    s.len()
}

/// Whether a plain set holds `member`.
fn set_contains(s: &SetValue, member: &[u8]) -> bool {
    s.contains(member)
}

/// Calls `f` with every member of a plain set until it returns false.
fn set_for_each(s: &SetValue, f: &mut dyn FnMut(&[u8]) -> bool) {
    let mut scratch = Vec::new();
    for m in s.iter() {
        let bytes: &[u8] = match m {
            crate::db::set::Member::Int(n) => {
                scratch.clear();
                crate::numeric::format_i64(&mut scratch, n);
                &scratch
            }
            crate::db::set::Member::Bytes(b) => b,
        };
        if !f(bytes) {
            return;
        }
    }
}

/// One input of the operation.
#[derive(Clone, Copy)]
enum Input<'a> {
    Missing,
    ZSet(&'a ZSetValue),
    Set(&'a SetValue),
}

#[derive(Clone, Copy)]
struct Src<'a> {
    input: Input<'a>,
    weight: f64,
    /// Index of the first argument naming the same key: inputs with equal ids are one object.
    id: usize,
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self.input {
            Input::Missing => 0,
            Input::ZSet(z) => z.len(),
            Input::Set(s) => set_len(s),
        }
    }

    /// Calls `f` with every member and its (unweighted) score until it returns false.
    fn for_each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self.input {
            Input::Missing => {}
            Input::ZSet(z) => {
                let mut scratch = [0u8; INTBUF_SIZE];
                for (m, s) in z.iter() {
                    if !f(m.to_bytes(&mut scratch), s) {
                        break;
                    }
                }
            }
            Input::Set(s) => set_for_each(s, &mut |m| f(m, 1.0)),
        }
    }

    /// The (unweighted) score of `member`, if present.
    fn find(&self, member: &[u8]) -> Option<f64> {
        match self.input {
            Input::Missing => None,
            Input::ZSet(z) => z.score(member),
            Input::Set(s) => set_contains(s, member).then_some(1.0),
        }
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub(super) fn zunion(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, None, Op::Union, false, "zunion")
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub(super) fn zinter(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, None, Op::Inter, false, "zinter")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub(super) fn zdiff(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, None, Op::Diff, false, "zdiff")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub(super) fn zintercard(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, None, Op::Inter, true, "zintercard")
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
pub(super) fn zunionstore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, Some(args.get(1)), Op::Union, false, "zunionstore")
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
pub(super) fn zinterstore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, Some(args.get(1)), Op::Inter, false, "zinterstore")
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub(super) fn zdiffstore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    generic(srv, c, args, Some(args.get(1)), Op::Diff, false, "zdiffstore")
}

/// What the options after the keys asked for.
struct Options {
    weights: Option<Vec<f64>>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 is no limit.
    limit: usize,
}

fn parse_options(
    args: &Args,
    mut j: usize,
    setnum: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Result<Options, CmdError> {
    let mut o = Options { weights: None, aggregate: Aggregate::Sum, withscores: false, limit: 0 };
    while j < args.len() {
        let remaining = args.len() - j;
        if op != Op::Diff && !card && remaining > setnum && args.is(j, "weights") {
            let mut w = Vec::with_capacity(setnum);
            for i in 0..setnum {
                w.push(parse_f64(args.get(j + 1 + i)).ok_or_else(|| CmdError::err("weight value is not a float"))?);
            }
            o.weights = Some(w);
            j += 1 + setnum;
        } else if op != Op::Diff && !card && remaining >= 2 && args.is(j, "aggregate") {
            o.aggregate = if args.is(j + 1, "sum") {
                Aggregate::Sum
            } else if args.is(j + 1, "min") {
                Aggregate::Min
            } else if args.is(j + 1, "max") {
                Aggregate::Max
            } else {
                return Err(error::SYNTAX.into());
            };
            j += 2;
        } else if !store && !card && args.is(j, "withscores") {
            o.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && args.is(j, "limit") {
            let l = super::range_long(args.get(j + 1), 0, i64::MAX, Some("LIMIT can't be negative"))?;
            o.limit = usize::try_from(l).unwrap_or(usize::MAX);
            j += 2;
        } else {
            return Err(error::SYNTAX.into());
        }
    }
    Ok(o)
}

/// The result of an operation, or just its size for ZINTERCARD.
enum Outcome {
    Members(Vec<(CompactBytes, f64)>),
    Count(usize),
}

fn generic(
    srv: &mut Server,
    c: &mut Client,
    args: &Args,
    dst: Option<&[u8]>,
    op: Op,
    card: bool,
    name: &str,
) -> CmdResult {
    let numkeys_idx = if dst.is_some() { 2 } else { 1 };
    let setnum = args.i64(numkeys_idx)?;
    if setnum < 1 {
        return Err(CmdError::err(format!("at least 1 input key is needed for '{name}' command")));
    }
    let first_key = numkeys_idx + 1;
    let setnum = match usize::try_from(setnum) {
        Ok(n) if n <= args.len() - first_key => n,
        _ => return Err(error::SYNTAX.into()),
    };
    let db = c.db;
    // Keys are looked up (and type-checked) before the options are parsed, as in Redis.
    let mut present = Vec::with_capacity(setnum);
    for i in 0..setnum {
        let exists = match srv.lookup_read(db, args.get(first_key + i)) {
            None => false,
            Some(o) if matches!(o.value, Value::ZSet(_) | Value::Set(_)) => true,
            Some(_) => return Err(error::WRONGTYPE.into()),
        };
        present.push(exists);
    }
    let opts = parse_options(args, first_key + setnum, setnum, op, dst.is_some(), card)?;
    let limits = limits(srv);
    let outcome = {
        let dbref = &srv.dbs[db];
        let mut srcs: Vec<Src<'_>> = (0..setnum)
            .map(|i| {
                let key = args.get(first_key + i);
                let input = match dbref.get(key).filter(|_| present[i]).map(|o| &o.value) {
                    Some(Value::ZSet(z)) => Input::ZSet(z),
                    Some(Value::Set(s)) => Input::Set(s),
                    _ => Input::Missing,
                };
                let id = (0..i).find(|&k| args.get(first_key + k) == key).unwrap_or(i);
                let weight = opts.weights.as_ref().map_or(1.0, |w| w[i]);
                Src { input, weight, id }
            })
            .collect();
        match op {
            Op::Inter => {
                // Smallest first: the walk is over the first input, lookups in the others.
                srcs.sort_by_key(Src::len);
                inter(&srcs, opts.aggregate, card, opts.limit)
            }
            Op::Union => {
                srcs.sort_by_key(Src::len);
                Outcome::Members(union(&srcs, opts.aggregate))
            }
            Op::Diff => Outcome::Members(diff(&srcs)),
        }
    };
    let mut items = match outcome {
        Outcome::Count(n) => {
            c.reply.int(n as i64);
            return Ok(());
        }
        Outcome::Members(items) => items,
    };
    items.sort_by(|(m1, s1), (m2, s2)| cmp_scored(*s1, m1, *s2, m2));
    let Some(dst) = dst else {
        c.reply.array(reply_len(c, items.len(), opts.withscores));
        for (m, s) in &items {
            reply_scored(c, LpValue::Str(m), *s, opts.withscores);
        }
        return Ok(());
    };
    if items.is_empty() {
        c.reply.int(0);
        srv.delete_key_notify(db, dst);
        return Ok(());
    }
    let n = items.len();
    srv.set_key(db, dst, Value::ZSet(ZSetValue::from_sorted(&items, limits)), false);
    c.reply.int(n as i64);
    let event = match op {
        Op::Union => "zunionstore",
        Op::Inter => "zinterstore",
        Op::Diff => "zdiffstore",
    };
    srv.notify_keyspace_event(EVENT_ZSET, event, dst, db);
    srv.dirty += 1;
    Ok(())
}

/// A weighted score; NaN (0 × ±inf) counts as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() { 0.0 } else { v }
}

fn inter(srcs: &[Src<'_>], agg: Aggregate, card: bool, limit: usize) -> Outcome {
    let mut items = Vec::new();
    let mut count = 0;
    let Some((first, rest)) = srcs.split_first() else { return Outcome::Members(items) };
    if first.len() == 0 {
        return if card { Outcome::Count(0) } else { Outcome::Members(items) };
    }
    first.for_each(|m, s| {
        let mut score = weighted(s, first.weight);
        for other in rest {
            // The same object as the walked one: its score is the one at hand.
            let found = if other.id == first.id { Some(s) } else { other.find(m) };
            match found {
                Some(v) => agg.apply(&mut score, v * other.weight),
                None => return true,
            }
        }
        if card {
            count += 1;
            return limit == 0 || count < limit;
        }
        items.push((CompactBytes::from(m), score));
        true
    });
    if card { Outcome::Count(count) } else { Outcome::Members(items) }
}

fn union(srcs: &[Src<'_>], agg: Aggregate) -> Vec<(CompactBytes, f64)> {
    let mut acc: HashMap<CompactBytes, f64> = HashMap::with_capacity(srcs.last().map_or(0, Src::len));
    for src in srcs {
        src.for_each(|m, s| {
            let score = weighted(s, src.weight);
            match acc.get_mut(m) {
                Some(cur) => agg.apply(cur, score),
                None => {
                    acc.insert(CompactBytes::from(m), score);
                }
            }
            true
        });
    }
    acc.into_iter().collect()
}

/// Members of the first input found in none of the others, with their first-input scores (weights
/// do not apply to ZDIFF).
fn diff(srcs: &[Src<'_>]) -> Vec<(CompactBytes, f64)> {
    let mut items = Vec::new();
    let Some((first, rest)) = srcs.split_first() else { return items };
    // Subtracting a set from itself leaves nothing.
    if first.len() == 0 || rest.iter().any(|o| o.id == first.id) {
        return items;
    }
    // Bigger inputs first: a member is more likely to be found early.
    let mut rest: Vec<Src<'_>> = rest.to_vec();
    rest.sort_by_key(|s| std::cmp::Reverse(s.len()));
    first.for_each(|m, s| {
        if rest.iter().all(|o| o.find(m).is_none()) {
            items.push((CompactBytes::from(m), s));
        }
        true
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_rules() {
        let mut t = f64::INFINITY;
        Aggregate::Sum.apply(&mut t, f64::NEG_INFINITY);
        assert_eq!(t, 0.0);
        let mut t = 1.0;
        Aggregate::Min.apply(&mut t, f64::NAN);
        assert_eq!(t, 1.0);
        Aggregate::Max.apply(&mut t, 3.0);
        assert_eq!(t, 3.0);
        assert_eq!(weighted(f64::NEG_INFINITY, 0.0), 0.0);
    }
}
