//! Expiry commands (Redis's expire.c): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX/XX/GT/LT, TTL, PTTL,
//! EXPIRETIME, PEXPIRETIME, PERSIST.
//!
//! A deadline already in the past deletes the key at once on a master (Redis replicates it as a DEL);
//! a replica keeps it and lets its master decide.

use super::flags::*;
use super::{Args, CommandSpec, KEY1, READS, WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::error::{self, CmdError, CmdResult};
use crate::server::keyspace::EVENT_GENERIC;
use crate::server::{Server, unix_ms};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("expire", -3, WRITE | FAST, KEY1, "generic", expire).acl(cat::KEYSPACE).access(WRITES),
    CommandSpec::new("pexpire", -3, WRITE | FAST, KEY1, "generic", pexpire).acl(cat::KEYSPACE).access(WRITES),
    CommandSpec::new("expireat", -3, WRITE | FAST, KEY1, "generic", expireat).acl(cat::KEYSPACE).access(WRITES),
    CommandSpec::new("pexpireat", -3, WRITE | FAST, KEY1, "generic", pexpireat).acl(cat::KEYSPACE).access(WRITES),
    CommandSpec::new("ttl", 2, READONLY | FAST, KEY1, "generic", ttl).acl(cat::KEYSPACE).access(READS),
    CommandSpec::new("pttl", 2, READONLY | FAST, KEY1, "generic", pttl).acl(cat::KEYSPACE).access(READS),
    CommandSpec::new("expiretime", 2, READONLY | FAST, KEY1, "generic", expiretime).acl(cat::KEYSPACE).access(READS),
    CommandSpec::new("pexpiretime", 2, READONLY | FAST, KEY1, "generic", pexpiretime).acl(cat::KEYSPACE).access(READS),
    CommandSpec::new("persist", 2, WRITE | FAST, KEY1, "generic", persist).acl(cat::KEYSPACE).access(WRITES),
];

#[derive(Default)]
struct Conditions {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn parse_conditions(args: &Args) -> Result<Conditions, CmdError> {
    let mut f = Conditions::default();
    for j in 3..args.len() {
        if args.is(j, "nx") {
            f.nx = true;
        } else if args.is(j, "xx") {
            f.xx = true;
        } else if args.is(j, "gt") {
            f.gt = true;
        } else if args.is(j, "lt") {
            f.lt = true;
        } else {
            return Err(CmdError::err(format!("Unsupported option {}", String::from_utf8_lossy(args.get(j)))));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::err("NX and XX, GT or LT options at the same time are not compatible"));
    }
    if f.gt && f.lt {
        return Err(CmdError::err("GT and LT options at the same time are not compatible"));
    }
    Ok(f)
}

fn expire_generic(srv: &mut Server, c: &mut Client, args: &Args, relative: bool, seconds: bool) -> CmdResult {
    let invalid = || error::invalid_expire(&args.name_lower());
    let cond = parse_conditions(args)?;
    let mut when = args.i64(2)?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if relative {
        when = when.checked_add(unix_ms() as i64).ok_or_else(invalid)?;
    }
    let db = c.db;
    let key = args.get(1);
    if srv.lookup_write(db, key).is_none() {
        c.reply.int(0);
        return Ok(());
    }
    let current = srv.dbs[db].expire_of(key);
    let refused = (cond.nx && current != -1)
        || (cond.xx && current == -1)
        || (cond.gt && (current == -1 || when <= current))
        || (cond.lt && current != -1 && when >= current);
    if refused {
        c.reply.int(0);
        return Ok(());
    }
    if when <= unix_ms() as i64 && !srv.is_replica() && !srv.loading {
        srv.delete_key(db, key);
        let del = crate::server::propagation::deletion_command(srv.config.lazyfree_lazy_expire());
        srv.propagate_as(&[del, key]);
        srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
    } else {
        srv.set_key_expire(db, key, when);
        // Always an absolute time in ms, whatever form the client used; the conditions follow.
        let when_arg = crate::server::propagation::int_arg(when);
        let mut argv: Vec<&[u8]> = vec![b"PEXPIREAT", key, &when_arg];
        argv.extend(args.iter().skip(3));
        srv.propagate_as(&argv);
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_GENERIC, "expire", key, db);
    }
    srv.dirty += 1;
    c.reply.int(1);
    Ok(())
}

fn expire(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    expire_generic(srv, c, args, true, true)
}

fn pexpire(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    expire_generic(srv, c, args, true, false)
}

fn expireat(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    expire_generic(srv, c, args, false, true)
}

fn pexpireat(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    expire_generic(srv, c, args, false, false)
}

/// TTL family: -2 missing, -1 no expiry, else remaining (or absolute) time.
fn ttl_generic(srv: &mut Server, c: &mut Client, args: &Args, ms: bool, absolute: bool) -> CmdResult {
    let key = args.get(1);
    if !srv.key_exists(c.db, key) {
        c.reply.int(-2);
        return Ok(());
    }
    let when = srv.dbs[c.db].expire_of(key);
    if when == -1 {
        c.reply.int(-1);
        return Ok(());
    }
    let ttl = if absolute { when } else { (when - unix_ms() as i64).max(0) };
    c.reply.int(if ms { ttl } else { (ttl + 500) / 1000 });
    Ok(())
}

fn ttl(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    ttl_generic(srv, c, args, false, false)
}

fn pttl(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    ttl_generic(srv, c, args, true, false)
}

fn expiretime(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    ttl_generic(srv, c, args, false, true)
}

fn pexpiretime(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    ttl_generic(srv, c, args, true, true)
}

/// PERSIST key
fn persist(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let key = args.get(1);
    let db = c.db;
    if srv.lookup_write(db, key).is_some() && srv.dbs[db].persist(key) {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_GENERIC, "persist", key, db);
        srv.dirty += 1;
        c.reply.int(1);
    } else {
        c.reply.int(0);
    }
    Ok(())
}
