use super::*;

fn limits(max_entries: i64) -> NodeLimits {
    NodeLimits { max_bytes: 4096, max_entries }
}

fn add(s: &mut Stream, ms: u64, fields: &[&[u8]], l: NodeLimits) -> StreamId {
    let id = s.next_id(Some((StreamId::new(ms, 0), false)), 0).expect("id");
    s.append(id, fields, l).expect("append");
    id
}

fn ids(it: StreamRange<'_>) -> Vec<u64> {
    it.map(|e| e.id.ms).collect()
}

#[test]
fn parse_ids_as_redis() {
    assert_eq!(StreamId::parse(b"5-3", 0, true, false), Some((StreamId::new(5, 3), true)));
    assert_eq!(StreamId::parse(b"5", 7, true, false), Some((StreamId::new(5, 7), true)));
    assert_eq!(StreamId::parse(b"5-*", 0, true, true), Some((StreamId::new(5, 0), false)));
    assert_eq!(StreamId::parse(b"5-*", 0, true, false), None);
    assert_eq!(StreamId::parse(b"-", 0, false, false), Some((StreamId::MIN, true)));
    assert_eq!(StreamId::parse(b"+", 0, true, false), None);
    assert_eq!(StreamId::parse(b"-1", 0, true, false), None);
    assert_eq!(
        StreamId::parse(b"18446744073709551615-18446744073709551615", 0, true, false),
        Some((StreamId::MAX, true))
    );
    assert_eq!(StreamId::parse(b"18446744073709551616", 0, true, false), None);
    assert_eq!(StreamId::parse(b"abc", 0, true, false), None);
    assert_eq!(StreamId::parse(b"", 0, true, false), None);
    assert_eq!(StreamId::MAX.incr(), None);
    assert_eq!(StreamId::MIN.decr(), None);
    assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
}

#[test]
fn append_and_range_across_nodes() {
    let mut s = Stream::new();
    for ms in 1..=25 {
        let fields: &[&[u8]] = if ms % 3 == 0 { &[b"other", b"x"] } else { &[b"f", b"v", b"g", b"12"] };
        add(&mut s, ms, fields, limits(10));
    }
    assert_eq!(s.length, 25);
    assert_eq!(s.nodes.len(), 3);
    assert!(s.nodes.values().all(Stream::validate_node));
    assert_eq!(ids(s.iter()), (1..=25).collect::<Vec<_>>());
    assert_eq!(ids(s.range(StreamId::new(5, 0), StreamId::new(12, 0), true)), (5..=12).rev().collect::<Vec<_>>());
    assert_eq!(ids(s.range(StreamId::new(11, 0), StreamId::new(11, 0), false)), vec![11]);
    let e = s.range(StreamId::new(4, 0), StreamId::MAX, false).next().expect("entry");
    assert_eq!(e.fields_vec(), vec![(b"f".to_vec(), b"v".to_vec()), (b"g".to_vec(), b"12".to_vec())]);
    let e = s.range(StreamId::new(6, 0), StreamId::MAX, false).next().expect("entry");
    assert_eq!(e.fields_vec(), vec![(b"other".to_vec(), b"x".to_vec())]);
    assert!(ids(s.range(StreamId::new(9, 0), StreamId::new(2, 0), false)).is_empty());
}

#[test]
fn ids_must_grow() {
    let mut s = Stream::new();
    add(&mut s, 5, &[b"a", b"b"], limits(100));
    assert_eq!(s.next_id(Some((StreamId::new(5, 0), true)), 0), Err(AppendError::IdTooSmall));
    assert_eq!(s.next_id(Some((StreamId::new(5, 0), false)), 0), Ok(StreamId::new(5, 1)));
    assert_eq!(s.next_id(None, 3), Ok(StreamId::new(5, 1)));
    assert_eq!(s.next_id(None, 9), Ok(StreamId::new(9, 0)));
}

#[test]
fn delete_keeps_first_id_and_drops_empty_nodes() {
    let mut s = Stream::new();
    for ms in 1..=6 {
        add(&mut s, ms, &[b"a", b"b"], limits(3));
    }
    assert_eq!(s.delete_ids(&[StreamId::new(1, 0), StreamId::new(99, 0)]), 1);
    assert_eq!(s.first_id, StreamId::new(2, 0));
    assert_eq!(s.max_deleted_entry_id, StreamId::new(1, 0));
    assert_eq!(s.delete_ids(&[StreamId::new(2, 0), StreamId::new(3, 0)]), 2);
    assert_eq!(s.nodes.len(), 1);
    assert_eq!(ids(s.iter()), vec![4, 5, 6]);
    assert_eq!(s.edge_id(true, false), StreamId::new(4, 0));
    assert_eq!(s.delete_ids(&[StreamId::new(6, 0)]), 1);
    assert_eq!(s.last_valid_id(), StreamId::new(5, 0));
    assert_eq!(s.last_id, StreamId::new(6, 0));
    assert!(s.nodes.values().all(Stream::validate_node));
}

#[test]
fn trim_exact_and_approximate() {
    let build = || {
        let mut s = Stream::new();
        for ms in 1..=30 {
            add(&mut s, ms, &[b"a", b"b"], limits(10));
        }
        s
    };
    let mut s = build();
    assert_eq!(s.trim(TrimStrategy::MaxLen(15), true, 0), 10);
    assert_eq!(s.length, 20);
    let mut s = build();
    assert_eq!(s.trim(TrimStrategy::MaxLen(15), false, 0), 15);
    assert_eq!(ids(s.iter()), (16..=30).collect::<Vec<_>>());
    assert_eq!(s.first_id, StreamId::new(16, 0));
    assert!(s.nodes.values().all(Stream::validate_node));
    let mut s = build();
    assert_eq!(s.trim(TrimStrategy::MinId(StreamId::new(25, 0)), false, 0), 24);
    assert_eq!(ids(s.iter()), (25..=30).collect::<Vec<_>>());
    let mut s = build();
    assert_eq!(s.trim(TrimStrategy::MaxLen(0), true, 15), 10);
}

#[test]
fn validate_rejects_bad_lp_count() {
    let mut s = Stream::new();
    add(&mut s, 1, &[b"a", b"b"], limits(10));
    let lp = s.nodes.values().next().expect("node").clone();
    assert!(Stream::validate_node(&lp));
    let mut bad = lp.clone();
    let last = bad.last().expect("last");
    bad.replace_int(last, 9);
    assert!(!Stream::validate_node(&bad));
    let mut extra = lp;
    extra.push_back(b"junk");
    assert!(!Stream::validate_node(&extra));
}

#[test]
fn group_pel_follows_owner() {
    let mut g = ConsumerGroup::new(StreamId::MIN, 0);
    assert!(g.create_consumer(b"alice", 1));
    assert!(!g.create_consumer(b"alice", 2));
    g.create_consumer(b"bob", 1);
    g.deliver(StreamId::new(1, 0), b"alice", 10);
    g.deliver(StreamId::new(2, 0), b"alice", 10);
    g.deliver(StreamId::new(1, 0), b"bob", 11);
    assert_eq!(g.consumers[&b"alice".to_vec()].pel.len(), 1);
    assert_eq!(g.pel[&StreamId::new(1, 0)].consumer, b"bob".to_vec());
    assert!(g.ack(StreamId::new(1, 0)));
    assert!(!g.ack(StreamId::new(1, 0)));
    assert_eq!(g.delete_consumer(b"alice"), Some(1));
    assert!(g.pel.is_empty());
    assert_eq!(g.delete_consumer(b"nobody"), None);
}
