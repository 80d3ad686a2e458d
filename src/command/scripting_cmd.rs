//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT (LOAD, EXISTS, FLUSH, KILL),
//! FUNCTION (LOAD, DELETE, FLUSH, LIST, KILL, STATS) and FCALL / FCALL_RO. The engine is in
//! `scripting`; handlers parse, find or compile the code, and hand it to the runner.

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS, READS, READS_WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::error::{CmdError, CmdResult};
use crate::scripting::runner::RunSpec;
use crate::scripting::{EvalScript, FunctionDef, Library, eval_shebang, script_flags, valid_name};
use crate::server::Server;

const EVAL_FLAGS: u32 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | STALE;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("eval", -3, EVAL_FLAGS, NO_KEYS, "scripting", eval)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SCRIPTING)
        .access(READS_WRITES),
    CommandSpec::new("evalsha", -3, EVAL_FLAGS, NO_KEYS, "scripting", evalsha)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SCRIPTING)
        .access(READS_WRITES),
    CommandSpec::new("eval_ro", -3, NOSCRIPT | SKIP_MONITOR | STALE | READONLY, NO_KEYS, "scripting", eval_ro)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SCRIPTING)
        .access(READS),
    CommandSpec::new("evalsha_ro", -3, NOSCRIPT | SKIP_MONITOR | STALE | READONLY, NO_KEYS, "scripting", evalsha_ro)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SCRIPTING)
        .access(READS),
    CommandSpec::new("fcall", -3, EVAL_FLAGS, NO_KEYS, "scripting", fcall)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SCRIPTING)
        .access(READS_WRITES),
    CommandSpec::new("fcall_ro", -3, NOSCRIPT | SKIP_MONITOR | STALE | READONLY, NO_KEYS, "scripting", fcall_ro)
        .with_getkeys(|a| super::numkeys_positions(a, 2, &[]))
        .acl(cat::SCRIPTING)
        .access(READS),
    CommandSpec::container("script", -2, 0, "scripting", SCRIPT_SUBCOMMANDS),
    CommandSpec::container("function", -2, 0, "scripting", FUNCTION_SUBCOMMANDS),
];

const SCRIPT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "scripting", script_help).acl(cat::SCRIPTING),
    CommandSpec::new("load", 3, NOSCRIPT | STALE, NO_KEYS, "scripting", script_load).acl(cat::SCRIPTING),
    CommandSpec::new("exists", -3, NOSCRIPT | STALE, NO_KEYS, "scripting", script_exists).acl(cat::SCRIPTING),
    CommandSpec::new("flush", -2, NOSCRIPT | STALE, NO_KEYS, "scripting", script_flush).acl(cat::SCRIPTING),
    CommandSpec::new("kill", 2, NOSCRIPT | ALLOW_BUSY, NO_KEYS, "scripting", script_kill).acl(cat::SCRIPTING),
];

const FUNCTION_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("load", -3, WRITE | DENYOOM | NOSCRIPT, NO_KEYS, "scripting", function_load).acl(cat::SCRIPTING),
    CommandSpec::new("delete", 3, WRITE | NOSCRIPT, NO_KEYS, "scripting", function_delete).acl(cat::SCRIPTING),
    CommandSpec::new("flush", -2, WRITE | NOSCRIPT, NO_KEYS, "scripting", function_flush).acl(cat::SCRIPTING),
    CommandSpec::new("list", -2, NOSCRIPT, NO_KEYS, "scripting", function_list).acl(cat::SCRIPTING),
    CommandSpec::new("kill", 2, NOSCRIPT | ALLOW_BUSY, NO_KEYS, "scripting", function_kill).acl(cat::SCRIPTING),
    CommandSpec::new("stats", 2, NOSCRIPT | ALLOW_BUSY, NO_KEYS, "scripting", function_stats).acl(cat::SCRIPTING),
];

/// A script's KEYS and ARGV.
type KeysAndArgs<'a> = (Vec<&'a [u8]>, Vec<&'a [u8]>);

/// numkeys at argv[2] and the keys/args split after it.
fn split_keys<'a>(args: &Args<'a>) -> Result<KeysAndArgs<'a>, CmdError> {
    let numkeys = args.i64(2)?;
    if numkeys < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    if numkeys as usize > args.len() - 3 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    let all: Vec<&[u8]> = args.iter().skip(3).collect();
    let (k, a) = all.split_at(numkeys as usize);
    Ok((k.to_vec(), a.to_vec()))
}

impl Server {
    /// Compile an EVAL body into the cache (if new) and return its SHA1.
    fn script_compile(&mut self, body: &[u8]) -> Result<String, CmdError> {
        let sha = crate::digest::sha1_hex(body);
        if self.scripting.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, code) = eval_shebang(body)?;
        let Some(lua) = self.scripting.lua.as_ref() else {
            return Err(CmdError::from(crate::scripting::BUSY_EVAL));
        };
        let func = lua
            .load(&code[..])
            .set_name("@user_script")
            .into_function()
            .map_err(|e| CmdError::err(format!("Error compiling script (new function): {}", lua_error_text(&e))))?;
        let key = lua.create_registry_value(func).map_err(|e| CmdError::err(e.to_string()))?;
        self.scripting.scripts.insert(sha.clone(), EvalScript { body: body.to_vec(), func: key, flags });
        Ok(sha)
    }
}

/// A compile error as Lua prints it (`user_script:1: ...`), without mlua's decorations.
fn lua_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    }
    .replace("[string \"user_script\"]", "user_script")
}

fn eval_generic(srv: &mut Server, c: &mut Client, args: &Args, by_sha: bool, ro: bool) -> CmdResult {
    let (keys, argv) = split_keys(args)?;
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(args.get(1)).to_ascii_lowercase();
        if !srv.scripting.scripts.contains_key(&sha) {
            return Err(CmdError::from("NOSCRIPT No matching script. Please use EVAL."));
        }
        sha
    } else {
        srv.script_compile(args.get(1))?
    };
    let (func, flags) = {
        let (Some(lua), Some(script)) = (srv.scripting.lua.as_ref(), srv.scripting.scripts.get(&sha)) else {
            return Err(CmdError::from("NOSCRIPT No matching script. Please use EVAL."));
        };
        let func: mlua::Function = lua.registry_value(&script.func).map_err(|e| CmdError::err(e.to_string()))?;
        (func, script.flags)
    };
    let spec = RunSpec { name: format!("f_{sha}"), flags, read_only_cmd: ro, keys, args: argv, function_mode: false };
    srv.script_run(c, func, spec)
}

fn eval(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    eval_generic(srv, c, args, false, false)
}

fn evalsha(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    eval_generic(srv, c, args, true, false)
}

fn eval_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    eval_generic(srv, c, args, false, true)
}

fn evalsha_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    eval_generic(srv, c, args, true, true)
}

/// SCRIPT LOAD body
fn script_load(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let sha = srv.script_compile(args.get(2))?;
    c.reply.bulk(sha.as_bytes());
    Ok(())
}

/// SCRIPT EXISTS sha [sha ...]
fn script_exists(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    c.reply.array(args.len() - 2);
    for sha in args.iter().skip(2) {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        c.reply.int(srv.scripting.scripts.contains_key(&sha) as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC|SYNC]
fn script_flush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 3 || (args.len() == 3 && !args.is(2, "async") && !args.is(2, "sync")) {
        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"));
    }
    srv.scripting.flush_scripts();
    c.reply.ok();
    Ok(())
}

fn script_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

/// SCRIPT KILL / FUNCTION KILL: scripts run to completion here, so none is ever killable.
/// SCRIPT KILL
fn script_kill(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    kill_running(srv, c, true)
}

/// FUNCTION KILL
fn function_kill(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    kill_running(srv, c, false)
}

/// Stop the timed-out script at its next hook (Redis's scriptKill). Only a read-only script may
/// be stopped, by the KILL of its own kind.
fn kill_running(srv: &mut Server, c: &mut Client, eval: bool) -> CmdResult {
    let Some(run) = srv.scripting.timed_out.as_mut() else {
        return Err(CmdError::from("NOTBUSY No scripts in execution right now."));
    };
    if run.must_complete {
        return Err(CmdError::from(
            "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.",
        ));
    }
    if run.wrote {
        return Err(CmdError::from(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        ));
    }
    if eval != run.eval_mode {
        // The other kind's KILL: answer as the busy server does.
        return Err(CmdError::from(run.busy_error()));
    }
    run.killed = true;
    c.reply.ok();
    Ok(())
}

/// The shebang of a library: `#!lua name=<lib>`.
fn library_name(code: &[u8]) -> Result<String, CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::err("Missing library metadata"));
    }
    let end = memchr::memchr(b'\n', code).unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::err(format!("Engine '{engine}' not found")));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix("name=") {
            Some(n) => name = Some(n.to_string()),
            None => return Err(CmdError::err(format!("Invalid metadata value given: {part}"))),
        }
    }
    let name = name.ok_or_else(|| CmdError::err("Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::err(
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    Ok(name)
}

impl Server {
    /// Load a library's code: run it with `redis.register_function` collecting its functions.
    /// Returns the library name. Nothing changes on error.
    pub fn function_load_code(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        let name = library_name(code)?;
        if self.scripting.libraries.contains_key(&name) && !replace {
            return Err(CmdError::err(format!("Library '{name}' already exists")));
        }
        let Some(lua) = self.scripting.lua.as_ref() else {
            return Err(CmdError::from(crate::scripting::BUSY_EVAL));
        };
        let end = memchr::memchr(b'\n', code).unwrap_or(code.len());
        let mut body = code[end..].to_vec();
        body.insert(0, b' ');
        let registered: std::cell::RefCell<Vec<FunctionDef>> = std::cell::RefCell::new(Vec::new());
        let run = lua.scope(|scope| {
            let register = scope.create_function(|lua, argv: mlua::MultiValue| {
                let def = parse_registration(lua, argv)?;
                let mut list = registered.borrow_mut();
                if list.iter().any(|f| f.name == def.name) {
                    return Err(mlua::Error::runtime(format!("Function {} already exists", def.name)));
                }
                list.push(def);
                Ok(())
            })?;
            let redis: mlua::Table = lua.globals().get("redis")?;
            redis.set("register_function", register)?;
            let chunk = lua.load(&body[..]).set_name("@user_function").into_function()?;
            // A library's top level only registers functions: one still running after half a
            // second never will finish (Redis's LOAD_TIMEOUT_MS).
            let start = std::time::Instant::now();
            let _ = lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(100_000), move |_, _| {
                if start.elapsed() > std::time::Duration::from_millis(500) {
                    return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
                }
                Ok(mlua::VmState::Continue)
            });
            let result = chunk.call::<()>(());
            lua.remove_hook();
            redis.set("register_function", mlua::Value::Nil)?;
            result
        });
        if let Err(e) = run {
            return Err(CmdError::err(format!("Error registering functions: {}", lua_error_text(&e))));
        }
        let functions = registered.into_inner();
        if functions.is_empty() {
            return Err(CmdError::err("No functions registered"));
        }
        for f in &functions {
            if let Some(owner) = self.scripting.functions.get(&f.name)
                && owner != &name
            {
                return Err(CmdError::err(format!("Function {} already exists", f.name)));
            }
        }
        self.function_delete_library(&name);
        for f in &functions {
            self.scripting.functions.insert(f.name.clone(), name.clone());
        }
        self.scripting.libraries.insert(name.clone(), Library { code: code.to_vec(), functions });
        Ok(name)
    }

    /// Remove a library and its functions; false when there is none by that name.
    pub fn function_delete_library(&mut self, name: &str) -> bool {
        let Some(lib) = self.scripting.libraries.remove(name) else { return false };
        for f in &lib.functions {
            self.scripting.functions.remove(&f.name);
        }
        true
    }
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`.
fn parse_registration(lua: &mlua::Lua, argv: mlua::MultiValue) -> mlua::Result<FunctionDef> {
    let err = |m: &str| mlua::Error::runtime(m.to_string());
    let (name, callback, flags, description) = match argv.len() {
        1 => {
            let Some(mlua::Value::Table(t)) = argv.iter().next().cloned() else {
                return Err(err(
                    "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
                ));
            };
            let mut name = None;
            let mut callback = None;
            let mut flags = 0;
            let mut description = None;
            for pair in t.pairs::<String, mlua::Value>() {
                let (k, v) = pair?;
                match (k.as_str(), v) {
                    ("function_name", mlua::Value::String(s)) => name = Some(s.to_string_lossy()),
                    ("callback", mlua::Value::Function(f)) => callback = Some(f),
                    ("description", mlua::Value::String(s)) => description = Some(s.to_string_lossy()),
                    ("flags", mlua::Value::Table(list)) => {
                        for f in list.sequence_values::<String>() {
                            let f = f?;
                            match script_flags::NAMES.iter().find(|(n, _)| *n == f) {
                                Some((_, bit)) => flags |= bit,
                                None => return Err(err("unknown flag given")),
                            }
                        }
                    }
                    ("function_name" | "callback" | "description" | "flags", _) => {
                        return Err(err("wrong type given to redis.register_function"));
                    }
                    (other, _) => return Err(mlua::Error::runtime(format!("unknown argument given: {other}"))),
                }
            }
            let name = name.ok_or_else(|| err("redis.register_function must get a function name argument"))?;
            let callback = callback.ok_or_else(|| err("redis.register_function must get a callback argument"))?;
            (name, callback, flags, description)
        }
        2 => {
            let mut it = argv.iter();
            let (Some(mlua::Value::String(n)), Some(mlua::Value::Function(f))) = (it.next(), it.next()) else {
                return Err(err("wrong number or type of arguments to redis.register_function"));
            };
            (n.to_string_lossy(), f.clone(), 0, None)
        }
        _ => return Err(err("wrong number of arguments to redis.register_function")),
    };
    if !valid_name(&name) {
        return Err(err(
            "Function names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    let func = lua.create_registry_value(callback)?;
    Ok(FunctionDef { name, flags, description, func })
}

/// FUNCTION LOAD [REPLACE] code
fn function_load(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if args.is(i, "replace") {
            replace = true;
        } else {
            return Err(CmdError::err(format!("Unknown option given: {}", String::from_utf8_lossy(args.get(i)))));
        }
        i += 1;
    }
    let name = srv.function_load_code(args.get(args.len() - 1), replace)?;
    // Replicated and persisted as the command itself.
    srv.dirty += 1;
    c.reply.bulk(name.as_bytes());
    Ok(())
}

/// FUNCTION DELETE library
fn function_delete(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let name = String::from_utf8_lossy(args.get(2)).into_owned();
    if !srv.function_delete_library(&name) {
        return Err(CmdError::err("Library not found"));
    }
    srv.dirty += 1;
    c.reply.ok();
    Ok(())
}

/// FUNCTION FLUSH [ASYNC|SYNC]
fn function_flush(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 3 || (args.len() == 3 && !args.is(2, "async") && !args.is(2, "sync")) {
        return Err(CmdError::err("FUNCTION FLUSH only supports SYNC|ASYNC option"));
    }
    srv.scripting.flush_functions();
    srv.dirty += 1;
    c.reply.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]
fn function_list(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut pattern: Option<&[u8]> = None;
    let mut with_code = false;
    let mut i = 2;
    while i < args.len() {
        if args.is(i, "withcode") {
            with_code = true;
            i += 1;
        } else if args.is(i, "libraryname") && i + 1 < args.len() {
            pattern = Some(args.get(i + 1));
            i += 2;
        } else {
            return Err(CmdError::err(format!("Unknown argument {}", String::from_utf8_lossy(args.get(i)))));
        }
    }
    let libs: Vec<(&String, &Library)> = srv
        .scripting
        .libraries
        .iter()
        .filter(|(n, _)| pattern.is_none_or(|p| crate::glob::string_match(p, n.as_bytes(), false)))
        .collect();
    c.reply.array(libs.len());
    for (name, lib) in libs {
        c.reply.map(if with_code { 4 } else { 3 });
        c.reply.bulk(b"library_name");
        c.reply.bulk(name.as_bytes());
        c.reply.bulk(b"engine");
        c.reply.bulk(b"LUA");
        c.reply.bulk(b"functions");
        c.reply.array(lib.functions.len());
        for f in &lib.functions {
            c.reply.map(3);
            c.reply.bulk(b"name");
            c.reply.bulk(f.name.as_bytes());
            c.reply.bulk(b"description");
            match &f.description {
                Some(d) => c.reply.bulk(d.as_bytes()),
                None => c.reply.null(),
            }
            c.reply.bulk(b"flags");
            let names: Vec<&str> =
                script_flags::NAMES.iter().filter(|(_, bit)| f.flags & bit != 0).map(|(n, _)| *n).collect();
            c.reply.set(names.len());
            for n in names {
                c.reply.bulk(n.as_bytes());
            }
        }
        if with_code {
            c.reply.bulk(b"library_code");
            c.reply.bulk(&lib.code);
        }
    }
    Ok(())
}

/// FUNCTION STATS
fn function_stats(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.map(2);
    c.reply.bulk(b"running_script");
    c.reply.null();
    c.reply.bulk(b"engines");
    c.reply.map(1);
    c.reply.bulk(b"LUA");
    c.reply.map(2);
    c.reply.bulk(b"libraries_count");
    c.reply.int(srv.scripting.libraries.len() as i64);
    c.reply.bulk(b"functions_count");
    c.reply.int(srv.scripting.functions.len() as i64);
    Ok(())
}

fn fcall_generic(srv: &mut Server, c: &mut Client, args: &Args, ro: bool) -> CmdResult {
    let (keys, argv) = split_keys(args)?;
    let name = String::from_utf8_lossy(args.get(1)).into_owned();
    let (func, flags) = {
        let lib = srv.scripting.functions.get(&name).and_then(|l| srv.scripting.libraries.get(l));
        let def = lib.and_then(|l| l.functions.iter().find(|f| f.name == name));
        let (Some(def), Some(lua)) = (def, srv.scripting.lua.as_ref()) else {
            return Err(CmdError::err("Function not found"));
        };
        let func: mlua::Function = lua.registry_value(&def.func).map_err(|e| CmdError::err(e.to_string()))?;
        (func, def.flags)
    };
    let spec = RunSpec { name, flags, read_only_cmd: ro, keys, args: argv, function_mode: true };
    srv.script_run(c, func, spec)
}

fn fcall(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    fcall_generic(srv, c, args, false)
}

fn fcall_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    fcall_generic(srv, c, args, true)
}
