//! protected-mode seen from another host: the server runs in one network namespace, the client in a
//! second one, joined by a veth pair the test creates (traffic never leaves the two namespaces).
//! Needs root and iproute2; without them the test says so loudly and passes vacuously.

mod common;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER_IP: &str = "198.18.77.1";
const CLIENT_IP: &str = "198.18.77.2";

struct Namespaces {
    server: String,
    client: String,
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

impl Namespaces {
    fn create() -> Option<Namespaces> {
        let tag = std::process::id() % 100000;
        let ns = Namespaces { server: format!("fds{tag}"), client: format!("fdc{tag}") };
        let (va, vb) = (format!("fdva{tag}"), format!("fdvb{tag}"));
        let ok = ip(&["netns", "add", &ns.server])
            && ip(&["netns", "add", &ns.client])
            && ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])
            && ip(&["link", "set", &va, "netns", &ns.server])
            && ip(&["link", "set", &vb, "netns", &ns.client])
            && ip(&["-n", &ns.server, "addr", "add", &format!("{SERVER_IP}/30"), "dev", &va])
            && ip(&["-n", &ns.client, "addr", "add", &format!("{CLIENT_IP}/30"), "dev", &vb])
            && ip(&["-n", &ns.server, "link", "set", &va, "up"])
            && ip(&["-n", &ns.client, "link", "set", &vb, "up"])
            && ip(&["-n", &ns.server, "link", "set", "lo", "up"]);
        if ok { Some(ns) } else { None }
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        // Deleting the namespaces removes the veth pair with them.
        ip(&["netns", "del", &self.server]);
        ip(&["netns", "del", &self.client]);
    }
}

struct NsServer {
    child: Child,
    dir: std::path::PathBuf,
}

impl NsServer {
    fn start(ns: &Namespaces, port: u16, extra: &[&str]) -> NsServer {
        let dir = common::temp_dir("netns");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.server, &common::binary()])
            .args(["--port", &port.to_string(), "--dir", dir.to_str().expect("utf8"), "--save", ""])
            .args(extra)
            .stdout(Stdio::from(std::fs::File::create(dir.join("log")).expect("log")))
            .stderr(Stdio::from(std::fs::File::create(dir.join("err")).expect("log")))
            .spawn()
            .expect("spawn server in namespace");
        let srv = NsServer { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let reply = talk(&ns.server, "127.0.0.1", port, "PING");
            if reply.contains("PONG") || reply.contains("NOAUTH") {
                return srv;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "server in namespace did not start: {}{}",
            std::fs::read_to_string(srv.dir.join("log")).unwrap_or_default(),
            std::fs::read_to_string(srv.dir.join("err")).unwrap_or_default()
        );
    }
}

impl Drop for NsServer {
    fn drop(&mut self) {
        // `ip netns exec` execs the server, so this pid is the server's.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Send one inline command from inside namespace `ns` and return what came back.
fn talk(ns: &str, host: &str, port: u16, command: &str) -> String {
    let script = format!("exec 3<>/dev/tcp/{host}/{port} || exit 1; printf '{command}\\r\\n' >&3; timeout 1 cat <&3");
    let out = Command::new("ip").args(["netns", "exec", ns, "bash", "-c", &script]).output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default()
}

#[test]
fn protected_mode_denies_remote_clients_without_password() {
    let Some(ns) = Namespaces::create() else {
        eprintln!("!!! SKIPPED protected_mode test: cannot create network namespaces (needs root and iproute2)");
        return;
    };
    let mut port = common::free_port();
    {
        let _srv = NsServer::start(&ns, port, &[]);
        let remote = talk(&ns.client, SERVER_IP, port, "PING");
        assert!(remote.starts_with("-DENIED Redis is running in protected mode"), "remote got {remote:?}");
        let local = talk(&ns.server, "127.0.0.1", port, "PING");
        assert_eq!(local, "+PONG\r\n");
    }
    port += 1;
    {
        let _srv = NsServer::start(&ns, port, &["--protected-mode", "no"]);
        assert_eq!(talk(&ns.client, SERVER_IP, port, "PING"), "+PONG\r\n");
    }
    port += 1;
    {
        let _srv = NsServer::start(&ns, port, &["--requirepass", "pw"]);
        assert_eq!(talk(&ns.client, SERVER_IP, port, "PING"), "-NOAUTH Authentication required.\r\n");
    }
}
