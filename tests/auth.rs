//! requirepass, AUTH and HELLO AUTH with Redis's exact replies.

mod common;
use common::TestServer;

#[test]
fn requirepass_gates_commands() {
    let srv = TestServer::start(&["--requirepass", "s3cret"]);
    let mut c = srv.raw();
    c.roundtrip(b"GET x\r\n", b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(b"AUTH wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(b"AUTH s3cret\r\n", b"+OK\r\n");
    c.roundtrip(b"GET x\r\n", b"$-1\r\n");
    let mut c2 = srv.raw();
    c2.roundtrip(b"AUTH default s3cret\r\n", b"+OK\r\n");
    let mut c3 = srv.raw();
    c3.roundtrip(b"AUTH someone s3cret\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
}

#[test]
fn auth_without_password_configured() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        b"AUTH foo\r\n",
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    );
}

#[test]
fn hello_with_auth_and_unauthenticated_limits() {
    let srv = TestServer::start(&["--requirepass", "pw"]);
    let mut c = srv.raw();
    c.send(b"HELLO 2 AUTH default pw SETNAME app\r\n");
    let reply = c.read_n(4);
    assert_eq!(reply, b"*14\r");
    let mut c2 = srv.raw();
    // Unauthenticated clients may not send big multibulk headers.
    c2.roundtrip(b"*20\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n");
    assert!(c2.closed());
}
