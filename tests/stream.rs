//! Streams through a real client: XADD/XRANGE/XDEL/XTRIM replies and errors, blocking XREAD woken
//! from another connection (and timing out), consumer groups end to end (XREADGROUP, XPENDING,
//! XACK, XCLAIM, XAUTOCLAIM, XINFO), a blocked XREADGROUP failing when its stream is deleted, and a
//! replica (ferrodis or real redis-server 7.0.15) reproducing a master's stream and group state from
//! the propagated commands.

mod common;
use common::{TestServer, err, q};
use redis::Value;
use std::time::{Duration, Instant};

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `[[id, [f, v, ...]], ...]` as (id, fields) pairs.
type Entries = Vec<(String, Vec<String>)>;

#[test]
fn add_range_delete_and_trim() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    assert_eq!(q::<String>(&mut con, &["XADD", "s", "1-1", "a", "1"]), "1-1");
    assert_eq!(q::<String>(&mut con, &["XADD", "s", "1-*", "b", "2"]), "1-2");
    assert_eq!(q::<String>(&mut con, &["XADD", "s", "5", "c", "3", "d", "4"]), "5-0");
    let auto: String = q(&mut con, &["XADD", "s", "*", "e", "5"]);
    assert!(auto.ends_with("-0") && auto.len() > 10, "{auto}");
    assert!(
        err(&mut con, &["XADD", "s", "5-0", "x", "y"]).contains("equal or smaller than the target stream top item")
    );
    assert!(err(&mut con, &["XADD", "s", "0-0", "x", "y"]).contains("must be greater than 0-0"));
    assert!(err(&mut con, &["XADD", "s", "*", "odd"]).contains("wrong number of arguments"));
    assert!(err(&mut con, &["XADD", "s", "bad-id", "x", "y"]).contains("Invalid stream ID"));
    assert_eq!(q::<Option<String>>(&mut con, &["XADD", "nokey", "NOMKSTREAM", "*", "a", "b"]), None);
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "nokey"]), 0);

    let all: Entries = q(&mut con, &["XRANGE", "s", "-", "+"]);
    assert_eq!(all.len(), 4);
    assert_eq!(all[2], ("5-0".to_string(), vec!["c".into(), "3".into(), "d".into(), "4".into()]));
    let excl: Entries = q(&mut con, &["XRANGE", "s", "(1-1", "5", "COUNT", "5"]);
    assert_eq!(excl.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["1-2", "5-0"]);
    let rev: Entries = q(&mut con, &["XREVRANGE", "s", "+", "-", "COUNT", "1"]);
    assert_eq!(rev[0].0, auto);
    assert_eq!(q::<i64>(&mut con, &["XDEL", "s", "1-1", "9-9"]), 1);
    assert_eq!(q::<i64>(&mut con, &["XLEN", "s"]), 3);
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "s", "MAXLEN", "1"]), 2);
    assert_eq!(q::<i64>(&mut con, &["XLEN", "s"]), 1);
    assert!(err(&mut con, &["XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1"]).contains("LIMIT argument must be >= 0"));
    assert!(err(&mut con, &["XTRIM", "s", "MAXLEN", "1", "LIMIT", "10"]).contains("without the special ~ option"));
    assert_eq!(q::<String>(&mut con, &["TYPE", "s"]), "stream");
    assert_eq!(q::<String>(&mut con, &["OBJECT", "ENCODING", "s"]), "stream");
    q::<()>(&mut con, &["SET", "str", "v"]);
    assert!(err(&mut con, &["XADD", "str", "*", "a", "b"]).contains("WRONGTYPE"));

    // Nodes split at stream-node-max-entries; an approximate trim removes whole nodes only.
    q::<()>(&mut con, &["CONFIG", "SET", "stream-node-max-entries", "10"]);
    for i in 1..=30 {
        q::<String>(&mut con, &["XADD", "big", &i.to_string(), "f", "v"]);
    }
    let info: std::collections::HashMap<String, Value> = q(&mut con, &["XINFO", "STREAM", "big"]);
    assert_eq!(info.get("radix-tree-keys"), Some(&Value::Int(3)));
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "big", "MAXLEN", "~", "15"]), 10);
    assert_eq!(q::<i64>(&mut con, &["XTRIM", "big", "MINID", "25"]), 14);
    assert_eq!(q::<i64>(&mut con, &["XLEN", "big"]), 6);
}

#[test]
fn blocking_xread_is_woken_by_xadd_and_times_out() {
    let srv = TestServer::start(&[]);
    let mut writer = srv.client();
    q::<String>(&mut writer, &["XADD", "s", "1-0", "old", "x"]);
    let mut reader = srv.raw();
    // `$`: only what arrives after blocking.
    reader.send(b"XREAD BLOCK 0 STREAMS s $\r\n");
    wait_for("reader blocked", || {
        let info: String = q(&mut writer, &["INFO", "clients"]);
        info.contains("blocked_clients:1")
    });
    q::<String>(&mut writer, &["XADD", "s", "2-0", "new", "y"]);
    reader.roundtrip(b"", b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$3\r\nnew\r\n$1\r\ny\r\n");

    let started = Instant::now();
    reader.roundtrip(b"XREAD BLOCK 100 STREAMS s 2-0\r\n", b"*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(90));
    assert!(err(&mut writer, &["XREAD", "BLOCK", "-1", "STREAMS", "s", "$"]).contains("timeout is negative"));
    assert!(err(&mut writer, &["XREAD", "STREAMS", "s", "t", "$"]).contains("Unbalanced XREAD list"));
    assert!(err(&mut writer, &["XREAD", "STREAMS", "s", ">"]).contains("The > ID can be specified only"));
}

#[test]
fn consumer_groups_end_to_end() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    for i in 1..=4 {
        q::<String>(&mut con, &["XADD", "s", &format!("{i}-0"), "n", &i.to_string()]);
    }
    assert_eq!(q::<String>(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]), "OK");
    assert!(err(&mut con, &["XGROUP", "CREATE", "s", "g", "0"]).contains("BUSYGROUP"));
    assert!(err(&mut con, &["XGROUP", "CREATE", "missing", "g", "$"]).contains("requires the key to exist"));
    assert_eq!(q::<String>(&mut con, &["XGROUP", "CREATE", "fresh", "g", "$", "MKSTREAM"]), "OK");

    let read: Vec<(String, Entries)> =
        q(&mut con, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "3", "STREAMS", "s", ">"]);
    assert_eq!(read[0].1.len(), 3);
    let read: Vec<(String, Entries)> = q(&mut con, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]);
    assert_eq!(read[0].1[0].0, "4-0");
    // Nothing new: a null reply.
    assert_eq!(q::<Option<Vec<Value>>>(&mut con, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]), None);
    // History: bob's own pending entries.
    let hist: Vec<(String, Entries)> = q(&mut con, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"]);
    assert_eq!(hist[0].1.len(), 1);

    let summary: (i64, String, String, Vec<(String, String)>) = q(&mut con, &["XPENDING", "s", "g"]);
    assert_eq!(
        summary,
        (4, "1-0".into(), "4-0".into(), vec![("alice".into(), "3".into()), ("bob".into(), "1".into())])
    );
    let detail: Vec<(String, String, i64, i64)> = q(&mut con, &["XPENDING", "s", "g", "-", "+", "10", "bob"]);
    assert_eq!(detail.len(), 1);
    assert_eq!((detail[0].0.as_str(), detail[0].3), ("4-0", 2));

    assert_eq!(q::<i64>(&mut con, &["XACK", "s", "g", "1-0", "1-0", "9-0"]), 1);
    let claimed: Vec<String> = q(&mut con, &["XCLAIM", "s", "g", "bob", "0", "2-0", "JUSTID"]);
    assert_eq!(claimed, ["2-0"]);
    assert!(
        err(&mut con, &["XCLAIM", "s", "g", "bob", "0", "2-0", "BOGUS"]).contains("Unrecognized XCLAIM option 'BOGUS'")
    );
    let auto: (String, Entries, Vec<String>) = q(&mut con, &["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "1"]);
    assert_eq!(auto.0, "3-0");
    assert_eq!(auto.1[0].0, "2-0");
    assert!(err(&mut con, &["XAUTOCLAIM", "s", "g", "carol", "0", "0", "COUNT", "0"]).contains("COUNT must be > 0"));

    let groups: Vec<std::collections::HashMap<String, Value>> = q(&mut con, &["XINFO", "GROUPS", "s"]);
    assert_eq!(groups[0].get("pending"), Some(&Value::Int(3)));
    assert_eq!(groups[0].get("consumers"), Some(&Value::Int(3)));
    assert_eq!(groups[0].get("lag"), Some(&Value::Int(0)));
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "DELCONSUMER", "s", "g", "carol"]), 1);
    assert!(err(&mut con, &["XINFO", "CONSUMERS", "s", "nogroup"]).contains("NOGROUP"));
    assert!(err(&mut con, &["XREADGROUP", "GROUP", "nogroup", "a", "STREAMS", "s", ">"]).contains("NOGROUP"));
    assert_eq!(q::<i64>(&mut con, &["XGROUP", "DESTROY", "s", "g"]), 1);
}

#[test]
fn blocked_xreadgroup_fails_when_its_stream_is_deleted() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    q::<String>(&mut con, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let mut reader = srv.raw();
    reader.send(b"XREADGROUP GROUP g c BLOCK 0 STREAMS s >\r\n");
    wait_for("reader blocked", || q::<String>(&mut con, &["INFO", "clients"]).contains("blocked_clients:1"));
    q::<i64>(&mut con, &["DEL", "s"]);
    reader.roundtrip(b"", b"-UNBLOCKED the stream key no longer exists\r\n");
}

/// A replica (`replica_bin`) of a ferrodis master ends with the same stream and group state.
fn replica_reproduces_stream_and_group_state(replica_bin: &str) {
    let master = TestServer::start(&[]);
    let port = master.port.to_string();
    let replica =
        TestServer::start_in(&common::temp_dir("stream-replica"), replica_bin, &["--replicaof", "127.0.0.1", &port]);
    let mut m = master.client();
    let mut r = replica.client();
    wait_for("link up", || q::<String>(&mut r, &["INFO", "replication"]).contains("master_link_status:up"));
    q::<String>(&mut m, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    for _ in 0..5 {
        q::<String>(&mut m, &["XADD", "s", "MAXLEN", "~", "3", "*", "f", "v"]);
    }
    q::<Value>(&mut m, &["XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"]);
    q::<Value>(&mut m, &["XREADGROUP", "GROUP", "g", "c2", "NOACK", "COUNT", "1", "STREAMS", "s", ">"]);
    q::<Value>(&mut m, &["XCLAIM", "s", "g", "c3", "0", "0-0"]);
    q::<String>(&mut m, &["SET", "marker", "1"]);
    wait_for("replica caught up", || q::<Option<String>>(&mut r, &["GET", "marker"]).is_some());
    for cmd in [&["XRANGE", "s", "-", "+"][..], &["XPENDING", "s", "g"], &["XINFO", "GROUPS", "s"]] {
        assert_eq!(q::<Value>(&mut m, cmd), q::<Value>(&mut r, cmd), "{cmd:?}");
    }
    let digest = |con: &mut redis::Connection| q::<Vec<String>>(con, &["DEBUG", "DIGEST-VALUE", "s"]);
    assert_eq!(digest(&mut m), digest(&mut r));
}

#[test]
fn a_ferrodis_replica_reproduces_stream_and_group_state() {
    replica_reproduces_stream_and_group_state(&common::binary());
}

#[test]
fn a_real_redis_replica_reproduces_stream_and_group_state() {
    if !std::path::Path::new(common::REDIS_SERVER).exists() {
        eprintln!("\n!!! {} is not installed: the interop test was SKIPPED !!!\n", common::REDIS_SERVER);
        return;
    }
    replica_reproduces_stream_and_group_state(common::REDIS_SERVER);
}
