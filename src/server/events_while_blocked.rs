//! Turning the event loop from inside a long-running command (Redis's processEventsWhileBlocked):
//! a script past `busy-reply-threshold` lets the reactor accept connections, read and answer
//! clients, and keep the replication link and the diskless pipe moving, so other clients get
//! -BUSY (or run the few commands that may run: SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE...)
//! instead of hanging.
//!
//! What it must never do: run timers (cron, blocked-client timeouts, active expiry) or the
//! commands our master sends (they wait in the master client's buffer until the script ends),
//! or touch the client that is running the long command (it is out of the client table while it
//! runs; its readiness is kept for later).

use mio::Events;

use super::Server;

/// At most this many polls per turn, each without waiting; fewer when a poll finds nothing.
const POLLS_PER_TURN: usize = 4;

impl Server {
    /// One turn of the loop for a command that is still running.
    pub fn process_events_while_blocked(&mut self) {
        // Clients whose requests came in the same batch as the running command: their readiness
        // will not be reported again (edge-triggered), so read them now. Reading one twice (here,
        // then when the outer loop reaches its event) only costs a WouldBlock.
        for slot in std::mem::take(&mut self.batch_readable) {
            self.read_from_client(slot, true);
        }
        let mut events = Events::with_capacity(256);
        for _ in 0..POLLS_PER_TURN {
            if self.poll.poll(&mut events, Some(std::time::Duration::ZERO)).is_err() {
                break;
            }
            if events.is_empty() {
                break;
            }
            for event in events.iter() {
                // The handshake and a full sync change the dataset and the link: not under a
                // command that is still running. The event is replayed once it returned.
                if event.token().0 == crate::replication::replica::MASTER_LINK_TOKEN {
                    let writable = event.is_writable() || self.deferred_link_event == Some(true);
                    self.deferred_link_event = Some(writable);
                    continue;
                }
                self.handle_event(event, false);
            }
            self.flush_while_blocked();
        }
        self.flush_while_blocked();
        // SIGTERM during a long load: nothing to save, leave now (Redis's whileBlockedCron).
        if self.loading && super::shutdown::signal_received() {
            let nosave = super::shutdown::ShutdownFlags { nosave: true, ..Default::default() };
            if self.prepare_for_shutdown(nosave) == super::shutdown::ShutdownOutcome::Exit {
                std::process::exit(0);
            }
        }
        if let Some(code) = self.exit_code {
            // SHUTDOWN NOSAVE during a slow script: nothing else is waiting for us.
            std::process::exit(code);
        }
    }

    /// The part of before_sleep that is safe mid-command: the AOF, then replies, then the clients
    /// that asked to be closed.
    fn flush_while_blocked(&mut self) {
        if self.aof.is_on() {
            self.aof_flush();
        }
        for slot in std::mem::take(&mut self.pending_writes) {
            self.write_to_client(slot);
        }
    }
}
