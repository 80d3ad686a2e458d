//! Hash commands (Redis's t_hash.c): HSET, HSETNX, HMSET, HGET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS,
//! HKEYS, HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HSCAN, HRANDFIELD.
//!
//! Handlers apply Redis's keyspace rules (create on first write, delete when emptied, events, WATCH);
//! the representation and its encoding conversions belong to `db::hash` and are never decided here
//! beyond passing the configured thresholds.

use super::flags::*;
use super::keys::parse_scan_cursor;
use super::{Args, CommandSpec, KEY1, METADATA_ONLY, READS, READS_WRITES, WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::hash::{HashValue, Limits};
use crate::db::listpack::LpValue;
use crate::db::{NO_EXPIRE, Object, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::glob::string_match;
use crate::numeric::{LongDouble, format_i64};
use crate::server::Server;
use crate::server::keyspace::{EVENT_GENERIC, EVENT_HASH};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("hset", -4, WRITE | DENYOOM | FAST, KEY1, "hash", hset).acl(cat::HASH).access(WRITES),
    CommandSpec::new("hsetnx", 4, WRITE | DENYOOM | FAST, KEY1, "hash", hsetnx).acl(cat::HASH).access(WRITES),
    CommandSpec::new("hmset", -4, WRITE | DENYOOM | FAST, KEY1, "hash", hmset).acl(cat::HASH).access(WRITES),
    CommandSpec::new("hget", 3, READONLY | FAST, KEY1, "hash", hget).acl(cat::HASH).access(READS),
    CommandSpec::new("hmget", -3, READONLY | FAST, KEY1, "hash", hmget).acl(cat::HASH).access(READS),
    CommandSpec::new("hdel", -3, WRITE | FAST, KEY1, "hash", hdel).acl(cat::HASH).access(WRITES),
    CommandSpec::new("hlen", 2, READONLY | FAST, KEY1, "hash", hlen).acl(cat::HASH).access(METADATA_ONLY),
    CommandSpec::new("hstrlen", 3, READONLY | FAST, KEY1, "hash", hstrlen).acl(cat::HASH).access(METADATA_ONLY),
    CommandSpec::new("hexists", 3, READONLY | FAST, KEY1, "hash", hexists).acl(cat::HASH).access(METADATA_ONLY),
    CommandSpec::new("hkeys", 2, READONLY, KEY1, "hash", hkeys).acl(cat::HASH).access(READS),
    CommandSpec::new("hvals", 2, READONLY, KEY1, "hash", hvals).acl(cat::HASH).access(READS),
    CommandSpec::new("hgetall", 2, READONLY, KEY1, "hash", hgetall).acl(cat::HASH).access(READS),
    CommandSpec::new("hincrby", 4, WRITE | DENYOOM | FAST, KEY1, "hash", hincrby).acl(cat::HASH).access(READS_WRITES),
    CommandSpec::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, KEY1, "hash", hincrbyfloat)
        .acl(cat::HASH)
        .access(READS_WRITES),
    CommandSpec::new("hscan", -3, READONLY, KEY1, "hash", hscan).acl(cat::HASH).access(READS),
    CommandSpec::new("hrandfield", -2, READONLY, KEY1, "hash", hrandfield).acl(cat::HASH).access(READS),
];

/// HRANDFIELD's count bound without WITHVALUES (Redis accepts -LONG_MAX..LONG_MAX).
const HRANDFIELD_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

fn limits(srv: &Server) -> Limits {
    Limits { max_entries: srv.config.hash_max_listpack_entries(), max_value: srv.config.hash_max_listpack_value() }
}

/// The hash at `key` for reading: None when missing, WRONGTYPE for another type.
fn read_hash<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a HashValue>, CmdError> {
    match srv.lookup_read(db, key) {
        Some(o) => o.value.as_hash().map(Some),
        None => Ok(None),
    }
}

/// The hash at `key` for writing, created empty (with its `new` event) when missing, as Redis's
/// hashTypeLookupWriteOrCreate does.
fn hash_for_write<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<&'a mut HashValue, CmdError> {
    match srv.lookup_write(db, key) {
        Some(o) => {
            o.value.as_hash()?;
        }
        None => {
            let obj = Object::new(Value::Hash(HashValue::new()), srv.clocks.fresh());
            srv.dbs[db].add_object(key, obj, NO_EXPIRE);
            srv.key_created(db, key);
        }
    }
    match srv.dbs[db].get_mut(key) {
        Some(o) => o.value.as_hash_mut(),
        None => Err(CmdError::err("hash vanished while being written")),
    }
}

/// After a write: WATCH invalidation, the command's event, dirty count.
fn modified(srv: &mut Server, db: usize, key: &[u8], event: &str, dirty: u64) {
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_HASH, event, key, db);
    srv.dirty += dirty;
}

fn set_generic(srv: &mut Server, c: &mut Client, args: &Args, name: &str) -> Result<i64, CmdError> {
    if args.len() % 2 == 1 {
        return Err(error::wrong_arity(name));
    }
    let (db, key) = (c.db, args.get(1));
    let limits = limits(srv);
    let apply = |h: &mut HashValue| {
        h.try_conversion(args.iter().skip(2), limits);
        (2..args.len()).step_by(2).map(|i| i64::from(h.set(args.get(i), args.get(i + 1), limits))).sum::<i64>()
    };
    // An existing hash is written through its one lookup; only a new key is looked up again.
    let created = match srv.lookup_write(db, key) {
        Some(o) => apply(o.value.as_hash_mut()?),
        None => apply(hash_for_write(srv, db, key)?),
    };
    modified(srv, db, key, "hset", (args.len() as u64 - 2) / 2);
    Ok(created)
}

/// HSET key field value [field value ...]
fn hset(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let created = set_generic(srv, c, args, "hset")?;
    c.reply.int(created);
    Ok(())
}

/// HMSET key field value [field value ...]
fn hmset(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    set_generic(srv, c, args, "hmset")?;
    c.reply.ok();
    Ok(())
}

/// HSETNX key field value
fn hsetnx(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key, field, value) = (c.db, args.get(1), args.get(2), args.get(3));
    let limits = limits(srv);
    let h = hash_for_write(srv, db, key)?;
    if h.contains(field) {
        c.reply.int(0);
        return Ok(());
    }
    h.try_conversion([field, value], limits);
    h.set(field, value, limits);
    modified(srv, db, key, "hset", 1);
    c.reply.int(1);
    Ok(())
}

/// HGET key field
fn hget(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match read_hash(srv, c.db, args.get(1))?.and_then(|h| h.get(args.get(2))) {
        Some(v) => c.reply.lp_value(v),
        None => c.reply.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]
fn hmget(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let h = read_hash(srv, c.db, args.get(1))?;
    c.reply.array(args.len() - 2);
    for field in args.iter().skip(2) {
        match h.and_then(|h| h.get(field)) {
            Some(v) => c.reply.lp_value(v),
            None => c.reply.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]
fn hdel(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key) = (c.db, args.get(1));
    let Some(o) = srv.lookup_write(db, key) else {
        c.reply.int(0);
        return Ok(());
    };
    let h = o.value.as_hash_mut()?;
    let mut deleted = 0;
    let mut emptied = false;
    for field in args.iter().skip(2) {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        srv.dbs[db].remove(key);
    }
    if deleted > 0 {
        modified(srv, db, key, "hdel", deleted as u64);
        if emptied {
            srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        }
    }
    c.reply.int(deleted);
    Ok(())
}

/// HLEN key
fn hlen(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = read_hash(srv, c.db, args.get(1))?.map_or(0, HashValue::len);
    c.reply.int(n as i64);
    Ok(())
}

/// HSTRLEN key field
fn hstrlen(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = read_hash(srv, c.db, args.get(1))?.map_or(0, |h| h.value_len(args.get(2)));
    c.reply.int(n as i64);
    Ok(())
}

/// HEXISTS key field
fn hexists(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let found = read_hash(srv, c.db, args.get(1))?.is_some_and(|h| h.contains(args.get(2)));
    c.reply.int(i64::from(found));
    Ok(())
}

/// What HKEYS / HVALS / HGETALL return.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Fields,
    Values,
    Both,
}

fn getall_generic(srv: &mut Server, c: &mut Client, args: &Args, part: Part) -> CmdResult {
    let h = read_hash(srv, c.db, args.get(1))?;
    let n = h.map_or(0, HashValue::len);
    if part == Part::Both {
        c.reply.map(n);
    } else {
        c.reply.array(n);
    }
    for (k, v) in h.into_iter().flat_map(HashValue::iter) {
        if part != Part::Values {
            c.reply.lp_value(k);
        }
        if part != Part::Fields {
            c.reply.lp_value(v);
        }
    }
    Ok(())
}

/// HKEYS key
fn hkeys(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    getall_generic(srv, c, args, Part::Fields)
}

/// HVALS key
fn hvals(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    getall_generic(srv, c, args, Part::Values)
}

/// HGETALL key
fn hgetall(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    getall_generic(srv, c, args, Part::Both)
}

/// HINCRBY key field increment
fn hincrby(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key, field) = (c.db, args.get(1), args.get(2));
    let incr = args.i64(3)?;
    let limits = limits(srv);
    let h = hash_for_write(srv, db, key)?;
    let current = match h.get(field) {
        None => 0,
        Some(v) => v.as_i64().ok_or_else(|| CmdError::err("hash value is not an integer"))?,
    };
    let value = current.checked_add(incr).ok_or(CmdError::from(error::OVERFLOW))?;
    let mut text = Vec::with_capacity(20);
    format_i64(&mut text, value);
    h.set(field, &text, limits);
    modified(srv, db, key, "hincrby", 1);
    c.reply.int(value);
    Ok(())
}

/// HINCRBYFLOAT key field increment
fn hincrbyfloat(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key, field) = (c.db, args.get(1), args.get(2));
    let incr = LongDouble::parse(args.get(3)).ok_or(CmdError::from(error::NOT_FLOAT))?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let limits = limits(srv);
    let h = hash_for_write(srv, db, key)?;
    let not_float = || CmdError::err("hash value is not a float");
    let current = match h.get(field) {
        None => LongDouble::ZERO,
        Some(LpValue::Int(n)) => LongDouble::from_i64(n),
        Some(LpValue::Str(s)) => LongDouble::parse(s).ok_or_else(not_float)?,
    };
    let value = current + incr;
    if !value.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let mut text = Vec::with_capacity(32);
    value.format_human(&mut text);
    h.set(field, &text, limits);
    modified(srv, db, key, "hincrbyfloat", 1);
    // The result, not the increment: float rounding must not differ on replay.
    srv.propagate_as(&[b"HSET", key, field, &text]);
    c.reply.bulk(&text);
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
fn hscan(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let cursor = parse_scan_cursor(args.get(2))?;
    let Some(h) = read_hash(srv, c.db, args.get(1))? else {
        c.reply.array(2);
        c.reply.bulk(b"0");
        c.reply.array(0);
        return Ok(());
    };
    let super::keys::ScanOptions { count, pattern, .. } = super::keys::parse_scan_options(args, 3, false)?;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = h.scan(cursor, count, |k, v| {
        let (k, v) = (k.to_vec(), v.to_vec());
        if pattern.is_none_or(|p| string_match(p, &k, false)) {
            found.push(k);
            found.push(v);
        }
    });
    c.reply.array(2);
    c.reply.bulk_i64(next as i64);
    c.reply.array(found.len());
    for e in &found {
        c.reply.bulk(e);
    }
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() < 3 {
        let mut rand = srv.sampling_rng();
        let picked = read_hash(srv, c.db, args.get(1))?.and_then(|h| h.random_pair(&mut rand));
        match picked {
            Some((k, _)) => c.reply.lp_value(k),
            None => c.reply.null(),
        }
        return Ok(());
    }
    let l = args.i64(2)?;
    if l == i64::MIN {
        return Err(HRANDFIELD_RANGE.into());
    }
    if args.len() > 4 || (args.len() == 4 && !args.is(3, "withvalues")) {
        return Err(error::SYNTAX.into());
    }
    let withvalues = args.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::err("value is out of range"));
    }
    let mut rand = srv.sampling_rng();
    let resp3 = c.reply.resp >= 3;
    let Some(h) = read_hash(srv, c.db, args.get(1))? else {
        c.reply.array(0);
        return Ok(());
    };
    let count = l.unsigned_abs() as usize;
    if count == 0 {
        c.reply.array(0);
        return Ok(());
    }
    let repeats = l < 0 || count == 1;
    let n = if repeats { count } else { count.min(h.len()) };
    c.reply.array(if withvalues && !resp3 { n * 2 } else { n });
    let reply = &mut c.reply;
    let emit = |k: LpValue<'_>, v: LpValue<'_>| {
        if withvalues && resp3 {
            reply.array(2);
        }
        reply.lp_value(k);
        if withvalues {
            reply.lp_value(v);
        }
    };
    if repeats {
        h.random_pairs_with_repeats(count, &mut rand, emit);
    } else {
        h.random_distinct_pairs(count, &mut rand, emit);
    }
    Ok(())
}
