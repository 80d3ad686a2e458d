//! Persistence commands: SAVE and BGSAVE (Redis's rdb.c), BGREWRITEAOF (aof.c), DUMP and RESTORE
//! (cluster.c).
//!
//! The work itself (files, fork, payload format) lives in `server::rdb_persistence` and
//! `persistence::rdb`; handlers parse, check and reply with Redis's texts.

use super::flags::*;
use super::{Args, CommandSpec, KEY1, NO_KEYS, READS, WRITES};
use crate::acl::category as cat;
use crate::client::{Client, flags as cflags};
use crate::db::NO_EXPIRE;
use crate::error::{self, CmdError, CmdResult};
use crate::persistence::rdb;
use crate::server::keyspace::EVENT_GENERIC;
use crate::server::{Server, unix_ms};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("save", 1, ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING, NO_KEYS, "server", save),
    CommandSpec::new("bgsave", -1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, NO_KEYS, "server", bgsave),
    CommandSpec::new("bgrewriteaof", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING, NO_KEYS, "server", bgrewriteaof),
    CommandSpec::new("dump", 2, READONLY, KEY1, "generic", dump).acl(cat::KEYSPACE).access(READS),
    CommandSpec::new("restore", -4, WRITE | DENYOOM, KEY1, "generic", restore)
        .acl(cat::KEYSPACE | cat::DANGEROUS)
        .access(WRITES),
];

const ALREADY_SAVING: &str = "Background save already in progress";

/// SAVE: write the dump in the foreground.
fn save(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if srv.has_active_child() {
        return Err(CmdError::err(ALREADY_SAVING));
    }
    srv.rdb.saves += 1;
    let filename = srv.config.dbfilename().to_string();
    match srv.rdb_save(&filename) {
        Ok(()) => {
            c.reply.ok();
            Ok(())
        }
        Err(_) => Err(CmdError::from("ERR")),
    }
}

/// BGSAVE [SCHEDULE]: fork a child that writes the dump.
fn bgsave(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if args.is(1, "schedule") => true,
        _ => return Err(error::SYNTAX.into()),
    };
    if srv.rdb.child.is_some() {
        return Err(CmdError::err(ALREADY_SAVING));
    }
    // Inside EXEC the fork waits for the cron, as Redis schedules it.
    if c.has(cflags::EXECUTING_MULTI) || (schedule && srv.has_active_child()) {
        srv.rdb.bgsave_scheduled = true;
        c.reply.simple(b"Background saving scheduled");
        return Ok(());
    }
    if srv.has_active_child() {
        return Err(CmdError::err(
            "Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    match srv.rdb_bgsave() {
        Ok(()) => {
            c.reply.simple(b"Background saving started");
            Ok(())
        }
        Err(_) => Err(CmdError::from("ERR")),
    }
}

/// BGREWRITEAOF: fork a child that writes a new AOF base (scheduled while another child runs).
fn bgrewriteaof(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if srv.aof.child.is_some() {
        return Err(CmdError::err("Background append only file rewriting already in progress"));
    }
    if srv.has_active_child() || c.has(cflags::EXECUTING_MULTI) {
        srv.aof.rewrite_scheduled = true;
        srv.aof.rewrites_consecutive_failures = 0;
        c.reply.simple(b"Background append only file rewriting scheduled");
        return Ok(());
    }
    match srv.aof_rewrite_background() {
        Ok(()) => {
            c.reply.simple(b"Background append only file rewriting started");
            Ok(())
        }
        Err(_) => Err(CmdError::err(
            "Can't execute an AOF background rewriting. Please check the server logs for more information.",
        )),
    }
}

/// DUMP key: the value serialized in the RDB format with a version and CRC64 footer.
fn dump(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let compression = srv.config.rdbcompression();
    match srv.lookup_read(c.db, args.get(1)) {
        None => c.reply.null(),
        Some(o) => {
            let payload = rdb::dump_payload(&o.value, compression);
            c.reply.bulk(&payload);
        }
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
fn restore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut replace = false;
    let mut absttl = false;
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < args.len() {
        let more = j + 1 < args.len();
        if args.is(j, "replace") {
            replace = true;
        } else if args.is(j, "absttl") {
            absttl = true;
        } else if args.is(j, "idletime") && more && freq.is_none() {
            let v = args.i64(j + 1)?;
            if v < 0 {
                return Err(CmdError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if args.is(j, "freq") && more && idle.is_none() {
            let v = args.i64(j + 1)?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::err("Invalid FREQ value, must be >= 0 and <= 255"));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    let db = c.db;
    let key = args.get(1);
    if !replace && srv.lookup_write(db, key).is_some() {
        return Err(CmdError::from("BUSYKEY Target key name already exists."));
    }
    let mut ttl = args.i64(2)?;
    if ttl < 0 {
        return Err(CmdError::err("Invalid TTL value, must be >= 0"));
    }
    let payload = args.get(3);
    if !rdb::verify_dump_payload(payload, false) {
        return Err(CmdError::err("DUMP payload version or checksum are wrong"));
    }
    let limits = srv.load_limits();
    let value = rdb::load_dump_payload(payload, &limits).map_err(|_| CmdError::err("Bad data format"))?;
    let deleted = replace && srv.delete_key(db, key);
    if ttl > 0 && !absttl {
        ttl = ttl.saturating_add(unix_ms() as i64);
    }
    if ttl > 0 && ttl <= unix_ms() as i64 && !srv.is_replica() {
        if deleted {
            srv.propagate_as(&[b"DEL", key]);
            srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
            srv.dirty += 1;
        }
        c.reply.ok();
        return Ok(());
    }
    if ttl > 0 && !absttl {
        // Replicated with the absolute time it resolved to.
        let ttl_arg = crate::server::propagation::int_arg(ttl);
        let mut argv: Vec<&[u8]> = args.iter().collect();
        argv[2] = &ttl_arg;
        argv.push(b"ABSTTL");
        srv.propagate_as(&argv);
    }
    let obj = rdb::object_for(value, &srv.clocks, idle.map(|i| i as u64), freq.map(|f| f as u8));
    srv.dbs[db].add_object(key, obj, if ttl > 0 { ttl } else { NO_EXPIRE });
    srv.key_created(db, key);
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_GENERIC, "restore", key, db);
    srv.dirty += 1;
    c.reply.ok();
    Ok(())
}
