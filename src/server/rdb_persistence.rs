//! RDB persistence as the server drives it: SAVE in the foreground, BGSAVE in a forked child, save
//! points checked from the cron, the child reaped without blocking, loading at startup, and the
//! INFO persistence counters.
//!
//! A save always writes `temp-<pid>.rdb` in `dir`, fsyncs it and renames it over `dbfilename`, so a
//! failed or interrupted save never replaces the previous good dump. The event loop never waits for
//! a child: the cron polls it with WNOHANG. The child only serializes the memory it inherited and
//! exits; it never touches sockets.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use crate::persistence::rdb::{self, LoadLimits, LoadStats, SaveInfo, SaveOptions};
use crate::persistence::rdb_load::{LoadEvent, RdbLoader, Step};
use crate::server::child_info::InfoKind;
use crate::server::incremental_fsync::IncrementalSyncFile;
use crate::server::{Server, unix_ms};

/// A failed BGSAVE is retried by the save points only after this many seconds (CONFIG_BGSAVE_RETRY_DELAY).
const BGSAVE_RETRY_DELAY: u64 = 5;

/// The background child, while one runs.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    pub pid: i32,
    pub started_unix: u64,
}

/// How a background child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildExit {
    Success,
    /// Exited with a non-zero code.
    Failed,
    /// Killed by this signal (SIGUSR1 is how we stop one on purpose).
    Signaled(i32),
    /// waitpid itself failed: the child's fate is unknown.
    Lost,
}

impl Child {
    /// Reap the child if it ended, without blocking (None while it runs). Table resizes are allowed
    /// again once it is gone.
    pub fn try_reap(&self) -> Option<ChildExit> {
        let mut status = 0;
        // SAFETY: plain waitpid on our own child with WNOHANG.
        let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        if r == 0 {
            return None;
        }
        crate::db::dict::set_resize_allowed(true);
        Some(if r < 0 {
            ChildExit::Lost
        } else if libc::WIFEXITED(status) {
            if libc::WEXITSTATUS(status) == 0 { ChildExit::Success } else { ChildExit::Failed }
        } else {
            ChildExit::Signaled(libc::WTERMSIG(status))
        })
    }

    /// Stop the child with SIGUSR1 (which does not count as a failed save) and reap it.
    pub fn kill_and_reap(&self) {
        let mut status = 0;
        // SAFETY: signalling and reaping our own child; SIGUSR1 ends it at once.
        unsafe {
            libc::kill(self.pid, libc::SIGUSR1);
            libc::waitpid(self.pid, &mut status, 0);
        }
        crate::db::dict::set_resize_allowed(true);
    }
}

/// Counters and state of RDB saving (INFO persistence).
#[derive(Debug)]
pub struct RdbState {
    pub child: Option<Child>,
    pub last_bgsave_ok: bool,
    pub last_bgsave_try: u64,
    pub last_bgsave_time_sec: i64,
    pub dirty_before_bgsave: u64,
    pub bgsave_scheduled: bool,
    pub saves: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// The running BGSAVE serves replicas waiting for a full resync.
    pub for_replication: bool,
    /// ... by streaming to their sockets (diskless) rather than to the dump file.
    pub to_sockets: bool,
}

impl Default for RdbState {
    fn default() -> Self {
        RdbState {
            child: None,
            last_bgsave_ok: true,
            last_bgsave_try: 0,
            last_bgsave_time_sec: -1,
            dirty_before_bgsave: 0,
            bgsave_scheduled: false,
            saves: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            for_replication: false,
            to_sockets: false,
        }
    }
}

/// A save or fork that did not happen; the reason is in the log, as with Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveFailed;

/// Why loading stopped.
#[derive(Debug)]
pub enum LoadError {
    /// No file to load (not an error at startup).
    Missing,
    Io(std::io::Error),
    Format(crate::persistence::rdb_io::RdbError),
}

impl Server {
    /// Fork a background child (BGSAVE, BGREWRITEAOF) that runs `job` under the process title
    /// `title` and exits with its code. Counts the fork in INFO (total_forks, latest_fork_usec).
    /// Returns the child in the parent.
    pub fn fork_child(&mut self, title: &str, job: impl FnOnce(&Server) -> i32) -> std::io::Result<Child> {
        let start = crate::server::unix_us();
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the server is single-threaded apart from the AOF fsync helper, which holds no lock
        // the child could need; the child only serializes the memory it inherited and leaves with
        // _exit, running no destructors and touching no descriptor but its own output file.
        let keys_total = self.dbs.iter().map(|d| d.dict.len() as u64).sum();
        self.child_info.open(keys_total);
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // A child whose parent died (kill -9, the OOM killer) has no one to hand its work to:
            // it goes too, as Redis's does when it can no longer report to its parent.
            // SAFETY: prctl and getppid only act on this process.
            unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGUSR1);
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            crate::log::set_role(b'C');
            self.child_info.enter_child(if title == "redis-aof-rewrite" { "AOF rewrite" } else { "RDB" });
            self.update_proc_title(Some(title));
            let code = job(self);
            // SAFETY: leaving the child without unwinding or flushing the parent's state.
            unsafe { libc::_exit(code) };
        }
        if pid < 0 {
            let e = std::io::Error::last_os_error();
            self.child_info.child_done(false);
            return Err(e);
        }
        self.child_info.forked();
        self.stats.total_forks += 1;
        self.stats.latest_fork_usec = crate::server::unix_us().saturating_sub(start);
        // Resizing tables now would copy every page the child shares with us.
        crate::db::dict::set_resize_allowed(false);
        Ok(Child { pid, started_unix: unix_ms() / 1000 })
    }

    pub(crate) fn rdb_save_options(&self) -> SaveOptions {
        SaveOptions { compression: self.config.rdbcompression(), checksum: self.config.rdbchecksum() }
    }

    pub(crate) fn rdb_save_info(&self) -> SaveInfo {
        let policy = self.config.maxmemory_policy();
        SaveInfo {
            used_mem: crate::allocator::used_memory(),
            // Where the stream stands, so a restarted replica (or one synced from this file) can
            // continue with PSYNC: a master with a backlog, or a replica with a master's history.
            replication: self
                .repl_stream_db()
                .map(|db| (db as i64, self.repl.replid.clone(), self.repl.master_repl_offset as i64)),
            aof_base: false,
            save_lru_idle: policy.ends_with("-lru"),
            save_lfu_freq: policy.ends_with("-lfu"),
            clocks: self.clocks,
            key_delay_us: self.config.rdb_key_save_delay(),
            functions: self.scripting.libraries.values().map(|l| l.code.clone()).collect(),
            progress: self.child_info.reporter(),
        }
    }

    /// The thresholds loaded values are rebuilt with.
    pub fn load_limits(&self) -> LoadLimits {
        LoadLimits {
            list: self.list_limits(),
            hash: crate::db::hash::Limits {
                max_entries: self.config.hash_max_listpack_entries(),
                max_value: self.config.hash_max_listpack_value(),
            },
            set_max_intset: crate::db::set::intset_limit(self.config.set_max_intset_entries()),
            zset: crate::db::zset::ZSetLimits {
                max_entries: self.config.zset_max_listpack_entries(),
                max_value: self.config.zset_max_listpack_value(),
            },
        }
    }

    /// Write the dataset to `filename` through a temp file (Redis's rdbSave). Logs like Redis; on
    /// success resets the dirty counter and LASTSAVE.
    pub fn rdb_save(&mut self, filename: &str) -> Result<(), SaveFailed> {
        let info = self.rdb_save_info();
        let opts = self.rdb_save_options();
        let result = write_rdb_file(&self.dbs, &info, opts, filename, self.config.rdb_save_incremental_fsync());
        if result.is_ok() {
            log::info!("DB saved on disk");
            self.dirty = 0;
            self.lastsave = unix_ms() / 1000;
            self.rdb.last_bgsave_ok = true;
        }
        result
    }

    /// BGSAVE: fork a child that writes the dump while the parent keeps serving.
    pub fn rdb_bgsave(&mut self) -> Result<(), SaveFailed> {
        if self.has_active_child() {
            return Err(SaveFailed);
        }
        self.rdb.saves += 1;
        self.rdb.dirty_before_bgsave = self.dirty;
        self.rdb.last_bgsave_try = unix_ms() / 1000;
        let filename = self.config.dbfilename().to_string();
        let opts = self.rdb_save_options();
        let forked = self.fork_child("redis-rdb-bgsave", |srv| {
            // Built in the child, where it carries the progress reporter.
            let info = srv.rdb_save_info();
            match write_rdb_file(&srv.dbs, &info, opts, &filename, srv.config.rdb_save_incremental_fsync()) {
                Ok(()) => {
                    log::info!("DB saved on disk");
                    if let Some(r) = &info.progress {
                        r.send(InfoKind::RdbCowSize, 0);
                    }
                    0
                }
                Err(SaveFailed) => 1,
            }
        });
        let child = match forked {
            Ok(child) => child,
            Err(e) => {
                self.rdb.last_bgsave_ok = false;
                log::warn!("Can't save in background: fork: {e}");
                return Err(SaveFailed);
            }
        };
        log::info!("Background saving started by pid {}", child.pid);
        self.rdb.child = Some(child);
        Ok(())
    }

    /// Reap a finished child (from the cron; never blocks) and record how it ended.
    pub fn check_child_done(&mut self) {
        if let Some(child) = self.aof.child {
            match child.try_reap() {
                Some(exit) => {
                    self.aof.child = None;
                    self.child_info.child_done(exit == ChildExit::Success);
                    self.aof_rewrite_done(child, exit);
                }
                None => self.child_info.receive(),
            }
            return;
        }
        let Some(child) = self.rdb.child else { return };
        let Some(exit) = child.try_reap() else {
            self.child_info.receive();
            return;
        };
        self.child_info.child_done(exit == ChildExit::Success);
        self.rdb_child_exited(child, exit);
        // Replicas that asked for a sync while it ran get the next one now (never from a kill:
        // whoever killed the child is about to change the dataset).
        if self.repl_should_start_bgsave() {
            self.repl_start_bgsave();
        }
    }

    /// Record how a reaped RDB child ended, and tell the replicas that waited for it.
    fn rdb_child_exited(&mut self, child: Child, exit: ChildExit) {
        self.rdb.child = None;
        self.rdb.last_bgsave_time_sec = (unix_ms() / 1000).saturating_sub(child.started_unix) as i64;
        if self.rdb.to_sockets {
            // A transfer to replicas: no dump file was written, nothing to record about saves.
            self.rdb.to_sockets = false;
            if exit != ChildExit::Success {
                // Whatever the child wrote last is not a whole RDB.
                self.repl_close_rdb_pipe();
            }
            match exit {
                ChildExit::Success => log::info!("Background RDB transfer terminated with success"),
                ChildExit::Signaled(sig) => log::warn!("Background transfer terminated by signal {sig}"),
                ChildExit::Failed | ChildExit::Lost => log::warn!("Background transfer error"),
            }
            self.repl_bgsave_done(exit == ChildExit::Success);
            return;
        }
        if self.rdb.for_replication {
            self.repl_bgsave_done(exit == ChildExit::Success);
        }
        match exit {
            ChildExit::Success => {
                log::info!("Background saving terminated with success");
                self.dirty = self.dirty.saturating_sub(self.rdb.dirty_before_bgsave);
                self.lastsave = unix_ms() / 1000;
                self.rdb.last_bgsave_ok = true;
            }
            ChildExit::Failed => {
                log::warn!("Background saving error");
                self.rdb.last_bgsave_ok = false;
            }
            ChildExit::Signaled(sig) => {
                log::warn!("Background saving terminated by signal {sig}");
                let _ = std::fs::remove_file(format!("temp-{}.rdb", child.pid));
                if sig != libc::SIGUSR1 {
                    self.rdb.last_bgsave_ok = false;
                }
            }
            ChildExit::Lost => self.rdb.last_bgsave_ok = false,
        }
    }

    /// The cron's persistence duties: reap the child, start a scheduled BGSAVE, and honour save
    /// points ("N changes in M seconds").
    pub fn persistence_cron(&mut self) {
        if self.has_active_child() {
            self.check_child_done();
        }
        if self.aof.is_on() || self.aof.rewrite_scheduled {
            self.aof_cron();
        }
        if self.has_active_child() {
            return;
        }
        if self.rdb.bgsave_scheduled {
            self.rdb.bgsave_scheduled = false;
            let _ = self.rdb_bgsave();
            return;
        }
        let now = unix_ms() / 1000;
        let retry_ok = self.rdb.last_bgsave_ok || now.saturating_sub(self.rdb.last_bgsave_try) > BGSAVE_RETRY_DELAY;
        let due =
            self.config.save_points().iter().copied().find(|&(secs, changes)| {
                self.dirty >= changes && now.saturating_sub(self.lastsave) >= secs && retry_ok
            });
        if let Some((secs, changes)) = due {
            log::info!("{changes} changes in {secs} seconds. Saving...");
            let _ = self.rdb_bgsave();
        }
    }

    /// Stop a running BGSAVE child (FLUSHALL, SHUTDOWN): it is signalled, reaped, and its temp file
    /// removed. Its exit does not count as a failed save (SIGUSR1, as in Redis).
    pub fn kill_rdb_child(&mut self) {
        let Some(child) = self.rdb.child else { return };
        child.kill_and_reap();
        // As if the cron had reaped it: replicas waiting for this save fail and resync.
        self.rdb_child_exited(child, ChildExit::Signaled(libc::SIGUSR1));
    }

    /// Writes refused while the last background save failed (stop-writes-on-bgsave-error).
    pub fn writes_refused_by_bgsave_error(&self) -> bool {
        self.config.stop_writes_on_bgsave_error() && !self.config.save_points().is_empty() && !self.rdb.last_bgsave_ok
    }

    /// Load `filename` into the (empty) keyspace, with Redis's log lines. Keys already expired are
    /// dropped unless this is a replica.
    pub fn rdb_load(&mut self, filename: &str) -> Result<LoadStats, LoadError> {
        let data = match std::fs::read(filename) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
            Err(e) => return Err(LoadError::Io(e)),
        };
        let keep_expired = self.is_replica();
        let was_loading = std::mem::replace(&mut self.loading, true);
        let loaded = self.rdb_load_bytes(&data, keep_expired, true);
        self.loading = was_loading;
        let stats = loaded.map_err(LoadError::Format)?;
        let (keys_loaded, expired) = (self.rdb.last_load_keys_loaded, self.rdb.last_load_keys_expired);
        if stats.empty_keys_skipped > 0 {
            log::warn!(
                "Done loading RDB, keys loaded: {keys_loaded}, keys expired: {expired}, empty keys skipped: {}.",
                stats.empty_keys_skipped
            );
        } else {
            log::info!("Done loading RDB, keys loaded: {keys_loaded}, keys expired: {expired}.");
        }
        Ok(stats)
    }

    /// Load an RDB image into the keyspace (a dump file, or the RDB part of an AOF, whose expired
    /// keys are kept: the commands after it may still touch them). On error the keyspace is emptied:
    /// half a dataset is never served.
    pub fn rdb_load_bytes(
        &mut self,
        data: &[u8],
        keep_expired: bool,
        turn_events: bool,
    ) -> Result<LoadStats, crate::persistence::rdb_io::RdbError> {
        let limits = self.load_limits();
        let now = unix_ms() as i64;
        let clocks = self.clocks;
        let databases = self.dbs.len();
        let mut expired = 0u64;
        let mut keys_loaded = 0u64;
        // A master restarting with its backlog already created tells its replicas about the keys
        // that expired while it was down (Redis's RDBFLAGS_FEED_REPL), so they can continue.
        let feed_expired = self.repl.backlog.is_some() && !self.is_replica() && !keep_expired;
        let mut expired_keys: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut functions: Vec<Vec<u8>> = Vec::new();
        let out_of_range = crate::persistence::rdb_io::RdbError { offset: 0, reason: "db number out of range" };
        let events_every = usize::try_from(self.config.loading_process_events_interval_bytes()).unwrap_or(2 << 20);
        let key_delay_us = u64::try_from(self.config.key_load_delay()).unwrap_or(0);
        let mut loader = RdbLoader::new();
        let (mut pos, mut turned_at) = (0usize, 0usize);
        let result = loop {
            let (step, used) = match loader.step(data.get(pos..).unwrap_or_default(), true, &limits) {
                Ok(s) => s,
                Err(e) => break Err(e),
            };
            pos += used;
            match step {
                Step::Done => break Ok(loader.into_stats()),
                Step::NeedMore => {
                    break Err(crate::persistence::rdb_io::RdbError { offset: pos, reason: "unexpected EOF" });
                }
                Step::Skipped => {}
                Step::Event(LoadEvent::Resize { db, keys, expires }) => {
                    let Some(d) = self.dbs.get_mut(db) else { break Err(out_of_range) };
                    d.dict.reserve_for(keys.min(1 << 32) as usize);
                    d.expires.reserve_for(expires.min(1 << 32) as usize);
                }
                Step::Event(LoadEvent::Function(code)) => functions.push(code),
                Step::Event(LoadEvent::Key(k)) => {
                    if k.db >= databases {
                        break Err(out_of_range);
                    }
                    if k.expire_ms != crate::db::NO_EXPIRE && k.expire_ms < now && !keep_expired {
                        expired += 1;
                        if feed_expired {
                            expired_keys.push((k.db, k.key));
                        }
                    } else {
                        let obj = rdb::object_for(k.value, &clocks, k.idle_secs, k.freq);
                        let db = &mut self.dbs[k.db];
                        db.remove(&k.key);
                        db.add_object(&k.key, obj, k.expire_ms);
                        keys_loaded += 1;
                    }
                    if key_delay_us > 0 {
                        std::thread::sleep(std::time::Duration::from_micros(key_delay_us));
                    }
                }
            }
            // A long load still answers clients (-LOADING, INFO), as Redis does every
            // loading-process-events-interval-bytes.
            if turn_events && pos - turned_at >= events_every {
                turned_at = pos;
                self.process_events_while_blocked();
            }
        };
        match result {
            Ok(stats) => {
                self.rdb.last_load_keys_loaded = keys_loaded;
                self.rdb.last_load_keys_expired = expired;
                for code in functions {
                    if let Err(e) = self.function_load_code(&code, true) {
                        log::warn!("Failed loading library: {}", String::from_utf8_lossy(e.text()));
                        for db in &mut self.dbs {
                            db.clear();
                        }
                        return Err(crate::persistence::rdb_io::RdbError {
                            offset: 0,
                            reason: "function library failed to load",
                        });
                    }
                }
                let lazy = self.config.lazyfree_lazy_expire();
                for (db, key) in expired_keys {
                    let mut del = Vec::with_capacity(key.len() + 32);
                    let cmd = crate::server::propagation::deletion_command(lazy);
                    crate::server::propagation::encode_command(&mut del, 2, [cmd, key.as_slice()].into_iter());
                    self.repl_feed(db, &del);
                }
                Ok(stats)
            }
            Err(e) => {
                for db in &mut self.dbs {
                    db.clear();
                }
                Err(e)
            }
        }
    }

    /// Startup: load `dbfilename` if it exists, or stop the process on a corrupt file, as Redis does.
    pub fn load_data_from_disk(&mut self) {
        if self.config.appendonly() {
            // With AOF on, only the AOF is read (Redis never mixes the two at startup).
            self.aof.status = crate::server::aof_persistence::AofStatus::On;
            self.aof_load_at_startup();
            return;
        }
        let start = Instant::now();
        let filename = self.config.dbfilename().to_string();
        let master = !self.is_replica();
        if master {
            // Keys found expired while loading are fed to it as DELs.
            self.repl_create_backlog();
        }
        match self.rdb_load(&filename) {
            Ok(stats) => {
                log::info!("DB loaded from disk: {:.3} seconds", start.elapsed().as_secs_f64());
                let history = match (stats.repl_id, stats.repl_offset, stats.repl_stream_db) {
                    (Some(id), Some(offset), Some(db)) if id.len() == 40 && offset >= 0 && db >= 0 => {
                        Some((id, offset as u64, db as usize))
                    }
                    _ => None,
                };
                match history {
                    // A replica restarting from its dump continues its master's history with PSYNC.
                    Some((id, offset, db)) if !master => {
                        self.repl.replid = id;
                        self.repl.master_repl_offset = offset;
                        self.link.can_psync = true;
                        self.link.master_db = db;
                    }
                    // A master keeps its old history as the secondary id, so its replicas can
                    // continue after the restart; its offsets continue from the saved one.
                    Some((id, offset, _)) => {
                        self.repl.replid2 = id;
                        self.repl.second_repl_offset = offset as i64 + 1;
                        self.repl.master_repl_offset += offset;
                        if let Some(b) = self.repl.backlog.as_mut() {
                            b.rebase(offset);
                        }
                    }
                    None if master => self.repl.backlog = None,
                    None => {}
                }
            }
            Err(LoadError::Missing) => {
                self.repl.backlog = None;
            }
            Err(LoadError::Io(e)) => {
                log::warn!("Fatal error loading the DB: {e}. Exiting.");
                std::process::exit(1);
            }
            Err(LoadError::Format(e)) => {
                log::warn!("Internal error in RDB reading offset {} of {filename} -> {}", e.offset, e.reason);
                log::warn!("Terminating server after rdb file reading failure.");
                std::process::exit(1);
            }
        }
    }

    /// SHUTDOWN/SIGTERM with save points (or SAVE): the final snapshot. False when it failed.
    pub fn save_on_shutdown(&mut self) -> bool {
        if self.rdb.child.is_some() {
            log::warn!("There is a child saving an .rdb. Killing it!");
            self.kill_rdb_child();
        }
        log::info!("Saving the final RDB snapshot before exiting.");
        let filename = self.config.dbfilename().to_string();
        if self.rdb_save(&filename).is_err() {
            log::warn!("Error trying to save the DB, can't exit.");
            return false;
        }
        true
    }
}

/// Rename `from` to `to`, then fsync the directory holding `to` so the rename itself survives a
/// crash (every file ferrodis replaces goes through here: dumps, AOF bases, manifests).
pub fn rename_durably(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    let dir = to.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The file part of a save: temp file, write, fsync, rename, fsync the directory.
fn write_rdb_file(
    dbs: &[crate::db::Db],
    info: &SaveInfo,
    opts: SaveOptions,
    filename: &str,
    incremental_fsync: bool,
) -> Result<(), SaveFailed> {
    let tmp = format!("temp-{}.rdb", std::process::id());
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| "unknown".into());
    let file = match File::create(&tmp) {
        Ok(f) => f,
        Err(e) => {
            log::warn!("Failed opening the temp RDB file {tmp} (in server root dir {cwd}) for saving: {e}");
            return Err(SaveFailed);
        }
    };
    let mut out = BufWriter::with_capacity(1 << 16, IncrementalSyncFile::new(file, incremental_fsync));
    let fail = |op: &str, e: std::io::Error| {
        log::warn!("Write error saving DB on disk({op}): {e}");
        let _ = std::fs::remove_file(&tmp);
    };
    if let Err(e) = rdb::save(dbs, info, opts, unix_ms() as i64, &mut out) {
        fail("rdbSaveRio", e);
        return Err(SaveFailed);
    }
    let file = match out.into_inner() {
        Ok(f) => f.into_inner(),
        Err(e) => {
            fail("fflush", e.into_error());
            return Err(SaveFailed);
        }
    };
    if let Err(e) = file.sync_all() {
        fail("fsync", e);
        return Err(SaveFailed);
    }
    drop(file);
    if let Err(e) = rename_durably(std::path::Path::new(&tmp), std::path::Path::new(filename)) {
        log::warn!(
            "Error moving temp DB file {tmp} on the final destination {filename} (in server root dir {cwd}): {e}"
        );
        let _ = std::fs::remove_file(&tmp);
        return Err(SaveFailed);
    }
    let _ = std::io::stdout().flush();
    Ok(())
}
