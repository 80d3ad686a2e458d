//! The RDB format for ferrodis's values and datasets: what `SAVE`, `BGSAVE`, `DEBUG RELOAD`,
//! `DUMP`/`RESTORE` and loading at startup write and read, byte-compatible with Redis 7.0 (RDB
//! version 10) and able to read every older version and encoding Redis 7.0 reads.
//!
//! # Format
//! ```text
//! "REDIS0010" AUX* (SELECTDB n RESIZEDB size expires (EXPIRETIME_MS ms)? (IDLE s)? TYPE key value)* EOF crc64
//! ```
//! Values are written in the encoding they have (listpacks and intsets as blobs, large sets and
//! hashes element by element, large sorted sets from the highest score down, lists as quicklist-2
//! nodes). Loading rebuilds each value with ferrodis's encoding rules and the configured thresholds.
//!
//! Never touches the server or the disk: callers hand in the databases and a `Write`, or a byte
//! slice to load. Loading never panics on corrupt input; it stops with the offset of the problem.

use std::io::{self, Write};

use super::crc64::crc64;
use super::rdb_io::{RDB_VERSION, RdbError, RdbReader, RdbWriter, StringValue, opcode, rdb_type};
use super::{ziplist, zipmap};
use crate::db::access_clock::AccessClocks;
use crate::db::hash::{HashValue, Limits as HashLimits};
use crate::db::intset::Intset;
use crate::db::list::{End, ListLimits, ListValue, Node};
use crate::db::listpack::{Listpack, LpValue};
use crate::db::set::{Member, SetValue};
use crate::db::zset::{ZSetLimits, ZSetValue, cmp_scored, lp_score};
use crate::db::{CompactBytes, Db, NO_EXPIRE, Object, StrValue, Value};

/// Flush the writer's buffer to the sink past this many bytes, so a big save streams.
const FLUSH_AT: usize = 1 << 16;

/// How values are written.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    /// `rdbcompression`: LZF for strings over 20 bytes when it shrinks them.
    pub compression: bool,
    /// `rdbchecksum`: a CRC64 trailer (zero when off).
    pub checksum: bool,
}

/// The aux fields a save records besides the fixed ones.
#[derive(Debug, Clone, Default)]
pub struct SaveInfo {
    pub used_mem: u64,
    /// Replication info (repl-stream-db, repl-id, repl-offset), when saving with it.
    pub replication: Option<(i64, String, i64)>,
    /// Written as the base of an AOF (aof-base 1).
    pub aof_base: bool,
    /// Record each key's idle time (the LRU eviction policies need it after a restart).
    pub save_lru_idle: bool,
    /// Record each key's access frequency (likewise for the LFU policies).
    pub save_lfu_freq: bool,
    pub clocks: AccessClocks,
    /// `rdb-key-save-delay`: microseconds to sleep after each key (a testing knob that makes a
    /// background save slow on purpose; only ever set in the child's copy).
    pub key_delay_us: i64,
    /// FUNCTION libraries' code, saved before the keys.
    pub functions: Vec<Vec<u8>>,
    /// In a fork child: where to report the keys written (INFO current_save_keys_processed).
    pub progress: Option<std::rc::Rc<crate::server::child_info::ChildReporter>>,
}

/// The thresholds values are rebuilt with on load.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    pub list: ListLimits,
    pub hash: HashLimits,
    pub set_max_intset: usize,
    pub zset: ZSetLimits,
}

/// What a load found besides the keys.
#[derive(Debug, Default)]
pub struct LoadStats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub empty_keys_skipped: u64,
    pub version: u32,
    pub repl_stream_db: Option<i64>,
    pub repl_id: Option<String>,
    pub repl_offset: Option<i64>,
    pub aof_base: bool,
    /// Offset just past the checksum: where data after the RDB part starts (an AOF tail).
    pub end_offset: usize,
}

// ---------------------------------------------------------------------------------------- writing

/// The RDB object type a value is written as.
fn type_of(v: &Value) -> u8 {
    match v {
        Value::Str(_) => rdb_type::STRING,
        Value::List(_) => rdb_type::LIST_QUICKLIST_2,
        Value::Set(SetValue::Intset(_)) => rdb_type::SET_INTSET,
        Value::Set(SetValue::Hashtable(_)) => rdb_type::SET,
        Value::ZSet(ZSetValue::Listpack(_)) => rdb_type::ZSET_LISTPACK,
        Value::ZSet(ZSetValue::Skiplist(_)) => rdb_type::ZSET_2,
        Value::Hash(HashValue::Listpack(_)) => rdb_type::HASH_LISTPACK,
        Value::Hash(HashValue::Table(_)) => rdb_type::HASH,
        Value::Stream(_) => rdb_type::STREAM_LISTPACKS_2,
    }
}

fn write_lp_value(w: &mut RdbWriter, v: LpValue<'_>) {
    match v {
        LpValue::Int(n) => w.write_i64_as_string(n),
        LpValue::Str(s) => w.write_string(s),
    }
}

/// Write a value's type byte and payload (rdbSaveObjectType + rdbSaveObject).
pub fn write_object(w: &mut RdbWriter, v: &Value) {
    w.write_u8(type_of(v));
    write_payload(w, v);
}

/// Write a value's payload (rdbSaveObject), without its type byte.
fn write_payload(w: &mut RdbWriter, v: &Value) {
    match v {
        Value::Str(StrValue::Int(n)) => w.write_i64_as_string(*n),
        Value::Str(StrValue::Emb(b)) => w.write_string(b),
        Value::Str(StrValue::Raw(b)) => w.write_string(b),
        Value::List(l) => {
            w.write_len(l.nodes().len() as u64);
            for node in l.nodes() {
                match node {
                    Node::Plain(bytes) => {
                        w.write_len(1);
                        w.write_string(bytes);
                    }
                    Node::Packed(lp) => {
                        w.write_len(2);
                        w.write_string(lp.as_bytes());
                    }
                }
            }
        }
        Value::Set(SetValue::Intset(is)) => w.write_string(is.as_bytes()),
        Value::Set(s @ SetValue::Hashtable(_)) => {
            w.write_len(s.len() as u64);
            for m in s.iter() {
                match m {
                    Member::Int(n) => w.write_i64_as_string(n),
                    Member::Bytes(b) => w.write_string(b),
                }
            }
        }
        Value::ZSet(ZSetValue::Listpack(lp)) => w.write_string(lp.as_bytes()),
        Value::ZSet(z @ ZSetValue::Skiplist(_)) => {
            w.write_len(z.len() as u64);
            // From the highest score down, as Redis writes it (its loader then appends cheaply).
            for (m, score) in z.iter_from(z.len().saturating_sub(1), true) {
                write_lp_value(w, m);
                w.write_double_binary(score);
            }
        }
        Value::Hash(HashValue::Listpack(lp)) => w.write_string(lp.as_bytes()),
        Value::Hash(h @ HashValue::Table(_)) => {
            w.write_len(h.len() as u64);
            for (f, val) in h.iter() {
                write_lp_value(w, f);
                write_lp_value(w, val);
            }
        }
        Value::Stream(s) => super::rdb_stream::write_stream(w, s),
    }
}

fn write_aux(w: &mut RdbWriter, key: &str, value: &[u8]) {
    w.write_u8(opcode::AUX);
    w.write_string(key.as_bytes());
    w.write_string(value);
}

fn write_aux_int(w: &mut RdbWriter, key: &str, value: i64) {
    w.write_u8(opcode::AUX);
    w.write_string(key.as_bytes());
    w.write_i64_as_string(value);
}

/// Stream the RDB of `dbs` into `out` (Redis's rdbSaveRio). Returns the bytes written.
pub fn save<W: Write>(dbs: &[Db], info: &SaveInfo, opts: SaveOptions, now_ms: i64, out: &mut W) -> io::Result<u64> {
    let mut w = RdbWriter::with_capacity(FLUSH_AT * 2, opts.compression);
    let mut crc = 0u64;
    let mut written = 0u64;
    let mut flush = |w: &mut RdbWriter, out: &mut W, force: bool| -> io::Result<()> {
        if force || w.len() >= FLUSH_AT {
            // Written from the writer's own buffer, which keeps its capacity: taking it would
            // regrow a fresh vector by doubling for every chunk.
            let chunk = w.as_bytes();
            if opts.checksum {
                crc = crc64(crc, chunk);
            }
            written += chunk.len() as u64;
            out.write_all(chunk)?;
            w.clear();
        }
        Ok(())
    };
    w.write_magic();
    write_aux(&mut w, "redis-ver", crate::REDIS_VERSION.as_bytes());
    write_aux_int(&mut w, "redis-bits", 64);
    write_aux_int(&mut w, "ctime", now_ms / 1000);
    write_aux_int(&mut w, "used-mem", info.used_mem as i64);
    if let Some((db, id, offset)) = &info.replication {
        write_aux_int(&mut w, "repl-stream-db", *db);
        write_aux(&mut w, "repl-id", id.as_bytes());
        write_aux_int(&mut w, "repl-offset", *offset);
    }
    write_aux_int(&mut w, "aof-base", info.aof_base as i64);
    for code in &info.functions {
        w.write_u8(opcode::FUNCTION2);
        w.write_string(code);
    }
    let mut written_keys = 0u64;
    for db in dbs {
        if db.is_empty() {
            continue;
        }
        w.write_u8(opcode::SELECTDB);
        w.write_len(db.id as u64);
        w.write_u8(opcode::RESIZEDB);
        w.write_len(db.dict.len() as u64);
        w.write_len(db.expires.len() as u64);
        for (key, obj) in db.dict.iter() {
            let when = db.expire_of(key);
            if when != NO_EXPIRE {
                w.write_u8(opcode::EXPIRETIME_MS);
                w.write_ms_time(when);
            }
            if info.save_lru_idle {
                w.write_u8(opcode::IDLE);
                w.write_len(u64::from(info.clocks.idle_secs(obj.lru)));
            }
            if info.save_lfu_freq {
                w.write_u8(opcode::FREQ);
                w.write_u8(info.clocks.frequency(obj.lru));
            }
            w.write_u8(type_of(&obj.value));
            w.write_string(key);
            write_payload(&mut w, &obj.value);
            flush(&mut w, out, false)?;
            written_keys += 1;
            if let Some(r) = &info.progress {
                r.key_written(written_keys);
            }
            if info.key_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(info.key_delay_us as u64));
            }
        }
    }
    w.write_u8(opcode::EOF);
    flush(&mut w, out, true)?;
    let trailer = if opts.checksum { crc } else { 0 };
    out.write_all(&trailer.to_le_bytes())?;
    Ok(written + 8)
}

// ---------------------------------------------------------------------------------------- DUMP

/// DUMP's payload: the value, then the RDB version (2 bytes LE) and a CRC64 of all that (8 bytes LE).
pub fn dump_payload(v: &Value, compression: bool) -> Vec<u8> {
    let mut w = RdbWriter::new(compression);
    write_object(&mut w, v);
    let mut out = w.into_inner();
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Check a RESTORE payload's footer (Redis's verifyDumpPayload): the version must be one this
/// server reads and the CRC must match (a zero CRC is accepted when `skip_checksum`).
pub fn verify_dump_payload(p: &[u8], skip_checksum: bool) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = p.len() - 10;
    let version = u16::from_le_bytes([p[footer], p[footer + 1]]) as u32;
    if version > RDB_VERSION {
        return false;
    }
    if skip_checksum {
        return true;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&p[p.len() - 8..]);
    crc64(0, &p[..p.len() - 8]) == u64::from_le_bytes(crc)
}

/// Decode a RESTORE payload (already verified) into a value.
pub fn load_dump_payload(p: &[u8], limits: &LoadLimits) -> Result<Value, RdbError> {
    let body = p.get(..p.len().saturating_sub(10)).unwrap_or_default();
    let mut r = RdbReader::new(body);
    let ty = r.read_u8()?;
    let v = read_object(&mut r, ty, limits)?.ok_or_else(|| r.error("empty value"))?;
    if !r.is_at_end() {
        return Err(r.error("trailing bytes after the value"));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------- loading

fn string_value(v: StringValue<'_>) -> StrValue {
    match v {
        StringValue::Int(n) => StrValue::Int(n),
        StringValue::Bytes(b) => StrValue::from_bytes(&b),
    }
}

fn list_from<'a>(items: impl Iterator<Item = &'a [u8]>, limits: &ListLimits) -> ListValue {
    let mut l = ListValue::new();
    for it in items {
        l.push(End::Tail, it, limits);
    }
    l
}

fn set_from_members(members: Vec<Vec<u8>>, max_intset: usize) -> Result<SetValue, &'static str> {
    let Some(first) = members.first() else { return Err("empty set") };
    let mut s = if members.len() > max_intset { SetValue::Hashtable(Box::default()) } else { SetValue::new_for(first) };
    for m in &members {
        if !s.add(m, max_intset) {
            return Err("duplicate set members");
        }
    }
    Ok(s)
}

fn hash_from_pairs(pairs: &[(Vec<u8>, Vec<u8>)], limits: HashLimits) -> Result<HashValue, &'static str> {
    let mut h = HashValue::new();
    if pairs.len() > limits.max_entries {
        h.convert();
    }
    for (f, v) in pairs {
        if !h.set(f, v, limits) {
            return Err("duplicate hash fields");
        }
    }
    Ok(h)
}

fn zset_from_items(mut items: Vec<(CompactBytes, f64)>, limits: ZSetLimits) -> Result<ZSetValue, &'static str> {
    if items.iter().any(|(_, s)| s.is_nan()) {
        return Err("NaN score in sorted set");
    }
    items.sort_by(|a, b| cmp_scored(a.1, &a.0, b.1, &b.0));
    // Members are unique in a sorted set: after sorting by (score, member) equal members with equal
    // scores are neighbours; any other duplicate shows up in a membership pass.
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|(m, _)| seen.insert(m.as_slice())) {
        return Err("duplicate sorted set members");
    }
    Ok(ZSetValue::from_sorted(&items, limits))
}

/// Read one value of type `ty`. `Ok(None)` for an empty collection (Redis skips those keys).
pub fn read_object(r: &mut RdbReader<'_>, ty: u8, limits: &LoadLimits) -> Result<Option<Value>, RdbError> {
    let start = r.position();
    let bad = |reason: &'static str| RdbError { offset: start, reason };
    let v = match ty {
        rdb_type::STRING => Value::Str(string_value(r.read_string_value()?)),
        rdb_type::LIST => {
            let n = r.read_count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.read_string()?);
            }
            if items.is_empty() {
                return Ok(None);
            }
            Value::List(Box::new(list_from(items.iter().map(Vec::as_slice), &limits.list)))
        }
        rdb_type::SET => {
            let n = r.read_count(1)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.read_string()?);
            }
            if members.is_empty() {
                return Ok(None);
            }
            Value::Set(set_from_members(members, limits.set_max_intset).map_err(bad)?)
        }
        rdb_type::ZSET | rdb_type::ZSET_2 => {
            let n = r.read_count(2)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.read_string()?;
                let s = if ty == rdb_type::ZSET_2 { r.read_double_binary()? } else { r.read_double_legacy()? };
                items.push((CompactBytes::from(m), s));
            }
            if items.is_empty() {
                return Ok(None);
            }
            Value::ZSet(zset_from_items(items, limits.zset).map_err(bad)?)
        }
        rdb_type::HASH => {
            let n = r.read_count(2)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.read_string()?;
                let v = r.read_string()?;
                pairs.push((f, v));
            }
            if pairs.is_empty() {
                return Ok(None);
            }
            Value::Hash(hash_from_pairs(&pairs, limits.hash).map_err(bad)?)
        }
        rdb_type::HASH_ZIPMAP => {
            let blob = r.read_string()?;
            let pairs = zipmap::decode(&blob).ok_or_else(|| bad("corrupt zipmap"))?;
            let owned: Vec<(Vec<u8>, Vec<u8>)> = pairs.into_iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            Value::Hash(hash_from_pairs(&owned, limits.hash).map_err(bad)?)
        }
        rdb_type::LIST_ZIPLIST => {
            let blob = r.read_string()?;
            let entries = ziplist::decode(&blob).ok_or_else(|| bad("corrupt ziplist"))?;
            if entries.is_empty() {
                return Ok(None);
            }
            let items: Vec<Vec<u8>> = entries.iter().map(|e| e.to_vec()).collect();
            Value::List(Box::new(list_from(items.iter().map(Vec::as_slice), &limits.list)))
        }
        rdb_type::SET_INTSET => {
            let blob = r.read_string()?;
            let is = Intset::from_bytes(blob).ok_or_else(|| bad("corrupt intset"))?;
            if is.is_empty() {
                return Ok(None);
            }
            if is.len() > limits.set_max_intset {
                let members: Vec<Vec<u8>> = is.iter().map(|v| v.to_string().into_bytes()).collect();
                let mut s = SetValue::Hashtable(Box::default());
                for m in &members {
                    s.add(m, 0);
                }
                Value::Set(s)
            } else {
                Value::Set(SetValue::Intset(is))
            }
        }
        rdb_type::ZSET_ZIPLIST | rdb_type::HASH_ZIPLIST => {
            let blob = r.read_string()?;
            let entries = ziplist::decode(&blob).ok_or_else(|| bad("corrupt ziplist"))?;
            if entries.is_empty() {
                return Ok(None);
            }
            if entries.len() % 2 != 0 {
                return Err(bad("odd number of ziplist entries"));
            }
            let flat: Vec<Vec<u8>> = entries.iter().map(|e| e.to_vec()).collect();
            if ty == rdb_type::HASH_ZIPLIST {
                let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                    flat.chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect();
                Value::Hash(hash_from_pairs(&pairs, limits.hash).map_err(bad)?)
            } else {
                let mut items = Vec::with_capacity(flat.len() / 2);
                for c in flat.chunks_exact(2) {
                    let score = crate::db::zset::strtod_whole(&c[1]).ok_or_else(|| bad("bad score in ziplist"))?;
                    items.push((CompactBytes::from(c[0].as_slice()), score));
                }
                Value::ZSet(zset_from_items(items, limits.zset).map_err(bad)?)
            }
        }
        rdb_type::LIST_QUICKLIST | rdb_type::LIST_QUICKLIST_2 => {
            let nodes = r.read_count(1)?;
            let mut list = ListValue::new();
            for _ in 0..nodes {
                let container = if ty == rdb_type::LIST_QUICKLIST_2 { r.read_plain_len()? } else { 2 };
                let blob = r.read_string()?;
                match container {
                    1 => list.push(End::Tail, &blob, &limits.list),
                    2 if ty == rdb_type::LIST_QUICKLIST => {
                        let entries = ziplist::decode(&blob).ok_or_else(|| bad("corrupt ziplist node"))?;
                        for e in entries {
                            list.push(End::Tail, &e.to_vec(), &limits.list);
                        }
                    }
                    2 => {
                        let lp = Listpack::from_bytes(blob).ok_or_else(|| bad("corrupt listpack node"))?;
                        let mut scratch = [0u8; crate::db::listpack::INTBUF_SIZE];
                        for e in lp.iter() {
                            list.push(End::Tail, e.to_bytes(&mut scratch), &limits.list);
                        }
                    }
                    _ => return Err(bad("unknown quicklist container")),
                }
            }
            if list.is_empty() {
                return Ok(None);
            }
            Value::List(Box::new(list))
        }
        rdb_type::HASH_LISTPACK => {
            let blob = r.read_string()?;
            let lp = Listpack::from_bytes(blob).ok_or_else(|| bad("corrupt listpack"))?;
            if lp.is_empty() {
                return Ok(None);
            }
            if lp.len() % 2 != 0 {
                return Err(bad("odd number of listpack entries in a hash"));
            }
            // Like Redis without deep sanitization, duplicate fields are not searched for here: the
            // structure was validated, which is what keeps every later access in bounds.
            let too_big = lp.len() / 2 > limits.hash.max_entries;
            let mut h = HashValue::from_listpack(lp);
            if too_big {
                h.convert();
            }
            Value::Hash(h)
        }
        rdb_type::ZSET_LISTPACK => {
            let blob = r.read_string()?;
            let lp = Listpack::from_bytes(blob).ok_or_else(|| bad("corrupt listpack"))?;
            if lp.is_empty() {
                return Ok(None);
            }
            if lp.len() % 2 != 0 {
                return Err(bad("odd number of listpack entries in a sorted set"));
            }
            let mut it = lp.iter();
            while let (Some(_), Some(s)) = (it.next(), it.next()) {
                if let LpValue::Str(text) = s
                    && crate::db::zset::strtod_whole(text).is_none()
                {
                    return Err(bad("bad score in listpack"));
                }
            }
            if lp.len() / 2 <= limits.zset.max_entries {
                // Kept as written (Redis does the same): it is already in score order.
                Value::ZSet(ZSetValue::Listpack(lp))
            } else {
                let mut items = Vec::with_capacity(lp.len() / 2);
                let mut it = lp.iter();
                let mut scratch = [0u8; crate::db::listpack::INTBUF_SIZE];
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    items.push((CompactBytes::from(m.to_bytes(&mut scratch)), lp_score(s)));
                }
                Value::ZSet(zset_from_items(items, limits.zset).map_err(bad)?)
            }
        }
        rdb_type::SET_LISTPACK => {
            let blob = r.read_string()?;
            let lp = Listpack::from_bytes(blob).ok_or_else(|| bad("corrupt listpack"))?;
            if lp.is_empty() {
                return Ok(None);
            }
            let members: Vec<Vec<u8>> = lp.iter().map(|m| m.to_vec()).collect();
            Value::Set(set_from_members(members, limits.set_max_intset).map_err(bad)?)
        }
        rdb_type::HASH_METADATA_PRE_GA..=rdb_type::HASH_LISTPACK_EX => {
            return Err(bad("hash field expiration (Redis 7.4) is not supported by ferrodis"));
        }
        rdb_type::STREAM_LISTPACKS | rdb_type::STREAM_LISTPACKS_2 => super::rdb_stream::read_stream(r, ty)?,
        rdb_type::STREAM_LISTPACKS_3 => {
            return Err(bad("streams of Redis 7.2 and later (RDB_TYPE_STREAM_LISTPACKS_3) are not supported"));
        }
        rdb_type::MODULE | rdb_type::MODULE_2 => return Err(bad("module values are not supported")),
        _ => return Err(bad("unknown object type")),
    };
    Ok(Some(v))
}

/// A loaded key's object with its access clock.
pub fn object_for(value: Value, clocks: &AccessClocks, idle_secs: Option<u64>, freq: Option<u8>) -> Object {
    Object::new(value, clocks.restored(idle_secs, freq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::list::DEFAULT_PACKED_THRESHOLD;
    use crate::persistence::rdb_load::{LoadEvent, load};

    fn limits() -> LoadLimits {
        LoadLimits {
            list: ListLimits { fill: 2, packed_threshold: DEFAULT_PACKED_THRESHOLD },
            hash: HashLimits { max_entries: 3, max_value: 64 },
            set_max_intset: 3,
            zset: ZSetLimits { max_entries: 3, max_value: 64 },
        }
    }

    /// One value of every type, each in both encodings where there are two.
    fn sample_values() -> Vec<Value> {
        let l = limits();
        let mut out = vec![
            Value::Str(StrValue::Int(-42)),
            Value::Str(StrValue::from_bytes(b"hello")),
            Value::Str(StrValue::Raw(vec![b'z'; 300].into_boxed_slice())),
        ];
        let mut list = ListValue::new();
        for i in 0..7 {
            list.push(End::Tail, format!("e{i}").as_bytes(), &l.list);
        }
        list.push(End::Tail, b"123", &l.list);
        out.push(Value::List(Box::new(list)));
        for n in [2, 6] {
            let mut h = HashValue::new();
            let mut s = SetValue::new_for(b"1");
            let mut strs = SetValue::new_for(b"a");
            let mut items = Vec::new();
            for i in 0..n {
                h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), l.hash);
                s.add(i.to_string().as_bytes(), l.set_max_intset);
                strs.add(format!("m{i}").as_bytes(), l.set_max_intset);
                items.push((CompactBytes::from(format!("z{i}").as_bytes()), i as f64 * 1.5));
            }
            out.push(Value::Hash(h));
            out.push(Value::Set(s));
            out.push(Value::Set(strs));
            out.push(Value::ZSet(ZSetValue::from_sorted(&items, l.zset)));
        }
        out
    }

    #[test]
    fn every_value_round_trips_through_a_dump_payload() {
        for v in sample_values() {
            for compression in [false, true] {
                let p = dump_payload(&v, compression);
                assert!(verify_dump_payload(&p, false));
                let back = load_dump_payload(&p, &limits()).expect("loads");
                assert_eq!(back.encoding(), v.encoding(), "{v:?}");
                assert_eq!(back.digest(None, false), v.digest(None, false));
            }
        }
    }

    #[test]
    fn loads_a_redis_7_2_listpack_set_and_refuses_7_4_field_expiry() {
        let mut lp = Listpack::new();
        for m in [&b"a"[..], b"b", b"7"] {
            lp.push_back(m);
        }
        let mut w = RdbWriter::new(false);
        w.write_raw(b"REDIS0011");
        w.write_u8(opcode::SELECTDB);
        w.write_len(0);
        w.write_u8(rdb_type::SET_LISTPACK);
        w.write_string(b"s");
        w.write_string(lp.as_bytes());
        w.write_u8(opcode::EOF);
        w.write_raw(&[0; 8]);
        let file = w.into_inner();
        let mut got = Vec::new();
        let stats = load(&file, &limits(), |e| {
            if let LoadEvent::Key(k) = e {
                got.push((k.key, k.value));
            }
            Ok(())
        })
        .expect("loads");
        assert_eq!(stats.version, 11);
        assert_eq!(got.len(), 1);
        let Value::Set(s) = &got[0].1 else { panic!("not a set") };
        assert!(s.contains(b"a") && s.contains(b"7") && s.len() == 3);
        let mut bad = file.clone();
        // The type byte follows the 9-byte header and SELECTDB 0.
        bad[11] = rdb_type::HASH_LISTPACK_EX;
        let err = load(&bad, &limits(), |_| Ok(())).err().map(|e| e.reason);
        assert!(err.is_some_and(|r| r.contains("field expiration")), "{err:?}");
    }

    #[test]
    fn mutated_payloads_never_panic() {
        let mut rng = crate::test_rng::XorShift(0x2545F4914F6CDD1D);
        let mut rnd = move || rng.next();
        for v in sample_values() {
            let p = dump_payload(&v, true);
            for _ in 0..2000 {
                let mut m = p.clone();
                for _ in 0..1 + rnd() % 4 {
                    let i = (rnd() as usize) % m.len();
                    m[i] = rnd() as u8;
                }
                if rnd() % 8 == 0 {
                    m.truncate((rnd() as usize) % m.len());
                }
                let _ = load_dump_payload(&m, &limits());
            }
        }
    }
}
