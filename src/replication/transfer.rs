//! Receiving a full sync's RDB on the replica (the payload part of Redis's readSyncBulkPayload):
//! the `$<len>` or `$EOF:<mark>` header, then the payload either saved as the dump file and
//! loaded once complete, or handed record by record to the streaming loader (`diskless_load`).
//!
//! Never blocks the event loop: it works on what the link has buffered and returns for more.

use std::io::Write;

use super::diskless_load::Pump;
use super::replica::{MasterLink, Payload};
use crate::server::{Server, unix_ms};

impl MasterLink {
    /// The replid of the +FULLRESYNC being served.
    pub(super) fn sync_replid(&self) -> &str {
        &self.sync_replid
    }

    /// Drop `n` parsed bytes from the front of the buffer.
    pub(super) fn drain_front(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }

    /// The payload bytes received after the first `parsed` of the buffer, and whether they are
    /// all that is left of it (`consumed` payload bytes were parsed in total).
    pub(super) fn payload_bytes(&self, parsed: usize, consumed: usize) -> (&[u8], bool) {
        let at_hand = self.buf.get(parsed..).unwrap_or_default();
        match &self.payload {
            Some(Payload::Sized(len)) => {
                let left = len.saturating_sub(consumed);
                (&at_hand[..left.min(at_hand.len())], at_hand.len() >= left)
            }
            _ => (at_hand, false),
        }
    }

    /// After the RDB: the EOF mark of a `$EOF:` payload must follow. None while it has not fully
    /// arrived; Ok with the bytes to skip; Err when it does not match.
    pub(super) fn eof_mark_check(&self, parsed: usize, consumed: usize) -> Option<Result<usize, ()>> {
        let mark = match &self.payload {
            Some(Payload::Eof(mark)) => mark,
            // The RDB must fill the announced length exactly: anything else is a broken transfer.
            Some(Payload::Sized(len)) => return Some(if consumed == *len { Ok(0) } else { Err(()) }),
            None => return Some(Err(())),
        };
        let got = self.buf.get(parsed..parsed + mark.len())?;
        Some(if got == mark.as_slice() { Ok(mark.len()) } else { Err(()) })
    }
}

impl Server {
    /// Read the RDB payload; when complete, load it and start streaming. Returns true to keep
    /// processing the buffer (more may follow), false to wait for more bytes.
    pub(super) fn repl_transfer_progress(&mut self) -> bool {
        if self.link.payload.is_none() {
            let Some(line) = self.repl_link_line() else { return false };
            if line.is_empty() {
                // A keepalive newline while the master prepares the RDB.
                return true;
            }
            if let Some(err) = line.strip_prefix('-') {
                log::warn!("MASTER aborted replication with an error: {err}");
                self.repl_link_failed();
                return false;
            }
            let Some(spec) = line.strip_prefix('$') else {
                log::warn!(
                    "Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?"
                );
                self.repl_link_failed();
                return false;
            };
            let diskless = self.repl_use_diskless_load();
            let target = if diskless { "to parser" } else { "to disk" };
            if let Some(mark) = spec.strip_prefix("EOF:") {
                if mark.len() != 40 {
                    log::warn!("Bad protocol from MASTER: the EOF mark is not 40 bytes ('{spec}')");
                    self.repl_link_failed();
                    return false;
                }
                self.link.payload = Some(Payload::Eof(mark.as_bytes().to_vec()));
                log::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {target}");
            } else {
                let Ok(len) = spec.parse::<usize>() else {
                    log::warn!("Bad protocol from MASTER: invalid bulk length '{spec}'");
                    self.repl_link_failed();
                    return false;
                };
                self.link.transfer_size = len as i64;
                self.link.payload = Some(Payload::Sized(len));
                log::info!("MASTER <-> REPLICA sync: receiving {len} bytes from master {target}");
            }
            if diskless {
                self.repl_streaming_load_start();
            }
        }
        if self.link.streaming.is_some() {
            self.link.transfer_read = self.link.transfer_read.max(self.link.buf.len() as u64);
            match self.repl_streaming_pump() {
                Pump::Finished => {
                    let eof_mode = matches!(self.link.payload, Some(Payload::Eof(_)));
                    self.link.payload = None;
                    self.repl_become_connected(false);
                    if eof_mode {
                        self.repl_send_ack();
                    }
                }
                Pump::Failed => self.repl_link_failed(),
                Pump::NeedMore | Pump::Paused => {}
            }
            return false;
        }
        let complete = match &self.link.payload {
            Some(Payload::Sized(len)) => (self.link.buf.len() >= *len).then_some(*len),
            // As Redis: the payload ends when the last bytes received are the mark (the master sends
            // nothing after it until we ACK).
            Some(Payload::Eof(mark)) => self.link.buf.ends_with(mark).then_some(self.link.buf.len()),
            None => None,
        };
        self.link.transfer_read = self.link.buf.len() as u64;
        let Some(end) = complete else { return false };
        let mut rdb: Vec<u8> = self.link.buf.drain(..end).collect();
        if let Some(Payload::Eof(mark)) = &self.link.payload {
            rdb.truncate(rdb.len() - mark.len());
        }
        let eof_mode = matches!(self.link.payload, Some(Payload::Eof(_)));
        self.link.payload = None;
        if self.repl_load_transferred(&rdb).is_err() {
            self.repl_link_failed();
            return false;
        }
        self.repl_become_connected(false);
        if eof_mode {
            self.repl_send_ack();
        }
        false
    }

    /// Whether the RDB about to arrive is loaded without the dump file (repl-diskless-load swapdb,
    /// or on-empty-db with nothing to lose).
    fn repl_use_diskless_load(&self) -> bool {
        match self.config.repl_diskless_load() {
            1 => self.dbs.iter().all(|d| d.is_empty()),
            2 => true,
            _ => false,
        }
    }

    /// Replace the dataset with the master's RDB received whole: saved as our dump file first (as
    /// Redis does with its transfer temp file), then loaded.
    fn repl_load_transferred(&mut self, rdb: &[u8]) -> Result<(), ()> {
        let tmp = format!("temp-{}.{}.rdb", unix_ms() / 1000, std::process::id());
        let saved =
            std::fs::File::create(&tmp).and_then(|mut f| f.write_all(rdb).and_then(|()| f.sync_all())).and_then(|()| {
                crate::server::rdb_persistence::rename_durably(tmp.as_ref(), self.config.dbfilename().as_ref())
            });
        if let Err(e) = saved {
            log::warn!(
                "Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {e}",
                self.config.dbfilename()
            );
            let _ = std::fs::remove_file(&tmp);
            return Err(());
        }
        // A background save would race the new dataset.
        if self.rdb.child.is_some() {
            log::info!(
                "Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process {} and removing its temp file to avoid any race",
                self.rdb.child.as_ref().map_or(0, |c| c.pid)
            );
            self.kill_rdb_child();
        }
        self.repl_attach_to_new_master();
        log::info!("MASTER <-> REPLICA sync: Flushing old data");
        self.flush_all();
        // The master's libraries replace ours.
        self.scripting.flush_functions();
        log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        let was_loading = std::mem::replace(&mut self.loading, true);
        // Not turning the loop: the link must not be read while its payload loads.
        let loaded = self.rdb_load_bytes(rdb, true, false);
        self.loading = was_loading;
        if let Err(e) = loaded {
            log::warn!(
                "Failed trying to load the MASTER synchronization DB from disk: {} at offset {}",
                e.reason,
                e.offset
            );
            return Err(());
        }
        self.repl_full_sync_loaded();
        Ok(())
    }

    /// The master's dataset is ours now (from disk or streamed): take its history.
    pub(super) fn repl_full_sync_loaded(&mut self) {
        self.repl.replid = self.link.sync_replid.clone();
        self.repl.master_repl_offset = self.link.sync_offset;
        self.repl.replid2 = super::NO_REPLID.to_string();
        self.repl.second_repl_offset = -1;
        self.repl_create_backlog();
        self.link.can_psync = true;
        log::info!("MASTER <-> REPLICA sync: Finished with success");
        if self.aof.is_on() {
            // The AOF must describe the new dataset: rewrite it from scratch.
            let _ = self.aof_rewrite_background();
        }
    }
}
