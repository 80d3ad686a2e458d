//! Lua scripting through the real binary: EVAL and EVALSHA with KEYS/ARGV and reply conversions,
//! Redis 7.0's error texts (with the script's name and line), read-only scripts, FUNCTION LOAD and
//! FCALL, libraries surviving a restart through the RDB, and script effects reaching a replica.

mod common;
use common::{TestServer, q, temp_dir};
use std::time::{Duration, Instant};

fn err_text(r: redis::RedisResult<redis::Value>) -> String {
    match r {
        Err(e) => format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or("")),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

#[test]
fn eval_replies_and_errors_as_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.client();
    let ok: String = redis::cmd("EVAL")
        .arg("return redis.call('set', KEYS[1], ARGV[1])")
        .arg(1)
        .arg("k")
        .arg("v")
        .query(&mut c)
        .unwrap();
    assert_eq!(ok, "OK");
    let v: Vec<redis::Value> =
        redis::cmd("EVAL").arg("return {1, 'two', {3}, redis.call('get', 'k'), nil, 9}").arg(0).query(&mut c).unwrap();
    assert_eq!(v.len(), 4, "an array stops at the first nil: {v:?}");
    let n: i64 = redis::cmd("EVAL").arg("return 3.99").arg(0).query(&mut c).unwrap();
    assert_eq!(n, 3);
    let sha: String = q(&mut c, &["SCRIPT", "LOAD", "return ARGV[1] .. '!'"]);
    let out: String = redis::cmd("EVALSHA").arg(&sha).arg(0).arg("hi").query(&mut c).unwrap();
    assert_eq!(out, "hi!");
    assert_eq!(q::<Vec<i64>>(&mut c, &["SCRIPT", "EXISTS", &sha, "0000"]), vec![1, 0]);

    let e = err_text(redis::cmd("EVAL").arg("return redis.call('incr', KEYS[1])").arg(1).arg("k").query(&mut c));
    assert!(e.starts_with("ERR value is not an integer or out of range script: f_"), "{e}");
    assert!(e.ends_with("on @user_script:1."), "{e}");
    let e = err_text(redis::cmd("EVAL").arg("return redis.pcall('incr', KEYS[1])").arg(1).arg("k").query(&mut c));
    assert_eq!(e, "ERR value is not an integer or out of range");
    let e = err_text(redis::cmd("EVAL").arg("return redis.error_reply('MY custom')").arg(0).query(&mut c));
    assert_eq!(e, "MY custom");
    let e = err_text(
        redis::cmd("EVAL").arg("#!lua flags=no-writes\nreturn redis.call('set','a','b')").arg(0).query(&mut c),
    );
    assert!(e.starts_with("ERR Write commands are not allowed from read-only scripts."), "{e}");
    let e = err_text(redis::cmd("EVALSHA").arg("ffffffffffffffffffffffffffffffffffffffff").arg(0).query(&mut c));
    assert_eq!(e, "NOSCRIPT No matching script. Please use EVAL.");
    let e = err_text(redis::cmd("EVAL").arg("return (").arg(0).query(&mut c));
    assert!(e.starts_with("ERR Error compiling script"), "{e}");
}

#[test]
fn functions_load_call_and_survive_a_restart() {
    let dir = temp_dir("functions");
    let mut s = TestServer::start_in(&dir, &common::binary(), &[]);
    let mut c = s.client();
    let lib = "#!lua name=mylib\nredis.register_function('incr2', function(keys, args) return redis.call('incrby', keys[1], 2) end)\nredis.register_function{function_name='peek', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "mylib");
    let e = err_text(redis::cmd("FUNCTION").arg("LOAD").arg(lib).query(&mut c));
    assert_eq!(e, "ERR Library 'mylib' already exists");
    assert_eq!(q::<i64>(&mut c, &["FCALL", "incr2", "1", "n"]), 2);
    assert_eq!(q::<String>(&mut c, &["FCALL_RO", "peek", "1", "n"]), "2");
    let e = err_text(redis::cmd("FCALL_RO").arg("incr2").arg(1).arg("n").query(&mut c));
    assert_eq!(e, "ERR Can not execute a script with write flag using *_ro command.");
    q::<()>(&mut c, &["SAVE"]);
    drop(c);
    s.stop();
    let s = TestServer::start_in(&dir, &common::binary(), &[]);
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["FCALL", "incr2", "1", "n"]), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn script_effects_replicate_not_the_script() {
    let master = TestServer::start(&["--repl-diskless-sync-delay", "0"]);
    let mut m = master.client();
    let port = master.port.to_string();
    let replica = TestServer::start(&["--replicaof", "127.0.0.1", &port]);
    let mut r = replica.client();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !q::<String>(&mut r, &["INFO", "replication"]).contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "replica never synced");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A script whose result depends on the master's state at run time: replicas get its effects.
    let _: redis::Value = redis::cmd("EVAL")
        .arg("redis.call('set', 'a', 1); redis.call('incrby', 'a', 41); return redis.call('get', 'a')")
        .arg(0)
        .query(&mut m)
        .unwrap();
    q::<String>(
        &mut m,
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=l\nredis.register_function{function_name='f', callback=function() return 1 end, flags={'no-writes'}}",
        ],
    );
    assert_eq!(q::<i64>(&mut m, &["WAIT", "1", "5000"]), 1);
    assert_eq!(q::<String>(&mut r, &["GET", "a"]), "42");
    assert_eq!(q::<i64>(&mut r, &["FCALL_RO", "f", "0"]), 1);
    // A function that may write cannot run on a read-only replica.
    q::<String>(&mut m, &["FUNCTION", "LOAD", "#!lua name=w\nredis.register_function('g', function() return 1 end)"]);
    assert_eq!(q::<i64>(&mut m, &["WAIT", "1", "5000"]), 1);
    let e = err_text(redis::cmd("FCALL").arg("g").arg(0).query(&mut r));
    assert_eq!(e, "READONLY Can not run script with write flag on readonly replica");
}

#[test]
fn a_slow_script_answers_busy_and_can_be_killed() {
    let s = TestServer::start(&["--busy-reply-threshold", "50"]);
    let mut other = s.client();
    q::<()>(&mut other, &["SET", "k", "v"]);
    assert!(err_text(redis::cmd("SCRIPT").arg("KILL").query(&mut other)).starts_with("NOTBUSY"));
    let port = s.port;
    let runner = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        redis::cmd("EVAL").arg("while true do end").arg(0).query::<redis::Value>(&mut c)
    });
    // Other clients are served meanwhile: with -BUSY, except the commands allowed while busy.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match redis::cmd("GET").arg("k").query::<redis::Value>(&mut other) {
            Err(e) if e.code() == Some("BUSY") => break,
            _ => assert!(Instant::now() < deadline, "the script never timed out"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let e = err_text(redis::cmd("FUNCTION").arg("KILL").query(&mut other));
    assert!(e.contains("You can only call SCRIPT KILL"), "FUNCTION KILL on an EVAL: {e}");
    assert!(err_text(redis::cmd("SHUTDOWN").query(&mut other)).starts_with("BUSY"), "SHUTDOWN without NOSAVE");
    q::<()>(&mut other, &["SCRIPT", "KILL"]);
    let outcome = runner.join().expect("runner thread");
    let e = err_text(outcome);
    assert!(e.contains("Script killed by user with SCRIPT KILL"), "{e}");
    assert_eq!(q::<String>(&mut other, &["GET", "k"]), "v");
    assert!(s.log().contains("Slow script detected: still in execution after"));
}

#[test]
fn a_script_that_wrote_cannot_be_killed() {
    let s = TestServer::start(&["--busy-reply-threshold", "50"]);
    let port = s.port;
    let runner = std::thread::spawn(move || {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap().get_connection().unwrap();
        let script = "redis.call('set', 'x', '1') local t = redis.call('time') \
                      while redis.call('time')[1] - t[1] < 2 do end return 'done'";
        redis::cmd("EVAL").arg(script).arg(0).query::<String>(&mut c)
    });
    let mut other = s.client();
    let deadline = Instant::now() + Duration::from_secs(10);
    let e = loop {
        let reply = redis::cmd("SCRIPT").arg("KILL").query::<redis::Value>(&mut other);
        match reply {
            Err(e) if e.code() == Some("UNKILLABLE") => break e.to_string(),
            other_reply => {
                if runner.is_finished() {
                    let outcome = runner.join().map(|r| format!("{r:?}")).unwrap_or_else(|_| "panicked".into());
                    panic!(
                        "the script ended before it was seen unkillable: {outcome}; SCRIPT KILL said {other_reply:?}"
                    );
                }
                assert!(Instant::now() < deadline, "the script never became unkillable: {other_reply:?}");
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(e.contains("already executed write commands"), "{e}");
    assert_eq!(runner.join().expect("runner").expect("script result"), "done");
    assert_eq!(q::<String>(&mut other, &["GET", "x"]), "1");
}

#[test]
fn hostile_lua_is_an_error_not_a_crash() {
    let s = TestServer::start(&[]);
    let mut c = s.client();
    for script in [
        "return {unpack({1,2,3}, -2, 2147483647)}",
        "return {unpack({1,2,3}, 0, 2147483647)}",
        "return {unpack({1,2,3}, -2147483648, -2)}",
    ] {
        let e = err_text(redis::cmd("EVAL").arg(script).arg(0).query(&mut c));
        assert!(e.contains("too many results to unpack"), "{script}: {e}");
    }
    let e = err_text(
        redis::cmd("EVAL").arg("return loadstring(string.dump(function() return 1 end))()").arg(0).query(&mut c),
    );
    assert!(e.contains("attempt to call"), "bytecode must not load: {e}");
    let e = err_text(redis::cmd("EVAL").arg("print('x')").arg(0).query(&mut c));
    assert!(e.contains("Script attempted to access nonexistent global variable 'print'"), "{e}");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn a_library_that_never_finishes_loading_times_out() {
    let s = TestServer::start(&[]);
    let mut c = s.client();
    let e = err_text(
        redis::cmd("FUNCTION").arg("LOAD").arg("#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end").query(&mut c),
    );
    assert!(e.contains("FUNCTION LOAD timeout"), "{e}");
    let e = err_text(redis::cmd("EVAL").arg("a = 10").arg(0).query(&mut c));
    assert!(e.contains("Attempt to modify a readonly table"), "{e}");
    let e = err_text(redis::cmd("EVAL").arg("return getfenv(1)").arg(0).query(&mut c));
    assert!(e.contains("nonexistent global variable 'getfenv'"), "{e}");
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn a_client_in_the_same_event_batch_as_a_slow_script_is_answered_busy() {
    // While DEBUG SLEEP holds the loop, the script and a PING arrive on two connections, so the
    // next poll reports both at once: the PING must get -BUSY while the script runs, not wait for
    // it (the loop is edge-triggered; the nested loop has to read the batch's other clients).
    let s = TestServer::start(&["--busy-reply-threshold", "50", "--enable-debug-command", "yes"]);
    let mut sleeper = s.raw();
    let mut script = s.raw();
    let mut pinger = s.raw();
    sleeper.send(b"DEBUG SLEEP 0.3\r\n");
    std::thread::sleep(Duration::from_millis(100));
    let body = "local t = redis.call('time') while redis.call('time')[1] - t[1] < 2 do end return 'done'";
    script.send(format!("*3\r\n$4\r\nEVAL\r\n${}\r\n{body}\r\n$1\r\n0\r\n", body.len()).as_bytes());
    pinger.send(b"PING\r\n");
    assert_eq!(sleeper.read_line(), "+OK");
    let started = Instant::now();
    let reply = pinger.read_line();
    assert!(reply.starts_with("-BUSY"), "PING during the script: {reply}");
    assert!(started.elapsed() < Duration::from_millis(900), "answered only after {:?}", started.elapsed());
    assert_eq!(script.read_line(), "$4");
    assert_eq!(script.read_line(), "done");
}
