//! The hash commands over TCP, compared byte for byte with what Redis 7.0.15 replies: encodings and
//! their conversions, HINCRBYFLOAT formatting, HRANDFIELD and HSCAN shapes in RESP2 and RESP3, errors,
//! and keyspace events. (They also pass against `FERRODIS_BIN=/usr/bin/redis-server`.)

mod common;
use common::{RawConn, TestServer};
use std::collections::HashSet;
use std::io::Read;

/// Encode a command as a RESP array of bulk strings.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_line(c: &mut RawConn, out: &mut Vec<u8>) -> Vec<u8> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        let n = c.s.read(&mut b).expect("read");
        assert_eq!(n, 1, "connection closed");
        line.push(b[0]);
    }
    out.extend_from_slice(&line);
    line.truncate(line.len() - 2);
    line
}

/// Read one complete reply and return its raw bytes.
fn read_reply(c: &mut RawConn, out: &mut Vec<u8>) {
    let line = read_line(c, out);
    let n: i64 = std::str::from_utf8(&line[1..]).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    match line[0] {
        b'$' | b'=' if n >= 0 => {
            let mut body = vec![0u8; n as usize + 2];
            c.s.read_exact(&mut body).expect("bulk body");
            out.extend_from_slice(&body);
        }
        b'*' | b'~' | b'>' => (0..n.max(0)).for_each(|_| read_reply(c, out)),
        b'%' => (0..2 * n).for_each(|_| read_reply(c, out)),
        _ => {}
    }
}

fn raw_cmd(c: &mut RawConn, args: &[&[u8]]) -> String {
    c.send(&encode(args));
    let mut out = Vec::new();
    read_reply(c, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Send a whitespace-separated command; return the raw reply.
fn q(c: &mut RawConn, line: &str) -> String {
    let parts: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
    raw_cmd(c, &parts)
}

/// The bulk strings of a (possibly nested) reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = reply.split("\r\n");
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

#[test]
fn basic_commands_and_errors() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    assert_eq!(q(&mut c, "HSET h a 1 b 2 c hello"), ":3\r\n");
    assert_eq!(q(&mut c, "HSET h a 5 d 4"), ":1\r\n");
    assert_eq!(q(&mut c, "HSET h a 1 b"), "-ERR wrong number of arguments for 'hset' command\r\n");
    assert_eq!(q(&mut c, "HMSET h a 1 b"), "-ERR wrong number of arguments for 'hmset' command\r\n");
    assert_eq!(q(&mut c, "HMSET h a 1"), "+OK\r\n");
    assert_eq!(q(&mut c, "HGET h a"), "$1\r\n1\r\n");
    assert_eq!(q(&mut c, "HGET h zz"), "$-1\r\n");
    assert_eq!(q(&mut c, "HGET nokey a"), "$-1\r\n");
    assert_eq!(q(&mut c, "HMGET h a zz c"), "*3\r\n$1\r\n1\r\n$-1\r\n$5\r\nhello\r\n");
    assert_eq!(q(&mut c, "HMGET nokey a b"), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(q(&mut c, "HLEN h"), ":4\r\n");
    assert_eq!(q(&mut c, "HLEN nokey"), ":0\r\n");
    assert_eq!(q(&mut c, "HSTRLEN h c"), ":5\r\n");
    assert_eq!(q(&mut c, "HSTRLEN h zz"), ":0\r\n");
    assert_eq!(q(&mut c, "HEXISTS h a"), ":1\r\n");
    assert_eq!(q(&mut c, "HEXISTS h zz"), ":0\r\n");
    assert_eq!(q(&mut c, "HKEYS h"), "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    assert_eq!(q(&mut c, "HVALS h"), "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$5\r\nhello\r\n$1\r\n4\r\n");
    assert_eq!(q(&mut c, "HGETALL nokey"), "*0\r\n");
    assert_eq!(q(&mut c, "HKEYS nokey"), "*0\r\n");
    assert_eq!(q(&mut c, "HSETNX h a 9"), ":0\r\n");
    assert_eq!(q(&mut c, "HSETNX h e 9"), ":1\r\n");
    assert_eq!(q(&mut c, "HDEL h a zz b"), ":2\r\n");
    assert_eq!(q(&mut c, "HDEL nokey a"), ":0\r\n");
    assert_eq!(q(&mut c, "HGETALL h"), "*6\r\n$1\r\nc\r\n$5\r\nhello\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n9\r\n");
    assert_eq!(q(&mut c, "HDEL h c d e f"), ":3\r\n");
    assert_eq!(q(&mut c, "EXISTS h"), ":0\r\n");

    let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    assert_eq!(q(&mut c, "SET s x"), "+OK\r\n");
    for cmd in [
        "HSET s a 1",
        "HSETNX s a 1",
        "HGET s a",
        "HMGET s a",
        "HDEL s a",
        "HLEN s",
        "HSTRLEN s a",
        "HEXISTS s a",
        "HKEYS s",
        "HGETALL s",
        "HINCRBY s a 1",
        "HINCRBYFLOAT s a 1",
        "HSCAN s 0",
        "HRANDFIELD s",
        "HRANDFIELD s 0",
    ] {
        assert_eq!(q(&mut c, cmd), wrongtype, "{cmd}");
    }
    assert_eq!(q(&mut c, "HSCAN s x"), "-ERR invalid cursor\r\n");
}

#[test]
fn encodings_convert_like_redis() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    assert_eq!(q(&mut c, "CONFIG SET hash-max-listpack-entries 4"), "+OK\r\n");
    assert_eq!(q(&mut c, "CONFIG SET hash-max-ziplist-value 8"), "+OK\r\n");
    q(&mut c, "HSET h f1 v f2 v f3 v f4 v");
    assert_eq!(q(&mut c, "OBJECT ENCODING h"), "$8\r\nlistpack\r\n");
    q(&mut c, "HSET h f5 v");
    assert_eq!(q(&mut c, "OBJECT ENCODING h"), "$9\r\nhashtable\r\n");
    // Never back, even when emptied down to one field.
    q(&mut c, "HDEL h f1 f2 f3 f4");
    assert_eq!(q(&mut c, "OBJECT ENCODING h"), "$9\r\nhashtable\r\n");

    q(&mut c, "HSET v f 12345678");
    assert_eq!(q(&mut c, "OBJECT ENCODING v"), "$8\r\nlistpack\r\n");
    q(&mut c, "HSET v f 123456789");
    assert_eq!(q(&mut c, "OBJECT ENCODING v"), "$9\r\nhashtable\r\n");

    // HSETNX on an existing field does not convert; on a new long one it does.
    q(&mut c, "HSET n f x");
    q(&mut c, "HSETNX n f 123456789");
    assert_eq!(q(&mut c, "OBJECT ENCODING n"), "$8\r\nlistpack\r\n");
    q(&mut c, "HSETNX n g 123456789");
    assert_eq!(q(&mut c, "OBJECT ENCODING n"), "$9\r\nhashtable\r\n");

    // HINCRBYFLOAT results and fields count against the value limit.
    q(&mut c, "HINCRBYFLOAT small tmp 0.000005");
    assert_eq!(q(&mut c, "OBJECT ENCODING small"), "$8\r\nlistpack\r\n");
    q(&mut c, "HINCRBYFLOAT big tmp 0.0000005");
    assert_eq!(q(&mut c, "OBJECT ENCODING big"), "$9\r\nhashtable\r\n");
    q(&mut c, "HINCRBY bigfield abcdefghi 1");
    assert_eq!(q(&mut c, "OBJECT ENCODING bigfield"), "$9\r\nhashtable\r\n");

    // A lowered threshold converts an existing listpack at its next write, even an update.
    assert_eq!(q(&mut c, "CONFIG SET hash-max-listpack-entries 10"), "+OK\r\n");
    q(&mut c, "HSET u a 1 b 2 c 3");
    assert_eq!(q(&mut c, "CONFIG SET hash-max-listpack-entries 2"), "+OK\r\n");
    assert_eq!(q(&mut c, "OBJECT ENCODING u"), "$8\r\nlistpack\r\n");
    assert_eq!(q(&mut c, "HSET u a 9"), ":0\r\n");
    assert_eq!(q(&mut c, "OBJECT ENCODING u"), "$9\r\nhashtable\r\n");
    assert_eq!(q(&mut c, "HGET u a"), "$1\r\n9\r\n");
}

#[test]
fn counters() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    assert_eq!(q(&mut c, "HINCRBY h n 5"), ":5\r\n");
    assert_eq!(q(&mut c, "HINCRBY h n -7"), ":-2\r\n");
    assert_eq!(q(&mut c, "HINCRBY h n x"), "-ERR value is not an integer or out of range\r\n");
    q(&mut c, "HSET h s 011");
    assert_eq!(q(&mut c, "HINCRBY h s 1"), "-ERR hash value is not an integer\r\n");
    q(&mut c, "HSET h big -9223372036854775484");
    assert_eq!(q(&mut c, "HINCRBY h big -1"), ":-9223372036854775485\r\n");
    assert_eq!(q(&mut c, "HINCRBY h big -10000"), "-ERR increment or decrement would overflow\r\n");

    assert_eq!(q(&mut c, "HINCRBYFLOAT f x 1.23"), "$4\r\n1.23\r\n");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f x 0.77"), "$1\r\n2\r\n");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f x -0.1"), "$3\r\n1.9\r\n");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f y 1e20"), "$21\r\n100000000000000000000\r\n");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f x abc"), "-ERR value is not a valid float\r\n");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f x +inf"), "-ERR value is NaN or Infinity\r\n");
    assert_eq!(q(&mut c, "HINCRBYFLOAT nokey x -inf"), "-ERR value is NaN or Infinity\r\n");
    assert_eq!(q(&mut c, "EXISTS nokey"), ":0\r\n");
    q(&mut c, "HSET f s 11x");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f s 1"), "-ERR hash value is not a float\r\n");
    raw_cmd(&mut c, &[b"HSET", b"f", b"nul", b"1\x002"]);
    assert_eq!(q(&mut c, "HINCRBYFLOAT f nul 1"), "-ERR hash value is not a float\r\n");
    q(&mut c, "HSET f inf inf");
    assert_eq!(q(&mut c, "HINCRBYFLOAT f inf 1"), "-ERR increment would produce NaN or Infinity\r\n");
    assert_eq!(q(&mut c, "HSTRLEN f y"), ":21\r\n");
}

#[test]
fn hrandfield_shapes() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    assert_eq!(q(&mut c, "HRANDFIELD nokey"), "$-1\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD nokey 5"), "*0\r\n");
    q(&mut c, "HSET h a 1");
    assert_eq!(q(&mut c, "HRANDFIELD h"), "$1\r\na\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD h 0"), "*0\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD h 5 WITHVALUES"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD h -2"), "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD h 1 2"), "-ERR syntax error\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD h 1 WITHVALUE"), "-ERR syntax error\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD h x"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        q(&mut c, "HRANDFIELD h -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(q(&mut c, "HRANDFIELD h -9223372036854770000 WITHVALUES"), "-ERR value is out of range\r\n");
    q(&mut c, "HELLO 3");
    assert_eq!(
        q(&mut c, "HRANDFIELD h -2 WITHVALUES"),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(q(&mut c, "HRANDFIELD h 3 WITHVALUES"), "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD nokey"), "_\r\n");
    assert_eq!(q(&mut c, "HRANDFIELD nokey 1"), "*0\r\n");
    assert_eq!(q(&mut c, "HGETALL h"), "%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(q(&mut c, "HGETALL nokey"), "%0\r\n");
    q(&mut c, "HELLO 2");

    // Distinct picks are distinct and come from the hash, in both encodings.
    for (key, long) in [("lp", false), ("ht", true)] {
        for i in 0..30 {
            let value = if long { "x".repeat(100) } else { i.to_string() };
            q(&mut c, &format!("HSET {key} f{i} {value}"));
        }
        for count in [2, 12, 29, 30, 40] {
            let fields = bulks(&q(&mut c, &format!("HRANDFIELD {key} {count}")));
            let set: HashSet<&String> = fields.iter().collect();
            assert_eq!(fields.len(), count.min(30), "{key} {count}");
            assert_eq!(set.len(), fields.len());
            assert!(fields.iter().all(|f| f.starts_with('f')));
        }
        let pairs = bulks(&q(&mut c, &format!("HRANDFIELD {key} -100 WITHVALUES")));
        assert_eq!(pairs.len(), 200);
        let mut seen = HashSet::new();
        for _ in 0..50 {
            seen.extend(bulks(&q(&mut c, &format!("HRANDFIELD {key} -20"))));
        }
        assert_eq!(seen.len(), 30, "{key}: every field eventually returned");
    }
    assert_eq!(q(&mut c, "OBJECT ENCODING ht"), "$9\r\nhashtable\r\n");
}

#[test]
fn hscan_listpack_and_hashtable() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    assert_eq!(q(&mut c, "HSCAN nokey 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(q(&mut c, "HSCAN nokey 0 COUNT 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    q(&mut c, "HSET h a 1 b 2 ab 3");
    assert_eq!(
        q(&mut c, "HSCAN h 0"),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        q(&mut c, "HSCAN h 0 MATCH a* COUNT 1"),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(q(&mut c, "HSCAN h 0 COUNT 0"), "-ERR syntax error\r\n");
    assert_eq!(q(&mut c, "HSCAN h 0 COUNT x"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(q(&mut c, "HSCAN h 0 TYPE string"), "-ERR syntax error\r\n");
    assert_eq!(q(&mut c, "HSCAN h 0 NOVALUES"), "-ERR syntax error\r\n");

    for i in 0..1000 {
        q(&mut c, &format!("HSET big k{i} {i}"));
    }
    assert_eq!(q(&mut c, "OBJECT ENCODING big"), "$9\r\nhashtable\r\n");
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let items = bulks(&q(&mut c, &format!("HSCAN big {cursor} COUNT 50")));
        cursor = items[0].clone();
        for pair in items[1..].chunks(2) {
            assert_eq!(pair[0][1..], pair[1]);
            seen.insert(pair[0].clone());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(calls > 5, "a hashtable is scanned in steps");
}

#[test]
fn keyspace_events() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    let mut sub = srv.raw();
    assert_eq!(q(&mut c, "CONFIG SET notify-keyspace-events Ehgn"), "+OK\r\n");
    q(&mut sub, "PSUBSCRIBE __keyevent@0__:*");
    let expect = [
        ("HSET h a 1", vec!["new", "hset"]),
        ("HSETNX h a 2", vec![]),
        ("HSETNX h b 2", vec!["hset"]),
        ("HINCRBY h a 1", vec!["hincrby"]),
        ("HINCRBYFLOAT h a 1.5", vec!["hincrbyfloat"]),
        ("HDEL h zz", vec![]),
        ("HDEL h a", vec!["hdel"]),
        ("HDEL h b", vec!["hdel", "del"]),
        ("HMSET h2 x 1", vec!["new", "hset"]),
    ];
    for (cmd, events) in expect {
        q(&mut c, cmd);
        for e in events {
            let msg = bulks(&{
                let mut out = Vec::new();
                read_reply(&mut sub, &mut out);
                String::from_utf8_lossy(&out).into_owned()
            });
            assert_eq!(msg[2], format!("__keyevent@0__:{e}"), "{cmd}");
            assert_eq!(msg[3], if cmd.contains("h2") { "h2" } else { "h" });
        }
    }
    // Nothing else was published.
    assert_eq!(q(&mut sub, "PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
}

#[test]
fn watch_sees_hash_writes_and_memory_usage_counts_them() {
    let srv = TestServer::start(&[]);
    let mut a = srv.raw();
    let mut b = srv.raw();
    q(&mut a, "HSET h a 1");
    q(&mut a, "WATCH h");
    q(&mut b, "HINCRBY h a 1");
    q(&mut a, "MULTI");
    q(&mut a, "PING");
    assert_eq!(q(&mut a, "EXEC"), "*-1\r\n");
    let usage = q(&mut a, "MEMORY USAGE h");
    assert!(usage.starts_with(':') && usage != ":0\r\n", "{usage}");
    assert_eq!(q(&mut a, "MEMORY USAGE nokey"), "$-1\r\n");
    assert_eq!(q(&mut a, "MEMORY USAGE h SAMPLES -1"), "-ERR syntax error\r\n");
}
