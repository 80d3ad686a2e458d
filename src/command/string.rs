//! String commands (Redis's t_string.c): GET, SET and its variants, MGET/MSET, counters, ranges, LCS.
//!
//! Values keep Redis's encodings (`int`, `embstr`, `raw`) so OBJECT ENCODING matches; in-place edits
//! (APPEND, SETRANGE) turn a value `raw` as Redis does. Sizes are bounded by `proto-max-bulk-len`.

use super::flags::*;
use super::{
    Args, CommandSpec, KEY1, KEY1_2, KEYS_ALL, KEYS_PAIRS, KeyAccess, KeyPerm, METADATA_ONLY, READS, READS_WRITES,
    WRITES,
};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::{StrValue, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::numeric::LongDouble;
use crate::server::keyspace::{EVENT_GENERIC, EVENT_STRING};
use crate::server::propagation::{deletion_command, int_arg};
use crate::server::{Server, unix_ms};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", 2, READONLY | FAST, KEY1, "string", get).acl(cat::STRING).access(READS),
    CommandSpec::new("set", -3, WRITE | DENYOOM, KEY1, "string", set)
        .acl(cat::STRING)
        .access(KeyAccess::ByArgs(set_key_access)),
    CommandSpec::new("setnx", 3, WRITE | DENYOOM | FAST, KEY1, "string", setnx).acl(cat::STRING).access(WRITES),
    CommandSpec::new("setex", 4, WRITE | DENYOOM, KEY1, "string", setex).acl(cat::STRING).access(WRITES),
    CommandSpec::new("psetex", 4, WRITE | DENYOOM, KEY1, "string", psetex).acl(cat::STRING).access(WRITES),
    CommandSpec::new("getset", 3, WRITE | DENYOOM | FAST, KEY1, "string", getset).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("getdel", 2, WRITE | FAST, KEY1, "string", getdel).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("getex", -2, WRITE | FAST, KEY1, "string", getex).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("mget", -2, READONLY | FAST, KEYS_ALL, "string", mget).acl(cat::STRING).access(READS),
    CommandSpec::new("mset", -3, WRITE | DENYOOM, KEYS_PAIRS, "string", mset).acl(cat::STRING).access(WRITES),
    CommandSpec::new("msetnx", -3, WRITE | DENYOOM, KEYS_PAIRS, "string", msetnx).acl(cat::STRING).access(WRITES),
    CommandSpec::new("incr", 2, WRITE | DENYOOM | FAST, KEY1, "string", incr).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("decr", 2, WRITE | DENYOOM | FAST, KEY1, "string", decr).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("incrby", 3, WRITE | DENYOOM | FAST, KEY1, "string", incrby).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("decrby", 3, WRITE | DENYOOM | FAST, KEY1, "string", decrby).acl(cat::STRING).access(READS_WRITES),
    CommandSpec::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, KEY1, "string", incrbyfloat)
        .acl(cat::STRING)
        .access(READS_WRITES),
    CommandSpec::new("append", 3, WRITE | DENYOOM | FAST, KEY1, "string", append).acl(cat::STRING).access(WRITES),
    CommandSpec::new("strlen", 2, READONLY | FAST, KEY1, "string", strlen).acl(cat::STRING).access(METADATA_ONLY),
    CommandSpec::new("getrange", 4, READONLY, KEY1, "string", getrange).acl(cat::STRING).access(READS),
    CommandSpec::new("substr", 4, READONLY, KEY1, "string", getrange).acl(cat::STRING).access(READS),
    CommandSpec::new("setrange", 4, WRITE | DENYOOM, KEY1, "string", setrange).acl(cat::STRING).access(WRITES),
    CommandSpec::new("lcs", -3, READONLY, KEY1_2, "string", lcs).acl(cat::STRING).access(READS),
];

/// SET reads its key's old value only when asked to return it (GET); otherwise it only writes
/// (Redis's setGetKeys).
fn set_key_access(args: &Args) -> KeyPerm {
    if args.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"get")) { KeyPerm::READ_WRITE } else { KeyPerm::WRITE }
}

/// Options of SET / GETEX (Redis's OBJ_* flags).
#[derive(Default, Clone, Copy)]
struct SetOpts {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// Which expiry form was given: EX, PX, EXAT or PXAT, with its argument index.
    expire: Option<(ExpireKind, usize)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Parse SET/GETEX options from `args[first..]`, refusing contradictory ones with a syntax error.
fn parse_set_opts(args: &Args, first: usize, is_set: bool) -> Result<SetOpts, CmdError> {
    let mut o = SetOpts::default();
    let mut j = first;
    while j < args.len() {
        let has_next = j + 1 < args.len();
        let no_expire = o.expire.is_none();
        if is_set && args.is(j, "nx") && !o.xx {
            o.nx = true;
        } else if is_set && args.is(j, "xx") && !o.nx {
            o.xx = true;
        } else if is_set && args.is(j, "get") {
            o.get = true;
        } else if is_set && args.is(j, "keepttl") && !o.persist && no_expire {
            o.keepttl = true;
        } else if !is_set && args.is(j, "persist") && no_expire && !o.keepttl {
            o.persist = true;
        } else if let Some(kind) = expire_kind(args.get(j))
            && !o.keepttl
            && !o.persist
            && no_expire
            && has_next
        {
            o.expire = Some((kind, j + 1));
            j += 1;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    Ok(o)
}

fn expire_kind(opt: &[u8]) -> Option<ExpireKind> {
    if opt.eq_ignore_ascii_case(b"ex") {
        Some(ExpireKind::Ex)
    } else if opt.eq_ignore_ascii_case(b"px") {
        Some(ExpireKind::Px)
    } else if opt.eq_ignore_ascii_case(b"exat") {
        Some(ExpireKind::ExAt)
    } else if opt.eq_ignore_ascii_case(b"pxat") {
        Some(ExpireKind::PxAt)
    } else {
        None
    }
}

/// Turn an expiry argument into an absolute unix-ms deadline, with Redis's range checks.
fn expire_deadline(args: &Args, kind: ExpireKind, idx: usize) -> Result<i64, CmdError> {
    let invalid = || error::invalid_expire(&args.name_lower());
    let v = args.i64(idx)?;
    let seconds = matches!(kind, ExpireKind::Ex | ExpireKind::ExAt);
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(invalid());
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if matches!(kind, ExpireKind::Ex | ExpireKind::Px) {
        ms = ms.checked_add(unix_ms() as i64).ok_or_else(invalid)?;
    }
    if ms <= 0 {
        return Err(invalid());
    }
    Ok(ms)
}

/// GET key
fn get(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match srv.lookup_read(c.db, args.get(1)) {
        None => c.reply.null(),
        Some(o) => c.reply.bulk_value(o.value.as_str()?),
    }
    Ok(())
}

/// The shared body of SET, SETNX, SETEX, PSETEX.
fn set_generic(srv: &mut Server, c: &mut Client, args: &Args, opts: SetOpts, val_idx: usize, setnx: bool) -> CmdResult {
    let deadline = match opts.expire {
        Some((kind, idx)) => Some(expire_deadline(args, kind, idx)?),
        None => None,
    };
    let key = args.get(1);
    if opts.get {
        match srv.lookup_read(c.db, key) {
            None => c.reply.null(),
            Some(o) => {
                let s = o.value.as_str()?;
                c.reply.bulk_value(s);
            }
        }
    }
    // Lazy expiry first, so an expired key counts as absent for NX/XX.
    srv.expire_if_needed_for_write(c.db, key);
    let value = Value::Str(StrValue::from_bytes(args.get(val_idx)));
    let Some(created) = srv.dbs[c.db].set_if(key, value, opts.keepttl, srv.clocks.fresh(), opts.nx, opts.xx) else {
        if !opts.get {
            if setnx {
                c.reply.int(0);
            } else {
                c.reply.null();
            }
        }
        return Ok(());
    };
    srv.signal_modified_key(c.db, key);
    if created {
        srv.key_created(c.db, key);
    }
    srv.dirty += 1;
    srv.notify_keyspace_event(EVENT_STRING, "set", key, c.db);
    if let Some(when) = deadline {
        srv.set_key_expire(c.db, key, when);
        // Replicas and the AOF get the absolute time: a relative one would drift on replay.
        srv.propagate_as(&[b"SET", key, args.get(val_idx), b"PXAT", &int_arg(when)]);
        srv.notify_keyspace_event(EVENT_GENERIC, "expire", key, c.db);
    } else if opts.get {
        // GET changes nothing on a replica: propagated without it.
        let kept: Vec<&[u8]> = args
            .iter()
            .enumerate()
            .filter(|&(i, a)| i < 3 || !a.eq_ignore_ascii_case(b"get"))
            .map(|(_, a)| a)
            .collect();
        srv.propagate_as(&kept);
    }
    if !opts.get {
        if setnx {
            c.reply.int(1);
        } else {
            c.reply.ok();
        }
    }
    Ok(())
}

/// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL]
fn set(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let opts = parse_set_opts(args, 3, true)?;
    set_generic(srv, c, args, opts, 2, false)
}

/// SETNX key value
fn setnx(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    set_generic(srv, c, args, SetOpts { nx: true, ..Default::default() }, 2, true)
}

/// SETEX key seconds value
fn setex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    set_generic(srv, c, args, SetOpts { expire: Some((ExpireKind::Ex, 2)), ..Default::default() }, 3, false)
}

/// PSETEX key milliseconds value
fn psetex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    set_generic(srv, c, args, SetOpts { expire: Some((ExpireKind::Px, 2)), ..Default::default() }, 3, false)
}

/// Reply with the string at `key` (nil when missing); WRONGTYPE otherwise. Returns whether it existed.
fn reply_string(srv: &mut Server, c: &mut Client, key: &[u8]) -> Result<bool, CmdError> {
    match srv.lookup_read(c.db, key) {
        None => {
            c.reply.null();
            Ok(false)
        }
        Some(o) => {
            let s = o.value.as_str()?;
            c.reply.bulk_value(s);
            Ok(true)
        }
    }
}

/// GETSET key value
fn getset(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let key = args.get(1);
    reply_string(srv, c, key)?;
    srv.set_key(c.db, key, Value::Str(StrValue::from_bytes(args.get(2))), false);
    srv.notify_keyspace_event(EVENT_STRING, "set", key, c.db);
    srv.dirty += 1;
    srv.propagate_as(&[b"SET", key, args.get(2)]);
    Ok(())
}

/// GETDEL key
fn getdel(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let key = args.get(1);
    if reply_string(srv, c, key)? && srv.delete_key(c.db, key) {
        srv.notify_keyspace_event(EVENT_GENERIC, "del", key, c.db);
        srv.dirty += 1;
        srv.propagate_as(&[deletion_command(srv.config.lazyfree_lazy_user_del()), key]);
    }
    Ok(())
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]
fn getex(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let opts = parse_set_opts(args, 2, false)?;
    let key = args.get(1);
    let db = c.db;
    let Some(o) = srv.lookup_read(db, key) else {
        c.reply.null();
        return Ok(());
    };
    o.value.as_str()?;
    let deadline = match opts.expire {
        Some((kind, idx)) => Some(expire_deadline(args, kind, idx)?),
        None => None,
    };
    if let Some(o) = srv.dbs[db].get(key) {
        c.reply.bulk_value(o.value.as_str()?);
    }
    let absolute = matches!(opts.expire, Some((ExpireKind::ExAt | ExpireKind::PxAt, _)));
    match deadline {
        Some(when) if absolute && when <= unix_ms() as i64 => {
            srv.delete_key(db, key);
            srv.propagate_as(&[deletion_command(srv.config.lazyfree_lazy_expire()), key]);
            srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
            srv.dirty += 1;
        }
        Some(when) => {
            srv.set_key_expire(db, key, when);
            srv.propagate_as(&[b"PEXPIREAT", key, &int_arg(when)]);
            srv.signal_modified_key(db, key);
            srv.notify_keyspace_event(EVENT_GENERIC, "expire", key, db);
            srv.dirty += 1;
        }
        None if opts.persist && srv.dbs[db].persist(key) => {
            srv.signal_modified_key(db, key);
            srv.propagate_as(&[b"PERSIST", key]);
            srv.notify_keyspace_event(EVENT_GENERIC, "persist", key, db);
            srv.dirty += 1;
        }
        None => {}
    }
    Ok(())
}

/// MGET key [key ...]: nil for missing keys and keys of other types.
fn mget(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    c.reply.array(args.len() - 1);
    for key in args.iter().skip(1) {
        match srv.lookup_read(c.db, key).map(|o| o.value.as_str()) {
            Some(Ok(s)) => c.reply.bulk_value(s),
            _ => c.reply.null(),
        }
    }
    Ok(())
}

fn mset_generic(srv: &mut Server, c: &mut Client, args: &Args, nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(error::wrong_arity(if nx { "msetnx" } else { "mset" }));
    }
    if nx {
        for j in (1..args.len()).step_by(2) {
            if srv.lookup_write(c.db, args.get(j)).is_some() {
                c.reply.int(0);
                return Ok(());
            }
        }
    }
    for j in (1..args.len()).step_by(2) {
        let key = args.get(j);
        srv.set_key(c.db, key, Value::Str(StrValue::from_bytes(args.get(j + 1))), false);
        srv.notify_keyspace_event(EVENT_STRING, "set", key, c.db);
    }
    srv.dirty += (args.len() as u64 - 1) / 2;
    if nx {
        c.reply.int(1)
    } else {
        c.reply.ok()
    }
    Ok(())
}

/// MSET key value [key value ...]
fn mset(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    mset_generic(srv, c, args, false)
}

/// MSETNX key value [key value ...]
fn msetnx(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    mset_generic(srv, c, args, true)
}

/// Add `incr` to the integer at `key` (0 when missing) and reply the new value.
fn incr_decr(srv: &mut Server, c: &mut Client, key: &[u8], incr: i64) -> CmdResult {
    let db = c.db;
    // One lookup when the key exists (the common case): the value is replaced in place.
    let value = match srv.lookup_write(db, key) {
        Some(o) => {
            let old = o.value.as_str()?.as_i64().ok_or(CmdError::from(error::NOT_INTEGER))?;
            let value = old.checked_add(incr).ok_or(CmdError::from(error::OVERFLOW))?;
            o.value = Value::Str(StrValue::Int(value));
            value
        }
        None => {
            srv.dbs[db].set(key, Value::Str(StrValue::Int(incr)), false, srv.clocks.fresh());
            srv.key_created(db, key);
            incr
        }
    };
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_STRING, "incrby", key, db);
    srv.dirty += 1;
    c.reply.int(value);
    Ok(())
}

fn incr(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    incr_decr(srv, c, args.get(1), 1)
}

fn decr(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    incr_decr(srv, c, args.get(1), -1)
}

fn incrby(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let by = args.i64(2)?;
    incr_decr(srv, c, args.get(1), by)
}

fn decrby(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let by = args.i64(2)?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_decr(srv, c, args.get(1), -by)
}

/// INCRBYFLOAT key increment: computed in x87 long double, as Redis does, so replies match it digit for
/// digit.
fn incrbyfloat(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let not_float = || CmdError::from(error::NOT_FLOAT);
    let current = match srv.lookup_write(db, key) {
        None => LongDouble::ZERO,
        Some(o) => match o.value.as_str()? {
            StrValue::Int(n) => LongDouble::from_i64(*n),
            s => {
                let mut scratch = Vec::new();
                LongDouble::parse(s.as_bytes(&mut scratch)).ok_or_else(not_float)?
            }
        },
    };
    let incr = LongDouble::parse(args.get(2)).ok_or_else(not_float)?;
    let value = current + incr;
    if !value.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    let mut text = Vec::with_capacity(32);
    value.format_human(&mut text);
    srv.set_key(db, key, Value::Str(StrValue::from_bytes_no_int(text.clone())), true);
    srv.notify_keyspace_event(EVENT_STRING, "incrbyfloat", key, db);
    srv.dirty += 1;
    // The result, not the increment: float rounding must not differ on replay.
    srv.propagate_as(&[b"SET", key, &text, b"KEEPTTL"]);
    c.reply.bulk(&text);
    Ok(())
}

/// Refuse a string that would exceed `proto-max-bulk-len`.
fn check_string_length(srv: &Server, size: u64, append: u64) -> CmdResult {
    match size.checked_add(append) {
        Some(total) if total <= srv.config.proto_max_bulk_len() as u64 => Ok(()),
        _ => Err(error::STRING_TOO_LONG.into()),
    }
}

/// APPEND key value
fn append(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let tail = args.get(2);
    let total = match srv.lookup_write(db, key) {
        None => {
            srv.dbs[db].set(key, Value::Str(StrValue::from_bytes(tail)), false, srv.clocks.fresh());
            srv.key_created(db, key);
            tail.len()
        }
        Some(o) => {
            let len = o.value.as_str()?.len();
            check_string_length(srv, len as u64, tail.len() as u64)?;
            let Some(o) = srv.dbs[db].get_mut(key) else { return Ok(()) };
            let mut raw = o.value.as_str_mut()?.make_raw();
            raw.reserve_exact(tail.len());
            raw.extend_from_slice(tail);
            raw.len()
        }
    };
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_STRING, "append", key, db);
    srv.dirty += 1;
    c.reply.int(total as i64);
    Ok(())
}

/// STRLEN key
fn strlen(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = match srv.lookup_read(c.db, args.get(1)) {
        None => 0,
        Some(o) => o.value.as_str()?.len(),
    };
    c.reply.int(n as i64);
    Ok(())
}

/// GETRANGE key start end (and its old name SUBSTR)
fn getrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut start = args.i64(2)?;
    let mut end = args.i64(3)?;
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.bulk(b"");
        return Ok(());
    };
    let mut scratch = Vec::new();
    let s = o.value.as_str()?.as_bytes(&mut scratch);
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        c.reply.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        c.reply.bulk(b"");
    } else {
        c.reply.bulk(&s[start as usize..=end as usize]);
    }
    Ok(())
}

/// SETRANGE key offset value
fn setrange(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let value = args.get(3);
    let offset = args.i64(2)?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let offset = offset as u64;
    match srv.lookup_write(db, key) {
        None => {
            if value.is_empty() {
                c.reply.int(0);
                return Ok(());
            }
            check_string_length(srv, offset, value.len() as u64)?;
            srv.dbs[db].set(key, Value::Str(StrValue::Raw(Box::default())), false, srv.clocks.fresh());
            srv.key_created(db, key);
        }
        Some(o) => {
            let len = o.value.as_str()?.len();
            if value.is_empty() {
                c.reply.int(len as i64);
                return Ok(());
            }
            check_string_length(srv, offset, value.len() as u64)?;
        }
    }
    let Some(o) = srv.dbs[db].get_mut(key) else { return Ok(()) };
    let total = {
        let mut raw = o.value.as_str_mut()?.make_raw();
        let offset = offset as usize;
        let end = offset + value.len();
        let len = raw.len();
        if len < end {
            raw.reserve_exact(end - len);
            raw.resize(end, 0);
        }
        raw[offset..end].copy_from_slice(value);
        raw.len()
    };
    srv.signal_modified_key(db, key);
    srv.notify_keyspace_event(EVENT_STRING, "setrange", key, db);
    srv.dirty += 1;
    c.reply.int(total as i64);
    Ok(())
}

/// One LCS match: the range in the first string, the range in the second, and its length.
type LcsMatch = ((usize, usize), (usize, usize), usize);

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]
fn lcs(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let mut fetch = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        match srv.lookup_read(db, key) {
            None => Ok(Vec::new()),
            Some(o) => match o.value.as_str() {
                Ok(s) => Ok(s.to_vec()),
                Err(_) => Err(CmdError::err("The specified keys must contain string values")),
            },
        }
    };
    let a = fetch(args.get(1))?;
    let b = fetch(args.get(2))?;
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen = 0i64;
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args.is(j, "idx") {
            getidx = true;
        } else if args.is(j, "len") {
            getlen = true;
        } else if args.is(j, "withmatchlen") {
            withmatchlen = true;
        } else if args.is(j, "minmatchlen") && more > 0 {
            minmatchlen = args.i64(j + 1)?.max(0);
            j += 1;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    if getlen && getidx {
        return Err(CmdError::err("If you want both the length and indexes, please just use IDX."));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > srv.config.proto_max_bulk_len() as u64 {
        return Err(CmdError::err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    // table[i][j] = LCS length of a[..i] and b[..j], stored row-major.
    let w = blen + 1;
    let mut table = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for jj in 1..=blen {
            table[i * w + jj] = if a[i - 1] == b[jj - 1] {
                table[(i - 1) * w + jj - 1] + 1
            } else {
                table[(i - 1) * w + jj].max(table[i * w + jj - 1])
            };
        }
    }
    let total = table[alen * w + blen];
    if getlen {
        c.reply.int(total as i64);
        return Ok(());
    }
    // Walk back from the end, collecting the LCS bytes and the matching ranges (longest-last first).
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<LcsMatch> = Vec::new();
    let (mut i, mut jj) = (alen, blen);
    let mut cur: Option<(usize, usize, usize, usize)> = None;
    while i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            match cur {
                None => cur = Some((i - 1, i - 1, jj - 1, jj - 1)),
                Some((as_, ae, bs, be)) => {
                    if as_ == i && bs == jj {
                        cur = Some((as_ - 1, ae, bs - 1, be));
                    } else {
                        emit = true;
                    }
                }
            }
            if let Some((as_, _, bs, _)) = cur
                && (as_ == 0 || bs == 0)
            {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            if table[(i - 1) * w + jj] > table[i * w + jj - 1] {
                i -= 1;
            } else {
                jj -= 1;
            }
            if cur.is_some() {
                emit = true;
            }
        }
        if emit && let Some((as_, ae, bs, be)) = cur.take() {
            let match_len = ae - as_ + 1;
            if minmatchlen == 0 || match_len as i64 >= minmatchlen {
                ranges.push(((as_, ae), (bs, be), match_len));
            }
        }
    }
    if !getidx {
        c.reply.bulk(&result);
        return Ok(());
    }
    let r = &mut c.reply;
    r.map(2);
    r.bulk(b"matches");
    r.array(ranges.len());
    for ((as_, ae), (bs, be), len) in ranges {
        r.array(2 + withmatchlen as usize);
        r.array(2);
        r.int(as_ as i64);
        r.int(ae as i64);
        r.array(2);
        r.int(bs as i64);
        r.int(be as i64);
        if withmatchlen {
            r.int(len as i64);
        }
    }
    r.bulk(b"len");
    r.int(total as i64);
    Ok(())
}
