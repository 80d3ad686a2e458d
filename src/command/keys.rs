//! Generic key commands (Redis's db.c): DEL, UNLINK, EXISTS, TYPE, KEYS, SCAN, RANDOMKEY, RENAME,
//! RENAMENX, TOUCH, OBJECT, DBSIZE, SWAPDB, MOVE, COPY, FLUSHDB, FLUSHALL.
//!
//! KEYS and FLUSH* are O(n) by definition; SCAN does bounded work per call (at most ten times COUNT
//! buckets), as Redis.

use super::flags::*;
use super::{
    Args, CommandSpec, KEY1, KEY1_2, KEYS_ALL, KeyAccess, KeyPerm, METADATA_ONLY, NO_KEYS, READS_WRITES, WRITES,
};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::access_clock::AccessPolicy;
use crate::error::{self, CmdError, CmdResult};
use crate::glob::string_match;
use crate::resp::reply::Aggregate;
use crate::server::Server;
use crate::server::keyspace::EVENT_GENERIC;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("del", -2, WRITE, KEYS_ALL, "generic", del).acl(cat::KEYSPACE).access(WRITES),
    CommandSpec::new("unlink", -2, WRITE | FAST, KEYS_ALL, "generic", del).acl(cat::KEYSPACE).access(WRITES),
    CommandSpec::new("exists", -2, READONLY | FAST, KEYS_ALL, "generic", exists)
        .acl(cat::KEYSPACE)
        .access(METADATA_ONLY),
    CommandSpec::new("type", 2, READONLY | FAST, KEY1, "generic", type_cmd).acl(cat::KEYSPACE).access(METADATA_ONLY),
    CommandSpec::new("keys", 2, READONLY, NO_KEYS, "generic", keys).acl(cat::KEYSPACE | cat::DANGEROUS),
    CommandSpec::new("scan", -2, READONLY | TOUCHES_ARBITRARY_KEYS, NO_KEYS, "generic", scan).acl(cat::KEYSPACE),
    CommandSpec::new("randomkey", 1, READONLY | TOUCHES_ARBITRARY_KEYS, NO_KEYS, "generic", randomkey)
        .acl(cat::KEYSPACE),
    CommandSpec::new("rename", 3, WRITE, KEY1_2, "generic", rename)
        .acl(cat::KEYSPACE)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("renamenx", 3, WRITE | FAST, KEY1_2, "generic", renamenx)
        .acl(cat::KEYSPACE)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("touch", -2, READONLY | FAST, KEYS_ALL, "generic", touch).acl(cat::KEYSPACE).access(METADATA_ONLY),
    CommandSpec::new("dbsize", 1, READONLY | FAST, NO_KEYS, "server", dbsize).acl(cat::KEYSPACE),
    CommandSpec::new("swapdb", 3, WRITE | FAST, NO_KEYS, "server", swapdb).acl(cat::KEYSPACE | cat::DANGEROUS),
    CommandSpec::new("move", 3, WRITE | FAST, KEY1, "generic", move_cmd).acl(cat::KEYSPACE).access(READS_WRITES),
    CommandSpec::new("copy", -3, WRITE | DENYOOM, KEY1_2, "generic", copy)
        .acl(cat::KEYSPACE)
        .access(KeyAccess::FirstThen(KeyPerm::READ, KeyPerm::WRITE)),
    CommandSpec::new("flushdb", -1, WRITE, NO_KEYS, "server", flushdb).acl(cat::KEYSPACE | cat::DANGEROUS),
    CommandSpec::new("flushall", -1, WRITE, NO_KEYS, "server", flushall).acl(cat::KEYSPACE | cat::DANGEROUS),
    CommandSpec::container("object", -2, 0, "generic", OBJECT_SUBCOMMANDS),
];

const OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("encoding", 3, READONLY, KeySpecAt2::SPEC, "generic", object_encoding)
        .acl(cat::KEYSPACE)
        .access(METADATA_ONLY),
    CommandSpec::new("refcount", 3, READONLY, KeySpecAt2::SPEC, "generic", object_refcount)
        .acl(cat::KEYSPACE)
        .access(METADATA_ONLY),
    CommandSpec::new("idletime", 3, READONLY, KeySpecAt2::SPEC, "generic", object_idletime)
        .acl(cat::KEYSPACE)
        .access(METADATA_ONLY),
    CommandSpec::new("freq", 3, READONLY, KeySpecAt2::SPEC, "generic", object_freq)
        .acl(cat::KEYSPACE)
        .access(METADATA_ONLY),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "generic", object_help).acl(cat::KEYSPACE),
];

/// OBJECT subcommands take their key at position 2.
struct KeySpecAt2;
impl KeySpecAt2 {
    const SPEC: super::KeySpec = super::KeySpec { first: 2, last: 2, step: 1 };
}

/// DEL / UNLINK key [key ...]
fn del(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut n = 0;
    for key in args.iter().skip(1) {
        if srv.delete_key_notify(c.db, key) {
            n += 1;
        }
    }
    c.reply.int(n);
    Ok(())
}

/// EXISTS key [key ...]: counts repeats.
fn exists(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut n = 0;
    for key in args.iter().skip(1) {
        if srv.lookup_read(c.db, key).is_some() {
            n += 1;
        }
    }
    c.reply.int(n);
    Ok(())
}

/// TOUCH key [key ...]
fn touch(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    exists(srv, c, args)
}

/// TYPE key
fn type_cmd(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let name = srv.lookup_read(c.db, args.get(1)).map_or("none", |o| o.value.type_name());
    c.reply.simple(name.as_bytes());
    Ok(())
}

/// KEYS pattern
fn keys(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let pattern = args.get(1);
    let all = pattern == b"*";
    let now = crate::server::unix_ms() as i64;
    let at = c.reply.begin_deferred();
    let mut n = 0;
    let db = &srv.dbs[c.db];
    for (key, _) in db.dict.iter() {
        let when = db.expire_of(key);
        if (all || string_match(pattern, key, false)) && !(when >= 0 && when <= now) {
            c.reply.bulk(key);
            n += 1;
        }
    }
    c.reply.end_deferred(at, Aggregate::Array, n);
    Ok(())
}

/// Parse a SCAN cursor like Redis's strtoul-based parser: decimal, optional sign, no spaces.
pub fn parse_scan_cursor(s: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::err("invalid cursor");
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if !digits.iter().all(u8::is_ascii_digit) || (digits.is_empty() && !s.is_empty()) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10).and_then(|v| v.checked_add((d - b'0') as u64)).ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// The options of the SCAN family: `[MATCH pattern] [COUNT count]`, plus `[TYPE type]` for SCAN itself
/// (Redis's scanGenericCommand). A `*` pattern is no filter; COUNT below 1 is a syntax error.
pub struct ScanOptions<'a> {
    pub count: usize,
    pub pattern: Option<&'a [u8]>,
    pub type_filter: Option<&'a [u8]>,
}

/// Parse the SCAN-family options starting at argument `first`.
pub fn parse_scan_options<'a>(args: &Args<'a>, first: usize, allow_type: bool) -> Result<ScanOptions<'a>, CmdError> {
    let mut o = ScanOptions { count: 10, pattern: None, type_filter: None };
    let mut i = first;
    while i < args.len() {
        let has_arg = i + 1 < args.len();
        if args.is(i, "count") && has_arg {
            let n = args.i64(i + 1)?;
            if n < 1 {
                return Err(error::SYNTAX.into());
            }
            o.count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if args.is(i, "match") && has_arg {
            let p = args.get(i + 1);
            o.pattern = (p != b"*").then_some(p);
        } else if allow_type && args.is(i, "type") && has_arg {
            o.type_filter = Some(args.get(i + 1));
        } else {
            return Err(error::SYNTAX.into());
        }
        i += 2;
    }
    Ok(o)
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
fn scan(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut cursor = parse_scan_cursor(args.get(1))?;
    let ScanOptions { count, pattern, type_filter } = parse_scan_options(args, 2, true)?;
    let count = count.min(i64::MAX as usize) as i64;
    let db = c.db;
    let mut found: Vec<Vec<u8>> = Vec::new();
    let mut budget = count.saturating_mul(10);
    loop {
        cursor = srv.dbs[db].dict.scan(cursor, |k, _| found.push(k.to_vec()));
        budget -= 1;
        if cursor == 0 || budget <= 0 || found.len() as i64 >= count {
            break;
        }
    }
    found.retain(|k| pattern.is_none_or(|p| string_match(p, k, false)));
    if let Some(t) = type_filter {
        found.retain(|k| srv.dbs[db].get(k).is_some_and(|o| o.value.type_name().as_bytes().eq_ignore_ascii_case(t)));
    }
    found.retain(|k| !srv.expire_if_needed(db, k));
    c.reply.array(2);
    c.reply.bulk(cursor.to_string().as_bytes());
    c.reply.array(found.len());
    for k in &found {
        c.reply.bulk(k);
    }
    Ok(())
}

/// RANDOMKEY: a random live key (expired ones met on the way are deleted, as Redis does).
fn randomkey(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let db = c.db;
    // Redis gives up after 100 tries when every key it draws is expired on a replica.
    for _ in 0..100 {
        let mut seed = srv.random();
        let picked = {
            let mut rnd = || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                seed >> 11
            };
            srv.dbs[db].dict.random(&mut rnd).map(|(k, _)| k.to_vec())
        };
        let Some(key) = picked else {
            c.reply.null();
            return Ok(());
        };
        if srv.expire_if_needed(db, &key) && !srv.is_replica() {
            continue;
        }
        c.reply.bulk(&key);
        return Ok(());
    }
    c.reply.null();
    Ok(())
}

fn rename_generic(srv: &mut Server, c: &mut Client, args: &Args, nx: bool) -> CmdResult {
    let db = c.db;
    let (src, dst) = (args.get(1), args.get(2));
    if srv.lookup_write(db, src).is_none() {
        return Err(error::NO_SUCH_KEY.into());
    }
    if src == dst {
        if nx {
            c.reply.int(0)
        } else {
            c.reply.ok()
        }
        return Ok(());
    }
    if srv.lookup_write(db, dst).is_some() {
        if nx {
            c.reply.int(0);
            return Ok(());
        }
        srv.dbs[db].remove(dst);
    }
    let Some((obj, when)) = srv.dbs[db].remove(src) else { return Err(error::NO_SUCH_KEY.into()) };
    srv.dbs[db].add_object(dst, obj, when);
    srv.key_created(db, dst);
    srv.signal_modified_key(db, src);
    srv.signal_modified_key(db, dst);
    srv.notify_keyspace_event(EVENT_GENERIC, "rename_from", src, db);
    srv.notify_keyspace_event(EVENT_GENERIC, "rename_to", dst, db);
    srv.dirty += 1;
    if nx {
        c.reply.int(1)
    } else {
        c.reply.ok()
    }
    Ok(())
}

/// RENAME key newkey
fn rename(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    rename_generic(srv, c, args, false)
}

/// RENAMENX key newkey
fn renamenx(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    rename_generic(srv, c, args, true)
}

/// DBSIZE
fn dbsize(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(srv.dbs[c.db].len() as i64);
    Ok(())
}

/// A db index argument: an int, then within range.
fn db_index(srv: &Server, args: &Args, i: usize, not_int: &'static str) -> Result<usize, CmdError> {
    let id = crate::numeric::parse_i64(args.get(i))
        .filter(|v| (i32::MIN as i64..=i32::MAX as i64).contains(v))
        .ok_or(CmdError::from(not_int))?;
    if id < 0 || id as usize >= srv.dbs.len() {
        return Err(error::DB_INDEX_OUT_OF_RANGE.into());
    }
    Ok(id as usize)
}

/// SWAPDB index1 index2
fn swapdb(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let a = db_index(srv, args, 1, "ERR invalid first DB index")?;
    let b = db_index(srv, args, 2, "ERR invalid second DB index")?;
    if a != b {
        srv.touch_all_watched_in_db(a, Some(b));
        srv.touch_all_watched_in_db(b, Some(a));
        let (lo, hi) = (a.min(b), a.max(b));
        let (left, right) = srv.dbs.split_at_mut(hi);
        left[lo].swap_contents(&mut right[0]);
        srv.signal_ready_keys_in_db(a);
        srv.signal_ready_keys_in_db(b);
    }
    srv.dirty += 1;
    c.reply.ok();
    Ok(())
}

/// MOVE key db
fn move_cmd(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let src = c.db;
    let dst = db_index(srv, args, 2, error::NOT_INTEGER)?;
    if src == dst {
        return Err(error::SAME_OBJECT.into());
    }
    let key = args.get(1);
    if srv.lookup_write(src, key).is_none() {
        c.reply.int(0);
        return Ok(());
    }
    if srv.lookup_write(dst, key).is_some() {
        c.reply.int(0);
        return Ok(());
    }
    let Some((obj, when)) = srv.dbs[src].remove(key) else { return Ok(()) };
    srv.dbs[dst].add_object(key, obj, when);
    srv.key_created(dst, key);
    srv.signal_modified_key(src, key);
    srv.signal_modified_key(dst, key);
    srv.notify_keyspace_event(EVENT_GENERIC, "move_from", key, src);
    srv.notify_keyspace_event(EVENT_GENERIC, "move_to", key, dst);
    srv.dirty += 1;
    c.reply.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
fn copy(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let src_db = c.db;
    let mut dst_db = c.db;
    let mut replace = false;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - j - 1;
        if args.is(j, "replace") {
            replace = true;
        } else if args.is(j, "db") && more >= 1 {
            dst_db = db_index(srv, args, j + 1, error::NOT_INTEGER)?;
            j += 1;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    let (key, newkey) = (args.get(1), args.get(2));
    if src_db == dst_db && key == newkey {
        return Err(error::SAME_OBJECT.into());
    }
    let Some(obj) = srv.lookup_read(src_db, key).map(|o| o.clone()) else {
        c.reply.int(0);
        return Ok(());
    };
    if srv.lookup_write(dst_db, newkey).is_some() {
        if !replace {
            c.reply.int(0);
            return Ok(());
        }
        srv.dbs[dst_db].remove(newkey);
    }
    let when = srv.dbs[src_db].expire_of(key);
    srv.dbs[dst_db].add_object(newkey, obj, when);
    srv.key_created(dst_db, newkey);
    srv.signal_modified_key(dst_db, newkey);
    srv.notify_keyspace_event(EVENT_GENERIC, "copy_to", newkey, dst_db);
    srv.dirty += 1;
    c.reply.int(1);
    Ok(())
}

/// The optional SYNC|ASYNC of FLUSHDB/FLUSHALL (both free synchronously here).
fn flush_flags(args: &Args) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if args.is(1, "sync") || args.is(1, "async") => Ok(()),
        _ => Err(error::SYNTAX.into()),
    }
}

/// FLUSHDB [ASYNC|SYNC]
fn flushdb(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    flush_flags(args)?;
    srv.touch_all_watched_in_db(c.db, None);
    srv.tracking_invalidate_all();
    srv.dirty += srv.dbs[c.db].clear() as u64;
    // Replicated even when the db was already empty.
    srv.force_propagation(crate::server::propagation::target::ALL);
    c.reply.ok();
    Ok(())
}

/// FLUSHALL [ASYNC|SYNC]
fn flushall(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    flush_flags(args)?;
    srv.flush_all();
    // A running child's dump would resurrect what was just flushed.
    srv.kill_rdb_child();
    if !srv.config.save_points().is_empty() {
        let filename = srv.config.dbfilename().to_string();
        // The save resets the dirty counter: FLUSHALL with save points leaves nothing unsaved.
        let _ = srv.rdb_save(&filename);
    }
    srv.force_propagation(crate::server::propagation::target::ALL);
    c.reply.ok();
    Ok(())
}

impl Server {
    /// Empty every db, invalidating WATCHes first. Returns the number of keys removed.
    pub fn flush_all(&mut self) -> u64 {
        let mut removed = 0;
        for db in 0..self.dbs.len() {
            self.touch_all_watched_in_db(db, None);
            removed += self.dbs[db].clear() as u64;
        }
        self.replica_keys_with_expire.clear();
        self.tracking_invalidate_all();
        self.dirty += removed;
        removed
    }
}

/// The object behind OBJECT's key argument, without touching its access clock.
fn object_lookup<'a>(srv: &'a mut Server, c: &Client, args: &Args) -> Option<&'a crate::db::Object> {
    let key = args.get(2);
    srv.expire_if_needed(c.db, key);
    srv.dbs[c.db].get(key)
}

fn object_encoding(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match object_lookup(srv, c, args) {
        Some(o) => {
            let enc = o.value.encoding();
            c.reply.bulk(enc.as_bytes());
        }
        None => c.reply.null(),
    }
    Ok(())
}

fn object_refcount(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match object_lookup(srv, c, args) {
        // Redis shares small integers (refcount INT_MAX); we report what Redis reports.
        Some(o) => {
            let shared =
                matches!(o.value, crate::db::Value::Str(crate::db::StrValue::Int(n)) if (0..10000).contains(&n));
            c.reply.int(if shared { i32::MAX as i64 } else { 1 });
        }
        None => c.reply.null(),
    }
    Ok(())
}

fn object_idletime(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if matches!(srv.clocks.policy, AccessPolicy::Lfu(_)) {
        return Err(CmdError::err(
            "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let clocks = srv.clocks;
    match object_lookup(srv, c, args) {
        Some(o) => c.reply.int(i64::from(clocks.idle_secs(o.lru))),
        None => c.reply.null(),
    }
    Ok(())
}

fn object_freq(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let clocks = srv.clocks;
    let Some(value) = object_lookup(srv, c, args).map(|o| o.lru) else {
        c.reply.null();
        return Ok(());
    };
    if !matches!(clocks.policy, AccessPolicy::Lfu(_)) {
        return Err(CmdError::err(
            "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    c.reply.int(i64::from(clocks.frequency(value)));
    Ok(())
}

fn object_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "OBJECT",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_scan_cursor;

    #[test]
    fn scan_cursor_like_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Ok(0));
        assert_eq!(parse_scan_cursor(b""), Ok(0));
        assert_eq!(parse_scan_cursor(b"-1"), Ok(u64::MAX));
        assert!(parse_scan_cursor(b" 1").is_err());
        assert!(parse_scan_cursor(b"1x").is_err());
        assert!(parse_scan_cursor(b"99999999999999999999999").is_err());
    }
}
