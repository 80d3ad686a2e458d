//! The replica side of a diskless full sync (`repl-diskless-load`): the master's RDB is parsed
//! record by record as it arrives on the link, never written to disk and never held whole.
//!
//! - `on-empty-db` (or `swapdb` with a new history): the old dataset is gone or hidden, the server
//!   reports `loading:1` and answers -LOADING, as Redis does during its blocking load.
//! - `swapdb` with the master's history unchanged (same replid): *async loading*. Keys go to a
//!   separate set of databases while clients keep reading the old ones (`async_loading:1`); the
//!   new set replaces the old only when the whole RDB loaded. A failed transfer leaves the old
//!   dataset as it was.
//!
//! Never blocks the event loop: parsing stops where the received bytes end, and the testing knob
//! `key-load-delay` becomes a timer instead of a sleep, during which the link is not read, so a
//! slow load pushes back on the master as Redis's blocking load does.

use std::time::{Duration, Instant};

use crate::db::Db;
use crate::persistence::rdb;
use crate::persistence::rdb_load::{LoadEvent, RdbLoader, Step};
use crate::server::Server;

/// Parsed bytes are dropped from the link buffer in batches of at least this much.
const COMPACT_AT: usize = 64 * 1024;

/// A diskless load in progress.
pub struct StreamingLoad {
    loader: RdbLoader,
    /// swapdb: the databases being filled, swapped in when the load succeeds.
    temp_dbs: Option<Vec<Db>>,
    /// FUNCTION libraries found so far, loaded once the RDB is complete.
    functions: Vec<Vec<u8>>,
    /// The old dataset stays readable meanwhile (swapdb, same history).
    pub async_loading: bool,
    /// Bytes at the front of the link buffer already parsed.
    parsed: usize,
    /// key-load-delay: parsing resumes at this instant.
    resume_at: Option<Instant>,
    /// A record cut short is parsed again only once this many unparsed bytes are at hand (twice
    /// what the last attempt had), so a huge key is not decoded again for every chunk.
    retry_at: usize,
    /// key-load-delay owed and not slept yet, in microseconds.
    delay_debt_us: u64,
    keys_loaded: u64,
}

/// What a round of parsing achieved.
pub enum Pump {
    /// Everything received is parsed; read more from the link.
    NeedMore,
    /// Waiting for the key-load-delay timer.
    Paused,
    /// The RDB (and its EOF mark) loaded: the link is the master's stream now.
    Finished,
    /// The transfer is corrupt; the link must be dropped.
    Failed,
}

impl std::fmt::Debug for StreamingLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamingLoad")
            .field("consumed", &self.loader.consumed())
            .field("swapdb", &self.temp_dbs.is_some())
            .field("async_loading", &self.async_loading)
            .field("keys_loaded", &self.keys_loaded)
            .finish()
    }
}

impl StreamingLoad {
    /// Drop the wait for more bytes before the next attempt; true when there was one.
    pub fn retry_now(&mut self) -> bool {
        std::mem::take(&mut self.retry_at) != 0
    }

    pub fn resume_at(&self) -> Option<Instant> {
        self.resume_at
    }
}

impl Server {
    /// The payload header arrived and the load is diskless: prepare the databases it fills.
    pub(super) fn repl_streaming_load_start(&mut self) {
        // A background save would race the new dataset (and double its memory).
        self.kill_rdb_child();
        let swapdb = self.config.repl_diskless_load() == 2;
        let mut async_loading = false;
        let temp_dbs = if swapdb {
            // Same history: the old data is an earlier point of what arrives, fine to keep serving.
            async_loading = self.repl.replid.eq_ignore_ascii_case(self.link.sync_replid());
            Some((0..self.dbs.len()).map(Db::new).collect())
        } else {
            self.repl_attach_to_new_master();
            log::info!("MASTER <-> REPLICA sync: Flushing old data");
            self.flush_all();
            self.scripting.flush_functions();
            None
        };
        log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        self.link.streaming = Some(Box::new(StreamingLoad {
            loader: RdbLoader::new(),
            temp_dbs,
            functions: Vec::new(),
            async_loading,
            parsed: 0,
            resume_at: None,
            retry_at: 0,
            delay_debt_us: 0,
            keys_loaded: 0,
        }));
    }

    /// Redis's replicationAttachToNewMaster: our replicas must resync with the new history, and
    /// our backlog no longer describes it.
    pub(super) fn repl_attach_to_new_master(&mut self) {
        self.repl_disconnect_replicas();
        self.repl.backlog = None;
    }

    /// A diskless load (not async) is running: clients get -LOADING and INFO says loading:1.
    pub fn repl_diskless_loading(&self) -> bool {
        self.link.streaming.as_ref().is_some_and(|l| !l.async_loading)
    }

    /// INFO async_loading.
    pub fn repl_async_loading(&self) -> bool {
        self.link.streaming.as_ref().is_some_and(|l| l.async_loading)
    }

    /// Any diskless load, async or not (configs that must not change under a load refuse).
    pub fn repl_streaming_load_active(&self) -> bool {
        self.link.streaming.is_some()
    }

    /// When a paused load wants to continue (the reactor wakes up for it).
    pub fn repl_load_resume_at(&self) -> Option<Instant> {
        self.link.streaming.as_ref().and_then(|l| l.resume_at())
    }

    /// Parse what has arrived, apply it, and finish the sync when the RDB is complete.
    pub(super) fn repl_streaming_pump(&mut self) -> Pump {
        let Some(mut load) = self.link.streaming.take() else { return Pump::NeedMore };
        let outcome = self.repl_streaming_parse(&mut load);
        match outcome {
            Pump::Finished => {
                self.link.drain_front(load.parsed);
                self.repl_streaming_finish(*load);
            }
            Pump::Failed => {
                self.link.streaming = Some(load);
                self.repl_streaming_load_abort();
            }
            Pump::NeedMore | Pump::Paused => {
                if load.parsed >= COMPACT_AT {
                    self.link.drain_front(load.parsed);
                    load.parsed = 0;
                }
                self.link.streaming = Some(load);
            }
        }
        outcome
    }

    fn repl_streaming_parse(&mut self, load: &mut StreamingLoad) -> Pump {
        if let Some(at) = load.resume_at {
            if Instant::now() < at {
                return Pump::Paused;
            }
            load.resume_at = None;
        }
        let limits = self.load_limits();
        let clocks = self.clocks;
        let key_delay_us = u64::try_from(self.config.key_load_delay()).unwrap_or(0);
        loop {
            let (data, complete) = self.link.payload_bytes(load.parsed, load.loader.consumed());
            if !complete && data.len() < load.retry_at {
                return Pump::NeedMore;
            }
            let at_hand = data.len();
            let step = load.loader.step(data, complete, &limits);
            let (step, used) = match step {
                Ok(s) => s,
                Err(e) => {
                    log::warn!("Failed trying to load the MASTER synchronization DB from socket: {e}");
                    return Pump::Failed;
                }
            };
            load.parsed += used;
            match step {
                Step::NeedMore => {
                    load.retry_at = at_hand.saturating_mul(2).max(at_hand + 16 * 1024);
                    return Pump::NeedMore;
                }
                Step::Skipped => load.retry_at = 0,
                Step::Done => {
                    return match self.link.eof_mark_check(load.parsed, load.loader.consumed()) {
                        None => Pump::NeedMore,
                        Some(Ok(mark_len)) => {
                            load.parsed += mark_len;
                            Pump::Finished
                        }
                        Some(Err(())) => {
                            log::warn!("Replication stream EOF marker is broken");
                            Pump::Failed
                        }
                    };
                }
                Step::Event(LoadEvent::Function(code)) => {
                    load.retry_at = 0;
                    load.functions.push(code);
                }
                Step::Event(LoadEvent::Resize { db, keys, expires }) => {
                    load.retry_at = 0;
                    let dbs = load.temp_dbs.as_mut().unwrap_or(&mut self.dbs);
                    if let Some(d) = dbs.get_mut(db) {
                        d.dict.reserve_for(keys.min(1 << 32) as usize);
                        d.expires.reserve_for(expires.min(1 << 32) as usize);
                    }
                }
                Step::Event(LoadEvent::Key(k)) => {
                    load.retry_at = 0;
                    let dbs = load.temp_dbs.as_mut().unwrap_or(&mut self.dbs);
                    let Some(db) = dbs.get_mut(k.db) else {
                        log::warn!(
                            "Failed trying to load the MASTER synchronization DB from socket: db number out of range"
                        );
                        return Pump::Failed;
                    };
                    // A replica keeps keys its master will expire: the master's DEL decides.
                    let obj = rdb::object_for(k.value, &clocks, k.idle_secs, k.freq);
                    db.remove(&k.key);
                    db.add_object(&k.key, obj, k.expire_ms);
                    load.keys_loaded += 1;
                    // Parsing counts as activity on the link (a slow load is not a dead master).
                    self.link.last_io_ms = crate::server::unix_ms();
                    if key_delay_us > 0 {
                        load.delay_debt_us += key_delay_us;
                        if load.delay_debt_us >= 1000 {
                            load.resume_at = Some(Instant::now() + Duration::from_micros(load.delay_debt_us));
                            load.delay_debt_us = 0;
                            return Pump::Paused;
                        }
                    }
                }
            }
        }
    }

    /// The whole RDB loaded: make it the dataset and continue with the stream.
    fn repl_streaming_finish(&mut self, load: StreamingLoad) {
        if let Some(mut temp) = load.temp_dbs {
            self.repl_attach_to_new_master();
            log::info!("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
            for db in 0..self.dbs.len() {
                self.touch_all_watched_in_db(db, None);
            }
            self.tracking_invalidate_all();
            std::mem::swap(&mut self.dbs, &mut temp);
            self.replica_keys_with_expire.clear();
            drop(temp);
            log::info!("MASTER <-> REPLICA sync: Discarding old DB in background");
        }
        self.scripting.flush_functions();
        for code in &load.functions {
            if let Err(e) = self.function_load_code(code, true) {
                log::warn!("Failed loading library: {}", String::from_utf8_lossy(e.text()));
            }
        }
        self.rdb.last_load_keys_loaded = load.keys_loaded;
        self.rdb.last_load_keys_expired = 0;
        // The dataset changed without a save.
        self.dirty += 1;
        self.repl_full_sync_loaded();
    }

    /// The transfer broke off (corrupt data, link lost, REPLICAOF elsewhere): swapdb drops what it
    /// half-loaded and keeps the old dataset; a load into the live databases leaves them empty.
    pub(super) fn repl_streaming_load_abort(&mut self) {
        let Some(load) = self.link.streaming.take() else { return };
        if load.temp_dbs.is_some() {
            log::info!("MASTER <-> REPLICA sync: Discarding temporary DB in background");
        } else {
            self.flush_all();
        }
    }
}
