//! Test support: start the real `ferrodis-server` binary on a free loopback port in its own temp dir,
//! talk to it over TCP, and stop it by pid when the test ends.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn binary() -> String {
    std::env::var("FERRODIS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ferrodis-server").to_string())
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("ferrodis-test-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running server; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct TestServer {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    /// The temp dir is ours to delete (false when the caller passed a dir to reuse).
    owns_dir: bool,
}

impl TestServer {
    /// Start with `--port <free> --dir <tmp> --bind 127.0.0.1` plus `args`.
    pub fn start(args: &[&str]) -> TestServer {
        Self::start_with_config(None, args)
    }

    /// Start with a config file holding `config` (the port and dir are appended as arguments). A port
    /// taken by a concurrently started test between picking and binding is retried on another port.
    pub fn start_with_config(config: Option<&str>, args: &[&str]) -> TestServer {
        for _ in 0..5 {
            if let Some(server) = Self::try_start(config, args) {
                return server;
            }
        }
        panic!("server did not start after 5 attempts");
    }

    /// Start `bin` (ferrodis or, for interop tests, real redis-server) in an existing `dir`, which
    /// the caller keeps: a later server can start there again and find the files.
    pub fn start_in(dir: &std::path::Path, bin: &str, args: &[&str]) -> TestServer {
        for _ in 0..5 {
            if let Some(server) = Self::try_start_with(bin, dir.to_path_buf(), false, None, args) {
                return server;
            }
        }
        panic!("{bin} did not start in {} after 5 attempts", dir.display());
    }

    fn try_start(config: Option<&str>, args: &[&str]) -> Option<TestServer> {
        Self::try_start_with(&binary(), temp_dir("srv"), true, config, args)
    }

    fn try_start_with(
        bin: &str,
        dir: PathBuf,
        owns_dir: bool,
        config: Option<&str>,
        args: &[&str],
    ) -> Option<TestServer> {
        let port = free_port();
        let mut cmd = Command::new(bin);
        if let Some(text) = config {
            let path = dir.join("redis.conf");
            std::fs::write(&path, text).expect("write config");
            cmd.arg(&path);
        }
        cmd.args(["--port", &port.to_string(), "--dir", dir.to_str().expect("utf8 dir"), "--bind", "127.0.0.1"]);
        cmd.args(["--save", "", "--enable-debug-command", "yes"]);
        cmd.args(args);
        cmd.current_dir(&dir);
        let log = std::fs::File::create(dir.join("stdout")).expect("log file");
        cmd.stdout(Stdio::from(log.try_clone().expect("dup"))).stderr(Stdio::from(log));
        let child = cmd.spawn().expect("spawn ferrodis-server");
        let mut server = TestServer { port, dir, child: Some(child), owns_dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            // Our own process must be the one that is ready, not another server on the same port.
            if let Some(Ok(Some(_))) = server.child.as_mut().map(|c| c.try_wait()) {
                return None;
            }
            if server.log().contains("Ready to accept connections")
                && TcpStream::connect(("127.0.0.1", server.port)).is_ok()
            {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not start; log:\n{}", server.log());
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A connection from the `redis` client crate.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url()).expect("client").get_connection().expect("connect")
    }

    /// A raw TCP connection for byte-level protocol checks.
    pub fn raw(&self) -> RawConn {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        RawConn { s }
    }

    /// Kill with SIGKILL (a crash: nothing is flushed) and wait for it to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        // SAFETY-free: use the kill command to signal by pid.
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A plain socket with helpers to send bytes and read exact replies.
pub struct RawConn {
    pub s: TcpStream,
}

impl RawConn {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Read until `expected.len()` bytes arrived (or timeout) and return them.
    pub fn read_n(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        let mut got = 0;
        while got < n {
            match self.s.read(&mut out[got..]) {
                Ok(0) => break,
                Ok(k) => got += k,
                Err(_) => break,
            }
        }
        out.truncate(got);
        out
    }

    /// Read one CRLF-terminated line (without the CRLF).
    pub fn read_line(&mut self) -> String {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            match self.s.read(&mut b) {
                Ok(1) => line.push(b[0]),
                _ => break,
            }
        }
        line.truncate(line.len().saturating_sub(2));
        String::from_utf8_lossy(&line).into_owned()
    }

    /// Send `req` and assert the reply is exactly `expected`.
    pub fn roundtrip(&mut self, req: &[u8], expected: &[u8]) {
        self.send(req);
        let got = self.read_n(expected.len());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "request {:?}",
            String::from_utf8_lossy(req)
        );
    }

    /// True once the server closed the connection (read returns 0).
    pub fn closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.s.read(&mut b), Ok(0))
    }
}

/// Run Debian's redis-cli when installed; None when it is not.
pub fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli").args(["-p", &port.to_string()]).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run one command on a `redis` crate connection and convert its reply; panics with the command on
/// an error reply.
#[allow(dead_code)]
pub fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Run one command that must fail and return its error text; panics when it succeeds.
#[allow(dead_code)]
pub fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    match c.query::<redis::Value>(con) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("{args:?} did not fail: {v:?}"),
    }
}

/// Debian's redis-server, for interop tests (skipped loudly when missing).
#[allow(dead_code)]
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
