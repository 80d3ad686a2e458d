//! Stream commands (Redis's t_stream.c), the entry half: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM,
//! XSETID and XINFO, plus the command table of the whole family and the helpers the group and read
//! halves share (`stream_group`, `stream_read`).
//!
//! Handlers parse everything before touching the keyspace, so a syntax error never leaves a key
//! created. XADD and XTRIM are propagated with their ID and approximate trim made exact (Redis's
//! argument rewriting), so a replica or the AOF reproduces the same stream.

use super::flags::*;
use super::{Args, CommandSpec, KEY1, KeySpec, METADATA_ONLY, NO_KEYS, READS, WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::stream::{AppendError, EntryRef, Stream, StreamId, TrimStrategy};
use crate::db::{NO_EXPIRE, Object, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::numeric::parse_i64;
use crate::resp::reply::Aggregate;
use crate::server::Server;
use crate::server::keyspace::EVENT_STREAM;
use crate::server::propagation::int_arg;

use super::stream_group::{xack, xautoclaim, xclaim, xgroup, xinfo_consumers, xinfo_groups, xpending};
use super::stream_read::{xread, xread_keys, xreadgroup};

/// The key of an XGROUP or XINFO subcommand.
const KEY2: KeySpec = KeySpec { first: 2, last: 2, step: 1 };

const XGROUP_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("create", -5, WRITE | DENYOOM, KEY2, "stream", xgroup).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("createconsumer", 5, WRITE | DENYOOM, KEY2, "stream", xgroup).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("delconsumer", 5, WRITE, KEY2, "stream", xgroup).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("destroy", 4, WRITE, KEY2, "stream", xgroup).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "stream", xgroup).acl(cat::STREAM),
    CommandSpec::new("setid", -5, WRITE, KEY2, "stream", xgroup).acl(cat::STREAM).access(WRITES),
];

const XINFO_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("consumers", 4, READONLY, KEY2, "stream", xinfo_consumers).acl(cat::STREAM).access(READS),
    CommandSpec::new("groups", 3, READONLY, KEY2, "stream", xinfo_groups).acl(cat::STREAM).access(READS),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "stream", xinfo_help).acl(cat::STREAM),
    CommandSpec::new("stream", -3, READONLY, KEY2, "stream", xinfo_stream).acl(cat::STREAM).access(READS),
];

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("xadd", -5, WRITE | DENYOOM | FAST, KEY1, "stream", xadd).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("xrange", -4, READONLY, KEY1, "stream", xrange).acl(cat::STREAM).access(READS),
    CommandSpec::new("xrevrange", -4, READONLY, KEY1, "stream", xrevrange).acl(cat::STREAM).access(READS),
    CommandSpec::new("xlen", 2, READONLY | FAST, KEY1, "stream", xlen).acl(cat::STREAM).access(METADATA_ONLY),
    CommandSpec::new("xdel", -3, WRITE | FAST, KEY1, "stream", xdel).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("xtrim", -4, WRITE, KEY1, "stream", xtrim).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("xsetid", -3, WRITE | DENYOOM | FAST, KEY1, "stream", xsetid).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("xread", -4, READONLY | BLOCKING, NO_KEYS, "stream", xread)
        .with_getkeys(xread_keys)
        .acl(cat::STREAM)
        .access(READS),
    CommandSpec::new("xreadgroup", -7, WRITE | BLOCKING, NO_KEYS, "stream", xreadgroup)
        .with_getkeys(xread_keys)
        .acl(cat::STREAM)
        .access(READS),
    CommandSpec::new("xack", -4, WRITE | FAST, KEY1, "stream", xack).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("xpending", -3, READONLY, KEY1, "stream", xpending).acl(cat::STREAM).access(READS),
    CommandSpec::new("xclaim", -6, WRITE | FAST, KEY1, "stream", xclaim).acl(cat::STREAM).access(WRITES),
    CommandSpec::new("xautoclaim", -6, WRITE | FAST, KEY1, "stream", xautoclaim).acl(cat::STREAM).access(WRITES),
    CommandSpec::container("xgroup", -2, 0, "stream", XGROUP_SUBCOMMANDS),
    CommandSpec::container("xinfo", -2, 0, "stream", XINFO_SUBCOMMANDS),
];

pub(super) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

// ------------------------------------------------------------------------------------ shared helpers

/// An ID argument where `-` and `+` are allowed (streamParseIDOrReply).
pub(super) fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, missing_seq, false, false).map(|(id, _)| id).ok_or_else(|| INVALID_ID.into())
}

/// An ID argument that must be a concrete ID (streamParseStrictIDOrReply).
pub(super) fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    StreamId::parse(arg, 0, true, false).map(|(id, _)| id).ok_or_else(|| INVALID_ID.into())
}

/// A range bound: `(id` is exclusive and strict, anything else as `parse_id`
/// (streamParseIntervalIDOrReply). Returns the ID and whether it was exclusive.
pub(super) fn parse_interval_id(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    match arg {
        [b'(', rest @ ..] if !rest.is_empty() => {
            let id = StreamId::parse(rest, missing_seq, true, false).ok_or(CmdError::from(INVALID_ID))?.0;
            Ok((id, true))
        }
        _ => Ok((parse_id(arg, missing_seq)?, false)),
    }
}

/// A start bound with its exclusivity applied.
pub(super) fn parse_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    match parse_interval_id(arg, 0)? {
        (id, true) => id.incr().ok_or_else(|| CmdError::err("invalid start ID for the interval")),
        (id, false) => Ok(id),
    }
}

/// An end bound with its exclusivity applied.
pub(super) fn parse_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    match parse_interval_id(arg, u64::MAX)? {
        (id, true) => id.decr().ok_or_else(|| CmdError::err("invalid end ID for the interval")),
        (id, false) => Ok(id),
    }
}

pub(super) fn reply_id(c: &mut Client, id: StreamId) {
    let mut buf = Vec::with_capacity(42);
    id.write_to(&mut buf);
    c.reply.bulk(&buf);
}

/// One entry as `[id, [field, value, ...]]`.
pub(super) fn reply_entry(c: &mut Client, e: &EntryRef<'_>) {
    c.reply.array(2);
    reply_id(c, e.id);
    c.reply.array(e.field_count() * 2);
    e.for_each_field(|f, v| {
        c.reply.lp_value(f);
        c.reply.lp_value(v);
    });
}

/// Up to `count` entries (0 = all) of a range as an array; returns how many.
pub(super) fn reply_range(
    c: &mut Client,
    s: &Stream,
    start: StreamId,
    end: StreamId,
    count: usize,
    rev: bool,
) -> usize {
    let at = c.reply.begin_deferred();
    let mut n = 0;
    for e in s.range(start, end, rev) {
        reply_entry(c, &e);
        n += 1;
        if n == count {
            break;
        }
    }
    c.reply.end_deferred(at, Aggregate::Array, n);
    n
}

/// The stream at `key` for reading: `None` when missing, WRONGTYPE for another type.
pub(super) fn read_stream<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut Stream>, CmdError> {
    match srv.lookup_read(db, key) {
        None => Ok(None),
        Some(o) => Ok(Some(o.value.as_stream_mut()?)),
    }
}

/// The stream at `key` for writing: `None` when missing, WRONGTYPE for another type.
pub(super) fn write_stream<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<Option<&'a mut Stream>, CmdError> {
    match srv.lookup_write(db, key) {
        None => Ok(None),
        Some(o) => Ok(Some(o.value.as_stream_mut()?)),
    }
}

/// The stream at `key`, already looked up by the handler (no counters, no clock).
pub(super) fn stream_mut<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Option<&'a mut Stream> {
    match srv.dbs[db].get_mut(key).map(|o| &mut o.value) {
        Some(Value::Stream(s)) => Some(s),
        _ => None,
    }
}

/// A new empty stream at `key` (the caller checked it is missing).
pub(super) fn create_stream(srv: &mut Server, db: usize, key: &[u8]) {
    let obj = Object::new(Value::Stream(Box::default()), srv.clocks.fresh());
    srv.dbs[db].add_object(key, obj, NO_EXPIRE);
    srv.key_created(db, key);
}

/// A COUNT-like integer argument, negative read as `negative`.
pub(super) fn count_arg(arg: &[u8], negative: i64) -> Result<i64, CmdError> {
    let n = parse_i64(arg).ok_or(CmdError::from(error::NOT_INTEGER))?;
    Ok(if n < 0 { negative } else { n })
}

/// XGROUP's and XINFO's syntax error, naming the subcommand as sent.
pub(super) fn subcommand_syntax_error(args: &Args) -> CmdError {
    error::subcommand_syntax(&String::from_utf8_lossy(args.get(0)), args.get(1))
}

// ---------------------------------------------------------------------------------- XADD and XTRIM

/// The options XADD and XTRIM share (streamAddTrimArgs).
struct AddTrimArgs {
    trim: Option<TrimStrategy>,
    approx: bool,
    /// Index of the MAXLEN/MINID value (the `~`/`=` marker, when given, is just before it).
    trim_arg: usize,
    limit: i64,
    no_mkstream: bool,
    /// XADD: the ID given, with whether its sequence was given.
    id: Option<(StreamId, bool)>,
    /// XADD: the ID's argument index (`*` included).
    id_arg: usize,
}

/// Parses XADD's or XTRIM's options (streamParseAddOrTrimArgsOrReply).
fn parse_add_trim(srv: &Server, c: &Client, args: &Args, xadd: bool) -> Result<AddTrimArgs, CmdError> {
    let mut p =
        AddTrimArgs { trim: None, approx: false, trim_arg: 0, limit: 0, no_mkstream: false, id: None, id_arg: 0 };
    let mut limit_given = false;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = args.get(i);
        if xadd && opt == b"*" {
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid")) && more > 0 {
            if p.trim.is_some() {
                return Err(CmdError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            p.approx = false;
            let next = args.get(i + 1);
            if more >= 2 && next == b"~" {
                p.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = args.get(i + 1);
            p.trim = Some(if opt.eq_ignore_ascii_case(b"maxlen") {
                let n = parse_i64(value).ok_or(CmdError::from(error::NOT_INTEGER))?;
                if n < 0 {
                    return Err(CmdError::err("The MAXLEN argument must be >= 0."));
                }
                TrimStrategy::MaxLen(n as u64)
            } else {
                TrimStrategy::MinId(parse_strict_id(value)?)
            });
            i += 1;
            p.trim_arg = i;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            p.limit = parse_i64(args.get(i + 1)).ok_or(CmdError::from(error::NOT_INTEGER))?;
            if p.limit < 0 {
                return Err(CmdError::err("The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            p.no_mkstream = true;
        } else if xadd {
            let id = StreamId::parse(opt, 0, true, true).ok_or(CmdError::from(INVALID_ID))?;
            p.id = Some(id);
            break;
        } else {
            return Err(error::SYNTAX.into());
        }
        i += 1;
    }
    p.id_arg = i;
    if p.limit != 0 && p.trim.is_none() {
        return Err(CmdError::err("syntax error, LIMIT cannot be used without specifying a trimming strategy"));
    }
    if !xadd && p.trim.is_none() {
        return Err(CmdError::err("syntax error, XTRIM must be called with a trimming strategy"));
    }
    if c.must_obey() {
        // What the master trimmed is what the replica trims, whatever its own limits.
        p.limit = 0;
    } else if limit_given {
        if !p.approx {
            return Err(CmdError::err("syntax error, LIMIT cannot be used without the special ~ option"));
        }
    } else if p.approx {
        let entries = srv.config.stream_node_limits().max_entries;
        p.limit = entries.saturating_mul(100);
        if p.limit <= 0 {
            p.limit = 10000;
        }
        p.limit = p.limit.min(1_000_000);
    } else {
        p.limit = 0;
    }
    Ok(p)
}

/// After an approximate trim, the argv to propagate: `~` becomes `=` and the threshold the exact
/// result (streamRewriteApproxSpecifier, streamRewriteTrimArgument).
fn rewrite_trim_args(argv: &mut [Vec<u8>], s: &Stream, p: &AddTrimArgs) {
    if let Some(marker) = argv.get_mut(p.trim_arg - 1) {
        *marker = b"=".to_vec();
    }
    let value = match p.trim {
        Some(TrimStrategy::MaxLen(_)) => int_arg(s.length as i64),
        _ => s.edge_id(true, false).to_vec(),
    };
    if let Some(arg) = argv.get_mut(p.trim_arg) {
        *arg = value;
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
fn xadd(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let p = parse_add_trim(srv, c, args, true)?;
    let field_pos = p.id_arg + 1;
    let nfields = args.len().saturating_sub(field_pos);
    if nfields < 2 || nfields % 2 == 1 {
        return Err(error::wrong_arity("xadd"));
    }
    if let Some((id, true)) = p.id
        && id.is_zero()
    {
        return Err(CmdError::err("The ID specified in XADD must be greater than 0-0"));
    }
    let (db, key) = (c.db, args.get(1));
    if write_stream(srv, db, key)?.is_none() {
        if p.no_mkstream {
            c.reply.null();
            return Ok(());
        }
        create_stream(srv, db, key);
    }
    let limits = srv.config.stream_node_limits();
    let now = crate::server::unix_ms();
    let Some(s) = stream_mut(srv, db, key) else { return Err(CmdError::err("stream vanished while being written")) };
    if s.last_id == StreamId::MAX {
        return Err(CmdError::err("The stream has exhausted the last possible ID, unable to add more items"));
    }
    let pairs: Vec<&[u8]> = (field_pos..args.len()).map(|i| args.get(i)).collect();
    let added = s.next_id(p.id, now).and_then(|id| s.append(id, &pairs, limits).map(|()| id));
    let id = match added {
        Ok(id) => id,
        Err(AppendError::IdTooSmall) => {
            return Err(CmdError::err("The ID specified in XADD is equal or smaller than the target stream top item"));
        }
        Err(AppendError::TooLarge) => return Err(CmdError::err("Elements are too large to be stored")),
    };
    let id_text = id.to_vec();
    c.reply.bulk(&id_text);
    let mut argv: Option<Vec<Vec<u8>>> = None;
    let trimmed = match p.trim {
        Some(strategy) => {
            let removed = s.trim(strategy, p.approx, p.limit);
            if p.approx {
                let v = argv.get_or_insert_with(|| args.iter().map(<[u8]>::to_vec).collect());
                rewrite_trim_args(v, s, &p);
            }
            removed > 0
        }
        None => false,
    };
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_STREAM, "xadd", key, db);
    srv.dirty += 1;
    if trimmed {
        srv.notify_keyspace_event(EVENT_STREAM, "xtrim", key, db);
    }
    if !matches!(p.id, Some((_, true))) {
        let v = argv.get_or_insert_with(|| args.iter().map(<[u8]>::to_vec).collect());
        if let Some(arg) = v.get_mut(p.id_arg) {
            *arg = id_text;
        }
    }
    if let Some(v) = argv {
        let refs: Vec<&[u8]> = v.iter().map(Vec::as_slice).collect();
        srv.propagate_as(&refs);
    }
    srv.signal_key_as_ready(db, key);
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
fn xtrim(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let p = parse_add_trim(srv, c, args, false)?;
    let (db, key) = (c.db, args.get(1));
    let Some(s) = write_stream(srv, db, key)? else {
        c.reply.int(0);
        return Ok(());
    };
    let Some(strategy) = p.trim else { return Err(error::SYNTAX.into()) };
    let removed = s.trim(strategy, p.approx, p.limit);
    if removed > 0 {
        if p.approx {
            let mut argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
            rewrite_trim_args(&mut argv, s, &p);
            let refs: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            srv.propagate_as(&refs);
        }
        srv.notify_keyspace_event(EVENT_STREAM, "xtrim", key, db);
        srv.signal_modified_key(db, key);
        srv.dirty += removed as u64;
    }
    c.reply.int(removed);
    Ok(())
}

// ------------------------------------------------------------------------------- reads and deletes

fn range_generic(srv: &mut Server, c: &mut Client, args: &Args, rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev { (args.get(3), args.get(2)) } else { (args.get(2), args.get(3)) };
    let start = parse_start(start_arg)?;
    let end = parse_end(end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if args.is(j, "count") && j + 1 < args.len() {
            count = count_arg(args.get(j + 1), 0)?;
            j += 2;
        } else {
            return Err(error::SYNTAX.into());
        }
    }
    let Some(s) = read_stream(srv, c.db, args.get(1))? else {
        c.reply.array(0);
        return Ok(());
    };
    if count == 0 {
        c.reply.null_array();
    } else {
        let s: &Stream = s;
        reply_range(c, s, start, end, count.max(0) as usize, rev);
    }
    Ok(())
}

/// XRANGE key start end [COUNT count]
fn xrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    range_generic(srv, c, args, false)
}

/// XREVRANGE key end start [COUNT count]
fn xrevrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    range_generic(srv, c, args, true)
}

/// XLEN key
fn xlen(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = read_stream(srv, c.db, args.get(1))?.map_or(0, |s| s.length);
    c.reply.int(n as i64);
    Ok(())
}

/// XDEL key id [id ...]
fn xdel(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key) = (c.db, args.get(1));
    if write_stream(srv, db, key)?.is_none() {
        c.reply.int(0);
        return Ok(());
    }
    let ids = (2..args.len()).map(|j| parse_strict_id(args.get(j))).collect::<Result<Vec<_>, _>>()?;
    let deleted = stream_mut(srv, db, key).map_or(0, |s| s.delete_ids(&ids));
    if deleted > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_STREAM, "xdel", key, db);
        srv.dirty += deleted;
    }
    c.reply.int(deleted as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries_added] [MAXDELETEDID max_deleted_entry_id]
fn xsetid(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let id = parse_strict_id(args.get(2))?;
    let mut entries_added: i64 = -1;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args.is(i, "entriesadded") && more > 0 {
            entries_added = parse_i64(args.get(i + 1)).ok_or(CmdError::from(error::NOT_INTEGER))?;
            if entries_added < 0 {
                return Err(CmdError::err("entries_added must be positive"));
            }
        } else if args.is(i, "maxdeletedid") && more > 0 {
            max_deleted = parse_strict_id(args.get(i + 1))?;
            if id < max_deleted {
                return Err(CmdError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(error::SYNTAX.into());
        }
        i += 2;
    }
    let (db, key) = (c.db, args.get(1));
    let Some(s) = write_stream(srv, db, key)? else { return Err(error::NO_SUCH_KEY.into()) };
    if s.length > 0 {
        if id < s.last_valid_id() {
            return Err(CmdError::err("The ID specified in XSETID is smaller than the target stream top item"));
        }
        if entries_added != -1 && s.length > entries_added as u64 {
            return Err(CmdError::err(
                "The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_deleted.is_zero() {
        s.max_deleted_entry_id = max_deleted;
    }
    c.reply.ok();
    srv.dirty += 1;
    srv.notify_keyspace_event(EVENT_STREAM, "xsetid", key, db);
    Ok(())
}

// ------------------------------------------------------------------------------------------- XINFO

/// XINFO HELP
fn xinfo_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

/// The stream an XINFO subcommand describes: `ERR no such key` when missing.
pub(super) fn xinfo_target<'a>(srv: &'a mut Server, c: &Client, args: &Args) -> Result<&'a mut Stream, CmdError> {
    read_stream(srv, c.db, args.get(2))?.ok_or_else(|| error::NO_SUCH_KEY.into())
}

/// XINFO STREAM key [FULL [COUNT count]]
fn xinfo_stream(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let s: &Stream = xinfo_target(srv, c, args)?;
    let opts = args.len() - 3;
    let mut full = false;
    let mut count: i64 = 10;
    if opts > 0 {
        if (opts != 1 && opts != 3) || !args.is(3, "full") || (opts == 3 && !args.is(4, "count")) {
            return Err(subcommand_syntax_error(args));
        }
        full = true;
        if opts == 3 {
            count = count_arg(args.get(5), 10)?;
        }
    }
    c.reply.map(if full { 9 } else { 10 });
    c.reply.bulk(b"length");
    c.reply.int(s.length as i64);
    c.reply.bulk(b"radix-tree-keys");
    c.reply.int(s.nodes.len() as i64);
    c.reply.bulk(b"radix-tree-nodes");
    c.reply.int(radix_tree_nodes(s) as i64);
    c.reply.bulk(b"last-generated-id");
    reply_id(c, s.last_id);
    c.reply.bulk(b"max-deleted-entry-id");
    reply_id(c, s.max_deleted_entry_id);
    c.reply.bulk(b"entries-added");
    c.reply.int(s.entries_added as i64);
    c.reply.bulk(b"recorded-first-entry-id");
    reply_id(c, s.first_id);
    if !full {
        c.reply.bulk(b"groups");
        c.reply.int(s.groups.len() as i64);
        for (name, rev) in [(&b"first-entry"[..], false), (&b"last-entry"[..], true)] {
            c.reply.bulk(name);
            match s.range(StreamId::MIN, StreamId::MAX, rev).next() {
                Some(e) => reply_entry(c, &e),
                None => c.reply.null(),
            }
        }
        return Ok(());
    }
    c.reply.bulk(b"entries");
    reply_range(c, s, StreamId::MIN, StreamId::MAX, count as usize, false);
    c.reply.bulk(b"groups");
    super::stream_group::reply_groups_full(c, s, count as usize);
    Ok(())
}

/// An estimate of the rax's node count for XINFO STREAM: a radix tree over 16-byte keys has about
/// one node per key plus the shared-prefix chain and branching nodes; Redis reports its exact count,
/// which no client relies on beyond "grows with the keys".
fn radix_tree_nodes(s: &Stream) -> usize {
    match s.nodes.len() {
        0 => 1,
        n => 2 * n,
    }
}
