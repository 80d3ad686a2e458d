//! Coordinated failover (Redis 6.2's FAILOVER): the master pauses writes, waits for a replica (a
//! given one, or any) to acknowledge its whole stream, then turns itself into that replica's
//! replica with `PSYNC <replid> <offset> FAILOVER`, which makes the target a master that continues
//! the same history. TIMEOUT aborts (or, with FORCE, fails over anyway); ABORT cancels.
//!
//! Owns the failover state only; the role changes go through the replica/master code. Never
//! blocks: progress is checked before each sleep.

use crate::server::{Server, unix_ms};

use super::master::{ConnectedReplica, ReplicaState, replica_ip};

/// Redis's failover_state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailoverState {
    #[default]
    None,
    /// Writes paused; waiting for the target to acknowledge everything.
    WaitForSync,
    /// We follow the target and sent it PSYNC ... FAILOVER.
    InProgress,
}

#[derive(Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    /// The chosen replica, when one is known.
    pub target: Option<(String, u16)>,
    /// Unix ms after which the wait ends (0: no TIMEOUT).
    pub end_ms: u64,
    pub force: bool,
}

impl Failover {
    /// INFO's master_failover_state.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            FailoverState::None => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }

    /// Writes are held back while a failover runs (Redis's PAUSE_DURING_FAILOVER).
    pub fn pauses_writes(&self) -> bool {
        self.state != FailoverState::None
    }
}

impl Server {
    /// The replica client known as `host:port` (its announced or peer address, and its
    /// listening port).
    fn failover_find_replica(&self, host: &str, port: u16) -> Option<usize> {
        self.repl.replicas.iter().copied().find(|&s| match self.clients.get(s) {
            Some(Some(c)) => {
                c.replica.as_ref().is_some_and(|r| r.listening_port == port)
                    && replica_ip(c).is_some_and(|ip| ip.eq_ignore_ascii_case(host))
            }
            _ => false,
        })
    }

    /// FAILOVER [TO host port] [FORCE] [TIMEOUT ms] once parsed: start waiting for the target.
    pub fn failover_start(
        &mut self,
        target: Option<(String, u16)>,
        force: bool,
        timeout_ms: u64,
    ) -> Result<(), &'static str> {
        if self.failover.state != FailoverState::None {
            return Err("FAILOVER already in progress.");
        }
        if self.is_replica() {
            return Err("FAILOVER is not valid when server is a replica.");
        }
        if self.repl.replicas.is_empty() {
            return Err("FAILOVER requires connected replicas.");
        }
        if force && (timeout_ms == 0 || target.is_none()) {
            return Err("FAILOVER with force option requires both a timeout and target HOST and IP.");
        }
        match &target {
            Some((host, port)) => {
                let Some(slot) = self.failover_find_replica(host, *port) else {
                    return Err("FAILOVER target HOST and PORT is not a replica.");
                };
                if !self.connected_replica(slot).is_some_and(|r| r.state == ReplicaState::Online) {
                    return Err("FAILOVER target replica is not online.");
                }
                log::info!("FAILOVER requested to {host}:{port}.");
            }
            None => log::info!("FAILOVER requested to any replica."),
        }
        self.failover = Failover {
            state: FailoverState::WaitForSync,
            target,
            end_ms: if timeout_ms > 0 { unix_ms().saturating_add(timeout_ms) } else { 0 },
            force,
        };
        Ok(())
    }

    /// Back to normal: writes resume.
    fn failover_clear(&mut self) {
        self.failover = Failover::default();
        self.resume_paused_clients();
    }

    /// Give up; if we already follow the target, become a master again.
    pub fn failover_abort(&mut self, why: &str) {
        if self.failover.state == FailoverState::None {
            return;
        }
        match &self.failover.target {
            Some((h, p)) => log::info!("FAILOVER to {h}:{p} aborted: {why}"),
            None => log::info!("FAILOVER to any replica aborted: {why}"),
        }
        if self.failover.state == FailoverState::InProgress {
            self.repl_unset_master();
        }
        self.failover_clear();
    }

    /// Before each sleep: time out, or fail over once the target acknowledged the whole stream.
    pub fn failover_update(&mut self) {
        if self.failover.state != FailoverState::WaitForSync {
            return;
        }
        if self.failover.end_ms != 0 && self.failover.end_ms <= unix_ms() {
            if self.failover.force {
                if let Some((host, port)) = self.failover.target.clone() {
                    log::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
                    self.failover.state = FailoverState::InProgress;
                    self.repl_set_master(&host, port);
                }
            } else {
                self.failover_abort("Replica never caught up before timeout");
            }
            return;
        }
        let offset = self.repl.master_repl_offset;
        let acked = |r: &ConnectedReplica| r.ack_offset == offset;
        let caught_up = match self.failover.target.clone() {
            Some((host, port)) => {
                self.failover_find_replica(&host, port).and_then(|s| self.connected_replica(s)).is_some_and(acked)
            }
            None => {
                let found = self.replicas_where(acked).into_iter().find_map(|s| match self.clients.get(s) {
                    Some(Some(c)) => Some((replica_ip(c)?, c.replica.as_ref().map_or(0, |r| r.listening_port))),
                    _ => None,
                });
                let any = found.is_some();
                if any {
                    self.failover.target = found;
                }
                any
            }
        };
        if caught_up && let Some((host, port)) = self.failover.target.clone() {
            self.failover.state = FailoverState::InProgress;
            log::info!("Failover target {host}:{port} is synced, failing over.");
            self.repl_set_master(&host, port);
        }
    }

    /// The target answered our PSYNC ... FAILOVER: +CONTINUE or +FULLRESYNC completes the
    /// failover, anything else undoes it.
    pub fn failover_psync_answered(&mut self, accepted: bool) {
        if self.failover.state != FailoverState::InProgress {
            return;
        }
        if accepted {
            self.failover_clear();
        } else {
            self.failover_abort("Failover target rejected psync request");
        }
    }
}
