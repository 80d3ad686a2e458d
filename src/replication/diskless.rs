//! Diskless full sync on the master (repl-diskless-sync): a forked child writes the RDB, framed as
//! `$EOF:<mark>\r\n<rdb><mark>`, into a pipe, and the event loop relays what it reads from the pipe
//! to every replica of that transfer. Reading pauses while a replica still has a lot unsent, so a
//! slow replica bounds the memory (Redis waits the same way). The child only exits once the parent
//! has read everything (a second pipe it waits on is closed by the parent), so the transfer's end
//! is seen in order: pipe EOF, then the child's exit, then the replicas go online and wait for their
//! first ACK before the stream follows the RDB.
//!
//! Never blocks the event loop: the pipe is non-blocking and registered with the reactor.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use mio::unix::pipe;
use mio::{Interest, Token};

use crate::server::{Server, unix_ms};

use super::master::ReplicaState;

/// Reactor token of the RDB pipe.
pub const RDB_PIPE_TOKEN: usize = usize::MAX - 129;
/// Reading from the pipe pauses while a replica has more than this unsent.
const PIPE_BACKPRESSURE: usize = 1 << 20;
const PIPE_READ_CHUNK: usize = 64 * 1024;

/// The parent's ends of a running socket transfer.
#[derive(Debug)]
pub struct RdbPipe {
    data: pipe::Receiver,
    /// Dropped when everything was read: the child may then exit.
    _safe_to_exit: pipe::Sender,
}

impl Server {
    /// Fork the child that streams the RDB to the replicas waiting for a full sync. The caller has
    /// moved them to WaitBgsaveEnd with `socket_transfer` set.
    pub fn repl_bgsave_to_sockets(&mut self, functions_only: bool) -> std::io::Result<()> {
        let (data_tx, mut data_rx) = pipe::new()?;
        let (exit_tx, exit_rx) = pipe::new()?;
        let mark = self.random_hex(40);
        let info = self.rdb_save_info();
        let no_dbs: Vec<crate::db::Db> = Vec::new();
        let opts = self.rdb_save_options();
        // The child closes the parent's ends (by number: the parent keeps owning them); the
        // parent's copies of the child's ends close when this closure is dropped unrun.
        let parent_ends = [data_rx.as_raw_fd(), exit_tx.as_raw_fd()];
        let child = self.fork_child("redis-rdb-to-slaves", move |srv| {
            for fd in parent_ends {
                // SAFETY: closing this process's copies of descriptors only the parent uses.
                unsafe { libc::close(fd) };
            }
            let mut out = data_tx;
            let mut wait = exit_rx;
            if out.set_nonblocking(false).is_err() || wait.set_nonblocking(false).is_err() {
                return 1;
            }
            let now = unix_ms() as i64;
            let mut info = info;
            info.progress = srv.child_info.reporter();
            let written = out
                .write_all(format!("$EOF:{mark}\r\n").as_bytes())
                .and_then(|()| {
                    let dbs = if functions_only { &no_dbs } else { &srv.dbs };
                    crate::persistence::rdb::save(dbs, &info, opts, now, &mut out)
                })
                .and_then(|_| out.write_all(mark.as_bytes()));
            drop(out);
            // Wait for the parent to have read it all (it closes its end), so our exit means the
            // transfer is complete.
            let mut byte = [0u8; 1];
            while matches!(wait.read(&mut byte), Ok(n) if n > 0) {}
            if written.is_err() {
                return 1;
            }
            if let Some(r) = &info.progress {
                r.send(crate::server::child_info::InfoKind::RdbCowSize, 0);
            }
            0
        })?;
        self.poll.registry().register(&mut data_rx, Token(RDB_PIPE_TOKEN), Interest::READABLE)?;
        log::info!("Background RDB transfer started by pid {}", child.pid);
        self.rdb.child = Some(child);
        self.rdb.for_replication = true;
        self.rdb.to_sockets = true;
        self.repl.rdb_pipe = Some(RdbPipe { data: data_rx, _safe_to_exit: exit_tx });
        Ok(())
    }

    /// Slots of the replicas receiving the current socket transfer.
    fn repl_socket_receivers(&self) -> Vec<usize> {
        self.replicas_where(|r| r.state == ReplicaState::WaitBgsaveEnd && r.socket_transfer)
    }

    pub(crate) fn repl_close_rdb_pipe(&mut self) {
        if let Some(mut p) = self.repl.rdb_pipe.take() {
            let _ = self.poll.registry().deregister(&mut p.data);
        }
    }

    /// Relay what the child wrote to the replicas of the transfer (pipe readable, or before
    /// sleeping once they drained what they had).
    pub fn repl_rdb_pipe_pump(&mut self) {
        if self.repl.rdb_pipe.is_none() {
            return;
        }
        let receivers = self.repl_socket_receivers();
        if receivers.is_empty() {
            log::warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
            self.repl_close_rdb_pipe();
            self.kill_rdb_child();
            self.rdb.for_replication = false;
            return;
        }
        let mut chunk = vec![0u8; PIPE_READ_CHUNK];
        loop {
            let behind = receivers
                .iter()
                .any(|&s| matches!(self.clients.get(s), Some(Some(c)) if c.pending_output() > PIPE_BACKPRESSURE));
            if behind {
                return;
            }
            let Some(p) = self.repl.rdb_pipe.as_mut() else { return };
            match p.data.read(&mut chunk) {
                Ok(0) => {
                    log::warn!("Diskless rdb transfer, done reading from pipe, {} replicas still up.", receivers.len());
                    self.repl_close_rdb_pipe();
                    return;
                }
                Ok(n) => {
                    for &slot in &receivers {
                        if let Some(Some(c)) = self.clients.get_mut(slot) {
                            c.reply.buf.extend_from_slice(&chunk[..n]);
                            self.queue_write(slot);
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("Diskless rdb transfer, read error sending DB to replicas: {e}");
                    self.repl_close_rdb_pipe();
                    // The replicas of the transfer fail with it.
                    self.kill_rdb_child();
                    return;
                }
            }
        }
    }

    /// Whether a diskless transfer's pipe is open (its data may be waiting for a slow replica).
    pub fn repl_rdb_pipe_open(&self) -> bool {
        self.repl.rdb_pipe.is_some()
    }
}
