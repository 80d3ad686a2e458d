//! Replication (Redis's replication.c): the master side (replication ids and offsets, the backlog,
//! the stream fed to replicas) and, in `replica`, the link to a master (`diskless_load` parses a
//! full sync's RDB as it arrives, `transfer` receives it).
//!
//! Owns the replication state and the replicas' view of the stream. It never runs commands and never
//! blocks: replicas are ordinary clients whose output buffers receive the stream, flushed by the event
//! loop like any reply.

pub mod backlog;
pub mod diskless;
pub mod diskless_load;
pub mod failover;
pub mod master;
pub mod replica;
pub mod transfer;

use crate::server::Server;
use backlog::ReplicationBacklog;

/// Replication ids and offsets, the backlog, and the connected replicas.
#[derive(Debug)]
pub struct ReplicationState {
    /// Current replication id (40 hex characters).
    pub replid: String,
    /// The previous id, valid up to `second_repl_offset` (after a failover).
    pub replid2: String,
    /// Bytes of stream produced (or, on a replica, applied) so far.
    pub master_repl_offset: u64,
    pub second_repl_offset: i64,
    pub backlog: Option<ReplicationBacklog>,
    /// Slots of replica clients that receive the stream.
    pub replicas: Vec<usize>,
    /// Database of the last SELECT in the stream; None forces one before the next command.
    pub selected_db: Option<usize>,
    /// Once-a-second replication cron runs since startup (Redis's replication_cron_loops).
    pub cron_loops: u64,
    /// Unix seconds since which no replica is connected (for repl-backlog-ttl).
    pub no_replicas_since: u64,
    /// The pipe of a running diskless transfer.
    pub rdb_pipe: Option<diskless::RdbPipe>,
    /// A SYNC asked for a BGSAVE to start before the loop sleeps.
    pub bgsave_wanted: bool,
}

/// replid2 when there is no previous id.
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

impl Default for ReplicationState {
    fn default() -> Self {
        ReplicationState {
            replid: String::new(),
            replid2: NO_REPLID.to_string(),
            master_repl_offset: 0,
            second_repl_offset: -1,
            backlog: None,
            replicas: Vec::new(),
            selected_db: None,
            cron_loops: 0,
            no_replicas_since: crate::server::unix_ms() / 1000,
            rdb_pipe: None,
            bgsave_wanted: false,
        }
    }
}

impl Server {
    /// Whether written commands go into the replication stream: on a master that has a backlog or
    /// replicas (a replica relays its master's bytes instead).
    pub fn repl_feeds_stream(&self) -> bool {
        !self.is_replica() && (self.repl.backlog.is_some() || !self.repl.replicas.is_empty())
    }

    /// Append one command to the stream (with a SELECT first when the database changed): into the
    /// backlog, and into every replica's output buffer.
    pub fn repl_feed(&mut self, db: usize, resp: &[u8]) {
        if self.repl.selected_db != Some(db) {
            let mut select = Vec::with_capacity(32);
            crate::server::propagation::encode_select(&mut select, db);
            self.repl.selected_db = Some(db);
            self.repl_feed_raw(&select);
        }
        self.repl_feed_raw(resp);
    }

    /// Ask every replica to report its offset now rather than at its next periodic ACK (Redis's
    /// sendGetackToReplicas).
    pub fn repl_send_getack(&mut self) {
        self.repl_feed_raw(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
    }

    /// Bytes that go into the stream as they are (PING, REPLCONF GETACK, a relayed master stream).
    /// They are stored once, in the backlog, and each online replica is woken to send them; without
    /// a backlog there is no stream (and the offset does not move), as in Redis.
    pub fn repl_feed_raw(&mut self, bytes: &[u8]) {
        let size = self.config.repl_backlog_size() as usize;
        let Some(b) = self.repl.backlog.as_mut() else { return };
        let old_end = b.end_offset();
        let added = b.feed(bytes, size);
        self.repl.master_repl_offset = b.end_offset() - 1;
        for i in 0..self.repl.replicas.len() {
            let slot = self.repl.replicas[i];
            let Some(Some(c)) = self.clients.get(slot) else { continue };
            let Some(r) = c.replica.as_ref() else { continue };
            let has_place = r.stream_from.is_some();
            // A replica that was behind already has a write queued or its socket armed.
            if r.streaming() && r.stream_from == Some(old_end) {
                self.queue_write(slot);
            }
            // Redis checks the limits of replicas (and trims) when the stream grew by a block.
            if added && has_place {
                let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
                self.check_output_buffer_limits(&mut c);
                if let Some(e) = self.clients.get_mut(slot) {
                    *e = Some(c);
                }
            }
        }
        if added {
            self.repl_trim_backlog();
        }
    }
}
