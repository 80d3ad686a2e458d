//! Lua scripting (Redis's eval.c, function_lua.c, script.c): one embedded Lua 5.1 state that runs
//! EVAL scripts (cached by SHA1) and FUNCTION libraries, and the `redis` API they call back into.
//!
//! A script runs to completion inside the command that started it: its `redis.call`s go through
//! the normal `call` path on a client of its own, so what they change is propagated like any
//! command's effects (wrapped in MULTI/EXEC when there are several), and the EVAL itself never is.
//! The Lua state is moved out of the server while a script runs, so the callbacks can borrow the
//! server; nothing here keeps a reference into the keyspace across calls.
//!
//! Never blocks on anything but the script itself: blocking commands called from a script return
//! at once, as in Redis.

pub mod lua_value;
pub mod runner;

use std::collections::{BTreeMap, HashMap};

use mlua::{Lua, LuaOptions, RegistryKey, StdLib};

use crate::error::CmdError;

/// Script flags (`#!lua flags=...`, FUNCTION flags), Redis's SCRIPT_FLAG_*.
pub mod script_flags {
    pub const NO_WRITES: u32 = 1;
    pub const ALLOW_OOM: u32 = 1 << 1;
    pub const ALLOW_STALE: u32 = 1 << 2;
    pub const NO_CLUSTER: u32 = 1 << 3;
    pub const ALLOW_CROSS_SLOT: u32 = 1 << 4;
    /// An EVAL script without a shebang: the old rules (no declared flags).
    pub const EVAL_COMPAT: u32 = 1 << 5;

    pub const NAMES: &[(&str, u32)] = &[
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT),
    ];
}

/// An EVAL script in the cache.
pub struct EvalScript {
    pub body: Vec<u8>,
    pub func: RegistryKey,
    pub flags: u32,
}

/// A function registered by a library.
pub struct FunctionDef {
    pub name: String,
    pub flags: u32,
    pub description: Option<String>,
    pub func: RegistryKey,
}

/// A FUNCTION library: its code and what it registered.
pub struct Library {
    pub code: Vec<u8>,
    pub functions: Vec<FunctionDef>,
}

/// A script past busy-reply-threshold (Redis's SCRIPT_TIMEDOUT run): the loop turns inside it,
/// other clients get -BUSY, and SCRIPT KILL / FUNCTION KILL may stop it.
#[derive(Debug, Clone, Copy)]
pub struct TimedOutRun {
    /// EVAL (SCRIPT KILL stops it) rather than FCALL (FUNCTION KILL does).
    pub eval_mode: bool,
    /// Sent by our master or read from the AOF: it must run to its end.
    pub must_complete: bool,
    /// It already wrote: stopping it would leave half of it applied.
    pub wrote: bool,
    /// A KILL asked it to stop.
    pub killed: bool,
}

impl TimedOutRun {
    /// The -BUSY reply to commands that may not run meanwhile.
    pub fn busy_error(&self) -> &'static str {
        if self.eval_mode { BUSY_EVAL } else { BUSY_FUNCTION }
    }
}

pub const BUSY_EVAL: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// The scripting engine's state.
pub struct Scripting {
    /// None while a script runs (the runner holds it).
    pub lua: Option<Lua>,
    pub scripts: HashMap<String, EvalScript>,
    pub libraries: BTreeMap<String, Library>,
    /// Function name -> its library's name.
    pub functions: HashMap<String, String>,
    /// `redis.call`, `redis.pcall` and `redis.acl_check_cmd` as they are outside a script run
    /// (they refuse); a run replaces them with its own and puts these back.
    pub idle_call: mlua::Function,
    pub idle_pcall: mlua::Function,
    pub idle_acl_check_cmd: mlua::Function,
    /// The running script timed out (None when none runs or it is still within the threshold).
    pub timed_out: Option<TimedOutRun>,
}

/// Lua run at startup: the error handler that records where an error happened (the user's code,
/// not our wrappers), and `redis.call`/`pcall` on top of the per-run raw call, which returns an
/// error table instead of raising.
const PRELUDE: &str = r#"
local dbg = debug
debug = nil
loadfile = nil
dofile = nil
print = nil
-- Lua 5.1's unpack computes its result count in a C int: a range like (-2, 2^31-1) overflows it
-- and crashes the VM. Redis patched its copy; ours checks the range before the real unpack runs.
local raw_unpack = unpack
local function to_int(n)
  if n >= 0 then return math.floor(n) end
  return -math.floor(-n)
end
unpack = function(...)
  local t, i, j = ...
  if type(t) == 'table' then
    local first = tonumber(i) or 1
    local last = tonumber(j) or #t
    first, last = to_int(first), to_int(last)
    if first > last then return end
    -- Past the C stack's limit (LUAI_MAXCSTACK) the real unpack fails the same way.
    if last - first >= 8000 then error('too many results to unpack', 0) end
  end
  -- The same arguments, not padded with nils: they count against the C stack too.
  return raw_unpack(...)
end
-- Precompiled chunks bypass the parser's checks: a crafted one can crash the VM.
local raw_loadstring = loadstring
loadstring = function(s, name)
  if type(s) == 'string' and string.byte(s, 1) == 27 then
    return nil, 'bytecode loading is not allowed'
  end
  return raw_loadstring(s, name)
end
local raw_load = load
load = function(reader, name)
  local first = true
  return raw_load(function()
    local piece = reader()
    if first and type(piece) == 'string' and piece ~= '' then
      first = false
      if string.byte(piece, 1) == 27 then error('bytecode loading is not allowed', 0) end
    end
    return piece
  end, name)
end
function __redis__err__handler(err)
  local level = 2
  local i = dbg.getinfo(level, 'nSl')
  while i and (i.what == 'C' or i.source == '@redis_api' or i.source == '@redis_prelude') do
    level = level + 1
    i = dbg.getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then
    local s = tostring(err)
    -- An error reply raised by redis.call travels as a marked message.
    local reply = string.match(s, '\1REDISERR:(.-)\1')
    if reply then
      err = {err = reply}
    else
      err = {err = 'ERR ' .. s}
    end
  end
  if i then
    err['source'] = i.source
    err['line'] = i.currentline
  end
  return err
end
function __redis__run(f, keys, args, with_args)
  if with_args then
    return xpcall(function() return f(keys, args) end, __redis__err__handler)
  end
  return xpcall(f, __redis__err__handler)
end
"#;

/// Globals are read-only to scripts, and reading one that does not exist is an error (Redis 7.0's
/// texts); the metatable itself cannot be read or replaced.
const GLOBALS_GUARD: &str = r#"
setmetatable(_G, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 0)
  end,
  __newindex = function()
    error("Attempt to modify a readonly table", 0)
  end,
  __metatable = false,
})
"#;

/// The `redis` table's Lua-side functions (chunk name `@redis_api`, skipped in error positions).
const REDIS_API: &str = r#"
redis.call = function() error({err = 'ERR redis.call/pcall can only be called inside a script invocation'}) end
redis.pcall = function() return {err = 'ERR redis.call/pcall can only be called inside a script invocation'} end
redis.acl_check_cmd = function() error({err = 'ERR redis.acl_check_cmd can only be called inside a script invocation'}) end
redis.error_reply = function(e)
  if type(e) ~= 'string' then error('wrong number or type of arguments') end
  if string.sub(e, 1, 1) == '-' then e = string.sub(e, 2) end
  return {err = e}
end
redis.status_reply = function(s)
  if type(s) ~= 'string' then error('wrong number or type of arguments') end
  return {ok = s}
end
redis.replicate_commands = function() return true end
redis.REPL_NONE = 0
redis.REPL_SLAVE = 1
redis.REPL_REPLICA = 1
redis.REPL_AOF = 2
redis.REPL_ALL = 3
redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
"#;

impl Scripting {
    /// The engine; `deprecated_api` keeps setfenv, getfenv and newproxy (lua-enable-deprecated-api).
    pub fn new(deprecated_api: bool) -> Scripting {
        // SAFETY: `debug` is only loaded for the prelude's error handler, which keeps it in a
        // local and removes the global before any user code runs, as Redis does.
        let lua = unsafe {
            Lua::unsafe_new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG, LuaOptions::new())
        };
        let setup = || -> mlua::Result<()> {
            lua.load(PRELUDE).set_name("@redis_prelude").exec()?;
            if !deprecated_api {
                // They reach other functions' environments and userdata metatables: a way out of
                // the sandbox.
                for name in ["setfenv", "getfenv", "newproxy"] {
                    lua.globals().raw_set(name, mlua::Value::Nil)?;
                }
            }
            let redis = lua.create_table()?;
            redis.set(
                "sha1hex",
                lua.create_function(|_, s: mlua::LuaString| Ok(crate::digest::sha1_hex(&s.as_bytes())))?,
            )?;
            redis.set(
                "log",
                lua.create_function(|_, (level, msg): (i64, mlua::Variadic<mlua::LuaString>)| {
                    let text: Vec<String> = msg.iter().map(|s| s.to_string_lossy()).collect();
                    let text = text.join(" ");
                    match level {
                        0 => log::debug!("{text}"),
                        1 => log::debug!("{text}"),
                        2 => log::info!("{text}"),
                        _ => log::warn!("{text}"),
                    }
                    Ok(())
                })?,
            )?;
            redis.set("setresp", lua.create_function(|_, _v: i64| Ok(()))?)?;
            redis.set("set_repl", lua.create_function(|_, _v: i64| Ok(()))?)?;
            redis.set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
            redis.set("debug", lua.create_function(|_, _v: mlua::MultiValue| Ok(()))?)?;
            lua.globals().set("redis", redis)?;
            lua.load(REDIS_API).set_name("@redis_api").exec()?;
            // Last: from here on a typo'd or removed global is an error, not a silent nil.
            lua.load(GLOBALS_GUARD).set_name("@redis_prelude").exec()?;
            Ok(())
        };
        setup().expect("Lua prelude");
        let redis: mlua::Table = lua.globals().get("redis").expect("redis table");
        Scripting {
            idle_call: redis.get("call").expect("redis.call"),
            idle_pcall: redis.get("pcall").expect("redis.pcall"),
            idle_acl_check_cmd: redis.get("acl_check_cmd").expect("redis.acl_check_cmd"),
            lua: Some(lua),
            scripts: HashMap::new(),
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
            timed_out: None,
        }
    }

    /// FUNCTION FLUSH (and a dataset replaced by a load): forget every library.
    pub fn flush_functions(&mut self) {
        self.libraries.clear();
        self.functions.clear();
    }

    /// SCRIPT FLUSH: forget every cached EVAL script.
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        if let Some(lua) = &self.lua {
            lua.expire_registry_values();
        }
    }
}

impl Default for Scripting {
    fn default() -> Self {
        Scripting::new(false)
    }
}

/// Parse an EVAL shebang (`#!lua [flags=a,b]`): the flags, and the body with the shebang line
/// blanked (so line numbers stay right). Without a shebang: EVAL_COMPAT.
pub fn eval_shebang(body: &[u8]) -> Result<(u32, Vec<u8>), CmdError> {
    if !body.starts_with(b"#!") {
        return Ok((script_flags::EVAL_COMPAT, body.to_vec()));
    }
    let end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "lua" {
        return Err(CmdError::err(format!("Unexpected engine in script shebang: {engine}")));
    }
    let mut flags = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CmdError::err(format!("Unknown lua shebang option: {part}")));
        };
        for name in list.split(',').filter(|f| !f.is_empty()) {
            match script_flags::NAMES.iter().find(|(n, _)| *n == name) {
                Some((_, bit)) => flags |= bit,
                None => return Err(CmdError::err(format!("Unexpected flag in script shebang: {name}"))),
            }
        }
    }
    let mut rest = body[end..].to_vec();
    rest.insert(0, b' ');
    Ok((flags, rest))
}

/// Names of libraries and functions: letters, digits and underscores, at least one.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}
