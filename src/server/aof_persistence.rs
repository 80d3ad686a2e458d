//! The append-only file as the server drives it (Redis's aof.c, multi-part layout of 7.0): the AOF
//! buffer fed by propagation, its write before replies go out, the fsync policies, BGREWRITEAOF by
//! fork, turning AOF on and off at run time, and the INFO persistence aof_* counters.
//!
//! Files live in `dir`/`appenddirname`: one base (an RDB with `aof-base` set, or commands), incr files
//! of commands, and the manifest naming them, always replaced through a temp file, fsync and rename.
//!
//! Never blocks the event loop on the disk except where Redis does: `appendfsync always` fsyncs
//! before replies are sent (once per loop iteration, for every write of that iteration). With
//! `everysec` the fsync runs on a helper thread that only ever receives a duplicated file descriptor;
//! it never sees the keyspace or any other server state.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use crate::config::AppendFsync;
use crate::persistence::aof::{self, Manifest};
use crate::server::rdb_persistence::{Child, ChildExit, SaveFailed, rename_durably};
use crate::server::{Server, unix_ms};

/// Whether AOF is on (Redis's aof_state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofStatus {
    Off,
    On,
    /// Turned on at run time: writes go to a temp incr file until the first base is written.
    WaitRewrite,
}

/// fsyncs handed to the helper thread, and what it reports back.
struct FsyncWorker {
    jobs: mpsc::Sender<File>,
    /// Jobs submitted and not finished yet.
    pending: Arc<AtomicU64>,
    /// The last background fsync failed.
    failed: Arc<AtomicBool>,
}

impl FsyncWorker {
    fn start() -> Option<FsyncWorker> {
        let (jobs, rx) = mpsc::channel::<File>();
        let pending = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicBool::new(false));
        let (p, f) = (pending.clone(), failed.clone());
        std::thread::Builder::new()
            .name("aof-fsync".into())
            .spawn(move || {
                for file in rx {
                    let ok = file.sync_data().is_ok();
                    f.store(!ok, Ordering::Release);
                    drop(file);
                    p.fetch_sub(1, Ordering::AcqRel);
                }
            })
            .ok()?;
        Some(FsyncWorker { jobs, pending, failed })
    }
}

/// AOF state and counters.
pub struct AofState {
    pub status: AofStatus,
    /// The incr file being appended to (the temp incr file while waiting for the first rewrite).
    file: Option<File>,
    /// Commands propagated since the last write (Redis's aof_buf).
    pub buf: Vec<u8>,
    /// Database of the last SELECT written; None forces one before the next command.
    selected_db: Option<usize>,
    /// Unix seconds of the last `#TS:` annotation.
    last_timestamp: u64,
    pub manifest: Manifest,
    /// Bytes of base and incr files (aof_current_size) and at the last rewrite (aof_base_size).
    pub current_size: u64,
    pub rewrite_base_size: u64,
    /// Size of the incr file being written, and how much of it is known to be fsynced.
    pub last_incr_size: u64,
    last_incr_fsync_offset: u64,
    pub last_fsync_ms: u64,
    pub rewrite_scheduled: bool,
    pub child: Option<Child>,
    pub rewrite_time_last: i64,
    pub lastbgrewrite_ok: bool,
    pub last_write_ok: bool,
    pub last_write_error: String,
    pub rewrites: u64,
    pub rewrites_consecutive_failures: u64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write (a testing knob).
    pub flush_sleep_us: u64,
    /// Back-off after repeated rewrite failures: the current delay and when the next try is allowed.
    limit_delay_minutes: u64,
    limit_next_try: u64,
    worker: Option<FsyncWorker>,
}

impl Default for AofState {
    fn default() -> Self {
        AofState {
            status: AofStatus::Off,
            file: None,
            buf: Vec::new(),
            selected_db: None,
            last_timestamp: 0,
            manifest: Manifest::default(),
            current_size: 0,
            rewrite_base_size: 0,
            last_incr_size: 0,
            last_incr_fsync_offset: 0,
            last_fsync_ms: 0,
            rewrite_scheduled: false,
            child: None,
            rewrite_time_last: -1,
            lastbgrewrite_ok: true,
            last_write_ok: true,
            last_write_error: String::new(),
            rewrites: 0,
            rewrites_consecutive_failures: 0,
            flush_sleep_us: 0,
            limit_delay_minutes: 0,
            limit_next_try: 0,
            worker: None,
        }
    }
}

impl AofState {
    pub fn is_on(&self) -> bool {
        self.status != AofStatus::Off
    }

    /// A background fsync is still running.
    pub fn fsync_in_progress(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.pending.load(Ordering::Acquire) > 0)
    }

    /// Forget the selected database, so the next command written starts with SELECT.
    pub fn reset_selected_db(&mut self) {
        self.selected_db = None;
    }
}

impl Server {
    /// `appenddirname`, relative to `dir` (the working directory).
    pub fn aof_dir(&self) -> PathBuf {
        PathBuf::from(self.config.appenddirname())
    }

    pub fn aof_path(&self, name: &str) -> PathBuf {
        self.aof_dir().join(name)
    }

    /// Append one propagated command to the AOF buffer: a `#TS:` annotation when the second changed
    /// (aof-timestamp-enabled), a SELECT when the database changed, then the command.
    pub fn aof_feed(&mut self, db: usize, resp: &[u8]) {
        if self.config.aof_timestamp_enabled() {
            let now = unix_ms() / 1000;
            if now > self.aof.last_timestamp {
                self.aof.last_timestamp = now;
                self.aof.buf.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
            }
        }
        if self.aof.selected_db != Some(db) {
            crate::server::propagation::encode_select(&mut self.aof.buf, db);
            self.aof.selected_db = Some(db);
        }
        self.aof.buf.extend_from_slice(resp);
    }

    /// Persist the manifest: temp file, fsync, rename, fsync of the directory.
    pub fn aof_persist_manifest(&self, manifest: &Manifest) -> Result<(), SaveFailed> {
        let prefix = self.config.appendfilename();
        let name = aof::manifest_name(prefix);
        let tmp_name = format!("{}{name}", aof::TEMP_PREFIX);
        let tmp = self.aof_path(&tmp_name);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(manifest.format().as_bytes())?;
            f.sync_all()
        };
        if let Err(e) = write() {
            log::warn!("Error trying to write the temporary AOF manifest file {tmp_name}: {e}");
            let _ = std::fs::remove_file(&tmp);
            return Err(SaveFailed);
        }
        if let Err(e) = rename_durably(&tmp, &self.aof_path(&name)) {
            log::warn!("Error trying to rename the temporary AOF manifest file {tmp_name} into {name}: {e}");
            return Err(SaveFailed);
        }
        Ok(())
    }

    fn aof_open_append(&self, name: &str) -> std::io::Result<File> {
        OpenOptions::new().create(true).append(true).open(self.aof_path(name))
    }

    /// Write the AOF buffer to the incr file, then fsync as the policy says. Runs before replies are
    /// flushed, so with `always` a client never sees a reply for a write that is not on disk.
    pub fn aof_flush(&mut self) {
        if self.aof.buf.is_empty() {
            // Nothing new, but a write may still wait for its once-a-second fsync.
            if self.config.appendfsync() == AppendFsync::Everysec
                && self.aof.last_incr_fsync_offset != self.aof.last_incr_size
                && unix_ms().saturating_sub(self.aof.last_fsync_ms) >= 1000
                && !self.aof.fsync_in_progress()
            {
                self.aof_background_fsync();
            }
            return;
        }
        if self.aof.flush_sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.aof.flush_sleep_us));
        }
        let Some(file) = self.aof.file.as_mut() else { return };
        let policy = self.config.appendfsync();
        let result = file.write_all(&self.aof.buf);
        match result {
            Ok(()) => {
                self.aof.last_incr_size += self.aof.buf.len() as u64;
                self.aof.current_size += self.aof.buf.len() as u64;
                if !self.aof.last_write_ok {
                    log::warn!("AOF write error looks solved, Redis can write again.");
                    self.aof.last_write_ok = true;
                }
                self.aof.buf.clear();
                if self.aof.buf.capacity() > 4 << 20 {
                    self.aof.buf = Vec::new();
                }
            }
            Err(e) => {
                if policy == AppendFsync::Always {
                    log::warn!("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                    std::process::exit(1);
                }
                if self.aof.last_write_ok {
                    log::warn!("Error writing to the AOF file: {e}");
                }
                self.aof.last_write_ok = false;
                self.aof.last_write_error = e.to_string();
                return;
            }
        }
        let skip_fsync = self.config.no_appendfsync_on_rewrite() && self.has_active_child();
        if skip_fsync {
            return;
        }
        match policy {
            AppendFsync::Always => {
                let ok = self.aof.file.as_ref().is_some_and(|f| f.sync_data().is_ok());
                if !ok {
                    log::warn!(
                        "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                        std::io::Error::last_os_error()
                    );
                    std::process::exit(1);
                }
                self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
                self.aof.last_fsync_ms = unix_ms();
            }
            AppendFsync::Everysec => {
                if unix_ms().saturating_sub(self.aof.last_fsync_ms) >= 1000 && !self.aof.fsync_in_progress() {
                    self.aof_background_fsync();
                }
            }
            AppendFsync::No => {}
        }
    }

    /// Hand an fsync of the incr file to the helper thread.
    fn aof_background_fsync(&mut self) {
        let Some(dup) = self.aof.file.as_ref().and_then(|f| f.try_clone().ok()) else { return };
        self.aof_fsync_off_loop(dup);
        self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
        self.aof.last_fsync_ms = unix_ms();
    }

    /// fsync `file` on the helper thread (started on first use); here, if no thread could start.
    fn aof_fsync_off_loop(&mut self, file: File) {
        if self.aof.worker.is_none() {
            self.aof.worker = FsyncWorker::start();
        }
        let Some(w) = self.aof.worker.as_ref() else {
            let _ = file.sync_data();
            return;
        };
        if w.failed.swap(false, Ordering::AcqRel) {
            log::warn!("AOF fsync in the background failed; retrying");
        }
        w.pending.fetch_add(1, Ordering::AcqRel);
        if w.jobs.send(file).is_err() {
            w.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Write and fsync everything now (shutdown, turning AOF off).
    pub fn aof_flush_and_sync(&mut self) {
        self.aof_flush();
        if let Some(f) = self.aof.file.as_ref() {
            if let Err(e) = f.sync_data() {
                log::warn!("Fail to fsync the AOF file: {e}");
            } else {
                self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
                self.aof.last_fsync_ms = unix_ms();
            }
        }
    }

    pub fn has_active_child(&self) -> bool {
        self.rdb.child.is_some() || self.aof.child.is_some()
    }

    /// Startup, after loading (Redis's aofOpenIfNeededOnServerStart): create the directory, write a
    /// base when there is nothing at all, open the last incr file for appending, persist the manifest.
    /// Any failure stops the process, as in Redis.
    pub fn aof_open_on_server_start(&mut self) {
        if self.aof.status != AofStatus::On {
            return;
        }
        let dir = self.aof_dir();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            log::warn!("Can't open or create append-only dir {}: {e}", dir.display());
            std::process::exit(1);
        }
        let prefix = self.config.appendfilename().to_string();
        let mut manifest = self.aof.manifest.clone();
        let had_incr = !manifest.incr.is_empty();
        if manifest.base.is_none() && manifest.incr.is_empty() {
            let base = manifest.new_base(&prefix, self.config.aof_use_rdb_preamble());
            if self.aof_write_base(&self.aof_path(&base)).is_err() {
                std::process::exit(1);
            }
            log::info!("Creating AOF base file {base} on server start");
        }
        let incr = manifest.last_incr_or_new(&prefix);
        match self.aof_open_append(&incr) {
            Ok(f) => self.aof.file = Some(f),
            Err(e) => {
                log::warn!("Can't open the append-only file {incr}: {e}");
                std::process::exit(1);
            }
        }
        if self.aof_persist_manifest(&manifest).is_err() {
            std::process::exit(1);
        }
        self.aof.manifest = manifest;
        self.aof.last_incr_size = std::fs::metadata(self.aof_path(&incr)).map(|m| m.len()).unwrap_or(0);
        self.aof.last_incr_fsync_offset = self.aof.last_incr_size;
        if had_incr {
            log::info!("Opening AOF incr file {incr} on server start");
        } else {
            log::info!("Creating AOF incr file {incr} on server start");
        }
        self.aof_delete_history_files();
    }

    /// Remove history files listed in the manifest (unless aof-disable-auto-gc) and persist it.
    pub fn aof_delete_history_files(&mut self) {
        if self.config.aof_disable_auto_gc() || self.aof.manifest.history.is_empty() {
            return;
        }
        for f in std::mem::take(&mut self.aof.manifest.history) {
            log::info!("Removing the history file {} in the background", f.name);
            let _ = std::fs::remove_file(self.aof_path(&f.name));
        }
        let manifest = self.aof.manifest.clone();
        let _ = self.aof_persist_manifest(&manifest);
    }

    /// Write a base file at `path` from the current dataset (synchronously; also what the rewrite
    /// child runs): RDB with `aof-base` when aof-use-rdb-preamble, else commands.
    pub fn aof_write_base(&self, path: &Path) -> Result<(), SaveFailed> {
        let tmp = PathBuf::from(format!("temp-rewriteaof-{}.aof", std::process::id()));
        let write = || -> std::io::Result<()> {
            let file = File::create(&tmp)?;
            let file = crate::server::incremental_fsync::IncrementalSyncFile::new(
                file,
                self.config.aof_rewrite_incremental_fsync(),
            );
            let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
            let now_ms = unix_ms() as i64;
            if self.config.aof_use_rdb_preamble() {
                let mut info = self.rdb_save_info();
                info.aof_base = true;
                crate::persistence::rdb::save(&self.dbs, &info, self.rdb_save_options(), now_ms, &mut out)?;
            } else {
                let ts = self.config.aof_timestamp_enabled().then(|| unix_ms() / 1000);
                let functions: Vec<Vec<u8>> = self.scripting.libraries.values().map(|l| l.code.clone()).collect();
                crate::persistence::aof_rewrite::write_dataset(&self.dbs, &functions, ts, &mut out)?;
            }
            let file = out.into_inner().map_err(|e| e.into_error())?.into_inner();
            file.sync_all()
        };
        if let Err(e) = write() {
            log::warn!("Write error writing append only file on disk: {e}");
            let _ = std::fs::remove_file(&tmp);
            return Err(SaveFailed);
        }
        if let Err(e) = rename_durably(&tmp, path) {
            log::warn!("Error moving temp append only file on the final destination: {e}");
            let _ = std::fs::remove_file(&tmp);
            return Err(SaveFailed);
        }
        Ok(())
    }

    /// BGREWRITEAOF: a new incr file takes the writes from now on, and a forked child writes a new
    /// base from the snapshot; `aof_rewrite_done` swaps the manifest when it ends.
    pub fn aof_rewrite_background(&mut self) -> Result<(), SaveFailed> {
        if self.has_active_child() {
            return Err(SaveFailed);
        }
        let dir = self.aof_dir();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            log::warn!("Can't open or create append-only dir {}: {e}", dir.display());
            self.aof.lastbgrewrite_ok = false;
            return Err(SaveFailed);
        }
        self.aof.reset_selected_db();
        self.aof_flush();
        if self.aof_open_new_incr().is_err() {
            self.aof.lastbgrewrite_ok = false;
            return Err(SaveFailed);
        }
        self.aof.rewrites += 1;
        let forked = self.fork_child("redis-aof-rewrite", |srv| {
            let tmp = PathBuf::from(format!("temp-rewriteaof-bg-{}.aof", std::process::id()));
            match srv.aof_write_base(&tmp) {
                Ok(()) => {
                    log::info!("Successfully created the temporary AOF base file {}", tmp.display());
                    if let Some(r) = srv.child_info.reporter() {
                        r.send(crate::server::child_info::InfoKind::AofCowSize, 0);
                    }
                    0
                }
                Err(SaveFailed) => 1,
            }
        });
        let child = match forked {
            Ok(child) => child,
            Err(e) => {
                self.aof.lastbgrewrite_ok = false;
                log::warn!("Can't rewrite append only file in background: fork: {e}");
                return Err(SaveFailed);
            }
        };
        log::info!("Background append only file rewriting started by pid {}", child.pid);
        self.aof.rewrite_scheduled = false;
        self.aof.child = Some(child);
        Ok(())
    }

    /// Switch writes to a new incr file (or, while AOF is being turned on, the temp incr file),
    /// recorded in the manifest before it is used.
    fn aof_open_new_incr(&mut self) -> Result<(), SaveFailed> {
        let prefix = self.config.appendfilename().to_string();
        match self.aof.status {
            AofStatus::Off => Ok(()),
            AofStatus::WaitRewrite => {
                let name = aof::temp_incr_name(&prefix);
                match OpenOptions::new().create(true).write(true).truncate(true).open(self.aof_path(&name)) {
                    Ok(f) => {
                        self.aof.file = Some(f);
                        self.aof.last_incr_size = 0;
                        self.aof.last_incr_fsync_offset = 0;
                        Ok(())
                    }
                    Err(e) => {
                        log::warn!("Can't open the append-only file {name}: {e}");
                        Err(SaveFailed)
                    }
                }
            }
            AofStatus::On => {
                let mut manifest = self.aof.manifest.clone();
                let name = manifest.new_incr(&prefix);
                let file = match self.aof_open_append(&name) {
                    Ok(f) => f,
                    Err(e) => {
                        log::warn!("Can't open the append-only file {name}: {e}");
                        return Err(SaveFailed);
                    }
                };
                if self.aof_persist_manifest(&manifest).is_err() {
                    let _ = std::fs::remove_file(self.aof_path(&name));
                    return Err(SaveFailed);
                }
                if let Some(old) = self.aof.file.replace(file)
                    && self.config.appendfsync() != AppendFsync::No
                {
                    // The previous incr file is complete: make it durable off the main thread.
                    self.aof_fsync_off_loop(old);
                }
                self.aof.manifest = manifest;
                self.aof.last_incr_size = 0;
                self.aof.last_incr_fsync_offset = 0;
                Ok(())
            }
        }
    }

    /// The rewrite child ended (reaped by the cron): install the new base and swap the manifest, or
    /// record the failure.
    pub fn aof_rewrite_done(&mut self, child: Child, exit: ChildExit) {
        self.aof.rewrite_time_last = (unix_ms() / 1000).saturating_sub(child.started_unix) as i64;
        let tmp = PathBuf::from(format!("temp-rewriteaof-bg-{}.aof", child.pid));
        if exit == ChildExit::Success {
            log::info!("Background AOF rewrite terminated with success");
            if self.aof_install_rewrite(&tmp).is_ok() {
                self.aof.lastbgrewrite_ok = true;
                self.aof.rewrites_consecutive_failures = 0;
                log::info!("Background AOF rewrite finished successfully");
                if self.aof.status == AofStatus::WaitRewrite {
                    self.aof.status = AofStatus::On;
                }
            } else {
                self.aof.lastbgrewrite_ok = false;
                self.aof.rewrites_consecutive_failures += 1;
            }
        } else if let ChildExit::Signaled(sig) = exit {
            if sig != libc::SIGUSR1 {
                self.aof.lastbgrewrite_ok = false;
                self.aof.rewrites_consecutive_failures += 1;
            }
            log::warn!("Background AOF rewrite terminated by signal {sig}");
        } else {
            self.aof.lastbgrewrite_ok = false;
            self.aof.rewrites_consecutive_failures += 1;
            log::warn!("Background AOF rewrite terminated with error");
        }
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(format!("temp-rewriteaof-{}.aof", child.pid));
        if self.aof.status == AofStatus::WaitRewrite {
            // The rewrite that was to turn AOF on failed: what the temp incr file held is dropped, and
            // a new attempt starts over.
            self.aof.buf.clear();
            let name = aof::temp_incr_name(self.config.appendfilename());
            log::info!("Removing the temp incr aof file {name} in the background");
            let _ = std::fs::remove_file(self.aof_path(&name));
            // AOF is still waiting to be switched on: try again.
            self.aof.rewrite_scheduled = true;
        }
    }

    fn aof_install_rewrite(&mut self, tmp: &Path) -> Result<(), SaveFailed> {
        let prefix = self.config.appendfilename().to_string();
        let mut manifest = self.aof.manifest.clone();
        let base = manifest.new_base(&prefix, self.config.aof_use_rdb_preamble());
        let base_path = self.aof_path(&base);
        if let Err(e) = rename_durably(tmp, &base_path) {
            log::warn!(
                "Error trying to rename the temporary AOF base file {} into {}: {e}",
                tmp.display(),
                base_path.display()
            );
            return Err(SaveFailed);
        }
        log::info!("Successfully renamed the temporary AOF base file {} into {base}", tmp.display());
        let mut new_incr_path = None;
        if self.aof.status == AofStatus::WaitRewrite {
            let temp_name = aof::temp_incr_name(&prefix);
            let incr = manifest.new_incr(&prefix);
            let path = self.aof_path(&incr);
            // Written so far through the temp name; the open descriptor follows the rename.
            self.aof_flush();
            if let Err(e) = rename_durably(&self.aof_path(&temp_name), &path) {
                log::warn!(
                    "Error trying to rename the temporary AOF incr file {} into {}: {e}",
                    self.aof_path(&temp_name).display(),
                    path.display()
                );
                let _ = std::fs::remove_file(&base_path);
                return Err(SaveFailed);
            }
            log::info!("Successfully renamed the temporary AOF incr file {temp_name} into {incr}");
            new_incr_path = Some(path);
        }
        manifest.mark_rewritten_incr_as_history(self.aof.file.is_some());
        if self.aof_persist_manifest(&manifest).is_err() {
            let _ = std::fs::remove_file(&base_path);
            if let Some(p) = new_incr_path {
                let _ = std::fs::remove_file(p);
            }
            return Err(SaveFailed);
        }
        self.aof.manifest = manifest;
        if self.aof.status != AofStatus::Off {
            let base_size = std::fs::metadata(&base_path).map(|m| m.len()).unwrap_or(0);
            self.aof.current_size = base_size + self.aof.last_incr_size;
            self.aof.rewrite_base_size = self.aof.current_size;
        }
        self.aof_delete_history_files();
        Ok(())
    }

    /// CONFIG SET appendonly yes (Redis's startAppendOnly): writes go to a temp incr file while a
    /// rewrite writes the first base.
    pub fn aof_start(&mut self) -> Result<(), SaveFailed> {
        self.aof.status = AofStatus::WaitRewrite;
        if self.rdb.child.is_some() {
            self.aof.rewrite_scheduled = true;
            log::warn!(
                "AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible."
            );
        } else if self.in_exec {
            self.aof.rewrite_scheduled = true;
            log::warn!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        } else {
            if self.aof.child.is_some() {
                log::warn!(
                    "AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now."
                );
                self.aof_kill_child();
            }
            if self.aof_rewrite_background().is_err() {
                self.aof.status = AofStatus::Off;
                self.aof.file = None;
                log::warn!(
                    "Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error."
                );
                return Err(SaveFailed);
            }
        }
        self.aof.last_fsync_ms = unix_ms();
        if !self.aof.last_write_ok {
            log::warn!("AOF reopen, just ignore the last error.");
            self.aof.last_write_ok = true;
        }
        Ok(())
    }

    /// CONFIG SET appendonly no (Redis's stopAppendOnly).
    pub fn aof_stop(&mut self) {
        self.aof_flush_and_sync();
        self.aof.file = None;
        self.aof.reset_selected_db();
        self.aof.status = AofStatus::Off;
        self.aof.rewrite_scheduled = false;
        self.aof.last_incr_size = 0;
        self.aof.last_incr_fsync_offset = 0;
        self.aof_kill_child();
        self.aof.buf.clear();
    }

    /// Stop a running rewrite child and remove its temp files.
    pub fn aof_kill_child(&mut self) {
        let Some(child) = self.aof.child.take() else { return };
        log::info!("Killing running AOF rewrite child: {}", child.pid);
        child.kill_and_reap();
        let _ = std::fs::remove_file(format!("temp-rewriteaof-bg-{}.aof", child.pid));
        let _ = std::fs::remove_file(format!("temp-rewriteaof-{}.aof", child.pid));
    }

    /// After three consecutive failed rewrites, automatic ones wait 1, 2, 4... up to 60 minutes
    /// (Redis's aofRewriteLimited). Returns true while waiting.
    fn aof_rewrite_limited(&mut self) -> bool {
        const THRESHOLD: u64 = 3;
        const MAX_MINUTES: u64 = 60;
        if self.aof.rewrites_consecutive_failures < THRESHOLD {
            self.aof.limit_delay_minutes = 0;
            self.aof.limit_next_try = 0;
            return false;
        }
        let now = unix_ms() / 1000;
        if self.aof.limit_next_try != 0 {
            if now < self.aof.limit_next_try {
                return true;
            }
            self.aof.limit_next_try = 0;
            return false;
        }
        let delay = if self.aof.limit_delay_minutes == 0 { 1 } else { self.aof.limit_delay_minutes * 2 };
        self.aof.limit_delay_minutes = delay.min(MAX_MINUTES);
        self.aof.limit_next_try = now + self.aof.limit_delay_minutes * 60;
        log::warn!(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
            self.aof.limit_delay_minutes
        );
        true
    }

    /// The cron's AOF duties: a scheduled rewrite, the automatic rewrite on growth, a write that
    /// failed before, and the once-a-second fsync.
    pub fn aof_cron(&mut self) {
        if !self.has_active_child() && self.aof.rewrite_scheduled && !self.in_exec && !self.aof_rewrite_limited() {
            let _ = self.aof_rewrite_background();
        }
        let pct = self.config.auto_aof_rewrite_percentage();
        if self.aof.status == AofStatus::On
            && !self.has_active_child()
            && pct > 0
            && self.aof.current_size > self.config.auto_aof_rewrite_min_size()
        {
            let base = self.aof.rewrite_base_size.max(1);
            let growth = (self.aof.current_size * 100 / base).saturating_sub(100);
            if growth >= pct as u64 && !self.aof_rewrite_limited() {
                log::info!("Starting automatic rewriting of AOF on {growth}% growth");
                let _ = self.aof_rewrite_background();
            }
        }
        if self.aof.is_on() {
            self.aof_flush();
        }
    }
}
