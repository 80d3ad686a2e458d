//! DEBUG: the subcommands operators and Redis's test suite use (SLEEP, SET-ACTIVE-EXPIRE, OBJECT,
//! POPULATE, DIGEST, DIGEST-VALUE, PROTOCOL, STRINGMATCH-LEN, LOG, HELP), gated by
//! `enable-debug-command` as in Redis 7 (the gate lives in the dispatcher).
//!
//! DEBUG SLEEP blocks the event loop on purpose: that is what it is for.

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::client::Client;
use crate::db::{StrValue, Value};
use crate::digest::{DatasetDigest, EMPTY_DIGEST_HEX, to_hex};
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;

pub const COMMANDS: &[CommandSpec] =
    &[CommandSpec::new("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED, NO_KEYS, "server", debug)];

fn debug(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let argc = args.len();
    let sub = args.get(1).to_ascii_lowercase();
    match (sub.as_slice(), argc) {
        (b"help", 2) => help(c),
        (b"sleep", 3) => {
            let secs = crate::numeric::parse_f64(args.get(2)).unwrap_or(0.0).max(0.0);
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(1e6)));
            c.reply.ok();
        }
        (b"set-active-expire", 3) => {
            srv.active_expire_enabled = args.i64(2)? != 0;
            c.reply.ok();
        }
        (b"object", 3) => debug_object(srv, c, args.get(2))?,
        (b"populate", 3..=5) => populate(srv, c, args)?,
        (b"digest", 2) => {
            let hex = dataset_digest(srv);
            c.reply.simple(hex.as_bytes());
        }
        (b"digest-value", _) => {
            c.reply.array(argc - 2);
            for key in args.iter().skip(2) {
                let hex = match srv.dbs[c.db].get(key) {
                    Some(o) => {
                        let has_expire = srv.dbs[c.db].has_expire(key);
                        to_hex(&o.value.digest(None, has_expire))
                    }
                    None => EMPTY_DIGEST_HEX.to_owned(),
                };
                c.reply.simple(hex.as_bytes());
            }
        }
        (b"protocol", 3) => protocol(c, args.get(2))?,
        (b"stringmatch-len", _) => {
            // Exercises the glob matcher on a pathological pattern; the answer is not the point.
            let pattern = args.get(2);
            let subject = args.get(3);
            crate::glob::string_match(pattern, subject, false);
            c.reply.simple(b"OK");
        }
        (b"log", 3) => {
            log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(args.get(2)));
            c.reply.ok();
        }
        // Not from inside a load that lets the loop turn: the dataset is half there.
        (b"reload" | b"loadaof", _) if srv.loading || srv.repl_diskless_loading() => {
            return Err(crate::error::LOADING.into());
        }
        (b"reload", _) => debug_reload(srv, c, args)?,
        (b"replicate", n) if n >= 3 => {
            // Straight into the stream, even what the master itself would refuse (a test knob
            // for data divergence).
            let mut cmd = Vec::new();
            let argv: Vec<&[u8]> = args.iter().skip(2).collect();
            crate::server::propagation::encode_command(&mut cmd, argv.len(), argv.into_iter());
            let db = srv.repl.selected_db.unwrap_or(0);
            srv.repl_feed(db, &cmd);
            c.reply.ok();
        }
        (b"aof-flush-sleep", 3) => {
            srv.aof.flush_sleep_us = u64::try_from(args.i64(2)?).unwrap_or(0);
            c.reply.ok();
        }
        (b"loadaof", 2) => {
            if srv.aof.is_on() {
                srv.aof_flush();
            }
            for db in 0..srv.dbs.len() {
                srv.touch_all_watched_in_db(db, None);
                srv.dbs[db].clear();
            }
            srv.tracking_invalidate_all();
            srv.aof_load_manifest_from_disk();
            srv.aof_delete_history_files();
            let ret = srv.aof_load_files();
            if !matches!(ret, crate::server::aof_loading::AofLoad::Ok | crate::server::aof_loading::AofLoad::Empty) {
                std::process::exit(1);
            }
            srv.dirty = 0;
            log::warn!("Append Only File loaded by DEBUG LOADAOF");
            c.reply.ok();
        }
        (b"pause-cron", 3) => {
            srv.cron_paused = args.i64(2)? != 0;
            c.reply.ok();
        }
        (b"htstats", 3) => {
            let id = args.i64(2)?;
            let Some(db) = usize::try_from(id).ok().and_then(|i| srv.dbs.get(i)) else {
                return Err(CmdError::err("Out of range database"));
            };
            let text = format!("[Dictionary HT]\n{}[Expires HT]\n{}", db.dict.stats(), db.expires.stats());
            c.reply.verbatim(text.as_bytes());
        }
        (b"htstats-key", 3) => {
            let Some(o) = srv.dbs[c.db].get(args.get(2)) else { return Err(error::NO_SUCH_KEY.into()) };
            let text = match &o.value {
                Value::Set(crate::db::set::SetValue::Hashtable(d)) => d.stats(),
                Value::Hash(crate::db::hash::HashValue::Table(d)) => d.stats(),
                Value::ZSet(crate::db::zset::ZSetValue::Skiplist(z)) => z.dict().stats(),
                _ => {
                    return Err(CmdError::err(
                        "The value stored at the specified key is not represented using an hash table",
                    ));
                }
            };
            c.reply.verbatim(text.as_bytes());
        }
        (b"quicklist-packed-threshold", 3) => {
            // Redis: 0 restores the 1 GiB default; at most 4 GiB minus 1 MiB.
            match crate::config::memtoull(args.get(2)) {
                Some(sz) if sz <= (1u64 << 32) - (1 << 20) => {
                    srv.list_packed_threshold =
                        if sz == 0 { crate::db::list::DEFAULT_PACKED_THRESHOLD } else { sz as usize };
                    c.reply.ok();
                }
                _ => return Err(CmdError::err("argument must be a memory value bigger than 1 and smaller than 4gb")),
            }
        }
        (b"listpack", 3) => {
            let Some(o) = srv.dbs[c.db].get(args.get(2)) else { return Err(error::NO_SUCH_KEY.into()) };
            if !matches!(o.value, Value::List(_) | Value::Hash(_) | Value::ZSet(_)) {
                return Err(CmdError::err(
                    "The value stored at the specified key is not represented using an listpack",
                ));
            }
            c.reply.simple(b"Listpack structure printed on stdout");
        }
        (b"change-repl-id", 2) => {
            srv.repl.replid = srv.random_hex(40);
            c.reply.ok();
        }
        _ => {
            return Err(crate::error::subcommand_syntax("debug", args.get(1)));
        }
    }
    Ok(())
}

fn help(c: &mut Client) {
    super::reply_help(
        c,
        "DEBUG",
        &[
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "LOG <message>",
            "    Write <message> to the server log.",
            "OBJECT <key>",
            "    Show low level info about the `key` and associated value.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not accessed.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ],
    );
}

/// DEBUG DIGEST of the whole dataset, with Redis's algorithm.
pub fn dataset_digest(srv: &Server) -> String {
    let mut d = DatasetDigest::new();
    for db in &srv.dbs {
        if db.is_empty() {
            continue;
        }
        d.begin_db(db.id as u32);
        for (key, obj) in db.dict.iter() {
            d.add_key_digest(&obj.value.digest(Some(key), db.has_expire(key)));
        }
    }
    d.hex()
}

fn debug_object(srv: &mut Server, c: &mut Client, key: &[u8]) -> CmdResult {
    let clocks = srv.clocks;
    let Some(o) = srv.dbs[c.db].get(key) else { return Err(error::NO_SUCH_KEY.into()) };
    let idle = clocks.idle_secs(o.lru);
    let serialized = match &o.value {
        Value::Str(s) => s.len() + 1,
        other => other.heap_size(),
    };
    let line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        o as *const _,
        o.value.encoding(),
        serialized,
        o.lru,
        idle
    );
    c.reply.simple(line.as_bytes());
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the dump, empty the keyspace, load it back.
fn debug_reload(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (mut flush, mut save) = (true, true);
    for opt in args.iter().skip(2) {
        if opt.eq_ignore_ascii_case(b"merge") {
            // Duplicates replace existing keys: the loader always overwrites.
        } else if opt.eq_ignore_ascii_case(b"noflush") {
            flush = false;
        } else if opt.eq_ignore_ascii_case(b"nosave") {
            save = false;
        } else {
            return Err(CmdError::err("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."));
        }
    }
    let filename = srv.config.dbfilename().to_string();
    if save && srv.rdb_save(&filename).is_err() {
        return Err(CmdError::from("ERR"));
    }
    if flush {
        for db in 0..srv.dbs.len() {
            srv.touch_all_watched_in_db(db, None);
            srv.dbs[db].clear();
        }
        srv.tracking_invalidate_all();
        // The dump carries the function libraries too.
        srv.scripting.flush_functions();
    }
    if srv.rdb_load(&filename).is_err() {
        return Err(CmdError::err("Error trying to load the RDB dump"));
    }
    log::warn!("DB reloaded by DEBUG RELOAD");
    c.reply.ok();
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]
fn populate(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let positive = |i: usize| -> Result<u64, CmdError> {
        let v = args.i64(i)?;
        if v < 0 {
            return Err(CmdError::err("value is out of range, must be positive"));
        }
        Ok(v as u64)
    };
    let count = positive(2)?;
    let prefix: &[u8] = if args.len() >= 4 { args.get(3) } else { b"key" };
    let size = if args.len() == 5 { positive(4)? as usize } else { 0 };
    let db = c.db;
    let lru = srv.clocks.fresh();
    let mut key = Vec::with_capacity(prefix.len() + 21);
    let mut val = Vec::with_capacity(32);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        crate::numeric::format_u64(&mut key, j);
        if srv.lookup_write(db, &key).is_some() {
            continue;
        }
        val.clear();
        val.extend_from_slice(b"value:");
        crate::numeric::format_u64(&mut val, j);
        let value = if size == 0 {
            StrValue::from_bytes_no_int(val.clone())
        } else {
            let mut v = vec![0u8; size];
            let n = size.min(val.len());
            v[..n].copy_from_slice(&val[..n]);
            StrValue::from_bytes_no_int(v)
        };
        srv.dbs[db].set(&key, Value::Str(value), false, lru);
        srv.signal_modified_key(db, &key);
    }
    c.reply.ok();
    Ok(())
}

/// DEBUG PROTOCOL <type>: one reply of each RESP type, for client and test-suite checks.
fn protocol(c: &mut Client, name: &[u8]) -> CmdResult {
    let name = name.to_ascii_lowercase();
    let r = &mut c.reply;
    match name.as_slice() {
        b"string" => r.bulk(b"Hello World"),
        b"integer" => r.int(12345),
        // Redis's fixed test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        b"double" => r.double(3.141),
        b"bignum" => {
            let n = b"1234567999999999999999999999999999999";
            if r.resp >= 3 {
                r.buf.push(b'(');
                r.buf.extend_from_slice(n);
                r.buf.extend_from_slice(b"\r\n");
            } else {
                r.bulk(n);
            }
        }
        b"null" => r.null(),
        b"array" => {
            r.array(3);
            (0..3).for_each(|j| r.int(j));
        }
        b"set" => {
            r.set(3);
            (0..3).for_each(|j| r.int(j));
        }
        b"map" => {
            r.map(3);
            for j in 0..3 {
                r.int(j);
                r.bool(j == 1);
            }
        }
        b"attrib" => {
            if r.resp >= 3 {
                r.buf.extend_from_slice(b"|1\r\n");
                r.bulk(b"key-popularity");
                r.array(2);
                r.bulk(b"key:123");
                r.int(90);
            }
            r.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if r.resp < 3 {
                return Err(CmdError::err("RESP2 is not supported by this command"));
            }
            r.push(2);
            r.bulk(b"server-cpu-usage");
            r.int(42);
            r.bulk(b"Some real reply following the push reply");
        }
        b"true" => r.bool(true),
        b"false" => r.bool(false),
        b"verbatim" => r.verbatim(b"This is a verbatim\nstring"),
        _ => {
            return Err(CmdError::err(
                "Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ));
        }
    }
    Ok(())
}
