//! Command dispatch: the checks every command shares (lookup, arity, AUTH, ACL permissions, MULTI
//! queueing, pauses) in `process_command`, and `call`, which runs a handler, times it, counts it
//! (commandstats, errorstats, slowlog) and feeds MONITOR. Handlers never repeat these checks.

use crate::acl::log::Context as AclContext;
use crate::client::{Client, QueuedCommand, ReplyMode, flags as cflags};
use crate::command::{Args, Command, Lookup, flags};
use crate::error::{self, CmdError};
use crate::server::{Server, SlowlogEntry, unix_us};

impl Server {
    /// Run one parsed command from a client, or queue it inside MULTI.
    pub fn process_command(&mut self, c: &mut Client, args: &Args) {
        let (cmd_id, is_exec_like) = match self.resolve(args) {
            Ok(cmd) => (cmd.id, matches!(cmd.spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")),
            Err((Some(id), e)) => {
                self.reject(c, id, &e);
                return;
            }
            Err((None, e)) => {
                c.last_cmd = None;
                if c.in_multi() {
                    c.flags |= cflags::DIRTY_EXEC;
                }
                self.reply_error(c, &e);
                return;
            }
        };
        let spec = self.commands.commands[cmd_id].spec;
        c.last_cmd = Some(cmd_id);

        if self.auth_required(c) && !spec.has(flags::NO_AUTH) {
            self.reject(c, cmd_id, &error::NOAUTH.into());
            return;
        }
        if let Err(denial) = self.acl_check(c, cmd_id, args) {
            let context = if c.in_multi() { AclContext::Multi } else { AclContext::Toplevel };
            self.acl_log_denial(c, c, denial, cmd_id, args, context);
            let e = self.noperm_error(denial, cmd_id);
            self.reject(c, cmd_id, &e);
            return;
        }
        // A load that lets the loop turn (a slow script in the AOF, a diskless sync) answers
        // -LOADING first, before -BUSY, as Redis orders them.
        if (self.loading || self.repl_diskless_loading()) && self.lacks_flag(c, spec, flags::LOADING) {
            self.reject(c, cmd_id, &error::LOADING.into());
            return;
        }
        if let Some(run) = self.scripting.timed_out
            && !spec.has(flags::ALLOW_BUSY)
        {
            self.reject(c, cmd_id, &run.busy_error().into());
            return;
        }
        if self.repl_async_loading() && self.denied_while_async_loading(c, spec) {
            self.reject(c, cmd_id, &error::LOADING.into());
            return;
        }
        if spec.has(flags::PROTECTED) && !self.debug_allowed(c) {
            let e = CmdError::err(format!(
                "{} command not allowed. If the {} option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
                spec.name.to_ascii_uppercase(),
                "enable-debug-command"
            ));
            self.reject(c, cmd_id, &e);
            return;
        }
        if self.tracking.clients > 0 {
            self.as_running_client(c, Self::tracking_limit_keys);
        }
        if self.config.maxmemory() > 0 {
            let out_of_memory = !self.as_running_client(c, Self::perform_evictions);
            if out_of_memory && self.rejects_on_oom(c, spec) {
                self.reject(c, cmd_id, &error::OOM.into());
                return;
            }
        }
        // A failing background save stops writes (and PING) until a save succeeds again.
        if self.writes_refused_by_bgsave_error()
            && !self.is_replica()
            && (self.is_write_command(c, spec) || spec.name == "ping")
        {
            self.reject(c, cmd_id, &error::MISCONF.into());
            return;
        }
        // A replica takes writes only from its master (replica-read-only).
        if self.is_replica() && !c.is_master && self.config.replica_read_only() && self.is_write_command(c, spec) {
            self.reject(c, cmd_id, &error::READONLY.into());
            return;
        }
        // A replica connection carries our stream and its ACKs only; Redis refuses anything that
        // would touch the keyspace on it (replicas are exempt from client pauses).
        if c.replica.is_some()
            && !c.has(cflags::MONITOR)
            && (spec.has(flags::MAY_REPLICATE) || spec.has(flags::READONLY) || self.is_write_command(c, spec))
        {
            self.reject(c, cmd_id, &CmdError::err("Replica can't interact with the keyspace"));
            return;
        }
        if self.is_replica()
            && !self.repl_link_up()
            && !self.config.replica_serve_stale_data()
            && self.lacks_flag(c, spec, flags::STALE)
        {
            self.reject(c, cmd_id, &error::MASTERDOWN.into());
            return;
        }
        if !self.good_replicas_ok() && self.is_write_command(c, spec) {
            self.reject(c, cmd_id, &error::NOREPLICAS.into());
            return;
        }
        // RESP2 has no out-of-band messages: a subscribed connection may only manage subscriptions.
        if c.has(cflags::PUBSUB)
            && c.reply.resp == 2
            && !matches!(
                spec.name,
                "ping"
                    | "subscribe"
                    | "ssubscribe"
                    | "unsubscribe"
                    | "sunsubscribe"
                    | "psubscribe"
                    | "punsubscribe"
                    | "quit"
                    | "reset"
            )
        {
            let e = CmdError::err(format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                self.commands.commands[cmd_id].full_name
            ));
            self.reject(c, cmd_id, &e);
            return;
        }
        if c.in_multi() && !is_exec_like {
            if spec.has(flags::NO_MULTI) {
                let e = CmdError::err("Command not allowed inside a transaction");
                self.reject(c, cmd_id, &e);
                return;
            }
            let (buf, ranges) = args.to_owned_parts();
            c.multi.push(QueuedCommand { buf, ranges });
            c.reply.simple(b"QUEUED");
            return;
        }
        self.call(c, cmd_id, args);
        c.woff = self.repl.master_repl_offset;
        // CLIENT CACHING applies to the next command (a whole transaction counts as one).
        if c.tracking.as_deref().is_some_and(|t| t.caching)
            && !c.in_multi()
            && !self.commands.commands[cmd_id].full_name.starts_with("client|")
            && let Some(t) = c.tracking.as_deref_mut()
        {
            t.caching = false;
        }
    }

    /// Commands that would change replication or persistence under an async load (and EXEC of a
    /// transaction holding one).
    fn denied_while_async_loading(&self, c: &Client, spec: &crate::command::CommandSpec) -> bool {
        spec.has(flags::NO_ASYNC_LOADING)
            || (spec.name == "exec" && c.multi.iter().any(|q| self.queued_has(q, flags::NO_ASYNC_LOADING)))
    }

    /// Whether this command must be refused while over `maxmemory` (Redis's reject_cmd_on_oom): commands
    /// that may grow memory, EXEC of a transaction holding one, and anything queued inside MULTI
    /// except EXEC, DISCARD, QUIT and RESET.
    fn rejects_on_oom(&self, c: &Client, spec: &crate::command::CommandSpec) -> bool {
        if spec.has(flags::DENYOOM) {
            return true;
        }
        if spec.name == "exec" {
            return c.multi.iter().any(|q| self.queued_has(q, flags::DENYOOM));
        }
        c.in_multi() && !matches!(spec.name, "discard" | "quit" | "reset")
    }

    /// Find the command for argv and check its arity. A known command with the wrong arity comes back
    /// with its id, so the rejection is counted against it.
    fn resolve(&self, args: &Args) -> Result<&Command, (Option<usize>, CmdError)> {
        let cmd = match self.commands.lookup(args) {
            Lookup::Found(cmd) => cmd,
            Lookup::Unknown => return Err((None, error::unknown_command(args.get(0), args.iter().skip(1)))),
            Lookup::UnknownSubcommand(parent) => {
                return Err((None, error::unknown_subcommand(parent.spec.name, args.get(1))));
            }
        };
        if !cmd.spec.arity_ok(args.len()) {
            return Err((Some(cmd.id), error::wrong_arity(&cmd.full_name)));
        }
        Ok(cmd)
    }

    /// Refuse a known command before running it (counted as rejected, like Redis's rejectCommand). A
    /// refused EXEC discards its transaction and says why.
    fn reject(&mut self, c: &mut Client, cmd_id: usize, e: &CmdError) {
        self.cmd_stats[cmd_id].rejected += 1;
        if self.commands.commands[cmd_id].spec.name == "exec" && c.in_multi() {
            crate::command::transaction::discard_transaction(self, c);
            let mut text = b"EXECABORT Transaction discarded because of: ".to_vec();
            text.extend_from_slice(e.without_err_code());
            let abort = CmdError::from(text);
            self.reply_error(c, &abort);
            return;
        }
        if c.in_multi() {
            c.flags |= cflags::DIRTY_EXEC;
        }
        self.reply_error(c, e);
    }

    /// A write, or an EXEC whose queue holds one.
    pub(crate) fn is_write_command(&self, c: &Client, spec: &crate::command::CommandSpec) -> bool {
        spec.has(flags::WRITE) || (spec.name == "exec" && c.multi.iter().any(|q| self.queued_has(q, flags::WRITE)))
    }

    /// The command lacks an allowing flag (LOADING, STALE), or is an EXEC whose queue holds a
    /// command that lacks it: the state may have changed since the commands were queued.
    fn lacks_flag(&self, c: &Client, spec: &crate::command::CommandSpec, flag: u32) -> bool {
        !spec.has(flag) || (spec.name == "exec" && c.multi.iter().any(|q| !self.queued_has(q, flag)))
    }

    fn queued_has(&self, q: &crate::client::QueuedCommand, flag: u32) -> bool {
        let args = Args::new(&q.buf, &q.ranges);
        matches!(self.commands.lookup(&args), Lookup::Found(cmd) if cmd.spec.has(flag))
    }

    /// `min-replicas-to-write`: enough replicas acknowledged within `min-replicas-max-lag`.
    pub(crate) fn good_replicas_ok(&self) -> bool {
        self.is_replica()
            || self.config.min_replicas_max_lag() == 0
            || self.config.min_replicas_to_write() == 0
            || self.repl_good_replicas() as u64 >= self.config.min_replicas_to_write()
    }

    /// Write an error reply and count it in errorstats.
    pub fn reply_error(&mut self, c: &mut Client, e: &CmdError) {
        self.stats.total_error_replies += 1;
        *self.error_stats.entry(e.code()).or_insert(0) += 1;
        // An error on a replication link means the two sides diverge: rare, and worth a loud line.
        if c.is_master || c.replica.is_some() {
            let (from, to) = if c.is_master { ("replica", "master") } else { ("master", "replica") };
            let text = String::from_utf8_lossy(e.text());
            let text: String = text.chars().take(4096).collect();
            let cmd = c.last_cmd.map_or("<unknown>", |id| self.commands.commands[id].full_name.as_str());
            log::warn!(
                "== CRITICAL == This {from} is sending an error to its {to}: '{text}' after processing the command '{cmd}'"
            );
        }
        match c.reply_mode {
            ReplyMode::On => c.reply.error(e.text()),
            ReplyMode::Off => {}
            // A command refused before it ran still used up the skip.
            ReplyMode::Skip if self.current_client.is_none() => c.reply_mode = ReplyMode::On,
            ReplyMode::Skip | ReplyMode::SkipNext => {}
        }
    }

    /// Run a command: the handler, then the bookkeeping Redis's call() does.
    pub fn call(&mut self, c: &mut Client, cmd_id: usize, args: &Args) {
        let spec = self.commands.commands[cmd_id].spec;
        // The AOF replay is not a client: no MONITOR feed, no stats, no slowlog (Redis's CMD_CALL_NONE).
        let replaying = c.id == crate::server::aof_loading::AOF_CLIENT_ID;
        if !replaying && !self.monitors.is_empty() && !spec.has(flags::SKIP_MONITOR) && !spec.has(flags::ADMIN) {
            self.feed_monitors(c, cmd_id, args);
        }
        let saved_propagation = self.enter_call();
        let dirty_before = self.dirty;
        // CLIENT REPLY OFF/SKIP: whatever this command replies is cut off again afterwards.
        let mode_before = c.reply_mode;
        let saved_len = c.reply.buf.len();
        // A script's own client never becomes the current one: what its commands do is done on
        // behalf of the client running the script (NOLOOP, pushes to self, the master's writes).
        let in_script = c.id == crate::scripting::runner::SCRIPT_CLIENT_ID;
        let prev_current = if in_script { self.current_client } else { self.current_client.replace((c.slot, c.id)) };
        // A command run from inside another (a turn of the loop under a slow script) must not
        // take or leave the outer command's flag.
        let outer_dirty_cas = std::mem::take(&mut self.current_client_dirty_cas);
        self.current_client_resp = c.reply.resp;
        // Invalidations addressed to the running client need its tracking options.
        let outer_tracking =
            if in_script { None } else { Some(std::mem::replace(&mut self.current_tracking, c.tracking.clone())) };
        let start = self.command_clock.ticks();
        let result = (spec.handler)(self, c, args);
        let duration = self.command_clock.us_between(start, self.command_clock.ticks());
        self.current_client = prev_current;
        if let Some(outer) = outer_tracking
            && let Some(t) = std::mem::replace(&mut self.current_tracking, outer)
            && t.broken_redirect
            && let Some(mine) = c.tracking.as_deref_mut()
        {
            mine.broken_redirect = true;
        }
        // A read-only script counts as a read only when it runs a read command (the runner
        // remembers its keys then).
        if c.tracking.is_some()
            && spec.has(flags::READONLY)
            && !matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro")
        {
            self.tracking_remember_keys(c, spec, args);
        }
        if std::mem::replace(&mut self.current_client_dirty_cas, outer_dirty_cas) && !c.watched.is_empty() {
            c.flags |= cflags::DIRTY_CAS;
        }
        // SAVE and friends reset the counter: only growth means a change (Redis clamps at 0).
        let dirtied = self.dirty > dirty_before;
        if replaying {
            if let Err(e) = result {
                log::debug!("AOF command failed: {}", String::from_utf8_lossy(e.text()));
            }
            self.leave_call(saved_propagation, c.db, args, dirtied, spec.name == "exec");
            return;
        }
        let track_latency = self.config.latency_tracking();
        let stat = &mut self.cmd_stats[cmd_id];
        stat.calls += 1;
        stat.usec += duration;
        if track_latency {
            stat.latency.get_or_insert_with(Default::default).record(duration.saturating_mul(1000));
        }
        if let Err(e) = result {
            self.cmd_stats[cmd_id].failed += 1;
            self.reply_error(c, &e);
        }
        match (mode_before, c.reply_mode) {
            // CLIENT REPLY ON lifted the skip: its +OK goes out (Redis clears the flag first).
            (ReplyMode::Skip, ReplyMode::On) => {}
            (ReplyMode::Skip, now) => {
                c.reply.buf.truncate(saved_len);
                if now == ReplyMode::Skip {
                    c.reply_mode = ReplyMode::On;
                }
            }
            (ReplyMode::Off, ReplyMode::Off) => c.reply.buf.truncate(saved_len),
            _ => {}
        }
        // CLIENT REPLY SKIP takes effect from the next command on (Redis's resetClient).
        if c.reply_mode == ReplyMode::SkipNext {
            c.reply_mode = ReplyMode::Skip;
        }
        // Messages this client published to itself, and pushes that bypass CLIENT REPLY OFF.
        if prev_current.is_none() && !self.current_pushes.buf.is_empty() {
            c.reply.buf.append(&mut self.current_pushes.buf);
        }
        self.stats.commands_processed += 1;
        c.commands += 1;
        if !spec.has(flags::SKIP_SLOWLOG) {
            self.slowlog_push(c, cmd_id, args, duration);
        }
        // Run directly (not from EXEC or a script), such a command's expiry deletions go out
        // unwrapped, like the active-expire cycle's.
        let unwrapped = spec.has(flags::TOUCHES_ARBITRARY_KEYS) && self.prop.depth == 1 && !self.prop.no_multi;
        self.prop.no_multi |= unwrapped;
        self.leave_call(saved_propagation, c.db, args, dirtied, spec.name == "exec");
        if unwrapped {
            self.prop.no_multi = false;
        }
    }

    /// Arguments that are secrets (passwords, ACL rules), which SLOWLOG and MONITOR show as
    /// `(redacted)` (Redis's redactClientCommandArgument calls).
    fn secret_arguments(&self, cmd_id: usize, args: &Args) -> Vec<usize> {
        match self.commands.commands[cmd_id].full_name.as_str() {
            "auth" => (1..args.len().min(3)).collect(),
            "hello" => {
                // Options as HELLO parses them: AUTH user pass, SETNAME name.
                let mut j = 2;
                while j < args.len() {
                    if args.is(j, "auth") && j + 2 < args.len() {
                        return vec![j + 1, j + 2];
                    }
                    j += if args.is(j, "setname") { 2 } else { 1 };
                }
                Vec::new()
            }
            "acl|setuser" => (2..args.len()).collect(),
            "migrate" => {
                // Options as MIGRATE parses them, up to KEYS.
                for j in 6..args.len() {
                    if args.is(j, "keys") {
                        break;
                    } else if args.is(j, "auth") {
                        return vec![j + 1];
                    } else if args.is(j, "auth2") {
                        return vec![j + 1, j + 2];
                    }
                }
                Vec::new()
            }
            "config|set" => (2..args.len())
                .step_by(2)
                .filter(|&j| crate::config::is_sensitive(args.get(j)))
                .map(|j| j + 1)
                .collect(),
            _ => Vec::new(),
        }
    }

    fn slowlog_push(&mut self, c: &Client, cmd_id: usize, args: &Args, duration_us: u64) {
        let threshold = self.config.slowlog_log_slower_than();
        if threshold < 0 || duration_us < threshold as u64 {
            return;
        }
        let secrets = self.secret_arguments(cmd_id, args);
        // Like Redis: at most 32 arguments, each at most 128 bytes, with a note of what was cut.
        let argc = args.len();
        let shown = argc.min(32);
        let mut stored = Vec::with_capacity(shown);
        for (i, a) in args.iter().enumerate().take(shown) {
            if shown != argc && i == shown - 1 {
                stored.push(format!("... ({} more arguments)", argc - shown + 1).into_bytes());
                break;
            }
            if secrets.contains(&i) {
                stored.push(b"(redacted)".to_vec());
            } else if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                stored.push(v);
            } else {
                stored.push(a.to_vec());
            }
        }
        let entry = SlowlogEntry {
            id: self.slowlog_next_id,
            time: unix_us() / 1_000_000,
            duration_us,
            args: stored,
            peer: c.addr.clone(),
            name: c.name.clone().unwrap_or_default(),
        };
        self.slowlog_next_id += 1;
        self.slowlog.push_front(entry);
        let max = self.config.slowlog_max_len() as usize;
        while self.slowlog.len() > max {
            self.slowlog.pop_back();
        }
    }

    /// Send a command to every MONITOR client, in Redis's line format.
    fn feed_monitors(&mut self, c: &Client, cmd_id: usize, args: &Args) {
        let now = unix_us();
        let secrets = self.secret_arguments(cmd_id, args);
        let mut line = format!("{}.{:06} [{} {}]", now / 1_000_000, now % 1_000_000, c.db, c.addr);
        for (i, a) in args.iter().enumerate() {
            line.push_str(" \"");
            if secrets.contains(&i) {
                line.push_str("(redacted)");
            } else {
                line.push_str(&crate::command::introspection::repr_bytes(a));
            }
            line.push('"');
        }
        let monitors = self.monitors.clone();
        for slot in monitors {
            if slot == c.slot {
                continue;
            }
            if let Some(Some(m)) = self.clients.get_mut(slot) {
                m.reply.simple(line.as_bytes());
                self.pending_writes_push(slot);
            }
        }
    }

    fn pending_writes_push(&mut self, slot: usize) {
        self.queue_write(slot);
    }

    /// `enable-debug-command`: yes, no, or local (unix socket and loopback clients only).
    fn debug_allowed(&self, c: &Client) -> bool {
        match self.config.enable_debug_command() {
            crate::config::ProtectedAction::Yes => true,
            crate::config::ProtectedAction::No => false,
            crate::config::ProtectedAction::Local => {
                c.has(cflags::UNIX_SOCKET) || c.peer_ip.is_some_and(|p| crate::net::is_loopback(&p))
            }
        }
    }
}
