//! AOF persistence through the real binary: writes survive a restart under every fsync policy, a
//! `kill -9` under `appendfsync always` loses no acknowledged write, torn tails are cut (or refused),
//! a Redis 6.2 single-file AOF is upgraded, BGREWRITEAOF keeps the data, real redis-server 7.0.15
//! and ferrodis start from each other's AOF directories, and redis-check-aof accepts our files.

mod common;
use common::{REDIS_SERVER, TestServer, q, temp_dir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const REDIS_CHECK_AOF: &str = "/usr/bin/redis-check-aof";

/// The dataset's digest plus the stream state DEBUG DIGEST leaves out: the group's position and
/// pending entries, the stream's last ID and counter. (Not the group's entries-read: Redis logs a
/// group read as XCLAIMs, which do not carry it, so a reload shows it unknown, in Redis too.)
fn digest(con: &mut redis::Connection) -> String {
    let d: String = q(con, &["DEBUG", "DIGEST"]);
    if q::<i64>(con, &["EXISTS", "stream"]) == 0 {
        return d;
    }
    let groups: Vec<std::collections::HashMap<String, redis::Value>> = q(con, &["XINFO", "GROUPS", "stream"]);
    let group: Vec<_> =
        ["name", "consumers", "pending", "last-delivered-id"].iter().map(|f| groups[0].get(*f)).collect();
    let pending: redis::Value = q(con, &["XPENDING", "stream", "grp"]);
    let info: std::collections::HashMap<String, redis::Value> = q(con, &["XINFO", "STREAM", "stream"]);
    format!("{d} {group:?} {pending:?} {:?} {:?}", info.get("last-generated-id"), info.get("entries-added"))
}

/// Every type, expiry in both directions, a transaction, a blocking pop served at once, and a
/// relative expiry that must come back as the same absolute time.
fn populate(con: &mut redis::Connection) {
    q::<()>(con, &["SET", "str", "hello"]);
    q::<i64>(con, &["INCRBY", "counter", "41"]);
    q::<i64>(con, &["INCR", "counter"]);
    q::<String>(con, &["INCRBYFLOAT", "float", "1.1"]);
    q::<()>(con, &["SET", "ttl", "v", "EX", "100000"]);
    q::<()>(con, &["SETEX", "ttl2", "100000", "v"]);
    q::<i64>(con, &["EXPIRE", "str", "50000"]);
    q::<i64>(con, &["RPUSH", "list", "a", "b", "c", "d"]);
    q::<Vec<String>>(con, &["BLPOP", "list", "0"]);
    q::<i64>(con, &["HSET", "hash", "f", "v", "n", "1"]);
    q::<String>(con, &["HINCRBYFLOAT", "hash", "n", "0.5"]);
    q::<i64>(con, &["SADD", "set", "1", "2", "3", "x"]);
    q::<Option<String>>(con, &["SPOP", "set"]);
    q::<i64>(con, &["ZADD", "zset", "1", "a", "2.5", "b", "3", "c"]);
    q::<Vec<String>>(con, &["ZPOPMIN", "zset"]);
    // A stream with an auto ID, a trim, a deleted last entry and a group read (logged as XCLAIMs).
    q::<String>(con, &["XADD", "stream", "*", "f", "1"]);
    q::<String>(con, &["XADD", "stream", "MAXLEN", "~", "10", "*", "f", "2"]);
    q::<String>(con, &["XADD", "stream", "*", "f", "3"]);
    q::<i64>(con, &["XGROUP", "DESTROY", "stream", "grp"]);
    q::<()>(con, &["XGROUP", "CREATE", "stream", "grp", "0"]);
    q::<redis::Value>(con, &["XREADGROUP", "GROUP", "grp", "c1", "COUNT", "2", "STREAMS", "stream", ">"]);
    let last: Vec<(String, Vec<String>)> = q(con, &["XREVRANGE", "stream", "+", "-", "COUNT", "1"]);
    q::<i64>(con, &["XDEL", "stream", &last[0].0]);
    q::<()>(con, &["SELECT", "3"]);
    q::<()>(con, &["SET", "db3", "x"]);
    q::<()>(con, &["SELECT", "0"]);
    let (): () = redis::pipe().atomic().cmd("SET").arg("m1").arg("1").cmd("SET").arg("m2").arg("2").query(con).unwrap();
    q::<i64>(con, &["DEL", "m1"]);
    q::<()>(con, &["SET", "gone", "x", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(5));
    q::<Option<String>>(con, &["GET", "gone"]);
}

fn incr_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("appendonlydir"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(".incr.aof"));
    v.sort();
    v
}

#[test]
fn writes_survive_a_restart_under_each_fsync_policy() {
    for policy in ["always", "everysec", "no"] {
        let dir = temp_dir("aof-policy");
        let args = ["--appendonly", "yes", "--appendfsync", policy];
        let mut s = TestServer::start_in(&dir, &common::binary(), &args);
        let mut con = s.client();
        populate(&mut con);
        let before = digest(&mut con);
        let ttl_before: i64 = q(&mut con, &["PEXPIRETIME", "ttl"]);
        s.stop();
        let manifest = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
        assert_eq!(
            manifest,
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        );
        let incr = std::fs::read(&incr_files(&dir)[0]).unwrap();
        let text = String::from_utf8_lossy(&incr);
        // Relative expiry and blocking pops are logged in the form that replays identically.
        assert!(text.contains("$4\r\nPXAT\r\n"), "{text}");
        assert!(text.contains("$9\r\nPEXPIREAT\r\n"), "{text}");
        assert!(text.contains("$4\r\nLPOP\r\n"), "{text}");
        assert!(text.contains("*1\r\n$5\r\nMULTI\r\n"), "{text}");
        assert!(!text.contains("BLPOP") && !text.contains("INCRBYFLOAT"), "{text}");

        let s2 = TestServer::start_in(&dir, &common::binary(), &args);
        let mut con = s2.client();
        assert_eq!(digest(&mut con), before, "policy {policy}");
        assert_eq!(q::<i64>(&mut con, &["PEXPIRETIME", "ttl"]), ttl_before);
        assert!(s2.log().contains("DB loaded from append only file"), "{}", s2.log());
        drop(s2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn kill9_under_always_loses_no_acknowledged_write() {
    for round in 0..5u64 {
        let dir = temp_dir("aof-crash");
        let args = ["--appendonly", "yes", "--appendfsync", "always"];
        let mut s = TestServer::start_in(&dir, &common::binary(), &args);
        let port = s.port;
        let writer = std::thread::spawn(move || {
            let mut con = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
            let mut acked = 0i64;
            loop {
                let r: redis::RedisResult<i64> = redis::cmd("INCR").arg("counter").query(&mut con);
                match r {
                    Ok(v) => {
                        acked = v;
                        let _: redis::RedisResult<()> = redis::cmd("SET").arg(format!("k{v}")).arg(v).query(&mut con);
                    }
                    Err(_) => return acked,
                }
            }
        });
        std::thread::sleep(Duration::from_millis(100 + round * 37));
        s.kill9();
        let acked = writer.join().unwrap();
        assert!(acked > 0);
        let s2 = TestServer::start_in(&dir, &common::binary(), &args);
        let mut con = s2.client();
        let stored: i64 = q::<Option<i64>>(&mut con, &["GET", "counter"]).unwrap_or(0);
        assert!(stored >= acked, "round {round}: acknowledged {acked}, found {stored}");
        drop(s2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn torn_tail_is_cut_at_the_last_complete_command_or_refused() {
    let dir = temp_dir("aof-torn");
    let args = ["--appendonly", "yes"];
    let mut s = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = s.client();
    for i in 0..20 {
        q::<()>(&mut con, &["SET", &format!("key{i}"), &format!("value{i}")]);
    }
    s.stop();
    let incr = incr_files(&dir).pop().unwrap();
    let full = std::fs::read(&incr).unwrap();
    let one = b"*3\r\n$3\r\nSET\r\n$7\r\npartial\r\n$5\r\nvalue\r\n";
    let mut rng = 0x2545F4914F6CDD1Du64;
    for _ in 0..6 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let cut = 1 + (rng as usize) % (one.len() - 1);
        let mut torn = full.clone();
        torn.extend_from_slice(&one[..cut]);
        std::fs::write(&incr, &torn).unwrap();

        // Refused without aof-load-truncated, file untouched.
        let out = Command::new(common::binary())
            .args(["--port", &common::free_port().to_string(), "--bind", "127.0.0.1", "--dir", dir.to_str().unwrap()])
            .args(["--appendonly", "yes", "--aof-load-truncated", "no"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("Unexpected end of file reading the append only file"));
        assert_eq!(std::fs::read(&incr).unwrap(), torn);

        // Loaded and truncated with it.
        let s2 = TestServer::start_in(&dir, &common::binary(), &args);
        let mut con = s2.client();
        assert_eq!(q::<i64>(&mut con, &["DBSIZE"]), 20);
        assert!(s2.log().contains(&format!("Truncating the AOF appendonly.aof.1.incr.aof at offset {}", full.len())));
        drop(s2);
        assert_eq!(std::fs::read(&incr).unwrap(), full);
    }
    std::fs::write(&incr, [full.as_slice(), b"!!!garbage\r\n"].concat()).unwrap();
    let out = Command::new(common::binary())
        .args(["--port", &common::free_port().to_string(), "--bind", "127.0.0.1", "--dir", dir.to_str().unwrap()])
        .args(["--appendonly", "yes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Bad file format reading the append only file"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_62_single_file_is_upgraded_into_the_directory_layout() {
    let dir = temp_dir("aof-upgrade");
    let mut old = Vec::new();
    for (k, v) in [("user", "ann"), ("counter", "7")] {
        old.extend_from_slice(format!("*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n", k.len(), v.len()).as_bytes());
    }
    std::fs::write(dir.join("appendonly.aof"), &old).unwrap();
    let args = ["--appendonly", "yes", "--appendfilename", "appendonly.aof"];
    let s = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = s.client();
    assert_eq!(q::<String>(&mut con, &["GET", "counter"]), "7");
    q::<i64>(&mut con, &["INCR", "counter"]);
    assert!(s.log().contains(
        "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."
    ));
    assert!(!dir.join("appendonly.aof").exists());
    assert_eq!(std::fs::read(dir.join("appendonlydir/appendonly.aof")).unwrap(), old);
    let manifest = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
    assert_eq!(manifest, "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    drop(s);
    let s = TestServer::start_in(&dir, &common::binary(), &args);
    assert_eq!(q::<String>(&mut s.client(), &["GET", "counter"]), "8");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

fn wait_rewrite_done(con: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info: String = q(con, &["INFO", "persistence"]);
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bgrewriteaof_swaps_base_and_incr_and_keeps_the_data() {
    for preamble in ["yes", "no"] {
        let dir = temp_dir("aof-rewrite");
        let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
        let mut s = TestServer::start_in(&dir, &common::binary(), &args);
        let mut con = s.client();
        populate(&mut con);
        for i in 0..200 {
            q::<i64>(&mut con, &["RPUSH", "biglist", &i.to_string()]);
        }
        assert_eq!(q::<String>(&mut con, &["BGREWRITEAOF"]), "Background append only file rewriting started");
        wait_rewrite_done(&mut con);
        q::<()>(&mut con, &["SET", "after", "rewrite"]);
        let before = digest(&mut con);
        s.stop();
        let suffix = if preamble == "yes" { "rdb" } else { "aof" };
        let manifest = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap();
        assert_eq!(
            manifest,
            format!("file appendonly.aof.2.base.{suffix} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        );
        assert!(!dir.join("appendonlydir/appendonly.aof.1.incr.aof").exists(), "history files are removed");
        let s2 = TestServer::start_in(&dir, &common::binary(), &args);
        assert_eq!(digest(&mut s2.client()), before, "preamble {preamble}");
        drop(s2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn config_set_appendonly_writes_a_base_first() {
    let dir = temp_dir("aof-enable");
    let mut s = TestServer::start_in(&dir, &common::binary(), &[]);
    let mut con = s.client();
    populate(&mut con);
    q::<()>(&mut con, &["CONFIG", "SET", "appendonly", "yes"]);
    wait_rewrite_done(&mut con);
    q::<()>(&mut con, &["SET", "later", "1"]);
    let before = digest(&mut con);
    s.stop();
    let s2 = TestServer::start_in(&dir, &common::binary(), &["--appendonly", "yes"]);
    assert_eq!(digest(&mut s2.client()), before);
    drop(s2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_check_aof_accepts_ferrodis_files() {
    if !Path::new(REDIS_CHECK_AOF).exists() {
        eprintln!("\n!!! {REDIS_CHECK_AOF} is not installed: the check was SKIPPED !!!\n");
        return;
    }
    for preamble in ["yes", "no"] {
        let dir = temp_dir("aof-check");
        let args = ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble];
        let mut s = TestServer::start_in(&dir, &common::binary(), &args);
        let mut con = s.client();
        populate(&mut con);
        q::<String>(&mut con, &["BGREWRITEAOF"]);
        wait_rewrite_done(&mut con);
        populate(&mut con);
        s.stop();
        let out =
            Command::new(REDIS_CHECK_AOF).arg(dir.join("appendonlydir/appendonly.aof.manifest")).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("is valid"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn aof_directories_move_both_ways_with_real_redis() {
    if !Path::new(REDIS_SERVER).exists() {
        eprintln!("\n!!! {REDIS_SERVER} is not installed: the interop test was SKIPPED !!!\n");
        return;
    }
    let args = ["--appendonly", "yes", "--save", ""];
    // ferrodis writes, real Redis reads.
    let dir = temp_dir("aof-interop");
    let mut ours = TestServer::start_in(&dir, &common::binary(), &args);
    let mut con = ours.client();
    populate(&mut con);
    let d1 = digest(&mut con);
    ours.stop();
    let mut real = TestServer::start_in(&dir, REDIS_SERVER, &args);
    let mut rcon = real.client();
    assert_eq!(digest(&mut rcon), d1, "real Redis loaded a different dataset");
    // Real Redis writes more (and rewrites), ferrodis reads.
    q::<()>(&mut rcon, &["SET", "from-real", "1"]);
    q::<String>(&mut rcon, &["BGREWRITEAOF"]);
    wait_rewrite_done(&mut rcon);
    q::<i64>(&mut rcon, &["LPUSH", "after-real-rewrite", "x"]);
    let d2 = digest(&mut rcon);
    real.stop();
    let ours = TestServer::start_in(&dir, &common::binary(), &args);
    assert_eq!(digest(&mut ours.client()), d2, "ferrodis loaded a different dataset");
    drop(ours);
    let _ = std::fs::remove_dir_all(&dir);
}
