//! The replica side of replication (Redis's connectWithMaster, syncWithMaster, readSyncBulkPayload):
//! the link to the master as a non-blocking state machine driven by the reactor, from connect
//! through the handshake (PING, AUTH, REPLCONF, PSYNC) and the RDB transfer to the streaming phase,
//! where the master becomes a client whose commands are applied and relayed to our own replicas.
//!
//! Never blocks the event loop: every step reacts to a readiness event or to the cron, and a link
//! that fails is dropped and retried from the cron (reconnect about once a second).

use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::diskless_load::StreamingLoad;
use crate::client::{Client, Stream};
use crate::server::{Server, unix_ms};

/// Token of the master link while it is not yet a client (handshake and transfer).
pub const MASTER_LINK_TOKEN: usize = usize::MAX - 128;
/// Longest handshake line accepted.
const MAX_LINE: usize = 64 * 1024;

/// Handshake and transfer steps (REPL_STATE_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Not following anyone.
    None,
    /// A connection attempt is due (at the next cron).
    Connect,
    /// Non-blocking connect in flight.
    Connecting,
    /// Waiting for the answer to PING.
    ReceivePong,
    /// Waiting for the answers to AUTH (when masterauth is set) and the REPLCONFs.
    ReceiveAuth,
    ReceivePort,
    ReceiveIp,
    ReceiveCapa,
    /// Waiting for +FULLRESYNC / +CONTINUE.
    ReceivePsync,
    /// Receiving the RDB payload.
    Transfer,
    /// Streaming: the master is a client in the slab.
    Connected,
}

/// How the RDB payload is delimited.
#[derive(Debug, Clone)]
pub(super) enum Payload {
    /// `$<len>`: exactly this many bytes.
    Sized(usize),
    /// `$EOF:<mark>`: until the 40-byte mark.
    Eof(Vec<u8>),
}

/// The link to our master.
#[derive(Debug)]
pub struct MasterLink {
    pub state: LinkState,
    pub(super) stream: Option<TcpStream>,
    /// Bytes read and not consumed yet (handshake lines, payload).
    pub(super) buf: Vec<u8>,
    pub(super) payload: Option<Payload>,
    /// +FULLRESYNC's id and offset.
    pub(super) sync_replid: String,
    pub(super) sync_offset: u64,
    /// Slot of the master client while connected.
    pub client_slot: Option<usize>,
    pub last_io_ms: u64,
    /// When the link went down (unix ms); 0 if it was never up.
    pub down_since_ms: u64,
    pub transfer_size: i64,
    pub transfer_read: u64,
    /// Our replid/offset are a valid history to continue with PSYNC.
    pub can_psync: bool,
    /// The database the master's stream had selected when the link dropped (Redis keeps it in the
    /// cached master): a partial resync continues the stream without a new SELECT.
    pub master_db: usize,
    /// Stream bytes of the master's current command(s), relayed once applied (a whole MULTI at once).
    pub pending_relay: Vec<u8>,
    /// The next reply of the master client must reach the master (REPLCONF GETACK).
    pub force_reply: bool,
    /// The transfer in progress is parsed straight into memory as it arrives (repl-diskless-load)
    /// instead of being saved as the dump file first.
    pub streaming: Option<Box<StreamingLoad>>,
}

impl Default for MasterLink {
    fn default() -> Self {
        MasterLink {
            state: LinkState::None,
            stream: None,
            buf: Vec::new(),
            payload: None,
            sync_replid: String::new(),
            sync_offset: 0,
            client_slot: None,
            last_io_ms: 0,
            down_since_ms: 0,
            transfer_size: -1,
            transfer_read: 0,
            can_psync: false,
            master_db: 0,
            pending_relay: Vec::new(),
            force_reply: false,
            streaming: None,
        }
    }
}

fn resp_command(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::server::propagation::encode_command(&mut out, parts.len(), parts.iter().copied());
    out
}

impl Server {
    /// Whether the link with our master is up (streaming).
    pub fn repl_link_up(&self) -> bool {
        self.link.state == LinkState::Connected
    }

    /// ROLE's link state names.
    pub fn repl_link_state_name(&self) -> &'static str {
        match self.link.state {
            LinkState::None | LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
            _ => "handshake",
        }
    }

    /// Startup with `replicaof` configured: connect at the first cron tick.
    pub fn repl_init_at_startup(&mut self) {
        if self.is_replica() {
            crate::log::set_role(b'S');
            self.link.state = LinkState::Connect;
        }
    }

    /// INFO replication's replica-only lines.
    pub fn repl_info_replica(&self, out: &mut String) {
        use std::fmt::Write;
        let Some((host, port)) = self.config.replicaof() else { return };
        let now = unix_ms();
        let up = self.repl_link_up();
        let last_io = match self.link.client_slot.and_then(|s| self.clients.get(s)) {
            Some(Some(c)) => (now.saturating_sub(c.last_interaction_ms) / 1000) as i64,
            _ if up => 0,
            _ => -1,
        };
        let _ = write!(
            out,
            "master_host:{host}\r\nmaster_port:{port}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{last_io}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
            if up { "up" } else { "down" },
            (self.link.state == LinkState::Transfer) as u8,
            self.repl.master_repl_offset,
            self.repl.master_repl_offset,
        );
        if self.link.state == LinkState::Transfer {
            let total = self.link.transfer_size;
            let read = self.link.transfer_read;
            let perc = if total > 0 { read as f64 * 100.0 / total as f64 } else { 0.0 };
            let _ = write!(
                out,
                "master_sync_total_bytes:{total}\r\nmaster_sync_read_bytes:{read}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{perc:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                total - read as i64,
                now.saturating_sub(self.link.last_io_ms) / 1000
            );
        }
        if !up {
            let since = if self.link.down_since_ms == 0 {
                -1
            } else {
                (now.saturating_sub(self.link.down_since_ms) / 1000) as i64
            };
            let _ = write!(out, "master_link_down_since_seconds:{since}\r\n");
        }
        let _ = write!(
            out,
            "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
            self.config.replica_priority(),
            self.config.replica_read_only() as u8,
            self.config.replica_announced() as u8
        );
    }

    /// The database the replication stream is in, as an RDB records it (repl-stream-db); None when
    /// there is no history to continue: a master without a backlog, a replica that never synced.
    pub fn repl_stream_db(&self) -> Option<usize> {
        if !self.is_replica() {
            return self.repl.backlog.is_some().then(|| self.repl.selected_db.unwrap_or(0));
        }
        match self.link.client_slot.and_then(|s| self.clients.get(s)) {
            Some(Some(c)) => Some(c.db),
            _ => self.link.can_psync.then_some(self.link.master_db),
        }
    }

    /// The offset a replica has applied (ROLE, INFO slave_repl_offset).
    pub fn repl_replica_offset(&self) -> u64 {
        self.repl.master_repl_offset
    }

    /// Follow `host:port` (REPLICAOF, or the config at startup). Our own replicas stay; our history
    /// is offered to the new master with PSYNC.
    pub fn repl_set_master(&mut self, host: &str, port: u16) {
        let was_master = !self.is_replica();
        self.disconnect_all_blocked_clients();
        self.repl_drop_link();
        self.config.set_replicaof(Some((host.to_string(), port)));
        crate::log::set_role(b'S');
        if was_master {
            // Our own history is what the new master may continue (we were its replica before a
            // failover, for example).
            self.link.can_psync = self.repl.backlog.is_some() || self.repl.master_repl_offset > 0;
            // Any database will do: the new master starts its stream with SELECT.
            self.link.master_db = 0;
        }
        // Our replicas stay: if the new master continues our history they continue too. They are
        // disconnected only when the history changes (a new replid on +CONTINUE, or loading a
        // full sync's RDB).
        self.link.state = LinkState::Connect;
        self.link.down_since_ms = 0;
        log::info!("Connecting to MASTER {host}:{port}");
        self.repl_connect();
    }

    /// REPLICAOF NO ONE: keep the data, start a new history that remembers the old one.
    pub fn repl_unset_master(&mut self) {
        self.repl_drop_link();
        self.config.set_replicaof(None);
        crate::log::set_role(b'M');
        self.link.state = LinkState::None;
        self.repl.replid2 = std::mem::take(&mut self.repl.replid);
        self.repl.second_repl_offset = self.repl.master_repl_offset as i64 + 1;
        self.repl.replid = self.random_hex(40);
        log::info!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.repl.replid2,
            self.repl.second_repl_offset,
            self.repl.replid
        );
        self.repl_disconnect_replicas();
        self.repl.selected_db = None;
        if self.repl.backlog.is_none() {
            self.repl_create_backlog();
        }
    }

    pub(super) fn repl_disconnect_replicas(&mut self) {
        for slot in std::mem::take(&mut self.repl.replicas) {
            if let Some(Some(c)) = self.clients.get_mut(slot) {
                c.flags |= crate::client::flags::CLOSE_ASAP;
                c.replica = None;
                self.queue_write(slot);
            }
        }
    }

    /// Close whatever link exists (handshake socket or master client).
    fn repl_drop_link(&mut self) {
        if let Some(mut s) = self.link.stream.take() {
            let _ = self.poll.registry().deregister(&mut s);
        }
        if let Some(slot) = self.link.client_slot.take()
            && let Some(Some(c)) = self.clients.get_mut(slot)
        {
            self.link.master_db = c.db;
            c.flags |= crate::client::flags::CLOSE_ASAP;
            c.is_master = false;
            self.queue_write(slot);
        }
        self.repl_streaming_load_abort();
        self.link.buf.clear();
        self.link.payload = None;
        self.link.pending_relay.clear();
        if self.link.state == LinkState::Connected {
            self.link.down_since_ms = unix_ms();
        }
    }

    /// The link failed: try again from the cron.
    pub(super) fn repl_link_failed(&mut self) {
        self.repl_drop_link();
        if self.is_replica() {
            self.link.state = LinkState::Connect;
        }
    }

    /// Start a non-blocking connect to the configured master.
    fn repl_connect(&mut self) {
        let Some((host, port)) = self.config.replicaof().map(|(h, p)| (h.to_string(), p)) else { return };
        let addr = match (host.as_str(), port).to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(a)) => a,
            _ => {
                log::warn!("Unable to connect to MASTER: can't resolve {host}");
                return;
            }
        };
        match TcpStream::connect(addr) {
            Ok(mut s) => {
                let token = Token(MASTER_LINK_TOKEN);
                if self.poll.registry().register(&mut s, token, Interest::READABLE | Interest::WRITABLE).is_err() {
                    return;
                }
                self.link.stream = Some(s);
                self.link.state = LinkState::Connecting;
                self.link.last_io_ms = unix_ms();
                log::info!("MASTER <-> REPLICA sync started");
            }
            Err(e) => log::warn!("Unable to connect to MASTER: {e}"),
        }
    }

    /// Once a second: reconnect, time the link out, ACK our offset to the master.
    pub fn repl_replica_cron(&mut self) {
        if !self.is_replica() {
            return;
        }
        let now = unix_ms();
        let timeout_ms = self.config.repl_timeout() as u64 * 1000;
        match self.link.state {
            LinkState::Connect => {
                if let Some((h, p)) = self.config.replicaof() {
                    log::info!("Connecting to MASTER {h}:{p}");
                }
                self.repl_connect();
            }
            LinkState::Connecting if now.saturating_sub(self.link.last_io_ms) > timeout_ms => {
                log::warn!("Timeout connecting to the MASTER...");
                self.repl_link_failed();
            }
            LinkState::Transfer if now.saturating_sub(self.link.last_io_ms) > timeout_ms => {
                log::warn!(
                    "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."
                );
                self.repl_link_failed();
            }
            LinkState::Connected => {
                let slot = self.link.client_slot;
                let idle = slot.and_then(|s| match self.clients.get(s) {
                    Some(Some(c)) => Some(now.saturating_sub(c.last_interaction_ms)),
                    _ => None,
                });
                if idle.is_some_and(|i| i > timeout_ms) {
                    log::warn!("MASTER timeout: no data nor PING received...");
                    self.repl_link_failed();
                    return;
                }
                self.repl_send_ack();
            }
            LinkState::None => {}
            _ if now.saturating_sub(self.link.last_io_ms) > timeout_ms => {
                log::warn!("Timeout connecting to the MASTER...");
                self.repl_link_failed();
            }
            _ => {}
        }
    }

    /// REPLCONF ACK <offset> to the master.
    pub(super) fn repl_send_ack(&mut self) {
        let Some(slot) = self.link.client_slot else { return };
        let offset = self.repl.master_repl_offset.to_string();
        let ack = resp_command(&[b"REPLCONF", b"ACK", offset.as_bytes()]);
        if let Some(Some(c)) = self.clients.get_mut(slot) {
            c.reply.buf.extend_from_slice(&ack);
            self.queue_write(slot);
        }
    }

    /// REPLCONF GETACK from our master: answer with our offset at once.
    pub fn repl_answer_getack(&mut self, c: &mut Client) {
        if !c.is_master {
            return;
        }
        let offset = self.repl.master_repl_offset.to_string();
        c.reply.buf.extend_from_slice(&resp_command(&[b"REPLCONF", b"ACK", offset.as_bytes()]));
        self.link.force_reply = true;
    }

    /// The key-load-delay timer of a diskless load fired: parse on, then read on.
    pub fn repl_load_resume(&mut self) {
        self.repl_link_progress();
        self.repl_link_event(false);
    }

    /// Readiness on the handshake/transfer socket.
    pub fn repl_link_event(&mut self, writable: bool) {
        if self.link.state == LinkState::Connecting {
            if !writable {
                return;
            }
            let Some(s) = self.link.stream.as_mut() else { return };
            let failed = match s.take_error() {
                Ok(Some(_)) | Err(_) => true,
                Ok(None) => s.peer_addr().is_err(),
            };
            if failed {
                log::warn!("Error condition on socket for SYNC: Connection refused");
                self.repl_link_failed();
                return;
            }
            let _ = self.poll.registry().reregister(s, Token(MASTER_LINK_TOKEN), Interest::READABLE);
            log::info!("Non blocking connect for SYNC fired the event.");
            self.link.state = LinkState::ReceivePong;
            self.repl_link_send(&resp_command(&[b"PING"]));
            return;
        }
        // Read what is there; not while a diskless load waits on its key-load-delay timer, so a
        // slow load leaves the rest in the socket (and the master waits, as with Redis).
        let mut closed = false;
        loop {
            if self.link.streaming.as_ref().is_some_and(|load| load.resume_at().is_some()) {
                break;
            }
            let Some(s) = self.link.stream.as_mut() else { break };
            let mut chunk = [0u8; 16 * 1024];
            match s.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    self.link.buf.extend_from_slice(&chunk[..n]);
                    self.link.last_io_ms = unix_ms();
                    self.repl_link_progress();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Nothing more for now: a record the loader deferred until more bytes came
                    // gets its attempt with what there is.
                    if self.link.streaming.as_mut().is_some_and(|l| l.retry_now()) {
                        self.repl_link_progress();
                    }
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if self.link.state != LinkState::Transfer && self.link.buf.len() > MAX_LINE {
            log::warn!("Bad protocol from MASTER: handshake line too long");
            self.repl_link_failed();
            return;
        }
        if closed && self.link.state != LinkState::Connected && self.link.state != LinkState::Connect {
            log::warn!("Master closed the connection during the handshake or the transfer");
            self.repl_link_failed();
        }
    }

    fn repl_link_send(&mut self, bytes: &[u8]) {
        let Some(s) = self.link.stream.as_mut() else { return };
        let mut sent = 0;
        let mut spins = 0;
        while sent < bytes.len() && spins < 1000 {
            match s.write(&bytes[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => spins += 1,
                Err(_) => break,
            }
        }
    }

    /// Take one line from the link buffer (without CRLF), if complete.
    pub(super) fn repl_link_line(&mut self) -> Option<String> {
        let pos = memchr::memchr(b'\n', &self.link.buf)?;
        let mut line: Vec<u8> = self.link.buf.drain(..=pos).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(String::from_utf8_lossy(&line).into_owned())
    }

    /// Advance the handshake/transfer with what has been read.
    fn repl_link_progress(&mut self) {
        loop {
            match self.link.state {
                LinkState::ReceivePong => {
                    let Some(line) = self.repl_link_line() else { break };
                    if line.starts_with('-')
                        && !line.starts_with("-NOAUTH")
                        && !line.starts_with("-NOPERM")
                        && !line.starts_with("-ERR operation not permitted")
                    {
                        log::warn!("Error reply to PING from master: '{line}'");
                        self.repl_link_failed();
                        return;
                    }
                    log::info!("Master replied to PING, replication can continue...");
                    self.repl_send_handshake();
                }
                LinkState::ReceiveAuth => {
                    let Some(line) = self.repl_link_line() else { break };
                    if line.starts_with('-') {
                        log::warn!("Unable to AUTH to MASTER: {line}");
                        self.repl_link_failed();
                        return;
                    }
                    self.link.state = LinkState::ReceivePort;
                }
                LinkState::ReceivePort | LinkState::ReceiveIp | LinkState::ReceiveCapa => {
                    let Some(line) = self.repl_link_line() else { break };
                    let opt = match self.link.state {
                        LinkState::ReceivePort => "listening-port",
                        LinkState::ReceiveIp => "ip-address",
                        _ => "capa",
                    };
                    if line.starts_with('-') {
                        log::info!("(Non critical) Master does not understand REPLCONF {opt}: {line}");
                    }
                    self.link.state = match self.link.state {
                        LinkState::ReceivePort if self.config.replica_announce_ip().is_some() => LinkState::ReceiveIp,
                        LinkState::ReceivePort | LinkState::ReceiveIp => LinkState::ReceiveCapa,
                        _ => {
                            self.repl_send_psync();
                            LinkState::ReceivePsync
                        }
                    };
                }
                LinkState::ReceivePsync => {
                    let Some(line) = self.repl_link_line() else { break };
                    if line.is_empty() {
                        continue;
                    }
                    if !self.repl_handle_psync_reply(&line) {
                        return;
                    }
                }
                LinkState::Transfer => {
                    if !self.repl_transfer_progress() {
                        break;
                    }
                }
                _ => break,
            }
        }
    }

    /// AUTH (when masterauth is set) and the REPLCONFs, sent in one burst.
    fn repl_send_handshake(&mut self) {
        let mut burst = Vec::new();
        let auth = self.config.masterauth().map(<[u8]>::to_vec);
        if let Some(pass) = &auth {
            match self.config.masteruser() {
                Some(user) => burst.extend(resp_command(&[b"AUTH", user.as_bytes(), pass])),
                None => burst.extend(resp_command(&[b"AUTH", pass])),
            }
        }
        let port = self.config.replica_announce_port().unwrap_or(self.config.port()).to_string();
        burst.extend(resp_command(&[b"REPLCONF", b"listening-port", port.as_bytes()]));
        if let Some(ip) = self.config.replica_announce_ip() {
            burst.extend(resp_command(&[b"REPLCONF", b"ip-address", ip.as_bytes()]));
        }
        burst.extend(resp_command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]));
        self.repl_link_send(&burst);
        self.link.state = if auth.is_some() { LinkState::ReceiveAuth } else { LinkState::ReceivePort };
    }

    fn repl_send_psync(&mut self) {
        let (id, offset) = if self.link.can_psync && !self.repl.replid.is_empty() {
            log::info!(
                "Trying a partial resynchronization (request {}:{}).",
                self.repl.replid,
                self.repl.master_repl_offset + 1
            );
            (self.repl.replid.clone(), (self.repl.master_repl_offset + 1).to_string())
        } else {
            log::info!("Partial resynchronization not possible (no cached master)");
            ("?".to_string(), "-1".to_string())
        };
        // An old master handing over to this replica asks it to take over (PSYNC ... FAILOVER).
        if self.failover.state == super::failover::FailoverState::InProgress {
            self.repl_link_send(&resp_command(&[b"PSYNC", id.as_bytes(), offset.as_bytes(), b"FAILOVER"]));
        } else {
            self.repl_link_send(&resp_command(&[b"PSYNC", id.as_bytes(), offset.as_bytes()]));
        }
    }

    /// +FULLRESYNC, +CONTINUE or an error. Returns false when the link was dropped.
    fn repl_handle_psync_reply(&mut self, line: &str) -> bool {
        if let Some(rest) = line.strip_prefix("+FULLRESYNC") {
            let mut parts = rest.split_whitespace();
            let id = parts.next().unwrap_or("");
            let offset = parts.next().and_then(|o| o.parse::<u64>().ok());
            let (40, Some(offset)) = (id.len(), offset) else {
                log::warn!("Master replied with wrong +FULLRESYNC syntax.");
                self.repl_link_failed();
                return false;
            };
            log::info!("Full resync from master: {id}:{offset}");
            self.failover_psync_answered(true);
            self.link.sync_replid = id.to_string();
            self.link.sync_offset = offset;
            self.link.state = LinkState::Transfer;
            self.link.payload = None;
            self.link.transfer_size = -1;
            self.link.transfer_read = 0;
            return true;
        }
        if let Some(rest) = line.strip_prefix("+CONTINUE") {
            let new_id = rest.trim();
            log::info!("Successful partial resynchronization with master.");
            self.failover_psync_answered(true);
            if new_id.len() == 40 && !new_id.eq_ignore_ascii_case(&self.repl.replid) {
                self.repl.replid2 = std::mem::replace(&mut self.repl.replid, new_id.to_string());
                self.repl.second_repl_offset = self.repl.master_repl_offset as i64 + 1;
                log::info!("Master replication ID changed to {new_id}");
                self.repl_disconnect_replicas();
            }
            if self.repl.backlog.is_none() {
                self.repl_create_backlog();
            }
            log::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            self.repl_become_connected(true);
            return false;
        }
        if line.starts_with("-NOMASTERLINK") || line.starts_with("-LOADING") {
            log::info!("Master is currently unable to PSYNC but should be in the future: {line}");
        } else if line.starts_with("-ERR") {
            log::warn!("Master does not support PSYNC or is in error state (reply: {line})");
        } else {
            log::warn!("Unexpected reply to PSYNC from master: {line}");
        }
        self.repl_link_failed();
        self.failover_psync_answered(false);
        false
    }

    /// The master becomes a client: its stream is read and applied like commands.
    pub(super) fn repl_become_connected(&mut self, partial: bool) {
        let Some(mut stream) = self.link.stream.take() else { return };
        let _ = self.poll.registry().deregister(&mut stream);
        let addr = stream.peer_addr().map(|a| crate::net::format_addr(&a)).unwrap_or_default();
        let laddr = stream.local_addr().map(|a| crate::net::format_addr(&a)).unwrap_or_default();
        let peer = stream.peer_addr().ok();
        let entry = self.clients.vacant_entry();
        let slot = entry.key();
        if self.poll.registry().register(&mut stream, Token(slot), Interest::READABLE).is_err() {
            self.repl_link_failed();
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Client::new(id, slot, Stream::Tcp(stream), addr, laddr, unix_ms());
        c.peer_ip = peer;
        c.authenticated = true;
        // Our master may run anything, as Redis's NULL user.
        c.user = None;
        c.is_master = true;
        // After a full sync the stream starts with a SELECT; a continued one is still in the
        // database it was in.
        c.db = if partial { self.link.master_db } else { 0 };
        // Whatever followed the payload is already the stream.
        c.qbuf = std::mem::take(&mut self.link.buf);
        entry.insert(Some(c));
        self.client_slots.insert(id, slot);
        self.link.client_slot = Some(slot);
        self.link.state = LinkState::Connected;
        self.link.down_since_ms = 0;
        self.link.pending_relay.clear();
        self.repl.selected_db = None;
        // Apply what already arrived.
        self.pending_reads_push(slot);
    }

    /// The master client went away.
    pub fn repl_master_client_closed(&mut self, c: &Client) {
        if !c.is_master || self.link.client_slot != Some(c.slot) {
            return;
        }
        log::info!("Connection with master lost.");
        self.link.client_slot = None;
        self.link.master_db = c.db;
        self.link.pending_relay.clear();
        self.link.down_since_ms = unix_ms();
        if self.is_replica() {
            self.link.state = LinkState::Connect;
            // At once rather than at the next cron (Redis 7): a second's wait may cost the
            // backlog the history a partial resync needs, and a slow script stops the cron.
            if let Some((host, port)) = self.config.replicaof() {
                log::info!("Reconnecting to MASTER {host}:{port}");
            }
            self.repl_connect();
        }
    }

    /// After each command from the master: relay the bytes it consumed to our replicas and backlog,
    /// and count them in our offset (not in the middle of MULTI: the whole block goes at EXEC).
    pub fn repl_master_command_applied(&mut self, c: &Client, consumed: &[u8]) {
        self.link.pending_relay.extend_from_slice(consumed);
        if c.in_multi() {
            return;
        }
        let bytes = std::mem::take(&mut self.link.pending_relay);
        self.repl_feed_raw(&bytes);
        self.link.pending_relay = bytes;
        self.link.pending_relay.clear();
    }
}
