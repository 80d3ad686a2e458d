//! The static table of every directive Redis 7.0.15 knows (standardConfig in
//! config.c, TLS ones included as in a TLS-enabled build): names, aliases,
//! types, defaults, bounds, flags and enum values, plus name lookup.
//!
//! This file is data. It must never hold runtime state or parse values; the
//! `NOT_ACTED` flag is the one place that says which directives ferrodis only
//! stores, so flipping one is a one-word change on its row.

/// CONFIG SET refuses it after startup.
pub(crate) const IMMUTABLE: u16 = 1 << 0;
/// Holds a secret (Redis redacts it from logs and MONITOR).
pub(crate) const SENSITIVE: u16 = 1 << 1;
/// Listed by DEBUG CONFIG-DEBUG-INFO.
pub(crate) const DEBUG: u16 = 1 << 2;
/// Takes several arguments (space-separated in CONFIG SET).
pub(crate) const MULTI_ARG: u16 = 1 << 3;
/// Only returned by CONFIG GET when asked for by exact name.
pub(crate) const HIDDEN: u16 = 1 << 4;
/// Immutable unless `enable-protected-configs` allows the client.
pub(crate) const PROTECTED: u16 = 1 << 5;
/// CONFIG SET refuses it while a dataset is loading.
pub(crate) const DENY_LOADING: u16 = 1 << 6;
/// Setting it always counts as a change, even to the same value.
pub(crate) const VOLATILE: u16 = 1 << 7;
/// Accepted and stored, but ferrodis does not act on it.
pub(crate) const NOT_ACTED: u16 = 1 << 8;

const NA: u16 = NOT_ACTED;

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
/// `ULLONG_MAX` as the C table stores it in a `long long` bound.
const ULLONG_MAX: i64 = -1;
const MB: i64 = 1024 * 1024;

/// How a numeric directive is parsed and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumFmt {
    Int,
    Memory,
    Octal,
    /// A memory amount or `N%`, the latter stored as `-N`.
    MemoryOrPercent,
}

/// Extra validation for string directives, as Redis's `is_valid_fn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrCheck {
    None,
    DbFilename,
    AofFilename,
    AofDirname,
    Hostname,
    ProcTitleTemplate,
}

/// Directives whose value lives in a dedicated representation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Bool {
        default: bool,
        /// Only `activedefrag`: refused because ferrodis has no defragmenter.
        refuse_yes: bool,
    },
    Str {
        default: Option<&'static str>,
        /// An empty value means "unset" (NULL in Redis).
        empty_is_null: bool,
        /// Binary-safe (sds) rather than a C string cut at the first NUL.
        binary: bool,
        check: StrCheck,
    },
    Enum {
        values: &'static [(&'static str, i32)],
        default: i32,
        /// Only the shutdown-on-sig* pair: SAVE and NOSAVE are exclusive.
        shutdown_flags: bool,
    },
    Num {
        min: i64,
        max: i64,
        default: i64,
        /// Bounds are compared as unsigned (C unsigned/size_t/ull storage).
        unsigned: bool,
        fmt: NumFmt,
    },
    Special(Special),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u16,
    pub kind: Kind,
}

impl Spec {
    pub(crate) fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

const fn row(name: &'static str, alias: Option<&'static str>, flags: u16, kind: Kind) -> Spec {
    Spec { name, alias, flags, kind }
}

const fn yes_no(default: bool) -> Kind {
    Kind::Bool { default, refuse_yes: false }
}

/// A C-string directive (cut at the first NUL, like Redis's `char *` ones).
const fn c_str(empty_is_null: bool, default: Option<&'static str>, check: StrCheck) -> Kind {
    Kind::Str { default, empty_is_null, binary: false, check }
}

const fn choice(values: &'static [(&'static str, i32)], default: i32) -> Kind {
    Kind::Enum { values, default, shutdown_flags: false }
}

/// Signed storage (int, long, long long, ssize_t, time_t, off_t).
const fn signed(min: i64, max: i64, default: i64) -> Kind {
    Kind::Num { min, max, default, unsigned: false, fmt: NumFmt::Int }
}

/// Unsigned storage (unsigned int, size_t): bounds compare as unsigned.
const fn unsigned(min: i64, max: i64, default: i64) -> Kind {
    Kind::Num { min, max, default, unsigned: true, fmt: NumFmt::Int }
}

const fn special(which: Special) -> Kind {
    Kind::Special(which)
}

const fn mem(min: i64, max: i64, default: i64, unsigned: bool) -> Kind {
    Kind::Num { min, max, default, unsigned, fmt: NumFmt::Memory }
}

/// `masterauth` and `requirepass`: binary-safe sds strings, "" means unset.
const SECRET: Kind = Kind::Str { default: None, empty_is_null: true, binary: true, check: StrCheck::None };
const SHUTDOWN_FLAGS: Kind = Kind::Enum { values: SHUTDOWN_ON_SIG, default: 0, shutdown_flags: true };
const ACTIVEDEFRAG: Kind = Kind::Bool { default: false, refuse_yes: true };
const PROC_TITLE: Kind = c_str(false, Some("{title} {listen-addr} {server-mode}"), StrCheck::ProcTitleTemplate);
const UNIXSOCKETPERM: Kind = Kind::Num { min: 0, max: 0o777, default: 0, unsigned: true, fmt: NumFmt::Octal };
const MAXMEMORY_CLIENTS: Kind =
    Kind::Num { min: -100, max: LONG_MAX, default: 0, unsigned: false, fmt: NumFmt::MemoryOrPercent };

pub(crate) const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 1),
    ("volatile-lfu", (1 << 8) | 2),
    ("volatile-random", 3 << 8),
    ("volatile-ttl", 2 << 8),
    ("allkeys-lru", (4 << 8) | 1 | 4),
    ("allkeys-lfu", (5 << 8) | 2 | 4),
    ("allkeys-random", (6 << 8) | 4),
    ("noeviction", 7 << 8),
];
pub(crate) const MAXMEMORY_NOEVICTION: i32 = 7 << 8;

const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 1 << 3),
    ("local0", 16 << 3),
    ("local1", 17 << 3),
    ("local2", 18 << 3),
    ("local3", 19 << 3),
    ("local4", 20 << 3),
    ("local5", 21 << 3),
    ("local6", 22 << 3),
    ("local7", 23 << 3),
];

pub(crate) const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];

pub(crate) const SUPERVISED: &[(&str, i32)] = &[("upstart", 3), ("systemd", 2), ("auto", 1), ("no", 0)];

pub(crate) const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 2), ("always", 1), ("no", 0)];

const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];
pub(crate) const SHUTDOWN_SAVE: i32 = 1;
pub(crate) const SHUTDOWN_NOSAVE: i32 = 2;

const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];

const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];

const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];

const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1 << 3), ("resetchannels", 0)];

const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];

pub(crate) const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];

const CLUSTER_ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];

const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

/// Every directive, in config.c's order. Aliases are the old names Redis
/// still accepts (and reports in CONFIG GET).
#[rustfmt::skip]
pub(crate) const TABLE: &[Spec] = &[
    // Bool configs
    row("rdbchecksum", None, IMMUTABLE, yes_no(true)),
    row("daemonize", None, IMMUTABLE, yes_no(false)),
    row("io-threads-do-reads", None, DEBUG | IMMUTABLE | NA, yes_no(false)),
    row("always-show-logo", None, IMMUTABLE, yes_no(false)),
    row("protected-mode", None, 0, yes_no(true)),
    row("rdbcompression", None, 0, yes_no(true)),
    row("rdb-del-sync-files", None, NA, yes_no(false)),
    row("activerehashing", None, NA, yes_no(true)),
    row("stop-writes-on-bgsave-error", None, 0, yes_no(true)),
    row("set-proc-title", None, IMMUTABLE, yes_no(true)),
    row("dynamic-hz", None, 0, yes_no(true)),
    row("lazyfree-lazy-eviction", None, DEBUG, yes_no(false)),
    row("lazyfree-lazy-expire", None, DEBUG, yes_no(false)),
    row("lazyfree-lazy-server-del", None, DEBUG, yes_no(false)),
    row("lazyfree-lazy-user-del", None, DEBUG, yes_no(false)),
    row("lazyfree-lazy-user-flush", None, DEBUG, yes_no(false)),
    row("repl-disable-tcp-nodelay", None, NA, yes_no(false)),
    row("repl-diskless-sync", None, DEBUG, yes_no(true)),
    row("aof-rewrite-incremental-fsync", None, 0, yes_no(true)),
    row("no-appendfsync-on-rewrite", None, 0, yes_no(false)),
    row("cluster-require-full-coverage", None, NA, yes_no(true)),
    row("rdb-save-incremental-fsync", None, 0, yes_no(true)),
    row("aof-load-truncated", None, 0, yes_no(true)),
    row("aof-use-rdb-preamble", None, 0, yes_no(true)),
    row("aof-timestamp-enabled", None, 0, yes_no(false)),
    row("cluster-replica-no-failover", Some("cluster-slave-no-failover"), NA, yes_no(false)),
    row("replica-lazy-flush", Some("slave-lazy-flush"), NA, yes_no(false)),
    row("replica-serve-stale-data", Some("slave-serve-stale-data"), 0, yes_no(true)),
    row("replica-read-only", Some("slave-read-only"), DEBUG, yes_no(true)),
    row("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), NA, yes_no(true)),
    row("jemalloc-bg-thread", None, NA, yes_no(true)),
    row("activedefrag", None, DEBUG | NA, ACTIVEDEFRAG),
    row("syslog-enabled", None, IMMUTABLE | NA, yes_no(false)),
    row("cluster-enabled", None, IMMUTABLE | NA, yes_no(false)),
    row("appendonly", None, DENY_LOADING, yes_no(false)),
    row("cluster-allow-reads-when-down", None, NA, yes_no(false)),
    row("cluster-allow-pubsubshard-when-down", None, NA, yes_no(true)),
    row("crash-log-enabled", None, 0, yes_no(true)),
    row("crash-memcheck-enabled", None, NA, yes_no(true)),
    row("use-exit-on-panic", None, HIDDEN | NA, yes_no(false)),
    row("disable-thp", None, IMMUTABLE | NA, yes_no(true)),
    row("cluster-allow-replica-migration", None, NA, yes_no(true)),
    row("replica-announced", None, 0, yes_no(true)),
    row("latency-tracking", None, 0, yes_no(true)),
    row("aof-disable-auto-gc", None, 0, yes_no(false)),
    row("replica-ignore-disk-write-errors", None, NA, yes_no(false)),
    // String configs
    row("aclfile", None, IMMUTABLE, c_str(false, Some(""), StrCheck::None)),
    row("unixsocket", None, IMMUTABLE, c_str(true, None, StrCheck::None)),
    row("pidfile", None, IMMUTABLE, c_str(true, None, StrCheck::None)),
    row("replica-announce-ip", Some("slave-announce-ip"), 0, c_str(true, None, StrCheck::None)),
    row("masteruser", None, SENSITIVE, c_str(true, None, StrCheck::None)),
    row("cluster-announce-ip", None, NA, c_str(true, None, StrCheck::None)),
    row("cluster-config-file", None, IMMUTABLE | NA, c_str(false, Some("nodes.conf"), StrCheck::None)),
    row("cluster-announce-hostname", None, NA, c_str(true, None, StrCheck::Hostname)),
    row("syslog-ident", None, IMMUTABLE | NA, c_str(false, Some("redis"), StrCheck::None)),
    row("dbfilename", None, PROTECTED, c_str(false, Some("dump.rdb"), StrCheck::DbFilename)),
    row("appendfilename", None, IMMUTABLE, c_str(false, Some("appendonly.aof"), StrCheck::AofFilename)),
    row("appenddirname", None, IMMUTABLE, c_str(false, Some("appendonlydir"), StrCheck::AofDirname)),
    row("server_cpulist", None, IMMUTABLE | NA, c_str(true, None, StrCheck::None)),
    row("bio_cpulist", None, IMMUTABLE | NA, c_str(true, None, StrCheck::None)),
    row("aof_rewrite_cpulist", None, IMMUTABLE | NA, c_str(true, None, StrCheck::None)),
    row("bgsave_cpulist", None, IMMUTABLE | NA, c_str(true, None, StrCheck::None)),
    row("ignore-warnings", None, NA, c_str(false, Some(""), StrCheck::None)),
    row("proc-title-template", None, 0, PROC_TITLE),
    row("bind-source-addr", None, NA, c_str(true, None, StrCheck::None)),
    row("logfile", None, IMMUTABLE, c_str(false, Some(""), StrCheck::None)),
    // SDS configs
    row("masterauth", None, SENSITIVE, SECRET),
    row("requirepass", None, SENSITIVE, SECRET),
    // Enum configs
    row("supervised", None, IMMUTABLE, choice(SUPERVISED, 0)),
    row("syslog-facility", None, IMMUTABLE | NA, choice(SYSLOG_FACILITY, 16 << 3)),
    row("repl-diskless-load", None, DEBUG | DENY_LOADING, choice(REPL_DISKLESS_LOAD, 0)),
    row("loglevel", None, 0, choice(LOGLEVEL, 2)),
    row("maxmemory-policy", None, 0, choice(MAXMEMORY_POLICY, MAXMEMORY_NOEVICTION)),
    row("appendfsync", None, 0, choice(APPENDFSYNC, 2)),
    row("oom-score-adj", None, NA, choice(OOM_SCORE_ADJ, 0)),
    row("acl-pubsub-default", None, 0, choice(ACL_PUBSUB_DEFAULT, 0)),
    row("sanitize-dump-payload", None, DEBUG | NA, choice(SANITIZE_DUMP_PAYLOAD, 0)),
    row("enable-protected-configs", None, IMMUTABLE, choice(PROTECTED_ACTION, 0)),
    row("enable-debug-command", None, IMMUTABLE, choice(PROTECTED_ACTION, 0)),
    row("enable-module-command", None, IMMUTABLE, choice(PROTECTED_ACTION, 0)),
    row("cluster-preferred-endpoint-type", None, NA, choice(CLUSTER_ENDPOINT_TYPE, 0)),
    row("propagation-error-behavior", None, NA, choice(PROPAGATION_ERROR_BEHAVIOR, 0)),
    row("shutdown-on-sigint", None, MULTI_ARG, SHUTDOWN_FLAGS),
    row("shutdown-on-sigterm", None, MULTI_ARG, SHUTDOWN_FLAGS),
    // Integer configs
    row("databases", None, IMMUTABLE, signed(1, INT_MAX, 16)),
    row("port", None, 0, signed(0, 65535, 6379)),
    row("io-threads", None, DEBUG | IMMUTABLE | NA, signed(1, 128, 1)),
    row("auto-aof-rewrite-percentage", None, 0, signed(0, INT_MAX, 100)),
    row("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), NA, signed(0, INT_MAX, 10)),
    row("list-max-listpack-size", Some("list-max-ziplist-size"), 0, signed(INT_MIN, INT_MAX, -2)),
    row("tcp-keepalive", None, 0, signed(0, INT_MAX, 300)),
    row("cluster-migration-barrier", None, NA, signed(0, INT_MAX, 1)),
    row("active-defrag-cycle-min", None, NA, signed(1, 99, 1)),
    row("active-defrag-cycle-max", None, NA, signed(1, 99, 25)),
    row("active-defrag-threshold-lower", None, NA, signed(0, 1000, 10)),
    row("active-defrag-threshold-upper", None, NA, signed(0, 1000, 100)),
    row("lfu-log-factor", None, 0, signed(0, INT_MAX, 10)),
    row("lfu-decay-time", None, 0, signed(0, INT_MAX, 1)),
    row("replica-priority", Some("slave-priority"), 0, signed(0, INT_MAX, 100)),
    row("repl-diskless-sync-delay", None, 0, signed(0, INT_MAX, 5)),
    row("maxmemory-samples", None, 0, signed(1, INT_MAX, 5)),
    row("maxmemory-eviction-tenacity", None, NA, signed(0, 100, 10)),
    row("timeout", None, 0, signed(0, INT_MAX, 0)),
    row("replica-announce-port", Some("slave-announce-port"), 0, signed(0, 65535, 0)),
    row("tcp-backlog", None, IMMUTABLE, signed(0, INT_MAX, 511)),
    row("cluster-port", None, IMMUTABLE | NA, signed(0, 65535, 0)),
    row("cluster-announce-bus-port", None, NA, signed(0, 65535, 0)),
    row("cluster-announce-port", None, NA, signed(0, 65535, 0)),
    row("cluster-announce-tls-port", None, NA, signed(0, 65535, 0)),
    row("repl-timeout", None, 0, signed(1, INT_MAX, 60)),
    row("repl-ping-replica-period", Some("repl-ping-slave-period"), 0, signed(1, INT_MAX, 10)),
    row("list-compress-depth", None, DEBUG | NA, signed(0, INT_MAX, 0)),
    row("rdb-key-save-delay", None, HIDDEN, signed(INT_MIN, INT_MAX, 0)),
    row("key-load-delay", None, HIDDEN, signed(INT_MIN, INT_MAX, 0)),
    row("active-expire-effort", None, 0, signed(1, 10, 1)),
    row("hz", None, 0, signed(0, INT_MAX, 10)),
    row("min-replicas-to-write", Some("min-slaves-to-write"), 0, signed(0, INT_MAX, 0)),
    row("min-replicas-max-lag", Some("min-slaves-max-lag"), 0, signed(0, INT_MAX, 10)),
    row("watchdog-period", None, HIDDEN | NA, signed(0, INT_MAX, 0)),
    row("shutdown-timeout", None, 0, signed(0, INT_MAX, 10)),
    row("repl-diskless-sync-max-replicas", None, 0, signed(0, INT_MAX, 0)),
    // Unsigned int configs
    row("maxclients", None, 0, unsigned(1, UINT_MAX, 10000)),
    row("unixsocketperm", None, IMMUTABLE, UNIXSOCKETPERM),
    row("socket-mark-id", None, IMMUTABLE | NA, unsigned(0, UINT_MAX, 0)),
    // Unsigned long configs (bounds compared as signed, like config.c does)
    row("active-defrag-max-scan-fields", None, NA, signed(1, LONG_MAX, 1000)),
    row("slowlog-max-len", None, 0, signed(0, LONG_MAX, 128)),
    row("acllog-max-len", None, 0, signed(0, LONG_MAX, 128)),
    // Long long configs
    row("busy-reply-threshold", Some("lua-time-limit"), 0, signed(0, LONG_MAX, 5000)),
    row("lua-enable-deprecated-api", None, IMMUTABLE | HIDDEN, yes_no(false)),
    row("cluster-node-timeout", None, NA, signed(0, LONG_MAX, 15000)),
    row("slowlog-log-slower-than", None, 0, signed(-1, LONG_MAX, 10000)),
    row("latency-monitor-threshold", None, 0, signed(0, LONG_MAX, 0)),
    row("proto-max-bulk-len", None, DEBUG, mem(MB, LONG_MAX, 512 * MB, false)),
    row("stream-node-max-entries", None, 0, signed(0, LONG_MAX, 100)),
    row("repl-backlog-size", None, 0, mem(1, LONG_MAX, MB, false)),
    // Unsigned long long configs
    row("maxmemory", None, 0, mem(0, ULLONG_MAX, 0, true)),
    row("cluster-link-sendbuf-limit", None, NA, mem(0, ULLONG_MAX, 0, true)),
    // Size_t configs
    row("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), 0, unsigned(0, LONG_MAX, 512)),
    row("set-max-intset-entries", None, 0, unsigned(0, LONG_MAX, 512)),
    row("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), 0, unsigned(0, LONG_MAX, 128)),
    row("active-defrag-ignore-bytes", None, NA, mem(1, LONG_MAX, 100 << 20, true)),
    row("hash-max-listpack-value", Some("hash-max-ziplist-value"), 0, mem(0, LONG_MAX, 64, true)),
    row("stream-node-max-bytes", None, 0, mem(0, LONG_MAX, 4096, true)),
    row("zset-max-listpack-value", Some("zset-max-ziplist-value"), 0, mem(0, LONG_MAX, 64, true)),
    row("hll-sparse-max-bytes", None, 0, mem(0, LONG_MAX, 3000, true)),
    row("tracking-table-max-keys", None, 0, unsigned(0, LONG_MAX, 1_000_000)),
    row("client-query-buffer-limit", None, DEBUG, mem(MB, LONG_MAX, 1024 * MB, true)),
    row("maxmemory-clients", None, NA, MAXMEMORY_CLIENTS),
    // Other configs
    row("repl-backlog-ttl", None, 0, signed(0, LONG_MAX, 3600)),
    row("auto-aof-rewrite-min-size", None, 0, mem(0, LONG_MAX, 64 * MB, false)),
    row("loading-process-events-interval-bytes", None, HIDDEN, signed(1024, INT_MAX, 2 * MB)),
    // TLS configs (present in TLS-enabled builds such as Debian's)
    row("tls-port", None, NA, signed(0, 65535, 0)),
    row("tls-session-cache-size", None, NA, signed(0, INT_MAX, 20 * 1024)),
    row("tls-session-cache-timeout", None, NA, signed(0, INT_MAX, 300)),
    row("tls-cluster", None, NA, yes_no(false)),
    row("tls-replication", None, NA, yes_no(false)),
    row("tls-auth-clients", None, NA, choice(TLS_AUTH_CLIENTS, 1)),
    row("tls-prefer-server-ciphers", None, NA, yes_no(false)),
    row("tls-session-caching", None, NA, yes_no(true)),
    row("tls-cert-file", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-key-file", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-key-file-pass", None, NA, c_str(true, None, StrCheck::None)),
    row("tls-client-cert-file", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-client-key-file", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-client-key-file-pass", None, NA, c_str(true, None, StrCheck::None)),
    row("tls-dh-params-file", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-ca-cert-file", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-ca-cert-dir", None, VOLATILE | NA, c_str(true, None, StrCheck::None)),
    row("tls-protocols", None, NA, c_str(true, None, StrCheck::None)),
    row("tls-ciphers", None, NA, c_str(true, None, StrCheck::None)),
    row("tls-ciphersuites", None, NA, c_str(true, None, StrCheck::None)),
    // Special configs
    row("dir", None, PROTECTED | DENY_LOADING, special(Special::Dir)),
    row("save", None, MULTI_ARG, special(Special::Save)),
    row("client-output-buffer-limit", None, MULTI_ARG, special(Special::ClientOutputBufferLimit)),
    row("oom-score-adj-values", None, MULTI_ARG | NA, special(Special::OomScoreAdjValues)),
    row("notify-keyspace-events", None, 0, special(Special::NotifyKeyspaceEvents)),
    row("bind", None, MULTI_ARG, special(Special::Bind)),
    row("replicaof", Some("slaveof"), IMMUTABLE | MULTI_ARG, special(Special::ReplicaOf)),
    row("latency-tracking-info-percentiles", None, MULTI_ARG, special(Special::LatencyTrackingInfoPercentiles)),
];

/// Directives handled by the file loader outside the table, with whether
/// ferrodis acts on them (so `Config::unsupported` can report the others).
pub(crate) const FILE_ONLY_DIRECTIVES: &[(&str, bool)] =
    &[("include", true), ("rename-command", false), ("user", true), ("loadmodule", false), ("sentinel", false)];

/// Old directives 7.0 silently ignores when given exactly one argument.
pub(crate) const DEPRECATED: &[&str] =
    &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Index of a primary name in [`TABLE`], evaluated at compile time so that a
/// typo in an accessor is a build error rather than a runtime surprise.
pub(crate) const fn index_of(name: &str) -> usize {
    let mut i = 0;
    while i < TABLE.len() {
        if const_eq(TABLE[i].name, name) {
            return i;
        }
        i += 1;
    }
    panic!("unknown config directive in ferrodis's own code");
}

/// A table entry found by name: its index and whether the alias matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub index: usize,
    pub via_alias: bool,
}

impl Found {
    /// The name the entry was registered under (Redis keeps aliases distinct).
    pub(crate) fn registered_name(self) -> &'static str {
        let spec = &TABLE[self.index];
        match (self.via_alias, spec.alias) {
            (true, Some(alias)) => alias,
            _ => spec.name,
        }
    }
}

/// Case-insensitive lookup by primary name or alias.
pub(crate) fn lookup(name: &[u8]) -> Option<Found> {
    TABLE.iter().enumerate().find_map(|(index, spec)| {
        if spec.name.as_bytes().eq_ignore_ascii_case(name) {
            Some(Found { index, via_alias: false })
        } else if spec.alias.is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name)) {
            Some(Found { index, via_alias: true })
        } else {
            None
        }
    })
}

/// Every registered name (primaries and aliases) in table order.
pub(crate) fn registered() -> impl Iterator<Item = Found> {
    TABLE.iter().enumerate().flat_map(|(index, spec)| {
        let primary = Found { index, via_alias: false };
        let alias = spec.alias.map(|_| Found { index, via_alias: true });
        std::iter::once(primary).chain(alias)
    })
}

/// Canonical names of the directives ferrodis acts on.
#[cfg(test)]
fn acted_on() -> impl Iterator<Item = &'static str> {
    TABLE.iter().filter(|s| !s.has(NOT_ACTED)).map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for f in registered() {
            let name = f.registered_name();
            assert!(seen.insert(name), "duplicate {name}");
            assert!(!name.bytes().any(|b| b.is_ascii_uppercase()), "{name}");
        }
    }

    #[test]
    fn config_get_star_count_matches_redis() {
        // `CONFIG GET *` on a TLS-enabled 7.0.15 returns 192 pairs.
        let visible = registered().filter(|f| !TABLE[f.index].has(HIDDEN)).count();
        assert_eq!(visible, 192);
    }

    #[test]
    fn lookups() {
        let f = lookup(b"SLAVEOF").unwrap();
        assert!(f.via_alias);
        assert_eq!(TABLE[f.index].name, "replicaof");
        assert_eq!(f.registered_name(), "slaveof");
        assert!(lookup(b"set-max-listpack-entries").is_none());
        assert_eq!(TABLE[index_of("port")].name, "port");
    }

    #[test]
    fn acted_list_is_the_agreed_one() {
        let mut acted: Vec<_> = acted_on().collect();
        acted.sort_unstable();
        let mut expected = vec![
            "port",
            "bind",
            "unixsocket",
            "unixsocketperm",
            "tcp-backlog",
            "timeout",
            "tcp-keepalive",
            "protected-mode",
            "requirepass",
            "masterauth",
            "masteruser",
            "aclfile",
            "acl-pubsub-default",
            "acllog-max-len",
            "stream-node-max-bytes",
            "stream-node-max-entries",
            "databases",
            "loglevel",
            "logfile",
            "pidfile",
            "daemonize",
            "hz",
            "dynamic-hz",
            "maxclients",
            "proto-max-bulk-len",
            "client-query-buffer-limit",
            "enable-debug-command",
            "enable-protected-configs",
            "enable-module-command",
            "always-show-logo",
            "dir",
            "dbfilename",
            "save",
            "appendonly",
            "appendfilename",
            "appenddirname",
            "appendfsync",
            "no-appendfsync-on-rewrite",
            "aof-load-truncated",
            "aof-use-rdb-preamble",
            "aof-timestamp-enabled",
            "aof-disable-auto-gc",
            "auto-aof-rewrite-percentage",
            "auto-aof-rewrite-min-size",
            "lazyfree-lazy-eviction",
            "repl-ping-replica-period",
            "replica-announce-ip",
            "replica-announce-port",
            "replica-priority",
            "replica-announced",
            "rdbcompression",
            "rdbchecksum",
            "stop-writes-on-bgsave-error",
            "rdb-key-save-delay",
            "key-load-delay",
            "loading-process-events-interval-bytes",
            "hll-sparse-max-bytes",
            "replicaof",
            "replica-read-only",
            "replica-serve-stale-data",
            "repl-backlog-size",
            "repl-backlog-ttl",
            "busy-reply-threshold",
            "lua-enable-deprecated-api",
            "repl-diskless-sync",
            "repl-diskless-sync-delay",
            "repl-diskless-sync-max-replicas",
            "repl-diskless-load",
            "repl-timeout",
            "notify-keyspace-events",
            "slowlog-log-slower-than",
            "slowlog-max-len",
            "latency-monitor-threshold",
            "latency-tracking",
            "latency-tracking-info-percentiles",
            "min-replicas-to-write",
            "min-replicas-max-lag",
            "maxmemory",
            "maxmemory-policy",
            "maxmemory-samples",
            "lfu-log-factor",
            "lfu-decay-time",
            "tracking-table-max-keys",
            "lazyfree-lazy-user-del",
            "lazyfree-lazy-user-flush",
            "lazyfree-lazy-expire",
            "lazyfree-lazy-server-del",
            "active-expire-effort",
            "list-max-listpack-size",
            "hash-max-listpack-entries",
            "hash-max-listpack-value",
            "set-max-intset-entries",
            "zset-max-listpack-entries",
            "zset-max-listpack-value",
            "client-output-buffer-limit",
            "crash-log-enabled",
            "supervised",
            "set-proc-title",
            "proc-title-template",
            "shutdown-timeout",
            "shutdown-on-sigint",
            "shutdown-on-sigterm",
            "rdb-save-incremental-fsync",
            "aof-rewrite-incremental-fsync",
        ];
        expected.sort_unstable();
        assert_eq!(acted, expected);
    }
}
