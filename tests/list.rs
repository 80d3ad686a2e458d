//! Lists and blocking pops through a real client: replies, encodings, wake-ups from another
//! connection, timeouts, FIFO order, and CLIENT UNBLOCK.

mod common;
use common::{TestServer, err, q};
use std::time::{Duration, Instant};

#[test]
fn push_pop_range_and_index() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    assert_eq!(q::<i64>(&mut con, &["RPUSH", "l", "a", "b", "c", "1", "2"]), 5);
    assert_eq!(q::<i64>(&mut con, &["LPUSH", "l", "z"]), 6);
    assert_eq!(q::<Vec<String>>(&mut con, &["LRANGE", "l", "0", "-1"]), ["z", "a", "b", "c", "1", "2"]);
    assert_eq!(q::<Vec<String>>(&mut con, &["LRANGE", "l", "-2", "100"]), ["1", "2"]);
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "-1"]), Some("2".into()));
    assert_eq!(q::<Option<String>>(&mut con, &["LINDEX", "l", "6"]), None);
    assert_eq!(q::<String>(&mut con, &["LPOP", "l"]), "z");
    assert_eq!(q::<Vec<String>>(&mut con, &["RPOP", "l", "2"]), ["2", "1"]);
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", "BEFORE", "b", "x"]), 4);
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", "AFTER", "nope", "x"]), -1);
    assert_eq!(q::<String>(&mut con, &["LSET", "l", "0", "A"]), "OK");
    assert!(err(&mut con, &["LSET", "l", "10", "A"]).contains("index out of range"));
    assert_eq!(q::<Vec<String>>(&mut con, &["LRANGE", "l", "0", "-1"]), ["A", "x", "b", "c"]);
    assert_eq!(q::<i64>(&mut con, &["LPOS", "l", "b"]), 2);
    assert_eq!(q::<String>(&mut con, &["LTRIM", "l", "1", "2"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut con, &["LRANGE", "l", "0", "-1"]), ["x", "b"]);
    assert_eq!(q::<String>(&mut con, &["OBJECT", "ENCODING", "l"]), "quicklist");
    assert_eq!(q::<i64>(&mut con, &["LREM", "l", "0", "x"]), 1);
    assert_eq!(q::<String>(&mut con, &["LMOVE", "l", "dst", "LEFT", "RIGHT"]), "b");
    // The emptied source is gone.
    assert_eq!(q::<i64>(&mut con, &["EXISTS", "l"]), 0);
    assert_eq!(q::<i64>(&mut con, &["LPUSHX", "l", "v"]), 0);
    q::<()>(&mut con, &["SET", "s", "v"]);
    assert!(err(&mut con, &["LPUSH", "s", "v"]).contains("wrong kind of value"));
    assert!(err(&mut con, &["LPOP", "dst", "-1"]).contains("must be positive"));
}

#[test]
fn lmpop_and_lpos_options() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    q::<i64>(&mut con, &["RPUSH", "b", "1", "2", "3", "1", "1"]);
    let v: (String, Vec<String>) = q(&mut con, &["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2"]);
    assert_eq!(v, ("b".to_string(), vec!["1".to_string(), "1".to_string()]));
    assert_eq!(q::<Vec<i64>>(&mut con, &["LPOS", "b", "1", "COUNT", "0"]), [0]);
    assert_eq!(q::<Vec<i64>>(&mut con, &["LPOS", "b", "3", "RANK", "-1", "COUNT", "1"]), [2]);
    assert!(err(&mut con, &["LMPOP", "0", "a", "LEFT"]).contains("numkeys should be greater than 0"));
    assert!(err(&mut con, &["LPOS", "b", "1", "RANK", "0"]).contains("RANK can't be zero"));
}

#[test]
fn long_lists_span_many_nodes() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    q::<()>(&mut con, &["CONFIG", "SET", "list-max-listpack-size", "4"]);
    for i in 0..200 {
        q::<i64>(&mut con, &["RPUSH", "l", &i.to_string()]);
    }
    assert_eq!(q::<i64>(&mut con, &["LINSERT", "l", "BEFORE", "100", "x"]), 201);
    assert_eq!(q::<String>(&mut con, &["LINDEX", "l", "100"]), "x");
    assert_eq!(q::<String>(&mut con, &["LINDEX", "l", "101"]), "100");
    let all: Vec<String> = q(&mut con, &["LRANGE", "l", "0", "-1"]);
    assert_eq!(all.len(), 201);
    assert_eq!(all[199], "198");
}

#[test]
fn blpop_waits_for_a_push_from_another_client() {
    let srv = TestServer::start(&[]);
    let mut waiter = srv.client();
    let mut other = srv.client();
    let t = std::thread::spawn(move || {
        let v: (String, String) = redis::cmd("BLPOP").arg("q1").arg("q2").arg(5).query(&mut waiter).expect("blpop");
        v
    });
    // Wait until the server reports the client as blocked.
    let start = Instant::now();
    while !q::<String>(&mut other, &["INFO", "clients"]).contains("blocked_clients:1") {
        assert!(start.elapsed() < Duration::from_secs(5), "never blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
    q::<i64>(&mut other, &["RPUSH", "q2", "hello"]);
    assert_eq!(t.join().expect("thread"), ("q2".to_string(), "hello".to_string()));
    assert_eq!(q::<i64>(&mut other, &["EXISTS", "q2"]), 0);
}

#[test]
fn blocked_clients_are_served_in_order_and_time_out() {
    let srv = TestServer::start(&[]);
    let mut first = srv.raw();
    let mut second = srv.raw();
    first.send(b"BRPOP q 0\r\n");
    std::thread::sleep(Duration::from_millis(50));
    second.send(b"BRPOP q 0\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let mut con = srv.client();
    // One transaction pushes two elements: the first waiter gets the tail, the second the next.
    q::<()>(&mut con, &["MULTI"]);
    q::<()>(&mut con, &["RPUSH", "q", "a", "b"]);
    q::<Vec<i64>>(&mut con, &["EXEC"]);
    first.roundtrip(b"", b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
    second.roundtrip(b"", b"*2\r\n$1\r\nq\r\n$1\r\na\r\n");
    // A fractional timeout fires on time with a null array.
    let start = Instant::now();
    first.roundtrip(b"BLPOP nothing 0.2\r\n", b"*-1\r\n");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(190) && waited < Duration::from_secs(2), "{waited:?}");
    assert!(err(&mut con, &["BLPOP", "x", "-1"]).contains("timeout is negative"));
    assert!(err(&mut con, &["BLPOP", "x", "abc"]).contains("timeout is not a float or out of range"));
}

#[test]
fn client_unblock_and_blocking_inside_multi() {
    let srv = TestServer::start(&[]);
    let mut blocked = srv.raw();
    blocked.send(b"CLIENT ID\r\n");
    let id = blocked.read_line().trim_start_matches(':').to_string();
    blocked.send(b"BLMOVE src dst LEFT RIGHT 0\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let mut con = srv.client();
    assert_eq!(q::<i64>(&mut con, &["CLIENT", "UNBLOCK", &id, "ERROR"]), 1);
    blocked.roundtrip(b"", b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(q::<i64>(&mut con, &["CLIENT", "UNBLOCK", &id]), 0);
    // Inside MULTI a blocking pop on an empty list answers at once.
    blocked.roundtrip(
        b"MULTI\r\nBLPOP empty 0\r\nBLMOVE empty d LEFT LEFT 0\r\nEXEC\r\n",
        b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n$-1\r\n",
    );
}
