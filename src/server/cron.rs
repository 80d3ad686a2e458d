//! The periodic tasks run `hz` times a second (Redis's serverCron): the LRU clock, instantaneous
//! rates, idle-client timeouts, active expiry, incremental rehashing and table shrinking.
//!
//! Every task here is bounded in time; the cron must never hold the loop for long.

use std::time::Duration;

use crate::client::flags as cflags;
use crate::server::{Server, unix_ms};

impl Server {
    pub fn cron(&mut self) {
        // A signal asked for shutdown, or a shutdown waits for its replicas: both are handled here,
        // as Redis's serverCron does (SHUTDOWN ABORT can still cancel them until then).
        if self.exit_code.is_none() && self.shutdown_cron() {
            self.exit_code = Some(0);
            return;
        }
        self.cronloops += 1;
        self.update_access_clocks();
        let now = unix_ms();
        self.ops_rate.track(self.stats.commands_processed, now);
        self.net_in_rate.track(self.stats.net_input_bytes, now);
        self.net_out_rate.track(self.stats.net_output_bytes, now);
        if let Some(p) = self.pause
            && now >= p.until_ms
        {
            self.pause = None;
            self.resume_paused_clients();
        }
        self.clients_cron(now);
        if !self.migrate_sockets.is_empty() {
            self.migrate_sockets.close_idle(now / 1000);
        }
        self.databases_cron();
        self.persistence_cron();
        self.replication_cron();
    }

    /// Close clients idle for longer than `timeout` seconds (never MONITORs).
    fn clients_cron(&mut self, now: u64) {
        let timeout = self.config.timeout();
        let mut idle = Vec::new();
        for (slot, c) in self.clients.iter_mut() {
            let Some(c) = c else { continue };
            c.qbuf_peak = c.qbuf.len() - c.qpos;
            if timeout > 0
                && !c.has(cflags::MONITOR)
                && c.replica.is_none()
                && !c.is_master
                && now.saturating_sub(c.last_interaction_ms) / 1000 > timeout as u64
            {
                idle.push(slot);
            } else if c.qbuf.capacity() > 32 * 1024 && c.qbuf.len() < c.qbuf.capacity() / 4 {
                // Give back a query buffer that grew for one big request.
                c.qbuf.shrink_to(c.qbuf.len().max(16 * 1024));
            }
        }
        for slot in idle {
            log::debug!("Closing idle client");
            self.kill_client_slot(slot);
        }
    }

    fn databases_cron(&mut self) {
        if self.is_replica() {
            self.expire_replica_keys();
        } else {
            self.active_expire_cycle();
        }
        for db in &mut self.dbs {
            db.dict.shrink_if_needed();
            db.expires.shrink_if_needed();
        }
        // Like Redis's activerehashing: a millisecond of rehash work per db per tick at most.
        for db in &mut self.dbs {
            if db.dict.is_rehashing() {
                db.dict.rehash_for(Duration::from_millis(1));
                break;
            }
            if db.expires.is_rehashing() {
                db.expires.rehash_for(Duration::from_millis(1));
                break;
            }
        }
    }
}
