//! Client-side caching through the real binary: invalidation pushes to RESP3 clients, redirection
//! to a RESP2 subscriber of `__redis__:invalidate`, BCAST prefixes, NOLOOP, OPTIN, flushes, the
//! CLIENT TRACKING family's replies and errors, and RESET turning tracking off.

mod common;
use common::{RawConn, TestServer};

/// Read until `marker` arrived; returns everything read.
fn read_until(conn: &mut RawConn, marker: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    while !got.windows(marker.len()).any(|w| w == marker) {
        let more = conn.read_n(1);
        assert!(
            !more.is_empty(),
            "connection ended before {:?}: {:?}",
            String::from_utf8_lossy(marker),
            String::from_utf8_lossy(&got)
        );
        got.extend(more);
    }
    got
}

/// A RESP3 connection, its HELLO reply consumed.
fn resp3(srv: &TestServer) -> RawConn {
    let mut c = srv.raw();
    c.send(b"HELLO 3\r\nPING\r\n");
    read_until(&mut c, b"+PONG\r\n");
    c
}

fn invalidation(keys: &[&str]) -> Vec<u8> {
    let mut out = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len()).into_bytes();
    for k in keys {
        out.extend(format!("${}\r\n{k}\r\n", k.len()).into_bytes());
    }
    out
}

#[test]
fn a_read_key_is_invalidated_once_when_another_client_writes_it() {
    let srv = TestServer::start(&[]);
    let mut reader = resp3(&srv);
    let mut writer = srv.raw();
    reader.roundtrip(b"CLIENT TRACKING on\r\n", b"+OK\r\n");
    reader.roundtrip(b"SET k v\r\nGET k\r\n", b"+OK\r\n$1\r\nv\r\n");
    writer.roundtrip(b"SET k w\r\n", b"+OK\r\n");
    reader.roundtrip(b"", &invalidation(&["k"]));
    // Not read again: a second write says nothing; the next reply is the PING's.
    writer.roundtrip(b"SET k x\r\n", b"+OK\r\n");
    reader.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // The reader's own write of a key it read comes after its reply (no NOLOOP).
    reader.roundtrip(b"GET k\r\nSET k y\r\n", b"$1\r\nx\r\n+OK\r\n");
    reader.roundtrip(b"", &invalidation(&["k"]));
    // A flush tells every tracking client with a null.
    reader.roundtrip(b"FLUSHALL\r\n", b"+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
    let mut info = srv.client();
    let stats: String = common::q(&mut info, &["INFO", "clients"]);
    assert!(stats.contains("tracking_clients:1"), "{stats}");
}

#[test]
fn redirect_reaches_a_resp2_subscriber_and_noloop_skips_own_writes() {
    let srv = TestServer::start(&[]);
    let mut sub = srv.raw();
    sub.roundtrip(b"CLIENT ID\r\n", b":");
    let id = sub.read_line();
    sub.roundtrip(
        b"SUBSCRIBE __redis__:invalidate\r\n",
        b"*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n",
    );
    let mut reader = srv.raw();
    reader.roundtrip(format!("CLIENT TRACKING on REDIRECT {id} NOLOOP\r\n").as_bytes(), b"+OK\r\n");
    reader.roundtrip(b"CLIENT GETREDIR\r\n", format!(":{id}\r\n").as_bytes());
    reader.roundtrip(b"GET a\r\nGET b\r\n", b"$-1\r\n$-1\r\n");
    // NOLOOP: the reader's own write of a is not announced; another client's write of b is.
    reader.roundtrip(b"SET a 1\r\n", b"+OK\r\n");
    let mut writer = srv.raw();
    writer.roundtrip(b"SET b 2\r\n", b"+OK\r\n");
    sub.roundtrip(b"", b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nb\r\n");
    // The target leaves: the redirect is reported broken.
    drop(sub);
    std::thread::sleep(std::time::Duration::from_millis(100));
    reader.roundtrip(b"GET b\r\n", b"$1\r\n2\r\n");
    writer.roundtrip(b"SET b 3\r\n", b"+OK\r\n");
    reader.roundtrip(
        b"CLIENT TRACKINGINFO\r\n",
        b"*6\r\n$5\r\nflags\r\n*3\r\n$2\r\non\r\n$6\r\nnoloop\r\n$15\r\nbroken_redirect\r\n",
    );
}

#[test]
fn bcast_prefixes_announce_changed_keys_without_reads() {
    let srv = TestServer::start(&[]);
    let mut reader = resp3(&srv);
    reader.roundtrip(b"CLIENT TRACKING on BCAST PREFIX user: PREFIX job:\r\n", b"+OK\r\n");
    let mut writer = srv.raw();
    writer.roundtrip(b"SET user:1 a\r\nSET other b\r\nSET job:9 c\r\n", b"+OK\r\n+OK\r\n+OK\r\n");
    // One message per prefix, in prefix order (job: before user:), as Redis sends them.
    let got = read_until(&mut reader, b"user:1\r\n");
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("job:9") && !text.contains("other"), "{text}");
    // Overlapping prefixes and mode switches are refused with Redis's texts.
    let mut c = srv.client();
    let e = common::err(&mut c, &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a", "PREFIX", "ab"]);
    assert!(e.contains("Prefix 'a' overlaps with another provided prefix 'ab'"), "{e}");
    let e = common::err(&mut c, &["CLIENT", "TRACKING", "on", "PREFIX", "a"]);
    assert!(e.contains("PREFIX option requires BCAST mode to be enabled"), "{e}");
    let e = common::err(&mut c, &["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]);
    assert!(e.contains("The client ID you want redirect to does not exist"), "{e}");
    let e = common::err(&mut c, &["CLIENT", "CACHING", "yes"]);
    assert!(e.contains("CLIENT CACHING can be called only when the client is in tracking mode"), "{e}");
}

#[test]
fn optin_tracks_only_after_caching_yes_and_reset_turns_tracking_off() {
    let srv = TestServer::start(&[]);
    let mut reader = resp3(&srv);
    let mut writer = srv.raw();
    reader.roundtrip(b"CLIENT TRACKING on OPTIN\r\n", b"+OK\r\n");
    reader.roundtrip(b"GET untracked\r\nCLIENT CACHING yes\r\nGET tracked\r\n", b"_\r\n+OK\r\n_\r\n");
    writer.roundtrip(b"SET untracked 1\r\nSET tracked 1\r\n", b"+OK\r\n+OK\r\n");
    reader.roundtrip(b"", &invalidation(&["tracked"]));
    reader.roundtrip(b"PING\r\n", b"+PONG\r\n");
    reader.roundtrip(b"CLIENT SETNAME x\r\nRESET\r\n", b"+OK\r\n+RESET\r\n");
    reader.send(b"CLIENT INFO\r\n");
    let _length = reader.read_line();
    let info = reader.read_line();
    assert!(info.contains(" flags=N ") && info.contains(" redir=-1 "), "{info}");
}

#[test]
fn scripts_that_read_track_their_keys_and_the_table_stays_within_its_limit() {
    let srv = TestServer::start(&[]);
    let mut reader = resp3(&srv);
    let mut writer = srv.raw();
    reader.roundtrip(b"CLIENT TRACKING on\r\n", b"+OK\r\n");
    // A script that only writes tracks nothing; one that reads tracks every declared key.
    reader.roundtrip(b"EVAL \"redis.call('set','s','1')\" 2 d1 d2\r\n", b"_\r\n");
    writer.roundtrip(b"SET d1 x\r\n", b"+OK\r\n");
    reader.roundtrip(b"EVAL \"redis.call('get','s')\" 2 d1 d2\r\n", b"_\r\n");
    writer.roundtrip(b"SET d2 x\r\nSET d1 y\r\n", b"+OK\r\n+OK\r\n");
    reader.roundtrip(b"", &[invalidation(&["d2"]), invalidation(&["d1"])].concat());
    reader.roundtrip(b"PING\r\n", b"+PONG\r\n");
    // Over tracking-table-max-keys, keys are invalidated until the table fits again.
    reader.roundtrip(b"MGET a b c\r\n", b"*3\r\n_\r\n_\r\n_\r\n");
    writer.roundtrip(b"CONFIG SET tracking-table-max-keys 1\r\n", b"+OK\r\n");
    let got = read_until(&mut reader, b"invalidate");
    let got = [got, read_until(&mut reader, b"invalidate")].concat();
    assert!(got.starts_with(b">2\r\n$10\r\ninvalidate"), "{:?}", String::from_utf8_lossy(&got));
    let mut info = srv.client();
    let stats: String = common::q(&mut info, &["INFO", "stats"]);
    assert!(stats.contains("tracking_total_keys:1\r\n"), "{stats}");
}
