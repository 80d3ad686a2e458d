//! The one propagation point (Redis's alsoPropagate / propagatePendingCommands): every change to the
//! dataset is queued here as a RESP command while a command runs, and fed in order to the AOF and to
//! the replication stream when the outermost `call` ends, wrapped in MULTI/EXEC when one call
//! produced several.
//!
//! Handlers say what they propagate when it differs from what the client sent (`propagate_as`:
//! relative expiry turned absolute, a blocking pop turned into its plain form), add extra commands
//! (`also_propagate`) or nothing at all (`prevent_propagation`). The central `call` decides the rest
//! from the dirty counter, so no handler forgets a write.
//!
//! This module never runs commands and never blocks: it only encodes RESP and hands the bytes to the
//! AOF buffer and the replication feed, both of which are plain in-memory appends.

use crate::command::Args;
use crate::numeric::format_i64;
use crate::server::Server;

/// Where a queued command goes.
pub mod target {
    pub const AOF: u8 = 1;
    pub const REPL: u8 = 2;
    pub const ALL: u8 = AOF | REPL;
}

/// `*1\r\n$5\r\nMULTI\r\n` and its EXEC counterpart, as Redis's shared objects spell them.
const MULTI: &[u8] = b"*1\r\n$5\r\nMULTI\r\n";
const EXEC: &[u8] = b"*1\r\n$4\r\nEXEC\r\n";

/// One queued command: the database it applies to, its targets, and its RESP bytes in `buf`.
#[derive(Debug, Clone, Copy)]
struct QueuedOp {
    db: usize,
    targets: u8,
    start: usize,
    end: usize,
}

/// What the running command asked for about its own propagation; saved and restored around nested
/// calls (EXEC runs its queued commands through `call`).
#[derive(Debug, Default)]
pub struct CallPropagation {
    /// The command is propagated as these RESP bytes instead of its own arguments.
    pub rewritten: Option<Vec<u8>>,
    /// The command itself is not propagated (its effects went out through `also_propagate`).
    pub prevented: bool,
    /// Propagated even if it changed nothing (FLUSHALL on an empty server, PUBLISH to replicas).
    pub forced: u8,
}

/// Commands queued during the current top-level call.
#[derive(Debug, Default)]
pub struct Propagation {
    buf: Vec<u8>,
    ops: Vec<QueuedOp>,
    /// Depth of nested `call`s; the queue is flushed when the outermost one ends.
    pub depth: u32,
    /// Flush without MULTI/EXEC (active expiry and eviction delete unrelated keys).
    pub no_multi: bool,
    pub call: CallPropagation,
}

/// Append `SELECT <db>` as a RESP array to `out` (the AOF, the replication stream and a command-form
/// AOF base all switch databases this way).
pub fn encode_select(out: &mut Vec<u8>, db: usize) {
    let id = int_arg(db as i64);
    encode_command(out, 2, [b"SELECT".as_slice(), &id].into_iter());
}

/// The command a deletion is replicated as: UNLINK when the matching lazyfree option is on.
pub fn deletion_command(lazy: bool) -> &'static [u8] {
    if lazy { b"UNLINK" } else { b"DEL" }
}

/// Append `argv` as a RESP array to `out`.
pub fn encode_command<'a>(out: &mut Vec<u8>, argc: usize, argv: impl Iterator<Item = &'a [u8]>) {
    out.push(b'*');
    format_i64(out, argc as i64);
    out.extend_from_slice(b"\r\n");
    for a in argv {
        out.push(b'$');
        format_i64(out, a.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Propagation {
    fn push(&mut self, db: usize, targets: u8, resp: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(resp);
        self.ops.push(QueuedOp { db, targets, start, end: self.buf.len() });
    }

    fn push_argv<'a>(&mut self, db: usize, targets: u8, argc: usize, argv: impl Iterator<Item = &'a [u8]>) {
        let start = self.buf.len();
        encode_command(&mut self.buf, argc, argv);
        self.ops.push(QueuedOp { db, targets, start, end: self.buf.len() });
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

impl Server {
    /// Whether anything consumes propagated commands: an AOF, or (on a master) a backlog or replicas.
    /// Nothing is queued otherwise, so a server without either pays nothing.
    pub fn should_propagate(&self, targets: u8) -> bool {
        if self.loading {
            return false;
        }
        (targets & target::AOF != 0 && self.aof.is_on()) || (targets & target::REPL != 0 && self.repl_feeds_stream())
    }

    /// Queue a command besides (or instead of) the running one (Redis's alsoPropagate).
    pub fn also_propagate(&mut self, db: usize, argv: &[&[u8]]) {
        self.also_propagate_to(db, target::ALL, argv);
    }

    pub fn also_propagate_to(&mut self, db: usize, targets: u8, argv: &[&[u8]]) {
        if !self.should_propagate(targets) {
            return;
        }
        self.prop.push_argv(db, targets, argv.len(), argv.iter().copied());
    }

    /// The running command is propagated as `argv` instead of what the client sent (Redis's
    /// rewriteClientCommandVector).
    pub fn propagate_as(&mut self, argv: &[&[u8]]) {
        if !self.should_propagate(target::ALL) {
            return;
        }
        let mut out = Vec::new();
        encode_command(&mut out, argv.len(), argv.iter().copied());
        self.prop.call.rewritten = Some(out);
    }

    /// The running command is not propagated itself.
    pub fn prevent_propagation(&mut self) {
        self.prop.call.prevented = true;
    }

    /// The running command is propagated to `targets` even if it changed nothing.
    pub fn force_propagation(&mut self, targets: u8) {
        self.prop.call.forced |= targets;
    }

    /// Entering `call`: a fresh per-call state, the caller's saved for `leave_call`.
    pub(crate) fn enter_call(&mut self) -> CallPropagation {
        self.prop.depth += 1;
        std::mem::take(&mut self.prop.call)
    }

    /// Leaving `call`: queue the command if it changed the dataset (or forced it), restore the
    /// caller's state, and flush when this was the outermost call. EXEC is never queued itself: its
    /// commands were.
    pub(crate) fn leave_call(&mut self, saved: CallPropagation, db: usize, args: &Args, dirtied: bool, is_exec: bool) {
        let call = std::mem::replace(&mut self.prop.call, saved);
        self.prop.depth -= 1;
        if !is_exec && !call.prevented {
            let mut targets = if dirtied { target::ALL } else { 0 } | call.forced;
            if targets != 0 && !self.should_propagate(targets) {
                targets = 0;
            }
            if targets != 0 {
                match call.rewritten {
                    Some(resp) => self.prop.push(db, targets, &resp),
                    None => self.prop.push_argv(db, targets, args.len(), args.iter()),
                }
            }
        }
        if self.prop.depth == 0 {
            self.propagate_pending();
        }
    }

    /// Feed every queued command to its targets, wrapped in MULTI/EXEC when there are several and
    /// they came from one command (not from active expiry or eviction).
    pub fn propagate_pending(&mut self) {
        if self.prop.ops.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.prop.ops);
        let buf = std::mem::take(&mut self.prop.buf);
        let wrap = ops.len() > 1 && !self.prop.no_multi;
        if wrap {
            self.propagate_now(ops[0].db, target::ALL, MULTI);
        }
        for op in &ops {
            self.propagate_now(op.db, op.targets, &buf[op.start..op.end]);
        }
        if wrap {
            self.propagate_now(ops[ops.len() - 1].db, target::ALL, EXEC);
        }
        // Keep the allocations for the next command.
        let (mut ops, mut buf) = (ops, buf);
        ops.clear();
        buf.clear();
        self.prop.ops = ops;
        self.prop.buf = buf;
    }

    fn propagate_now(&mut self, db: usize, targets: u8, resp: &[u8]) {
        if targets & target::AOF != 0 && self.aof.is_on() {
            self.aof_feed(db, resp);
        }
        if targets & target::REPL != 0 && self.repl_feeds_stream() {
            self.repl_feed(db, resp);
        }
    }

    /// DEL or UNLINK of a key removed by expiry or eviction (Redis's propagateDeletion).
    pub fn propagate_deletion(&mut self, db: usize, key: &[u8], lazy: bool) {
        self.also_propagate(db, &[deletion_command(lazy), key]);
    }
}

/// An integer argument for a rewritten command.
pub fn int_arg(n: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(20);
    format_i64(&mut v, n);
    v
}
