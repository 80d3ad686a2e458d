//! Running one script or function: the checks Redis makes before (scriptPrepareForRun) and on
//! each `redis.call` (scriptCall), the call itself through the server's `call` on the script's
//! own client, and turning the result or the error into the caller's reply.
//!
//! The Lua state is taken out of the server for the run and put back after, so the raw-call
//! callback can hold the server mutably; it lives only inside `Lua::scope`.

use std::cell::RefCell;

use mlua::{Lua, MultiValue, Value};

use super::lua_value::{lua_to_reply, number_arg, resp_to_lua};
use super::{TimedOutRun, script_flags};
use crate::acl::Denial;
use crate::acl::log::Context as AclContext;
use crate::client::{Client, Stream, flags as cflags};
use crate::command::{Args, Lookup, flags};
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;

/// Client id of the script client (Redis's lua client is also special-cased by id).
pub const SCRIPT_CLIENT_ID: u64 = u64::MAX - 1;

/// What a run needs to know besides the code.
pub struct RunSpec<'a> {
    /// `f_<sha>` for EVAL, the function's name for FCALL (error texts, SCRIPT KILL).
    pub name: String,
    pub flags: u32,
    /// EVAL_RO / EVALSHA_RO / FCALL_RO.
    pub read_only_cmd: bool,
    pub keys: Vec<&'a [u8]>,
    pub args: Vec<&'a [u8]>,
    /// FCALL passes keys and args as arguments; EVAL sets the KEYS and ARGV globals.
    pub function_mode: bool,
}

/// Per-run state the raw call consults.
struct RunState<'s, 'c> {
    srv: &'s mut Server,
    client: Client,
    /// The client running the script: ACL LOG entries show it.
    caller: &'c Client,
    /// No write may run (no-writes flag or a *_RO command).
    read_only: bool,
    /// The script already wrote: later writes cannot be refused half-way.
    write_dirty: bool,
    /// Over maxmemory when the script started.
    oom_at_start: bool,
    /// The caller is our master or the AOF (its scripts are obeyed, as any command from it).
    caller_is_master: bool,
    /// Shared with the slow-script hook: a script that wrote is never stopped half-way.
    wrote: std::rc::Rc<std::cell::Cell<bool>>,
    /// The script's declared keys when its caller tracks its reads (else empty): a read inside
    /// the script counts as reading all of them.
    tracked_keys: Vec<Vec<u8>>,
}

impl Server {
    /// Redis's scriptInterrupt, from the count hook: past busy-reply-threshold the script counts
    /// as timed out and the event loop turns inside it. True when a KILL arrived.
    fn script_interrupt(
        &mut self,
        start: std::time::Instant,
        threshold_ms: u64,
        eval_mode: bool,
        must_complete: bool,
        wrote: bool,
        name: &str,
    ) -> bool {
        match self.scripting.timed_out.as_mut() {
            Some(t) => t.wrote = wrote,
            None => {
                let elapsed = start.elapsed().as_millis() as u64;
                if elapsed < threshold_ms {
                    return false;
                }
                log::warn!(
                    "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the {} command. Script name is: {name}.",
                    if eval_mode { "SCRIPT KILL" } else { "FUNCTION KILL" }
                );
                self.scripting.timed_out = Some(TimedOutRun { eval_mode, must_complete, wrote, killed: false });
            }
        }
        self.process_events_while_blocked();
        self.scripting.timed_out.is_some_and(|t| t.killed)
    }

    /// Redis's scriptPrepareForRun: refuse a run the server state does not allow.
    fn script_prepare(&mut self, c: &Client, spec: &RunSpec) -> Result<(), CmdError> {
        let stale = self.is_replica() && !self.repl_link_up() && !self.config.replica_serve_stale_data();
        let f = spec.flags;
        if f & script_flags::EVAL_COMPAT != 0 {
            if stale {
                return Err(error::MASTERDOWN.into());
            }
            return Ok(());
        }
        if stale && f & script_flags::ALLOW_STALE == 0 {
            return Err(CmdError::from(
                "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.",
            ));
        }
        if f & script_flags::NO_WRITES == 0 {
            if self.is_replica() && self.config.replica_read_only() && !c.must_obey() {
                return Err(CmdError::from("READONLY Can not run script with write flag on readonly replica"));
            }
            if self.writes_refused_by_bgsave_error() && !c.must_obey() {
                return Err(CmdError::from(
                    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.",
                ));
            }
            if spec.read_only_cmd {
                return Err(CmdError::err("Can not execute a script with write flag using *_ro command."));
            }
            if !self.good_replicas_ok() {
                return Err(error::NOREPLICAS.into());
            }
        }
        if self.config.maxmemory() > 0
            && f & (script_flags::ALLOW_OOM | script_flags::NO_WRITES) == 0
            && crate::allocator::used_memory() > self.config.maxmemory()
        {
            return Err(CmdError::from(
                "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'",
            ));
        }
        Ok(())
    }

    /// Run `func` (a compiled script or a library function) for client `c` and reply to it.
    pub fn script_run(&mut self, c: &mut Client, func: mlua::Function, spec: RunSpec) -> CmdResult {
        self.script_prepare(c, &spec)?;
        let Some(lua) = self.scripting.lua.take() else {
            return Err(CmdError::from(super::BUSY_EVAL));
        };
        // Nothing the script does is this command's own effect: only its calls propagate.
        self.prevent_propagation();
        let mut client = Client::new(SCRIPT_CLIENT_ID, usize::MAX, Stream::Detached, String::new(), String::new(), 0);
        client.db = c.db;
        client.authenticated = true;
        // The script's calls are checked against its caller's user.
        client.user = c.user;
        client.is_master = c.is_master;
        // Blocking commands must not block inside a script.
        client.flags |= cflags::EXECUTING_MULTI;
        let oom_at_start = self.config.maxmemory() > 0 && crate::allocator::used_memory() > self.config.maxmemory();
        let read_only = spec.read_only_cmd || spec.flags & script_flags::NO_WRITES != 0;
        let caller_is_master = c.must_obey();
        let wrote = std::rc::Rc::new(std::cell::Cell::new(false));
        let threshold_ms = self.config.busy_reply_threshold();
        let eval_mode = !spec.function_mode;
        let name = spec.name.clone();
        let resp = c.reply.resp;
        let tracked_keys =
            if c.tracking.is_some() { spec.keys.iter().map(|k| k.to_vec()).collect() } else { Vec::new() };
        let state = RefCell::new(RunState {
            srv: self,
            client,
            caller: c,
            read_only,
            write_dirty: false,
            oom_at_start,
            caller_is_master,
            wrote: wrote.clone(),
            tracked_keys,
        });
        if threshold_ms > 0 {
            let start = std::time::Instant::now();
            // The hook must be 'static, the run state is not: it gets the state's address, erased.
            let state_addr = &state as *const RefCell<RunState<'_, '_>> as usize;
            let _ = lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), move |lua, _| {
                // SAFETY: `state` outlives the hook: the hook is removed right after `lua.scope`
                // returns, before `state` is consumed, and the run is single-threaded. The
                // RefCell's dynamic borrow check keeps the access exclusive (a hook that fires
                // while a redis.call holds the state does nothing).
                let state = unsafe { &*(state_addr as *const RefCell<RunState<'static, 'static>>) };
                let Ok(mut st) = state.try_borrow_mut() else { return Ok(mlua::VmState::Continue) };
                let wrote_now = st.wrote.get();
                let srv = &mut *st.srv;
                let killed = srv.script_interrupt(start, threshold_ms, eval_mode, caller_is_master, wrote_now, &name);
                if killed {
                    log::warn!("Lua script killed by user with SCRIPT KILL.");
                    // From now on at every line, so a pcall cannot swallow the kill for long.
                    let _ = lua.set_hook(mlua::HookTriggers::new().every_line(), |_, _| {
                        Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."))
                    });
                    return Err(mlua::Error::runtime("Script killed by user with SCRIPT KILL..."));
                }
                Ok(mlua::VmState::Continue)
            });
        }
        let outcome = lua.scope(|scope| {
            // Rust functions, so C functions to Lua: an error's position is the script's line
            // even after `return redis.call(...)` (Lua 5.1 keeps no frame for a tail-called Lua
            // function).
            let call = scope.create_function(|lua, argv: MultiValue| {
                let v = state.borrow_mut().raw_call(lua, argv)?;
                if let Value::Table(t) = &v
                    && let Ok(Some(err)) = t.raw_get::<Option<String>>("err")
                {
                    return Err(mlua::Error::RuntimeError(format!("\u{1}REDISERR:{err}\u{1}")));
                }
                Ok(v)
            })?;
            let pcall = scope.create_function(|lua, argv: MultiValue| state.borrow_mut().raw_call(lua, argv))?;
            let acl_check_cmd = scope.create_function(|_, argv: MultiValue| state.borrow().acl_check_cmd(argv))?;
            let globals = lua.globals();
            let redis: mlua::Table = globals.get("redis")?;
            redis.raw_set("call", call)?;
            redis.raw_set("pcall", pcall)?;
            redis.raw_set("acl_check_cmd", acl_check_cmd)?;
            let keys = lua
                .create_sequence_from(spec.keys.iter().map(|k| lua.create_string(k)).collect::<Result<Vec<_>, _>>()?)?;
            let args = lua
                .create_sequence_from(spec.args.iter().map(|a| lua.create_string(a)).collect::<Result<Vec<_>, _>>()?)?;
            if !spec.function_mode {
                globals.raw_set("KEYS", keys.clone())?;
                globals.raw_set("ARGV", args.clone())?;
            }
            let run: mlua::Function = globals.get("__redis__run")?;
            run.call::<(bool, Value)>((func, keys, args, spec.function_mode))
        });
        lua.remove_hook();
        let state = state.into_inner();
        let srv = state.srv;
        if srv.scripting.timed_out.take().is_some() {
            // Our master's commands waited in its buffer while the script ran.
            if let Some(slot) = srv.link.client_slot {
                srv.pending_reads_push(slot);
            }
        }
        // Outside a run (FUNCTION LOAD's top level) they refuse, as in Redis.
        if let Ok(redis) = lua.globals().get::<mlua::Table>("redis") {
            let _ = redis.raw_set("call", srv.scripting.idle_call.clone());
            let _ = redis.raw_set("pcall", srv.scripting.idle_pcall.clone());
            let _ = redis.raw_set("acl_check_cmd", srv.scripting.idle_acl_check_cmd.clone());
        }
        srv.scripting.lua = Some(lua);
        match outcome {
            Ok((true, v)) => {
                let mut out = crate::resp::reply::ReplyBuf::new(resp);
                lua_to_reply(&v, &mut out, 0);
                c.reply.buf.extend_from_slice(&out.buf);
                Ok(())
            }
            Ok((false, Value::Table(t))) => {
                let msg: String =
                    t.get::<Option<String>>("err").ok().flatten().unwrap_or_else(|| "ERR unknown error".into());
                let msg = msg.strip_prefix('-').unwrap_or(&msg).to_string();
                let source: Option<String> = t.get("source").ok().flatten();
                let line: Option<i64> = t.get("line").ok().flatten();
                let text = match (source, line) {
                    (Some(src), Some(line)) => format!("{msg} script: {}, on {src}:{line}.", spec.name),
                    _ => msg,
                };
                Err(CmdError::from(text))
            }
            Ok((false, other)) => Err(CmdError::err(format!(
                "Error running script {}, {:.100}",
                spec.name,
                other.to_string().unwrap_or_else(|_| "execution failure".into())
            ))),
            Err(e) => Err(CmdError::err(format!("Error running script {}, {:.100}", spec.name, e.to_string()))),
        }
    }
}

/// An error table as `redis.pcall` returns it ({err="CODE message"}).
fn error_table(lua: &Lua, text: &str) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    let text = text.trim_end_matches(['\r', '\n']);
    let full = if text.split(' ').next().is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase())) {
        text.to_string()
    } else {
        format!("ERR {text}")
    };
    t.set("err", full)?;
    Ok(Value::Table(t))
}

/// An argv packed in one buffer, with each argument's range in it (what `Args` reads).
type PackedArgv = (Vec<u8>, Vec<(usize, usize)>);

/// A redis.call-style argument list packed as an argv, or the error Redis gives for it.
fn lua_argv(argv: &MultiValue) -> Result<PackedArgv, &'static str> {
    if argv.is_empty() {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut buf = Vec::new();
    let mut ranges = Vec::with_capacity(argv.len());
    for v in argv.iter() {
        let start = buf.len();
        match v {
            Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
            Value::Integer(n) => buf.extend_from_slice(n.to_string().as_bytes()),
            Value::Number(n) => buf.extend_from_slice(&number_arg(*n)),
            _ => return Err("Lua redis lib command arguments must be strings or integers"),
        }
        ranges.push((start, buf.len()));
    }
    Ok((buf, ranges))
}

/// An error raised to the script as an error reply (as redis.call raises them).
fn raise(msg: &str) -> mlua::Error {
    let msg = if msg.starts_with("ERR ") { msg.to_string() } else { format!("ERR {msg}") };
    mlua::Error::RuntimeError(format!("\u{1}REDISERR:{msg}\u{1}"))
}

impl RunState<'_, '_> {
    /// `redis.acl_check_cmd(...)`: whether the caller's user could run that command with those
    /// arguments, keys and channels included.
    fn acl_check_cmd(&self, argv: MultiValue) -> mlua::Result<bool> {
        let (buf, ranges) = lua_argv(&argv).map_err(raise)?;
        let args = Args::new(&buf, &ranges);
        match self.srv.commands.lookup(&args) {
            Lookup::Found(cmd) => Ok(self.srv.acl_check(&self.client, cmd.id, &args).is_ok()),
            _ => Err(raise("Invalid command passed to redis.acl_check_cmd()")),
        }
    }

    /// `redis.call` / `redis.pcall` without raising: the reply as a Lua value, or an error table.
    fn raw_call(&mut self, lua: &Lua, argv: MultiValue) -> mlua::Result<Value> {
        let (buf, ranges) = match lua_argv(&argv) {
            Ok(parts) => parts,
            Err(msg) => return error_table(lua, msg),
        };
        let args = Args::new(&buf, &ranges);
        let srv = &mut *self.srv;
        let cmd_id = match srv.commands.lookup(&args) {
            Lookup::Found(cmd) if cmd.spec.arity_ok(args.len()) => cmd.id,
            Lookup::Found(_) => return error_table(lua, "Wrong number of args calling Redis command from script"),
            _ => return error_table(lua, "Unknown Redis command called from script"),
        };
        let spec = srv.commands.commands[cmd_id].spec;
        if spec.has(flags::NOSCRIPT) {
            return error_table(lua, "This Redis command is not allowed from script");
        }
        if srv.is_replica()
            && !srv.repl_link_up()
            && !srv.config.replica_serve_stale_data()
            && !spec.has(flags::STALE)
            && !self.caller_is_master
        {
            return error_table(lua, "Can not execute the command on a stale replica");
        }
        if let Err(denial) = srv.acl_check(&self.client, cmd_id, &args) {
            srv.acl_log_denial(&self.client, self.caller, denial, cmd_id, &args, AclContext::Lua);
            let why = match denial {
                Denial::Command => "can't run this command or subcommand",
                Denial::Key(_) => "can't access at least one of the keys mentioned in the command arguments",
                Denial::Channel(_) => "can't publish to the channel mentioned in the command",
            };
            return error_table(lua, &format!("The user executing the script {why}"));
        }
        let writes = spec.has(flags::WRITE);
        if self.read_only && (writes || spec.has(flags::MAY_REPLICATE)) {
            return error_table(lua, "Write commands are not allowed from read-only scripts.");
        }
        if writes && !self.write_dirty {
            if srv.is_replica() && srv.config.replica_read_only() && !self.caller_is_master {
                return error_table(lua, error::READONLY);
            }
            if srv.writes_refused_by_bgsave_error() {
                return error_table(lua, error::MISCONF);
            }
            if !srv.good_replicas_ok() {
                return error_table(lua, error::NOREPLICAS);
            }
        }
        if self.oom_at_start && !self.write_dirty && !self.caller_is_master && spec.has(flags::DENYOOM) {
            return error_table(lua, error::OOM);
        }
        if writes {
            self.write_dirty = true;
            self.wrote.set(true);
        }
        self.client.last_cmd = Some(cmd_id);
        srv.call(&mut self.client, cmd_id, &args);
        if spec.has(flags::READONLY) && !self.tracked_keys.is_empty() {
            srv.tracking_remember_script_keys(&self.tracked_keys);
        }
        let reply = std::mem::take(&mut self.client.reply.buf);
        let mut pos = 0;
        let v = if reply.is_empty() { Ok(Value::Nil) } else { resp_to_lua(lua, &reply, &mut pos) };
        let mut reply = reply;
        reply.clear();
        self.client.reply.buf = reply;
        v
    }
}
