//! Keys, expiry and transactions through a real client.

mod common;
use common::TestServer;
use std::time::Duration;

fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| redis::Value::SimpleString(format!("ERR {e}")))
}

#[test]
fn expiry_lazy_and_active() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("a").arg("1").arg("PX").arg(100).query(&mut con).expect("set");
    let _: () = redis::cmd("SET").arg("b").arg("1").arg("PX").arg(100).query(&mut con).expect("set");
    let ttl: i64 = redis::cmd("PTTL").arg("a").query(&mut con).expect("pttl");
    assert!(ttl > 0 && ttl <= 100);
    std::thread::sleep(Duration::from_millis(150));
    let v: Option<String> = redis::cmd("GET").arg("a").query(&mut con).expect("get");
    assert_eq!(v, None);
    // "b" is never touched again: the active cycle must remove it.
    std::thread::sleep(Duration::from_millis(500));
    let size: i64 = redis::cmd("DBSIZE").query(&mut con).expect("dbsize");
    assert_eq!(size, 0);
    let expired: String = redis::cmd("INFO").arg("stats").query(&mut con).expect("info");
    assert!(expired.contains("expired_keys:2"), "{expired}");
}

#[test]
fn scan_returns_every_key() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("DEBUG").arg("POPULATE").arg(5000).query(&mut con).expect("populate");
    let mut cursor = 0u64;
    let mut seen = std::collections::HashSet::new();
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(100).query(&mut con).expect("scan");
        seen.extend(keys);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 5000);
    let keys: Vec<String> = redis::cmd("KEYS").arg("key:99?").query(&mut con).expect("keys");
    assert_eq!(keys.len(), 10);
}

#[test]
fn multi_exec_and_watch() {
    let srv = TestServer::start(&[]);
    let mut a = srv.client();
    let mut b = srv.client();
    assert_eq!(cmd(&mut a, &["MULTI"]), redis::Value::Okay);
    assert_eq!(cmd(&mut a, &["INCR", "x"]), redis::Value::SimpleString("QUEUED".into()));
    assert_eq!(cmd(&mut a, &["INCR", "x"]), redis::Value::SimpleString("QUEUED".into()));
    assert_eq!(cmd(&mut a, &["EXEC"]), redis::Value::Array(vec![redis::Value::Int(1), redis::Value::Int(2)]));
    // WATCH: a write from another client aborts EXEC with a null array.
    cmd(&mut a, &["WATCH", "x"]);
    cmd(&mut b, &["SET", "x", "100"]);
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["INCR", "x"]);
    assert_eq!(cmd(&mut a, &["EXEC"]), redis::Value::Nil);
    let v: i64 = redis::cmd("GET").arg("x").query(&mut a).expect("get");
    assert_eq!(v, 100);
}

#[test]
fn execabort_after_queue_error() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    c.roundtrip(b"SET a\r\n", b"-ERR wrong number of arguments for 'set' command\r\n");
    c.roundtrip(b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n");
}

#[test]
fn object_encoding_follows_redis() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(b"SET n 12345\r\n", b"+OK\r\n");
    c.roundtrip(b"OBJECT ENCODING n\r\n", b"$3\r\nint\r\n");
    c.roundtrip(b"SET s hello\r\n", b"+OK\r\n");
    c.roundtrip(b"OBJECT ENCODING s\r\n", b"$6\r\nembstr\r\n");
    c.roundtrip(b"APPEND s x\r\n", b":6\r\n");
    c.roundtrip(b"OBJECT ENCODING s\r\n", b"$3\r\nraw\r\n");
}

/// INFO's `used_memory:<n>` and friends as numbers.
fn info_field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .trim()
        .to_string()
}

#[test]
fn memory_is_accounted_by_jemalloc() {
    let srv = TestServer::start(&["--enable-debug-command", "yes"]);
    let mut con = srv.client();
    let info: String = common::q(&mut con, &["INFO", "memory"]);
    assert!(info_field(&info, "mem_allocator").starts_with("jemalloc-5."), "{info}");
    let before: u64 = info_field(&info, "used_memory").parse().expect("number");
    let _: () = common::q(&mut con, &["DEBUG", "POPULATE", "100000"]);
    let info: String = common::q(&mut con, &["INFO", "memory"]);
    let full: u64 = info_field(&info, "used_memory").parse().expect("number");
    let allocated: u64 = info_field(&info, "allocator_allocated").parse().expect("number");
    let resident: u64 = info_field(&info, "allocator_resident").parse().expect("number");
    // 100k keys take well over 4 MB in any layout; jemalloc's own figure rounds up to size classes.
    assert!(full > before + 4_000_000, "{before} -> {full}");
    assert!(allocated >= full / 2 && resident >= allocated, "{info}");
    let _: () = common::q(&mut con, &["FLUSHALL"]);
    let _: () = common::q(&mut con, &["MEMORY", "PURGE"]);
    let info: String = common::q(&mut con, &["INFO", "memory"]);
    let after: u64 = info_field(&info, "used_memory").parse().expect("number");
    assert!(after < full - 4_000_000, "{full} -> {after}");
    let report: String = common::q(&mut con, &["MEMORY", "MALLOC-STATS"]);
    assert!(report.contains("jemalloc statistics"), "{}", &report[..report.len().min(200)]);
}
