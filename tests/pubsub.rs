//! Pub/Sub and keyspace notifications over real connections: channel and pattern subscriptions,
//! the RESP2 subscribed-mode restrictions, RESP3 pushes, introspection, and keyspace events.

mod common;
use common::TestServer;

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

#[test]
fn subscribe_publish_and_patterns() {
    let srv = TestServer::start(&[]);
    let mut sub = srv.raw();
    sub.roundtrip(b"SUBSCRIBE news\r\n", format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk("news")).as_bytes());
    sub.roundtrip(b"PSUBSCRIBE n*\r\n", format!("*3\r\n{}{}:2\r\n", bulk("psubscribe"), bulk("n*")).as_bytes());
    let mut con = srv.client();
    let n: i64 = redis::cmd("PUBLISH").arg("news").arg("hi").query(&mut con).expect("publish");
    assert_eq!(n, 2);
    sub.roundtrip(
        b"",
        format!(
            "*3\r\n{}{}{}*4\r\n{}{}{}{}",
            bulk("message"),
            bulk("news"),
            bulk("hi"),
            bulk("pmessage"),
            bulk("n*"),
            bulk("news"),
            bulk("hi")
        )
        .as_bytes(),
    );
    let numsub: Vec<redis::Value> =
        redis::cmd("PUBSUB").arg("NUMSUB").arg("news").arg("x").query(&mut con).expect("numsub");
    assert_eq!(numsub.len(), 4);
    let numpat: i64 = redis::cmd("PUBSUB").arg("NUMPAT").query(&mut con).expect("numpat");
    assert_eq!(numpat, 1);
    let channels: Vec<String> = redis::cmd("PUBSUB").arg("CHANNELS").arg("ne*").query(&mut con).expect("channels");
    assert_eq!(channels, ["news"]);
    // RESP2 subscribed mode only allows subscription management, PING, QUIT and RESET.
    sub.roundtrip(
        b"GET x\r\n",
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    sub.roundtrip(b"PING\r\n", format!("*2\r\n{}{}", bulk("pong"), bulk("")).as_bytes());
    sub.roundtrip(b"UNSUBSCRIBE\r\n", format!("*3\r\n{}{}:1\r\n", bulk("unsubscribe"), bulk("news")).as_bytes());
    sub.roundtrip(b"PUNSUBSCRIBE\r\n", format!("*3\r\n{}{}:0\r\n", bulk("punsubscribe"), bulk("n*")).as_bytes());
    // Out of subscribed mode: ordinary commands work again.
    sub.roundtrip(b"PING\r\n", b"+PONG\r\n");
    sub.roundtrip(b"UNSUBSCRIBE\r\n", format!("*3\r\n{}$-1\r\n:0\r\n", bulk("unsubscribe")).as_bytes());
}

#[test]
fn resp3_pushes_and_keyspace_events() {
    let srv = TestServer::start(&[]);
    let mut con = srv.client();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("KEA").query(&mut con).expect("cfg");
    let mut sub = srv.raw();
    sub.send(b"HELLO 3\r\n");
    // Skip the HELLO map: read until the subscribe confirmation we ask for next.
    sub.send(b"PSUBSCRIBE __key*@0__:*\r\n");
    let mut seen = String::new();
    while !seen.ends_with(":1\r\n") {
        seen.push_str(&sub.read_line());
        seen.push_str("\r\n");
    }
    assert!(seen.contains(">3\r\n$10\r\npsubscribe\r\n"), "{seen}");
    let _: i64 = redis::cmd("RPUSH").arg("mylist").arg("a").query(&mut con).expect("rpush");
    // `A` does not include `n`: no "new" event here.
    let expect = [("__keyspace@0__:mylist", "rpush"), ("__keyevent@0__:rpush", "mylist")];
    for (chan, msg) in expect {
        sub.roundtrip(
            b"",
            format!(">4\r\n{}{}{}{}", bulk("pmessage"), bulk("__key*@0__:*"), bulk(chan), bulk(msg)).as_bytes(),
        );
    }
    // Masking: only list events and new keys, of the keyevent kind.
    let _: () = redis::cmd("CONFIG").arg("SET").arg("notify-keyspace-events").arg("Eln").query(&mut con).expect("cfg");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).expect("set");
    sub.roundtrip(
        b"",
        format!(">4\r\n{}{}{}{}", bulk("pmessage"), bulk("__key*@0__:*"), bulk("__keyevent@0__:new"), bulk("k"))
            .as_bytes(),
    );
    let _: String = redis::cmd("LPOP").arg("mylist").query(&mut con).expect("lpop");
    sub.roundtrip(
        b"",
        format!(">4\r\n{}{}{}{}", bulk("pmessage"), bulk("__key*@0__:*"), bulk("__keyevent@0__:lpop"), bulk("mylist"))
            .as_bytes(),
    );
}
