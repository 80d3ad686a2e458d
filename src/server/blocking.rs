//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): which clients wait on which keys, their
//! deadlines, and serving them when a key they wait on receives data.
//!
//! A client that blocks keeps a copy of its command. When a write makes one of its keys non-empty,
//! the key is marked ready (`signal_key_as_ready`); after the writing command (or the whole
//! transaction) finishes, waiting clients are served in the order they blocked by running their
//! command again, now that it finds data. A client whose key was emptied again by an earlier
//! waiter keeps its place. Deadlines live in an ordered set the event loop consults for its poll
//! timeout, so a fractional-second timeout fires on time without a timer thread.
//!
//! WAIT blocks here too, on replica acknowledgements rather than keys: those clients are checked
//! before each sleep against the replicas' ACKed offsets.
//!
//! Never serves a client from inside another command: serving happens only between commands, so
//! a transaction is observed as a whole, as in Redis.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use crate::client::{Client, QueuedCommand, flags as cflags};
use crate::command::Args;
use crate::command::stream_read::{self, StreamWake};
use crate::db::Value;
use crate::error::{CmdError, CmdResult, TIMEOUT_NEGATIVE};
use crate::server::{Server, unix_ms};

/// The type of value a blocked client waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockedOn {
    List,
    ZSet,
    /// XREAD/XREADGROUP: served by `stream_read::serve_blocked` when its stream has news for it.
    Stream,
    /// WAIT: `count` replicas to acknowledge the stream up to `offset`.
    Replicas {
        offset: u64,
        count: u64,
    },
    /// SHUTDOWN waiting for lagging replicas: answered only if the shutdown fails or is aborted.
    Shutdown,
}

/// What a blocked client waits for, and how to finish its command.
pub struct BlockState {
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    pub on: BlockedOn,
    /// Unix ms; 0 waits forever.
    pub deadline_ms: u64,
    pub cmd_id: usize,
    pub command: QueuedCommand,
}

/// Server-wide registry of blocked clients (by slot).
#[derive(Default)]
pub struct Blocking {
    waiting: HashMap<(usize, Vec<u8>), VecDeque<usize>>,
    ready: Vec<(usize, Vec<u8>)>,
    ready_set: HashSet<(usize, Vec<u8>)>,
    deadlines: BTreeSet<(u64, usize)>,
    /// Clients blocked in WAIT, in the order they blocked.
    waiting_acks: Vec<usize>,
    /// A client blocked in WAIT: ask replicas for an ACK before sleeping.
    pub get_ack_from_replicas: bool,
    /// Clients that were served or timed out and may have more input to process.
    pub unblocked: Vec<usize>,
    pub blocked_clients: usize,
    /// Clients blocked in XREAD/XREADGROUP: while any wait, a stream's deletion or replacement
    /// signals its key too (XREADGROUP fails when its stream goes).
    pub stream_waiters: usize,
}

impl Blocking {
    pub fn ready_is_empty(&self) -> bool {
        self.ready.is_empty()
    }

    /// The earliest deadline of any blocked client, for the event loop's poll timeout.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|&(d, _)| d)
    }

    pub fn clients_in_timeout_table(&self) -> usize {
        self.deadlines.len()
    }
}

/// Parse a blocking timeout in seconds (fractions allowed) into an absolute deadline in unix ms,
/// 0 meaning forever (Redis's getTimeoutFromObjectOrReply).
pub fn parse_timeout(arg: &[u8]) -> Result<u64, CmdError> {
    let secs = crate::numeric::LongDouble::parse(arg)
        .map(crate::numeric::LongDouble::to_f64)
        .filter(|v| !v.is_nan())
        .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
    let ms = (secs * 1000.0).ceil();
    if ms < 0.0 {
        return Err(TIMEOUT_NEGATIVE.into());
    }
    if ms == 0.0 {
        return Ok(0);
    }
    // Far-future timeouts saturate rather than wrap.
    Ok((ms.min(i64::MAX as f64) as u64).saturating_add(unix_ms()).min(i64::MAX as u64))
}

impl Server {
    /// Block `c` on `keys` until one of them holds data of the wanted type or `deadline_ms` passes.
    /// Inside a transaction a blocking command cannot wait: it times out at once, as in Redis.
    pub fn block_client(&mut self, c: &mut Client, args: &Args, keys: &[&[u8]], on: BlockedOn, deadline_ms: u64) {
        if c.has(cflags::EXECUTING_MULTI) {
            c.reply.null_array();
            return;
        }
        let Some(cmd_id) = c.last_cmd else {
            c.reply.null_array();
            return;
        };
        let (buf, ranges) = args.to_owned_parts();
        let mut unique: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
        for k in keys {
            if !unique.iter().any(|u| u.as_slice() == *k) {
                unique.push(k.to_vec());
            }
        }
        for k in &unique {
            self.blocking.waiting.entry((c.db, k.clone())).or_default().push_back(c.slot);
        }
        if deadline_ms > 0 {
            self.blocking.deadlines.insert((deadline_ms, c.slot));
        }
        self.blocking.blocked_clients += 1;
        if on == BlockedOn::Stream {
            self.blocking.stream_waiters += 1;
        }
        c.flags |= cflags::BLOCKED;
        c.blocked = Some(Box::new(BlockState {
            db: c.db,
            keys: unique,
            on,
            deadline_ms,
            cmd_id,
            command: QueuedCommand { buf, ranges },
        }));
    }

    /// Block `c` in WAIT until `count` replicas acknowledged `offset` or `deadline_ms` passes.
    pub fn block_for_replicas(&mut self, c: &mut Client, args: &Args, offset: u64, count: u64, deadline_ms: u64) {
        let Some(cmd_id) = c.last_cmd else { return };
        let (buf, ranges) = args.to_owned_parts();
        self.blocking.waiting_acks.push(c.slot);
        if deadline_ms > 0 {
            self.blocking.deadlines.insert((deadline_ms, c.slot));
        }
        self.blocking.blocked_clients += 1;
        self.blocking.get_ack_from_replicas = true;
        c.flags |= cflags::BLOCKED;
        c.blocked = Some(Box::new(BlockState {
            db: c.db,
            keys: Vec::new(),
            on: BlockedOn::Replicas { offset, count },
            deadline_ms,
            cmd_id,
            command: QueuedCommand { buf, ranges },
        }));
    }

    /// Block `c` in SHUTDOWN while the server waits for its replicas; no deadline of its own (the
    /// shutdown's is kept by the cron).
    pub fn block_for_shutdown(&mut self, c: &mut Client) {
        let Some(cmd_id) = c.last_cmd else { return };
        self.blocking.blocked_clients += 1;
        c.flags |= cflags::BLOCKED;
        c.blocked = Some(Box::new(BlockState {
            db: c.db,
            keys: Vec::new(),
            on: BlockedOn::Shutdown,
            deadline_ms: 0,
            cmd_id,
            command: QueuedCommand { buf: Vec::new(), ranges: Vec::new() },
        }));
    }

    /// A shutdown failed or was aborted: every client blocked in SHUTDOWN gets `error`.
    pub fn reply_to_clients_blocked_on_shutdown(&mut self, error: &str) {
        let waiting: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                c.as_ref().is_some_and(|c| c.blocked.as_ref().is_some_and(|b| b.on == BlockedOn::Shutdown))
            })
            .map(|(s, _)| s)
            .collect();
        for slot in waiting {
            let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
            self.unblock(&mut c);
            self.reply_error(&mut c, &CmdError::err(error));
            self.finish_unblocked(c);
        }
    }

    /// Before sleeping: reply to WAITs that enough replicas have acknowledged.
    pub fn process_clients_waiting_replicas(&mut self) {
        if self.blocking.waiting_acks.is_empty() {
            return;
        }
        for slot in self.blocking.waiting_acks.clone() {
            let Some(Some(c)) = self.clients.get(slot) else { continue };
            let Some(BlockedOn::Replicas { offset, count }) = c.blocked.as_ref().map(|b| b.on) else { continue };
            let acked = self.repl_count_acks(offset);
            if acked < count {
                continue;
            }
            let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
            self.unblock(&mut c);
            c.reply.int(acked as i64);
            self.finish_unblocked(c);
        }
    }

    /// The reply a blocked client gets when its time is up.
    fn reply_timed_out(&mut self, c: &mut Client, on: BlockedOn) {
        match on {
            BlockedOn::Replicas { offset, .. } => c.reply.int(self.repl_count_acks(offset) as i64),
            BlockedOn::List | BlockedOn::ZSet | BlockedOn::Stream => c.reply.null_array(),
            // Never reached: a SHUTDOWN has no deadline and CLIENT UNBLOCK leaves it alone.
            BlockedOn::Shutdown => self.reply_error(c, &CmdError::err(crate::server::shutdown::SHUTDOWN_FAILED)),
        }
    }

    /// Remove `c` from every wait queue and the deadline set; no reply. Returns its state.
    fn unblock(&mut self, c: &mut Client) -> Option<Box<BlockState>> {
        let state = c.blocked.take()?;
        for k in &state.keys {
            let entry = (state.db, k.clone());
            if let Some(q) = self.blocking.waiting.get_mut(&entry) {
                q.retain(|&s| s != c.slot);
                if q.is_empty() {
                    self.blocking.waiting.remove(&entry);
                }
            }
        }
        if state.deadline_ms > 0 {
            self.blocking.deadlines.remove(&(state.deadline_ms, c.slot));
        }
        if matches!(state.on, BlockedOn::Replicas { .. }) {
            self.blocking.waiting_acks.retain(|&s| s != c.slot);
        }
        self.blocking.blocked_clients = self.blocking.blocked_clients.saturating_sub(1);
        if state.on == BlockedOn::Stream {
            self.blocking.stream_waiters = self.blocking.stream_waiters.saturating_sub(1);
        }
        c.flags &= !cflags::BLOCKED;
        Some(state)
    }

    /// A disconnecting or RESET client leaves the wait queues.
    pub fn unblock_forget(&mut self, c: &mut Client) {
        self.unblock(c);
    }

    /// A key in `db` was created or grew: clients waiting on it get served after this command.
    pub fn signal_key_as_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking.waiting.is_empty() {
            return;
        }
        let entry = (db, key.to_vec());
        if self.blocking.waiting.contains_key(&entry) && self.blocking.ready_set.insert(entry.clone()) {
            self.blocking.ready.push(entry);
        }
    }

    /// After SWAPDB: every waited-on key of `db` that now exists is ready (Redis's
    /// scanDatabaseForReadyKeys).
    pub fn signal_ready_keys_in_db(&mut self, db: usize) {
        let keys: Vec<Vec<u8>> = self
            .blocking
            .waiting
            .keys()
            .filter(|(d, k)| *d == db && self.dbs[db].get(k).is_some())
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            self.signal_key_as_ready(db, &k);
        }
    }

    /// `emptied` is about to be flushed or swapped with `replaced_with`: every waited-on key that
    /// holds a stream now and will not afterwards is signalled, so blocked XREADGROUPs fail
    /// (Redis's scanDatabaseForDeletedStreams).
    pub fn signal_deleted_streams(&mut self, emptied: usize, replaced_with: Option<usize>) {
        if self.blocking.stream_waiters == 0 {
            return;
        }
        let is_stream = |srv: &Server, db: usize, key: &[u8]| {
            matches!(srv.dbs[db].get(key).map(|o| &o.value), Some(Value::Stream(_)))
        };
        let keys: Vec<Vec<u8>> = self
            .blocking
            .waiting
            .keys()
            .filter(|(d, k)| {
                *d == emptied && is_stream(self, emptied, k) && !replaced_with.is_some_and(|r| is_stream(self, r, k))
            })
            .map(|(_, k)| k.clone())
            .collect();
        for k in keys {
            self.signal_key_as_ready(emptied, &k);
        }
    }

    /// Whether the key holds data a client blocked `on` it can take.
    fn key_serves(&mut self, db: usize, key: &[u8], on: BlockedOn) -> bool {
        if self.key_is_expired(db, key) {
            return false;
        }
        matches!(
            (self.dbs[db].get(key).map(|o| &o.value), on),
            (Some(Value::List(_)), BlockedOn::List) | (Some(Value::ZSet(_)), BlockedOn::ZSet)
        )
    }

    /// Serve clients waiting on keys that became ready. Runs between commands; serving a client
    /// can make more keys ready (BLMOVE pushes), so it loops until nothing is left.
    pub fn handle_clients_blocked_on_keys(&mut self) {
        while !self.blocking.ready.is_empty() {
            let ready = std::mem::take(&mut self.blocking.ready);
            self.blocking.ready_set.clear();
            for (db, key) in ready {
                let waiting: Vec<usize> = match self.blocking.waiting.get(&(db, key.clone())) {
                    Some(q) => q.iter().copied().collect(),
                    None => continue,
                };
                // A key that expired meanwhile serves nobody; its deletion is propagated now, after
                // the command that made it ready (Redis's lookup in handleClientsBlockedOnKeys).
                if self.expire_if_needed(db, &key) {
                    self.propagate_pending();
                    continue;
                }
                for slot in waiting {
                    let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
                    let on = c.blocked.as_ref().map(|b| b.on);
                    if on == Some(BlockedOn::Stream) {
                        // Each stream reader waits for its own ID: one that has nothing new keeps
                        // its place without holding up the others.
                        self.serve_stream_waiter(c, db, &key);
                        continue;
                    }
                    if !on.is_some_and(|on| self.key_serves(db, &key, on)) {
                        if let Some(e) = self.clients.get_mut(slot) {
                            *e = Some(c);
                        }
                        break;
                    }
                    if let Some(state) = self.unblock(&mut c) {
                        let args = Args::new(&state.command.buf, &state.command.ranges);
                        let handler = self.commands.commands[state.cmd_id].spec.handler;
                        self.run_for_unblocked(&mut c, state.cmd_id, &args, handler);
                    }
                    self.finish_unblocked(c);
                }
            }
        }
    }

    /// A stream reader blocked on `key`, which was signalled: served (or failed) when the stream
    /// has news for it, else put back in its place.
    fn serve_stream_waiter(&mut self, mut c: Client, db: usize, key: &[u8]) {
        let wake = match c.blocked.as_ref() {
            Some(state) => {
                let args = Args::new(&state.command.buf, &state.command.ranges);
                stream_read::blocked_wake(self, db, key, &args)
            }
            None => StreamWake::Wait,
        };
        if wake == StreamWake::Wait {
            let slot = c.slot;
            if let Some(e) = self.clients.get_mut(slot) {
                *e = Some(c);
            }
            return;
        }
        if let Some(state) = self.unblock(&mut c) {
            let args = Args::new(&state.command.buf, &state.command.ranges);
            self.run_for_unblocked(&mut c, state.cmd_id, &args, |srv, c, args| {
                stream_read::serve_blocked(srv, c, args, key)
            });
        }
        self.finish_unblocked(c);
    }

    /// Run a blocked client's command again now that data arrived. It was counted when first
    /// called; this only produces its reply and its effects, propagated on their own as Redis does
    /// for a served client.
    fn run_for_unblocked(
        &mut self,
        c: &mut Client,
        cmd_id: usize,
        args: &Args,
        serve: impl FnOnce(&mut Server, &mut Client, &Args) -> CmdResult,
    ) {
        let prev = self.current_client.replace((c.slot, c.id));
        self.current_client_resp = c.reply.resp;
        // Invalidations addressed to it need its tracking options; they follow its reply.
        let prev_tracking = std::mem::replace(&mut self.current_tracking, c.tracking.take());
        let saved = self.enter_call();
        let dirty_before = self.dirty;
        let result = serve(self, c, args);
        let dirtied = self.dirty > dirty_before;
        self.leave_call(saved, c.db, args, dirtied, false);
        c.tracking = std::mem::replace(&mut self.current_tracking, prev_tracking);
        self.current_client = prev;
        if let Err(e) = result {
            // Counted against the blocked command, as Redis's updateStatsOnUnblock does.
            if let Some(stats) = self.cmd_stats.get_mut(cmd_id) {
                stats.failed += 1;
            }
            self.reply_error(c, &e);
        }
        if !self.current_pushes.buf.is_empty() {
            c.reply.buf.append(&mut self.current_pushes.buf);
        }
    }

    /// Put an unblocked client back and have its pending input processed.
    fn finish_unblocked(&mut self, c: Client) {
        let slot = c.slot;
        if let Some(e) = self.clients.get_mut(slot) {
            *e = Some(c);
        }
        self.queue_write(slot);
        self.blocking.unblocked.push(slot);
    }

    /// Time out every blocked client whose deadline has passed (null reply, as Redis's timeout).
    pub fn handle_blocked_timeouts(&mut self) {
        let now = unix_ms();
        while let Some(&(deadline, slot)) = self.blocking.deadlines.first() {
            if deadline > now {
                break;
            }
            self.blocking.deadlines.pop_first();
            let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
            if let Some(state) = self.unblock(&mut c) {
                self.reply_timed_out(&mut c, state.on);
            }
            self.finish_unblocked(c);
        }
    }

    /// CLIENT UNBLOCK: wake a blocked client with a timeout reply or an UNBLOCKED error. Returns
    /// whether a client was blocked.
    pub fn unblock_client_by_id(&mut self, id: u64, with_error: bool) -> bool {
        let Some(slot) = self.clients.iter().find_map(|(s, c)| c.as_ref().filter(|c| c.id == id).map(|_| s)) else {
            return false;
        };
        // A client waiting for the shutdown has no timeout to fake: it stays blocked.
        if let Some(Some(c)) = self.clients.get(slot)
            && c.blocked.as_ref().is_some_and(|b| b.on == BlockedOn::Shutdown)
        {
            return false;
        }
        let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { return false };
        let state = self.unblock(&mut c);
        let was_blocked = state.is_some();
        if let Some(state) = state {
            if with_error {
                // Counted against the blocked command, as Redis's updateStatsOnUnblock does.
                self.cmd_stats[state.cmd_id].failed += 1;
                self.reply_error(&mut c, &CmdError::from("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
            } else {
                self.reply_timed_out(&mut c, state.on);
            }
            self.finish_unblocked(c);
        } else if let Some(e) = self.clients.get_mut(slot) {
            *e = Some(c);
        }
        was_blocked
    }

    /// Becoming a replica: every blocked client is told so and disconnected (Redis's
    /// disconnectAllBlockedClients), or a BLPOP served later would diverge from the new master.
    pub fn disconnect_all_blocked_clients(&mut self) {
        let blocked: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| c.blocked.is_some()))
            .map(|(s, _)| s)
            .collect();
        for slot in blocked {
            let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
            self.unblock(&mut c);
            c.reply
                .error(b"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
            c.flags |= cflags::CLOSE_AFTER_REPLY;
            self.finish_unblocked(c);
        }
    }

    /// Process the input that unblocked clients sent while they waited.
    pub fn resume_unblocked_clients(&mut self) {
        while !self.blocking.unblocked.is_empty() {
            for slot in std::mem::take(&mut self.blocking.unblocked) {
                let Some(Some(mut c)) = self.clients.get_mut(slot).map(Option::take) else { continue };
                if c.blocked.is_none() && c.qpos < c.qbuf.len() {
                    self.process_input(&mut c);
                }
                let close = c.has(cflags::CLOSE_ASAP);
                if let Some(e) = self.clients.get_mut(slot) {
                    *e = Some(c);
                }
                if close {
                    self.kill_client_slot(slot);
                } else {
                    self.queue_write(slot);
                }
            }
        }
    }
}
