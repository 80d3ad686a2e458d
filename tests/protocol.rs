//! Wire protocol over a real socket: exact reply bytes, pipelining, inline commands, protocol errors.

mod common;
use common::TestServer;

#[test]
fn ping_set_get_exact_bytes() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n");
    c.roundtrip(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", b"+OK\r\n");
    c.roundtrip(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", b"$5\r\nhello\r\n");
    c.roundtrip(b"*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n", b"$-1\r\n");
    c.roundtrip(b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n", b"-ERR value is not an integer or out of range\r\n");
}

#[test]
fn inline_commands_work() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(b"PING\r\n", b"+PONG\r\n");
    c.roundtrip(b"set \"a b\" 'x y'\n", b"+OK\r\n");
    c.roundtrip(b"get \"a b\"\r\n", b"$3\r\nx y\r\n");
}

#[test]
fn pipeline_of_thousand_commands_answers_in_order() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    let mut req = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        req.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
        expected.extend_from_slice(format!(":{}\r\n", i + 1).as_bytes());
    }
    c.roundtrip(&req, &expected);
}

#[test]
fn request_split_across_many_writes() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    let req = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n";
    for b in req.iter() {
        c.send(&[*b]);
    }
    assert_eq!(c.read_n(5), b"+OK\r\n");
}

#[test]
fn unknown_command_and_arity_errors_match_redis() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(b"foo bar baz\r\n", b"-ERR unknown command 'foo', with args beginning with: 'bar' 'baz' \r\n");
    c.roundtrip(b"get\r\n", b"-ERR wrong number of arguments for 'get' command\r\n");
    c.roundtrip(b"config foo\r\n", b"-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n");
    c.roundtrip(b"config get\r\n", b"-ERR wrong number of arguments for 'config|get' command\r\n");
}

#[test]
fn errors_echo_binary_arguments_and_execabort_quotes_arity() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    // Raw bytes come back as sent; a NUL ends the echoed argument, as C's %s does.
    c.roundtrip(
        b"*3\r\n$3\r\nFOO\r\n$1\r\n1\r\n$4\r\n\xdf\x17G\xa6\r\n",
        b"-ERR unknown command 'FOO', with args beginning with: '1' '\xdf\x17G\xa6' \r\n",
    );
    c.roundtrip(
        b"*2\r\n$4\r\nSETT\r\n$3\r\n\x00\xff\xfe\r\n",
        b"-ERR unknown command 'SETT', with args beginning with: '' \r\n",
    );
    c.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    c.roundtrip(b"SET a 1\r\n", b"+QUEUED\r\n");
    c.roundtrip(
        b"EXEC k2\r\n",
        b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n",
    );
    c.roundtrip(b"EXEC\r\n", b"-ERR EXEC without MULTI\r\n");
}

#[test]
fn protocol_errors_reply_then_close() {
    let srv = TestServer::start(&[]);
    for (req, err) in [
        (&b"*1\r\n$x\r\n"[..], &b"-ERR Protocol error: invalid bulk length\r\n"[..]),
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n+PING\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n"),
        (b"set \"unbalanced\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    ] {
        let mut c = srv.raw();
        c.roundtrip(req, err);
        assert!(c.closed(), "connection should be closed after {:?}", String::from_utf8_lossy(req));
    }
    // The server is still fine.
    let mut c = srv.raw();
    c.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn garbage_never_crashes_the_server() {
    let srv = TestServer::start(&[]);
    let mut seed = 0x9E3779B97F4A7C15u64;
    for _ in 0..200 {
        let mut c = srv.raw();
        let mut junk = Vec::new();
        for _ in 0..64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            junk.push(b"*$\r\n0123456789-+abc \""[(seed % 21) as usize]);
        }
        c.send(&junk);
    }
    let mut c = srv.raw();
    c.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn resp3_hello_changes_null_and_maps() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\n");
    let reply = c.read_n(3);
    assert_eq!(reply, b"%7\r");
    // Drain the rest of the HELLO map, then check RESP3 null.
    std::thread::sleep(std::time::Duration::from_millis(100));
    let mut buf = [0u8; 4096];
    let _ = std::io::Read::read(&mut c.s, &mut buf);
    c.roundtrip(b"GET nokey\r\n", b"_\r\n");
}

#[test]
fn works_with_a_real_client_crate() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("SET").arg("counter").arg(41).query(&mut con).expect("set");
    let n: i64 = redis::cmd("INCR").arg("counter").query(&mut con).expect("incr");
    assert_eq!(n, 42);
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    pipe.cmd("DBSIZE");
    let (size,): (i64,) = pipe.query(&mut con).expect("pipeline");
    assert_eq!(size, 101);
}

/// CLIENT REPLY: OFF silences until ON, SKIP drops exactly the next reply, and ON right after SKIP
/// is answered (it lifts the skip, as in Redis); the running client sees its own query in CLIENT
/// INFO's qbuf.
#[test]
fn client_reply_off_skip_and_on() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\n");
    c.roundtrip(b"CLIENT REPLY ON\r\n", b"+OK\r\n");
    c.send(b"CLIENT REPLY SKIP\r\nSET b 2\r\n");
    c.roundtrip(b"GET b\r\n", b"$1\r\n2\r\n");
    c.send(b"CLIENT REPLY SKIP\r\n");
    c.roundtrip(b"CLIENT REPLY ON\r\n", b"+OK\r\n");
    c.roundtrip(b"PING\r\n", b"+PONG\r\n");
    let mut con = srv.client();
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut con).expect("client info");
    // *2 $6 CLIENT $4 INFO: 26 bytes, still in the buffer while the command runs.
    assert!(info.contains(" qbuf=26 "), "{info}");
}
