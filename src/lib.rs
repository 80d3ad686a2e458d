//! ferrodis: a drop-in Redis 7.0 server. One mio reactor on one thread owns the keyspace, the clients
//! and the timers; nothing is shared and nothing is locked.
//!
//! Map of the crate:
//! - `acl`: users, their permissions and the ACL log. `allocator`: jemalloc and `used_memory`.
//! - `server`: the `Server` (owner of everything), its event loop, dispatch, keyspace policy, cron,
//!   shutdown.
//! - `client`: one connection's buffers and state. `net`: listening sockets and socket options.
//! - `resp`: request parsing and reply encoding (RESP2/RESP3).
//! - `command`: the command table and one file per command family.
//! - `db`: the keyspace storage (`Dict`, values and their encodings).
//! - `persistence`: RDB and AOF formats. `replication`: the replication stream, backlog and links.
//! - `config`: redis.conf parsing, CONFIG GET/SET/REWRITE. `log`: Redis's log line format.
//! - `error`: every error text. `numeric`, `glob`, `digest`: Redis's number rules, pattern matching
//!   and DEBUG DIGEST.

pub mod acl;
pub mod allocator;
pub mod client;
pub mod command;
pub mod config;
pub mod db;
pub mod digest;
pub mod error;
pub mod glob;
pub mod log;
pub mod net;
pub mod numeric;
pub mod persistence;
pub mod proctitle;
pub mod replication;
pub mod resp;
pub mod scripting;
pub mod server;
#[cfg(test)]
pub mod test_rng;

/// The Redis version ferrodis is compatible with, reported wherever Redis reports its own.
pub const REDIS_VERSION: &str = "7.0.15";
