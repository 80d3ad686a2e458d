//! Connection commands: PING, ECHO, SELECT, QUIT, RESET, AUTH, HELLO (and the cluster-only
//! READONLY, READWRITE and ASKING, refused).
//!
//! AUTH and HELLO AUTH authenticate against the ACL users (`crate::acl`, which compares password
//! digests in constant time); nothing here logs a password.

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::acl::category as cat;
use crate::client::{Client, ReplyMode, flags as cflags};
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("ping", -1, FAST | SENTINEL, NO_KEYS, "connection", ping).acl(cat::CONNECTION),
    CommandSpec::new("echo", 2, FAST, NO_KEYS, "connection", echo).acl(cat::CONNECTION),
    CommandSpec::new("select", 2, LOADING | STALE | FAST, NO_KEYS, "connection", select).acl(cat::CONNECTION),
    CommandSpec::new("quit", -1, ALLOW_BUSY | NO_AUTH | LOADING | STALE | FAST, NO_KEYS, "connection", quit)
        .acl(cat::CONNECTION),
    CommandSpec::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | NO_AUTH | FAST | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        reset,
    )
    .acl(cat::CONNECTION),
    CommandSpec::new(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        auth,
    )
    .acl(cat::CONNECTION),
    CommandSpec::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        NO_KEYS,
        "connection",
        hello,
    )
    .acl(cat::CONNECTION),
    // Cluster-mode connection states: refused, as by Redis without cluster support.
    CommandSpec::new("readonly", 1, FAST | LOADING | STALE, NO_KEYS, "cluster", cluster_disabled).acl(cat::CONNECTION),
    CommandSpec::new("readwrite", 1, FAST | LOADING | STALE, NO_KEYS, "cluster", cluster_disabled).acl(cat::CONNECTION),
    CommandSpec::new("asking", 1, FAST, NO_KEYS, "cluster", cluster_disabled).acl(cat::CONNECTION),
];

/// READONLY, READWRITE, ASKING: only meaningful in cluster mode, which ferrodis does not have.
fn cluster_disabled(_: &mut Server, _: &mut Client, _: &Args) -> CmdResult {
    Err(CmdError::err("This instance has cluster support disabled"))
}

/// PING [message]
fn ping(_: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 2 {
        return Err(error::wrong_arity("ping"));
    }
    // A RESP2 subscribed connection gets PING's answer in the shape of a message: ["pong", arg].
    if c.has(cflags::PUBSUB) && c.reply.resp == 2 {
        c.reply.array(2);
        c.reply.bulk(b"pong");
        c.reply.bulk(args.get(1));
        return Ok(());
    }
    match args.len() {
        1 => c.reply.simple(b"PONG"),
        _ => c.reply.bulk(args.get(1)),
    }
    Ok(())
}

/// ECHO message
fn echo(_: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    c.reply.bulk(args.get(1));
    Ok(())
}

/// SELECT index
fn select(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let id = args.i64(1)?;
    if id < i32::MIN as i64 || id > i32::MAX as i64 {
        return Err(error::NOT_INTEGER.into());
    }
    if id < 0 || id as usize >= srv.dbs.len() {
        return Err(error::DB_INDEX_OUT_OF_RANGE.into());
    }
    c.db = id as usize;
    c.reply.ok();
    Ok(())
}

/// QUIT: reply OK, then close once the reply is out.
fn quit(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.ok();
    c.flags |= cflags::CLOSE_AFTER_REPLY;
    Ok(())
}

/// RESET: back to a fresh connection's state.
fn reset(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.multi.clear();
    c.flags &= !(cflags::MULTI | cflags::DIRTY_EXEC | cflags::NO_EVICT);
    srv.unwatch_all(c);
    srv.tracking_disable(c);
    srv.pubsub_forget_client(c);
    srv.unblock_forget(c);
    if c.has(cflags::MONITOR) {
        c.flags &= !cflags::MONITOR;
        srv.monitors.retain(|&s| s != c.slot);
    }
    c.db = 0;
    c.reply.resp = 2;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    srv.set_default_auth(c);
    c.reply.simple(b"RESET");
    Ok(())
}

/// AUTH [username] password: the one-argument form authenticates the default user, and is an
/// error while that user needs no password.
fn auth(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(error::SYNTAX.into());
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 2 {
        if srv.acl.default_user().nopass {
            return Err(error::AUTH_NOT_CONFIGURED.into());
        }
        (b"default", args.get(1))
    } else {
        (args.get(1), args.get(2))
    };
    if srv.acl_authenticate(c, user, pass, args.get(0)) {
        c.reply.ok();
        Ok(())
    } else {
        Err(error::WRONGPASS.into())
    }
}

/// Client names may not contain spaces or control characters (they are CLIENT LIST fields).
pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

pub const BAD_CLIENT_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut ver = 0;
    let mut next = 1;
    if args.len() >= 2 {
        ver = crate::numeric::parse_i64(args.get(1))
            .ok_or_else(|| CmdError::err("Protocol version is not an integer or out of range"))?;
        next = 2;
        if !(2..=3).contains(&ver) {
            return Err("NOPROTO unsupported protocol version".into());
        }
    }
    let mut j = next;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args.is(j, "auth") && more >= 2 {
            if !srv.acl_authenticate(c, args.get(j + 1), args.get(j + 2), args.get(0)) {
                return Err(error::WRONGPASS.into());
            }
            j += 3;
        } else if args.is(j, "setname") && more >= 1 {
            let name = args.get(j + 1);
            if !valid_client_name(name) {
                return Err(BAD_CLIENT_NAME.into());
            }
            c.name = if name.is_empty() { None } else { Some(name.to_vec()) };
            j += 2;
        } else {
            return Err(CmdError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(args.get(j))
            )));
        }
    }
    if !c.authenticated {
        return Err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into());
    }
    if ver != 0 {
        c.reply.resp = ver as u8;
    }
    let r = &mut c.reply;
    r.map(7);
    r.bulk(b"server");
    r.bulk(b"redis");
    r.bulk(b"version");
    r.bulk(crate::REDIS_VERSION.as_bytes());
    r.bulk(b"proto");
    r.int(r.resp as i64);
    r.bulk(b"id");
    r.int(c.id as i64);
    r.bulk(b"mode");
    r.bulk(b"standalone");
    r.bulk(b"role");
    r.bulk(if srv.is_replica() { b"replica" } else { b"master" });
    r.bulk(b"modules");
    r.array(0);
    Ok(())
}
