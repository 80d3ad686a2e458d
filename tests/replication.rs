//! Replication through real processes: the authenticated handshake (and a clear log line plus
//! retries with a wrong masterauth), full sync, the stream, a read-only replica, partial resync
//! after a cut link, REPLICAOF NO ONE, and interop with real redis-server 7.0.15 in both roles.

mod common;
use common::{REDIS_SERVER, TestServer, q, temp_dir};
use std::path::Path;
use std::time::{Duration, Instant};

fn authed(s: &TestServer) -> redis::Connection {
    let url = format!("redis://:pw@127.0.0.1:{}/", s.port);
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = q(con, &["INFO", section]);
    info.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string)).unwrap_or_default()
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start(bin: &str, extra: &[&str]) -> TestServer {
    let mut args = vec!["--requirepass", "pw", "--masterauth", "pw", "--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    TestServer::start_in(&temp_dir("repl"), bin, &args)
}

/// A master and a replica of `master_bin`/`replica_bin`: writes of every kind reach the replica,
/// which refuses writes of its own; a cut link resumes with +CONTINUE.
fn master_and_replica(master_bin: &str, replica_bin: &str) {
    let master = start(master_bin, &[]);
    let mut m = authed(&master);
    q::<()>(&mut m, &["SET", "before", "sync"]);
    q::<i64>(&mut m, &["RPUSH", "list", "a", "b"]);
    let port = master.port.to_string();
    let replica = start(replica_bin, &["--replicaof", "127.0.0.1", &port]);
    let mut r = authed(&replica);
    wait_for("link up", || info_field(&mut r, "replication", "master_link_status") == "up");
    assert_eq!(q::<String>(&mut r, &["GET", "before"]), "sync");

    q::<i64>(&mut m, &["INCR", "counter"]);
    q::<()>(&mut m, &["SET", "ttl", "v", "EX", "1000"]);
    q::<i64>(&mut m, &["HSET", "h", "f", "v"]);
    q::<()>(&mut m, &["SELECT", "5"]);
    q::<()>(&mut m, &["SET", "in5", "x"]);
    q::<()>(&mut m, &["SELECT", "0"]);
    wait_for("stream", || q::<Option<String>>(&mut r, &["GET", "counter"]).as_deref() == Some("1"));
    assert_eq!(q::<String>(&mut r, &["HGET", "h", "f"]), "v");
    assert!(q::<i64>(&mut r, &["TTL", "ttl"]) > 990);
    q::<()>(&mut r, &["SELECT", "5"]);
    assert_eq!(q::<String>(&mut r, &["GET", "in5"]), "x");
    q::<()>(&mut r, &["SELECT", "0"]);
    let err = redis::cmd("SET").arg("x").arg("1").query::<()>(&mut r).unwrap_err();
    assert_eq!(err.code(), Some("READONLY"));
    let role: Vec<redis::Value> = q(&mut r, &["ROLE"]);
    assert_eq!(role.len(), 5);

    // Cut the link: the replica reconnects and continues from its offset.
    let partial_before: i64 = info_field(&mut m, "stats", "sync_partial_ok").parse().unwrap();
    q::<i64>(&mut r, &["CLIENT", "KILL", "TYPE", "master"]);
    q::<i64>(&mut m, &["INCR", "counter"]);
    wait_for("resync", || q::<Option<String>>(&mut r, &["GET", "counter"]).as_deref() == Some("2"));
    let partial_after: i64 = info_field(&mut m, "stats", "sync_partial_ok").parse().unwrap();
    assert_eq!(partial_after, partial_before + 1, "the resync after a cut link must be partial");
    wait_for("offsets equal", || {
        info_field(&mut m, "replication", "master_repl_offset")
            == info_field(&mut r, "replication", "master_repl_offset")
    });

    // Promotion keeps the data and accepts writes.
    q::<()>(&mut r, &["REPLICAOF", "NO", "ONE"]);
    q::<()>(&mut r, &["SET", "x", "1"]);
    assert_eq!(info_field(&mut r, "replication", "role"), "master");
    assert_eq!(q::<String>(&mut r, &["GET", "before"]), "sync");
}

#[test]
fn ferrodis_master_and_replica() {
    master_and_replica(&common::binary(), &common::binary());
}

#[test]
fn ferrodis_replica_of_real_redis() {
    if !Path::new(REDIS_SERVER).exists() {
        eprintln!("\n!!! {REDIS_SERVER} is not installed: the interop test was SKIPPED !!!\n");
        return;
    }
    master_and_replica(REDIS_SERVER, &common::binary());
}

#[test]
fn real_redis_replica_of_ferrodis() {
    if !Path::new(REDIS_SERVER).exists() {
        eprintln!("\n!!! {REDIS_SERVER} is not installed: the interop test was SKIPPED !!!\n");
        return;
    }
    master_and_replica(&common::binary(), REDIS_SERVER);
}

#[test]
fn wrong_masterauth_is_logged_and_retried() {
    let master = start(&common::binary(), &[]);
    let port = master.port.to_string();
    let replica = TestServer::start_in(
        &temp_dir("repl-auth"),
        &common::binary(),
        &["--masterauth", "wrong", "--replicaof", "127.0.0.1", &port],
    );
    wait_for("two AUTH failures", || replica.log().matches("Unable to AUTH to MASTER: -WRONGPASS").count() >= 2);
    let mut r = replica.client();
    assert_eq!(info_field(&mut r, "replication", "master_link_status"), "down");
    // Fixing the password at run time lets the next attempt through.
    q::<()>(&mut r, &["CONFIG", "SET", "masterauth", "pw"]);
    wait_for("link up", || info_field(&mut r, "replication", "master_link_status") == "up");
}
