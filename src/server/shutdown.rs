//! Process lifecycle: SIGTERM/SIGINT handling, the pid file, daemonizing, and the orderly shutdown that
//! SHUTDOWN and signals share (Redis's prepareForShutdown).
//!
//! The signal handler only sets an atomic flag and writes one log line with async-signal-safe calls;
//! the loop notices the flag and shuts down from normal context.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::server::Server;

static SIGNALED: AtomicBool = AtomicBool::new(false);
static SIGNAL_NO: AtomicI32 = AtomicI32::new(0);

/// Options of SHUTDOWN.
#[derive(Debug, Default, Clone, Copy)]
pub struct ShutdownFlags {
    pub nosave: bool,
    pub save: bool,
    pub now: bool,
    pub force: bool,
}

/// `temp-<pid>.rdb`, NUL-terminated, prepared before any signal can arrive: a second Ctrl-C during
/// the final save removes it from the handler, where formatting is not allowed.
static TEMP_RDB: std::sync::OnceLock<std::ffi::CString> = std::sync::OnceLock::new();

extern "C" fn on_signal(sig: libc::c_int) {
    let already = SIGNALED.swap(true, Ordering::SeqCst);
    SIGNAL_NO.store(sig, Ordering::SeqCst);
    let insist = already && sig == libc::SIGINT;
    let msg: &[u8] = if insist {
        b"You insist... exiting now.\n"
    } else if sig == libc::SIGINT {
        b"Received SIGINT scheduling shutdown...\n"
    } else {
        b"Received SIGTERM scheduling shutdown...\n"
    };
    // Redis prefixes handler lines with `<pid>:signal-handler (<unixtime>) `; getpid/time/write are
    // async-signal-safe, formatting is done by hand into a stack buffer.
    let mut buf = [0u8; 160];
    let mut n = 0;
    let mut put = |bytes: &[u8], n: &mut usize| {
        for &b in bytes {
            if *n < buf.len() {
                buf[*n] = b;
                *n += 1;
            }
        }
    };
    // SAFETY: getpid and time have no preconditions and are async-signal-safe.
    let (pid, now) = unsafe { (libc::getpid() as u64, libc::time(std::ptr::null_mut()) as u64) };
    let (d, len) = digits(pid);
    put(&d[..len], &mut n);
    put(b":signal-handler (", &mut n);
    let (d, len) = digits(now);
    put(&d[..len], &mut n);
    put(b") ", &mut n);
    put(msg, &mut n);
    // SAFETY: writing a stack buffer to stdout; errors are ignored on purpose.
    unsafe { libc::write(log_fd(), buf.as_ptr() as *const libc::c_void, n) };
    if insist {
        // A second Ctrl-C while shutting down: drop a half-written dump and leave at once, as Redis does.
        if let Some(path) = TEMP_RDB.get() {
            // SAFETY: unlink on a valid NUL-terminated path is async-signal-safe.
            unsafe { libc::unlink(path.as_ptr()) };
        }
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(1) };
    }
}

static LOG_FD: AtomicI32 = AtomicI32::new(1);

fn log_fd() -> libc::c_int {
    LOG_FD.load(Ordering::Relaxed)
}

/// Where the signal handler writes its line (the log file's fd, or stdout).
pub fn set_signal_log_fd(fd: i32) {
    LOG_FD.store(fd, Ordering::Relaxed);
}

/// Decimal digits of `v` and how many there are, without allocating (signal context).
fn digits(mut v: u64) -> ([u8; 20], usize) {
    let mut out = [0u8; 20];
    let mut tmp = [0u8; 20];
    let mut i = 0;
    loop {
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        i += 1;
        if v == 0 {
            break;
        }
    }
    for j in 0..i {
        out[j] = tmp[i - 1 - j];
    }
    (out, i)
}

/// Install SIGTERM/SIGINT handlers and ignore SIGPIPE (a closed peer is an I/O error, not a death).
pub fn install_signal_handlers() {
    let _ = TEMP_RDB.set(std::ffi::CString::new(format!("temp-{}.rdb", std::process::id())).unwrap_or_default());
    // SAFETY: installing handlers with a zeroed sigaction whose handler is an extern "C" fn.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = 0;
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Forget a received signal (SHUTDOWN ABORT); a later signal schedules a shutdown again.
pub fn clear_signal() {
    SIGNALED.store(false, Ordering::SeqCst);
}

/// True once a shutdown signal arrived.
pub fn signal_received() -> bool {
    SIGNALED.load(Ordering::SeqCst)
}

/// Write our pid to `path` (best effort, as Redis).
pub fn write_pidfile(path: &str) {
    if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
        log::warn!("Failed to write PID file: {e}");
    }
}

/// Detach from the terminal (`daemonize yes`): fork, setsid, stdio to /dev/null.
pub fn daemonize() {
    // SAFETY: called at startup before any other thread exists; fork/setsid/dup2 on our own process.
    unsafe {
        match libc::fork() {
            -1 => return,
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let devnull = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if devnull >= 0 {
            libc::dup2(devnull, 0);
            libc::dup2(devnull, 1);
            libc::dup2(devnull, 2);
            if devnull > 2 {
                libc::close(devnull);
            }
        }
    }
}

/// A shutdown held back until the replicas caught up (Redis's shutdown_mstime and shutdown_flags).
#[derive(Debug, Clone, Copy)]
pub struct ShutdownWait {
    /// Unix ms at which the shutdown goes ahead even with replicas still behind.
    pub deadline_ms: u64,
    pub flags: ShutdownFlags,
}

/// What became of a shutdown request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Everything is saved and closed: the process may exit.
    Exit,
    /// Lagging replicas are being waited for (or already were); the cron finishes the shutdown.
    Waiting,
    /// An error, already logged, stopped it; the server keeps running.
    Failed,
}

/// What SHUTDOWN's callers are told when the shutdown failed.
pub const SHUTDOWN_FAILED: &str = "Errors trying to SHUTDOWN. Check logs.";

impl ShutdownFlags {
    /// From the bits of `shutdown-on-sigint` / `shutdown-on-sigterm`.
    pub fn from_bits(bits: i32) -> Self {
        ShutdownFlags { save: bits & 1 != 0, nosave: bits & 2 != 0, now: bits & 4 != 0, force: bits & 8 != 0 }
    }
}

/// Whether the last shutdown signal was SIGINT (each signal has its own `shutdown-on-*` flags).
pub fn last_signal_was_sigint() -> bool {
    SIGNAL_NO.load(Ordering::SeqCst) == libc::SIGINT
}

impl Server {
    /// Start shutting down (Redis's prepareForShutdown). Unless NOW is given, lagging replicas are
    /// first given `shutdown-timeout` seconds to catch up, with writes paused meanwhile.
    pub fn prepare_for_shutdown(&mut self, mut flags: ShutdownFlags) -> ShutdownOutcome {
        if self.shutdown_wait.is_some() {
            return ShutdownOutcome::Waiting;
        }
        // Half a dataset must never overwrite the dump file.
        if self.loading || self.repl_diskless_loading() {
            flags.nosave = true;
            flags.save = false;
        }
        log::warn!("User requested shutdown...");
        let timeout_s = self.config.shutdown_timeout();
        if !flags.now && timeout_s != 0 && !self.replicas_in_sync() {
            if !self.is_paused_write_now() {
                self.repl_send_getack();
            }
            let deadline_ms = crate::server::unix_ms().saturating_add(timeout_s.saturating_mul(1000));
            self.shutdown_wait = Some(ShutdownWait { deadline_ms, flags });
            log::info!("Waiting for replicas before shutting down.");
            return ShutdownOutcome::Waiting;
        }
        self.finish_shutdown(flags)
    }

    /// From the cron: a signal's shutdown starts, a waiting one ends once its replicas caught up
    /// or its time is over. Returns whether the process may exit.
    pub fn shutdown_cron(&mut self) -> bool {
        if let Some(wait) = self.shutdown_wait {
            if crate::server::unix_ms() >= wait.deadline_ms || self.replicas_in_sync() {
                return self.finish_shutdown(wait.flags) == ShutdownOutcome::Exit;
            }
            return false;
        }
        if !self.shutdown_asap {
            return false;
        }
        let flags = self.config.shutdown_on_signal(last_signal_was_sigint());
        self.prepare_for_shutdown(flags) == ShutdownOutcome::Exit
    }

    /// Every replica acknowledged the whole stream (Redis's isReadyToShutdown).
    fn replicas_in_sync(&self) -> bool {
        let offset = self.repl.master_repl_offset;
        self.repl.replicas.iter().all(|&s| self.connected_replica(s).is_some_and(|r| r.ack_offset == offset))
    }

    /// Log every replica still behind, then how many are in sync.
    fn log_replicas_at_shutdown(&self) {
        let offset = self.repl.master_repl_offset;
        let now_s = crate::server::unix_ms() / 1000;
        let mut lagging = 0;
        for &slot in &self.repl.replicas {
            let Some(Some(c)) = self.clients.get(slot) else { continue };
            let Some(r) = c.replica.as_ref() else { continue };
            if r.ack_offset == offset {
                continue;
            }
            lagging += 1;
            let online = r.state == crate::replication::master::ReplicaState::Online;
            let lag = if online { now_s.saturating_sub(r.ack_time_ms / 1000) } else { 0 };
            log::warn!(
                "Lagging replica {} reported offset {} behind master, lag={lag}, state={}.",
                crate::replication::master::replica_name(c),
                offset as i64 - r.ack_offset as i64,
                r.state.name()
            );
        }
        let total = self.repl.replicas.len();
        if total > 0 {
            log::info!("{} of {total} replicas are in sync when shutting down.", total - lagging);
        }
    }

    /// The last step (Redis's finishShutdown): stop children, flush the AOF, save, remove the pid
    /// and socket files. On an error the shutdown is cancelled and the server goes on.
    fn finish_shutdown(&mut self, flags: ShutdownFlags) -> ShutdownOutcome {
        self.log_replicas_at_shutdown();
        if self.rdb.child.is_some() {
            log::warn!("There is a child saving an .rdb. Killing it!");
            self.kill_rdb_child();
        }
        if self.aof.child.is_some() {
            if self.aof.status == crate::server::aof_persistence::AofStatus::WaitRewrite {
                // The AOF being turned on has no base yet: exiting now would leave no AOF at all.
                if !flags.force {
                    log::warn!("Writing initial AOF, can't exit.");
                    return self.shutdown_failed();
                }
                log::warn!("Writing initial AOF. Exit anyway.");
            }
            // The AOF on disk may already be longer than what the child writes: stop it.
            log::warn!("There is a child rewriting the AOF. Killing it!");
            self.aof_kill_child();
        }
        if self.aof.is_on() {
            log::info!("Calling fsync() on the AOF file.");
            self.aof_flush_and_sync();
        }
        if ((!self.config.save_points().is_empty() && !flags.nosave) || flags.save)
            && !self.save_on_shutdown()
            && !flags.force
        {
            return self.shutdown_failed();
        }
        if let Some(pidfile) = self.config.pidfile()
            && !pidfile.is_empty()
        {
            log::info!("Removing the pid file.");
            let _ = std::fs::remove_file(pidfile);
        }
        if let Some(path) = self.unix_socket_path() {
            log::info!("Removing the unix socket file.");
            let _ = std::fs::remove_file(path);
        }
        // Closed before exiting, as Redis's closeListeningSockets: a client connecting from now
        // on is refused rather than accepted into a backlog nobody will read.
        self.close_listeners();
        log::warn!("Redis is now ready to exit, bye bye...");
        ShutdownOutcome::Exit
    }

    fn shutdown_failed(&mut self) -> ShutdownOutcome {
        log::warn!("Errors trying to shut down the server. Check the logs for more information.");
        self.cancel_shutdown();
        ShutdownOutcome::Failed
    }

    /// Forget the shutdown: clients blocked in SHUTDOWN get an error and writes resume.
    fn cancel_shutdown(&mut self) {
        self.shutdown_asap = false;
        clear_signal();
        let was_waiting = self.shutdown_wait.take().is_some();
        self.reply_to_clients_blocked_on_shutdown(SHUTDOWN_FAILED);
        if was_waiting {
            self.resume_paused_clients();
        }
    }

    /// SHUTDOWN ABORT: false when no shutdown was initiated or requested.
    pub fn abort_shutdown(&mut self) -> bool {
        if self.shutdown_wait.is_some() {
            self.cancel_shutdown();
        } else if self.shutdown_asap || signal_received() {
            self.shutdown_asap = false;
            clear_signal();
        } else {
            return false;
        }
        log::info!("Shutdown manually aborted.");
        true
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn digits_left_aligned() {
        let (d, n) = super::digits(1234);
        assert_eq!(&d[..n], b"1234");
        let (d, n) = super::digits(0);
        assert_eq!(&d[..n], b"0");
    }
}
