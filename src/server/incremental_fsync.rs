//! A file writer that pushes its dirty pages to disk as it goes (Redis's rio autosync, behind
//! `rdb-save-incremental-fsync` and `aof-rewrite-incremental-fsync`).
//!
//! Every 4 MiB written, writeback of that range starts asynchronously, and the range before it is
//! waited for. The kernel then never holds more than a few MiB of dirty pages of a dump, so the final
//! fsync is short and a large save does not stall other writers of the disk at its end. Owns only
//! the write-and-sync bookkeeping of one open file; it never decides what is written.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;

/// Bytes between two writeback requests (REDIS_AUTOSYNC_BYTES).
const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;

pub struct IncrementalSyncFile {
    file: File,
    /// Bytes written so far.
    written: u64,
    /// Start of the range whose writeback has not been requested yet.
    unsynced_from: u64,
    /// The range whose writeback was requested last, waited for at the next request.
    in_flight: Option<(u64, u64)>,
    enabled: bool,
}

impl IncrementalSyncFile {
    /// Wrap `file`; with `enabled` false it is a plain file writer.
    pub fn new(file: File, enabled: bool) -> Self {
        IncrementalSyncFile { file, written: 0, unsynced_from: 0, in_flight: None, enabled }
    }

    /// The file, once everything was written (the caller still fsyncs it).
    pub fn into_inner(self) -> File {
        self.file
    }

    fn sync_range(&self, from: u64, len: u64, flags: libc::c_uint) -> io::Result<()> {
        let (Ok(from), Ok(len)) = (i64::try_from(from), i64::try_from(len)) else { return Ok(()) };
        // SAFETY: sync_file_range on our own open descriptor; it reads no memory of ours.
        let rc = unsafe { libc::sync_file_range(self.file.as_raw_fd(), from, len, flags) };
        if rc == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    fn autosync(&mut self) -> io::Result<()> {
        if !self.enabled || self.written - self.unsynced_from < AUTOSYNC_BYTES {
            return Ok(());
        }
        let range = (self.unsynced_from, self.written - self.unsynced_from);
        self.sync_range(range.0, range.1, libc::SYNC_FILE_RANGE_WRITE)?;
        // The previous range must be on disk by now: waiting here (rarely long) is what keeps the
        // promise that dirty data stays bounded.
        if let Some((from, len)) = self.in_flight.replace(range) {
            self.sync_range(
                from,
                len,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            )?;
        }
        self.unsynced_from = self.written;
        Ok(())
    }
}

impl Write for IncrementalSyncFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.autosync()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_everything_across_sync_points() {
        let path = std::env::temp_dir().join(format!("ferrodis-incr-fsync-{}", std::process::id()));
        let file = File::create(&path).expect("create");
        let mut w = IncrementalSyncFile::new(file, true);
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..10 {
            w.write_all(&chunk).expect("write");
        }
        assert_eq!(w.in_flight, Some((4 << 20, 4 << 20)));
        w.into_inner().sync_all().expect("fsync");
        assert_eq!(std::fs::metadata(&path).map(|m| m.len()).ok(), Some(10 << 20));
        let _ = std::fs::remove_file(&path);
    }
}
