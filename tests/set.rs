//! Set commands through a real client: encodings and their conversions, SPOP/SRANDMEMBER counts, the
//! STORE commands, errors and RESP3 shapes, checked against replies captured from Redis 7.0.15.

mod common;
use common::TestServer;
use std::collections::{BTreeSet, HashMap};

fn cmd(con: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| redis::Value::SimpleString(format!("ERR {e}")))
}

fn int(con: &mut redis::Connection, args: &[&str]) -> i64 {
    match cmd(con, args) {
        redis::Value::Int(n) => n,
        other => panic!("{args:?}: expected an integer, got {other:?}"),
    }
}

fn encoding(con: &mut redis::Connection, key: &str) -> String {
    redis::cmd("OBJECT").arg("ENCODING").arg(key).query(con).expect("object encoding")
}

/// The members of a multi-bulk/set reply, sorted.
fn members(con: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    let mut v: Vec<String> = c.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    v.sort();
    v
}

fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    match cmd(con, args) {
        redis::Value::SimpleString(s) if s.starts_with("ERR ") => s,
        other => panic!("{args:?}: expected an error, got {other:?}"),
    }
}

#[test]
fn encodings_and_conversions() {
    let srv = TestServer::start(&["--set-max-intset-entries", "4"]);
    let mut con = srv.client();
    assert_eq!(int(&mut con, &["SADD", "s", "1", "2", "3", "4"]), 4);
    assert_eq!(encoding(&mut con, "s"), "intset");
    assert_eq!(int(&mut con, &["SADD", "s", "5"]), 1);
    assert_eq!(encoding(&mut con, "s"), "hashtable");
    assert_eq!(int(&mut con, &["SREM", "s", "5", "4"]), 2);
    assert_eq!(encoding(&mut con, "s"), "hashtable", "never converts back");

    assert_eq!(int(&mut con, &["SADD", "a", "x"]), 1);
    assert_eq!(encoding(&mut con, "a"), "hashtable");
    assert_eq!(int(&mut con, &["SADD", "n", "007"]), 1);
    assert_eq!(encoding(&mut con, "n"), "hashtable", "a non-canonical integer is a string");
    assert_eq!(int(&mut con, &["SADD", "big", "213244124402402314402033402"]), 1);
    assert_eq!(encoding(&mut con, "big"), "hashtable");
    assert_eq!(int(&mut con, &["SADD", "i", "-9223372036854775808", "9223372036854775807"]), 2);
    assert_eq!(encoding(&mut con, "i"), "intset");
    assert_eq!(int(&mut con, &["SADD", "i", "x"]), 1);
    assert_eq!(encoding(&mut con, "i"), "hashtable");
    assert_eq!(members(&mut con, &["SMEMBERS", "i"]), ["-9223372036854775808", "9223372036854775807", "x"]);
    assert_eq!(int(&mut con, &["SISMEMBER", "i", "9223372036854775807"]), 1);

    // SMOVE creates the destination for the member's kind; an integer keeps an intset as it is.
    assert_eq!(int(&mut con, &["SADD", "src", "1", "a"]), 2);
    assert_eq!(int(&mut con, &["SMOVE", "src", "dst", "1"]), 1);
    assert_eq!(encoding(&mut con, "dst"), "intset");
    assert_eq!(int(&mut con, &["SMOVE", "src", "dst", "a"]), 1);
    assert_eq!(encoding(&mut con, "dst"), "hashtable");
    assert_eq!(int(&mut con, &["EXISTS", "src"]), 0, "emptied source is deleted");
}

#[test]
fn store_commands_keep_redis_encodings() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    int(&mut con, &["SADD", "a", "1", "2", "3", "x"]);
    int(&mut con, &["SADD", "b", "1", "2", "x", "y"]);
    int(&mut con, &["SADD", "c", "2", "3", "4"]);
    // An intersection of hash tables that holds only integers is stored as an intset.
    int(&mut con, &["SREM", "a", "x"]);
    assert_eq!(int(&mut con, &["SINTERSTORE", "r", "a", "b"]), 2);
    assert_eq!(encoding(&mut con, "r"), "intset");
    assert_eq!(members(&mut con, &["SMEMBERS", "r"]), ["1", "2"]);
    assert_eq!(int(&mut con, &["SUNIONSTORE", "r", "a", "b"]), 5);
    assert_eq!(encoding(&mut con, "r"), "hashtable");
    assert_eq!(int(&mut con, &["SDIFFSTORE", "r", "c", "a"]), 1);
    assert_eq!(encoding(&mut con, "r"), "intset");
    assert_eq!(members(&mut con, &["SMEMBERS", "r"]), ["4"]);
    assert_eq!(int(&mut con, &["SINTERCARD", "2", "a", "b"]), 2);
    assert_eq!(int(&mut con, &["SINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);

    // Storing drops the destination's TTL; an empty result deletes it.
    let _: () = redis::cmd("EXPIRE").arg("r").arg(100).query(&mut con).expect("expire");
    assert_eq!(int(&mut con, &["SUNIONSTORE", "r", "c"]), 3);
    assert_eq!(int(&mut con, &["TTL", "r"]), -1);
    assert_eq!(int(&mut con, &["SINTERSTORE", "r", "c", "nokey"]), 0);
    assert_eq!(int(&mut con, &["EXISTS", "r"]), 0);
    let _: () = redis::cmd("SET").arg("r").arg("str").query(&mut con).expect("set");
    assert_eq!(int(&mut con, &["SDIFFSTORE", "r", "c", "c"]), 0);
    assert_eq!(int(&mut con, &["EXISTS", "r"]), 0);

    assert_eq!(members(&mut con, &["SDIFF", "b", "a", "nokey"]), ["x", "y"]);
    assert_eq!(members(&mut con, &["SUNION", "nokey", "c"]), ["2", "3", "4"]);
    assert_eq!(members(&mut con, &["SINTER", "c", "c"]), ["2", "3", "4"]);
}

#[test]
fn spop_and_srandmember_counts() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    for (key, contents) in
        [("h", (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>()), ("i", (0..20).map(|i| i.to_string()).collect())]
    {
        let all: BTreeSet<String> = contents.iter().cloned().collect();
        // Both SPOP strategies (one by one for few, rebuild for many) and the whole-set case.
        for n in [2usize, 18, 20, 25] {
            let mut args = vec!["SADD", key];
            args.extend(contents.iter().map(String::as_str));
            cmd(&mut con, &args);
            let popped = members(&mut con, &["SPOP", key, &n.to_string()]);
            assert_eq!(popped.len(), n.min(20));
            let left = members(&mut con, &["SMEMBERS", key]);
            assert_eq!(left.len(), 20 - n.min(20));
            let union: BTreeSet<String> = popped.into_iter().chain(left).collect();
            assert_eq!(union, all);
            cmd(&mut con, &["DEL", key]);
        }
        let mut args = vec!["SADD", key];
        args.extend(contents.iter().map(String::as_str));
        cmd(&mut con, &args);
        // Every SRANDMEMBER path: negative, whole set, copy-and-drop, sampling.
        let neg = members(&mut con, &["SRANDMEMBER", key, "-100"]);
        assert_eq!(neg.len(), 100);
        assert!(neg.iter().all(|m| all.contains(m)));
        for n in [30usize, 20, 15, 3] {
            let got = members(&mut con, &["SRANDMEMBER", key, &n.to_string()]);
            let distinct: BTreeSet<&String> = got.iter().collect();
            assert_eq!(got.len(), n.min(20));
            assert_eq!(distinct.len(), got.len());
            assert!(got.iter().all(|m| all.contains(m)));
        }
        assert_eq!(int(&mut con, &["SCARD", key]), 20);
    }
    // Sampling is even: 10 members, 5000 draws, chi-square well under the suite's bound of 40.
    cmd(&mut con, &["SADD", "d", "1", "5", "10", "50", "125", "MARY", "PATRICIA", "LINDA", "BARBARA", "ELIZABETH"]);
    let draws = members(&mut con, &["SRANDMEMBER", "d", "-5000"]);
    let mut hist: HashMap<String, usize> = HashMap::new();
    draws.into_iter().for_each(|m| *hist.entry(m).or_default() += 1);
    assert_eq!(hist.len(), 10);
    let chi: f64 = hist.values().map(|&n| (n as f64 - 500.0).powi(2) / 500.0).sum();
    assert!(chi < 40.0, "{hist:?}");
}

#[test]
fn errors_and_wrong_types() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("str").arg("x").query(&mut con).expect("set");
    int(&mut con, &["SADD", "s", "a"]);
    for args in [
        &["SADD", "str", "a"][..],
        &["SMEMBERS", "str"],
        &["SINTER", "nokey", "str"],
        &["SUNION", "s", "str"],
        &["SDIFF", "nokey", "str"],
        &["SMOVE", "s", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SINTERCARD", "2", "s", "str"],
        &["SSCAN", "str", "0"],
    ] {
        let e = format!("{:?}", redis::cmd(args[0]).arg(&args[1..]).query::<redis::Value>(&mut con));
        assert!(e.contains("WRONGTYPE"), "{args:?}: {e}");
    }
    assert_eq!(int(&mut con, &["SMOVE", "nokey", "str", "a"]), 0, "a missing source wins over the type");
    assert!(err(&mut con, &["SPOP", "s", "-1"]).contains("value is out of range, must be positive"));
    assert!(err(&mut con, &["SPOP", "s", "x"]).contains("value is out of range, must be positive"));
    assert!(err(&mut con, &["SRANDMEMBER", "s", "-9223372036854775808"]).contains("value is out of range"));
    assert!(err(&mut con, &["SINTERCARD", "0", "s"]).contains("numkeys should be greater than 0"));
    assert!(err(&mut con, &["SINTERCARD", "2", "s"]).contains("Number of keys can't be greater than number of args"));
    assert!(err(&mut con, &["SINTERCARD", "1", "s", "LIMIT", "-1"]).contains("LIMIT can't be negative"));
    assert!(err(&mut con, &["SINTERCARD", "1", "s", "LIMIT"]).contains("syntax error"));
    assert!(err(&mut con, &["SSCAN", "s", "x"]).contains("invalid cursor"));
    assert!(err(&mut con, &["SSCAN", "s", "0", "COUNT", "0"]).contains("syntax error"));
    assert!(err(&mut con, &["SSCAN", "s", "0", "TYPE", "set"]).contains("syntax error"));
    assert!(err(&mut con, &["SPOP", "s", "1", "2"]).contains("syntax error"));
}

#[test]
fn raw_replies_resp2_and_resp3() {
    let srv = TestServer::start(&[]);
    let mut raw = srv.raw();
    raw.roundtrip(b"SADD s 3 1 2\r\n", b":3\r\n");
    raw.roundtrip(b"SMEMBERS s\r\n", b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    raw.roundtrip(b"SRANDMEMBER nokey 5\r\n", b"*0\r\n");
    raw.roundtrip(b"SRANDMEMBER s 0\r\n", b"*0\r\n");
    raw.roundtrip(b"SPOP nokey\r\n", b"$-1\r\n");
    raw.roundtrip(b"SSCAN nokey 0 COUNT 0\r\n", b"*2\r\n$1\r\n0\r\n*0\r\n");
    raw.roundtrip(b"SSCAN s 7 MATCH 2\r\n", b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\n2\r\n");
    raw.roundtrip(b"SMISMEMBER s 1 9\r\n", b"*2\r\n:1\r\n:0\r\n");
    raw.send(b"HELLO 3\r\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut hello = [0u8; 4096];
    let n = std::io::Read::read(&mut raw.s, &mut hello).expect("hello");
    assert!(hello[..n].starts_with(b"%"));
    raw.roundtrip(b"SINTER s s\r\n", b"~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    raw.roundtrip(b"SUNION nokey\r\n", b"~0\r\n");
    raw.roundtrip(b"SPOP nokey 2\r\n", b"~0\r\n");
    raw.roundtrip(b"SPOP nokey\r\n", b"_\r\n");
    raw.roundtrip(b"SRANDMEMBER s 5\r\n", b"*3\r\n");
}
