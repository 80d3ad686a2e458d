//! A connected client: its socket, query buffer and parser state, reply buffer, and the per-connection
//! state commands read and write (selected db, protocol version, auth, MULTI queue, flags).
//!
//! A client never touches the keyspace or other clients; the server drives it. Reads and writes here are
//! non-blocking and stop at `WouldBlock`.

use std::io::{self, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpStream, UnixStream};

use crate::resp::parse::RequestParser;
use crate::resp::reply::ReplyBuf;

/// The client's transport.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// No socket: the client that replays the AOF. Reads see nothing, writes are dropped.
    Detached,
}

impl Stream {
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Detached => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Detached => Ok(buf.len()),
        }
    }

    /// Write as much of `buf` as the socket takes now (until it would block). Returns the bytes
    /// written, and the error that stopped it, if any (bytes may have gone out before it).
    pub fn write_some(&mut self, buf: &[u8]) -> (usize, io::Result<()>) {
        let mut sent = 0;
        while sent < buf.len() {
            match self.write(&buf[sent..]) {
                Ok(0) => return (sent, Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return (sent, Err(e)),
            }
        }
        (sent, Ok(()))
    }

    /// The socket to register with the poller; None for a detached client.
    pub fn source(&mut self) -> Option<&mut dyn mio::event::Source> {
        match self {
            Stream::Tcp(s) => Some(s),
            Stream::Unix(s) => Some(s),
            Stream::Detached => None,
        }
    }
}

/// One queued command of a MULTI block: its arguments packed in one buffer.
pub struct QueuedCommand {
    pub buf: Vec<u8>,
    pub ranges: Vec<(usize, usize)>,
}

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Set by CLIENT REPLY SKIP: the next command is to be skipped.
    SkipNext,
    /// The reply of the command being run is dropped (unless it is CLIENT REPLY ON).
    Skip,
}

/// Bits of `Client::flags`.
pub mod flags {
    /// Close once the reply buffer is flushed (QUIT, protocol error).
    pub const CLOSE_AFTER_REPLY: u32 = 1 << 0;
    /// Close at the next chance without flushing (CLIENT KILL, output limits).
    pub const CLOSE_ASAP: u32 = 1 << 1;
    /// Inside MULTI.
    pub const MULTI: u32 = 1 << 2;
    /// A WATCHed key changed: EXEC will fail.
    pub const DIRTY_CAS: u32 = 1 << 3;
    /// A command failed to queue: EXEC will be refused.
    pub const DIRTY_EXEC: u32 = 1 << 4;
    /// The client is a MONITOR.
    pub const MONITOR: u32 = 1 << 5;
    /// Unix socket connection.
    pub const UNIX_SOCKET: u32 = 1 << 6;
    /// CLIENT NO-EVICT on.
    pub const NO_EVICT: u32 = 1 << 7;
    /// Executing the queued commands of EXEC.
    pub const EXECUTING_MULTI: u32 = 1 << 8;
    /// Subscribed to at least one channel, pattern or shard channel (RESP2: only (un)subscribe
    /// commands, PING, QUIT and RESET are allowed).
    pub const PUBSUB: u32 = 1 << 9;
    /// Waiting in a blocking command (BLPOP and friends); input is not processed meanwhile.
    pub const BLOCKED: u32 = 1 << 10;
}

pub struct Client {
    /// CLIENT ID: unique and increasing for the life of the process.
    pub id: u64,
    /// Slab slot, also the mio token.
    pub slot: usize,
    pub stream: Stream,
    /// `ip:port` of the peer (`/path:0` style for unix sockets as Redis shows it).
    pub addr: String,
    pub laddr: String,
    pub peer_ip: Option<SocketAddr>,
    pub qbuf: Vec<u8>,
    /// Start of the unparsed part of `qbuf`.
    pub qpos: usize,
    /// While a command runs, `qbuf` is lent to it: its unprocessed length (the running command
    /// included, as Redis counts it) and free capacity, for CLIENT LIST.
    pub running_qbuf: Option<(usize, usize)>,
    pub parser: RequestParser,
    pub reply: ReplyBuf,
    /// Bytes of `reply.buf` already written to the socket.
    pub sent: usize,
    pub writable_armed: bool,
    pub db: usize,
    pub authenticated: bool,
    /// The ACL user it runs as; `None` for the internal clients that may do anything (our
    /// master's link, the AOF replay), as Redis's NULL user.
    pub user: Option<crate::acl::UserId>,
    pub name: Option<Vec<u8>>,
    pub flags: u32,
    pub reply_mode: ReplyMode,
    pub multi: Vec<QueuedCommand>,
    /// Keys WATCHed by this client: (db, key).
    pub watched: Vec<(usize, Vec<u8>)>,
    /// CLIENT TRACKING options, while tracking is on.
    pub tracking: Option<Box<crate::server::tracking::ClientTracking>>,
    /// Unix seconds of connection, and of the last interaction (CLIENT LIST age/idle, `timeout`).
    pub ctime: u64,
    pub last_interaction_ms: u64,
    /// Table id of the last command run (CLIENT LIST cmd=).
    pub last_cmd: Option<usize>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    /// Total bytes read / written, for INFO and CLIENT LIST.
    pub net_in: u64,
    pub net_out: u64,
    /// The peak of the query buffer since the last cron pass (Redis's querybuf_peak).
    pub qbuf_peak: usize,
    /// Commands processed on this connection.
    pub commands: u64,
    /// Unix seconds since the output buffer has been over its soft limit (0 = not over).
    pub obuf_soft_since: u64,
    /// Pub/Sub subscriptions, allocated on the first SUBSCRIBE.
    pub subs: Option<Box<crate::server::pubsub::Subscriptions>>,
    /// What a blocking command is waiting for, while the client is blocked.
    pub blocked: Option<Box<crate::server::blocking::BlockState>>,
    /// Set when this connection is a replica of ours (after SYNC/PSYNC).
    pub replica: Option<Box<crate::replication::master::ConnectedReplica>>,
    /// What the connection announced with REPLCONF before SYNC/PSYNC.
    pub replconf: Option<Box<crate::replication::master::ReplconfInfo>>,
    /// This connection is our master's stream (its replies are not sent, its writes are allowed on
    /// a read-only replica).
    pub is_master: bool,
    /// The replication offset after this client's last command: what WAIT waits for.
    pub woff: u64,
}

impl Client {
    /// Whether its commands are applied whatever the server's state (Redis's mustObeyClient): our
    /// master's stream and the AOF being loaded.
    pub fn must_obey(&self) -> bool {
        self.is_master || self.id == crate::server::aof_loading::AOF_CLIENT_ID
    }

    pub fn new(id: u64, slot: usize, stream: Stream, addr: String, laddr: String, now_ms: u64) -> Self {
        Client {
            id,
            slot,
            stream,
            addr,
            laddr,
            peer_ip: None,
            qbuf: Vec::new(),
            qpos: 0,
            running_qbuf: None,
            parser: RequestParser::default(),
            reply: ReplyBuf::new(2),
            sent: 0,
            writable_armed: false,
            db: 0,
            authenticated: false,
            user: Some(crate::acl::DEFAULT_USER),
            name: None,
            flags: 0,
            reply_mode: ReplyMode::On,
            multi: Vec::new(),
            watched: Vec::new(),
            ctime: now_ms / 1000,
            last_interaction_ms: now_ms,
            last_cmd: None,
            lib_name: None,
            lib_ver: None,
            net_in: 0,
            net_out: 0,
            qbuf_peak: 0,
            commands: 0,
            obuf_soft_since: 0,
            subs: None,
            tracking: None,
            blocked: None,
            replica: None,
            replconf: None,
            is_master: false,
            woff: 0,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn in_multi(&self) -> bool {
        self.has(flags::MULTI)
    }

    /// Output that counts against `client-output-buffer-limit`: Redis keeps the first 16 KiB of replies
    /// in a static per-client buffer and only counts what overflows it.
    pub fn output_buffer_usage(&self) -> u64 {
        self.pending_output().saturating_sub(16 * 1024) as u64
    }

    /// Bytes of reply still waiting to be written.
    pub fn pending_output(&self) -> usize {
        self.reply.buf.len() - self.sent
    }

    /// Drop the part of the query buffer already consumed, so it does not grow without bound.
    pub fn compact_query(&mut self) {
        if self.qpos == 0 {
            return;
        }
        if self.qpos >= self.qbuf.len() {
            self.qbuf.clear();
        } else {
            self.qbuf.drain(..self.qpos);
        }
        self.parser.shift(self.qpos);
        self.qpos = 0;
    }

    /// Write pending output until done or the socket would block. Returns Err on a broken connection.
    pub fn flush(&mut self) -> io::Result<()> {
        let (n, res) = self.stream.write_some(&self.reply.buf[self.sent..]);
        self.sent += n;
        self.net_out += n as u64;
        res?;
        if self.sent == self.reply.buf.len() {
            self.sent = 0;
            self.reply.buf.clear();
            // Give back memory after a huge reply rather than keeping it for the connection's life.
            if self.reply.buf.capacity() > 1 << 20 {
                self.reply.buf = Vec::new();
            }
        }
        Ok(())
    }

    /// The CLIENT LIST `flags=` letters.
    pub fn flag_letters(&self) -> String {
        let mut s = String::new();
        if self.replica.is_some() {
            s.push('S');
        }
        if self.is_master {
            s.push('M');
        }
        if self.has(flags::MONITOR) {
            s.push('O');
        }
        if self.has(flags::PUBSUB) {
            s.push('P');
        }
        if self.in_multi() {
            s.push('x');
        }
        if self.has(flags::BLOCKED) {
            s.push('b');
        }
        if let Some(t) = self.tracking.as_deref() {
            s.push('t');
            if t.broken_redirect {
                s.push('R');
            }
            if t.bcast {
                s.push('B');
            }
        }
        if self.has(flags::DIRTY_CAS) {
            s.push('d');
        }
        if self.has(flags::CLOSE_AFTER_REPLY) {
            s.push('c');
        }
        if self.has(flags::CLOSE_ASAP) {
            s.push('A');
        }
        if self.has(flags::UNIX_SOCKET) {
            s.push('U');
        }
        if self.has(flags::NO_EVICT) {
            s.push('e');
        }
        if s.is_empty() {
            s.push('N');
        }
        s
    }
}
