//! HyperLogLog through a real client: sketches are byte-identical to Redis 7.0.15's (checked against
//! a real redis-server when installed), the sparse-to-dense promotion follows hll-sparse-max-bytes,
//! the cached cardinality is refreshed and propagated, and corrupt strings are errors.

mod common;
use common::{REDIS_SERVER, TestServer, err, q, temp_dir};
use std::path::Path;

/// The same writes on any server: a few sparse sketches, one promoted to dense, and a merge.
fn build_sketches(con: &mut redis::Connection) -> Vec<Vec<u8>> {
    q::<i64>(con, &["PFADD", "small", "a", "b", "c", "d", "e", "f", "g"]);
    for i in 0..40 {
        let batch: Vec<String> = (0..50).map(|j| format!("e{}", i * 50 + j)).collect();
        let mut args = vec!["PFADD", "big"];
        args.extend(batch.iter().map(String::as_str));
        q::<i64>(con, &args);
    }
    q::<i64>(con, &["PFCOUNT", "small"]);
    q::<()>(con, &["PFMERGE", "merged", "small", "big"]);
    ["small", "big", "merged"].iter().map(|k| q::<Vec<u8>>(con, &["GET", k])).collect()
}

#[test]
fn sketches_count_promote_and_merge() {
    let server = TestServer::start(&[]);
    let mut con = server.client();
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h"]), 1, "PFADD without elements creates the key");
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h"]), 0);
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h", "x", "y", "z"]), 1);
    assert_eq!(q::<i64>(&mut con, &["PFADD", "h", "x"]), 0, "no register changes");
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "h"]), 3);
    assert_eq!(q::<String>(&mut con, &["PFDEBUG", "ENCODING", "h"]), "sparse");
    assert_eq!(q::<i64>(&mut con, &["PFCOUNT", "nokey"]), 0);

    q::<()>(&mut con, &["CONFIG", "SET", "hll-sparse-max-bytes", "30"]);
    let elements: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let mut args = vec!["PFADD", "h"];
    args.extend(elements.iter().map(String::as_str));
    q::<i64>(&mut con, &args);
    assert_eq!(q::<String>(&mut con, &["PFDEBUG", "ENCODING", "h"]), "dense");
    assert_eq!(q::<Vec<u8>>(&mut con, &["GET", "h"]).len(), 12304);
    let union: i64 = q(&mut con, &["PFCOUNT", "h", "nokey"]);
    assert!((21..=25).contains(&union), "union estimate {union}");
    assert_eq!(q::<Vec<i64>>(&mut con, &["PFDEBUG", "GETREG", "h"]).len(), 16384);
}

#[test]
fn corrupt_and_foreign_values_are_errors() {
    let server = TestServer::start(&[]);
    let mut con = server.client();
    q::<()>(&mut con, &["SET", "plain", "hello"]);
    assert!(err(&mut con, &["PFADD", "plain", "a"]).contains("Key is not a valid HyperLogLog string value"));
    q::<i64>(&mut con, &["LPUSH", "list", "a"]);
    assert!(err(&mut con, &["PFCOUNT", "list"]).contains("WRONGTYPE"));
    q::<i64>(&mut con, &["PFADD", "h", "a", "b"]);
    // One register too many at the tail of the sparse body.
    q::<i64>(&mut con, &["APPEND", "h", "\u{1}"]);
    assert!(err(&mut con, &["PFCOUNT", "h"]).contains("Corrupted HLL object detected"));
    // Random bytes over a dense body never bring the server down.
    q::<i64>(&mut con, &["PFADD", "d", "a"]);
    q::<i64>(&mut con, &["PFDEBUG", "TODENSE", "d"]);
    q::<i64>(&mut con, &["SETRANGE", "d", "100", "\u{7f}\u{7f}\u{7f}\u{7f}"]);
    let _: redis::Value = redis::cmd("PFCOUNT").arg("d").query(&mut con).unwrap_or(redis::Value::Nil);
    assert_eq!(q::<String>(&mut con, &["PING"]), "PONG");
}

#[test]
fn cached_cardinality_refresh_reaches_the_replica() {
    let master = TestServer::start(&[]);
    let replica = TestServer::start(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let mut m = master.client();
    let mut r = replica.client();
    q::<i64>(&mut m, &["PFADD", "h", "a", "b", "c"]);
    q::<i64>(&mut m, &["PFCOUNT", "h"]);
    let want: Vec<u8> = q(&mut m, &["GET", "h"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while q::<Option<Vec<u8>>>(&mut r, &["GET", "h"]).as_deref() != Some(&want[..]) {
        assert!(std::time::Instant::now() < deadline, "replica never got the refreshed cache");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn sketches_are_byte_identical_to_real_redis() {
    if !Path::new(REDIS_SERVER).exists() {
        eprintln!("\n!!! {REDIS_SERVER} is not installed: the HyperLogLog interop test was SKIPPED !!!\n");
        return;
    }
    let ours = TestServer::start(&[]);
    let theirs = TestServer::start_in(&temp_dir("hll-real"), REDIS_SERVER, &[]);
    let a = build_sketches(&mut ours.client());
    let b = build_sketches(&mut theirs.client());
    assert_eq!(a, b, "sketch bytes differ from Redis 7.0.15");
}
