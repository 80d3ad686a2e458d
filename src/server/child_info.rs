//! Child info (Redis's childinfo.c): a forked child (BGSAVE, BGREWRITEAOF, a diskless transfer)
//! tells its parent, through a pipe opened before the fork, how many keys it has written and how
//! much memory copy-on-write has cost so far; the parent shows it in INFO persistence
//! (`current_cow_size`, `current_save_keys_processed`, `current_fork_perc`, `rdb_last_cow_size`,
//! `aof_last_cow_size`).
//!
//! The pipe is non-blocking on both ends: the child never waits for a busy parent (a record it
//! cannot write is dropped, the next one carries newer numbers) and the parent only reads what is
//! there, from the cron. Records are fixed-size, so a partial read is completed by the next one.

use std::cell::Cell;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Instant;

use mio::unix::pipe;

use crate::server::unix_ms;

/// What a record reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoKind {
    /// Progress while the child works: keys written, current copy-on-write size.
    Current,
    /// The RDB child is done: its peak copy-on-write size becomes `rdb_last_cow_size`.
    RdbCowSize,
    /// The AOF rewrite child is done: likewise `aof_last_cow_size`.
    AofCowSize,
}

impl InfoKind {
    fn code(self) -> u8 {
        match self {
            InfoKind::Current => 0,
            InfoKind::RdbCowSize => 1,
            InfoKind::AofCowSize => 2,
        }
    }

    fn from_code(c: u8) -> Option<Self> {
        match c {
            0 => Some(InfoKind::Current),
            1 => Some(InfoKind::RdbCowSize),
            2 => Some(InfoKind::AofCowSize),
            _ => None,
        }
    }
}

/// # Format
/// `kind: u8 | 7 zero bytes | keys: u64 | cow bytes: u64 | cow measured at (unix ms): u64`, native
/// endian (both ends are the same binary on the same machine).
const RECORD: usize = 32;

/// Redis's CHILD_COW_DUTY_CYCLE: measuring copy-on-write reads /proc, so it runs at most 1% of
/// the time.
const COW_DUTY_CYCLE: u128 = 100;

/// The parent's view: the pipe's read end and what the current child reported.
#[derive(Default)]
pub struct ChildInfo {
    receiver: Option<pipe::Receiver>,
    /// The write end, kept only between opening the pipe and forking.
    sender: Option<pipe::Sender>,
    partial: Vec<u8>,
    /// In the child only: its reporter.
    reporter: Option<Rc<ChildReporter>>,
    pub cow_peak: u64,
    pub cow_bytes: u64,
    /// Unix ms of the last copy-on-write measurement; 0 before any.
    pub cow_updated_ms: u64,
    pub keys_processed: u64,
    /// Keys in the dataset when the child was forked.
    pub keys_total: u64,
    pub rdb_last_cow: u64,
    pub aof_last_cow: u64,
}

impl ChildInfo {
    /// Before a fork: a fresh pipe, and the current-child figures reset with the dataset's size.
    pub fn open(&mut self, keys_total: u64) {
        self.close();
        match pipe::new() {
            Ok((sender, receiver)) => {
                self.sender = Some(sender);
                self.receiver = Some(receiver);
            }
            Err(e) => log::warn!("Can't open the child info pipe: {e}"),
        }
        self.cow_peak = 0;
        self.cow_bytes = 0;
        self.cow_updated_ms = 0;
        self.keys_processed = 0;
        self.keys_total = keys_total;
    }

    /// In the parent after the fork: the write end is the child's alone.
    pub fn forked(&mut self) {
        self.sender = None;
    }

    /// In the child after the fork: drop the read end, keep a reporter on the write end.
    pub fn enter_child(&mut self, name: &'static str) {
        self.receiver = None;
        if let Some(sender) = self.sender.take() {
            self.reporter = Some(Rc::new(ChildReporter::new(sender, name)));
        }
    }

    /// The child's reporter (none in the parent).
    pub fn reporter(&self) -> Option<Rc<ChildReporter>> {
        self.reporter.clone()
    }

    /// Reads whatever the child sent (never blocks) and applies it (Redis's receiveChildInfo).
    pub fn receive(&mut self) {
        let Some(rx) = self.receiver.as_mut() else { return };
        let mut buf = [0u8; RECORD * 16];
        loop {
            match rx.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
        }
        let whole = self.partial.len() / RECORD * RECORD;
        let records: Vec<u8> = self.partial.drain(..whole).collect();
        for r in records.chunks_exact(RECORD) {
            let word = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&r[i..i + 8]);
                u64::from_ne_bytes(b)
            };
            let Some(kind) = InfoKind::from_code(r[0]) else { continue };
            self.apply(kind, word(8), word(16), word(24));
        }
    }

    fn apply(&mut self, kind: InfoKind, keys: u64, cow: u64, cow_updated_ms: u64) {
        self.cow_peak = self.cow_peak.max(cow);
        match kind {
            InfoKind::Current => {
                self.cow_bytes = cow;
                self.cow_updated_ms = cow_updated_ms;
                self.keys_processed = keys;
            }
            InfoKind::RdbCowSize => self.rdb_last_cow = self.cow_peak,
            InfoKind::AofCowSize => self.aof_last_cow = self.cow_peak,
        }
    }

    /// The child is gone: read its last records when it succeeded, then forget it (Redis's
    /// receiveChildInfo + resetChildState).
    pub fn child_done(&mut self, success: bool) {
        if success {
            self.receive();
        }
        self.close();
        self.cow_peak = 0;
        self.cow_bytes = 0;
        self.cow_updated_ms = 0;
        self.keys_processed = 0;
        self.keys_total = 0;
    }

    fn close(&mut self) {
        self.receiver = None;
        self.sender = None;
        self.partial.clear();
    }

    /// INFO's `current_fork_perc`.
    pub fn fork_percent(&self) -> f64 {
        if self.keys_total == 0 { 0.0 } else { self.keys_processed as f64 / self.keys_total as f64 * 100.0 }
    }

    /// INFO's `current_cow_size_age`, in seconds.
    pub fn cow_age_secs(&self) -> u64 {
        if self.cow_updated_ms == 0 { 0 } else { unix_ms().saturating_sub(self.cow_updated_ms) / 1000 }
    }
}

/// The child's end: sends progress at most once a second and its copy-on-write size when done.
#[derive(Debug)]
pub struct ChildReporter {
    sender: pipe::Sender,
    name: &'static str,
    last_sent_ms: Cell<u64>,
    cow: Cell<u64>,
    cow_updated_ms: Cell<u64>,
    cow_measured: Cell<Option<Instant>>,
    cow_cost_us: Cell<u128>,
    peak: Cell<u64>,
    sum: Cell<u64>,
    samples: Cell<u64>,
}

impl ChildReporter {
    fn new(sender: pipe::Sender, name: &'static str) -> Self {
        ChildReporter {
            sender,
            name,
            last_sent_ms: Cell::new(0),
            cow: Cell::new(0),
            cow_updated_ms: Cell::new(0),
            cow_measured: Cell::new(None),
            cow_cost_us: Cell::new(0),
            peak: Cell::new(0),
            sum: Cell::new(0),
            samples: Cell::new(0),
        }
    }

    /// After each key written; `written` counts the keys so far (this one included). Looks at the
    /// clock every 1024 keys and reports once a second, as rdbSaveRio does.
    pub fn key_written(&self, written: u64) {
        if (written - 1) & 1023 != 0 {
            return;
        }
        let now = unix_ms();
        if now.saturating_sub(self.last_sent_ms.get()) >= 1000 {
            self.send(InfoKind::Current, written);
            self.last_sent_ms.set(now);
        }
    }

    /// Sends one record (Redis's sendChildInfoGeneric), measuring copy-on-write first unless it
    /// was measured too recently for its cost.
    pub fn send(&self, kind: InfoKind, keys: u64) {
        let stale = match self.cow_measured.get() {
            None => true,
            Some(at) => at.elapsed().as_micros() > self.cow_cost_us.get() * COW_DUTY_CYCLE,
        };
        if kind != InfoKind::Current || stale {
            let started = Instant::now();
            let cow = private_dirty_bytes();
            self.cow.set(cow);
            self.cow_measured.set(Some(Instant::now()));
            self.cow_cost_us.set(started.elapsed().as_micros());
            self.cow_updated_ms.set(unix_ms());
            self.peak.set(self.peak.get().max(cow));
            self.sum.set(self.sum.get() + cow);
            self.samples.set(self.samples.get() + 1);
            let final_report = kind != InfoKind::Current;
            if cow > 0 || final_report {
                let line = format!(
                    "Fork CoW for {}: current {} MB, peak {} MB, average {} MB",
                    self.name,
                    cow >> 20,
                    self.peak.get() >> 20,
                    (self.sum.get() / self.samples.get().max(1)) >> 20
                );
                if final_report {
                    log::info!("{line}");
                } else {
                    log::debug!("{line}");
                }
            }
        }
        let mut record = [0u8; RECORD];
        record[0] = kind.code();
        record[8..16].copy_from_slice(&keys.to_ne_bytes());
        record[16..24].copy_from_slice(&self.cow.get().to_ne_bytes());
        record[24..32].copy_from_slice(&self.cow_updated_ms.get().to_ne_bytes());
        // SAFETY: writing a local buffer to a descriptor this process owns; a pipe write of at most
        // PIPE_BUF bytes is atomic, so the parent never sees half a record.
        let _ = unsafe { libc::write(self.sender.as_raw_fd(), record.as_ptr().cast(), RECORD) };
    }
}

/// Memory this process has written since the fork: the Private_Dirty of its mappings (Redis's
/// zmalloc_get_private_dirty), from smaps_rollup where the kernel has it.
fn private_dirty_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .or_else(|_| std::fs::read_to_string("/proc/self/smaps"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("Private_Dirty:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_cross_the_pipe_and_partial_reads_wait_for_the_rest() {
        let mut info = ChildInfo::default();
        info.open(100);
        let sender = info.sender.take().expect("pipe");
        let reporter = ChildReporter::new(sender, "test");
        reporter.send(InfoKind::Current, 42);
        info.receive();
        assert_eq!(info.keys_processed, 42);
        assert!(info.cow_updated_ms > 0);
        assert_eq!(info.fork_percent(), 42.0);
        reporter.send(InfoKind::RdbCowSize, 100);
        info.receive();
        assert_eq!(info.rdb_last_cow, info.cow_peak);
        // Half a record is kept until its rest arrives.
        info.partial.extend_from_slice(&[0u8; 10]);
        info.receive();
        assert_eq!(info.partial.len(), 10);
        info.child_done(true);
        assert_eq!(info.keys_total, 0);
    }

    #[test]
    fn key_written_reports_at_the_first_key_then_once_a_second() {
        let mut info = ChildInfo::default();
        info.open(5000);
        let reporter = ChildReporter::new(info.sender.take().expect("pipe"), "test");
        for k in 1..=3000 {
            reporter.key_written(k);
        }
        info.receive();
        assert_eq!(info.keys_processed, 1);
    }
}
