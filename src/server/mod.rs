//! `Server`: the one owner of everything (keyspace, clients, config, stats) and the event loop that
//! drives it: one `mio::Poll`, one thread, no locks.
//!
//! The loop waits for socket readiness or the next cron tick, reads and runs every complete command a
//! client sent, and flushes replies before the next wait (`before_sleep`). Nothing here may block: a
//! slow client is left with pending output and WRITABLE interest, never waited for.

pub mod aof_loading;
pub mod aof_persistence;
pub mod blocking;
pub mod child_info;
pub mod cron;
pub mod dispatch;
pub mod events_while_blocked;
pub mod eviction;
pub mod incremental_fsync;
pub mod keyspace;
pub mod latency;
pub mod monotonic;
pub mod permissions;
pub mod propagation;
pub mod pubsub;
pub mod rdb_persistence;
pub mod shutdown;
pub mod tracking;

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::client::{Client, Stream, flags as cflags};
use crate::command::CommandTable;
use crate::config::Config;
use crate::db::Db;
use crate::net::{self, Listener};
use crate::resp::parse::{ArgSource, ParseLimits, Parsed};

/// Tokens at the top of the range belong to listeners; client tokens are slab slots.
const LISTENER_TOKEN_BASE: usize = usize::MAX - 64;
/// The lowest fixed token (diskless pipe, then master link, then listeners): client tokens, slab
/// slots, are all below it.
const FIRST_FIXED_TOKEN: usize = crate::replication::diskless::RDB_PIPE_TOKEN;
/// Bytes read per `read` call.
const READ_CHUNK: usize = 16 * 1024;
/// Bytes read from one client per event before others get a turn.
const READ_BUDGET: usize = 1024 * 1024;

/// Server-wide counters reported by INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub client_outbuf_limit_disconnections: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    pub io_threaded_reads: u64,
    pub total_forks: u64,
    pub latest_fork_usec: u64,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// Per-command counters (INFO commandstats) and latency histogram (INFO latencystats).
#[derive(Default)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Created on the first tracked call, as Redis does.
    pub latency: Option<Box<latency::LatencyHistogram>>,
}

/// Samples of a counter taken every 100 ms for instantaneous rates.
#[derive(Debug, Default)]
pub struct RateSamples {
    samples: [u64; 16],
    idx: usize,
    last_value: u64,
    last_ms: u64,
}

impl RateSamples {
    pub fn track(&mut self, value: u64, now_ms: u64) {
        let dt = now_ms.saturating_sub(self.last_ms);
        if self.last_ms != 0 && dt > 0 {
            let per_sec = (value.saturating_sub(self.last_value)) * 1000 / dt;
            self.samples[self.idx] = per_sec;
            self.idx = (self.idx + 1) % self.samples.len();
        }
        self.last_value = value;
        self.last_ms = now_ms;
    }

    pub fn rate(&self) -> u64 {
        self.samples.iter().sum::<u64>() / self.samples.len() as u64
    }
}

/// A slow command record (SLOWLOG GET).
pub struct SlowlogEntry {
    pub id: u64,
    pub time: u64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub peer: String,
    pub name: Vec<u8>,
}

/// CLIENT PAUSE state.
#[derive(Debug, Clone, Copy)]
pub struct Pause {
    pub until_ms: u64,
    /// Only writes are paused (CLIENT PAUSE ... WRITE).
    pub write_only: bool,
}

pub struct Server {
    pub config: Config,
    pub commands: CommandTable,
    /// ACL users, their permissions and the ACL log.
    pub acl: crate::acl::Acl,
    pub dbs: Vec<Db>,
    /// Clients by slot; `None` while that client is running a command (it is lent to the handler).
    pub clients: Slab<Option<Client>>,
    pub poll: Poll,
    listeners: Vec<Listener>,
    pub stats: Stats,
    pub cmd_stats: Vec<CmdStat>,
    pub error_stats: BTreeMap<String, u64>,
    pub ops_rate: RateSamples,
    pub net_in_rate: RateSamples,
    pub net_out_rate: RateSamples,
    /// Changes since the last save.
    pub dirty: u64,
    pub next_client_id: u64,
    pub started: Instant,
    pub start_unix: u64,
    pub lastsave: u64,
    pub run_id: String,
    pub hz: u32,
    pub cronloops: u64,
    /// MIGRATE's cached connections to target servers.
    pub migrate_sockets: crate::command::migrate::MigrateSockets,
    /// The LRU/LFU clocks objects are created, touched, saved and evicted by.
    pub clocks: crate::db::access_clock::AccessClocks,
    pub active_expire_enabled: bool,
    pub slowlog: std::collections::VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    /// Slots of MONITOR clients.
    pub monitors: Vec<usize>,
    pub pause: Option<Pause>,
    /// A FAILOVER in progress (it pauses writes too).
    pub failover: crate::replication::failover::Failover,
    /// The Lua engine, cached EVAL scripts and FUNCTION libraries.
    pub scripting: crate::scripting::Scripting,
    /// Set by signal handlers and SHUTDOWN; acted on in the cron / before sleeping.
    pub shutdown_asap: bool,
    /// A shutdown waiting for lagging replicas (`shutdown-timeout`); it pauses writes.
    pub shutdown_wait: Option<crate::server::shutdown::ShutdownWait>,
    /// Clients with output waiting, flushed before the next poll.
    pending_writes: Vec<usize>,
    /// Clients that still have unread input after their read budget ran out.
    pending_reads: Vec<usize>,
    /// Clients readable in the batch of events being handled. mio is edge-triggered: if one of
    /// them runs a slow script, the others' readiness was already fetched and a nested poll would
    /// not report it again, so the loop-while-blocked reads them from here.
    batch_readable: Vec<usize>,
    /// The client currently running a command (not in the slab), and whether a write it made
    /// touched one of its own WATCHed keys.
    pub current_client: Option<(usize, u64)>,
    /// Keys given a TTL by clients of a writable replica, with a bit per db (Redis's
    /// slaveKeysWithExpire): the replica expires them itself.
    pub replica_keys_with_expire: std::collections::HashMap<Vec<u8>, u64>,
    pub current_client_dirty_cas: bool,
    rng_state: u64,
    pub exit_code: Option<i32>,
    /// A master-link readiness seen while a command let the loop turn (replayed after it; its
    /// writability when any of them was writable).
    pub deferred_link_event: Option<bool>,
    /// The buffer every client read lands in first (zeroed once, reused).
    read_chunk: Vec<u8>,
    /// Highest `used_memory` seen by INFO (interior mutability: INFO only reads the server).
    pub memory_peak: std::cell::Cell<u64>,
    /// `used_memory` once the server was initialised (INFO used_memory_startup).
    pub startup_memory: u64,
    pub config_file: Option<String>,
    pub executable: String,
    /// Times commands (commandstats, latency, SLOWLOG).
    pub command_clock: crate::server::monotonic::MonotonicClock,
    pub pubsub: pubsub::PubSub,
    /// Push messages for the client running the current command (it is not in the slab), appended
    /// after its reply; and that client's protocol version, which decides their framing.
    pub current_pushes: crate::resp::reply::ReplyBuf,
    pub current_client_resp: u8,
    /// The running client's tracking options, while it runs (it is not in the slab).
    pub current_tracking: Option<Box<tracking::ClientTracking>>,
    /// Client-side caching: tracked keys, BCAST prefixes.
    pub tracking: tracking::Tracking,
    /// Connected clients' slots by id (invalidations are addressed by client id).
    pub client_slots: std::collections::HashMap<u64, usize>,
    pub blocking: blocking::Blocking,
    /// Elements of at least this size get a quicklist node of their own (DEBUG
    /// QUICKLIST-PACKED-THRESHOLD).
    pub list_packed_threshold: usize,
    pub rdb: rdb_persistence::RdbState,
    /// What the running fork child reported (INFO persistence's current_* and *_last_cow_size).
    pub child_info: child_info::ChildInfo,
    /// DEBUG PAUSE-CRON: the cron (and with it a signalled shutdown) waits.
    pub cron_paused: bool,
    /// Commands queued for the AOF and replicas during the current call.
    pub prop: propagation::Propagation,
    /// Loading a dataset (AOF replay, RDB): nothing is propagated and nothing expires.
    pub loading: bool,
    /// EXEC is running its queued commands.
    pub in_exec: bool,
    pub aof: aof_persistence::AofState,
    pub repl: crate::replication::ReplicationState,
    /// The link to our master, when we are a replica.
    pub link: crate::replication::replica::MasterLink,
    last_repl_cron_ms: u64,
}

impl Server {
    /// Build the server from a loaded config; sockets are opened by `listen`.
    pub fn new(config: Config, executable: String) -> io::Result<Self> {
        let access_policy = config.access_policy();
        let databases = config.databases().max(1);
        let scripting = crate::scripting::Scripting::new(config.lua_enable_deprecated_api());
        let commands = CommandTable::build();
        let mut acl = crate::acl::Acl::new(&commands);
        acl.set_default_password(config.requirepass(), &permissions::rule_context(&commands, &config));
        let cmd_stats = (0..commands.commands.len()).map(|_| CmdStat::default()).collect();
        let now = unix_ms();
        let mut seed = now ^ (std::process::id() as u64).rotate_left(32);
        if let Ok(bytes) = std::fs::read("/proc/sys/kernel/random/uuid") {
            for b in bytes {
                seed = seed.wrapping_mul(0x100000001b3).wrapping_add(b as u64);
            }
        }
        let mut server = Server {
            hz: config.hz(),
            config_file: config.config_file().map(str::to_string),
            config,
            commands,
            acl,
            dbs: (0..databases).map(Db::new).collect(),
            clients: Slab::new(),
            poll: Poll::new()?,
            listeners: Vec::new(),
            stats: Stats::default(),
            cmd_stats,
            error_stats: BTreeMap::new(),
            ops_rate: RateSamples::default(),
            net_in_rate: RateSamples::default(),
            net_out_rate: RateSamples::default(),
            dirty: 0,
            next_client_id: 1,
            started: Instant::now(),
            start_unix: now / 1000,
            lastsave: now / 1000,
            run_id: String::new(),
            cronloops: 0,
            clocks: crate::db::access_clock::AccessClocks::at(now / 1000, access_policy),
            migrate_sockets: Default::default(),
            active_expire_enabled: true,
            slowlog: Default::default(),
            slowlog_next_id: 0,
            monitors: Vec::new(),
            pause: None,
            failover: Default::default(),
            scripting,
            shutdown_asap: false,
            shutdown_wait: None,
            pending_writes: Vec::new(),
            pending_reads: Vec::new(),
            batch_readable: Vec::new(),
            current_client: None,
            replica_keys_with_expire: std::collections::HashMap::new(),
            current_client_dirty_cas: false,
            rng_state: seed | 1,
            exit_code: None,
            deferred_link_event: None,
            read_chunk: Vec::new(),
            memory_peak: std::cell::Cell::new(0),
            startup_memory: 0,
            executable,
            command_clock: crate::server::monotonic::MonotonicClock::new(),
            pubsub: Default::default(),
            current_pushes: Default::default(),
            current_tracking: None,
            tracking: Default::default(),
            client_slots: Default::default(),
            current_client_resp: 2,
            blocking: Default::default(),
            list_packed_threshold: crate::db::list::DEFAULT_PACKED_THRESHOLD,
            rdb: Default::default(),
            child_info: Default::default(),
            cron_paused: false,
            prop: Default::default(),
            loading: false,
            in_exec: false,
            aof: Default::default(),
            repl: Default::default(),
            link: Default::default(),
            last_repl_cron_ms: 0,
        };
        server.run_id = server.random_hex(40);
        server.repl.replid = server.random_hex(40);
        server.startup_memory = crate::allocator::used_memory();
        Ok(server)
    }

    /// A fast non-cryptographic random number (RANDOMKEY, sampling, run ids).
    pub fn random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng_state = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }

    /// Show the process title from `proc-title-template` (`title` defaults to the command's argv[0],
    /// as Redis's server.exec_argv[0]), when `set-proc-title` is on.
    pub fn update_proc_title(&self, title: Option<&str>) {
        if !self.config.set_proc_title() {
            return;
        }
        let title = title.unwrap_or(crate::proctitle::original_argv0());
        if let Some(text) = self.config.expand_proc_title(self.config.proc_title_template(), title) {
            crate::proctitle::set(&text);
        }
    }

    /// An independent random stream seeded from the server's generator (SplitMix64), for sampling
    /// while a value is borrowed from the keyspace (which keeps `random()` out of reach).
    pub fn sampling_rng(&mut self) -> impl FnMut() -> u64 + use<> {
        let mut state = self.random();
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    pub fn random_hex(&mut self, len: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..len).map(|_| HEX[(self.random() % 16) as usize] as char).collect()
    }

    /// Open every configured listener. Errors carry Redis's wording for the log.
    pub fn listen(&mut self) -> Result<(), String> {
        let mut listeners = net::listen_all(self.config.bind(), self.config.port(), self.config.tcp_backlog())?;
        if let Some(path) = self.config.unixsocket() {
            listeners.push(net::listen_unix(path, self.config.unixsocketperm())?);
        }
        if listeners.is_empty() {
            return Err("Configured to not listen anywhere, exiting.".to_string());
        }
        for (i, l) in listeners.iter_mut().enumerate() {
            let token = Token(LISTENER_TOKEN_BASE + i);
            let res = match l {
                Listener::Tcp(t) => self.poll.registry().register(t, token, Interest::READABLE),
                Listener::Unix(u, _) => self.poll.registry().register(u, token, Interest::READABLE),
            };
            res.map_err(|e| format!("Failed registering listener: {e}"))?;
        }
        self.listeners = listeners;
        Ok(())
    }

    /// Close the listeners and open them again from the current config (CONFIG SET port/bind).
    pub fn relisten(&mut self) -> Result<(), String> {
        for l in self.listeners.drain(..) {
            if let Listener::Unix(_, path) = &l {
                let _ = std::fs::remove_file(path);
            }
        }
        self.listen()
    }

    /// Stop listening (shutdown): drops every listening socket.
    pub fn close_listeners(&mut self) {
        for mut l in std::mem::take(&mut self.listeners) {
            let _ = match &mut l {
                Listener::Tcp(s) => self.poll.registry().deregister(s),
                Listener::Unix(s, _) => self.poll.registry().deregister(s),
            };
        }
    }

    pub fn unix_socket_path(&self) -> Option<&str> {
        self.listeners.iter().find_map(|l| match l {
            Listener::Unix(_, p) => Some(p.as_str()),
            _ => None,
        })
    }

    /// Run until shutdown. Returns the process exit code.
    pub fn run(&mut self) -> i32 {
        let mut events = Events::with_capacity(1024);
        let cron_period = |hz: u32| Duration::from_millis(1000 / hz.clamp(1, 500) as u64);
        // As Redis, whose first serverCron fires a millisecond after startup.
        let mut next_cron = Instant::now() + Duration::from_millis(1);
        loop {
            self.before_sleep();
            if let Some(code) = self.exit_code {
                return code;
            }
            let now = Instant::now();
            let mut timeout =
                if !self.pending_reads.is_empty() { Duration::ZERO } else { next_cron.saturating_duration_since(now) };
            if let Some(deadline) = self.blocking.next_deadline() {
                timeout = timeout.min(Duration::from_millis(deadline.saturating_sub(unix_ms())));
            }
            if let Some(at) = self.repl_load_resume_at() {
                timeout = timeout.min(at.saturating_duration_since(now));
            }
            if let Err(e) = self.poll.poll(&mut events, Some(timeout))
                && e.kind() != io::ErrorKind::Interrupted
            {
                log::warn!("poll failed: {e}");
            }
            if shutdown::signal_received() {
                self.shutdown_asap = true;
            }
            // With `appendfsync always`, replies made while reading must wait for the AOF fsync in
            // before_sleep: write first, then read (Redis's AE_BARRIER).
            let barrier = self.aof.is_on() && self.config.appendfsync() == crate::config::AppendFsync::Always;
            self.batch_readable.clear();
            self.batch_readable.extend(
                events.iter().filter(|e| e.is_readable() && e.token().0 < FIRST_FIXED_TOKEN).map(|e| e.token().0),
            );
            for event in events.iter() {
                self.handle_event(event, barrier);
            }
            self.batch_readable.clear();
            for slot in std::mem::take(&mut self.pending_reads) {
                self.read_from_client(slot, true);
            }
            if let Some(writable) = self.deferred_link_event.take() {
                self.repl_link_event(writable);
            }
            if self.repl_load_resume_at().is_some_and(|at| Instant::now() >= at) {
                self.repl_load_resume();
            }
            if Instant::now() >= next_cron && !self.cron_paused {
                self.cron();
                next_cron = Instant::now() + cron_period(self.hz);
            }
        }
    }

    /// One readiness event: a listener, the master link, the diskless pipe or a client.
    pub(crate) fn handle_event(&mut self, event: &mio::event::Event, barrier: bool) {
        let token = event.token().0;
        if token >= LISTENER_TOKEN_BASE {
            self.accept(token - LISTENER_TOKEN_BASE);
            return;
        }
        if token == crate::replication::replica::MASTER_LINK_TOKEN {
            self.repl_link_event(event.is_writable());
            return;
        }
        if token == crate::replication::diskless::RDB_PIPE_TOKEN {
            self.repl_rdb_pipe_pump();
            return;
        }
        if barrier && event.is_writable() {
            self.write_to_client(token);
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            // A hang-up must be read to its end (the 0-byte read) or it would never be seen again.
            self.read_from_client(token, event.is_read_closed() || event.is_error());
        }
        if !barrier && event.is_writable() {
            self.write_to_client(token);
        }
    }

    fn accept(&mut self, idx: usize) {
        loop {
            let accepted = match self.listeners.get(idx) {
                Some(Listener::Tcp(l)) => match l.accept() {
                    Ok((s, peer)) => {
                        net::tune_client_socket(&s, self.config.tcp_keepalive());
                        let laddr = s.local_addr().map(|a| net::format_addr(&a)).unwrap_or_default();
                        (Stream::Tcp(s), net::format_addr(&peer), laddr, Some(peer))
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) => {
                        log::debug!("Accepting client connection: {e}");
                        return;
                    }
                },
                Some(Listener::Unix(l, path)) => match l.accept() {
                    Ok((s, _)) => (Stream::Unix(s), format!("{path}:0"), format!("{path}:0"), None),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) => {
                        log::debug!("Accepting client connection: {e}");
                        return;
                    }
                },
                None => return,
            };
            self.register_client(accepted.0, accepted.1, accepted.2, accepted.3);
        }
    }

    fn register_client(&mut self, mut stream: Stream, addr: String, laddr: String, peer: Option<std::net::SocketAddr>) {
        let is_unix = peer.is_none();
        // Redis refuses with a plain error line, written straight to the socket, and closes.
        let refuse = |stream: &mut Stream, text: &str| {
            let _ = stream.write(format!("-{text}\r\n").as_bytes());
        };
        if self.clients.len() >= self.config.maxclients() as usize {
            refuse(&mut stream, "ERR max number of clients reached");
            self.stats.rejected_connections += 1;
            return;
        }
        if self.config.protected_mode()
            && self.acl.default_user().nopass
            && !is_unix
            && !peer.is_some_and(|p| net::is_loopback(&p))
        {
            refuse(&mut stream, crate::error::DENIED);
            self.stats.rejected_connections += 1;
            return;
        }
        let authenticated = self.acl.new_connection_authenticated();
        let entry = self.clients.vacant_entry();
        let slot = entry.key();
        let token = Token(slot);
        let Some(source) = stream.source() else { return };
        if let Err(e) = self.poll.registry().register(source, token, Interest::READABLE) {
            log::warn!("Error registering fd event for the new client: {e}");
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Client::new(id, slot, stream, addr, laddr, unix_ms());
        c.peer_ip = peer;
        if is_unix {
            c.flags |= cflags::UNIX_SOCKET;
        }
        // A new connection runs as the default user (Client::new), authenticated when it needs none.
        c.authenticated = authenticated;
        entry.insert(Some(c));
        self.client_slots.insert(id, slot);
        self.stats.connections_received += 1;
    }

    /// Read what the socket has (up to a budget) and run every complete command.
    ///
    /// Readiness is edge-triggered, but a read shorter than the buffer already emptied the socket:
    /// more data raises a new edge, so the extra read that would only answer EAGAIN is skipped
    /// (one system call per request instead of two at `-P 1`) unless `drain` asks for reading to
    /// the end (a hang-up, or a client whose readiness was carried over).
    fn read_from_client(&mut self, slot: usize, drain: bool) {
        let Some(entry) = self.clients.get_mut(slot) else { return };
        let Some(mut c) = entry.take() else {
            // The client is running a command that let the loop turn (a slow script): its
            // readiness must not be lost, read it when it is back.
            self.pending_reads.push(slot);
            return;
        };
        let mut budget = READ_BUDGET;
        let mut closed = false;
        loop {
            if c.has(cflags::CLOSE_AFTER_REPLY | cflags::CLOSE_ASAP) {
                break;
            }
            if budget == 0 {
                self.pending_reads.push(slot);
                break;
            }
            // One zeroed buffer for every read, copied from: growing the query buffer by a
            // zero-filled chunk before each read cost a 16 KiB memset per (mostly tiny) read.
            let mut chunk = std::mem::take(&mut self.read_chunk);
            chunk.resize(READ_CHUNK, 0);
            let res = c.stream.read(&mut chunk);
            if let Ok(n) = res {
                c.qbuf.extend_from_slice(&chunk[..n.min(chunk.len())]);
            }
            // Back before any command runs: one that lets the loop turn reads other clients.
            self.read_chunk = chunk;
            match res {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    c.net_in += n as u64;
                    self.stats.net_input_bytes += n as u64;
                    self.stats.total_reads_processed += 1;
                    budget = budget.saturating_sub(n);
                    c.last_interaction_ms = unix_ms();
                    let unparsed = c.qbuf.len() - c.qpos;
                    c.qbuf_peak = c.qbuf_peak.max(unparsed);
                    if unparsed > self.config.client_query_buffer_limit() as usize {
                        log::warn!(
                            "Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})",
                            self.client_info_line(&c),
                            String::from_utf8_lossy(&c.qbuf[c.qpos..(c.qpos + 64).min(c.qbuf.len())])
                        );
                        self.stats.client_qbuf_limit_disconnections += 1;
                        closed = true;
                        break;
                    }
                    self.process_input(&mut c);
                    if n < READ_CHUNK && !drain {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("Reading from client: {e}");
                    closed = true;
                    break;
                }
            }
        }
        if closed || c.has(cflags::CLOSE_ASAP) {
            self.free_client(c);
            return;
        }
        if c.pending_output() > 0 || c.has(cflags::CLOSE_AFTER_REPLY) {
            self.pending_writes.push(slot);
        }
        if let Some(entry) = self.clients.get_mut(slot) {
            *entry = Some(c);
        }
    }

    /// Parse and run every complete command in the client's query buffer.
    pub fn process_input(&mut self, c: &mut Client) {
        loop {
            if c.has(cflags::CLOSE_AFTER_REPLY | cflags::CLOSE_ASAP) {
                break;
            }
            if self.is_paused_for(c) || c.blocked.is_some() {
                break;
            }
            // Our master's stream waits while a slow script runs: it resumes when the script ends.
            if c.is_master && self.scripting.timed_out.is_some() {
                break;
            }
            let limits =
                ParseLimits { max_bulk_len: self.config.proto_max_bulk_len(), authenticated: !self.auth_required(c) };
            match c.parser.parse(&c.qbuf, c.qpos, limits) {
                Parsed::Incomplete => break,
                Parsed::Empty { end } => {
                    if c.is_master {
                        let bytes = c.qbuf.get(c.qpos..end).unwrap_or_default().to_vec();
                        self.link.pending_relay.extend_from_slice(&bytes);
                    }
                    c.qpos = end;
                    c.parser.reset();
                }
                Parsed::Error(msg) => {
                    log::debug!("Protocol error ({msg}) from client: {}", self.client_info_line(c));
                    c.reply.error(format!("ERR Protocol error: {msg}").as_bytes());
                    c.flags |= cflags::CLOSE_AFTER_REPLY;
                    c.qpos = c.qbuf.len();
                    c.parser.reset();
                    break;
                }
                Parsed::Command { source, end } => {
                    if self.held_by_write_pause(c, source) {
                        // Leave the command in the buffer; it runs when the pause ends.
                        c.parser.reset();
                        break;
                    }
                    let ranges = std::mem::take(&mut c.parser.argv);
                    let buf = match source {
                        ArgSource::Query => std::mem::take(&mut c.qbuf),
                        ArgSource::Inline => std::mem::take(&mut c.parser.inline_buf),
                    };
                    let (start, reply_before) = (c.qpos, c.reply.buf.len());
                    let was_replica = c.replica.is_some() && !c.has(cflags::MONITOR);
                    if matches!(source, ArgSource::Query) {
                        c.running_qbuf = Some((buf.len() - start, buf.capacity() - buf.len()));
                    }
                    self.process_command(c, &crate::command::Args::new(&buf, &ranges));
                    c.running_qbuf = None;
                    if was_replica && c.reply.buf.len() > reply_before {
                        self.drop_replica_that_got_a_reply(c, reply_before);
                    }
                    if !self.blocking.ready_is_empty() {
                        self.handle_clients_blocked_on_keys();
                    }
                    if c.is_master {
                        // The master never reads our replies, except the ACK to a GETACK.
                        if !std::mem::take(&mut self.link.force_reply) {
                            c.reply.buf.truncate(reply_before);
                        }
                        let consumed = if matches!(source, ArgSource::Query) { buf.get(start..end) } else { None };
                        self.repl_master_command_applied(c, consumed.unwrap_or_default());
                    }
                    match source {
                        ArgSource::Query => c.qbuf = buf,
                        ArgSource::Inline => c.parser.inline_buf = buf,
                    }
                    let mut ranges = ranges;
                    ranges.clear();
                    c.parser.argv = ranges;
                    c.qpos = end;
                    c.parser.reset();
                    self.check_output_buffer_limits(c);
                }
            }
        }
        c.compact_query();
    }

    /// A replica link carries only our stream: a command of the replica's that produced a reply
    /// would interleave that reply with the stream, so the reply is dropped and the replica
    /// disconnected (Redis's logInvalidUseAndFreeClientAsync).
    fn drop_replica_that_got_a_reply(&mut self, c: &mut Client, reply_before: usize) {
        c.reply.buf.truncate(reply_before);
        let cmd = c.last_cmd.map_or("<unknown>", |id| self.commands.commands[id].full_name.as_str());
        log::warn!("Replica generated a reply to command '{cmd}', disconnecting it: {}", self.client_info_line(c));
        c.flags |= cflags::CLOSE_ASAP;
    }

    /// Close a client whose unread replies exceed `client-output-buffer-limit` (or 1 KiB beyond the
    /// static buffer before it authenticated), as Redis's checkClientOutputBufferLimits.
    pub fn check_output_buffer_limits(&mut self, c: &mut Client) {
        if c.has(cflags::CLOSE_ASAP) {
            return;
        }
        let used = self.output_buffer_usage(c);
        let over = if used > 1024 && self.auth_required(c) {
            true
        } else {
            // MONITOR clients count as normal ones (Redis's getClientType).
            let class = if c.replica.is_some() {
                crate::config::ClientClass::Replica
            } else if c.has(cflags::PUBSUB) {
                crate::config::ClientClass::Pubsub
            } else {
                crate::config::ClientClass::Normal
            };
            let limit = self.config.client_output_buffer_limit(class);
            let mut hard_bytes = limit.hard_bytes;
            // A replica limit below the backlog would drop replicas that a partial resync just
            // accepted; Redis uses the backlog size instead (the memory is the backlog's anyway).
            if c.replica.is_some() && hard_bytes > 0 {
                hard_bytes = hard_bytes.max(self.config.repl_backlog_size());
            }
            let hard = hard_bytes > 0 && used >= hard_bytes;
            let mut soft = limit.soft_bytes > 0 && used >= limit.soft_bytes;
            if soft {
                // The clock is read only past the soft limit: this runs after every command.
                let now = unix_ms() / 1000;
                if c.obuf_soft_since == 0 {
                    c.obuf_soft_since = now;
                    soft = false;
                } else {
                    soft = now - c.obuf_soft_since > limit.soft_seconds;
                }
            } else {
                c.obuf_soft_since = 0;
            }
            hard || soft
        };
        if over {
            log::warn!(
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                self.client_info_line(c)
            );
            self.stats.client_outbuf_limit_disconnections += 1;
            c.flags |= cflags::CLOSE_ASAP;
            // Freed before the loop sleeps, even if nothing else would write to it.
            self.queue_write(c.slot);
        }
    }

    /// Output that counts against `client-output-buffer-limit`. A replica's is its share of the
    /// backlog: from the block holding its next byte to the end (Redis's
    /// getClientOutputBufferMemoryUsage).
    pub fn output_buffer_usage(&self, c: &Client) -> u64 {
        match (c.replica.as_ref().and_then(|r| r.stream_from), self.repl.backlog.as_ref()) {
            (Some(from), Some(b)) => b.usage_from(from) as u64,
            _ => c.output_buffer_usage(),
        }
    }

    fn write_to_client(&mut self, slot: usize) {
        let Some(Some(c)) = self.clients.get_mut(slot) else { return };
        // A client scheduled to be closed is not written to any more (a replica over its output
        // limit must not receive the stream that put it over).
        if c.has(cflags::CLOSE_ASAP) {
            self.kill_client_slot(slot);
            return;
        }
        let before = c.net_out;
        let mut res = c.flush();
        let mut streamed = false;
        let mut stream_left = 0;
        // A replica is sent the stream from the backlog once its own replies (the RDB) are out.
        if res.is_ok()
            && c.pending_output() == 0
            && let Some(r) = c.replica.as_mut()
            && r.streaming()
            && let (Some(from), Some(b)) = (r.stream_from, self.repl.backlog.as_ref())
        {
            let mut at = from;
            loop {
                let chunk = b.chunk_at(at);
                if chunk.is_empty() {
                    break;
                }
                let (n, written) = c.stream.write_some(chunk);
                at += n as u64;
                if written.is_err() || n < chunk.len() {
                    res = written;
                    break;
                }
            }
            c.net_out += at - from;
            streamed = at != from;
            stream_left = b.end_offset().saturating_sub(at);
            r.stream_from = Some(at);
        }
        let written = c.net_out - before;
        let caught_up = c.pending_output() == 0;
        if let Some(r) = c.replica.as_mut()
            && r.socket_transfer
        {
            // Redis's repl_last_partial_write: the time of the last write that could not
            // take everything, cleared once the replica caught up.
            if caught_up {
                r.last_partial_write_ms = 0;
            } else if written > 0 || r.last_partial_write_ms == 0 {
                r.last_partial_write_ms = unix_ms();
            }
        }
        self.stats.net_output_bytes += written;
        self.stats.total_writes_processed += 1;
        let done = c.pending_output() == 0 && stream_left == 0;
        if streamed {
            self.repl_trim_backlog();
        }
        let Some(Some(c)) = self.clients.get_mut(slot) else { return };
        let close = res.is_err() || (done && c.has(cflags::CLOSE_AFTER_REPLY)) || c.has(cflags::CLOSE_ASAP);
        if close {
            if let Some(Some(c)) = self.clients.get_mut(slot).map(Option::take) {
                self.free_client(c);
            }
            return;
        }
        let Some(Some(c)) = self.clients.get_mut(slot) else { return };
        let want_writable = !done;
        if want_writable != c.writable_armed {
            let interest = if want_writable { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            if let Some(source) = c.stream.source() {
                let _ = self.poll.registry().reregister(source, Token(slot), interest);
            }
            c.writable_armed = want_writable;
        }
    }

    /// Flush replies produced in this iteration and act on pending shutdown.
    fn before_sleep(&mut self) {
        self.handle_blocked_timeouts();
        self.process_clients_waiting_replicas();
        self.resume_unblocked_clients();
        if self.tracking.clients > 0 {
            self.tracking_limit_keys();
        }
        self.tracking_broadcast();
        // ACKs may have arrived from a failover's target.
        self.failover_update();
        // A WAIT blocked: ask the replicas where they are now rather than at their next ACK, unless
        // a pause holds the stream still.
        if self.blocking.get_ack_from_replicas && !self.is_paused_write_now() {
            self.blocking.get_ack_from_replicas = false;
            self.repl_send_getack();
        }
        // Deletions made outside any command (a lazy expiry seen while serving blocked clients).
        self.propagate_pending();
        // The AOF is written (and with `always`, fsynced) before any reply leaves.
        if self.aof.is_on() {
            self.aof_flush();
        }
        self.repl_start_wanted_bgsave();
        let pending = std::mem::take(&mut self.pending_writes);
        for slot in pending {
            self.write_to_client(slot);
        }
        // A diskless transfer paused for a slow replica resumes once it drained.
        if self.repl_rdb_pipe_open() {
            self.repl_rdb_pipe_pump();
            for slot in std::mem::take(&mut self.pending_writes) {
                self.write_to_client(slot);
            }
        }
    }

    /// Have a client's buffered input processed at the next loop iteration.
    pub fn pending_reads_push(&mut self, slot: usize) {
        self.pending_reads.push(slot);
    }

    /// Replication's once-a-second duties, from the cron.
    pub fn replication_cron(&mut self) {
        let now = unix_ms();
        if now.saturating_sub(self.last_repl_cron_ms) < 1000 {
            return;
        }
        self.last_repl_cron_ms = now;
        self.repl_replica_cron();
        self.repl_master_cron();
    }

    /// Queue a client (not the one running a command) for a flush before the next poll.
    pub fn queue_write(&mut self, slot: usize) {
        self.pending_writes.push(slot);
    }

    /// Close a client and release everything it holds.
    pub fn free_client(&mut self, mut c: Client) {
        if let Some(source) = c.stream.source() {
            let _ = self.poll.registry().deregister(source);
        }
        self.unwatch_all(&mut c);
        self.tracking_disable(&mut c);
        self.client_slots.remove(&c.id);
        self.pubsub_forget_client(&mut c);
        self.unblock_forget(&mut c);
        self.monitors.retain(|&s| s != c.slot);
        self.repl_forget_replica(&c);
        self.repl_master_client_closed(&c);
        if self.clients.contains(c.slot) {
            self.clients.remove(c.slot);
        }
    }

    /// Close the client in `slot` (not the current one) right away.
    pub fn kill_client_slot(&mut self, slot: usize) {
        if let Some(Some(c)) = self.clients.get_mut(slot).map(Option::take) {
            self.free_client(c);
        }
    }

    /// Whether CLIENT PAUSE holds this client's next command back.
    fn is_paused_for(&mut self, _c: &Client) -> bool {
        let Some(p) = self.pause else { return false };
        if unix_ms() >= p.until_ms {
            self.pause = None;
            return false;
        }
        // WRITE pauses are decided per command in dispatch; ALL pauses stop all input here.
        !p.write_only
    }

    /// Whether the parsed command must wait for a CLIENT PAUSE WRITE to end.
    fn held_by_write_pause(&mut self, c: &Client, source: ArgSource) -> bool {
        let client_pause = self.pause.is_some_and(|p| p.write_only) && self.is_paused_write_now();
        if !client_pause && !self.writes_paused_by_server() {
            return false;
        }
        let buf: &[u8] = match source {
            ArgSource::Query => &c.qbuf,
            ArgSource::Inline => &c.parser.inline_buf,
        };
        let args = crate::command::Args::new(buf, &c.parser.argv);
        match self.commands.lookup(&args) {
            crate::command::Lookup::Found(cmd) => {
                cmd.spec.has(crate::command::flags::MAY_REPLICATE) || self.is_write_command(c, cmd.spec)
            }
            _ => false,
        }
    }

    /// Writes held by the server itself: a FAILOVER, or a shutdown waiting for its replicas (Redis's
    /// PAUSE_DURING_FAILOVER and PAUSE_DURING_SHUTDOWN).
    fn writes_paused_by_server(&self) -> bool {
        self.failover.pauses_writes() || self.shutdown_wait.is_some()
    }

    pub fn is_paused_write_now(&mut self) -> bool {
        if self.writes_paused_by_server() {
            return true;
        }
        match self.pause {
            Some(p) if unix_ms() < p.until_ms => true,
            Some(_) => {
                self.pause = None;
                false
            }
            None => false,
        }
    }

    /// Give every client held back by an ended pause a chance to run its queued input.
    pub fn resume_paused_clients(&mut self) {
        let slots: Vec<usize> = self.clients.iter().map(|(s, _)| s).collect();
        for slot in slots {
            let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
            if c.qpos < c.qbuf.len() {
                self.process_input(&mut c);
                if c.pending_output() > 0 {
                    self.pending_writes.push(slot);
                }
            }
            if let Some(e) = self.clients.get_mut(slot) {
                *e = Some(c);
            }
        }
    }

    /// One line of CLIENT LIST for `c`.
    pub fn client_info_line(&self, c: &Client) -> String {
        crate::command::client_cmd::client_info(self, c)
    }

    /// Number of connected clients, including the one running a command.
    pub fn connected_clients(&self) -> usize {
        // Replicas are counted apart (connected_slaves), as in Redis.
        self.clients.len().saturating_sub(self.repl.replicas.len())
    }

    /// Refresh the access clocks (and the policy they follow, which CONFIG SET may change).
    pub fn update_access_clocks(&mut self) {
        self.clocks = crate::db::access_clock::AccessClocks::at(unix_ms() / 1000, self.config.access_policy());
    }

    /// A uniform random number in [0, 1).
    pub fn random_unit(&mut self) -> f64 {
        (self.random() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Unix time in microseconds.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}
