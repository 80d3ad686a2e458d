//! Stream commands (Redis's t_stream.c), the read half: XREAD and XREADGROUP, synchronous and
//! blocking, and serving a blocked reader when its stream receives data (Redis's
//! serveClientsBlockedOnStreamKey).
//!
//! A blocking XREAD keeps its command with every `$` replaced by the stream's last ID at the time it
//! blocked, so that serving it later reads exactly what arrived since. A served reader gets the one
//! stream that woke it, as in Redis. XREADGROUP is never propagated itself: what it changed in the
//! group travels as XCLAIM, XGROUP SETID and XGROUP CREATECONSUMER.

use super::Args;
use super::stream::{INVALID_ID, reply_entry, reply_id, stream_mut};
use super::stream_group::{no_such_group, propagate_group_id, propagate_xclaim};
use crate::client::Client;
use crate::db::Value;
use crate::db::stream::{PendingEntry, Stream, StreamId};
use crate::error::{self, CmdError, CmdResult};
use crate::numeric::parse_i64;
use crate::resp::reply::Aggregate;
use crate::server::blocking::BlockedOn;
use crate::server::keyspace::EVENT_STREAM;
use crate::server::{Server, unix_ms};

/// Entries a blocked reader gets when it gave no COUNT (XREAD_BLOCKED_DEFAULT_COUNT).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XREAD and XREADGROUP's keys: the first half of what follows STREAMS (xreadGetKeys).
pub fn xread_keys(args: &Args) -> Vec<usize> {
    let mut i = 1;
    let mut streams = None;
    while i < args.len() {
        if args.is(i, "block") || args.is(i, "count") {
            i += 1;
        } else if args.is(i, "group") {
            i += 2;
        } else if args.is(i, "streams") {
            streams = Some(i);
            break;
        } else if !args.is(i, "noack") {
            break;
        }
        i += 1;
    }
    let Some(at) = streams else { return Vec::new() };
    let rest = args.len() - at - 1;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Vec::new();
    }
    (at + 1..=at + rest / 2).collect()
}

/// A parsed XREAD/XREADGROUP.
struct ReadRequest<'a> {
    /// Unix ms to block until; `Some(0)` blocks forever; `None` does not block.
    block: Option<u64>,
    count: usize,
    noack: bool,
    group: Option<(&'a [u8], &'a [u8])>,
    /// Index of the first key; the IDs follow the keys.
    keys_at: usize,
    nstreams: usize,
}

fn parse_request<'a>(c: &Client, args: &Args<'a>) -> Result<ReadRequest<'a>, CmdError> {
    let xreadgroup = args.get(0).len() == 10;
    let mut r = ReadRequest { block: None, count: 0, noack: false, group: None, keys_at: 0, nstreams: 0 };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        if args.is(i, "block") && more > 0 {
            if c.id == crate::scripting::runner::SCRIPT_CLIENT_ID {
                return Err(CmdError::err(format!(
                    "{} command is not allowed with BLOCK option from scripts",
                    String::from_utf8_lossy(args.get(0))
                )));
            }
            i += 1;
            r.block = Some(parse_block_timeout(args.get(i))?);
        } else if args.is(i, "count") && more > 0 {
            i += 1;
            r.count = parse_i64(args.get(i)).ok_or(CmdError::from(error::NOT_INTEGER))?.max(0) as usize;
        } else if args.is(i, "streams") && more > 0 {
            r.keys_at = i + 1;
            let rest = args.len() - r.keys_at;
            if !rest.is_multiple_of(2) {
                return Err(CmdError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            r.nstreams = rest / 2;
            break;
        } else if args.is(i, "group") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((args.get(i + 1), args.get(i + 2)));
            i += 2;
        } else if args.is(i, "noack") {
            if !xreadgroup {
                return Err(CmdError::err(
                    "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(error::SYNTAX.into());
        }
        i += 1;
    }
    if r.keys_at == 0 {
        return Err(error::SYNTAX.into());
    }
    if xreadgroup && r.group.is_none() {
        return Err(CmdError::err("Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// A BLOCK argument: integer milliseconds, 0 for ever (getTimeoutFromObjectOrReply in ms).
fn parse_block_timeout(arg: &[u8]) -> Result<u64, CmdError> {
    let ms = parse_i64(arg).ok_or(CmdError::from(error::TIMEOUT_NOT_INTEGER))?;
    if ms < 0 {
        return Err(error::TIMEOUT_NEGATIVE.into());
    }
    if ms == 0 {
        return Ok(0);
    }
    let now = unix_ms();
    if ms as u64 > i64::MAX as u64 - now {
        return Err(CmdError::err("timeout is out of range"));
    }
    Ok(ms as u64 + now)
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
pub fn xread(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    read_generic(srv, c, args)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...]
/// id [id ...]
pub fn xreadgroup(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    read_generic(srv, c, args)
}

fn read_generic(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let r = parse_request(c, args)?;
    let db = c.db;
    let mut ids = Vec::with_capacity(r.nstreams);
    for i in 0..r.nstreams {
        let key = args.get(r.keys_at + i);
        let arg = args.get(r.keys_at + r.nstreams + i);
        let s = match srv.lookup_read(db, key) {
            None => None,
            Some(o) => Some(o.value.as_stream()?),
        };
        if let Some((group, _)) = r.group
            && !s.is_some_and(|s| s.groups.contains_key(group))
        {
            return Err(no_such_group(key, group, " in XREADGROUP with GROUP option"));
        }
        let id = match arg {
            b"$" if r.group.is_some() => {
                return Err(CmdError::err(
                    "The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            b"$" => s.map_or(StreamId::MIN, |s| s.last_id),
            b">" if r.group.is_none() => {
                return Err(CmdError::err(
                    "The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            b">" => StreamId::MAX,
            _ => StreamId::parse(arg, 0, true, false).ok_or(CmdError::from(INVALID_ID))?.0,
        };
        ids.push(id);
    }
    srv.prevent_propagation();
    let mut served = 0;
    let mut outer = 0;
    for (i, &given) in ids.iter().enumerate() {
        let key = args.get(r.keys_at + i);
        let Some(s) = srv.lookup_read(db, key).and_then(|o| o.value.as_stream().ok()) else { continue };
        let mut gt = given;
        let (serve, history) = match r.group {
            Some(_) if given != StreamId::MAX => (true, true),
            Some((group, _)) => match s.groups.get(group) {
                Some(g) if s.length > 0 && s.last_valid_id() > g.last_id => {
                    gt = g.last_id;
                    (true, false)
                }
                _ => (false, false),
            },
            None => (s.length > 0 && s.last_valid_id() > gt, false),
        };
        if !serve {
            continue;
        }
        served += 1;
        if served == 1 {
            outer = c.reply.begin_deferred();
        }
        if c.reply.resp == 2 {
            c.reply.array(2);
        }
        c.reply.bulk(key);
        let start = gt.incr().unwrap_or(StreamId::MAX);
        match r.group {
            Some((group, consumer)) => {
                prepare_consumer(srv, db, key, group, consumer, r.noack);
                if history {
                    reply_consumer_history(srv, c, db, key, group, consumer, start, r.count);
                } else {
                    read_into_group(srv, c, db, key, (group, consumer), start, r.count, r.noack);
                }
                srv.dirty += 1;
            }
            None => {
                if let Some(s) = stream_mut(srv, db, key) {
                    let s: &Stream = s;
                    super::stream::reply_range(c, s, start, StreamId::MAX, r.count, false);
                }
            }
        }
    }
    if served > 0 {
        c.reply.end_deferred(outer, if c.reply.resp == 2 { Aggregate::Array } else { Aggregate::Map }, served);
        return Ok(());
    }
    let Some(deadline) = r.block else {
        c.reply.null_array();
        return Ok(());
    };
    // Blocking: `$` becomes the ID it stood for now, so a later serve reads what arrived since.
    let mut argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
    for (i, id) in ids.iter().enumerate() {
        let slot = &mut argv[r.keys_at + r.nstreams + i];
        if slot.as_slice() == b"$" {
            *slot = id.to_vec();
        }
    }
    let (buf, ranges) = super::pack_args(argv.iter().map(Vec::as_slice));
    let stored = Args::new(&buf, &ranges);
    let keys: Vec<&[u8]> = (0..r.nstreams).map(|i| args.get(r.keys_at + i)).collect();
    srv.block_client(c, &stored, &keys, BlockedOn::Stream, deadline);
    Ok(())
}

/// Marks the consumer seen, creating it on first use (with its event, and its own propagation under
/// NOACK, where no XCLAIM would create it on the replica).
fn prepare_consumer(srv: &mut Server, db: usize, key: &[u8], group: &[u8], consumer: &[u8], noack: bool) {
    let now = unix_ms() as i64;
    let Some(g) = stream_mut(srv, db, key).and_then(|s| s.groups.get_mut(group)) else { return };
    if g.touch_consumer(consumer, now) || !g.create_consumer(consumer, now) {
        return;
    }
    srv.dirty += 1;
    srv.notify_keyspace_event(EVENT_STREAM, "xgroup-createconsumer", key, db);
    if noack {
        srv.also_propagate(db, &[b"XGROUP", b"CREATECONSUMER", key, group, consumer]);
    }
}

/// XREADGROUP with a concrete ID: the consumer's own pending entries from `start`, each delivery
/// counted again; an entry since deleted shows as `[id, nil]` (streamReplyWithRangeFromConsumerPEL).
#[allow(clippy::too_many_arguments)]
fn reply_consumer_history(
    srv: &mut Server,
    c: &mut Client,
    db: usize,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    start: StreamId,
    count: usize,
) {
    let now = unix_ms() as i64;
    let Some(s) = stream_mut(srv, db, key) else { return };
    let ids: Vec<StreamId> = match s.groups.get(group).and_then(|g| g.consumers.get(consumer)) {
        Some(con) => {
            let it = con.pel.range(start..).copied();
            if count == 0 { it.collect() } else { it.take(count).collect() }
        }
        None => Vec::new(),
    };
    c.reply.array(ids.len());
    let mut found = Vec::new();
    for &id in &ids {
        match s.range(id, id, false).next() {
            Some(e) => {
                reply_entry(c, &e);
                found.push(id);
            }
            None => {
                c.reply.array(2);
                reply_id(c, id);
                c.reply.null_array();
            }
        }
    }
    if let Some(g) = s.groups.get_mut(group) {
        for id in found {
            if let Some(nack) = g.pel.get_mut(&id) {
                nack.delivery_time = now;
                nack.delivery_count += 1;
            }
        }
    }
}

/// Delivers new entries from `start` to a group's consumer (streamReplyWithRange with a group):
/// the group's last ID and entries-read move on, each entry enters the PEL unless NOACK, and
/// every change is queued for propagation.
#[allow(clippy::too_many_arguments)]
fn read_into_group(
    srv: &mut Server,
    c: &mut Client,
    db: usize,
    key: &[u8],
    (group, consumer): (&[u8], &[u8]),
    start: StreamId,
    count: usize,
    noack: bool,
) {
    let now = unix_ms() as i64;
    let Some(s) = stream_mut(srv, db, key) else { return };
    let Some(g) = s.groups.get(group) else { return };
    let (mut last, mut read) = (g.last_id, g.entries_read);
    let mut moved = false;
    let mut delivered: Vec<(StreamId, StreamId)> = Vec::new();
    let at = c.reply.begin_deferred();
    let mut n = 0;
    for e in s.range(start, StreamId::MAX, false) {
        if e.id > last {
            read = s.entries_read_after(read, e.id);
            last = e.id;
            moved = true;
        }
        reply_entry(c, &e);
        if !noack {
            delivered.push((e.id, last));
        }
        n += 1;
        if n == count {
            break;
        }
    }
    c.reply.end_deferred(at, Aggregate::Array, n);
    let Some(g) = s.groups.get_mut(group) else { return };
    g.last_id = last;
    g.entries_read = read;
    let mut claims: Vec<(StreamId, PendingEntry, StreamId)> = Vec::with_capacity(delivered.len());
    for (id, group_last) in delivered {
        g.deliver(id, consumer, now);
        if let Some(nack) = g.pel.get(&id) {
            claims.push((id, nack.clone(), group_last));
        }
    }
    for (id, nack, group_last) in &claims {
        propagate_xclaim(srv, db, key, group, *id, nack, *group_last);
    }
    if noack && moved {
        propagate_group_id(srv, db, key, group, (last, read));
    }
}

// ------------------------------------------------------------------------------- blocked readers

/// What a reader blocked on `key` should do now that the key was signalled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamWake {
    /// Data (or an error) for it: run [`serve_blocked`].
    Serve,
    /// Nothing new for it; keep its place.
    Wait,
}

/// Decides whether the blocked reader whose stored command is `args` wakes for `key`.
pub fn blocked_wake(srv: &Server, db: usize, key: &[u8], args: &Args) -> StreamWake {
    let group = group_of(args);
    match srv.dbs[db].get(key).map(|o| &o.value) {
        Some(Value::Stream(s)) => {
            let gt = match group {
                Some((name, _)) => match s.groups.get(name) {
                    Some(g) => g.last_id,
                    None => return StreamWake::Serve,
                },
                None => match id_for_key(args, key) {
                    Some(id) => id,
                    None => return StreamWake::Wait,
                },
            };
            if s.last_id > gt { StreamWake::Serve } else { StreamWake::Wait }
        }
        // The stream is gone: group readers fail, plain readers wait for a new one.
        _ if group.is_some() => StreamWake::Serve,
        _ => StreamWake::Wait,
    }
}

fn group_of<'a>(args: &Args<'a>) -> Option<(&'a [u8], &'a [u8])> {
    (1..args.len()).find(|&i| args.is(i, "group")).map(|i| (args.get(i + 1), args.get(i + 2)))
}

/// The ID a stored XREAD waits after for `key`.
fn id_for_key(args: &Args, key: &[u8]) -> Option<StreamId> {
    let keys = xread_keys(args);
    let n = keys.len();
    let pos = keys.iter().position(|&i| args.get(i) == key)?;
    StreamId::parse(args.get(keys[pos] + n), 0, true, false).map(|(id, _)| id)
}

/// Serves a woken reader with what `key` holds for it: the one stream's new entries, or the error
/// that its group or stream is gone.
pub fn serve_blocked(srv: &mut Server, c: &mut Client, args: &Args, key: &[u8]) -> CmdResult {
    srv.prevent_propagation();
    let db = c.db;
    let r = parse_request(c, args)?;
    let count = if r.count == 0 { BLOCKED_DEFAULT_COUNT } else { r.count };
    let gt = match srv.dbs[db].get(key).map(|o| &o.value) {
        Some(Value::Stream(s)) => match r.group {
            Some((name, _)) => match s.groups.get(name) {
                Some(g) => g.last_id,
                None => {
                    return Err(CmdError::from(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    ));
                }
            },
            None => id_for_key(args, key).unwrap_or(StreamId::MAX),
        },
        _ if r.group.is_some() => return Err(CmdError::from("UNBLOCKED the stream key no longer exists")),
        _ => return Ok(()),
    };
    let start = gt.incr().unwrap_or(StreamId::MAX);
    if let Some((group, consumer)) = r.group {
        prepare_consumer(srv, db, key, group, consumer, r.noack);
    }
    if c.reply.resp == 2 {
        c.reply.array(1);
        c.reply.array(2);
    } else {
        c.reply.map(1);
    }
    c.reply.bulk(key);
    match r.group {
        Some(g) => read_into_group(srv, c, db, key, g, start, count, r.noack),
        None => {
            if let Some(s) = stream_mut(srv, db, key) {
                let s: &Stream = s;
                super::stream::reply_range(c, s, start, StreamId::MAX, count, false);
            }
        }
    }
    Ok(())
}
