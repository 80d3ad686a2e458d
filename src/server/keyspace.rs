//! Keyspace access with Redis's policies applied in one place: lazy expiry on lookup (delete on a
//! master, hide on a replica), hit/miss counters, the access clock, WATCH invalidation on every
//! modification, and the active-expire cycle run from the cron.
//!
//! Command handlers go through these methods rather than `Db` directly whenever a key is read or
//! changed, so no command forgets to expire, invalidate WATCH or count.

use crate::client::{Client, flags as cflags};
use crate::db::{Object, Value, Watcher};
use crate::server::{Server, unix_ms};

/// Keys sampled per database per active-expire loop (ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const EXPIRE_KEYS_PER_LOOP: usize = 20;
/// Share of CPU the slow cycle may use per cron tick, in percent.
const EXPIRE_SLOW_TIME_PERC: u64 = 25;
/// Keep looping over a db while more than this percent of sampled keys were expired.
const EXPIRE_ACCEPTABLE_STALE: u64 = 10;

impl Server {
    /// True when this instance follows a master: expired keys are hidden, not deleted.
    pub fn is_replica(&self) -> bool {
        self.config.replicaof().is_some()
    }

    /// Delete `key` if its time has passed. Returns true when the key is (logically) expired.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_key_if_due(db, key, false)
    }

    /// Lazy expiry before a write: as `expire_if_needed`, but a writable replica's own client
    /// deletes the key too, so the write starts from nothing (Redis's lookupKeyWrite).
    pub fn expire_if_needed_for_write(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_key_if_due(db, key, true)
    }

    /// Redis's expireIfNeeded. A replica leaves expired keys to its master's DELs: its own clients
    /// see them as gone, the master's stream sees them as they are, and only a write from a
    /// client of a writable replica (`force_delete`) removes one.
    fn expire_key_if_due(&mut self, db: usize, key: &[u8], force_delete: bool) -> bool {
        // Most datasets have few or no TTLs: skip the extra lookup when nothing can expire.
        // Nothing expires while a dataset loads: the commands replayed after may still use the key.
        if self.dbs[db].expires.is_empty() || self.loading {
            return false;
        }
        let when = self.dbs[db].expire_of(key);
        if when < 0 || (when as u64) > unix_ms() {
            return false;
        }
        if self.is_replica() {
            if self.executing_master_command() {
                return false;
            }
            if !force_delete {
                return true;
            }
        }
        self.delete_expired(db, key);
        true
    }

    /// Whether the command running now came from our master.
    pub fn executing_master_command(&self) -> bool {
        self.link.client_slot.is_some() && self.current_client.map(|(slot, _)| slot) == self.link.client_slot
    }

    /// Set a key's expiry (Redis's setExpire). Returns false when the key is missing.
    pub fn set_key_expire(&mut self, db: usize, key: &[u8], when_ms: i64) -> bool {
        let set = self.dbs[db].set_expire(key, when_ms);
        if set {
            self.remember_replica_key_expire(db, key);
        }
        set
    }

    /// On a writable replica, a TTL given by one of its own clients is remembered: the master never
    /// hears of the key, so no DEL will come, and the replica expires it itself
    /// (`expire_replica_keys`). Like Redis, only the first 64 databases are tracked.
    pub fn remember_replica_key_expire(&mut self, db: usize, key: &[u8]) {
        if !self.is_replica() || self.executing_master_command() || db >= 64 {
            return;
        }
        *self.replica_keys_with_expire.entry(key.to_vec()).or_insert(0) |= 1u64 << db;
    }

    /// The replica's counterpart of the active-expire cycle (Redis's expireSlaveKeys): delete the
    /// remembered keys whose time has passed, forget those that lost their TTL.
    pub fn expire_replica_keys(&mut self) {
        if self.replica_keys_with_expire.is_empty() {
            return;
        }
        let now = unix_ms() as i64;
        let mut due = Vec::new();
        self.replica_keys_with_expire.retain(|key, dbs_bits| {
            let mut bits = *dbs_bits;
            while bits != 0 {
                let db = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let when = self.dbs.get(db).map_or(-1, |d| d.expire_of(key));
                if when < 0 {
                    *dbs_bits &= !(1u64 << db);
                } else if when <= now {
                    due.push((db, key.clone()));
                    *dbs_bits &= !(1u64 << db);
                }
            }
            *dbs_bits != 0
        });
        for (db, key) in due {
            self.delete_expired(db, &key);
        }
        self.propagate_pending();
    }

    fn delete_expired(&mut self, db: usize, key: &[u8]) {
        self.dbs[db].remove(key);
        self.stats.expired_keys += 1;
        let lazy = self.config.lazyfree_lazy_expire();
        self.propagate_deletion(db, key, lazy);
        self.notify_keyspace_event(crate::server::keyspace::EVENT_EXPIRED, "expired", key, db);
        self.signal_removed_key(db, key);
    }

    /// Look a key up for reading: expires it if due, counts the hit or miss, refreshes its clock.
    pub fn lookup_read(&mut self, db: usize, key: &[u8]) -> Option<&mut Object> {
        // On a replica an expired key is still there, but its clients must not see it.
        let expired = self.expire_if_needed(db, key);
        let (clocks, random) = self.touch_inputs();
        match self.dbs[db].get_mut(key).filter(|_| !expired) {
            Some(o) => {
                self.stats.keyspace_hits += 1;
                o.lru = clocks.touched(o.lru, random);
                Some(o)
            }
            None => {
                self.stats.keyspace_misses += 1;
                None
            }
        }
    }

    /// Look a key up for writing: expires it if due (even on a replica); no hit/miss counting.
    pub fn lookup_write(&mut self, db: usize, key: &[u8]) -> Option<&mut Object> {
        self.expire_key_if_due(db, key, true);
        let (clocks, random) = self.touch_inputs();
        let o = self.dbs[db].get_mut(key)?;
        o.lru = clocks.touched(o.lru, random);
        Some(o)
    }

    /// What touching an object needs: the clocks, and a random draw only under LFU (its counter
    /// grows with a probability).
    fn touch_inputs(&mut self) -> (crate::db::access_clock::AccessClocks, f64) {
        let clocks = self.clocks;
        let random = match clocks.policy {
            crate::db::access_clock::AccessPolicy::Lfu(_) => self.random_unit(),
            crate::db::access_clock::AccessPolicy::Lru => 0.0,
        };
        (clocks, random)
    }

    /// Whether a live key exists, without touching counters or the clock (EXISTS-like checks).
    pub fn key_exists(&mut self, db: usize, key: &[u8]) -> bool {
        !self.expire_if_needed(db, key) && self.dbs[db].get(key).is_some()
    }

    /// Store a value (overwriting, dropping any TTL unless `keep_ttl`) and signal the change.
    pub fn set_key(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool) {
        let created = self.dbs[db].set(key, value, keep_ttl, self.clocks.fresh());
        self.signal_modified_key(db, key);
        if created {
            self.key_created(db, key);
        }
    }

    /// A key was added to `db` (Redis's dbAdd): the `new` keyspace event, and clients blocked on it
    /// may be served. Every path that creates a key calls this once.
    pub fn key_created(&mut self, db: usize, key: &[u8]) {
        // RENAME, MOVE, COPY and RESTORE create keys that may carry a TTL.
        if self.is_replica() && self.dbs[db].expire_of(key) >= 0 {
            self.remember_replica_key_expire(db, key);
        }
        self.signal_key_as_ready(db, key);
        self.notify_keyspace_event(EVENT_NEW, "new", key, db);
    }

    /// Delete a key if present (after lazy expiry); signals the change. Returns whether it existed.
    pub fn delete_key(&mut self, db: usize, key: &[u8]) -> bool {
        self.expire_if_needed(db, key);
        if self.dbs[db].remove(key).is_some() {
            self.signal_modified_key(db, key);
            true
        } else {
            false
        }
    }

    /// DEL's effect on one key, also what a *STORE command does with an empty result: delete it if
    /// present, with the `del` event and one change counted. Returns whether it existed.
    pub fn delete_key_notify(&mut self, db: usize, key: &[u8]) -> bool {
        if !self.delete_key(db, key) {
            return false;
        }
        self.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        self.dirty += 1;
        true
    }

    /// Whether `key` has an expiry in the past (Redis's keyIsExpired), without deleting it.
    pub fn key_is_expired(&self, db: usize, key: &[u8]) -> bool {
        let when = self.dbs[db].expire_of(key);
        when >= 0 && (when as u64) < unix_ms()
    }

    /// A key was modified: invalidate WATCHes on it (Redis's signalModifiedKey / touchWatchedKey).
    pub fn signal_modified_key(&mut self, db: usize, key: &[u8]) {
        let writer = self.current_client.map_or(0, |(_, id)| id);
        self.signal_modified_key_by(db, key, writer);
    }

    /// A key the server itself removed (expired or evicted): no client wrote it, so even a
    /// NOLOOP tracking client whose command triggered the removal hears of it.
    pub fn signal_removed_key(&mut self, db: usize, key: &[u8]) {
        self.signal_modified_key_by(db, key, 0);
    }

    fn signal_modified_key_by(&mut self, db: usize, key: &[u8], writer: u64) {
        // A stream deleted or replaced under a blocked XREADGROUP fails it; the serving pass
        // tells which keys still hold a stream.
        if self.blocking.stream_waiters > 0 {
            self.signal_key_as_ready(db, key);
        }
        if self.tracking.clients > 0 || self.tracking.total_keys() > 0 {
            self.tracking_invalidate_key(key, writer);
        }
        let d = &mut self.dbs[db];
        if d.watched.is_empty() {
            return;
        }
        let exists = d.dict.contains_key(key);
        let Some(watchers) = d.watched.get_mut(key) else { return };
        let mut dirty = Vec::new();
        for w in watchers.iter_mut() {
            if w.expired {
                // Watched while already expired: its deletion is no logical change.
                if !exists {
                    w.expired = false;
                    continue;
                }
                break;
            }
            dirty.push(w.client);
        }
        self.mark_dirty_cas(&dirty);
    }

    /// A whole db is about to be emptied (FLUSHDB/FLUSHALL) or swapped with `replaced_with` (SWAPDB):
    /// invalidate the WATCHes whose key logically changes (Redis's touchAllWatchedKeysInDb), and
    /// wake the stream readers whose stream goes.
    pub fn touch_all_watched_in_db(&mut self, emptied: usize, replaced_with: Option<usize>) {
        self.signal_deleted_streams(emptied, replaced_with);
        if self.dbs[emptied].watched.is_empty() {
            return;
        }
        let facts: Vec<(Vec<u8>, bool, bool, bool)> = self.dbs[emptied]
            .watched
            .keys()
            .map(|k| {
                let in_emptied = self.dbs[emptied].dict.contains_key(k);
                let in_replaced = replaced_with.is_some_and(|r| self.dbs[r].dict.contains_key(k));
                let replaced_expired = replaced_with.is_some_and(|r| self.key_is_expired(r, k));
                (k.to_vec(), in_emptied, in_replaced, replaced_expired)
            })
            .collect();
        let mut dirty = Vec::new();
        for (key, in_emptied, in_replaced, replaced_expired) in facts {
            if !in_emptied && !in_replaced {
                continue;
            }
            let Some(watchers) = self.dbs[emptied].watched.get_mut(key.as_slice()) else { continue };
            for w in watchers.iter_mut() {
                if w.expired {
                    if !in_replaced {
                        w.expired = false;
                        continue;
                    } else if replaced_expired {
                        continue;
                    }
                } else if !in_emptied && replaced_expired {
                    w.expired = true;
                    continue;
                }
                dirty.push(w.client);
            }
        }
        self.mark_dirty_cas(&dirty);
    }

    fn mark_dirty_cas(&mut self, ids: &[u64]) {
        if ids.is_empty() {
            return;
        }
        let current_id = self.current_client.map(|(_, id)| id);
        for &id in ids {
            if Some(id) == current_id {
                self.current_client_dirty_cas = true;
                continue;
            }
            for (_, slot) in self.clients.iter_mut() {
                if let Some(c) = slot
                    && c.id == id
                {
                    c.flags |= cflags::DIRTY_CAS;
                }
            }
        }
    }

    /// WATCH `key` in `db` for client `c` (no-op when already watched).
    pub fn watch_key(&mut self, c: &mut Client, db: usize, key: &[u8]) {
        if c.watched.iter().any(|(d, k)| *d == db && k.as_slice() == key) {
            return;
        }
        let expired = self.key_is_expired(db, key);
        self.dbs[db].watched.entry(key.into()).or_default().push(Watcher { client: c.id, expired });
        c.watched.push((db, key.to_vec()));
    }

    /// True when a key `c` watches has expired since it was watched (EXEC then fails).
    pub fn watched_key_expired(&self, c: &Client) -> bool {
        c.watched.iter().any(|(db, key)| {
            let was_expired = self.dbs[*db]
                .watched
                .get(key.as_slice())
                .and_then(|ws| ws.iter().find(|w| w.client == c.id))
                .is_some_and(|w| w.expired);
            !was_expired && self.key_is_expired(*db, key)
        })
    }

    /// Forget every key `c` WATCHes.
    pub fn unwatch_all(&mut self, c: &mut Client) {
        for (db, key) in c.watched.drain(..) {
            if let Some(db) = self.dbs.get_mut(db)
                && let Some(ws) = db.watched.get_mut(key.as_slice())
            {
                ws.retain(|w| w.client != c.id);
                if ws.is_empty() {
                    db.watched.remove(key.as_slice());
                }
            }
        }
    }

    /// Publish a keyspace event (`notify-keyspace-events`): `__keyspace@<db>__:<key>` carries the
    /// event name, `__keyevent@<db>__:<event>` the key. The one place every command reports to.
    pub fn notify_keyspace_event(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        let enabled = self.config.notify_keyspace_events();
        if enabled & class == 0 {
            return;
        }
        if enabled & crate::config::notify::KEYSPACE != 0 {
            let mut chan = format!("__keyspace@{db}__:").into_bytes();
            chan.extend_from_slice(key);
            self.publish(&chan, event.as_bytes(), false);
        }
        if enabled & crate::config::notify::KEYEVENT != 0 {
            let chan = format!("__keyevent@{db}__:{event}");
            self.publish(chan.as_bytes(), key, false);
        }
    }

    /// Redis's slow active-expire cycle: sample keys with a TTL in each db, delete the expired ones,
    /// keep going on a db while many were stale, and stop at the time budget.
    pub fn active_expire_cycle(&mut self) {
        if !self.active_expire_enabled || self.is_replica() {
            return;
        }
        // Expired keys are unrelated to each other: their DELs are not wrapped in MULTI/EXEC.
        self.prop.no_multi = true;
        let effort = self.config.active_expire_effort().clamp(1, 10) as u64 - 1;
        let per_loop = EXPIRE_KEYS_PER_LOOP + EXPIRE_KEYS_PER_LOOP / 4 * effort as usize;
        let acceptable_stale = EXPIRE_ACCEPTABLE_STALE.saturating_sub(effort);
        let budget_us = (EXPIRE_SLOW_TIME_PERC + 2 * effort) * 1_000_000 / self.hz.max(1) as u64 / 100;
        let start = crate::server::unix_us();
        let mut sampled_total = 0u64;
        let mut expired_total = 0u64;
        for db in 0..self.dbs.len() {
            loop {
                if self.dbs[db].expires.is_empty() {
                    break;
                }
                let now = unix_ms() as i64;
                let mut due = Vec::new();
                let mut sampled = 0usize;
                let mut ttl_sum = 0i64;
                let mut ttl_n = 0i64;
                let mut cursor = self.dbs[db].expire_cursor;
                let mut buckets = 0;
                while sampled < per_loop && buckets < per_loop * 20 {
                    let d = &self.dbs[db];
                    cursor = d.expires.scan(cursor, |k, &when| {
                        sampled += 1;
                        if when <= now {
                            due.push(k.to_vec());
                        } else if when > now {
                            ttl_sum += when - now;
                            ttl_n += 1;
                        }
                    });
                    buckets += 1;
                    if cursor == 0 {
                        break;
                    }
                }
                self.dbs[db].expire_cursor = cursor;
                let expired = due.len();
                for k in due {
                    self.delete_expired(db, &k);
                }
                if ttl_n > 0 {
                    let avg = ttl_sum / ttl_n;
                    let prev = self.dbs[db].avg_ttl;
                    self.dbs[db].avg_ttl = if prev == 0 { avg } else { (prev / 50) * 49 + avg / 50 };
                }
                sampled_total += sampled as u64;
                expired_total += expired as u64;
                if crate::server::unix_us() - start > budget_us {
                    self.stats.expired_time_cap_reached += 1;
                    break;
                }
                if sampled == 0 || (expired as u64) * 100 / (sampled as u64) <= acceptable_stale {
                    break;
                }
            }
        }
        let stale = if sampled_total == 0 { 0.0 } else { expired_total as f64 / sampled_total as f64 };
        self.stats.expired_stale_perc = stale * 0.05 + self.stats.expired_stale_perc * 0.95;
        self.propagate_pending();
        self.prop.no_multi = false;
    }
}

/// Keyspace-event classes (Redis's NOTIFY_* bits), under the names commands use.
pub use crate::config::notify::{
    EVICTED as EVENT_EVICTED, EXPIRED as EVENT_EXPIRED, GENERIC as EVENT_GENERIC, HASH as EVENT_HASH,
    KEY_MISS as EVENT_KEY_MISS, LIST as EVENT_LIST, NEW as EVENT_NEW, SET as EVENT_SET, STREAM as EVENT_STREAM,
    STRING as EVENT_STRING, ZSET as EVENT_ZSET,
};
