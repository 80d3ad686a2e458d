//! Streams in the RDB format (Redis 7.0's rdbSaveObject / rdbLoadObject for OBJ_STREAM): written as
//! `RDB_TYPE_STREAM_LISTPACKS_2`, read from that and from the older `RDB_TYPE_STREAM_LISTPACKS`
//! (Redis 5 to 6.2). DUMP/RESTORE use the same payload.
//!
//! # Format
//! ```text
//! nodes: len, then per node: string(16-byte big-endian master ID), string(listpack)
//! length: len | last_id: len ms, len seq
//! (type 19 only) first_id: len ms, len seq | max_deleted_entry_id: len ms, len seq | entries_added: len
//! groups: len, then per group:
//!   string(name) | last_id: len ms, len seq | (type 19 only) entries_read: len (-1 as u64 when unknown)
//!   PEL: len, then per entry: raw 16-byte ID, delivery time (ms, 8 bytes LE), delivery count: len
//!   consumers: len, then per consumer: string(name), seen time (ms), PEL: len, raw 16-byte IDs
//! ```
//!
//! Loading never trusts the file: every node passes the deep listpack check, duplicate node keys,
//! groups, consumers and PEL entries are refused, and so is a consumer claiming an ID its group's PEL
//! lacks or already gave to another consumer, or a PEL entry no consumer owns. A refused stream is
//! an error for the whole load; nothing is half loaded.

use super::rdb_io::{RdbError, RdbReader, RdbWriter, rdb_type};
use crate::db::Value;
use crate::db::listpack::Listpack;
use crate::db::stream::groups::ENTRIES_READ_INVALID;
use crate::db::stream::{ConsumerGroup, PendingEntry, Stream, StreamId};

/// Writes a stream's payload (after its type byte).
pub fn write_stream(w: &mut RdbWriter, s: &Stream) {
    w.write_len(s.nodes.len() as u64);
    for (master, lp) in &s.nodes {
        w.write_string(&master.to_be_bytes());
        w.write_string(lp.as_bytes());
    }
    w.write_len(s.length);
    write_id(w, s.last_id);
    write_id(w, s.first_id);
    write_id(w, s.max_deleted_entry_id);
    w.write_len(s.entries_added);
    w.write_len(s.groups.len() as u64);
    for (name, g) in &s.groups {
        w.write_string(name);
        write_id(w, g.last_id);
        // Redis writes the signed counter as an unsigned length: -1 becomes 2^64 - 1.
        w.write_len(g.entries_read as u64);
        w.write_len(g.pel.len() as u64);
        for (id, nack) in &g.pel {
            w.write_raw(&id.to_be_bytes());
            w.write_ms_time(nack.delivery_time);
            w.write_len(nack.delivery_count);
        }
        w.write_len(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            w.write_string(cname);
            w.write_ms_time(c.seen_time);
            w.write_len(c.pel.len() as u64);
            for id in &c.pel {
                w.write_raw(&id.to_be_bytes());
            }
        }
    }
}

fn write_id(w: &mut RdbWriter, id: StreamId) {
    w.write_len(id.ms);
    w.write_len(id.seq);
}

fn read_id(r: &mut RdbReader<'_>) -> Result<StreamId, RdbError> {
    let ms = r.read_plain_len()?;
    let seq = r.read_plain_len()?;
    Ok(StreamId::new(ms, seq))
}

/// Reads a stream payload of type `ty` (15 or 19).
pub fn read_stream(r: &mut RdbReader<'_>, ty: u8) -> Result<Value, RdbError> {
    let start = r.position();
    let bad = |reason: &'static str| RdbError { offset: start, reason };
    let v2 = ty == rdb_type::STREAM_LISTPACKS_2;
    let mut s = Stream::new();
    // Each node is at least a 16-byte key and a listpack string.
    let nodes = r.read_count(18)?;
    for _ in 0..nodes {
        let key = r.read_string()?;
        let key: [u8; 16] =
            key.as_slice().try_into().map_err(|_| bad("Stream node key entry is not the size of a stream ID"))?;
        let lp =
            Listpack::from_bytes(r.read_string()?).ok_or_else(|| bad("Stream listpack integrity check failed."))?;
        if lp.is_empty() {
            return Err(bad("Empty listpack inside stream"));
        }
        if !Stream::validate_node(&lp) {
            return Err(bad("Stream listpack integrity check failed."));
        }
        if s.nodes.insert(StreamId::from_be_bytes(&key), lp).is_some() {
            return Err(bad("Listpack re-added with existing key"));
        }
    }
    s.length = r.read_plain_len()?;
    s.last_id = read_id(r)?;
    if v2 {
        s.first_id = read_id(r)?;
        s.max_deleted_entry_id = read_id(r)?;
        s.entries_added = r.read_plain_len()?;
    } else {
        // Redis 6.2 kept none of these: what Redis 7.0 derives when it loads such a file.
        s.entries_added = s.length;
        s.first_id = s.edge_id(true, true);
    }
    if s.length > 0 && s.nodes.is_empty() {
        return Err(bad("Stream length inconsistent with rax entries"));
    }
    let groups = r.read_count(3)?;
    for _ in 0..groups {
        let name = r.read_string()?;
        let last_id = read_id(r)?;
        let entries_read = if v2 { r.read_plain_len()? as i64 } else { s.estimate_distance(last_id) };
        if s.groups.contains_key(&name) {
            return Err(bad("Duplicated consumer group name"));
        }
        let mut g = ConsumerGroup::new(last_id, entries_read.max(ENTRIES_READ_INVALID));
        // A PEL entry is a 16-byte ID, an 8-byte time and a count.
        let pel = r.read_count(25)?;
        for _ in 0..pel {
            let id = StreamId::from_be_bytes(&r.read_array::<16>()?);
            let delivery_time = r.read_ms_time()?;
            let delivery_count = r.read_plain_len()?;
            let nack = PendingEntry { delivery_time, delivery_count, consumer: Vec::new() };
            if g.pel.insert(id, nack).is_some() {
                return Err(bad("Duplicated global PEL entry loading stream consumer group"));
            }
        }
        let consumers = r.read_count(10)?;
        for _ in 0..consumers {
            let cname = r.read_string()?;
            let seen = r.read_ms_time()?;
            if !g.create_consumer(&cname, seen) {
                return Err(bad("Duplicate stream consumer detected."));
            }
            let owned = r.read_count(16)?;
            for _ in 0..owned {
                let id = StreamId::from_be_bytes(&r.read_array::<16>()?);
                let Some(nack) = g.pel.get_mut(&id) else {
                    return Err(bad("Consumer entry not found in group global PEL"));
                };
                if !nack.consumer.is_empty() {
                    return Err(bad("Stream consumer PEL entry already has a consumer assigned"));
                }
                nack.consumer = cname.clone();
                if let Some(c) = g.consumers.get_mut(&cname) {
                    c.pel.insert(id);
                }
            }
        }
        // Redis checks this only when sanitizing; an owner-less entry would break XCLAIM and XINFO
        // here, so it is always refused.
        if g.pel.values().any(|n| n.consumer.is_empty()) {
            return Err(bad("Stream CG PEL entry without consumer"));
        }
        s.groups.insert(name, g);
    }
    Ok(Value::Stream(Box::new(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::stream::NodeLimits;

    fn sample() -> Stream {
        let mut s = Stream::new();
        let limits = NodeLimits { max_bytes: 4096, max_entries: 3 };
        for ms in 1..=8u64 {
            let id = s.next_id(Some((StreamId::new(ms, 0), true)), 0).expect("id");
            let v = ms.to_string();
            s.append(id, &[b"f", v.as_bytes(), b"g", b"x"], limits).expect("append");
        }
        s.delete_ids(&[StreamId::new(2, 0), StreamId::new(1, 0)]);
        let mut g = ConsumerGroup::new(StreamId::new(5, 0), 5);
        g.create_consumer(b"alice", 1000);
        g.create_consumer(b"idle", 2000);
        g.deliver(StreamId::new(3, 0), b"alice", 1500);
        g.deliver(StreamId::new(4, 0), b"alice", 1600);
        s.groups.insert(b"g1".to_vec(), g);
        s.groups.insert(b"empty".to_vec(), ConsumerGroup::new(StreamId::MIN, ENTRIES_READ_INVALID));
        s
    }

    fn encode(s: &Stream) -> Vec<u8> {
        let mut w = RdbWriter::new(false);
        write_stream(&mut w, s);
        w.into_inner()
    }

    #[test]
    fn round_trip_keeps_nodes_metadata_groups_and_pels() {
        let s = sample();
        let bytes = encode(&s);
        let mut r = RdbReader::new(&bytes);
        match read_stream(&mut r, rdb_type::STREAM_LISTPACKS_2) {
            Ok(Value::Stream(back)) => assert_eq!(*back, s),
            other => panic!("did not load: {other:?}"),
        }
        assert!(r.is_at_end());
    }

    #[test]
    fn truncations_and_corruptions_are_refused() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            let mut r = RdbReader::new(&bytes[..cut]);
            assert!(read_stream(&mut r, rdb_type::STREAM_LISTPACKS_2).is_err(), "cut at {cut}");
        }
        // Any flipped byte either fails or loads something valid: never a panic.
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            let mut r = RdbReader::new(&b);
            let _ = read_stream(&mut r, rdb_type::STREAM_LISTPACKS_2);
        }
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("test hex")).collect()
    }

    /// DUMP of a stream made in redis-server 7.0.15 with stream-node-max-entries 2: XADD 1-1 a 1 b 2,
    /// 1-2 a 3 b 4, 2-0 c 5, 3-0 a 6 b 7; XDEL 1-2; XGROUP CREATE g 0; CREATECONSUMER bob;
    /// XCLAIM alice 1-1 (TIME 1700000000000 RETRYCOUNT 3) and 3-0 (TIME 1700000000001 RETRYCOUNT 1).
    const REDIS_STREAM_DUMP: &str = "130210000000000000000100000000000000012d2d0000001200010101010201816102816202000102010001000101\
        0102010501030100010101030104010501ff1000000000000000020000000000000000303000000013000201000101018163020001020100\
        010001050104010001010100010201816102060181620207010801ff0303000101010204010167000081ffffffffffffffff020000000000\
        00000100000000000000010068e5cf8b01000003000000000000000300000000000000000168e5cf8b010000010205616c696365759c743f\
        a201000002000000000000000100000000000000010000000000000003000000000000000003626f62599c743fa2010000000a006809b9f7\
        eabd3eac";
    /// DUMP of `XADD e MAXLEN 0 5-5 x y` in redis-server 7.0.15: an empty stream.
    const REDIS_EMPTY_STREAM_DUMP: &str = "13000005050000000001000a00f1006eda73b25bd5";

    fn limits() -> crate::persistence::rdb::LoadLimits {
        crate::persistence::rdb::LoadLimits {
            list: crate::db::list::ListLimits { fill: -2, packed_threshold: 1 << 30 },
            hash: crate::db::hash::Limits { max_entries: 128, max_value: 64 },
            set_max_intset: 512,
            zset: crate::db::zset::ZSetLimits { max_entries: 128, max_value: 64 },
        }
    }

    #[test]
    fn redis_stream_dumps_load_and_dump_back_byte_for_byte() {
        use crate::persistence::rdb::{dump_payload, load_dump_payload, verify_dump_payload};
        let payload = hex(REDIS_STREAM_DUMP);
        assert!(verify_dump_payload(&payload, false));
        let v = load_dump_payload(&payload, &limits()).expect("loads");
        let Value::Stream(s) = &v else { panic!("not a stream") };
        assert_eq!((s.length, s.nodes.len(), s.entries_added), (3, 2, 4));
        assert_eq!(
            (s.last_id, s.first_id, s.max_deleted_entry_id),
            (StreamId::new(3, 0), StreamId::new(1, 1), StreamId::new(1, 2))
        );
        let ids: Vec<StreamId> = s.iter().map(|e| e.id).collect();
        assert_eq!(ids, [StreamId::new(1, 1), StreamId::new(2, 0), StreamId::new(3, 0)]);
        let g = &s.groups[b"g".as_slice()];
        assert_eq!((g.last_id, g.entries_read), (StreamId::MIN, -1));
        let p = &g.pel[&StreamId::new(1, 1)];
        assert_eq!((p.delivery_time, p.delivery_count, p.consumer.as_slice()), (1_700_000_000_000, 3, &b"alice"[..]));
        assert_eq!(g.consumers[b"alice".as_slice()].pel.len(), 2);
        assert!(g.consumers[b"bob".as_slice()].pel.is_empty());
        // Redis compressed none of these strings; ferrodis's LZF output is its own, so the byte
        // comparison is made without it.
        assert_eq!(dump_payload(&v, false), payload);
        let empty = hex(REDIS_EMPTY_STREAM_DUMP);
        let v = load_dump_payload(&empty, &limits()).expect("loads");
        let Value::Stream(s) = &v else { panic!("not a stream") };
        assert_eq!((s.length, s.entries_added, s.last_id, s.first_id), (0, 1, StreamId::new(5, 5), StreamId::MIN));
        assert_eq!(dump_payload(&v, false), empty);
    }

    #[test]
    fn a_pel_entry_without_owner_is_refused() {
        let mut s = sample();
        if let Some(g) = s.groups.get_mut(b"g1".as_slice()) {
            g.consumers.clear();
        }
        let bytes = encode(&s);
        let mut r = RdbReader::new(&bytes);
        assert!(read_stream(&mut r, rdb_type::STREAM_LISTPACKS_2).is_err());
    }
}
