//! ACL users over the real binary: AUTH and HELLO with users, NOPERM for commands, keys and
//! channels (with commandstats and errorstats), ACL LIST/GETUSER replies byte for byte, DELUSER
//! disconnecting, transactions and scripts re-checked, the ACL file, `user` directives and
//! `requirepass` as the default user's password.

mod common;
use common::{TestServer, err, q};

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// How the `redis` crate's error text shows a key refusal (its own code prefix varies).
const KEYS_DENIED: &str = "no permissions to access one of the keys used as arguments";

const SECRET_DIGEST: &str = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

#[test]
fn users_authenticate_and_reset_returns_to_default() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.client();
    assert_eq!(q::<String>(&mut admin, &["ACL", "WHOAMI"]), "default");
    let _: () = q(&mut admin, &["ACL", "SETUSER", "alice", ">secret"]);
    let mut c = srv.raw();
    // New users are off until `on`.
    c.roundtrip(b"AUTH alice secret\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    let _: () = q(&mut admin, &["ACL", "SETUSER", "alice", "on", "+@all", "~*"]);
    c.roundtrip(b"AUTH alice wrong\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(b"AUTH alice secret\r\n", b"+OK\r\n");
    c.roundtrip(b"ACL WHOAMI\r\n", bulk("alice").as_bytes());
    c.send(b"CLIENT INFO\r\n");
    c.read_line();
    let info = c.read_line();
    assert!(info.contains(" user=alice "), "{info}");
    c.roundtrip(b"RESET\r\n", b"+RESET\r\n");
    c.roundtrip(b"ACL WHOAMI\r\n", bulk("default").as_bytes());
    // HELLO AUTH takes a user too.
    let mut h = srv.raw();
    h.send(b"HELLO 3 AUTH alice secret\r\nACL WHOAMI\r\n");
    assert_eq!(h.read_line(), "%7");
    assert!((0..40).map(|_| h.read_line()).any(|l| l == "alice"));
    // The one-argument AUTH needs a default password.
    c.roundtrip(
        b"AUTH x\r\n",
        b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n",
    );
}

#[test]
fn requirepass_is_the_default_users_password() {
    let srv = TestServer::start(&["--requirepass", "secret"]);
    let mut c = srv.raw();
    c.roundtrip(b"PING\r\n", b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    c.send(b"ACL LIST\r\n");
    assert_eq!(c.read_line(), "*1");
    c.read_line();
    assert_eq!(c.read_line(), format!("user default on #{SECRET_DIGEST} ~* &* +@all"));
    c.roundtrip(b"CONFIG SET requirepass other\r\n", b"+OK\r\n");
    let mut c2 = srv.raw();
    c2.roundtrip(b"AUTH secret\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c2.roundtrip(b"AUTH default other\r\n", b"+OK\r\n");
    // An empty requirepass makes the default user nopass: new connections need no AUTH.
    c.roundtrip(b"CONFIG SET requirepass \"\"\r\n", b"+OK\r\n");
    let mut c3 = srv.raw();
    c3.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // A disabled default user makes every new connection authenticate.
    c.roundtrip(b"ACL SETUSER default off\r\n", b"+OK\r\n");
    let mut c4 = srv.raw();
    c4.roundtrip(b"PING\r\n", b"-NOAUTH Authentication required.\r\n");
    c.roundtrip(b"ACL SETUSER default on\r\n", b"+OK\r\n");
    c4.roundtrip(b"PING\r\n", b"+PONG\r\n");
}

#[test]
fn noperm_for_commands_keys_and_channels() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["ACL", "SETUSER", "bob", "on", "nopass", "+get", "+set", "+publish", "+client|id"]);
    let _: () = q(&mut admin, &["ACL", "SETUSER", "bob", "~cached:*", "resetchannels", "&news:*"]);
    let mut c = srv.raw();
    c.roundtrip(b"AUTH bob x\r\n", b"+OK\r\n");
    c.roundtrip(b"INCR cached:a\r\n", b"-NOPERM this user has no permissions to run the 'incr' command\r\n");
    c.roundtrip(b"CLIENT KILL ID 1\r\n", b"-NOPERM this user has no permissions to run the 'client|kill' command\r\n");
    c.roundtrip(b"CLIENT ID\r\n", b":");
    c.read_line();
    c.roundtrip(
        b"GET other\r\n",
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
    );
    c.roundtrip(b"GET cached:a\r\n", b"$-1\r\n");
    c.roundtrip(
        b"PUBLISH sports x\r\n",
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    c.roundtrip(b"PUBLISH news:today x\r\n", b":0\r\n");
    // Rejections count as rejected calls and NOPERM errors.
    let stats: String = q(&mut admin, &["INFO", "commandstats"]);
    assert!(
        stats.contains("cmdstat_incr:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"),
        "{stats}"
    );
    let errors: String = q(&mut admin, &["INFO", "errorstats"]);
    assert!(errors.contains("errorstat_NOPERM:count=4"), "{errors}");
    // The log has them, newest first.
    let log: Vec<Vec<redis::Value>> = q(&mut admin, &["ACL", "LOG"]);
    assert_eq!(log.len(), 4);
    let first: Vec<String> = log[0]
        .iter()
        .take(10)
        .map(|v| match v {
            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            redis::Value::Int(n) => n.to_string(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        first,
        ["count", "1", "reason", "channel", "context", "toplevel", "object", "sports", "username", "bob"]
    );
}

#[test]
fn key_permissions_follow_read_and_write() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["ACL", "SETUSER", "rw", "on", "nopass", "+@all", "%R~read*", "%W~write*"]);
    let _: () = q(&mut admin, &["SET", "readstr", "v"]);
    let mut c = srv.client();
    let _: () = q(&mut c, &["AUTH", "rw", "x"]);
    assert_eq!(q::<String>(&mut c, &["GET", "readstr"]), "v");
    assert!(err(&mut c, &["SET", "readstr", "x"]).contains(KEYS_DENIED));
    let _: () = q(&mut c, &["SET", "writestr", "x"]);
    assert!(err(&mut c, &["SET", "writestr", "x", "GET"]).contains(KEYS_DENIED));
    assert_eq!(q::<i64>(&mut c, &["COPY", "readstr", "writecopy"]), 1);
    assert!(err(&mut c, &["COPY", "writestr", "readcopy"]).contains(KEYS_DENIED));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "readstr", "writestr"]), 2);
    // DRYRUN answers without running.
    assert_eq!(q::<String>(&mut admin, &["ACL", "DRYRUN", "rw", "LPUSH", "writelist", "1"]), "OK");
    assert_eq!(
        q::<String>(&mut admin, &["ACL", "DRYRUN", "rw", "INCR", "read1"]),
        "This user has no permissions to access the 'read1' key"
    );
    assert!(err(&mut admin, &["ACL", "DRYRUN", "nobody", "GET", "x"]).contains("User 'nobody' not found"));
}

#[test]
fn list_and_getuser_replies() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.roundtrip(
        b"ACL SETUSER u1 on >secret ~k* %R~r* resetchannels &ch +@string -append (+get ~other)\r\n",
        b"+OK\r\n",
    );
    let line = format!(
        "user u1 on #{SECRET_DIGEST} ~k* %R~r* resetchannels &ch -@all +@string -append (~other resetchannels -@all +get)"
    );
    c.roundtrip(
        b"ACL LIST\r\n",
        format!("*2\r\n{}{}", bulk("user default on nopass ~* &* +@all"), bulk(&line)).as_bytes(),
    );
    c.roundtrip(b"ACL USERS\r\n", format!("*2\r\n{}{}", bulk("default"), bulk("u1")).as_bytes());
    let expected = format!(
        "*12\r\n{}*1\r\n{}{}*1\r\n{}{}{}{}{}{}{}{}*1\r\n*6\r\n{}{}{}{}{}{}",
        bulk("flags"),
        bulk("on"),
        bulk("passwords"),
        bulk(SECRET_DIGEST),
        bulk("commands"),
        bulk("-@all +@string -append"),
        bulk("keys"),
        bulk("~k* %R~r*"),
        bulk("channels"),
        bulk("&ch"),
        bulk("selectors"),
        bulk("commands"),
        bulk("-@all +get"),
        bulk("keys"),
        bulk("~other"),
        bulk("channels"),
        bulk("")
    );
    c.roundtrip(b"ACL GETUSER u1\r\n", expected.as_bytes());
    c.roundtrip(b"ACL GETUSER nobody\r\n", b"$-1\r\n");
    c.roundtrip(
        b"ACL SETUSER u1 +nosuch\r\n",
        b"-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL\r\n",
    );
    c.roundtrip(b"ACL SETUSER \"a b\"\r\n", b"-ERR Usernames can't contain spaces or null characters\r\n");
    c.roundtrip(b"ACL CAT nosuch\r\n", b"-ERR Unknown category 'nosuch'\r\n");
    c.roundtrip(b"ACL DELUSER default\r\n", b"-ERR The 'default' user cannot be removed\r\n");
}

#[test]
fn deleting_a_user_disconnects_its_clients() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["ACL", "SETUSER", "gone", "on", ">pw", "+@all"]);
    let mut other = srv.raw();
    other.roundtrip(b"AUTH gone pw\r\n", b"+OK\r\n");
    let mut me = srv.raw();
    me.roundtrip(b"AUTH gone pw\r\n", b"+OK\r\n");
    // The caller gets its reply, then both connections close.
    me.roundtrip(b"ACL DELUSER gone nosuch\r\n", b":1\r\n");
    assert!(me.closed());
    assert!(other.closed());
    assert_eq!(q::<String>(&mut admin, &["PING"]), "PONG");
}

#[test]
fn transactions_and_scripts_are_checked() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["ACL", "SETUSER", "t", "on", "nopass", "~*", "+multi", "+exec", "+incr", "+eval"]);
    let mut c = srv.raw();
    c.roundtrip(b"AUTH t x\r\n", b"+OK\r\n");
    c.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    c.roundtrip(b"INCR a\r\n", b"+QUEUED\r\n");
    // Permissions changed between queueing and EXEC.
    let _: () = q(&mut admin, &["ACL", "SETUSER", "t", "-incr"]);
    c.roundtrip(
        b"EXEC\r\n",
        b"*1\r\n-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand\r\n",
    );
    c.roundtrip(b"MULTI\r\n", b"+OK\r\n");
    c.roundtrip(b"INCR a\r\n", b"-NOPERM this user has no permissions to run the 'incr' command\r\n");
    c.roundtrip(b"EXEC\r\n", b"-EXECABORT Transaction discarded because of previous errors.\r\n");
    c.send(b"EVAL \"return redis.call('incr','a')\" 0\r\n");
    let line = c.read_line();
    assert!(
        line.starts_with("-ERR The user executing the script can't run this command or subcommand script:"),
        "{line}"
    );
    let log: Vec<Vec<redis::Value>> = q(&mut admin, &["ACL", "LOG", "1"]);
    assert_eq!(log[0][5], redis::Value::BulkString(b"lua".to_vec()));
}

#[test]
fn revoked_channels_disconnect_subscribers() {
    let srv = TestServer::start(&[]);
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["ACL", "SETUSER", "ps", "on", "nopass", "+@all", "resetchannels", "&foo:*", "&bar"]);
    let mut keep = srv.raw();
    keep.roundtrip(b"AUTH ps x\r\n", b"+OK\r\n");
    keep.roundtrip(b"SUBSCRIBE bar\r\n", format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk("bar")).as_bytes());
    let mut lose = srv.raw();
    lose.roundtrip(b"AUTH ps x\r\n", b"+OK\r\n");
    lose.roundtrip(b"PSUBSCRIBE foo:*\r\n", format!("*3\r\n{}{}:1\r\n", bulk("psubscribe"), bulk("foo:*")).as_bytes());
    lose.roundtrip(
        b"PSUBSCRIBE foo:1\r\n",
        b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
    );
    let _: () = q(&mut admin, &["ACL", "SETUSER", "ps", "resetchannels", "&bar", "&foo:1"]);
    assert!(lose.closed());
    keep.roundtrip(b"PING\r\n", format!("*2\r\n{}{}", bulk("pong"), bulk("")).as_bytes());
}

#[test]
fn acl_file_load_and_save() {
    let dir = common::temp_dir("aclfile");
    std::fs::write(
        dir.join("users.acl"),
        "user alice on >alice ~* &* +@all\nuser bob on >bob -@all +@set +acl ~set*\n",
    )
    .expect("write acl file");
    let srv = TestServer::start_in(&dir, &common::binary(), &["--aclfile", "users.acl"]);
    let mut c = srv.raw();
    c.roundtrip(b"AUTH bob bob\r\n", b"+OK\r\n");
    c.roundtrip(b"SADD set1 a\r\n", b":1\r\n");
    c.roundtrip(b"SET key v\r\n", b"-NOPERM this user has no permissions to run the 'set' command\r\n");
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["AUTH", "alice", "alice"]);
    let _: () = q(&mut admin, &["ACL", "SETUSER", "eve", "on", ">eve", "+get", "allkeys"]);
    let _: () = q(&mut admin, &["ACL", "SAVE"]);
    let saved = std::fs::read_to_string(dir.join("users.acl")).expect("saved file");
    assert!(
        saved.lines().any(|l| l.starts_with("user eve on #") && l.ends_with(" ~* resetchannels -@all +get")),
        "{saved}"
    );
    assert_eq!(saved.lines().count(), 4);
    // A broken file changes nothing.
    std::fs::write(dir.join("users.acl"), format!("{saved}user alice on nopass\n")).expect("corrupt");
    let e = err(&mut admin, &["ACL", "LOAD"]);
    assert!(e.contains("Duplicate user 'alice' found on line 5"), "{e}");
    // A good one replaces everyone; clients of users that went away are disconnected.
    std::fs::write(dir.join("users.acl"), "user alice on >alice ~* &* +@all\n").expect("rewrite");
    let _: () = q(&mut admin, &["ACL", "LOAD"]);
    assert!(c.closed());
    // Every user was replaced, alice too: her connection goes as well.
    let mut fresh = srv.client();
    let users: Vec<String> = q(&mut fresh, &["ACL", "USERS"]);
    assert_eq!(users, ["alice", "default"]);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_directives_and_config_rewrite() {
    let srv = TestServer::start_with_config(
        Some("user default on nopass ~* &* +@all -flushdb\nuser app on >pw ~app:* +@read\n"),
        &[],
    );
    let mut c = srv.raw();
    c.roundtrip(b"FLUSHDB\r\n", b"-NOPERM this user has no permissions to run the 'flushdb' command\r\n");
    c.roundtrip(b"AUTH app pw\r\n", b"+OK\r\n");
    c.roundtrip(b"GET app:1\r\n", b"$-1\r\n");
    let mut admin = srv.client();
    let _: () = q(&mut admin, &["ACL", "SETUSER", "late", "on", "nopass", "+ping"]);
    let _: () = q(&mut admin, &["CONFIG", "REWRITE"]);
    let conf = std::fs::read_to_string(srv.dir.join("redis.conf")).expect("config");
    assert!(conf.contains("user default on nopass sanitize-payload ~* &* +@all -flushdb\n"), "{conf}");
    assert!(conf.contains("user late on nopass resetchannels -@all +ping\n"), "{conf}");
}

#[test]
fn bad_user_directives_stop_the_server() {
    let dir = common::temp_dir("badusers");
    let out = std::process::Command::new(common::binary())
        .args(["--port", "0", "--user", "foo", "--user", "foo"])
        .current_dir(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Error in user declaration 'foo': Duplicate user found"), "{text}");
    let out = std::process::Command::new(common::binary())
        .args(["--port", "0", "--user", "foo on ~a b"])
        .current_dir(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn secrets_are_redacted_from_slowlog_and_monitor() {
    let srv = TestServer::start(&[]);
    let mut mon = srv.raw();
    mon.roundtrip(b"MONITOR\r\n", b"+OK\r\n");
    let mut c = srv.raw();
    c.roundtrip(b"CONFIG SET slowlog-log-slower-than 0\r\n", b"+OK\r\n");
    c.roundtrip(b"AUTH nobody secret\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    c.roundtrip(b"ACL SETUSER u on >secret\r\n", b"+OK\r\n");
    c.roundtrip(b"CONFIG SET requirepass secret\r\n", b"+OK\r\n");
    c.roundtrip(b"AUTH secret\r\n", b"+OK\r\n");
    c.send(b"SLOWLOG GET 5\r\n");
    std::thread::sleep(std::time::Duration::from_millis(200));
    c.s.set_read_timeout(Some(std::time::Duration::from_millis(200))).expect("timeout");
    let text = String::from_utf8_lossy(&c.read_n(1 << 16)).into_owned();
    assert!(!text.contains("secret"), "{text}");
    assert_eq!(text.matches("(redacted)").count(), 1 + 1 + 3 + 2, "{text}");
    // MONITOR never sees admin commands (ACL, CONFIG) and redacts AUTH.
    let first = mon.read_line();
    let second = mon.read_line();
    assert!(first.ends_with(r#""AUTH" "(redacted)" "(redacted)""#), "{first}");
    assert!(second.ends_with(r#""AUTH" "(redacted)""#), "{second}");
}
