//! Replication through real processes: the authenticated handshake (and a clear log line plus
//! retries with a wrong masterauth), full sync from disk and diskless, the stream, a read-only
//! replica, partial resync after a cut link and after a replica restart, chained replicas, WAIT,
//! min-replicas-to-write, FAILOVER, REPLICAOF NO ONE, and interop with real redis-server 7.0.15 in
//! both roles.

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

fn offset(con: &mut redis::Connection) -> String {
    info_field(con, "replication", "master_repl_offset")
}

#[test]
fn full_sync_from_disk_and_diskless() {
    for (diskless, target) in [("no", "target: disk"), ("yes", "target: replicas sockets")] {
        let master = start(&common::binary(), &["--repl-diskless-sync", diskless]);
        let mut m = authed(&master);
        q::<()>(&mut m, &["DEBUG", "POPULATE", "20000"]);
        let port = master.port.to_string();
        let replica = start(&common::binary(), &["--replicaof", "127.0.0.1", &port]);
        let mut r = authed(&replica);
        wait_for("link up", || info_field(&mut r, "replication", "master_link_status") == "up");
        assert_eq!(q::<i64>(&mut r, &["DBSIZE"]), 20000);
        assert!(master.log().contains(target), "master log lacks {target:?}");
        // The stream follows the RDB (after the replica's first ACK when diskless).
        q::<()>(&mut m, &["SET", "after", "sync"]);
        wait_for("stream", || q::<Option<String>>(&mut r, &["GET", "after"]).is_some());
        assert_eq!(q::<String>(&mut r, &["DEBUG", "DIGEST"]), q::<String>(&mut m, &["DEBUG", "DIGEST"]));
    }
}

#[test]
fn chained_replicas_and_partial_resync_after_a_replica_restart() {
    let master = start(&common::binary(), &[]);
    let mut m = authed(&master);
    let mport = master.port.to_string();
    let dir = temp_dir("repl-restart");
    let mut middle = TestServer::start_in(
        &dir,
        &common::binary(),
        &["--requirepass", "pw", "--masterauth", "pw", "--replicaof", "127.0.0.1", &mport],
    );
    let mid_port = middle.port.to_string();
    let leaf = start(&common::binary(), &["--replicaof", "127.0.0.1", &mid_port]);
    let mut l = authed(&leaf);
    for i in 0..100 {
        q::<i64>(&mut m, &["INCR", "counter"]);
        q::<()>(&mut m, &["SET", &format!("k{i}"), "v"]);
    }
    wait_for("chain", || q::<Option<String>>(&mut l, &["GET", "counter"]).as_deref() == Some("100"));
    wait_for("chain offsets", || offset(&mut l) == offset(&mut m));

    // The middle replica saves (with its replication id and offset) and restarts: it continues
    // with a partial resync.
    let mut mid = authed(&middle);
    // (The middle's transfer to the leaf may still be finishing: SAVE refuses to run beside it.)
    wait_for("no child", || info_field(&mut mid, "persistence", "rdb_bgsave_in_progress") == "0");
    q::<()>(&mut mid, &["SAVE"]);
    drop(mid);
    middle.stop();
    let partial_before: i64 = info_field(&mut m, "stats", "sync_partial_ok").parse().unwrap();
    q::<i64>(&mut m, &["INCR", "counter"]);
    let middle = TestServer::start_in(
        &dir,
        &common::binary(),
        &["--requirepass", "pw", "--masterauth", "pw", "--replicaof", "127.0.0.1", &mport],
    );
    let mut mid = authed(&middle);
    wait_for("restarted link", || info_field(&mut mid, "replication", "master_link_status") == "up");
    wait_for("missed write", || q::<Option<String>>(&mut mid, &["GET", "counter"]).as_deref() == Some("101"));
    let partial_after: i64 = info_field(&mut m, "stats", "sync_partial_ok").parse().unwrap();
    assert_eq!(partial_after, partial_before + 1, "a restarted replica must continue with PSYNC");
    assert!(middle.log().contains("Successful partial resynchronization with master."));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wait_and_min_replicas_to_write() {
    let master = start(&common::binary(), &[]);
    let mut m = authed(&master);
    let port = master.port.to_string();
    let replica = start(&common::binary(), &["--replicaof", "127.0.0.1", &port]);
    let mut r = authed(&replica);
    wait_for("link up", || info_field(&mut r, "replication", "master_link_status") == "up");
    q::<()>(&mut m, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut m, &["WAIT", "1", "5000"]), 1);
    // Two copies cannot be had: the timeout answers with what was acknowledged.
    q::<()>(&mut m, &["SET", "k", "w"]);
    assert_eq!(q::<i64>(&mut m, &["WAIT", "2", "200"]), 1);
    let err = redis::cmd("WAIT").arg(1).arg(0).query::<i64>(&mut r).unwrap_err();
    assert!(err.to_string().contains("WAIT cannot be used with replica instances"), "{err}");

    q::<()>(&mut m, &["CONFIG", "SET", "min-replicas-to-write", "2"]);
    let err = redis::cmd("SET").arg("k").arg("x").query::<()>(&mut m).unwrap_err();
    assert_eq!(err.code(), Some("NOREPLICAS"));
    q::<()>(&mut m, &["CONFIG", "SET", "min-replicas-to-write", "1"]);
    q::<()>(&mut m, &["SET", "k", "x"]);
}

#[test]
fn failover_to_a_replica_continues_the_history() {
    let old = start(&common::binary(), &[]);
    let mut o = authed(&old);
    let port = old.port.to_string();
    let target = start(&common::binary(), &["--replicaof", "127.0.0.1", &port]);
    let mut t = authed(&target);
    wait_for("link up", || info_field(&mut t, "replication", "master_link_status") == "up");
    for _ in 0..50 {
        q::<i64>(&mut o, &["INCR", "counter"]);
    }
    // Online on the master's side too (a diskless sync ends there when its child is reaped).
    wait_for("replica online", || q::<String>(&mut o, &["INFO", "replication"]).contains("state=online"));
    let err = redis::cmd("FAILOVER").arg("TO").arg("127.0.0.1").arg("1").query::<()>(&mut o).unwrap_err();
    assert!(err.to_string().contains("FAILOVER target HOST and PORT is not a replica"), "{err}");
    q::<()>(&mut o, &["FAILOVER", "TO", "127.0.0.1", &target.port.to_string()]);
    wait_for("failover done", || info_field(&mut o, "replication", "master_failover_state") == "no-failover");
    wait_for("roles swapped", || {
        info_field(&mut t, "replication", "role") == "master"
            && info_field(&mut o, "replication", "master_link_status") == "up"
    });
    assert_eq!(info_field(&mut t, "stats", "sync_partial_ok"), "1", "the old master must continue with PSYNC");
    q::<i64>(&mut t, &["INCR", "counter"]);
    wait_for("old master follows", || q::<Option<String>>(&mut o, &["GET", "counter"]).as_deref() == Some("51"));
    assert!(old.log().contains("is synced, failing over."));
}

#[test]
fn a_replica_link_that_sends_a_command_with_a_reply_is_dropped() {
    let master = TestServer::start(&["--repl-diskless-sync-delay", "0"]);
    let mut raw = master.raw();
    raw.send(b"PSYNC ? -1\r\n");
    // Newlines may come first: the keepalive of a replica waiting for its transfer.
    let mut line = raw.read_line();
    while line.is_empty() {
        line = raw.read_line();
    }
    assert!(line.starts_with("+FULLRESYNC"), "{line}");
    raw.send(b"GET foo\r\n");
    // Whatever the RDB transfer sent, the link ends without a GET reply interleaved in it.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = std::io::Read::read(&mut raw.s, &mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(!got.windows(4).any(|w| w == b"$-1\r"), "a GET reply reached the replica link");
    let log = master.log();
    assert!(log.contains("Replica generated a reply to command 'get', disconnecting it:"), "{log}");
    assert!(log.contains("Replica can't interact with the keyspace"), "{log}");
    assert_eq!(q::<String>(&mut master.client(), &["PING"]), "PONG");
}

/// SHUTDOWN with a replica behind waits for it (writes paused, INFO counting down), SHUTDOWN ABORT
/// answers the waiting caller with an error, and once the replica runs again a SHUTDOWN ends the
/// master only after the replica has the last write.
#[test]
fn shutdown_waits_for_a_lagging_replica() {
    let mut master = start(&common::binary(), &["--shutdown-timeout", "60"]);
    let mut m = authed(&master);
    let port = master.port.to_string();
    let replica = start(&common::binary(), &["--replicaof", "127.0.0.1", &port]);
    let mut r = authed(&replica);
    wait_for("replica online", || q::<String>(&mut m, &["INFO", "replication"]).contains("state=online"));
    let stop = |sig: &str| {
        let ok = std::process::Command::new("kill").args([sig, &replica.pid().to_string()]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill {sig}");
    };
    stop("-STOP");
    q::<i64>(&mut m, &["INCR", "counter"]);
    let mut waiting = authed(&master);
    let shutdown = std::thread::spawn(move || redis::cmd("SHUTDOWN").query::<()>(&mut waiting));
    wait_for("shutdown pending", || !info_field(&mut m, "server", "shutdown_in_milliseconds").is_empty());
    assert_eq!(info_field(&mut m, "clients", "blocked_clients"), "1");
    q::<()>(&mut m, &["SHUTDOWN", "ABORT"]);
    let answer = shutdown.join().expect("shutdown thread");
    let err = answer.expect_err("an aborted SHUTDOWN answers with an error");
    assert!(err.to_string().contains("Errors trying to SHUTDOWN. Check logs."), "{err}");
    assert!(master.log().contains("Shutdown manually aborted."));
    assert_eq!(info_field(&mut m, "server", "shutdown_in_milliseconds"), "");

    q::<i64>(&mut m, &["INCR", "counter"]);
    let mut waiting = authed(&master);
    let shutdown = std::thread::spawn(move || redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut waiting));
    wait_for("shutdown pending", || !info_field(&mut m, "server", "shutdown_in_milliseconds").is_empty());
    stop("-CONT");
    // The connection closes without a reply when the server exits.
    assert!(shutdown.join().expect("shutdown thread").is_err());
    assert_eq!(master.stop().map(|s| s.success()), Some(true));
    assert_eq!(q::<String>(&mut r, &["GET", "counter"]), "2");
    let log = master.log();
    assert!(log.contains("Waiting for replicas before shutting down."), "{log}");
    assert!(log.contains("1 of 1 replicas are in sync when shutting down."), "{log}");
}
