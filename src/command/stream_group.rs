//! Stream commands (Redis's t_stream.c), the consumer-group half: XGROUP, XACK, XPENDING, XCLAIM,
//! XAUTOCLAIM, XINFO GROUPS and XINFO CONSUMERS.
//!
//! Claims are propagated as Redis does, one `XCLAIM ... FORCE JUSTID LASTID` per pending entry that
//! changed, never as the command the client sent: a replica applies the resulting state whatever its
//! clock says about idle times.

use super::Args;
use super::stream::{
    count_arg, create_stream, parse_id, parse_interval_id, parse_start, parse_strict_id, read_stream, reply_entry,
    reply_id, stream_mut, subcommand_syntax_error, write_stream, xinfo_target,
};
use crate::client::Client;
use crate::db::stream::groups::ENTRIES_READ_INVALID;
use crate::db::stream::{ConsumerGroup, PendingEntry, Stream, StreamId};
use crate::error::{self, CmdError, CmdResult};
use crate::numeric::parse_i64;
use crate::resp::reply::Aggregate;
use crate::server::keyspace::EVENT_STREAM;
use crate::server::propagation::int_arg;
use crate::server::{Server, unix_ms};

/// `NOGROUP No such key '<key>' or consumer group '<group>'<suffix>`.
pub(super) fn no_such_group(key: &[u8], group: &[u8], suffix: &str) -> CmdError {
    let mut out = b"NOGROUP No such key '".to_vec();
    out.extend_from_slice(error::c_string(key));
    out.extend_from_slice(b"' or consumer group '");
    out.extend_from_slice(error::c_string(group));
    out.push(b'\'');
    out.extend_from_slice(suffix.as_bytes());
    CmdError::from(out)
}

/// `NOGROUP No such consumer group '<group>' for key name '<key>'`.
fn no_such_group_for_key(key: &[u8], group: &[u8]) -> CmdError {
    let mut out = b"NOGROUP No such consumer group '".to_vec();
    out.extend_from_slice(error::c_string(group));
    out.extend_from_slice(b"' for key name '");
    out.extend_from_slice(error::c_string(key));
    out.push(b'\'');
    CmdError::from(out)
}

/// An integer argument whose every failure answers `msg` (getLongLongFromObjectOrReply with a
/// message).
fn int_or(arg: &[u8], msg: &str) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(|| CmdError::err(msg))
}

/// Queues `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last` for a
/// pending entry's current state (streamPropagateXCLAIM).
pub(super) fn propagate_xclaim(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    group_name: &[u8],
    id: StreamId,
    nack: &PendingEntry,
    group_last_id: StreamId,
) {
    let (id, time, count, last) =
        (id.to_vec(), int_arg(nack.delivery_time), int_arg(nack.delivery_count as i64), group_last_id.to_vec());
    srv.also_propagate(
        db,
        &[
            b"XCLAIM",
            key,
            group_name,
            &nack.consumer,
            b"0",
            &id,
            b"TIME",
            &time,
            b"RETRYCOUNT",
            &count,
            b"FORCE",
            b"JUSTID",
            b"LASTID",
            &last,
        ],
    );
}

/// Queues `XGROUP SETID key group last ENTRIESREAD n` (streamPropagateGroupID).
pub(super) fn propagate_group_id(srv: &mut Server, db: usize, key: &[u8], group_name: &[u8], g: (StreamId, i64)) {
    let (last, read) = (g.0.to_vec(), int_arg(g.1));
    srv.also_propagate(db, &[b"XGROUP", b"SETID", key, group_name, &last, b"ENTRIESREAD", &read]);
}

// ------------------------------------------------------------------------------------------ XGROUP

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP (one handler, as Redis's
/// xgroupCommand, so the checks run in its order).
pub(super) fn xgroup(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let sub = args.get(1).to_ascii_lowercase();
    let argc = args.len();
    if sub == b"help" {
        super::reply_help(c, "XGROUP", XGROUP_HELP);
        return Ok(());
    }
    let (db, key, group) = (c.db, args.get(2), args.get(3));
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_INVALID;
    let (create, setid) = (sub == b"create", sub == b"setid");
    let mut i = 5;
    while i < argc {
        if create && args.is(i, "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && args.is(i, "entriesread") && i + 1 < argc {
            entries_read = parse_i64(args.get(i + 1)).ok_or(CmdError::from(error::NOT_INTEGER))?;
            if entries_read < 0 && entries_read != ENTRIES_READ_INVALID {
                return Err(CmdError::err("value for ENTRIESREAD must be positive or -1"));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax_error(args));
        }
    }
    let exists = write_stream(srv, db, key)?.is_some();
    if !mkstream {
        if !exists {
            return Err(CmdError::err(
                "The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
            ));
        }
        let has_group = stream_mut(srv, db, key).is_some_and(|s| s.groups.contains_key(group));
        if !has_group && (setid || sub == b"createconsumer" || sub == b"delconsumer") {
            return Err(no_such_group_for_key(key, group));
        }
    }
    let now = unix_ms() as i64;
    match sub.as_slice() {
        b"create" if (5..=8).contains(&argc) => {
            let id = match args.get(4) {
                b"$" => stream_mut(srv, db, key).map_or(StreamId::MIN, |s| s.last_id),
                arg => parse_strict_id(arg)?,
            };
            if !exists {
                create_stream(srv, db, key);
                srv.signal_modified_key(db, key);
            }
            let Some(s) = stream_mut(srv, db, key) else { return Err(error::NO_SUCH_KEY.into()) };
            if s.groups.contains_key(group) {
                return Err(CmdError::from("BUSYGROUP Consumer Group name already exists"));
            }
            s.groups.insert(group.to_vec(), ConsumerGroup::new(id, entries_read));
            c.reply.ok();
            srv.dirty += 1;
            srv.notify_keyspace_event(EVENT_STREAM, "xgroup-create", key, db);
        }
        b"setid" if argc == 5 || argc == 7 => {
            let Some(s) = stream_mut(srv, db, key) else { return Err(error::NO_SUCH_KEY.into()) };
            let id = match args.get(4) {
                b"$" => s.last_id,
                arg => parse_id(arg, 0)?,
            };
            if let Some(g) = s.groups.get_mut(group) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            c.reply.ok();
            srv.dirty += 1;
            srv.notify_keyspace_event(EVENT_STREAM, "xgroup-setid", key, db);
        }
        b"destroy" if argc == 4 => {
            let removed = stream_mut(srv, db, key).is_some_and(|s| s.groups.remove(group).is_some());
            if removed {
                c.reply.int(1);
                srv.dirty += 1;
                srv.notify_keyspace_event(EVENT_STREAM, "xgroup-destroy", key, db);
                // Readers blocked on the group learn it is gone.
                srv.signal_key_as_ready(db, key);
            } else {
                c.reply.int(0);
            }
        }
        b"createconsumer" if argc == 5 => {
            let created = stream_mut(srv, db, key)
                .and_then(|s| s.groups.get_mut(group))
                .is_some_and(|g| g.create_consumer(args.get(4), now));
            if created {
                srv.dirty += 1;
                srv.notify_keyspace_event(EVENT_STREAM, "xgroup-createconsumer", key, db);
            }
            c.reply.int(created as i64);
        }
        b"delconsumer" if argc == 5 => {
            let pending = stream_mut(srv, db, key)
                .and_then(|s| s.groups.get_mut(group))
                .and_then(|g| g.delete_consumer(args.get(4)));
            if pending.is_some() {
                srv.dirty += 1;
                srv.notify_keyspace_event(EVENT_STREAM, "xgroup-delconsumer", key, db);
            }
            c.reply.int(pending.unwrap_or(0) as i64);
        }
        _ => return Err(subcommand_syntax_error(args)),
    }
    Ok(())
}

// -------------------------------------------------------------------------------- XACK and XPENDING

/// XACK key group id [id ...]
pub(super) fn xack(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key, group) = (c.db, args.get(1), args.get(2));
    let has_group = read_stream(srv, db, key)?.is_some_and(|s| s.groups.contains_key(group));
    if !has_group {
        c.reply.int(0);
        return Ok(());
    }
    let ids = (3..args.len()).map(|j| parse_strict_id(args.get(j))).collect::<Result<Vec<_>, _>>()?;
    let mut acked = 0;
    if let Some(g) = stream_mut(srv, db, key).and_then(|s| s.groups.get_mut(group)) {
        acked = ids.iter().filter(|&&id| g.ack(id)).count();
    }
    srv.dirty += acked as u64;
    c.reply.int(acked as i64);
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub(super) fn xpending(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let argc = args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(error::SYNTAX.into());
    }
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if args.is(3, "idle") {
            min_idle = parse_i64(args.get(4)).ok_or(CmdError::from(error::NOT_INTEGER))?;
            if argc < 8 {
                return Err(error::SYNTAX.into());
            }
            at += 2;
        }
        let count = count_arg(args.get(at + 2), 0)?;
        let start = parse_start(args.get(at))?;
        let end = match parse_interval_id(args.get(at + 1), u64::MAX)? {
            (id, true) => id.decr().ok_or_else(|| CmdError::err("invalid end ID for the interval"))?,
            (id, false) => id,
        };
        let consumer = (at + 3 < argc).then(|| args.get(at + 3));
        range = Some((min_idle, start, end, count, consumer));
    }
    let (key, group_name) = (args.get(1), args.get(2));
    let Some(s) = read_stream(srv, c.db, key)? else { return Err(no_such_group(key, group_name, "")) };
    let Some(g) = s.groups.get(group_name) else { return Err(no_such_group(key, group_name, "")) };
    let Some((min_idle, start, end, mut count, consumer)) = range else {
        c.reply.array(4);
        c.reply.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(&first), Some(&last)) => {
                reply_id(c, first);
                reply_id(c, last);
                let owners: Vec<(&Vec<u8>, usize)> = g
                    .consumers
                    .iter()
                    .filter(|(_, con)| !con.pel.is_empty())
                    .map(|(n, con)| (n, con.pel.len()))
                    .collect();
                c.reply.array(owners.len());
                for (name, n) in owners {
                    c.reply.array(2);
                    c.reply.bulk(name);
                    c.reply.bulk_i64(n as i64);
                }
            }
            _ => {
                c.reply.null();
                c.reply.null();
                c.reply.null_array();
            }
        }
        return Ok(());
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(con) => con.pel.range(start..).take_while(|&&id| id <= end).copied().collect(),
            None => {
                c.reply.array(0);
                return Ok(());
            }
        },
        None if start <= end => g.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let now = unix_ms() as i64;
    let at = c.reply.begin_deferred();
    let mut n = 0;
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if min_idle != 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        n += 1;
        count -= 1;
        c.reply.array(4);
        reply_id(c, id);
        c.reply.bulk(&nack.consumer);
        c.reply.int((now - nack.delivery_time).max(0));
        c.reply.int(nack.delivery_count as i64);
    }
    c.reply.end_deferred(at, Aggregate::Array, n);
    Ok(())
}

// ------------------------------------------------------------------------------ XCLAIM, XAUTOCLAIM

/// The group of a claim command: NOGROUP when the key or the group is missing.
fn claim_target(srv: &mut Server, c: &Client, args: &Args) -> CmdResult {
    let (key, group) = (args.get(1), args.get(2));
    match read_stream(srv, c.db, key)? {
        Some(s) if s.groups.contains_key(group) => Ok(()),
        _ => Err(no_such_group(key, group, "")),
    }
}

/// Hands pending entry `id` to `consumer`, creating the consumer on first use (XCLAIM and
/// XAUTOCLAIM's shared step). Returns the entry's new state.
fn claim_one(
    srv: &mut Server,
    db: usize,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    update: impl FnOnce(&mut PendingEntry),
) -> Option<PendingEntry> {
    let now = unix_ms() as i64;
    let g = stream_mut(srv, db, key)?.groups.get_mut(group)?;
    let created = if g.touch_consumer(consumer, now) { false } else { g.create_consumer(consumer, now) };
    g.reassign(id, consumer);
    let nack = g.pel.get_mut(&id)?;
    update(nack);
    let state = nack.clone();
    if created {
        srv.dirty += 1;
        srv.notify_keyspace_event(EVENT_STREAM, "xgroup-createconsumer", key, db);
    }
    Some(state)
}

/// Replies with one claimed entry: its ID alone (JUSTID) or the whole entry.
fn reply_claimed(c: &mut Client, s: &Stream, id: StreamId, justid: bool) {
    if justid {
        reply_id(c, id);
    } else if let Some(e) = s.range(id, id, false).next() {
        reply_entry(c, &e);
    }
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms] [RETRYCOUNT count]
/// [FORCE] [JUSTID] [LASTID id]
pub(super) fn xclaim(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    claim_target(srv, c, args)?;
    let (db, key, group, consumer) = (c.db, args.get(1), args.get(2), args.get(3));
    let min_idle = int_or(args.get(4), "Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match StreamId::parse(args.get(j), 0, true, false) {
            Some((id, _)) => ids.push((id, j)),
            None => break,
        }
        j += 1;
    }
    let now = unix_ms() as i64;
    let (mut force, mut justid) = (false, false);
    let mut retry_count: i64 = -1;
    let mut delivery_time: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = args.get(j);
        if opt.eq_ignore_ascii_case(b"force") {
            force = true;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else if opt.eq_ignore_ascii_case(b"idle") && more > 0 {
            j += 1;
            delivery_time = now - int_or(args.get(j), "Invalid IDLE option argument for XCLAIM")?;
        } else if opt.eq_ignore_ascii_case(b"time") && more > 0 {
            j += 1;
            delivery_time = int_or(args.get(j), "Invalid TIME option argument for XCLAIM")?;
        } else if opt.eq_ignore_ascii_case(b"retrycount") && more > 0 {
            j += 1;
            retry_count = int_or(args.get(j), "Invalid RETRYCOUNT option argument for XCLAIM")?;
        } else if opt.eq_ignore_ascii_case(b"lastid") && more > 0 {
            j += 1;
            last_id = parse_strict_id(args.get(j))?;
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(error::c_string(opt))
            )));
        }
        j += 1;
    }
    let mut propagate_last_id = false;
    if let Some(g) = stream_mut(srv, db, key).and_then(|s| s.groups.get_mut(group))
        && last_id > g.last_id
    {
        g.last_id = last_id;
        propagate_last_id = true;
    }
    if delivery_time == -1 || delivery_time < 0 || delivery_time > now {
        delivery_time = now;
    }
    let at = c.reply.begin_deferred();
    let mut n = 0;
    for (id, _) in ids {
        let Some(s) = stream_mut(srv, db, key) else { break };
        let exists = s.contains(id);
        let Some(g) = s.groups.get_mut(group) else { break };
        let group_last = g.last_id;
        if !exists {
            // An entry deleted from the stream leaves its group's PEL too.
            if let Some(nack) = g.pel.get(&id).cloned() {
                g.ack(id);
                propagate_xclaim(srv, db, key, group, id, &nack, group_last);
                propagate_last_id = false;
                srv.dirty += 1;
            }
            continue;
        }
        match g.pel.get(&id) {
            None if force => {
                // An owner is set just below; until then the entry belongs to nobody.
                g.pel.insert(id, PendingEntry { delivery_time: now, delivery_count: 1, consumer: Vec::new() });
            }
            None => continue,
            Some(nack) => {
                if !nack.consumer.is_empty() && min_idle > 0 && now - nack.delivery_time < min_idle {
                    continue;
                }
            }
        }
        let Some(nack) = claim_one(srv, db, key, group, consumer, id, |nack| {
            nack.delivery_time = delivery_time;
            if retry_count >= 0 {
                nack.delivery_count = retry_count as u64;
            } else if !justid {
                nack.delivery_count += 1;
            }
        }) else {
            continue;
        };
        if let Some(s) = stream_mut(srv, db, key) {
            reply_claimed(c, s, id, justid);
        }
        n += 1;
        propagate_xclaim(srv, db, key, group, id, &nack, group_last);
        propagate_last_id = false;
        srv.dirty += 1;
    }
    if propagate_last_id && let Some(g) = stream_mut(srv, db, key).and_then(|s| s.groups.get(group)) {
        let state = (g.last_id, g.entries_read);
        propagate_group_id(srv, db, key, group, state);
        srv.dirty += 1;
    }
    c.reply.end_deferred(at, Aggregate::Array, n);
    srv.prevent_propagation();
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub(super) fn xautoclaim(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    const ATTEMPTS_FACTOR: i64 = 10;
    let min_idle = int_or(args.get(4), "Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let start = parse_start(args.get(5))?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args.is(j, "count") && more > 0 {
            count = parse_i64(args.get(j + 1))
                .filter(|&n| (1..=i64::MAX / 16).contains(&n))
                .ok_or_else(|| CmdError::err("COUNT must be > 0"))?;
            j += 1;
        } else if args.is(j, "justid") {
            justid = true;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    claim_target(srv, c, args)?;
    let (db, key, group, consumer) = (c.db, args.get(1), args.get(2), args.get(3));
    let now = unix_ms() as i64;
    let mut attempts = count.saturating_mul(ATTEMPTS_FACTOR);
    let mut deleted = Vec::new();
    let mut claimed = Vec::new();
    let mut cursor = Some(start);
    c.reply.array(3);
    let next_at = c.reply.begin_deferred();
    let claimed_at = c.reply.begin_deferred();
    while attempts > 0 && count > 0 {
        attempts -= 1;
        let Some(from) = cursor else { break };
        let Some(s) = stream_mut(srv, db, key) else { break };
        let Some(g) = s.groups.get(group) else { break };
        let Some((&id, nack)) = g.pel.range(from..).next() else {
            cursor = None;
            break;
        };
        cursor = id.incr();
        if !s.contains(id) {
            let (nack, group_last) = (nack.clone(), g.last_id);
            if let Some(g) = s.groups.get_mut(group) {
                g.ack(id);
            }
            propagate_xclaim(srv, db, key, group, id, &nack, group_last);
            srv.dirty += 1;
            deleted.push(id);
            count -= 1;
            continue;
        }
        if min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        let group_last = g.last_id;
        let Some(nack) = claim_one(srv, db, key, group, consumer, id, |nack| {
            nack.delivery_time = now;
            if !justid {
                nack.delivery_count += 1;
            }
        }) else {
            continue;
        };
        if let Some(s) = stream_mut(srv, db, key) {
            reply_claimed(c, s, id, justid);
        }
        claimed.push(id);
        count -= 1;
        propagate_xclaim(srv, db, key, group, id, &nack, group_last);
        srv.dirty += 1;
    }
    let next = cursor
        .and_then(|from| stream_mut(srv, db, key)?.groups.get(group)?.pel.range(from..).next().map(|(id, _)| *id))
        .unwrap_or(StreamId::MIN);
    c.reply.end_deferred(claimed_at, Aggregate::Array, claimed.len());
    // The cursor goes before the claimed entries: written into a scratch buffer and spliced in.
    let mut cursor_reply = crate::resp::reply::ReplyBuf::new(c.reply.resp);
    let mut text = Vec::new();
    next.write_to(&mut text);
    cursor_reply.bulk(&text);
    c.reply.buf.splice(next_at..next_at, cursor_reply.buf);
    c.reply.array(deleted.len());
    for id in deleted {
        reply_id(c, id);
    }
    srv.prevent_propagation();
    Ok(())
}

// ------------------------------------------------------------------------------------------- XINFO

/// A group's entries-read counter, null when unknown.
fn reply_entries_read(c: &mut Client, g: &ConsumerGroup) {
    if g.entries_read != ENTRIES_READ_INVALID {
        c.reply.int(g.entries_read);
    } else {
        c.reply.null();
    }
}

fn reply_lag(c: &mut Client, s: &Stream, g: &ConsumerGroup) {
    match s.group_lag(g) {
        Some(lag) => c.reply.int(lag),
        None => c.reply.null(),
    }
}

/// XINFO GROUPS key
pub(super) fn xinfo_groups(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let s: &Stream = xinfo_target(srv, c, args)?;
    c.reply.array(s.groups.len());
    for (name, g) in &s.groups {
        c.reply.map(6);
        c.reply.bulk(b"name");
        c.reply.bulk(name);
        c.reply.bulk(b"consumers");
        c.reply.int(g.consumers.len() as i64);
        c.reply.bulk(b"pending");
        c.reply.int(g.pel.len() as i64);
        c.reply.bulk(b"last-delivered-id");
        reply_id(c, g.last_id);
        c.reply.bulk(b"entries-read");
        reply_entries_read(c, g);
        c.reply.bulk(b"lag");
        reply_lag(c, s, g);
    }
    Ok(())
}

/// XINFO CONSUMERS key group
pub(super) fn xinfo_consumers(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (key, group) = (args.get(2), args.get(3));
    let s: &Stream = xinfo_target(srv, c, args)?;
    let Some(g) = s.groups.get(group) else { return Err(no_such_group_for_key(key, group)) };
    let now = unix_ms() as i64;
    c.reply.array(g.consumers.len());
    for (name, con) in &g.consumers {
        c.reply.map(3);
        c.reply.bulk(b"name");
        c.reply.bulk(name);
        c.reply.bulk(b"pending");
        c.reply.int(con.pel.len() as i64);
        c.reply.bulk(b"idle");
        c.reply.int((now - con.seen_time).max(0));
    }
    Ok(())
}

/// The `groups` part of XINFO STREAM FULL, PELs capped at `count` (0 = all).
pub(super) fn reply_groups_full(c: &mut Client, s: &Stream, count: usize) {
    let cap = if count == 0 { usize::MAX } else { count };
    c.reply.array(s.groups.len());
    for (name, g) in &s.groups {
        c.reply.map(7);
        c.reply.bulk(b"name");
        c.reply.bulk(name);
        c.reply.bulk(b"last-delivered-id");
        reply_id(c, g.last_id);
        c.reply.bulk(b"entries-read");
        reply_entries_read(c, g);
        c.reply.bulk(b"lag");
        reply_lag(c, s, g);
        c.reply.bulk(b"pel-count");
        c.reply.int(g.pel.len() as i64);
        c.reply.bulk(b"pending");
        let shown = g.pel.len().min(cap);
        c.reply.array(shown);
        for (id, nack) in g.pel.iter().take(shown) {
            c.reply.array(4);
            reply_id(c, *id);
            c.reply.bulk(&nack.consumer);
            c.reply.int(nack.delivery_time);
            c.reply.int(nack.delivery_count as i64);
        }
        c.reply.bulk(b"consumers");
        c.reply.array(g.consumers.len());
        for (cname, con) in &g.consumers {
            c.reply.map(4);
            c.reply.bulk(b"name");
            c.reply.bulk(cname);
            c.reply.bulk(b"seen-time");
            c.reply.int(con.seen_time);
            c.reply.bulk(b"pel-count");
            c.reply.int(con.pel.len() as i64);
            c.reply.bulk(b"pending");
            let shown = con.pel.len().min(cap);
            c.reply.array(shown);
            for id in con.pel.iter().take(shown) {
                let nack = g.pel.get(id);
                c.reply.array(3);
                reply_id(c, *id);
                c.reply.int(nack.map_or(0, |n| n.delivery_time));
                c.reply.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
}
