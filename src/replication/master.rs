//! The master side of replication (Redis's syncCommand, masterTryPartialResynchronization and the
//! BGSAVE-for-replication path): SYNC/PSYNC, full resync from a BGSAVE on disk shared by every
//! replica waiting for it, partial resync from the backlog, REPLCONF ACKs, and the cron duties
//! (PING into the stream, newline keepalives during a full sync).
//!
//! Replicas are ordinary clients with a `ConnectedReplica` attached; the stream reaches them through
//! their output buffers, flushed by the event loop. Nothing here blocks: the RDB is written by a
//! forked child and read back when the child has been reaped.

use crate::client::Client;
use crate::server::{Server, unix_ms};

use super::backlog::ReplicationBacklog;

/// Where a replica stands in its synchronization (SLAVE_STATE_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Full resync requested; the BGSAVE that will serve it has not started.
    WaitBgsaveStart,
    /// +FULLRESYNC sent; the RDB is being written. The backlog keeps the stream for it meanwhile.
    WaitBgsaveEnd,
    /// Receiving the stream.
    Online,
}

impl ReplicaState {
    /// The `state=` of INFO replication.
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart => "wait_bgsave",
            ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::Online => "online",
        }
    }
}

/// What the master knows of one connected replica.
#[derive(Debug)]
pub struct ConnectedReplica {
    pub state: ReplicaState,
    /// REPLCONF capa eof / psync2.
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// REPLCONF listening-port and ip-address.
    pub listening_port: u16,
    pub announced_ip: Option<String>,
    /// Offset of the last REPLCONF ACK and when it came (unix ms).
    pub ack_offset: u64,
    pub ack_time_ms: u64,
    /// Stream offset the full resync starts from.
    pub sync_offset: u64,
    /// Offset of the next stream byte this replica must be sent, from the shared backlog; None
    /// until it has a place in the stream (a full resync whose BGSAVE has not started).
    pub stream_from: Option<u64>,
    /// Plain SYNC (redis-cli --replica, old replicas): no +FULLRESYNC, no ACKs expected.
    pub pre_psync: bool,
    /// Its full sync streams the RDB to its socket (diskless).
    pub socket_transfer: bool,
    /// Diskless sync done: the stream waits for its first ACK, so nothing follows the RDB's end
    /// mark until the replica has loaded it.
    pub wait_first_ack: bool,
    /// When it asked for a full sync (unix ms): the diskless delay counts from there.
    pub requested_ms: u64,
    /// It ACKed (so loaded the streamed RDB) before the transfer's child was reaped.
    pub acked_during_transfer: bool,
    /// During a diskless transfer: when a write to it last left data behind (unix ms), 0 once it
    /// caught up. A replica stuck past repl-timeout would hold the whole transfer.
    pub last_partial_write_ms: u64,
    /// Wants only the RDB (REPLCONF rdb-only), and perhaps only its functions.
    pub rdb_only: bool,
    pub functions_only: bool,
}

impl ConnectedReplica {
    /// Whether the stream may be written to it now: online, and (after a diskless sync) past its
    /// first ACK.
    pub fn streaming(&self) -> bool {
        self.state == ReplicaState::Online && !self.wait_first_ack
    }

    pub fn new(capa_eof: bool, capa_psync2: bool, listening_port: u16, announced_ip: Option<String>) -> Self {
        ConnectedReplica {
            state: ReplicaState::WaitBgsaveStart,
            capa_eof,
            capa_psync2,
            listening_port,
            announced_ip,
            ack_offset: 0,
            ack_time_ms: unix_ms(),
            sync_offset: 0,
            stream_from: None,
            pre_psync: false,
            socket_transfer: false,
            wait_first_ack: false,
            requested_ms: unix_ms(),
            acked_during_transfer: false,
            last_partial_write_ms: 0,
            rdb_only: false,
            functions_only: false,
        }
    }
}

/// Capabilities and address a connection announced with REPLCONF before SYNC/PSYNC.
#[derive(Debug, Default, Clone)]
pub struct ReplconfInfo {
    pub listening_port: u16,
    pub announced_ip: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// REPLCONF rdb-only 1: only the RDB is wanted (redis-cli --rdb), then the link closes.
    pub rdb_only: bool,
    /// REPLCONF rdb-filter-only functions: an RDB of the function libraries alone.
    pub functions_only: bool,
}

/// The address a replica is reported with: the one it announced (REPLCONF ip-address), else its
/// peer address.
pub fn replica_ip(c: &Client) -> Option<String> {
    let announced = c.replica.as_ref().and_then(|r| r.announced_ip.clone());
    announced.or_else(|| c.peer_ip.map(|p| p.ip().to_string()))
}

/// `ip:port` a replica is known by in logs and INFO (Redis's replicationGetSlaveName).
pub fn replica_name(c: &Client) -> String {
    let ip = replica_ip(c).unwrap_or_else(|| c.addr.clone());
    match c.replica.as_ref().map(|r| r.listening_port).or(c.replconf.as_ref().map(|r| r.listening_port)) {
        Some(port) if port != 0 => format!("{ip}:{port}"),
        _ => c.addr.clone(),
    }
}

impl Server {
    /// The replica state of the client in `slot`, if it is a replica.
    pub fn connected_replica(&self, slot: usize) -> Option<&ConnectedReplica> {
        match self.clients.get(slot) {
            Some(Some(c)) => c.replica.as_deref(),
            _ => None,
        }
    }

    /// Slots of the replicas for which `pred` holds, in attach order.
    pub fn replicas_where(&self, pred: impl Fn(&ConnectedReplica) -> bool) -> Vec<usize> {
        self.repl.replicas.iter().copied().filter(|&s| self.connected_replica(s).is_some_and(&pred)).collect()
    }

    /// SYNC / PSYNC from the client `c` (the handler's body).
    pub fn repl_sync_command(
        &mut self,
        c: &mut Client,
        psync: Option<(&[u8], &[u8])>,
    ) -> Result<(), crate::error::CmdError> {
        use crate::error::CmdError;
        if c.replica.is_some() {
            return Ok(());
        }
        if self.failover.state != super::failover::FailoverState::None {
            return Err(CmdError::from("NOMASTERLINK Can't SYNC while failing over"));
        }
        if self.is_replica() && !self.repl_link_up() {
            return Err(CmdError::from("NOMASTERLINK Can't SYNC while not connected with my master"));
        }
        if c.pending_output() > 0 {
            return Err(CmdError::err("SYNC and PSYNC are invalid with pending output"));
        }
        let conf = c.replconf.take().unwrap_or_default();
        let mut replica =
            ConnectedReplica::new(conf.capa_eof, conf.capa_psync2, conf.listening_port, conf.announced_ip);
        replica.rdb_only = conf.rdb_only;
        replica.functions_only = conf.functions_only;
        c.replica = Some(Box::new(replica));
        let name = replica_name(c);
        log::info!("Replica {name} asks for synchronization");
        match psync {
            Some((replid, offset)) => {
                let Some(offset) = crate::numeric::parse_i64(offset) else {
                    log::warn!("Replica {name} asks for synchronization but with a wrong offset");
                    c.replica = None;
                    return Err(crate::error::NOT_INTEGER.into());
                };
                if self.repl_try_partial(c, &name, replid, offset) {
                    self.stats.sync_partial_ok += 1;
                    return Ok(());
                }
                if replid != b"?" {
                    self.stats.sync_partial_err += 1;
                }
            }
            None => {
                if let Some(r) = c.replica.as_mut() {
                    r.pre_psync = true;
                }
            }
        }
        self.stats.sync_full += 1;
        self.repl.replicas.push(c.slot);
        if self.repl.backlog.is_none() && self.repl.replicas.len() == 1 {
            self.repl.replid = self.random_hex(40);
            self.repl.replid2 = super::NO_REPLID.to_string();
            self.repl.second_repl_offset = -1;
            self.repl_create_backlog();
            log::info!(
                "Replication backlog created, my new replication IDs are '{}' and '{}'",
                self.repl.replid,
                self.repl.replid2
            );
        }
        let diskless = self.config.repl_diskless_sync() && c.replica.as_ref().is_some_and(|r| r.capa_eof);
        if self.rdb.child.is_some() && self.rdb.for_replication && self.rdb.to_sockets {
            log::info!("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
        } else if self.rdb.child.is_some() && self.rdb.for_replication {
            // Attach to the running BGSAVE: another replica is already recording the stream since
            // its fork.
            let donor = self.repl.replicas.iter().find_map(|&s| {
                self.connected_replica(s).filter(|r| r.state == ReplicaState::WaitBgsaveEnd).map(|r| r.sync_offset)
            });
            match donor {
                Some(offset) => {
                    self.repl_setup_full_resync(c, offset);
                    log::info!("Waiting for end of BGSAVE for SYNC");
                }
                None => log::info!("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC"),
            }
        } else if self.has_active_child() {
            log::info!("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed");
        } else if diskless && self.config.repl_diskless_sync_delay() > 0 {
            // Give other replicas a chance to join the same transfer; the cron starts it.
            log::info!("Delay next BGSAVE for diskless SYNC");
        } else {
            // Started before this loop iteration sleeps, once this client is back among the
            // others waiting (it is not in the slab while its command runs).
            self.repl.bgsave_wanted = true;
        }
        Ok(())
    }

    /// Accept a PSYNC from the backlog when the id and offset allow it: `+CONTINUE` and the missing
    /// stream, and the replica is online at once.
    fn repl_try_partial(&mut self, c: &mut Client, name: &str, replid: &[u8], offset: i64) -> bool {
        let id = String::from_utf8_lossy(replid);
        let matches_id = id.eq_ignore_ascii_case(&self.repl.replid);
        let matches_id2 = id.eq_ignore_ascii_case(&self.repl.replid2) && offset <= self.repl.second_repl_offset;
        if !matches_id && !matches_id2 {
            if replid != b"?" {
                if !id.eq_ignore_ascii_case(&self.repl.replid) && !id.eq_ignore_ascii_case(&self.repl.replid2) {
                    log::info!(
                        "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{id}', my replication IDs are '{}' and '{}')",
                        self.repl.replid,
                        self.repl.replid2
                    );
                } else {
                    log::info!(
                        "Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {}",
                        self.repl.second_repl_offset
                    );
                }
            } else {
                log::info!("Full resync requested by replica {name}");
            }
            return false;
        }
        let covered = offset >= 0 && self.repl.backlog.as_ref().is_some_and(|b| b.covers(offset as u64));
        if !covered {
            log::info!(
                "Unable to partial resync with replica {name} for lack of backlog (Replica request was: {offset})."
            );
            if offset > self.repl.master_repl_offset as i64 {
                log::warn!(
                    "Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset."
                );
            }
            return false;
        }
        let psync2 = c.replica.as_ref().is_some_and(|r| r.capa_psync2);
        if psync2 {
            c.reply.buf.extend_from_slice(format!("+CONTINUE {}\r\n", self.repl.replid).as_bytes());
        } else {
            c.reply.buf.extend_from_slice(b"+CONTINUE\r\n");
        }
        // The missing history is sent from the backlog itself.
        let sent = self.repl.master_repl_offset + 1 - offset as u64;
        if let Some(r) = c.replica.as_mut() {
            r.state = ReplicaState::Online;
            r.ack_time_ms = unix_ms();
            r.stream_from = Some(offset as u64);
        }
        self.repl.replicas.push(c.slot);
        log::info!(
            "Partial resynchronization request from {name} accepted. Sending {sent} bytes of backlog starting from offset {offset}."
        );
        true
    }

    pub fn repl_create_backlog(&mut self) {
        self.repl.backlog = Some(ReplicationBacklog::new(self.repl.master_repl_offset));
    }

    /// +FULLRESYNC (unless plain SYNC) and the wait for the end of the BGSAVE.
    fn repl_setup_full_resync(&mut self, c: &mut Client, offset: u64) {
        let Some(r) = c.replica.as_mut() else { return };
        r.state = ReplicaState::WaitBgsaveEnd;
        r.sync_offset = offset;
        // What the stream carries from the fork on is kept for it in the backlog.
        r.stream_from = Some(offset + 1);
        if !r.pre_psync {
            c.reply.buf.extend_from_slice(format!("+FULLRESYNC {} {offset}\r\n", self.repl.replid).as_bytes());
        }
    }

    /// Start a BGSAVE that will serve every replica waiting for one (that asked for the same RDB),
    /// to their sockets or to disk, and move them to WaitBgsaveEnd with +FULLRESYNC.
    pub(crate) fn repl_start_bgsave(&mut self) {
        let waiting = self.repl_replicas_in(ReplicaState::WaitBgsaveStart);
        // Diskless only when every replica can read an EOF-framed payload; a functions-only RDB is
        // only ever streamed (Redis refuses filters with a disk target).
        let all_eof = waiting.iter().all(|&s| self.connected_replica(s).is_some_and(|r| r.capa_eof));
        let functions_only = waiting.iter().any(|&s| self.connected_replica(s).is_some_and(|r| r.functions_only));
        let to_sockets = (self.config.repl_diskless_sync() || functions_only) && all_eof;
        let waiting: Vec<usize> = waiting
            .into_iter()
            .filter(|&s| self.connected_replica(s).is_some_and(|r| r.functions_only == functions_only))
            .collect();
        log::info!("Starting BGSAVE for SYNC with target: {}", if to_sockets { "replicas sockets" } else { "disk" });
        let offset = self.repl.master_repl_offset;
        // The next command of the stream must say which db it is in.
        self.repl.selected_db = None;
        let started = if to_sockets {
            self.repl_bgsave_to_sockets(functions_only).map_err(|e| log::warn!("Can't save in background: fork: {e}"))
        } else {
            self.rdb.for_replication = true;
            let started = self.rdb_bgsave().map_err(|_| ());
            self.rdb.for_replication = started.is_ok();
            started
        };
        if started.is_err() {
            log::warn!("BGSAVE for replication failed");
            for slot in waiting {
                if let Some(Some(c)) = self.clients.get_mut(slot) {
                    c.reply.error(b"ERR BGSAVE failed, replication can't continue");
                    c.flags |= crate::client::flags::CLOSE_AFTER_REPLY;
                    self.queue_write(slot);
                }
            }
            return;
        }
        // The +FULLRESYNC lines go out before the payload (the pipe is read from the event loop).
        for slot in waiting {
            let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
            self.repl_setup_full_resync(&mut c, offset);
            if let Some(r) = c.replica.as_mut() {
                r.socket_transfer = to_sockets;
            }
            if let Some(e) = self.clients.get_mut(slot) {
                *e = Some(c);
            }
            self.queue_write(slot);
        }
    }

    /// Replicas wait for a BGSAVE and none runs; for a diskless one, the delay has passed since
    /// the first asked (or enough replicas came) so that they share it (Redis's
    /// shouldStartChildForReplication).
    pub(crate) fn repl_should_start_bgsave(&self) -> bool {
        if self.has_active_child() {
            return false;
        }
        let waiting = self.repl_replicas_in(ReplicaState::WaitBgsaveStart);
        if waiting.is_empty() {
            return false;
        }
        if !self.config.repl_diskless_sync() {
            return true;
        }
        let max_replicas = self.config.repl_diskless_sync_max_replicas();
        if max_replicas > 0 && waiting.len() as u64 >= max_replicas {
            return true;
        }
        let now = unix_ms();
        let max_idle = waiting
            .iter()
            .filter_map(|&s| self.connected_replica(s).map(|r| now.saturating_sub(r.requested_ms) / 1000))
            .max()
            .unwrap_or(0);
        max_idle >= self.config.repl_diskless_sync_delay()
    }

    fn repl_replicas_in(&self, state: ReplicaState) -> Vec<usize> {
        self.replicas_where(|r| r.state == state)
    }

    /// The BGSAVE serving replicas ended: send the file (then what the stream recorded meanwhile) to
    /// every replica that waited for it, or drop them if it failed.
    pub fn repl_bgsave_done(&mut self, ok: bool) {
        self.rdb.for_replication = false;
        let waiting = self.repl_replicas_in(ReplicaState::WaitBgsaveEnd);
        let from_disk = waiting.iter().any(|&s| self.connected_replica(s).is_some_and(|r| !r.socket_transfer));
        let payload = if ok && from_disk { std::fs::read(self.config.dbfilename()).ok() } else { None };
        for slot in waiting {
            let Some(Some(c)) = self.clients.get_mut(slot) else { continue };
            let Some(r) = c.replica.as_mut() else { continue };
            if r.socket_transfer {
                r.socket_transfer = false;
                if ok && r.rdb_only {
                    log::info!(
                        "RDB transfer completed, rdb only replica ({}) should be disconnected asap",
                        replica_name(c)
                    );
                    c.flags |= crate::client::flags::CLOSE_AFTER_REPLY;
                } else if ok {
                    r.state = ReplicaState::Online;
                    // A replica only ACKs once it loaded the RDB: if it already did, stream now.
                    r.wait_first_ack = !r.acked_during_transfer;
                    r.ack_time_ms = unix_ms();
                    log::info!(
                        "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming",
                        replica_name(c)
                    );
                } else {
                    log::warn!("SYNC failed. BGSAVE child returned an error");
                    c.flags |= crate::client::flags::CLOSE_ASAP;
                }
                self.queue_write(slot);
                continue;
            }
            match &payload {
                Some(data) => {
                    c.reply.buf.extend_from_slice(format!("${}\r\n", data.len()).as_bytes());
                    c.reply.buf.extend_from_slice(data);
                    r.state = ReplicaState::Online;
                    r.ack_time_ms = unix_ms();
                    log::info!("Synchronization with replica {} succeeded", replica_name(c));
                }
                None => {
                    log::warn!("SYNC failed. BGSAVE child returned an error");
                    c.flags |= crate::client::flags::CLOSE_ASAP;
                }
            }
            self.queue_write(slot);
        }
    }

    /// Before sleeping: the BGSAVE a SYNC asked for.
    pub fn repl_start_wanted_bgsave(&mut self) {
        if std::mem::take(&mut self.repl.bgsave_wanted) && self.repl_should_start_bgsave() {
            self.repl_start_bgsave();
        }
    }

    /// A replica client went away.
    pub fn repl_forget_replica(&mut self, c: &Client) {
        if c.replica.is_none() {
            return;
        }
        self.repl.replicas.retain(|&s| s != c.slot);
        // A disk BGSAVE nobody waits for any more is only costing memory and delaying the next
        // fork; without save points it has no other use, so it is stopped.
        let was_waiting = c.replica.as_ref().is_some_and(|r| r.state == ReplicaState::WaitBgsaveEnd);
        if was_waiting
            && self.config.save_points().is_empty()
            && self.rdb.child.is_some()
            && !self.rdb.to_sockets
            && self.repl_replicas_in(ReplicaState::WaitBgsaveEnd).is_empty()
        {
            self.kill_rdb_child();
        }
        if self.repl.replicas.is_empty() {
            self.repl.no_replicas_since = unix_ms() / 1000;
        }
        log::info!("Connection with replica {} lost.", replica_name(c));
        // History it alone was holding can go.
        self.repl_trim_backlog();
        // The last receiver of a diskless transfer gone: stop the child.
        if self.repl_rdb_pipe_open() {
            self.repl_rdb_pipe_pump();
        }
    }

    /// Once a second: newlines to replicas waiting for their RDB (so their timeouts do not fire),
    /// a BGSAVE for replicas still waiting for one, and PING into the stream every
    /// repl-ping-replica-period.
    pub fn repl_master_cron(&mut self) {
        // Redis counts replication cron runs from startup and pings on multiples of the period, so a
        // replica that attaches between them waits for the next multiple (no ping at attach time).
        let loop_no = self.repl.cron_loops;
        self.repl.cron_loops += 1;
        if self.repl.replicas.is_empty() {
            self.repl_backlog_ttl_check();
            return;
        }
        for i in 0..self.repl.replicas.len() {
            let slot = self.repl.replicas[i];
            // Never into a streamed RDB: a newline there would corrupt it.
            if let Some(Some(c)) = self.clients.get_mut(slot)
                && c.replica.as_ref().is_some_and(|r| r.state != ReplicaState::Online && !r.socket_transfer)
            {
                c.reply.buf.push(b'\n');
                self.queue_write(slot);
            }
        }
        self.repl_disconnect_timed_out_replicas();
        if self.repl_should_start_bgsave() {
            self.repl_start_bgsave();
        }
        // A FAILOVER with a TIMEOUT keeps the stream still so the target can catch up exactly.
        let failover_waiting = self.failover.end_ms != 0 && self.failover.pauses_writes();
        if !self.is_replica() && !failover_waiting && loop_no.is_multiple_of(self.config.repl_ping_replica_period()) {
            self.repl_feed_raw(b"*1\r\n$4\r\nping\r\n");
        }
    }

    /// Replicas silent for repl-timeout: an online one that stopped ACKing (SYNC-only replicas
    /// never ACK), and one stuck in a diskless transfer, which would otherwise hold the child
    /// and every other replica of the transfer.
    fn repl_disconnect_timed_out_replicas(&mut self) {
        let now = unix_ms();
        let timeout_ms = self.config.repl_timeout() as u64 * 1000;
        for slot in self.repl.replicas.clone() {
            let Some(Some(c)) = self.clients.get(slot) else { continue };
            let Some(r) = c.replica.as_ref() else { continue };
            let kind =
                if r.state == ReplicaState::Online && !r.pre_psync && now.saturating_sub(r.ack_time_ms) > timeout_ms {
                    "streaming sync"
                } else if r.state == ReplicaState::WaitBgsaveEnd
                    && r.socket_transfer
                    && r.last_partial_write_ms != 0
                    && now.saturating_sub(r.last_partial_write_ms) > timeout_ms
                {
                    "full sync"
                } else {
                    continue;
                };
            log::warn!("Disconnecting timedout replica ({kind}): {}", replica_name(c));
            self.kill_client_slot(slot);
        }
    }

    /// A master left without replicas for repl-backlog-ttl seconds frees its backlog. Its offset
    /// stops moving without one, so its history can no longer be continued: a new replid, and no
    /// secondary one.
    fn repl_backlog_ttl_check(&mut self) {
        let ttl = self.config.repl_backlog_ttl();
        if ttl == 0 || self.repl.backlog.is_none() || self.is_replica() {
            return;
        }
        let idle = (unix_ms() / 1000).saturating_sub(self.repl.no_replicas_since);
        if idle > ttl {
            self.repl.replid = self.random_hex(40);
            self.repl.replid2 = super::NO_REPLID.to_string();
            self.repl.second_repl_offset = -1;
            self.repl.backlog = None;
            log::info!("Replication backlog freed after {ttl} seconds without connected replicas.");
        }
    }

    /// The smallest offset some replica still has to be sent.
    pub fn repl_oldest_needed(&self) -> Option<u64> {
        self.repl.replicas.iter().filter_map(|&s| self.connected_replica(s).and_then(|r| r.stream_from)).min()
    }

    /// Drop backlog history beyond `repl-backlog-size` that no replica needs any more.
    pub fn repl_trim_backlog(&mut self) {
        let oldest = self.repl_oldest_needed();
        let size = self.config.repl_backlog_size() as usize;
        if let Some(b) = self.repl.backlog.as_mut() {
            b.trim(size, oldest);
        }
    }

    /// Online replicas that acknowledged the stream up to `offset` (WAIT).
    pub fn repl_count_acks(&self, offset: u64) -> u64 {
        self.replicas_where(|r| r.state == ReplicaState::Online && r.ack_offset >= offset).len() as u64
    }

    /// Online replicas whose last ACK is at most `min-replicas-max-lag` seconds old.
    pub fn repl_good_replicas(&self) -> usize {
        let max_lag = self.config.min_replicas_max_lag() * 1000;
        let now = unix_ms();
        self.replicas_where(|r| r.state == ReplicaState::Online && now.saturating_sub(r.ack_time_ms) <= max_lag).len()
    }
}
