//! Listening sockets and per-connection socket options: `bind` addresses (with Redis's `-` prefix for
//! optional ones and `*`/`::*` wildcards), `tcp-backlog`, the unix socket, TCP_NODELAY and keepalive.
//!
//! Sockets are created with libc where std cannot set an option before `bind` (IPV6_V6ONLY, so `*` and
//! `::*` can share a port). Nothing here reads or writes client data.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};

/// A listening socket ready for the poll.
pub enum Listener {
    Tcp(mio::net::TcpListener),
    Unix(mio::net::UnixListener, String),
}

/// Resolve one `bind` entry to an address: `*` is every IPv4 address, `::*` every IPv6 one.
fn parse_bind(addr: &str, port: u16) -> Option<SocketAddr> {
    let ip: IpAddr = match addr {
        "*" => IpAddr::from([0u8; 4]),
        "::*" => IpAddr::from([0u16; 8]),
        a => a.parse().ok()?,
    };
    Some(SocketAddr::new(ip, port))
}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r) }
}

fn set_int_opt(fd: RawFd, level: libc::c_int, name: libc::c_int, val: libc::c_int) -> io::Result<()> {
    // SAFETY: fd is an open socket and the option value is a plain int that outlives the call.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &val as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// Create, bind and listen a non-blocking TCP socket.
fn listen_tcp(addr: SocketAddr, backlog: i32) -> io::Result<mio::net::TcpListener> {
    let family = if addr.is_ipv6() { libc::AF_INET6 } else { libc::AF_INET };
    // SAFETY: plain socket creation; the fd is owned by the std listener below or closed on error.
    let fd = cvt(unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just created and is owned by nothing else.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    set_int_opt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    if addr.is_ipv6() {
        set_int_opt(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    }
    let (storage, len) = sockaddr(addr);
    // SAFETY: storage holds a valid sockaddr of length len.
    cvt(unsafe { libc::bind(fd, &storage as *const _ as *const libc::sockaddr, len) })?;
    // SAFETY: fd is a bound socket.
    cvt(unsafe { libc::listen(fd, backlog) })?;
    Ok(mio::net::TcpListener::from_std(listener))
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid; we fill the variant we use.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) };
            (storage, std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t)
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut storage as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_scope_id = a.scope_id();
            (storage, std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t)
        }
    }
}

/// Open every `bind` address on `port`. An address with a `-` prefix is skipped when it cannot be bound
/// because it does not exist here (EADDRNOTAVAIL, or no IPv6 at all), as Redis does.
pub fn listen_all(binds: &[String], port: u16, backlog: i32) -> Result<Vec<Listener>, String> {
    let mut out = Vec::new();
    if port == 0 {
        return Ok(out);
    }
    for b in binds {
        let (optional, addr) = match b.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, b.as_str()),
        };
        let Some(sa) = parse_bind(addr, port) else {
            return Err(format!("Could not create server TCP listening socket {addr}:{port}: Invalid address"));
        };
        match listen_tcp(sa, backlog) {
            Ok(l) => out.push(Listener::Tcp(l)),
            Err(e)
                if optional
                    && matches!(
                        e.raw_os_error(),
                        Some(libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)
                    ) =>
            {
                log::warn!("Skipping optional bind address {addr}:{port}: {e}");
            }
            Err(e) => {
                return Err(format!("Warning: Could not create server TCP listening socket {addr}:{port}: {e}"));
            }
        }
    }
    Ok(out)
}

/// Open the unix socket at `path` with permissions `perm` (0 = leave the umask's).
pub fn listen_unix(path: &str, perm: u32) -> Result<Listener, String> {
    let _ = std::fs::remove_file(path);
    let l = mio::net::UnixListener::bind(path).map_err(|e| format!("Failed opening Unix socket: {e}"))?;
    if perm != 0 {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm));
    }
    Ok(Listener::Unix(l, path.to_string()))
}

/// TCP_NODELAY and, when `keepalive_secs` > 0, SO_KEEPALIVE with Redis's probe timing.
pub fn tune_client_socket(stream: &mio::net::TcpStream, keepalive_secs: i64) {
    let _ = stream.set_nodelay(true);
    if keepalive_secs <= 0 {
        return;
    }
    let fd = stream.as_raw_fd();
    let secs = keepalive_secs.min(i32::MAX as i64) as libc::c_int;
    let _ = set_int_opt(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, secs);
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (secs / 3).max(1));
    let _ = set_int_opt(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3);
}

/// Whether a peer counts as local for protected mode. Redis 7.0 compares the peer's text form with
/// exactly `127.0.0.1` and `::1` (unix sockets are local too, decided by the caller).
pub fn is_loopback(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(v4) => v4.octets() == [127, 0, 0, 1],
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// `ip:port` the way Redis prints peers (IPv6 without brackets).
pub fn format_addr(addr: &SocketAddr) -> String {
    format!("{}:{}", addr.ip(), addr.port())
}
