//! Whole-subsystem tests: loading real-world config files, Redis's fatal
//! error reports, and CONFIG GET/SET/REWRITE round trips on temporary files.
//!
//! `dir` is the process working directory, shared with every other test in
//! the crate, so these tests only ever "change" it to its current value and
//! still hold [`cwd_lock`] (which also restores it) while loading. Files are
//! only created under the temp directory.

use std::fs;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use super::*;

static CWD: Mutex<()> = Mutex::new(());

/// Serialises tests that depend on the working directory and restores it.
pub(crate) struct CwdGuard {
    saved: Option<PathBuf>,
    _lock: MutexGuard<'static, ()>,
}

impl Drop for CwdGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.saved.take() {
            let _ = std::env::set_current_dir(dir);
        }
    }
}

pub(crate) fn cwd_lock() -> CwdGuard {
    let lock = CWD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    CwdGuard { saved: std::env::current_dir().ok(), _lock: lock }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrodis-config-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The current directory as a config value, quoted for `split_args`.
fn cwd_arg() -> String {
    let cwd = std::env::current_dir().unwrap();
    let mut quoted = Vec::new();
    push_repr(&mut quoted, cwd.to_string_lossy().as_bytes());
    String::from_utf8(quoted).unwrap()
}

/// `to` as a path relative to the current directory, to test that includes
/// resolve against the cwd without changing it.
fn relative_to_cwd(to: &std::path::Path) -> String {
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd.components().count().saturating_sub(1);
    format!("{}{}", "../".repeat(ups), to.to_string_lossy().trim_start_matches('/'))
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    Config::load(None, text)
}

fn fatal(line: usize, text: &str, reason: &str) -> String {
    format!(
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{reason}\n"
    )
}

#[test]
fn fatal_messages_match_redis() {
    let _cwd = cwd_lock();
    // Overrides follow an empty file and a "\n", so their first line is line 2.
    let cases = [
        ("foo bar", "Bad directive or wrong number of arguments"),
        ("port \"abc", "Unbalanced quotes in configuration line"),
        ("port 'a'b", "Unbalanced quotes in configuration line"),
        ("port 1 2", "wrong number of arguments"),
        ("daemonize maybe", "argument must be 'yes' or 'no'"),
        ("port x", "argument couldn't be parsed into an integer"),
        ("port 99999", "argument must be between 0 and 65535 inclusive"),
        ("save 0 1", "Invalid save parameters"),
        ("save \"900 1 300\"", "Invalid save parameters"),
        ("maxmemory 1x", "argument must be a memory value"),
        ("loglevel xx", "argument(s) must be one of the following: debug, verbose, notice, warning"),
        ("unixsocketperm 999", "argument couldn't be parsed as an octal number"),
        ("replicaof a 99999", "Invalid master port"),
        ("notify-keyspace-events Q", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        ("sentinel monitor x", "sentinel directive while not in sentinel mode"),
        ("foo.bar", "Module config specified without value"),
        ("list-max-ziplist-entries 1 2", "Bad directive or wrong number of arguments"),
        ("set-max-listpack-entries 128", "Bad directive or wrong number of arguments"),
        ("dir /nonexistent-ferrodis-dir", "No such file or directory"),
    ];
    for (line, reason) in cases {
        let err = load_text(line).unwrap_err();
        assert_eq!(err.to_string(), fatal(2, line, reason), "{line}");
    }
    let err = load_text("logfile /nonexistent-ferrodis-dir/x.log").unwrap_err();
    assert_eq!(
        err.to_string(),
        "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n"
    );
    let err = load_text("cluster-enabled yes\nreplicaof a 1").unwrap_err();
    assert!(err.to_string().ends_with("\nreplicaof directive not allowed in cluster mode\n"));
    let err = load_text("include /nonexistent-ferrodis.conf").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Fatal error, can't open config file '/nonexistent-ferrodis.conf': No such file or directory"
    );
}

#[test]
fn parsing_rules() {
    let _cwd = cwd_lock();
    let c = load_text(
        "# comment\n\n   PORT 7000\r\nSlave-Read-Only no\nhash-max-ziplist-entries 64\nlua-time-limit 100\n\
         list-max-ziplist-entries 512\nbind 127.0.0.1 ::1\nsave 900 1\nsave 300 10\nport 7001\n\
         client-output-buffer-limit replica 1gb 512mb 120\nrequirepass \"a\\x00b\"\n\
         notify-keyspace-events Ex\nrename-command FLUSHALL \"\"\nuser alice on >pw ~* +@all\n\
         loadmodule /x.so a b\nmymod.opt 1 2\nmymod.opt 3\nsentinel",
    )
    .unwrap();
    assert_eq!(c.port(), 7001);
    assert!(!c.replica_read_only());
    assert_eq!(c.hash_max_listpack_entries(), 64);
    assert_eq!(c.get_str("busy-reply-threshold").as_deref(), Some("100"));
    assert_eq!(c.bind(), ["127.0.0.1", "::1"]);
    assert_eq!(c.save_points(), [(900, 1), (300, 10)]);
    assert_eq!(c.client_output_buffer_limit(ClientClass::Replica).hard_bytes, 1 << 30);
    assert_eq!(c.requirepass(), Some(&b"a\0b"[..]));
    assert_eq!(c.notify_keyspace_events(), notify::KEYEVENT | notify::EXPIRED);
    assert_eq!(c.rename_commands()[0].args, [b"rename-command".to_vec(), b"FLUSHALL".to_vec(), Vec::new()]);
    assert_eq!(c.rename_commands()[0].line, 16);
    assert_eq!(c.user_directives().len(), 1);
    assert_eq!(c.loadmodules().len(), 1);
    assert_eq!(c.module_configs(), [("mymod.opt".to_string(), b"3".to_vec())]);
    assert_eq!(c.unsupported(), ["rename-command", "loadmodule", "sentinel"]);
    assert!(c.config_file().is_none());

    // A `save ""` clears, and the defaults survive when no `save` is given.
    assert!(load_text("save \"\"").unwrap().save_points().is_empty());
    assert_eq!(load_text("port 1").unwrap().save_points().len(), 3);
    assert_eq!(load_text("save \"900 1 300 10\"").unwrap().save_points(), [(900, 1), (300, 10)]);
    assert_eq!(load_text("hz 0").unwrap().hz(), 1);
    assert_eq!(load_text("slaveof redis-0 6379").unwrap().replicaof(), Some(("redis-0", 6379)));
}

#[test]
fn command_line_overrides_win() {
    let _cwd = cwd_lock();
    let dir = temp_dir("overrides");
    let file = dir.join("r.conf");
    fs::write(&file, "port 1000\nmaxmemory 1mb\n").unwrap();
    let args: Vec<String> = ["--port", "7000", "--requirepass", "x y", "--save", "--bind", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let extra = overrides_to_text(&args);
    let c = Config::load(file.to_str(), &extra).unwrap();
    assert_eq!(c.port(), 7000);
    assert_eq!(c.requirepass(), Some(&b"x y"[..]));
    assert!(c.save_points().is_empty());
    assert_eq!(c.bind(), ["127.0.0.1", "::1"]);
    assert_eq!(c.maxmemory(), 1 << 20);
    assert_eq!(c.config_file(), file.to_str());
    let err = Config::load(file.to_str(), "port \"x\" ").unwrap_err();
    assert_eq!(err.to_string(), fatal(4, "port \"x\"", "argument couldn't be parsed into an integer"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn includes_are_relative_to_cwd_and_glob() {
    let _cwd = cwd_lock();
    let dir = temp_dir("include");
    fs::create_dir_all(dir.join("conf.d")).unwrap();
    fs::write(dir.join("conf.d/10-a.conf"), "port 1111\nmaxmemory 2mb\n").unwrap();
    fs::write(dir.join("conf.d/20-b.conf"), "port 2222\n").unwrap();
    fs::write(dir.join("bad.conf"), "\nhz nope\n").unwrap();
    let rel = relative_to_cwd(&dir);
    let c = load_text(&format!("include {rel}/conf.d/*.conf\ninclude {rel}/conf.d/none-*.conf")).unwrap();
    assert_eq!(c.port(), 2222);
    assert_eq!(c.maxmemory(), 2 << 20);
    let err = load_text(&format!("include {rel}/bad.conf")).unwrap_err();
    assert_eq!(err.to_string(), fatal(2, "hz nope", "argument couldn't be parsed into an integer"));
    let looping = format!("include {}/loop.conf", dir.display());
    fs::write(dir.join("loop.conf"), format!("{looping}\n")).unwrap();
    assert!(load_text(&looping).unwrap_err().to_string().contains("Too many nested include"));
    drop(_cwd);
    fs::remove_dir_all(&dir).unwrap();
}

/// The active lines of the `redis.conf` shipped with Redis 6.2.14.
const REDIS_62_ACTIVE_LINES: &str = "bind 127.0.0.1 -::1\nprotected-mode yes\nport 6379\ntcp-backlog 511\n\
timeout 0\ntcp-keepalive 300\ndaemonize no\npidfile /var/run/redis_6379.pid\nloglevel notice\nlogfile \"\"\n\
databases 16\nalways-show-logo no\nset-proc-title yes\nproc-title-template \"{title} {listen-addr} {server-mode}\"\n\
stop-writes-on-bgsave-error yes\nrdbcompression yes\nrdbchecksum yes\ndbfilename dump.rdb\nrdb-del-sync-files no\n\
dir ./\nreplica-serve-stale-data yes\nreplica-read-only yes\nrepl-diskless-sync no\nrepl-diskless-sync-delay 5\n\
repl-diskless-load disabled\nrepl-disable-tcp-nodelay no\nreplica-priority 100\nacllog-max-len 128\n\
lazyfree-lazy-eviction no\nlazyfree-lazy-expire no\nlazyfree-lazy-server-del no\nreplica-lazy-flush no\n\
lazyfree-lazy-user-del no\nlazyfree-lazy-user-flush no\noom-score-adj no\noom-score-adj-values 0 200 800\n\
disable-thp yes\nappendonly no\nappendfilename \"appendonly.aof\"\nappendfsync everysec\n\
no-appendfsync-on-rewrite no\nauto-aof-rewrite-percentage 100\nauto-aof-rewrite-min-size 64mb\n\
aof-load-truncated yes\naof-use-rdb-preamble yes\nlua-time-limit 5000\nslowlog-log-slower-than 10000\n\
slowlog-max-len 128\nlatency-monitor-threshold 0\nnotify-keyspace-events \"\"\nhash-max-ziplist-entries 512\n\
hash-max-ziplist-value 64\nlist-max-ziplist-size -2\nlist-compress-depth 0\nset-max-intset-entries 512\n\
zset-max-ziplist-entries 128\nzset-max-ziplist-value 64\nhll-sparse-max-bytes 3000\nstream-node-max-bytes 4096\n\
stream-node-max-entries 100\nactiverehashing yes\nclient-output-buffer-limit normal 0 0 0\n\
client-output-buffer-limit replica 256mb 64mb 60\nclient-output-buffer-limit pubsub 32mb 8mb 60\nhz 10\n\
dynamic-hz yes\naof-rewrite-incremental-fsync yes\nrdb-save-incremental-fsync yes\njemalloc-bg-thread yes\n";

#[test]
fn stock_redis_conf_files_load() {
    let _cwd = cwd_lock();
    let c = load_text(REDIS_62_ACTIVE_LINES).unwrap();
    assert_eq!(c.bind(), ["127.0.0.1", "-::1"]);
    assert_eq!(c.pidfile(), Some("/var/run/redis_6379.pid"));
    assert_eq!(c.get_str("lua-time-limit").as_deref(), Some("5000"));
    assert!(c.unsupported().contains(&"repl-disable-tcp-nodelay"));
    assert!(!c.unsupported().contains(&"port"));

    // Whole files when available: Debian's 7.0.15 package and a 6.2.14 copy.
    for path in ["/etc/redis/redis.conf", "/tmp/redisref/redis62.conf", "/tmp/redis-6.2.14.conf"] {
        if !std::path::Path::new(path).exists() {
            continue;
        }
        // Debian's file sets `dir /var/lib/redis` and a log file under
        // /var/log: load a copy that keeps the cwd and creates no log.
        let text = fs::read_to_string(path).unwrap();
        let text: Vec<String> = text
            .lines()
            .map(|l| if l.starts_with("dir ") { format!("dir {}", cwd_arg()) } else { l.to_string() })
            .collect();
        let copy = temp_dir("stock").join("redis.conf");
        fs::write(&copy, text.join("\n")).unwrap();
        let copy = copy.to_str().unwrap();
        let c = Config::load(Some(copy), "logfile \"\"").unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(c.port(), 6379, "{path}");
        assert_eq!(c.config_file(), Some(copy));
        assert_eq!(c.client_output_buffer_limit(ClientClass::Pubsub).soft_bytes, 8 << 20);
        let _ = fs::remove_dir_all(std::path::Path::new(copy).parent().unwrap());
    }
}

#[test]
fn user_configs_load() {
    let _cwd = cwd_lock();
    let c = load_text("protected-mode no\nport 6379\nmasterauth password\nrequirepass password").unwrap();
    assert!(!c.protected_mode());
    assert_eq!(c.masterauth(), Some(&b"password"[..]));
    assert_eq!(c.requirepass(), Some(&b"password"[..]));
    assert!(c.replicaof().is_none());

    let c = load_text("protected-mode no\nport 6379\nslaveof redis-0 6379\nmasterauth password\nrequirepass password")
        .unwrap();
    assert_eq!(c.replicaof(), Some(("redis-0", 6379)));
    assert_eq!(
        c.get(&[b"slaveof", b"replicaof"]),
        [("slaveof".to_string(), "redis-0 6379".to_string()), ("replicaof".to_string(), "redis-0 6379".to_string())]
    );

    let third = "dbfilename \"dump.rdb\"\ndir /data\nappendonly yes\nappendfilename \"appendonly.aof\"";
    if !std::path::Path::new("/data").is_dir() {
        let err = load_text(third).unwrap_err();
        assert_eq!(err.to_string(), fatal(3, "dir /data", "No such file or directory"));
    }
    let c = load_text(&third.replace("/data", &cwd_arg())).unwrap();
    assert_eq!(c.dbfilename(), "dump.rdb");
    assert!(c.appendonly());
    assert_eq!(c.appendfilename(), "appendonly.aof");
    assert_eq!(PathBuf::from(c.dir()), std::env::current_dir().unwrap());
}

#[test]
fn get_set_rewrite_round_trip() {
    let _cwd = cwd_lock();
    let dir = temp_dir("rewrite");
    let file = dir.join("redis.conf");
    let original = "# My config\nport 16399\nbind 127.0.0.1\nsave \"\"\nslave-read-only yes\n\
                    hash-max-ziplist-entries 100\nrename-command KEYS \"\"\nlist-max-ziplist-entries 5\n\
                    maxmemory 5mb\n# tail comment\n";
    fs::write(&file, original).unwrap();
    let mut c = Config::load(file.to_str(), "").unwrap();
    assert_eq!(c.config_file(), file.to_str());

    let changed = c
        .set(&[
            (b"maxmemory", b"10mb"),
            (b"slave-read-only", b"no"),
            (b"hash-max-ziplist-entries", b"128"),
            (b"notify-keyspace-events", b"Kx"),
            (b"client-output-buffer-limit", b"pubsub 64mb 16mb 90"),
            (b"save", b"900 1 300 10"),
            (b"requirepass", b"foo bar"),
        ])
        .unwrap();
    assert_eq!(changed.len(), 7);
    c.rewrite(file.to_str().unwrap()).unwrap();
    let written = fs::read_to_string(&file).unwrap();
    let cwd = std::env::current_dir().unwrap();
    let expected = format!(
        "# My config\nport 16399\nbind 127.0.0.1\nsave 900 1\nreplica-read-only no\n\
         hash-max-listpack-entries 128\nrename-command KEYS \"\"\n# ??? list-max-ziplist-entries 5\n\
         maxmemory 10mb\n# tail comment\n\n# Generated by CONFIG REWRITE\nrequirepass \"foo bar\"\n\
         dir \"{}\"\nsave 300 10\nclient-output-buffer-limit pubsub 64mb 16mb 90\n\
         notify-keyspace-events \"xK\"\nlatency-tracking-info-percentiles 50 99 99.9\n\
         user default on #fbc1a9f858ea9e177916964bd88c3d37b91a1e84412765e29950777f265c4b75 ~* &* +@all\n",
        cwd.display()
    );
    assert_eq!(written, expected);
    let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().filter_map(Result::ok).collect();
    assert_eq!(leftovers.len(), 1, "temporary file left behind");

    // Reloading the rewritten file gives back the same values.
    let reloaded = Config::load(file.to_str(), "").unwrap();
    assert_eq!(reloaded.get(&[b"*"]), c.get(&[b"*"]));

    // Back to defaults: lines already in the file stay (with the default
    // value), unset strings and the default bind disappear. This is the
    // sequence a real 7.0.15 was put through, with the same result apart from
    // the order of appended lines (hash order there, table order here).
    fs::write(&file, "port 16397\nbind 127.0.0.1\nsave \"\"\n").unwrap();
    let mut c = Config::load(file.to_str(), "").unwrap();
    c.set(&[(b"maxmemory", b"10mb"), (b"requirepass", b"xx")]).unwrap();
    c.rewrite(file.to_str().unwrap()).unwrap();
    c.set(&[(b"maxmemory", b"0"), (b"requirepass", b""), (b"bind", b"* -::*")]).unwrap();
    c.rewrite(file.to_str().unwrap()).unwrap();
    let written = fs::read_to_string(&file).unwrap();
    let expected = format!(
        "port 16397\n\nsave \"\"\n\n# Generated by CONFIG REWRITE\n\nmaxmemory 0\ndir \"{}\"\n\
         latency-tracking-info-percentiles 50 99 99.9\nuser default on nopass ~* &* +@all\n\n",
        cwd.display()
    );
    assert_eq!(written, expected);

    assert_eq!(
        Config::default().rewrite(file.to_str().unwrap()).unwrap_err(),
        "ERR The server is running without a config file"
    );
    let missing_dir = dir.join("no/such/dir/r.conf");
    assert_eq!(
        c.rewrite(missing_dir.to_str().unwrap()).unwrap_err(),
        "ERR Rewriting config file: No such file or directory"
    );
    drop(_cwd);
    fs::remove_dir_all(&dir).unwrap();
}
