//! RDB persistence through the real binary: every type and encoding survives SAVE and a restart,
//! dumps move both ways between ferrodis and real redis-server 7.0.15 with identical DEBUG DIGESTs,
//! redis-check-rdb accepts ferrodis's files, corrupt files refuse to start without being touched,
//! and DUMP/RESTORE interoperate.

mod common;
use common::{REDIS_SERVER, TestServer, q, temp_dir};
use std::process::Command;

/// Small thresholds so one dataset holds both encodings of every type.
const THRESHOLDS: &[&str] = &[
    "--hash-max-listpack-entries",
    "4",
    "--zset-max-listpack-entries",
    "4",
    "--set-max-intset-entries",
    "4",
    "--list-max-listpack-size",
    "3",
];

/// Fill a server with every type in each of its encodings, plus expiries.
fn populate(con: &mut redis::Connection) {
    q::<()>(con, &["SET", "str", "hello"]);
    q::<()>(con, &["SET", "int", "-12345"]);
    q::<()>(con, &["SET", "long", &"abcdefghij".repeat(300)]);
    q::<()>(con, &["SET", "ttl", "v", "PX", "100000000"]);
    q::<i64>(con, &["RPUSH", "list", "a", "1", "b", "2", "c", "-3", "d", &"x".repeat(100)]);
    q::<i64>(con, &["HSET", "hsmall", "f", "v", "n", "7"]);
    q::<i64>(con, &["HSET", "hbig", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]);
    q::<i64>(con, &["SADD", "sint", "1", "2", "-3"]);
    q::<i64>(con, &["SADD", "sints", "1", "2", "3", "4", "5", "6"]);
    q::<i64>(con, &["SADD", "sstr", "a", "b", "c"]);
    q::<i64>(con, &["ZADD", "zsmall", "1", "a", "2.5", "b", "-inf", "c"]);
    q::<i64>(con, &["ZADD", "zbig", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "inf", "f"]);
    // A stream over several nodes, with a deleted entry, a group with pending entries and an idle
    // consumer, and an empty stream with a group.
    q::<()>(con, &["CONFIG", "SET", "stream-node-max-entries", "4"]);
    for i in 1..=10 {
        q::<String>(con, &["XADD", "stream", &format!("{i}-1"), "f", &i.to_string(), "g", "x"]);
    }
    q::<i64>(con, &["XDEL", "stream", "3-1"]);
    q::<()>(con, &["XGROUP", "CREATE", "stream", "grp", "0"]);
    q::<redis::Value>(con, &["XREADGROUP", "GROUP", "grp", "alice", "COUNT", "4", "STREAMS", "stream", ">"]);
    q::<i64>(con, &["XGROUP", "CREATECONSUMER", "stream", "grp", "idle"]);
    q::<()>(con, &["XGROUP", "CREATE", "empty-stream", "g", "$", "MKSTREAM"]);
    q::<()>(con, &["CONFIG", "SET", "stream-node-max-entries", "100"]);
    q::<()>(con, &["SELECT", "3"]);
    q::<()>(con, &["SET", "in-db-3", "x"]);
    q::<()>(con, &["SELECT", "0"]);
}

/// The dataset's digest plus what DEBUG DIGEST leaves out of streams: their groups and pending
/// entries.
fn digest(con: &mut redis::Connection) -> String {
    let d: String = q(con, &["DEBUG", "DIGEST"]);
    if q::<i64>(con, &["EXISTS", "stream"]) == 0 {
        return d;
    }
    let groups: redis::Value = q(con, &["XINFO", "GROUPS", "stream"]);
    let pending: redis::Value = q(con, &["XPENDING", "stream", "grp"]);
    format!("{d} {groups:?} {pending:?}")
}

#[test]
fn every_type_survives_save_and_restart() {
    let dir = temp_dir("rdb-restart");
    let mut args = vec!["--save", "3600 1"];
    args.extend_from_slice(THRESHOLDS);
    let mut srv = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = srv.client();
    populate(&mut con);
    let before = digest(&mut con);
    let encodings: Vec<String> = ["list", "hsmall", "hbig", "sint", "sints", "sstr", "zsmall", "zbig"]
        .iter()
        .map(|k| q(&mut con, &["OBJECT", "ENCODING", k]))
        .collect();
    assert_eq!(
        encodings,
        ["quicklist", "listpack", "hashtable", "intset", "hashtable", "hashtable", "listpack", "skiplist"]
    );
    // SIGTERM with save points saves, like SHUTDOWN.
    drop(con);
    srv.stop();
    assert!(dir.join("dump.rdb").exists(), "no dump after shutdown");
    let srv = TestServer::start_in(&dir, &common::binary(), &args);
    assert!(srv.log().contains("DB loaded from disk"), "{}", srv.log());
    let mut con = srv.client();
    assert_eq!(digest(&mut con), before);
    let ttl: i64 = q(&mut con, &["PTTL", "ttl"]);
    assert!(ttl > 99_000_000, "{ttl}");
    drop(con);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_and_redis_check_rdb() {
    let srv = TestServer::start(THRESHOLDS);
    let mut con = srv.client();
    populate(&mut con);
    let reply: String = q(&mut con, &["BGSAVE"]);
    assert_eq!(reply, "Background saving started");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let info: String = q(&mut con, &["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_last_bgsave_status:ok") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "bgsave did not finish: {info}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = digest(&mut con);
    assert_eq!(q::<String>(&mut con, &["DEBUG", "RELOAD"]), "OK");
    assert_eq!(digest(&mut con), before);
    match Command::new("redis-check-rdb").arg(srv.dir.join("dump.rdb")).output() {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && text.contains("RDB looks OK!"), "{text}");
        }
        Err(_) => eprintln!("\n!!! redis-check-rdb is not installed: its check was SKIPPED !!!\n"),
    }
}

#[test]
fn dumps_move_both_ways_with_real_redis() {
    if !std::path::Path::new(REDIS_SERVER).exists() {
        eprintln!("\n!!! {REDIS_SERVER} is not installed: the interop test was SKIPPED !!!\n");
        return;
    }
    // ferrodis writes, Redis reads.
    let dir = temp_dir("rdb-interop");
    let mut args: Vec<&str> = Vec::new();
    args.extend_from_slice(THRESHOLDS);
    let srv = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = srv.client();
    populate(&mut con);
    let ours = digest(&mut con);
    q::<()>(&mut con, &["SAVE"]);
    drop(con);
    drop(srv);
    let real = TestServer::start_in(&dir, REDIS_SERVER, &args);
    let mut con = real.client();
    assert_eq!(digest(&mut con), ours, "Redis sees a different dataset");
    // Redis writes (after changes of its own), ferrodis reads.
    q::<i64>(&mut con, &["RPUSH", "list", "from-redis"]);
    q::<i64>(&mut con, &["ZADD", "zbig", "9", "z"]);
    let theirs = digest(&mut con);
    q::<()>(&mut con, &["SAVE"]);
    // A DUMP from Redis restores into ferrodis.
    let payload: Vec<u8> = q(&mut con, &["DUMP", "hbig"]);
    drop(con);
    drop(real);
    let srv = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = srv.client();
    assert_eq!(digest(&mut con), theirs, "ferrodis sees a different dataset");
    let _: () = redis::cmd("RESTORE").arg("copy").arg(0).arg(&payload).query(&mut con).expect("restore");
    let a: Vec<String> = q(&mut con, &["HGETALL", "hbig"]);
    let b: Vec<String> = q(&mut con, &["HGETALL", "copy"]);
    assert_eq!(a.len(), b.len());
    drop(con);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_dump_refuses_to_start_and_is_left_alone() {
    let dir = temp_dir("rdb-corrupt");
    let srv = TestServer::start_in(&dir, &common::binary(), &[]);
    let mut con = srv.client();
    populate(&mut con);
    q::<()>(&mut con, &["SAVE"]);
    drop(con);
    drop(srv);
    let path = dir.join("dump.rdb");
    let mut bytes = std::fs::read(&path).expect("dump");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    let out = Command::new(common::binary())
        .args(["--port", &common::free_port().to_string(), "--dir", dir.to_str().expect("utf8"), "--save", ""])
        .output()
        .expect("run");
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "started on a corrupt dump: {log}");
    assert!(log.contains("offset") && log.contains("Terminating server after rdb file reading failure"), "{log}");
    assert_eq!(std::fs::read(&path).expect("dump"), bytes, "the corrupt file was modified");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn restore_rejects_bad_payloads() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    q::<()>(&mut con, &["SET", "k", "v"]);
    let payload: Vec<u8> = q(&mut con, &["DUMP", "k"]);
    let err = |con: &mut redis::Connection, p: &[u8], key: &str| -> String {
        match redis::cmd("RESTORE").arg(key).arg(0).arg(p).query::<()>(con) {
            Err(e) => e.to_string(),
            Ok(()) => "OK".into(),
        }
    };
    assert!(err(&mut con, &payload, "k").contains("Target key name already exists"));
    let mut bad = payload.clone();
    bad[1] ^= 1;
    assert!(err(&mut con, &bad, "n").contains("DUMP payload version or checksum are wrong"));
    assert!(err(&mut con, b"x", "n").contains("DUMP payload version or checksum are wrong"));
    assert_eq!(err(&mut con, &payload, "n"), "OK");
    assert_eq!(q::<String>(&mut con, &["GET", "n"]), "v");
}

#[test]
fn migrate_moves_keys_with_their_ttl_and_propagates_del() {
    let source = TestServer::start(&["--appendonly", "yes"]);
    let target = TestServer::start(&["--requirepass", "pw"]);
    let mut src = source.client();
    let mut dst = redis::Client::open(format!("redis://:pw@127.0.0.1:{}/", target.port))
        .and_then(|c| c.get_connection())
        .expect("target");
    let port = target.port.to_string();
    q::<()>(&mut src, &["SET", "k", "v", "PX", "100000"]);
    q::<i64>(&mut src, &["RPUSH", "list", "a", "b", "c"]);
    q::<()>(&mut src, &["MSET", "a", "1", "b", "2", "c", "3"]);
    // Without AUTH the target refuses every key, and nothing is deleted here.
    let e = common::err(&mut src, &["MIGRATE", "127.0.0.1", &port, "k", "0", "1000"]);
    assert!(e.contains("Target instance replied with error: NOAUTH"), "{e}");
    assert_eq!(q::<i64>(&mut src, &["EXISTS", "k"]), 1);
    assert_eq!(q::<String>(&mut src, &["MIGRATE", "127.0.0.1", &port, "k", "3", "1000", "AUTH", "pw"]), "OK");
    assert_eq!(q::<i64>(&mut src, &["EXISTS", "k"]), 0);
    q::<()>(&mut dst, &["SELECT", "3"]);
    assert_eq!(q::<String>(&mut dst, &["GET", "k"]), "v");
    let ttl: i64 = q(&mut dst, &["PTTL", "k"]);
    assert!(ttl > 90_000 && ttl <= 100_000, "{ttl}");
    // COPY keeps the source; an existing target key needs REPLACE.
    let cmd = ["MIGRATE", "127.0.0.1", &port, "list", "3", "1000", "COPY", "AUTH", "pw"];
    assert_eq!(q::<String>(&mut src, &cmd), "OK");
    assert!(common::err(&mut src, &cmd).contains("BUSYKEY"));
    assert_eq!(q::<String>(&mut src, &[&cmd[..], &["REPLACE"]].concat()), "OK");
    assert_eq!(q::<Vec<String>>(&mut dst, &["LRANGE", "list", "0", "-1"]), ["a", "b", "c"]);
    assert_eq!(q::<i64>(&mut src, &["EXISTS", "list"]), 1);
    // KEYS: only keys the target acknowledged are deleted; missing keys are skipped.
    q::<()>(&mut dst, &["SET", "b", "busy"]);
    let e = common::err(
        &mut src,
        &["MIGRATE", "127.0.0.1", &port, "", "3", "1000", "AUTH", "pw", "KEYS", "a", "b", "c", "nokey"],
    );
    assert!(e.contains("BUSYKEY"), "{e}");
    assert_eq!(q::<Vec<String>>(&mut src, &["KEYS", "*"]).len(), 2, "b and list stay");
    assert_eq!(q::<String>(&mut src, &["MIGRATE", "127.0.0.1", &port, "nokey", "0", "1000"]), "NOKEY");
    let info: String = q(&mut src, &["INFO", "stats"]);
    assert!(info.contains("migrate_cached_sockets:1"), "{info}");
    // The AOF recorded the moves as DELs, never as MIGRATE (the password must not leak into it).
    let aof_dir = source.dir.join("appendonlydir");
    let mut logged = Vec::new();
    for entry in std::fs::read_dir(&aof_dir).expect("aof dir").flatten() {
        if entry.file_name().to_string_lossy().contains(".incr.") {
            logged.extend(std::fs::read(entry.path()).expect("incr file"));
        }
    }
    let logged = String::from_utf8_lossy(&logged);
    assert!(logged.contains("DEL\r\n$1\r\nk\r\n"), "{logged}");
    assert!(!logged.to_ascii_uppercase().contains("MIGRATE"), "{logged}");
}

#[test]
fn migrate_into_real_redis() {
    if !std::path::Path::new(REDIS_SERVER).exists() {
        eprintln!("\n!!! {REDIS_SERVER} is not installed: the MIGRATE interop test was SKIPPED !!!\n");
        return;
    }
    let dir = temp_dir("migrate-interop");
    let real = TestServer::start_in(&dir, REDIS_SERVER, &[]);
    let source = TestServer::start(THRESHOLDS);
    let mut src = source.client();
    populate(&mut src);
    // A relative TTL crosses as the remaining milliseconds, so its key would not digest the same.
    q::<i64>(&mut src, &["DEL", "ttl"]);
    let before = digest(&mut src);
    let keys: Vec<String> = q(&mut src, &["KEYS", "*"]);
    let port = real.port.to_string();
    let mut cmd = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    cmd.extend(keys.iter().map(String::as_str));
    assert_eq!(q::<String>(&mut src, &cmd), "OK");
    assert_eq!(q::<i64>(&mut src, &["DBSIZE"]), 0);
    // Back the other way, from real Redis into ferrodis (db 3's key stays behind in both).
    let mut dst = real.client();
    let ours = source.port.to_string();
    let mut back = vec!["MIGRATE", "127.0.0.1", &ours, "", "0", "5000", "KEYS"];
    back.extend(keys.iter().map(String::as_str));
    assert_eq!(q::<String>(&mut dst, &back), "OK");
    assert_eq!(digest(&mut src), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lfu_frequency_is_tracked_restored_and_saved() {
    let dir = temp_dir("rdb-lfu");
    let args = ["--maxmemory-policy", "allkeys-lfu", "--save", "3600 1"];
    let mut srv = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = srv.client();
    q::<()>(&mut con, &["SET", "fresh", "v"]);
    // A new key starts at LFU_INIT_VAL and the first reads count for sure.
    assert_eq!(q::<i64>(&mut con, &["OBJECT", "FREQ", "fresh"]), 5);
    q::<String>(&mut con, &["GET", "fresh"]);
    assert_eq!(q::<i64>(&mut con, &["OBJECT", "FREQ", "fresh"]), 6);
    let payload: Vec<u8> = q(&mut con, &["DUMP", "fresh"]);
    let _: () =
        redis::cmd("RESTORE").arg("hot").arg(0).arg(&payload).arg("FREQ").arg(100).query(&mut con).expect("restore");
    assert_eq!(q::<i64>(&mut con, &["OBJECT", "FREQ", "hot"]), 100);
    assert!(common::err(&mut con, &["OBJECT", "IDLETIME", "hot"]).contains("An LFU maxmemory policy is selected"));
    q::<()>(&mut con, &["SAVE"]);
    drop(con);
    srv.stop();
    let srv = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = srv.client();
    assert_eq!(q::<i64>(&mut con, &["OBJECT", "FREQ", "hot"]), 100, "the RDB's FREQ record was not kept");
    // Switching to an LRU policy at run time reads the same bits as an access time.
    q::<()>(&mut con, &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]);
    assert!(common::err(&mut con, &["OBJECT", "FREQ", "hot"]).contains("An LFU maxmemory policy is not selected"));
    drop(con);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
