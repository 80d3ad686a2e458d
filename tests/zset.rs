//! Sorted sets through real clients: encodings and conversions, ranges, store commands, ZADD options
//! and errors, RESP3 shapes and the blocking pops.

mod common;
use common::{RawConn, TestServer};
use std::time::{Duration, Instant};

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c
}

/// Runs a command and returns its reply, or the error text.
fn q(con: &mut redis::Connection, args: &[&str]) -> Result<redis::Value, String> {
    cmd(args).query(con).map_err(|e| format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")))
}

fn strings(con: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    cmd(args).query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn int(con: &mut redis::Connection, args: &[&str]) -> i64 {
    cmd(args).query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn text(con: &mut redis::Connection, args: &[&str]) -> Option<String> {
    cmd(args).query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    match q(con, args) {
        Err(e) => e,
        Ok(v) => panic!("{args:?} succeeded with {v:?}"),
    }
}

fn encoding(con: &mut redis::Connection, key: &str) -> String {
    text(con, &["OBJECT", "ENCODING", key]).unwrap_or_default()
}

#[test]
fn encodings_and_conversions() {
    let srv = TestServer::start(&["--zset-max-listpack-entries", "4", "--zset-max-listpack-value", "8"]);
    let mut con = srv.client();
    int(&mut con, &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"]);
    assert_eq!(encoding(&mut con, "z"), "listpack");
    int(&mut con, &["ZADD", "z", "5", "e"]);
    assert_eq!(encoding(&mut con, "z"), "skiplist");
    // A skiplist does not shrink back on removal.
    int(&mut con, &["ZREM", "z", "a", "b", "c"]);
    assert_eq!(encoding(&mut con, "z"), "skiplist");
    // A long member converts, and a long first member creates a skiplist directly.
    int(&mut con, &["ZADD", "y", "1", "a"]);
    int(&mut con, &["ZADD", "y", "1", "abcdefghi"]);
    assert_eq!(encoding(&mut con, "y"), "skiplist");
    int(&mut con, &["ZADD", "x", "1", "abcdefghi"]);
    assert_eq!(encoding(&mut con, "x"), "skiplist");
    // Store commands build the result in the encoding that fits, whatever the inputs were.
    assert_eq!(int(&mut con, &["ZUNIONSTORE", "u", "1", "z"]), 2);
    assert_eq!(encoding(&mut con, "u"), "listpack");
    assert_eq!(int(&mut con, &["ZUNIONSTORE", "u", "2", "z", "y"]), 4);
    assert_eq!(encoding(&mut con, "u"), "skiplist");
    assert_eq!(int(&mut con, &["ZRANGESTORE", "r", "z", "0", "0"]), 1);
    assert_eq!(encoding(&mut con, "r"), "listpack");
    let _: () = cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]).query(&mut con).expect("config");
    int(&mut con, &["ZADD", "w", "1", "a"]);
    assert_eq!(encoding(&mut con, "w"), "skiplist");
    // Both encodings answer alike.
    for key in ["z", "r"] {
        assert_eq!(strings(&mut con, &["ZRANGE", key, "0", "0", "WITHSCORES"]), ["d", "4"]);
    }
}

#[test]
fn scores_and_ranges() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    for entries in ["128", "0"] {
        let _: () = cmd(&["CONFIG", "SET", "zset-max-listpack-entries", entries]).query(&mut con).expect("config");
        int(&mut con, &["DEL", "z"]);
        int(&mut con, &["ZADD", "z", "-inf", "a", "1", "b", "2.5", "c", "3", "d", "+inf", "e"]);
        assert_eq!(strings(&mut con, &["ZRANGE", "z", "0", "-1"]), ["a", "b", "c", "d", "e"]);
        assert_eq!(strings(&mut con, &["ZRANGE", "z", "-2", "-1", "WITHSCORES"]), ["d", "3", "e", "inf"]);
        assert_eq!(strings(&mut con, &["ZREVRANGE", "z", "0", "1"]), ["e", "d"]);
        assert_eq!(strings(&mut con, &["ZRANGEBYSCORE", "z", "(1", "3"]), ["c", "d"]);
        assert_eq!(strings(&mut con, &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2"]), ["d", "c"]);
        assert_eq!(strings(&mut con, &["ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", "0", "2"]), ["c", "d"]);
        assert_eq!(
            strings(&mut con, &["ZRANGE", "z", "3", "1", "BYSCORE", "REV", "WITHSCORES"]),
            ["d", "3", "c", "2.5", "b", "1"]
        );
        assert_eq!(int(&mut con, &["ZCOUNT", "z", "1", "(3"]), 2);
        assert_eq!(text(&mut con, &["ZSCORE", "z", "c"]).as_deref(), Some("2.5"));
        assert_eq!(int(&mut con, &["ZRANK", "z", "c"]), 2);
        assert_eq!(int(&mut con, &["ZREVRANK", "z", "c"]), 2);
        assert_eq!(int(&mut con, &["ZREMRANGEBYSCORE", "z", "-inf", "(2.5"]), 2);
        assert_eq!(int(&mut con, &["ZREMRANGEBYRANK", "z", "-1", "-1"]), 1);
        assert_eq!(strings(&mut con, &["ZRANGE", "z", "0", "-1"]), ["c", "d"]);
        int(&mut con, &["DEL", "l"]);
        int(&mut con, &["ZADD", "l", "0", "alpha", "0", "bar", "0", "cool", "0", "down"]);
        assert_eq!(strings(&mut con, &["ZRANGEBYLEX", "l", "[bar", "(down"]), ["bar", "cool"]);
        assert_eq!(strings(&mut con, &["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "0", "2"]), ["down", "cool"]);
        assert_eq!(int(&mut con, &["ZLEXCOUNT", "l", "-", "+"]), 4);
        assert_eq!(int(&mut con, &["ZREMRANGEBYLEX", "l", "[alpha", "[bar"]), 2);
        assert_eq!(strings(&mut con, &["ZPOPMAX", "l"]), ["down", "0"]);
    }
    assert_eq!(err(&mut con, &["ZRANGEBYSCORE", "z", "nan", "1"]), "ERR min or max is not a float");
    assert!(err(&mut con, &["ZRANGEBYLEX", "z", "a", "b"]).contains("min or max not valid string range item"));
    assert!(err(&mut con, &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"]).contains("LIMIT is only supported"));
    assert!(err(&mut con, &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"]).contains("WITHSCORES not supported"));
}

#[test]
fn zadd_options_and_errors() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    assert_eq!(int(&mut con, &["ZADD", "z", "XX", "1", "a"]), 0);
    assert_eq!(int(&mut con, &["EXISTS", "z"]), 0);
    assert_eq!(int(&mut con, &["ZADD", "z", "10", "x", "20", "y"]), 2);
    assert_eq!(int(&mut con, &["ZADD", "z", "GT", "CH", "5", "x", "25", "y", "1", "n"]), 2);
    assert_eq!(strings(&mut con, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]), ["n", "1", "x", "10", "y", "25"]);
    assert_eq!(text(&mut con, &["ZADD", "z", "LT", "INCR", "1", "x"]), None);
    assert_eq!(text(&mut con, &["ZADD", "z", "INCR", "1.5", "x"]).as_deref(), Some("11.5"));
    assert_eq!(text(&mut con, &["ZINCRBY", "z", "-0.5", "x"]).as_deref(), Some("11"));
    assert!(err(&mut con, &["ZADD", "z", "XX", "NX", "1", "a"]).contains("XX and NX options at the same time"));
    assert!(err(&mut con, &["ZADD", "z", "GT", "LT", "1", "a"]).contains("GT, LT, and/or NX options"));
    assert!(err(&mut con, &["ZADD", "z", "INCR", "1", "a", "2", "b"]).contains("INCR option supports a single"));
    assert!(err(&mut con, &["ZADD", "z", "1", "a", "nan", "b"]).contains("value is not a valid float"));
    assert!(err(&mut con, &["ZADD", "z", "1", "a", "2"]).contains("syntax error"));
    assert_eq!(int(&mut con, &["ZCARD", "z"]), 3, "a failed ZADD changes nothing");
    int(&mut con, &["ZADD", "inf", "+inf", "m"]);
    assert!(err(&mut con, &["ZINCRBY", "inf", "-inf", "m"]).contains("resulting score is not a number (NaN)"));
    let _: () = cmd(&["SET", "s", "v"]).query(&mut con).expect("set");
    assert!(err(&mut con, &["ZADD", "s", "1", "a"]).starts_with("WRONGTYPE"));
}

#[test]
fn store_commands() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    int(&mut con, &["ZADD", "a", "1", "a", "2", "b", "3", "c"]);
    int(&mut con, &["ZADD", "b", "1", "b", "2", "c", "3", "d"]);
    assert_eq!(int(&mut con, &["ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "2", "3"]), 4);
    assert_eq!(
        strings(&mut con, &["ZRANGE", "dst", "0", "-1", "WITHSCORES"]),
        ["a", "2", "b", "7", "d", "9", "c", "12"]
    );
    assert_eq!(strings(&mut con, &["ZINTER", "2", "a", "b", "AGGREGATE", "MAX", "WITHSCORES"]), ["b", "2", "c", "3"]);
    assert_eq!(strings(&mut con, &["ZDIFF", "2", "a", "b", "WITHSCORES"]), ["a", "1"]);
    assert_eq!(int(&mut con, &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), 1);
    assert_eq!(int(&mut con, &["ZINTERSTORE", "dst", "2", "a", "missing"]), 0);
    assert_eq!(int(&mut con, &["EXISTS", "dst"]), 0);
    int(&mut con, &["ZADD", "p", "+inf", "k"]);
    int(&mut con, &["ZADD", "n", "-inf", "k"]);
    int(&mut con, &["ZUNIONSTORE", "dst", "2", "p", "n"]);
    assert_eq!(text(&mut con, &["ZSCORE", "dst", "k"]).as_deref(), Some("0"));
    assert!(err(&mut con, &["ZUNION", "0", "a"]).contains("at least 1 input key is needed for 'zunion' command"));
    assert!(err(&mut con, &["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"]).contains("syntax error"));
    assert!(
        err(&mut con, &["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "nan"])
            .contains("weight value is not a float")
    );
    assert_eq!(int(&mut con, &["ZRANGESTORE", "r", "a", "+inf", "(1", "BYSCORE", "REV", "LIMIT", "0", "1"]), 1);
    assert_eq!(strings(&mut con, &["ZRANGE", "r", "0", "-1", "WITHSCORES"]), ["c", "3"]);
    assert_eq!(int(&mut con, &["ZRANGESTORE", "r", "a", "5", "6"]), 0);
    assert_eq!(int(&mut con, &["EXISTS", "r"]), 0);
}

/// Sends one RESP request and returns the exact bytes of a reply of known length.
fn raw_reply(conn: &mut RawConn, args: &[&str], expected: &str) {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.roundtrip(req.as_bytes(), expected.as_bytes());
}

#[test]
fn reply_shapes_resp2_and_resp3() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    raw_reply(&mut c, &["ZADD", "z", "1", "a", "2.5", "b"], ":2\r\n");
    raw_reply(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
    );
    raw_reply(&mut c, &["ZPOPMIN", "nokey"], "*0\r\n");
    raw_reply(&mut c, &["ZMPOP", "1", "nokey", "MIN"], "*-1\r\n");
    let mut c3 = srv.raw();
    c3.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let mut sink = [0u8; 4096];
    let _ = std::io::Read::read(&mut c3.s, &mut sink);
    raw_reply(&mut c3, &["ZSCORE", "z", "b"], ",2.5\r\n");
    raw_reply(
        &mut c3,
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
    );
    raw_reply(&mut c3, &["ZPOPMAX", "z", "1"], "*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n");
    raw_reply(&mut c3, &["ZMPOP", "1", "z", "MIN"], "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1\r\n");
    raw_reply(&mut c3, &["ZSCORE", "z", "a"], "_\r\n");
}

#[test]
fn bzpopmin_times_out_and_wakes_up() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    let start = Instant::now();
    let v = q(&mut con, &["BZPOPMIN", "z", "0.2"]).expect("bzpopmin");
    assert_eq!(v, redis::Value::Nil);
    assert!(start.elapsed() >= Duration::from_millis(190));

    let mut waiter = srv.raw();
    raw_send(&mut waiter, &["BZPOPMIN", "z1", "z2", "5"]);
    wait_blocked(&mut con, 1);
    int(&mut con, &["ZADD", "z2", "3", "c", "1", "a"]);
    let expected = "*3\r\n$2\r\nz2\r\n$1\r\na\r\n$1\r\n1\r\n";
    assert_eq!(String::from_utf8_lossy(&waiter.read_n(expected.len())), expected);
    assert_eq!(strings(&mut con, &["ZRANGE", "z2", "0", "-1"]), ["c"]);

    // BZMPOP with COUNT takes what there is from the key that received data.
    raw_send(&mut waiter, &["BZMPOP", "5", "2", "m1", "m2", "MAX", "COUNT", "5"]);
    wait_blocked(&mut con, 1);
    int(&mut con, &["ZADD", "m2", "1", "x", "2", "y"]);
    let expected = "*2\r\n$2\r\nm2\r\n*2\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n";
    assert_eq!(String::from_utf8_lossy(&waiter.read_n(expected.len())), expected);
    assert_eq!(int(&mut con, &["EXISTS", "m2"]), 0);
}

fn raw_send(conn: &mut RawConn, args: &[&str]) {
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.send(req.as_bytes());
}

fn wait_blocked(con: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let info: String = cmd(&["INFO", "clients"]).query(con).expect("info");
        if info.contains(&format!("blocked_clients:{n}\r")) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no client blocked");
}
