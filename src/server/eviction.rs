//! `maxmemory` eviction (Redis's evict.c, approximated the same way): before a command runs, while
//! the allocator reports more than `maxmemory` in use, sample `maxmemory-samples` keys per
//! database under the configured policy and delete the best candidate (the longest idle for LRU,
//! the least used for LFU, the nearest expiry for volatile-ttl, any for random).
//!
//! It only ever deletes whole keys, with the `evicted` keyspace event and the evicted_keys counter;
//! when the policy finds nothing to evict (noeviction, or no volatile keys) it reports failure and
//! the dispatcher refuses memory-growing commands with OOM. Never evicts on a replica: the master
//! decides what exists there.

use crate::server::Server;
use crate::server::keyspace::EVENT_EVICTED;

/// Keys deleted per call at most, so a huge overshoot cannot stall the loop in one command.
const MAX_EVICTIONS_PER_CALL: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pool {
    AllKeys,
    Volatile,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pick {
    Idle,
    Ttl,
    Random,
}

fn policy(name: &str) -> Option<(Pool, Pick)> {
    Some(match name {
        "allkeys-lru" | "allkeys-lfu" => (Pool::AllKeys, Pick::Idle),
        "allkeys-random" => (Pool::AllKeys, Pick::Random),
        "volatile-lru" | "volatile-lfu" => (Pool::Volatile, Pick::Idle),
        "volatile-random" => (Pool::Volatile, Pick::Random),
        "volatile-ttl" => (Pool::Volatile, Pick::Ttl),
        _ => return None,
    })
}

impl Server {
    /// Evict until under `maxmemory`. Returns false when memory is still over the limit and the
    /// policy cannot free more (the caller then refuses commands that may grow memory).
    pub fn perform_evictions(&mut self) -> bool {
        let limit = self.config.maxmemory();
        if limit == 0 || self.is_replica() {
            return true;
        }
        if crate::allocator::used_memory() <= limit {
            return true;
        }
        let Some((pool, pick)) = policy(self.config.maxmemory_policy()) else { return false };
        // Evicted keys are unrelated to each other: their DELs are not wrapped in MULTI/EXEC.
        self.prop.no_multi = true;
        let lazy = self.config.lazyfree_lazy_eviction();
        let mut freed_enough = false;
        for _ in 0..MAX_EVICTIONS_PER_CALL {
            let Some((db, key)) = self.eviction_candidate(pool, pick) else { break };
            self.dbs[db].remove(&key);
            self.stats.evicted_keys += 1;
            self.signal_removed_key(db, &key);
            self.notify_keyspace_event(EVENT_EVICTED, "evicted", &key, db);
            self.propagate_deletion(db, &key, lazy);
            if crate::allocator::used_memory() <= limit {
                freed_enough = true;
                break;
            }
        }
        self.propagate_pending();
        self.prop.no_multi = false;
        freed_enough || crate::allocator::used_memory() <= limit
    }

    /// The best of a few sampled keys across databases for `pick`.
    fn eviction_candidate(&mut self, pool: Pool, pick: Pick) -> Option<(usize, Vec<u8>)> {
        let samples = self.config.maxmemory_samples();
        let clocks = self.clocks;
        // (rank, db, key): higher rank is a better victim.
        let mut best: Option<(u64, usize, Vec<u8>)> = None;
        // A local generator: the sampled dicts borrow the server, whose own generator is `&mut`.
        let mut state = self.random() | 1;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for db in 0..self.dbs.len() {
            let d = &self.dbs[db];
            let empty = match pool {
                Pool::AllKeys => d.dict.is_empty(),
                Pool::Volatile => d.expires.is_empty(),
            };
            if empty {
                continue;
            }
            for _ in 0..samples {
                let sampled = match pool {
                    Pool::AllKeys => d.dict.random(&mut rng).map(|(k, o)| (k.to_vec(), o.lru, 0)),
                    Pool::Volatile => d.expires.random(&mut rng).map(|(k, &when)| {
                        let lru = d.get(k).map_or(clocks.fresh(), |o| o.lru);
                        (k.to_vec(), lru, when)
                    }),
                };
                let Some((key, lru, when)) = sampled else { continue };
                let rank = match pick {
                    Pick::Idle => clocks.eviction_rank(lru),
                    Pick::Ttl => u64::MAX - when.max(0) as u64,
                    Pick::Random => 0,
                };
                if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
                    best = Some((rank, db, key));
                }
                if pick == Pick::Random {
                    break;
                }
            }
            if pick == Pick::Random && best.is_some() {
                break;
            }
        }
        best.map(|(_, db, key)| (db, key))
    }
}
