//! Config files: Redis's fatal error format, the user's three-node configs, CONFIG GET/SET/REWRITE.

mod common;
use common::TestServer;
use std::process::Command;

#[test]
fn bad_config_stops_startup_with_redis_message() {
    let dir = common::temp_dir("badconf");
    let path = dir.join("bad.conf");
    std::fs::write(&path, "port 7000\nmaxclients notanumber\n").expect("write");
    let out = Command::new(common::binary()).arg(&path).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"), "{err}");
    assert!(err.contains("Reading the configuration file, at line 2"), "{err}");
    assert!(err.contains(">>> 'maxclients notanumber'"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn users_three_node_configs_load() {
    let master = "protected-mode no\nport 6379\nmasterauth password\nrequirepass password\ndbfilename \"dump.rdb\"\nappendonly yes\nappendfilename \"appendonly.aof\"\n";
    let srv = TestServer::start_with_config(Some(master), &[]);
    let mut c = srv.raw();
    c.roundtrip(b"AUTH password\r\n", b"+OK\r\n");
    c.roundtrip(b"SET counter 1\r\n", b"+OK\r\n");
    // The workers' form (slaveof with a host name) loads and serves too.
    let worker = TestServer::start_with_config(Some(&format!("{master}slaveof redis-0 6379\n")), &[]);
    let mut w = worker.raw();
    w.roundtrip(b"AUTH password\r\n", b"+OK\r\n");
    w.roundtrip(b"CONFIG GET replicaof\r\n", b"*2\r\n$9\r\nreplicaof\r\n$12\r\nredis-0 6379\r\n");
}

#[test]
fn config_get_set_and_rewrite_round_trip() {
    let srv = TestServer::start_with_config(Some("# my comment\nmaxclients 500\nhz 10\n"), &[]);
    let mut con = srv.client();
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxclients").query(&mut con).expect("get");
    assert_eq!(v, vec!["maxclients", "500"]);
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("maxclients").arg("600").arg("hz").arg("20").query(&mut con).expect("set");
    // Atomic: one bad pair refuses the whole call and changes nothing.
    let err: redis::RedisResult<()> =
        redis::cmd("CONFIG").arg("SET").arg("maxclients").arg("700").arg("hz").arg("x").query(&mut con);
    assert!(err.is_err());
    let v: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxclients").query(&mut con).expect("get");
    assert_eq!(v, vec!["maxclients", "600"]);
    let _: () = redis::cmd("CONFIG").arg("REWRITE").query(&mut con).expect("rewrite");
    let text = std::fs::read_to_string(srv.dir.join("redis.conf")).expect("read");
    assert!(text.starts_with("# my comment\n"), "{text}");
    assert!(text.contains("maxclients 600"), "{text}");
    assert!(text.contains("hz 20"), "{text}");
}

#[test]
fn process_title_follows_the_template() {
    let srv = TestServer::start(&[]);
    let cmdline = || {
        let raw = std::fs::read(format!("/proc/{}/cmdline", srv.pid())).expect("cmdline");
        String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_string()
    };
    assert!(cmdline().ends_with(&format!("ferrodis-server 127.0.0.1:{}", srv.port)), "{}", cmdline());
    let mut con = srv.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proc-title-template")
        .arg("TEST {title} {port} {config-file}")
        .query(&mut con)
        .expect("config set");
    let title = cmdline();
    assert!(title.starts_with("TEST ") && title.ends_with(&format!("ferrodis-server {} -", srv.port)), "{title}");
    let err = redis::cmd("CONFIG").arg("SET").arg("proc-title-template").arg("{nope}").query::<()>(&mut con);
    assert!(err.is_err_and(|e| e.to_string().contains("template format is invalid")));
}
