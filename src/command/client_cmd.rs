//! CLIENT subcommands: ID, INFO, LIST, KILL, SETNAME, GETNAME, REPLY, PAUSE, UNPAUSE, NO-EVICT, UNBLOCK,
//! TRACKING, CACHING, GETREDIR, TRACKINGINFO, HELP; and the CLIENT LIST line format shared with logs.

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::acl::category as cat;
use crate::client::{Client, ReplyMode, flags as cflags};
use crate::command::connection::{BAD_CLIENT_NAME, valid_client_name};
use crate::error::{self, CmdError, CmdResult};
use crate::server::tracking::{self, ClientTracking};
use crate::server::{Pause, Server, unix_ms};

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container("client", -2, 0, "connection", SUBCOMMANDS)];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("id", 2, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_id).acl(cat::CONNECTION),
    CommandSpec::new("info", 2, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_info_cmd)
        .acl(cat::CONNECTION),
    CommandSpec::new("list", -2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_list)
        .acl(cat::CONNECTION),
    CommandSpec::new("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_kill)
        .acl(cat::CONNECTION),
    CommandSpec::new("setname", 3, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_setname)
        .acl(cat::CONNECTION),
    CommandSpec::new("getname", 2, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_getname)
        .acl(cat::CONNECTION),
    CommandSpec::new("reply", 3, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_reply).acl(cat::CONNECTION),
    CommandSpec::new("pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_pause)
        .acl(cat::CONNECTION),
    CommandSpec::new("unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_unpause)
        .acl(cat::CONNECTION),
    CommandSpec::new("no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_no_evict)
        .acl(cat::CONNECTION),
    CommandSpec::new("unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_unblock)
        .acl(cat::CONNECTION),
    CommandSpec::new("tracking", -3, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_tracking)
        .acl(cat::CONNECTION),
    CommandSpec::new("caching", 3, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_caching)
        .acl(cat::CONNECTION),
    CommandSpec::new("getredir", 2, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_getredir)
        .acl(cat::CONNECTION),
    CommandSpec::new("trackinginfo", 2, NOSCRIPT | LOADING | STALE, NO_KEYS, "connection", client_trackinginfo)
        .acl(cat::CONNECTION),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "connection", client_help).acl(cat::CONNECTION),
];

/// One CLIENT LIST line (without the trailing newline), Redis 7.0's field order.
/// Redis's per-client reply buffer (PROTO_REPLY_CHUNK_BYTES), not counted in `omem`.
const REPLY_FIXED_BUFFER: usize = 16 * 1024;

pub fn client_info(srv: &Server, c: &Client) -> String {
    let now = unix_ms();
    let fd = match &c.stream {
        crate::client::Stream::Tcp(s) => std::os::fd::AsRawFd::as_raw_fd(s),
        crate::client::Stream::Unix(s) => std::os::fd::AsRawFd::as_raw_fd(s),
        crate::client::Stream::Detached => -1,
    };
    let (qbuf, qbuf_free) =
        c.running_qbuf.unwrap_or((c.qbuf.len() - c.qpos.min(c.qbuf.len()), c.qbuf.capacity() - c.qbuf.len()));
    let events = if c.writable_armed { "rw" } else { "r" };
    // A replica's output is its share of the backlog it still has to be sent.
    // Redis's omem counts the reply list beyond the client's fixed 16 KiB buffer.
    let omem = if c.replica.is_some() {
        srv.output_buffer_usage(c) as usize
    } else {
        c.reply.buf.capacity().saturating_sub(REPLY_FIXED_BUFFER)
    };
    let tot = omem + c.qbuf.capacity() + std::mem::size_of::<Client>();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem={} rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events={} cmd={} user={} redir={} resp={}",
        c.id,
        c.addr,
        c.laddr,
        fd,
        String::from_utf8_lossy(c.name.as_deref().unwrap_or_default()),
        (now / 1000).saturating_sub(c.ctime),
        now.saturating_sub(c.last_interaction_ms) / 1000,
        c.flag_letters(),
        c.db,
        c.subs.as_ref().map_or(0, |s| s.channels.len()),
        c.subs.as_ref().map_or(0, |s| s.patterns.len()),
        c.subs.as_ref().map_or(0, |s| s.shard_channels.len()),
        if c.in_multi() { c.multi.len() as i64 } else { -1 },
        qbuf,
        qbuf_free,
        c.multi.iter().map(|q| q.buf.len()).sum::<usize>(),
        c.reply.buf.capacity().max(1024),
        c.reply.buf.len(),
        c.pending_output(),
        omem,
        tot,
        events,
        c.last_cmd.map_or("NULL", |id| srv.commands.commands[id].full_name.as_str()),
        user_name(srv, c),
        redirect_of(c),
        c.reply.resp
    )
}

/// The client's ACL user as CLIENT LIST names it: `(superuser)` for the internal clients that
/// run as no user.
fn user_name(srv: &Server, c: &Client) -> String {
    match c.user {
        None => "(superuser)".to_string(),
        Some(id) => srv.acl.user(id).map_or_else(String::new, |u| String::from_utf8_lossy(&u.name).into_owned()),
    }
}

/// The client type names CLIENT LIST/KILL TYPE accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    PubSub,
    Master,
}

fn client_type(name: &[u8]) -> Result<ClientType, CmdError> {
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"normal" => Ok(ClientType::Normal),
        b"slave" | b"replica" => Ok(ClientType::Replica),
        b"pubsub" => Ok(ClientType::PubSub),
        b"master" => Ok(ClientType::Master),
        _ => Err(CmdError::err(format!("Unknown client type '{}'", String::from_utf8_lossy(name)))),
    }
}

/// The type of a connected client, as Redis's getClientType decides it.
fn type_of(c: &Client) -> ClientType {
    if c.is_master {
        ClientType::Master
    } else if c.has(cflags::MONITOR) || c.replica.is_some() {
        ClientType::Replica
    } else if c.has(cflags::PUBSUB) {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn client_id(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(c.id as i64);
    Ok(())
}

fn client_info_cmd(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let mut line = client_info(srv, c);
    line.push('\n');
    c.reply.verbatim(line.as_bytes());
    Ok(())
}

/// Every client's line, the caller included (it is not in the slab while it runs).
fn all_clients_info(srv: &Server, me: &Client, filter: impl Fn(&Client) -> bool) -> String {
    let mut lines: Vec<(u64, String)> = Vec::new();
    if filter(me) {
        lines.push((me.id, client_info(srv, me)));
    }
    for (_, other) in srv.clients.iter() {
        if let Some(other) = other
            && filter(other)
        {
            lines.push((other.id, client_info(srv, other)));
        }
    }
    lines.sort_by_key(|(id, _)| *id);
    let mut out = String::new();
    for (_, l) in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// CLIENT LIST [TYPE type] [ID id ...]
fn client_list(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let out = if args.len() == 4 && args.is(2, "type") {
        let t = client_type(args.get(3))?;
        all_clients_info(srv, c, |x| type_of(x) == t)
    } else if args.len() > 3 && args.is(2, "id") {
        let mut ids = Vec::new();
        for j in 3..args.len() {
            ids.push(crate::numeric::parse_i64(args.get(j)).ok_or_else(|| CmdError::err("Invalid client ID"))?);
        }
        all_clients_info(srv, c, |x| ids.contains(&(x.id as i64)))
    } else if args.len() != 2 {
        return Err(error::SYNTAX.into());
    } else {
        all_clients_info(srv, c, |_| true)
    };
    c.reply.verbatim(out.as_bytes());
    Ok(())
}

/// CLIENT KILL addr | CLIENT KILL [ID id] [TYPE t] [ADDR a] [LADDR a] [USER u] [SKIPME yes|no]
fn client_kill(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut ctype: Option<ClientType> = None;
    let mut id: Option<u64> = None;
    let mut user: Option<crate::acl::UserId> = None;
    let mut skipme = true;
    let old_style = args.len() == 3;
    if old_style {
        addr = Some(args.get(2));
        skipme = false;
    } else {
        let mut i = 2;
        while i < args.len() {
            let more = args.len() > i + 1;
            if !more {
                return Err(error::SYNTAX.into());
            }
            let v = args.get(i + 1);
            if args.is(i, "id") {
                let n = crate::numeric::parse_i64(v)
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
                id = Some(n as u64);
            } else if args.is(i, "type") {
                ctype = Some(client_type(v)?);
            } else if args.is(i, "addr") {
                addr = Some(v);
            } else if args.is(i, "laddr") {
                laddr = Some(v);
            } else if args.is(i, "user") {
                match srv.acl.find(v) {
                    Some((id, _)) => user = Some(id),
                    None => return Err(CmdError::err(format!("No such user '{}'", String::from_utf8_lossy(v)))),
                }
            } else if args.is(i, "skipme") {
                if v.eq_ignore_ascii_case(b"yes") {
                    skipme = true;
                } else if v.eq_ignore_ascii_case(b"no") {
                    skipme = false;
                } else {
                    return Err(error::SYNTAX.into());
                }
            } else {
                return Err(error::SYNTAX.into());
            }
            i += 2;
        }
    }
    let matches = |x: &Client| {
        addr.is_none_or(|a| x.addr.as_bytes() == a)
            && laddr.is_none_or(|a| x.laddr.as_bytes() == a)
            && ctype.is_none_or(|t| type_of(x) == t)
            && id.is_none_or(|i| x.id == i)
            && user.is_none_or(|u| x.user == Some(u))
    };
    let victims: Vec<usize> =
        srv.clients.iter().filter_map(|(slot, x)| x.as_ref().filter(|x| matches(x)).map(|_| slot)).collect();
    let mut killed = victims.len();
    for slot in victims {
        srv.kill_client_slot(slot);
    }
    let kill_me = !skipme && matches(c);
    if kill_me {
        killed += 1;
    }
    if old_style {
        if killed == 0 {
            return Err(CmdError::err("No such client"));
        }
        c.reply.ok();
    } else {
        c.reply.int(killed as i64);
    }
    if kill_me {
        c.flags |= cflags::CLOSE_AFTER_REPLY;
    }
    Ok(())
}

fn client_setname(_: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let name = args.get(2);
    if !valid_client_name(name) {
        return Err(BAD_CLIENT_NAME.into());
    }
    c.name = if name.is_empty() { None } else { Some(name.to_vec()) };
    c.reply.ok();
    Ok(())
}

fn client_getname(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    match c.name.clone() {
        Some(n) => c.reply.bulk(&n),
        None => c.reply.null(),
    }
    Ok(())
}

/// CLIENT REPLY ON|OFF|SKIP
fn client_reply(_: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.is(2, "on") {
        c.reply_mode = ReplyMode::On;
        c.reply.ok();
    } else if args.is(2, "off") {
        c.reply_mode = ReplyMode::Off;
    } else if args.is(2, "skip") {
        if c.reply_mode != ReplyMode::Off {
            c.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(error::SYNTAX.into());
    }
    Ok(())
}

/// Parse a millisecond timeout the way Redis's getTimeoutFromObjectOrReply does.
pub fn parse_timeout_ms(v: &[u8]) -> Result<i64, CmdError> {
    let n = crate::numeric::parse_i64(v).ok_or(CmdError::from(error::TIMEOUT_NOT_INTEGER))?;
    if n < 0 {
        return Err(error::TIMEOUT_NEGATIVE.into());
    }
    Ok(n)
}

/// CLIENT PAUSE timeout [WRITE|ALL]
fn client_pause(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(error::wrong_arity("client|pause"));
    }
    let mut write_only = false;
    if args.len() == 4 {
        if args.is(3, "write") {
            write_only = true;
        } else if !args.is(3, "all") {
            return Err(CmdError::err("CLIENT PAUSE mode must be WRITE or ALL"));
        }
    }
    let ms = parse_timeout_ms(args.get(2))?;
    let until_ms = unix_ms().saturating_add(ms as u64);
    // A stronger pause (ALL) or a later end wins over the current one, as Redis's pauseClients.
    let pause = match srv.pause {
        Some(p) => Pause { until_ms: p.until_ms.max(until_ms), write_only: p.write_only && write_only },
        None => Pause { until_ms, write_only },
    };
    srv.pause = Some(pause);
    c.reply.ok();
    Ok(())
}

fn client_unpause(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    srv.pause = None;
    srv.resume_paused_clients();
    c.reply.ok();
    Ok(())
}

fn client_no_evict(_: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.is(2, "on") {
        c.flags |= cflags::NO_EVICT;
    } else if args.is(2, "off") {
        c.flags &= !cflags::NO_EVICT;
    } else {
        return Err(error::SYNTAX.into());
    }
    c.reply.ok();
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when that client was blocked and is now woken.
fn client_unblock(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(error::wrong_arity("client|unblock"));
    }
    if args.len() == 4 && !args.is(3, "timeout") && !args.is(3, "error") {
        return Err(CmdError::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR"));
    }
    let id = args.i64(2)?;
    let woke = srv.unblock_client_by_id(id as u64, args.len() == 4 && args.is(3, "error"));
    c.reply.int(woke as i64);
    Ok(())
}

/// Where a client's invalidations go: -1 without tracking, 0 to itself, else the target's id.
fn redirect_of(c: &Client) -> i64 {
    c.tracking.as_deref().map_or(-1, |t| t.redirect.map_or(0, |id| id as i64))
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]
fn client_tracking(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut req = ClientTracking::default();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        if args.is(j, "redirect") && more {
            j += 1;
            if req.redirect.is_some() {
                return Err(CmdError::err("A client can only redirect to a single other client"));
            }
            let id = args.i64(j)?;
            // The target must exist now, even if it may leave later.
            if !(id > 0 && (srv.client_slots.contains_key(&(id as u64)) || id as u64 == c.id)) {
                return Err(CmdError::err("The client ID you want redirect to does not exist"));
            }
            req.redirect = Some(id as u64);
        } else if args.is(j, "bcast") {
            req.bcast = true;
        } else if args.is(j, "optin") {
            req.optin = true;
        } else if args.is(j, "optout") {
            req.optout = true;
        } else if args.is(j, "noloop") {
            req.noloop = true;
        } else if args.is(j, "prefix") && more {
            j += 1;
            req.prefixes.push(args.get(j).to_vec());
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    if args.is(2, "on") {
        if let Some(reason) = tracking::refusal(c.tracking.as_deref(), &req) {
            return Err(CmdError::err(reason));
        }
        srv.tracking_enable(c, req);
    } else if args.is(2, "off") {
        srv.tracking_disable(c);
    } else {
        return Err(error::SYNTAX.into());
    }
    c.reply.ok();
    Ok(())
}

/// CLIENT CACHING YES|NO: whether the next command's keys are tracked (OPTIN / OPTOUT modes).
fn client_caching(_: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let Some(t) = c.tracking.as_deref_mut() else {
        return Err(CmdError::err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if args.is(2, "yes") {
        if !t.optin {
            return Err(CmdError::err("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."));
        }
    } else if args.is(2, "no") {
        if !t.optout {
            return Err(CmdError::err("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."));
        }
    } else {
        return Err(error::SYNTAX.into());
    }
    t.caching = true;
    c.reply.ok();
    Ok(())
}

fn client_getredir(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(redirect_of(c));
    Ok(())
}

fn client_trackinginfo(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let t = c.tracking.as_deref().cloned();
    let mut flags: Vec<&[u8]> = vec![if t.is_some() { b"on" } else { b"off" }];
    if let Some(t) = &t {
        if t.bcast {
            flags.push(b"bcast");
        }
        if t.optin {
            flags.push(b"optin");
            if t.caching {
                flags.push(b"caching-yes");
            }
        }
        if t.optout {
            flags.push(b"optout");
            if t.caching {
                flags.push(b"caching-no");
            }
        }
        if t.noloop {
            flags.push(b"noloop");
        }
        if t.broken_redirect {
            flags.push(b"broken_redirect");
        }
    }
    c.reply.map(3);
    c.reply.bulk(b"flags");
    c.reply.set(flags.len());
    for f in flags {
        c.reply.bulk(f);
    }
    c.reply.bulk(b"redirect");
    c.reply.int(redirect_of(c));
    c.reply.bulk(b"prefixes");
    let prefixes = t.map(|t| t.prefixes).unwrap_or_default();
    c.reply.array(prefixes.len());
    for p in prefixes {
        c.reply.bulk(&p);
    }
    Ok(())
}

fn client_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
    Ok(())
}
