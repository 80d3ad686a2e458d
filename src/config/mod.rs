//! The configuration subsystem: every Redis 7.0.15 directive, loaded from
//! `redis.conf` (plus includes, stdin and command-line overrides), read and
//! changed by CONFIG GET/SET, and written back by CONFIG REWRITE, with Redis's
//! exact error texts.
//!
//! `Config` owns the current value of every directive and nothing else. It
//! must never touch sockets, the keyspace or other server state: CONFIG SET
//! returns the names that changed and the server applies side effects (rebind,
//! resize, ...). The one exception is `dir`, which is the process working
//! directory in Redis and so is changed here, as Redis does.
//!
//! Layout: `table` (directive table), `parse` (tokenizer and number parsers),
//! `value` (per-type set/get rules), `special` (multi-part values), `load`
//! (file loading), `runtime` (CONFIG GET/SET), `rewrite` (CONFIG REWRITE),
//! `sha256` (ACL password digests).

mod load;
pub(crate) mod parse;
mod rewrite;
mod runtime;
pub(crate) mod sha256;
mod special;
mod table;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;

pub use parse::{CommandLine, memtoull, overrides_to_text, push_repr, split_args, string2ll};
pub(crate) use rewrite::overwrite_atomically;
pub use special::{ObufLimit, notify};

use table::{PROTECTED_ACTION, TABLE, index_of};
use value::Value;

/// The Redis version whose configuration behaviour this module reproduces.
pub const REDIS_VERSION: &str = "7.0.15";

/// Why a configuration could not be loaded. `Display` prints exactly what
/// Redis prints before exiting with status 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A config or included file could not be opened. Redis logs this one
    /// through its logger (at warning level) rather than on stderr.
    Open { path: String, reason: String },
    /// The `*** FATAL CONFIG FILE ERROR ***` report, written to stderr.
    /// `line` is the 1-based line number and the trimmed line text, absent
    /// for checks made after the whole text was read.
    Fatal { line: Option<(usize, String)>, reason: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Open { path, reason } => {
                write!(f, "Fatal error, can't open config file '{path}': {reason}")
            }
            ConfigError::Fatal { line, reason } => {
                write!(f, "\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n")?;
                if let Some((number, text)) = line {
                    write!(f, "Reading the configuration file, at line {number}\n>>> '{text}'\n")?;
                }
                writeln!(f, "{reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// A directive the loader keeps verbatim for another subsystem
/// (`rename-command`, `user`, `loadmodule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// All arguments including the directive name, as tokenized.
    pub args: Vec<Vec<u8>>,
    /// 1-based line number within the file that contained it.
    pub line: usize,
    /// The trimmed line, for error reports.
    pub text: String,
}

impl Directive {
    /// The fatal error Redis would print for this line, for checks the server
    /// makes later (e.g. "No such command in rename-command").
    pub fn error(&self, reason: &str) -> ConfigError {
        ConfigError::Fatal { line: Some((self.line, self.text.clone())), reason: reason.to_string() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendFsync {
    Always,
    Everysec,
    No,
}

/// `enable-debug-command`, `enable-module-command`, `enable-protected-configs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtectedAction {
    No,
    Yes,
    /// Allowed only for connections from loopback or the unix socket.
    Local,
}

impl ProtectedAction {
    pub fn allows(self, local_client: bool) -> bool {
        self == ProtectedAction::Yes || (self == ProtectedAction::Local && local_client)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Supervised {
    No,
    Upstart,
    Systemd,
    Auto,
}

/// Output-buffer-limit client classes, in CONFIG GET order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

/// What CONFIG SET needs to know about the calling client and server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetContext {
    /// A dataset is being loaded (some directives are refused meanwhile).
    pub loading: bool,
    /// The client is local, for `enable-protected-configs local`.
    pub local_client: bool,
}

/// Every directive's current value plus what the loader kept for others.
#[derive(Debug, Clone)]
pub struct Config {
    values: Vec<Value>,
    config_file: Option<String>,
    /// Canonical names given in the config text, in first-seen order.
    mentioned: Vec<&'static str>,
    /// Redis's once-per-process "first `save` line replaces the defaults".
    save_loaded: bool,
    renames: Vec<Directive>,
    users: Vec<Directive>,
    modules: Vec<Directive>,
    module_configs: Vec<(String, Vec<u8>)>,
}

impl Default for Config {
    /// Redis's built-in defaults, as when started without a config file.
    fn default() -> Self {
        Config {
            values: TABLE.iter().map(Value::default_for).collect(),
            config_file: None,
            mentioned: Vec::new(),
            save_loaded: false,
            renames: Vec::new(),
            users: Vec::new(),
            modules: Vec::new(),
            module_configs: Vec::new(),
        }
    }
}

/// Table indices of the directives read through typed accessors.
mod ids {
    use super::index_of;
    pub const PORT: usize = index_of("port");
    pub const BIND: usize = index_of("bind");
    pub const UNIXSOCKET: usize = index_of("unixsocket");
    pub const UNIXSOCKETPERM: usize = index_of("unixsocketperm");
    pub const TCP_BACKLOG: usize = index_of("tcp-backlog");
    pub const TIMEOUT: usize = index_of("timeout");
    pub const TCP_KEEPALIVE: usize = index_of("tcp-keepalive");
    pub const PROTECTED_MODE: usize = index_of("protected-mode");
    pub const REQUIREPASS: usize = index_of("requirepass");
    pub const MASTERAUTH: usize = index_of("masterauth");
    pub const MASTERUSER: usize = index_of("masteruser");
    pub const DATABASES: usize = index_of("databases");
    pub const LOGLEVEL: usize = index_of("loglevel");
    pub const LOGFILE: usize = index_of("logfile");
    pub const PIDFILE: usize = index_of("pidfile");
    pub const DAEMONIZE: usize = index_of("daemonize");
    pub const HZ: usize = index_of("hz");
    pub const SHUTDOWN_TIMEOUT: usize = index_of("shutdown-timeout");
    pub const SHUTDOWN_ON_SIGINT: usize = index_of("shutdown-on-sigint");
    pub const SHUTDOWN_ON_SIGTERM: usize = index_of("shutdown-on-sigterm");
    pub const DYNAMIC_HZ: usize = index_of("dynamic-hz");
    pub const MAXCLIENTS: usize = index_of("maxclients");
    pub const PROTO_MAX_BULK_LEN: usize = index_of("proto-max-bulk-len");
    pub const CLIENT_QUERY_BUFFER_LIMIT: usize = index_of("client-query-buffer-limit");
    pub const ENABLE_DEBUG_COMMAND: usize = index_of("enable-debug-command");
    pub const ENABLE_PROTECTED_CONFIGS: usize = index_of("enable-protected-configs");
    pub const ENABLE_MODULE_COMMAND: usize = index_of("enable-module-command");
    pub const ALWAYS_SHOW_LOGO: usize = index_of("always-show-logo");
    pub const DBFILENAME: usize = index_of("dbfilename");
    pub const SAVE: usize = index_of("save");
    pub const APPENDONLY: usize = index_of("appendonly");
    pub const APPENDFILENAME: usize = index_of("appendfilename");
    pub const APPENDDIRNAME: usize = index_of("appenddirname");
    pub const APPENDFSYNC: usize = index_of("appendfsync");
    pub const NO_APPENDFSYNC_ON_REWRITE: usize = index_of("no-appendfsync-on-rewrite");
    pub const AOF_LOAD_TRUNCATED: usize = index_of("aof-load-truncated");
    pub const AOF_USE_RDB_PREAMBLE: usize = index_of("aof-use-rdb-preamble");
    pub const RDB_SAVE_INCREMENTAL_FSYNC: usize = index_of("rdb-save-incremental-fsync");
    pub const AOF_REWRITE_INCREMENTAL_FSYNC: usize = index_of("aof-rewrite-incremental-fsync");
    pub const AOF_TIMESTAMP_ENABLED: usize = index_of("aof-timestamp-enabled");
    pub const AOF_DISABLE_AUTO_GC: usize = index_of("aof-disable-auto-gc");
    pub const AUTO_AOF_REWRITE_PERCENTAGE: usize = index_of("auto-aof-rewrite-percentage");
    pub const AUTO_AOF_REWRITE_MIN_SIZE: usize = index_of("auto-aof-rewrite-min-size");
    pub const RDBCOMPRESSION: usize = index_of("rdbcompression");
    pub const RDBCHECKSUM: usize = index_of("rdbchecksum");
    pub const STOP_WRITES_ON_BGSAVE_ERROR: usize = index_of("stop-writes-on-bgsave-error");
    pub const REPLICAOF: usize = index_of("replicaof");
    pub const REPLICA_READ_ONLY: usize = index_of("replica-read-only");
    pub const REPLICA_SERVE_STALE_DATA: usize = index_of("replica-serve-stale-data");
    pub const REPL_BACKLOG_SIZE: usize = index_of("repl-backlog-size");
    pub const REPL_TIMEOUT: usize = index_of("repl-timeout");
    pub const REPL_PING_REPLICA_PERIOD: usize = index_of("repl-ping-replica-period");
    pub const REPL_BACKLOG_TTL: usize = index_of("repl-backlog-ttl");
    pub const BUSY_REPLY_THRESHOLD: usize = index_of("busy-reply-threshold");
    pub const REPL_DISKLESS_SYNC: usize = index_of("repl-diskless-sync");
    pub const REPL_DISKLESS_LOAD: usize = index_of("repl-diskless-load");
    pub const REPL_DISKLESS_SYNC_DELAY: usize = index_of("repl-diskless-sync-delay");
    pub const REPL_DISKLESS_SYNC_MAX_REPLICAS: usize = index_of("repl-diskless-sync-max-replicas");
    pub const REPLICA_ANNOUNCE_IP: usize = index_of("replica-announce-ip");
    pub const REPLICA_ANNOUNCE_PORT: usize = index_of("replica-announce-port");
    pub const REPLICA_PRIORITY: usize = index_of("replica-priority");
    pub const REPLICA_ANNOUNCED: usize = index_of("replica-announced");
    pub const NOTIFY_KEYSPACE_EVENTS: usize = index_of("notify-keyspace-events");
    pub const SLOWLOG_LOG_SLOWER_THAN: usize = index_of("slowlog-log-slower-than");
    pub const SLOWLOG_MAX_LEN: usize = index_of("slowlog-max-len");
    pub const LATENCY_MONITOR_THRESHOLD: usize = index_of("latency-monitor-threshold");
    pub const LATENCY_TRACKING: usize = index_of("latency-tracking");
    pub const MIN_REPLICAS_TO_WRITE: usize = index_of("min-replicas-to-write");
    pub const MIN_REPLICAS_MAX_LAG: usize = index_of("min-replicas-max-lag");
    pub const LATENCY_TRACKING_INFO_PERCENTILES: usize = index_of("latency-tracking-info-percentiles");
    pub const MAXMEMORY: usize = index_of("maxmemory");
    pub const MAXMEMORY_POLICY: usize = index_of("maxmemory-policy");
    pub const LAZYFREE_LAZY_EVICTION: usize = index_of("lazyfree-lazy-eviction");
    pub const LAZYFREE_LAZY_USER_DEL: usize = index_of("lazyfree-lazy-user-del");
    pub const LAZYFREE_LAZY_USER_FLUSH: usize = index_of("lazyfree-lazy-user-flush");
    pub const LAZYFREE_LAZY_EXPIRE: usize = index_of("lazyfree-lazy-expire");
    pub const LUA_ENABLE_DEPRECATED_API: usize = index_of("lua-enable-deprecated-api");
    pub const LAZYFREE_LAZY_SERVER_DEL: usize = index_of("lazyfree-lazy-server-del");
    pub const ACTIVE_EXPIRE_EFFORT: usize = index_of("active-expire-effort");
    pub const LIST_MAX_LISTPACK_SIZE: usize = index_of("list-max-listpack-size");
    pub const MAXMEMORY_SAMPLES: usize = index_of("maxmemory-samples");
    pub const LFU_LOG_FACTOR: usize = index_of("lfu-log-factor");
    pub const LFU_DECAY_TIME: usize = index_of("lfu-decay-time");
    pub const PROC_TITLE_TEMPLATE: usize = index_of("proc-title-template");
    pub const RDB_KEY_SAVE_DELAY: usize = index_of("rdb-key-save-delay");
    pub const HASH_MAX_LISTPACK_ENTRIES: usize = index_of("hash-max-listpack-entries");
    pub const STREAM_NODE_MAX_BYTES: usize = index_of("stream-node-max-bytes");
    pub const STREAM_NODE_MAX_ENTRIES: usize = index_of("stream-node-max-entries");
    pub const HASH_MAX_LISTPACK_VALUE: usize = index_of("hash-max-listpack-value");
    pub const SET_MAX_INTSET_ENTRIES: usize = index_of("set-max-intset-entries");
    pub const HLL_SPARSE_MAX_BYTES: usize = index_of("hll-sparse-max-bytes");
    pub const TRACKING_TABLE_MAX_KEYS: usize = index_of("tracking-table-max-keys");
    pub const KEY_LOAD_DELAY: usize = index_of("key-load-delay");
    pub const LOADING_PROCESS_EVENTS_INTERVAL_BYTES: usize = index_of("loading-process-events-interval-bytes");
    pub const ZSET_MAX_LISTPACK_ENTRIES: usize = index_of("zset-max-listpack-entries");
    pub const ZSET_MAX_LISTPACK_VALUE: usize = index_of("zset-max-listpack-value");
    pub const CLIENT_OUTPUT_BUFFER_LIMIT: usize = index_of("client-output-buffer-limit");
    pub const CRASH_LOG_ENABLED: usize = index_of("crash-log-enabled");
    pub const SUPERVISED: usize = index_of("supervised");
    pub const SET_PROC_TITLE: usize = index_of("set-proc-title");
    pub const CLUSTER_ENABLED: usize = index_of("cluster-enabled");
    pub const ACLFILE: usize = index_of("aclfile");
    pub const ACL_PUBSUB_DEFAULT: usize = index_of("acl-pubsub-default");
    pub const ACLLOG_MAX_LEN: usize = index_of("acllog-max-len");
}

/// Typed views of the store. Values were validated against the table's
/// bounds when set, so the conversions below cannot fail in practice; the
/// fallbacks only keep them total.
impl Config {
    fn flag(&self, i: usize) -> bool {
        matches!(self.values.get(i), Some(Value::Bool(true)))
    }

    fn number(&self, i: usize) -> i64 {
        match self.values.get(i) {
            Some(Value::Num(n)) => *n,
            _ => 0,
        }
    }

    fn choice(&self, i: usize) -> i32 {
        match self.values.get(i) {
            Some(Value::Enum(v)) => *v,
            _ => 0,
        }
    }

    fn bytes(&self, i: usize) -> Option<&[u8]> {
        match self.values.get(i) {
            Some(Value::Str(Some(v))) => Some(v),
            _ => None,
        }
    }

    /// C-string directives; a value that is not UTF-8 reads as unset.
    fn text(&self, i: usize) -> Option<&str> {
        self.bytes(i).and_then(|b| std::str::from_utf8(b).ok())
    }

    fn protected_action(&self, i: usize) -> ProtectedAction {
        match PROTECTED_ACTION.iter().find(|(_, v)| *v == self.choice(i)) {
            Some(("yes", _)) => ProtectedAction::Yes,
            Some(("local", _)) => ProtectedAction::Local,
            _ => ProtectedAction::No,
        }
    }

    /// Absolute path of the config file, as Redis stores it; `None` when
    /// started without one (or from stdin only).
    pub fn config_file(&self) -> Option<&str> {
        self.config_file.as_deref()
    }

    pub fn port(&self) -> u16 {
        u16::try_from(self.number(ids::PORT)).unwrap_or(6379)
    }

    /// Addresses to listen on; empty means TCP is disabled.
    pub fn bind(&self) -> &[String] {
        match self.values.get(ids::BIND) {
            Some(Value::Bind(addrs)) => addrs,
            _ => &[],
        }
    }

    pub fn unixsocket(&self) -> Option<&str> {
        self.text(ids::UNIXSOCKET)
    }

    pub fn unixsocketperm(&self) -> u32 {
        u32::try_from(self.number(ids::UNIXSOCKETPERM)).unwrap_or(0)
    }

    pub fn tcp_backlog(&self) -> i32 {
        i32::try_from(self.number(ids::TCP_BACKLOG)).unwrap_or(511)
    }

    /// Client idle timeout in seconds; 0 disables it.
    pub fn timeout(&self) -> u32 {
        u32::try_from(self.number(ids::TIMEOUT)).unwrap_or(0)
    }

    pub fn tcp_keepalive(&self) -> i64 {
        self.number(ids::TCP_KEEPALIVE)
    }

    pub fn protected_mode(&self) -> bool {
        self.flag(ids::PROTECTED_MODE)
    }

    /// The default user's password, binary safe; `None` when unset or "".
    pub fn requirepass(&self) -> Option<&[u8]> {
        self.bytes(ids::REQUIREPASS)
    }

    pub fn masterauth(&self) -> Option<&[u8]> {
        self.bytes(ids::MASTERAUTH)
    }

    pub fn masteruser(&self) -> Option<&str> {
        self.text(ids::MASTERUSER)
    }

    pub fn databases(&self) -> usize {
        usize::try_from(self.number(ids::DATABASES)).unwrap_or(16)
    }

    pub fn loglevel(&self) -> LogLevel {
        match self.choice(ids::LOGLEVEL) {
            0 => LogLevel::Debug,
            1 => LogLevel::Verbose,
            3 => LogLevel::Warning,
            _ => LogLevel::Notice,
        }
    }

    /// Log file path; "" means standard output.
    pub fn logfile(&self) -> &str {
        self.text(ids::LOGFILE).unwrap_or("")
    }

    pub fn pidfile(&self) -> Option<&str> {
        self.text(ids::PIDFILE)
    }

    pub fn daemonize(&self) -> bool {
        self.flag(ids::DAEMONIZE)
    }

    /// Already clamped to 1..=500 like Redis does.
    pub fn hz(&self) -> u32 {
        u32::try_from(self.number(ids::HZ)).unwrap_or(10)
    }

    /// Seconds a shutdown waits for lagging replicas (0: never waits).
    pub fn shutdown_timeout(&self) -> u64 {
        u64::try_from(self.number(ids::SHUTDOWN_TIMEOUT)).unwrap_or(0)
    }

    /// The SHUTDOWN flags a signal implies (`shutdown-on-sigint` / `shutdown-on-sigterm`).
    pub fn shutdown_on_signal(&self, sigint: bool) -> crate::server::shutdown::ShutdownFlags {
        let bits = self.choice(if sigint { ids::SHUTDOWN_ON_SIGINT } else { ids::SHUTDOWN_ON_SIGTERM });
        crate::server::shutdown::ShutdownFlags::from_bits(bits)
    }

    pub fn dynamic_hz(&self) -> bool {
        self.flag(ids::DYNAMIC_HZ)
    }

    pub fn maxclients(&self) -> u32 {
        u32::try_from(self.number(ids::MAXCLIENTS)).unwrap_or(10000)
    }

    pub fn proto_max_bulk_len(&self) -> i64 {
        self.number(ids::PROTO_MAX_BULK_LEN)
    }

    pub fn client_query_buffer_limit(&self) -> u64 {
        u64::try_from(self.number(ids::CLIENT_QUERY_BUFFER_LIMIT)).unwrap_or(1 << 30)
    }

    pub fn enable_debug_command(&self) -> ProtectedAction {
        self.protected_action(ids::ENABLE_DEBUG_COMMAND)
    }

    pub fn enable_protected_configs(&self) -> ProtectedAction {
        self.protected_action(ids::ENABLE_PROTECTED_CONFIGS)
    }

    pub fn enable_module_command(&self) -> ProtectedAction {
        self.protected_action(ids::ENABLE_MODULE_COMMAND)
    }

    pub fn always_show_logo(&self) -> bool {
        self.flag(ids::ALWAYS_SHOW_LOGO)
    }

    /// The working directory, which is what `dir` is in Redis ("" if unreadable).
    pub fn dir(&self) -> String {
        std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default()
    }

    pub fn dbfilename(&self) -> &str {
        self.text(ids::DBFILENAME).unwrap_or("dump.rdb")
    }

    /// `(seconds, changes)` pairs; empty disables automatic snapshots.
    pub fn save_points(&self) -> &[(u64, u64)] {
        match self.values.get(ids::SAVE) {
            Some(Value::Save(points)) => points,
            _ => &[],
        }
    }

    pub fn appendonly(&self) -> bool {
        self.flag(ids::APPENDONLY)
    }

    pub fn appendfilename(&self) -> &str {
        self.text(ids::APPENDFILENAME).unwrap_or("appendonly.aof")
    }

    pub fn appenddirname(&self) -> &str {
        self.text(ids::APPENDDIRNAME).unwrap_or("appendonlydir")
    }

    pub fn appendfsync(&self) -> AppendFsync {
        match self.choice(ids::APPENDFSYNC) {
            0 => AppendFsync::No,
            1 => AppendFsync::Always,
            _ => AppendFsync::Everysec,
        }
    }

    pub fn no_appendfsync_on_rewrite(&self) -> bool {
        self.flag(ids::NO_APPENDFSYNC_ON_REWRITE)
    }

    pub fn aof_load_truncated(&self) -> bool {
        self.flag(ids::AOF_LOAD_TRUNCATED)
    }

    pub fn aof_use_rdb_preamble(&self) -> bool {
        self.flag(ids::AOF_USE_RDB_PREAMBLE)
    }

    /// Dumps are pushed to disk every 4 MiB while they are written.
    pub fn rdb_save_incremental_fsync(&self) -> bool {
        self.flag(ids::RDB_SAVE_INCREMENTAL_FSYNC)
    }

    /// AOF rewrites are pushed to disk every 4 MiB while they are written.
    pub fn aof_rewrite_incremental_fsync(&self) -> bool {
        self.flag(ids::AOF_REWRITE_INCREMENTAL_FSYNC)
    }

    pub fn aof_timestamp_enabled(&self) -> bool {
        self.flag(ids::AOF_TIMESTAMP_ENABLED)
    }

    pub fn aof_disable_auto_gc(&self) -> bool {
        self.flag(ids::AOF_DISABLE_AUTO_GC)
    }

    pub fn auto_aof_rewrite_percentage(&self) -> i64 {
        self.number(ids::AUTO_AOF_REWRITE_PERCENTAGE)
    }

    pub fn auto_aof_rewrite_min_size(&self) -> u64 {
        self.number(ids::AUTO_AOF_REWRITE_MIN_SIZE).max(0) as u64
    }

    pub fn rdbcompression(&self) -> bool {
        self.flag(ids::RDBCOMPRESSION)
    }

    pub fn rdbchecksum(&self) -> bool {
        self.flag(ids::RDBCHECKSUM)
    }

    pub fn rdb_key_save_delay(&self) -> i64 {
        self.number(ids::RDB_KEY_SAVE_DELAY)
    }

    pub fn stop_writes_on_bgsave_error(&self) -> bool {
        self.flag(ids::STOP_WRITES_ON_BGSAVE_ERROR)
    }

    /// REPLICAOF at run time (the directive is otherwise immutable).
    pub fn set_replicaof(&mut self, master: Option<(String, u16)>) {
        self.values[ids::REPLICAOF] = Value::ReplicaOf(master);
    }

    pub fn replica_priority(&self) -> i64 {
        self.number(ids::REPLICA_PRIORITY)
    }

    pub fn replica_announced(&self) -> bool {
        self.flag(ids::REPLICA_ANNOUNCED)
    }

    pub fn replica_announce_port(&self) -> Option<u16> {
        u16::try_from(self.number(ids::REPLICA_ANNOUNCE_PORT)).ok().filter(|&p| p != 0)
    }

    /// Master to replicate from (`replicaof`/`slaveof`), if any.
    pub fn replicaof(&self) -> Option<(&str, u16)> {
        match self.values.get(ids::REPLICAOF) {
            Some(Value::ReplicaOf(Some((host, port)))) => Some((host.as_str(), *port)),
            _ => None,
        }
    }

    pub fn replica_read_only(&self) -> bool {
        self.flag(ids::REPLICA_READ_ONLY)
    }

    pub fn replica_serve_stale_data(&self) -> bool {
        self.flag(ids::REPLICA_SERVE_STALE_DATA)
    }

    pub fn repl_backlog_size(&self) -> u64 {
        u64::try_from(self.number(ids::REPL_BACKLOG_SIZE)).unwrap_or(1 << 20)
    }

    /// Full syncs stream the RDB to replica sockets instead of writing a dump first.
    pub fn repl_diskless_sync(&self) -> bool {
        self.flag(ids::REPL_DISKLESS_SYNC)
    }

    /// How a replica loads its master's RDB: 0 disabled (via a file), 1 on-empty-db, 2 swapdb.
    pub fn repl_diskless_load(&self) -> i32 {
        self.choice(ids::REPL_DISKLESS_LOAD)
    }

    /// Seconds a diskless sync waits for more replicas to join it.
    pub fn repl_diskless_sync_delay(&self) -> u64 {
        u64::try_from(self.number(ids::REPL_DISKLESS_SYNC_DELAY)).unwrap_or(5)
    }

    /// Start a diskless sync at once when this many replicas wait (0: only the delay counts).
    pub fn repl_diskless_sync_max_replicas(&self) -> u64 {
        u64::try_from(self.number(ids::REPL_DISKLESS_SYNC_MAX_REPLICAS)).unwrap_or(0)
    }

    /// Seconds a master without replicas keeps its backlog (0: forever).
    pub fn repl_backlog_ttl(&self) -> u64 {
        u64::try_from(self.number(ids::REPL_BACKLOG_TTL)).unwrap_or(3600)
    }

    pub fn repl_ping_replica_period(&self) -> u64 {
        self.number(ids::REPL_PING_REPLICA_PERIOD).max(1) as u64
    }

    pub fn replica_announce_ip(&self) -> Option<&str> {
        self.text(ids::REPLICA_ANNOUNCE_IP).filter(|s| !s.is_empty())
    }

    pub fn repl_timeout(&self) -> u32 {
        u32::try_from(self.number(ids::REPL_TIMEOUT)).unwrap_or(60)
    }

    /// Bit set of [`notify`] classes.
    pub fn notify_keyspace_events(&self) -> u32 {
        match self.values.get(ids::NOTIFY_KEYSPACE_EVENTS) {
            Some(Value::Notify(flags)) => *flags,
            _ => 0,
        }
    }

    /// Microseconds; negative disables the slow log.
    pub fn slowlog_log_slower_than(&self) -> i64 {
        self.number(ids::SLOWLOG_LOG_SLOWER_THAN)
    }

    pub fn slowlog_max_len(&self) -> u64 {
        u64::try_from(self.number(ids::SLOWLOG_MAX_LEN)).unwrap_or(128)
    }

    pub fn latency_monitor_threshold(&self) -> u64 {
        u64::try_from(self.number(ids::LATENCY_MONITOR_THRESHOLD)).unwrap_or(0)
    }

    /// Bytes; 0 means no limit.
    pub fn maxmemory(&self) -> u64 {
        self.number(ids::MAXMEMORY) as u64
    }

    /// The policy's name as CONFIG GET prints it (e.g. "allkeys-lfu").
    pub fn maxmemory_policy(&self) -> &'static str {
        let v = self.choice(ids::MAXMEMORY_POLICY);
        table::MAXMEMORY_POLICY.iter().find(|(_, p)| *p == v).map_or("noeviction", |(name, _)| name)
    }

    /// How objects' access clocks are read: LFU under the two LFU policies, LRU otherwise.
    pub fn access_policy(&self) -> crate::db::access_clock::AccessPolicy {
        use crate::db::access_clock::{AccessPolicy, Lfu};
        if self.maxmemory_policy().ends_with("-lfu") {
            AccessPolicy::Lfu(Lfu {
                log_factor: u32::try_from(self.number(ids::LFU_LOG_FACTOR)).unwrap_or(10),
                decay_time: u32::try_from(self.number(ids::LFU_DECAY_TIME)).unwrap_or(1),
            })
        } else {
            AccessPolicy::Lru
        }
    }

    pub fn maxmemory_samples(&self) -> usize {
        self.number(ids::MAXMEMORY_SAMPLES).max(1) as usize
    }

    pub fn lazyfree_lazy_user_del(&self) -> bool {
        self.flag(ids::LAZYFREE_LAZY_USER_DEL)
    }

    pub fn lazyfree_lazy_user_flush(&self) -> bool {
        self.flag(ids::LAZYFREE_LAZY_USER_FLUSH)
    }

    pub fn lazyfree_lazy_eviction(&self) -> bool {
        self.flag(ids::LAZYFREE_LAZY_EVICTION)
    }

    /// Lua's setfenv, getfenv and newproxy stay available to scripts (they can escape the
    /// sandbox, so Redis hides them unless asked).
    pub fn lua_enable_deprecated_api(&self) -> bool {
        self.flag(ids::LUA_ENABLE_DEPRECATED_API)
    }

    pub fn lazyfree_lazy_expire(&self) -> bool {
        self.flag(ids::LAZYFREE_LAZY_EXPIRE)
    }

    pub fn lazyfree_lazy_server_del(&self) -> bool {
        self.flag(ids::LAZYFREE_LAZY_SERVER_DEL)
    }

    pub fn active_expire_effort(&self) -> u32 {
        u32::try_from(self.number(ids::ACTIVE_EXPIRE_EFFORT)).unwrap_or(1)
    }

    pub fn list_max_listpack_size(&self) -> i32 {
        i32::try_from(self.number(ids::LIST_MAX_LISTPACK_SIZE)).unwrap_or(-2)
    }

    /// How big a stream node may grow (`stream-node-max-bytes`, `stream-node-max-entries`).
    pub fn stream_node_limits(&self) -> crate::db::stream::NodeLimits {
        crate::db::stream::NodeLimits {
            max_bytes: usize::try_from(self.number(ids::STREAM_NODE_MAX_BYTES)).unwrap_or(4096),
            max_entries: self.number(ids::STREAM_NODE_MAX_ENTRIES),
        }
    }

    pub fn hash_max_listpack_entries(&self) -> usize {
        usize::try_from(self.number(ids::HASH_MAX_LISTPACK_ENTRIES)).unwrap_or(512)
    }

    pub fn hash_max_listpack_value(&self) -> usize {
        usize::try_from(self.number(ids::HASH_MAX_LISTPACK_VALUE)).unwrap_or(64)
    }

    pub fn set_max_intset_entries(&self) -> usize {
        usize::try_from(self.number(ids::SET_MAX_INTSET_ENTRIES)).unwrap_or(512)
    }

    /// `key-load-delay`: microseconds a load waits after each key (a testing knob that makes loading
    /// slow on purpose).
    pub fn key_load_delay(&self) -> i64 {
        self.number(ids::KEY_LOAD_DELAY)
    }

    /// How many bytes a long load reads between two turns of the event loop.
    pub fn loading_process_events_interval_bytes(&self) -> i64 {
        self.number(ids::LOADING_PROCESS_EVENTS_INTERVAL_BYTES)
    }

    /// Largest sparse HyperLogLog (header included) before it turns dense.
    /// Keys the tracking table may hold before random ones are invalidated (0: no limit).
    pub fn tracking_table_max_keys(&self) -> usize {
        usize::try_from(self.number(ids::TRACKING_TABLE_MAX_KEYS)).unwrap_or(usize::MAX)
    }

    pub fn hll_sparse_max_bytes(&self) -> usize {
        usize::try_from(self.number(ids::HLL_SPARSE_MAX_BYTES)).unwrap_or(3000)
    }

    pub fn zset_max_listpack_entries(&self) -> usize {
        usize::try_from(self.number(ids::ZSET_MAX_LISTPACK_ENTRIES)).unwrap_or(128)
    }

    pub fn zset_max_listpack_value(&self) -> usize {
        usize::try_from(self.number(ids::ZSET_MAX_LISTPACK_VALUE)).unwrap_or(64)
    }

    pub fn min_replicas_to_write(&self) -> u64 {
        u64::try_from(self.number(ids::MIN_REPLICAS_TO_WRITE)).unwrap_or(0)
    }

    /// Milliseconds a script may run before it counts as slow (`busy-reply-threshold`,
    /// `lua-time-limit`); 0 = never.
    pub fn busy_reply_threshold(&self) -> u64 {
        u64::try_from(self.number(ids::BUSY_REPLY_THRESHOLD)).unwrap_or(5000)
    }

    pub fn min_replicas_max_lag(&self) -> u64 {
        u64::try_from(self.number(ids::MIN_REPLICAS_MAX_LAG)).unwrap_or(0)
    }

    pub fn latency_tracking(&self) -> bool {
        self.flag(ids::LATENCY_TRACKING)
    }

    /// The percentiles INFO latencystats reports (`latency-tracking-info-percentiles`).
    pub fn latency_tracking_info_percentiles(&self) -> &[f64] {
        match self.values.get(ids::LATENCY_TRACKING_INFO_PERCENTILES) {
            Some(Value::Percentiles(p)) => p,
            _ => &[50.0, 99.0, 99.9],
        }
    }

    pub fn client_output_buffer_limits(&self) -> [ObufLimit; 3] {
        match self.values.get(ids::CLIENT_OUTPUT_BUFFER_LIMIT) {
            Some(Value::Obuf(limits)) => *limits,
            _ => special::OBUF_DEFAULTS,
        }
    }

    pub fn client_output_buffer_limit(&self, class: ClientClass) -> ObufLimit {
        self.client_output_buffer_limits()[class as usize]
    }

    pub fn crash_log_enabled(&self) -> bool {
        self.flag(ids::CRASH_LOG_ENABLED)
    }

    pub fn supervised(&self) -> Supervised {
        match self.choice(ids::SUPERVISED) {
            1 => Supervised::Auto,
            2 => Supervised::Systemd,
            3 => Supervised::Upstart,
            _ => Supervised::No,
        }
    }

    pub fn proc_title_template(&self) -> &[u8] {
        self.text(ids::PROC_TITLE_TEMPLATE).map_or(b"{title} {listen-addr} {server-mode}".as_slice(), str::as_bytes)
    }

    pub fn set_proc_title(&self) -> bool {
        self.flag(ids::SET_PROC_TITLE)
    }

    pub fn cluster_enabled(&self) -> bool {
        self.flag(ids::CLUSTER_ENABLED)
    }

    fn aclfile(&self) -> &[u8] {
        self.bytes(ids::ACLFILE).unwrap_or_default()
    }

    /// The ACL file users are loaded from and saved to (`aclfile`), when set.
    pub fn acl_filename(&self) -> Option<&str> {
        self.text(ids::ACLFILE).filter(|f| !f.is_empty())
    }

    /// `acl-pubsub-default allchannels`: new users and selectors may use every channel.
    pub fn acl_pubsub_default_all(&self) -> bool {
        self.choice(ids::ACL_PUBSUB_DEFAULT) != 0
    }

    /// How many entries ACL LOG keeps.
    pub fn acllog_max_len(&self) -> usize {
        usize::try_from(self.number(ids::ACLLOG_MAX_LEN)).unwrap_or(128)
    }

    /// `rename-command` lines, for the command table to apply (and to
    /// report "No such command in rename-command" through [`Directive::error`]).
    pub fn rename_commands(&self) -> &[Directive] {
        &self.renames
    }

    /// `user` lines, for the ACL subsystem.
    pub fn user_directives(&self) -> &[Directive] {
        &self.users
    }

    /// `loadmodule` lines. ferrodis loads no modules.
    pub fn loadmodules(&self) -> &[Directive] {
        &self.modules
    }

    /// `module.name value` lines. Redis aborts at startup when no loaded
    /// module claims them ("Module Configuration detected without loadmodule
    /// directive or no ApplyConfig call: aborting").
    pub fn module_configs(&self) -> &[(String, Vec<u8>)] {
        &self.module_configs
    }

    /// Directives the config text set that ferrodis stores but does not act
    /// on (canonical names, once each, in first-seen order), for a single
    /// startup log line.
    pub fn unsupported(&self) -> Vec<&'static str> {
        self.mentioned
            .iter()
            .copied()
            .filter(|name| match table::lookup(name.as_bytes()) {
                Some(found) => TABLE[found.index].has(table::NOT_ACTED),
                None => table::FILE_ONLY_DIRECTIVES.iter().any(|(n, acted)| n == name && !acted),
            })
            .collect()
    }

    fn note_mentioned(&mut self, name: &'static str) {
        if !self.mentioned.contains(&name) {
            self.mentioned.push(name);
        }
    }
}

/// Whether `name` (or its alias) is a secret such as `requirepass`, whose values SLOWLOG and
/// MONITOR redact.
pub fn is_sensitive(name: &[u8]) -> bool {
    table::lookup(name).is_some_and(|found| TABLE[found.index].has(table::SENSITIVE))
}

/// The reply Redis gives when applying a CONFIG SET change failed in the
/// server (e.g. "Unable to listen on this port. Check server logs.").
pub fn config_set_error(arg_name: &str, reason: &str) -> String {
    runtime::sanitize_error(&format!("ERR CONFIG SET failed (possibly related to argument '{arg_name}') - {reason}"))
}
