//! List commands (Redis's t_list.c): pushes and pops at both ends, indexed access, LINSERT, LREM,
//! LTRIM, LPOS, LMOVE/RPOPLPUSH, LMPOP, and the blocking forms BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
//! BLMPOP.
//!
//! A blocking command that finds no data parks its client (`Server::block_client`); when a key it
//! waits on receives data the server runs the same handler again, which then finds the data and
//! replies exactly as the non-blocking form would. Handlers never wait themselves.

use super::flags::*;
use super::{
    Args, CommandSpec, KEY1, KEY1_2, KeyAccess, KeyPerm, KeySpec, METADATA_ONLY, NO_KEYS, READS, READS_WRITES, WRITES,
};
use crate::acl::category as cat;
use crate::client::{Client, flags as cflags};
use crate::db::list::{End, ListLimits, ListValue};
use crate::db::listpack::LpValue;
use crate::db::{NO_EXPIRE, Object, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;
use crate::server::blocking::{BlockedOn, parse_timeout};
use crate::server::keyspace::{EVENT_GENERIC, EVENT_LIST};
use crate::server::propagation::int_arg;

/// BLPOP/BRPOP: every argument but the last (the timeout) is a key.
const KEYS_BUT_LAST: KeySpec = KeySpec { first: 1, last: -2, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("lpush", -3, WRITE | DENYOOM | FAST, KEY1, "list", lpush).acl(cat::LIST).access(WRITES),
    CommandSpec::new("rpush", -3, WRITE | DENYOOM | FAST, KEY1, "list", rpush).acl(cat::LIST).access(WRITES),
    CommandSpec::new("lpushx", -3, WRITE | DENYOOM | FAST, KEY1, "list", lpushx).acl(cat::LIST).access(WRITES),
    CommandSpec::new("rpushx", -3, WRITE | DENYOOM | FAST, KEY1, "list", rpushx).acl(cat::LIST).access(WRITES),
    CommandSpec::new("lpop", -2, WRITE | FAST, KEY1, "list", lpop).acl(cat::LIST).access(READS_WRITES),
    CommandSpec::new("rpop", -2, WRITE | FAST, KEY1, "list", rpop).acl(cat::LIST).access(READS_WRITES),
    CommandSpec::new("llen", 2, READONLY | FAST, KEY1, "list", llen).acl(cat::LIST).access(METADATA_ONLY),
    CommandSpec::new("lrange", 4, READONLY, KEY1, "list", lrange).acl(cat::LIST).access(READS),
    CommandSpec::new("lindex", 3, READONLY, KEY1, "list", lindex).acl(cat::LIST).access(READS),
    CommandSpec::new("lset", 4, WRITE | DENYOOM, KEY1, "list", lset).acl(cat::LIST).access(WRITES),
    CommandSpec::new("linsert", 5, WRITE | DENYOOM, KEY1, "list", linsert).acl(cat::LIST).access(WRITES),
    CommandSpec::new("lrem", 4, WRITE, KEY1, "list", lrem).acl(cat::LIST).access(WRITES),
    CommandSpec::new("ltrim", 4, WRITE, KEY1, "list", ltrim).acl(cat::LIST).access(WRITES),
    CommandSpec::new("lpos", -3, READONLY, KEY1, "list", lpos).acl(cat::LIST).access(READS),
    CommandSpec::new("rpoplpush", 3, WRITE | DENYOOM, KEY1_2, "list", rpoplpush)
        .acl(cat::LIST)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("lmove", 5, WRITE | DENYOOM, KEY1_2, "list", lmove)
        .acl(cat::LIST)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("lmpop", -4, WRITE, NO_KEYS, "list", lmpop)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::LIST)
        .access(READS_WRITES),
    CommandSpec::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, KEYS_BUT_LAST, "list", blpop)
        .acl(cat::LIST)
        .access(READS_WRITES),
    CommandSpec::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, KEYS_BUT_LAST, "list", brpop)
        .acl(cat::LIST)
        .access(READS_WRITES),
    CommandSpec::new("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KEY1_2, "list", brpoplpush)
        .acl(cat::LIST)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, KEY1_2, "list", blmove)
        .acl(cat::LIST)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("blmpop", -5, WRITE | BLOCKING, NO_KEYS, "list", blmpop)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::LIST)
        .access(READS_WRITES),
];

impl Server {
    /// How list nodes are filled right now (`list-max-listpack-size`, DEBUG QUICKLIST-PACKED-THRESHOLD).
    pub fn list_limits(&self) -> ListLimits {
        ListLimits { fill: self.config.list_max_listpack_size(), packed_threshold: self.list_packed_threshold }
    }
}

fn end_name(end: End, pop: bool) -> &'static str {
    match (end, pop) {
        (End::Head, true) => "lpop",
        (End::Tail, true) => "rpop",
        (End::Head, false) => "lpush",
        (End::Tail, false) => "rpush",
    }
}

/// LEFT or RIGHT, else a syntax error.
/// The plain pop a blocking or multi-key pop is replicated as.
fn pop_command(end: End) -> &'static [u8] {
    match end {
        End::Head => b"LPOP",
        End::Tail => b"RPOP",
    }
}

fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if arg.eq_ignore_ascii_case(b"left") {
        Ok(End::Head)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Ok(End::Tail)
    } else {
        Err(error::SYNTAX.into())
    }
}

/// A non-negative integer argument (Redis's getPositiveLongFromObjectOrReply): `msg` replaces both
/// the not-an-integer and the negative error when given.
fn positive_arg(args: &Args, i: usize, msg: Option<&str>) -> Result<i64, CmdError> {
    let err = |default: &str| CmdError::err(msg.unwrap_or(default));
    let v = crate::numeric::parse_i64(args.get(i)).ok_or_else(|| match msg {
        Some(m) => CmdError::err(m),
        None => error::NOT_INTEGER.into(),
    })?;
    if v < 0 {
        return Err(err("value is out of range, must be positive"));
    }
    Ok(v)
}

/// An integer ≥ 1 with one message for every failure (numkeys, COUNT of LMPOP).
fn at_least_one(args: &Args, i: usize, msg: &str) -> Result<i64, CmdError> {
    match crate::numeric::parse_i64(args.get(i)) {
        Some(v) if v >= 1 => Ok(v),
        _ => Err(CmdError::err(msg)),
    }
}

/// The list at `key` for writing, WRONGTYPE for another type.
fn list_for_write<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut ListValue>, CmdError> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(o) => Ok(Some(o.value.as_list_mut()?)),
    }
}

/// After elements were removed from `key`: the pop event, and the key's deletion when emptied
/// (Redis's listElementsRemoved).
fn elements_removed(srv: &mut Server, db: usize, key: &[u8], end: End, count: usize) {
    list_shrunk(srv, db, key, end_name(end, true), count);
}

/// After a list lost `count` elements to `event` (a pop, LREM, LTRIM): the event, then the key's
/// deletion when emptied, the WATCH signal and the change count, in Redis's order.
fn list_shrunk(srv: &mut Server, db: usize, key: &[u8], event: &str, count: usize) {
    let empty = srv.dbs[db].get(key).is_some_and(|o| matches!(&o.value, Value::List(l) if l.is_empty()));
    list_shrunk_known(srv, db, key, event, count, empty);
}

/// `list_shrunk` for a caller that already knows whether the list is now empty (saves a lookup on
/// the pop path).
fn list_shrunk_known(srv: &mut Server, db: usize, key: &[u8], event: &str, count: usize, empty: bool) {
    srv.notify_keyspace_event(EVENT_LIST, event, key, db);
    if empty {
        srv.dbs[db].remove(key);
        srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
    }
    srv.signal_modified_key(db, key);
    srv.dirty += count as u64;
}

/// Push `values` at one end, creating the list unless `only_existing`. Returns the new length, or
/// None when the key was missing and nothing was created.
fn push_values<'v>(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    end: End,
    values: impl Iterator<Item = &'v [u8]>,
    only_existing: bool,
) -> Result<Option<usize>, CmdError> {
    let limits = srv.list_limits();
    let mut pushed = 0u64;
    let push_all = |list: &mut ListValue| {
        for v in values {
            list.push(end, v, &limits);
            pushed += 1;
        }
        list.len()
    };
    // An existing list is written through its one lookup; only a new key is looked up again.
    let (len, created) = match list_for_write(srv, db, key)? {
        Some(list) => (push_all(list), false),
        None if only_existing => return Ok(None),
        None => {
            let obj = Object::new(Value::List(Box::default()), srv.clocks.fresh());
            srv.dbs[db].add_object(key, obj, NO_EXPIRE);
            let Some(Ok(list)) = srv.dbs[db].get_mut(key).map(|o| o.value.as_list_mut()) else { return Ok(None) };
            (push_all(list), true)
        }
    };
    if created {
        srv.key_created(db, key);
    }
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_LIST, end_name(end, false), key, db);
    srv.dirty += pushed;
    Ok(Some(len))
}

fn push_generic(srv: &mut Server, c: &mut Client, args: &Args, end: End, only_existing: bool) -> CmdResult {
    match push_values(srv, c.db, args.get(1), end, args.iter().skip(2), only_existing)? {
        Some(len) => c.reply.int(len as i64),
        None => c.reply.int(0),
    }
    Ok(())
}

/// LPUSH key element [element ...]
fn lpush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    push_generic(srv, c, args, End::Head, false)
}

/// RPUSH key element [element ...]
fn rpush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    push_generic(srv, c, args, End::Tail, false)
}

/// LPUSHX key element [element ...]
fn lpushx(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    push_generic(srv, c, args, End::Head, true)
}

/// RPUSHX key element [element ...]
fn rpushx(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    push_generic(srv, c, args, End::Tail, true)
}

/// Reply up to `count` elements popped from `end` as an array, in pop order.
fn pop_range_reply(c: &mut Client, list: &mut ListValue, end: End, count: usize) -> usize {
    let n = count.min(list.len());
    c.reply.array(n);
    match end {
        End::Head => list.iter().take(n).for_each(|v| c.reply.lp_value(v)),
        End::Tail => list.iter().rev().take(n).for_each(|v| c.reply.lp_value(v)),
    }
    let start = if end == End::Head { 0 } else { list.len() - n };
    list.delete_range(start, n);
    n
}

fn pop_generic(srv: &mut Server, c: &mut Client, args: &Args, end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(error::wrong_arity(&args.name_lower()));
    }
    let count = if args.len() == 3 { Some(positive_arg(args, 2, None)?) } else { None };
    let db = c.db;
    let key = args.get(1);
    let Some(list) = list_for_write(srv, db, key)? else {
        if count.is_some() {
            c.reply.null_array();
        } else {
            c.reply.null();
        }
        return Ok(());
    };
    let popped = match count {
        Some(0) => {
            c.reply.array(0);
            return Ok(());
        }
        Some(n) => pop_range_reply(c, list, end, n as usize),
        None => {
            match list.pop(end) {
                Some(v) => c.reply.bulk(&v),
                None => c.reply.null(),
            }
            1
        }
    };
    let emptied = list.is_empty();
    list_shrunk_known(srv, db, key, end_name(end, true), popped, emptied);
    Ok(())
}

/// LPOP key [count]
fn lpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    pop_generic(srv, c, args, End::Head)
}

/// RPOP key [count]
fn rpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    pop_generic(srv, c, args, End::Tail)
}

/// LLEN key
fn llen(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = match srv.lookup_read(c.db, args.get(1)) {
        None => 0,
        Some(o) => o.value.as_list()?.len(),
    };
    c.reply.int(n as i64);
    Ok(())
}

/// Clamp a Redis [start, end] index pair to the list (negative = from the tail). None when empty.
fn clamp_range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// LRANGE key start stop
fn lrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let start = args.i64(2)?;
    let end = args.i64(3)?;
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.array(0);
        return Ok(());
    };
    let list = o.value.as_list()?;
    match clamp_range(list.len(), start, end) {
        None => c.reply.array(0),
        Some((s, e)) => {
            c.reply.array(e - s + 1);
            for v in list.iter_from(s).take(e - s + 1) {
                c.reply.lp_value(v);
            }
        }
    }
    Ok(())
}

/// LINDEX key index
fn lindex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let index = args.i64(2)?;
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.null();
        return Ok(());
    };
    let list = o.value.as_list()?;
    match list.resolve(index).and_then(|i| list.get(i)) {
        Some(v) => c.reply.lp_value(v),
        None => c.reply.null(),
    }
    Ok(())
}

/// LSET key index element
fn lset(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let index = args.i64(2)?;
    let db = c.db;
    let key = args.get(1);
    let limits = srv.list_limits();
    let Some(list) = list_for_write(srv, db, key)? else { return Err(error::NO_SUCH_KEY.into()) };
    let Some(i) = list.resolve(index) else { return Err(CmdError::err("index out of range")) };
    list.set(i, args.get(3), &limits);
    c.reply.ok();
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_LIST, "lset", key, db);
    srv.dirty += 1;
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element
fn linsert(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let after = if args.is(2, "after") {
        true
    } else if args.is(2, "before") {
        false
    } else {
        return Err(error::SYNTAX.into());
    };
    let db = c.db;
    let key = args.get(1);
    let limits = srv.list_limits();
    let Some(list) = list_for_write(srv, db, key)? else {
        c.reply.int(0);
        return Ok(());
    };
    if !list.insert_by_pivot(args.get(3), args.get(4), after, &limits) {
        c.reply.int(-1);
        return Ok(());
    }
    let len = list.len();
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_LIST, "linsert", key, db);
    srv.dirty += 1;
    c.reply.int(len as i64);
    Ok(())
}

/// LREM key count element
fn lrem(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let count = args.i64(2)?;
    let db = c.db;
    let key = args.get(1);
    let Some(list) = list_for_write(srv, db, key)? else {
        c.reply.int(0);
        return Ok(());
    };
    let removed = list.remove_matching(args.get(3), count);
    if removed > 0 {
        list_shrunk(srv, db, key, "lrem", removed);
    }
    c.reply.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop
fn ltrim(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let start = args.i64(2)?;
    let end = args.i64(3)?;
    let db = c.db;
    let key = args.get(1);
    let Some(list) = list_for_write(srv, db, key)? else {
        c.reply.ok();
        return Ok(());
    };
    let len = list.len();
    let (ltrim, rtrim) = match clamp_range(len, start, end) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    list.delete_range(0, ltrim);
    let remaining = list.len();
    list.delete_range(remaining - rtrim.min(remaining), rtrim);
    list_shrunk(srv, db, key, "ltrim", ltrim + rtrim);
    c.reply.ok();
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
fn lpos(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if args.is(j, "rank") && more {
            j += 1;
            rank = args.i64(j)?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if args.is(j, "count") && more {
            j += 1;
            count = Some(positive_arg(args, j, Some("COUNT can't be negative"))?);
        } else if args.is(j, "maxlen") && more {
            j += 1;
            maxlen = positive_arg(args, j, Some("MAXLEN can't be negative"))?;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    let from_tail = rank < 0;
    let rank = rank.unsigned_abs();
    let element = args.get(2);
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        if count.is_some() {
            c.reply.array(0);
        } else {
            c.reply.null();
        }
        return Ok(());
    };
    let list = o.value.as_list()?;
    let len = list.len();
    let scan_limit = if maxlen == 0 { usize::MAX } else { maxlen as usize };
    let wanted = match count {
        None => 1,
        Some(0) => usize::MAX,
        Some(n) => n as usize,
    };
    let mut found = Vec::new();
    let mut matches = 0u64;
    let mut visit = |index: usize, v: LpValue<'_>| -> bool {
        if v.eq_bytes(element) {
            matches += 1;
            if matches >= rank {
                found.push(if from_tail { len - index - 1 } else { index });
                return found.len() >= wanted;
            }
        }
        false
    };
    if from_tail {
        for (i, v) in list.iter().rev().take(scan_limit).enumerate() {
            if visit(i, v) {
                break;
            }
        }
    } else {
        for (i, v) in list.iter().take(scan_limit).enumerate() {
            if visit(i, v) {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            c.reply.array(found.len());
            for i in found {
                c.reply.int(i as i64);
            }
        }
        None => match found.first() {
            Some(&i) => c.reply.int(i as i64),
            None => c.reply.null(),
        },
    }
    Ok(())
}

/// Pop one element from `src` and push it to `dst`, replying the element (LMOVE's body, also
/// RPOPLPUSH and a served BLMOVE). Replies null when `src` is missing.
fn move_element(srv: &mut Server, c: &mut Client, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let db = c.db;
    if list_for_write(srv, db, src)?.is_none() {
        c.reply.null();
        return Ok(());
    }
    // The destination's type is checked before anything is popped.
    list_for_write(srv, db, dst)?;
    let Some(value) = list_for_write(srv, db, src)?.and_then(|l| l.pop(from)) else {
        c.reply.null();
        return Ok(());
    };
    push_values(srv, db, dst, to, std::iter::once(value.as_slice()), false)?;
    c.reply.bulk(&value);
    elements_removed(srv, db, src, from, 1);
    Ok(())
}

/// RPOPLPUSH source destination
fn rpoplpush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    move_element(srv, c, args.get(1), args.get(2), End::Tail, End::Head)
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT
fn lmove(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    move_element(srv, c, args.get(1), args.get(2), from, to)
}

/// Parsed LMPOP/BLMPOP arguments: the keys' argument range, the end, the count.
struct MpopArgs {
    first_key: usize,
    numkeys: usize,
    end: End,
    count: usize,
}

fn parse_mpop(args: &Args, numkeys_idx: usize) -> Result<MpopArgs, CmdError> {
    let numkeys = at_least_one(args, numkeys_idx, "numkeys should be greater than 0")? as u64;
    let where_idx = (numkeys_idx as u64).saturating_add(numkeys).saturating_add(1);
    if where_idx >= args.len() as u64 {
        return Err(error::SYNTAX.into());
    }
    let where_idx = where_idx as usize;
    let end = parse_end(args.get(where_idx))?;
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && args.is(j, "count") && j + 1 < args.len() {
            j += 1;
            count = Some(at_least_one(args, j, "count should be greater than 0")? as usize);
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    Ok(MpopArgs { first_key: numkeys_idx + 1, numkeys: numkeys as usize, end, count: count.unwrap_or(1) })
}

/// Pop up to `count` from the first non-empty list among the keys, replying [key, [elements]].
/// Returns false (no reply) when every key is missing.
fn mpop_from_first(srv: &mut Server, c: &mut Client, keys: &[&[u8]], end: End, count: usize) -> Result<bool, CmdError> {
    let db = c.db;
    for &key in keys {
        let Some(list) = list_for_write(srv, db, key)? else { continue };
        if list.is_empty() {
            continue;
        }
        c.reply.array(2);
        c.reply.bulk(key);
        let n = pop_range_reply(c, list, end, count);
        elements_removed(srv, db, key, end, n);
        srv.propagate_as(&[pop_command(end), key, &int_arg(n as i64)]);
        return Ok(true);
    }
    Ok(false)
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn lmpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let p = parse_mpop(args, 1)?;
    let keys: Vec<&[u8]> = (p.first_key..p.first_key + p.numkeys).map(|i| args.get(i)).collect();
    if !mpop_from_first(srv, c, &keys, p.end, p.count)? {
        c.reply.null_array();
    }
    Ok(())
}

/// The blocking pops: serve from the first non-empty key, or wait on all of them.
fn blocking_pop(
    srv: &mut Server,
    c: &mut Client,
    args: &Args,
    keys: &[&[u8]],
    end: End,
    count: Option<usize>,
    deadline: u64,
) -> CmdResult {
    let db = c.db;
    for &key in keys {
        let Some(list) = list_for_write(srv, db, key)? else { continue };
        if list.is_empty() {
            continue;
        }
        match count {
            Some(n) => {
                c.reply.array(2);
                c.reply.bulk(key);
                let popped = pop_range_reply(c, list, end, n);
                elements_removed(srv, db, key, end, popped);
                srv.propagate_as(&[pop_command(end), key, &int_arg(popped as i64)]);
            }
            None => {
                let Some(v) = list.pop(end) else { continue };
                c.reply.array(2);
                c.reply.bulk(key);
                c.reply.bulk(&v);
                elements_removed(srv, db, key, end, 1);
                srv.propagate_as(&[pop_command(end), key]);
            }
        }
        return Ok(());
    }
    srv.block_client(c, args, keys, BlockedOn::List, deadline);
    Ok(())
}

fn bpop(srv: &mut Server, c: &mut Client, args: &Args, end: End) -> CmdResult {
    let deadline = parse_timeout(args.get(args.len() - 1))?;
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    blocking_pop(srv, c, args, &keys, end, None, deadline)
}

/// BLPOP key [key ...] timeout
fn blpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    bpop(srv, c, args, End::Head)
}

/// BRPOP key [key ...] timeout
fn brpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    bpop(srv, c, args, End::Tail)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let p = parse_mpop(args, 2)?;
    let deadline = parse_timeout(args.get(1))?;
    let keys: Vec<&[u8]> = (p.first_key..p.first_key + p.numkeys).map(|i| args.get(i)).collect();
    blocking_pop(srv, c, args, &keys, p.end, Some(p.count), deadline)
}

fn blocking_move(srv: &mut Server, c: &mut Client, args: &Args, from: End, to: End, deadline: u64) -> CmdResult {
    let db = c.db;
    let src = args.get(1);
    if list_for_write(srv, db, src)?.is_some() {
        move_element(srv, c, src, args.get(2), from, to)?;
        // Replicated in the non-blocking form.
        if args.is(0, "brpoplpush") {
            srv.propagate_as(&[b"RPOPLPUSH", src, args.get(2)]);
        } else {
            srv.propagate_as(&[b"LMOVE", src, args.get(2), args.get(3), args.get(4)]);
        }
        return Ok(());
    }
    if c.has(cflags::EXECUTING_MULTI) {
        // Not allowed to block: the non-blocking answer for an empty source.
        c.reply.null();
        return Ok(());
    }
    srv.block_client(c, args, &[src], BlockedOn::List, deadline);
    Ok(())
}

/// BRPOPLPUSH source destination timeout
fn brpoplpush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let deadline = parse_timeout(args.get(3))?;
    blocking_move(srv, c, args, End::Tail, End::Head, deadline)
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
fn blmove(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let from = parse_end(args.get(3))?;
    let to = parse_end(args.get(4))?;
    let deadline = parse_timeout(args.get(5))?;
    blocking_move(srv, c, args, from, to, deadline)
}

#[cfg(test)]
mod tests {
    use super::clamp_range;

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(4, 0, -1), Some((0, 3)));
        assert_eq!(clamp_range(4, -100, 100), Some((0, 3)));
        assert_eq!(clamp_range(4, 0, -5), None);
        assert_eq!(clamp_range(4, 6, 2), None);
        assert_eq!(clamp_range(4, 4, 10), None);
        assert_eq!(clamp_range(0, 0, -1), None);
    }
}
