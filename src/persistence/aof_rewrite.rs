//! A dataset written as commands: the base file of an AOF when `aof-use-rdb-preamble` is off
//! (Redis's rewriteAppendOnlyFileRio). SELECT before each non-empty database, one SET, RPUSH, SADD,
//! ZADD or HMSET per key (at most 64 items per command), PEXPIREAT after a key with a TTL.
//!
//! Only reads the databases it is given and writes to `out`; it never touches server state (it runs
//! in the rewrite child).

use std::io::{self, Write};

use crate::db::listpack::{INTBUF_SIZE, LpValue};
use crate::db::set::Member;
use crate::db::{Db, NO_EXPIRE, StrValue, Value};
use crate::numeric::{format_double, format_i64};
use crate::server::propagation::{encode_command, encode_select};

/// Items per variadic command (AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;
/// Flush the staging buffer to `out` past this size.
const FLUSH_AT: usize = 64 * 1024;

/// Builds one variadic command at a time: `name key item...`, split every 64 items.
struct Batch<'a> {
    name: &'a [u8],
    key: &'a [u8],
    args: Vec<Vec<u8>>,
    per_item: usize,
}

impl Batch<'_> {
    fn push(&mut self, out: &mut Vec<u8>, item: Vec<u8>) {
        self.args.push(item);
        if self.args.len() == ITEMS_PER_CMD * self.per_item {
            self.flush(out);
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        if self.args.is_empty() {
            return;
        }
        let argv = [self.name, self.key].into_iter().chain(self.args.iter().map(Vec::as_slice));
        encode_command(out, 2 + self.args.len(), argv);
        self.args.clear();
    }
}

fn lp_bytes(v: LpValue<'_>) -> Vec<u8> {
    let mut scratch = [0u8; INTBUF_SIZE];
    v.to_bytes(&mut scratch).to_vec()
}

/// Write every FUNCTION library (as FUNCTION LOAD) and every key of `dbs` as commands.
/// `timestamp` starts the file with a `#TS:` annotation (aof-timestamp-enabled). Keys already
/// expired at `now_ms` are left out.
pub fn write_dataset<W: Write>(
    dbs: &[Db],
    functions: &[Vec<u8>],
    timestamp: Option<u64>,
    out: &mut W,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(FLUSH_AT * 2);
    if let Some(ts) = timestamp {
        buf.extend_from_slice(format!("#TS:{ts}\r\n").as_bytes());
    }
    for code in functions {
        encode_command(&mut buf, 3, [b"FUNCTION".as_slice(), b"LOAD", code].into_iter());
    }
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    for db in dbs {
        if db.is_empty() {
            continue;
        }
        encode_select(&mut buf, db.id);
        for (key, obj) in db.dict.iter() {
            let when = db.expire_of(key);
            if when != NO_EXPIRE && when < now_ms {
                continue;
            }
            write_key(&mut buf, key, &obj.value);
            if when != NO_EXPIRE {
                let mut ms = Vec::new();
                format_i64(&mut ms, when);
                encode_command(&mut buf, 3, [b"PEXPIREAT".as_slice(), key, &ms].into_iter());
            }
            if buf.len() >= FLUSH_AT {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    out.write_all(&buf)?;
    out.flush()
}

fn write_key(buf: &mut Vec<u8>, key: &[u8], value: &Value) {
    match value {
        Value::Str(s) => {
            let mut v = Vec::new();
            match s {
                StrValue::Int(n) => format_i64(&mut v, *n),
                StrValue::Emb(b) => v.extend_from_slice(b),
                StrValue::Raw(b) => v.extend_from_slice(b),
            }
            encode_command(buf, 3, [b"SET".as_slice(), key, &v].into_iter());
        }
        Value::List(l) => {
            let mut b = Batch { name: b"RPUSH", key, args: Vec::new(), per_item: 1 };
            for item in l.iter() {
                b.push(buf, lp_bytes(item));
            }
            b.flush(buf);
        }
        Value::Set(s) => {
            let mut b = Batch { name: b"SADD", key, args: Vec::new(), per_item: 1 };
            for m in s.iter() {
                let item = match m {
                    Member::Int(n) => {
                        let mut v = Vec::new();
                        format_i64(&mut v, n);
                        v
                    }
                    Member::Bytes(bytes) => bytes.to_vec(),
                };
                b.push(buf, item);
            }
            b.flush(buf);
        }
        Value::ZSet(z) => {
            let mut b = Batch { name: b"ZADD", key, args: Vec::new(), per_item: 2 };
            for (member, score) in z.iter() {
                let mut s = Vec::new();
                format_double(&mut s, score);
                b.args.push(s);
                b.push(buf, lp_bytes(member));
            }
            b.flush(buf);
        }
        Value::Hash(h) => {
            let mut b = Batch { name: b"HMSET", key, args: Vec::new(), per_item: 2 };
            for (field, value) in h.iter() {
                b.args.push(lp_bytes(field));
                b.push(buf, lp_bytes(value));
            }
            b.flush(buf);
        }
        Value::Stream(s) => write_stream(buf, key, s),
    }
}

/// A stream as Redis's rewriteStreamObject writes it: one XADD per entry (an empty stream as an
/// XADD trimmed to nothing), XSETID with its counters, then each group with its pending entries as
/// XCLAIMs and its consumers without any as XGROUP CREATECONSUMER.
fn write_stream(buf: &mut Vec<u8>, key: &[u8], s: &crate::db::stream::Stream) {
    use crate::db::stream::StreamId;
    let id_arg = |id: StreamId| id.to_vec();
    if s.length > 0 {
        for e in s.iter() {
            let mut argv: Vec<Vec<u8>> = vec![b"XADD".to_vec(), key.to_vec(), id_arg(e.id)];
            e.for_each_field(|f, v| {
                argv.push(lp_bytes(f));
                argv.push(lp_bytes(v));
            });
            encode_command(buf, argv.len(), argv.iter().map(Vec::as_slice));
        }
    } else {
        let id = id_arg(StreamId::new(0, 1));
        encode_command(buf, 7, [b"XADD".as_slice(), key, b"MAXLEN", b"0", &id, b"x", b"y"].into_iter());
    }
    let (last, added, max_deleted) = (id_arg(s.last_id), s.entries_added.to_string(), id_arg(s.max_deleted_entry_id));
    encode_command(
        buf,
        7,
        [b"XSETID".as_slice(), key, &last, b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", &max_deleted]
            .into_iter(),
    );
    for (name, g) in &s.groups {
        let (last, read) = (id_arg(g.last_id), g.entries_read.to_string());
        encode_command(
            buf,
            7,
            [b"XGROUP".as_slice(), b"CREATE", key, name, &last, b"ENTRIESREAD", read.as_bytes()].into_iter(),
        );
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                encode_command(buf, 5, [b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, cname].into_iter());
                continue;
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                let (id, time, count) = (id_arg(*id), nack.delivery_time.to_string(), nack.delivery_count.to_string());
                encode_command(
                    buf,
                    12,
                    [
                        b"XCLAIM".as_slice(),
                        key,
                        name,
                        cname,
                        b"0",
                        &id,
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ]
                    .into_iter(),
                );
            }
        }
    }
}
