//! Introspection: COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS, HELP), SLOWLOG, MONITOR.
//!
//! These report on the command table and the server; they never change the keyspace.

use super::flags::*;
use super::{Args, ChannelArgs, Command, CommandSpec, NO_KEYS, READS_WRITES};
use crate::acl::category as cat;
use crate::client::{Client, flags as cflags};
use crate::error::{CmdError, CmdResult};
use crate::glob::string_match;
use crate::server::Server;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "command",
        arity: -1,
        flags: LOADING | STALE | SENTINEL,
        keys: NO_KEYS,
        handler: command_all,
        group: "server",
        subcommands: COMMAND_SUBCOMMANDS,
        getkeys: None,
        acl_categories: cat::CONNECTION,
        key_access: READS_WRITES,
        channels: ChannelArgs::None,
    },
    CommandSpec::container("slowlog", -2, 0, "server", SLOWLOG_SUBCOMMANDS),
    CommandSpec::new("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "server", monitor),
];

const COMMAND_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("count", 2, LOADING | STALE, NO_KEYS, "server", command_count).acl(cat::CONNECTION),
    CommandSpec::new("info", -2, LOADING | STALE, NO_KEYS, "server", command_info).acl(cat::CONNECTION),
    CommandSpec::new("docs", -2, LOADING | STALE, NO_KEYS, "server", command_docs).acl(cat::CONNECTION),
    CommandSpec::new("list", -2, LOADING | STALE, NO_KEYS, "server", command_list).acl(cat::CONNECTION),
    CommandSpec::new("getkeys", -3, LOADING | STALE, NO_KEYS, "server", command_getkeys).acl(cat::CONNECTION),
    CommandSpec::new("getkeysandflags", -3, LOADING | STALE, NO_KEYS, "server", command_getkeys).acl(cat::CONNECTION),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "server", command_help).acl(cat::CONNECTION),
];

const SLOWLOG_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", -2, ADMIN | LOADING | STALE, NO_KEYS, "server", slowlog_get),
    CommandSpec::new("len", 2, ADMIN | LOADING | STALE, NO_KEYS, "server", slowlog_len),
    CommandSpec::new("reset", 2, ADMIN | LOADING | STALE, NO_KEYS, "server", slowlog_reset),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "server", slowlog_help),
];

fn reply_command_info(srv: &Server, c: &mut Client, cmd: &Command) {
    let spec = cmd.spec;
    let r = &mut c.reply;
    r.array(10);
    r.bulk(cmd.full_name.as_bytes());
    r.int(spec.arity as i64);
    let flag_names: Vec<&str> = NAMES.iter().filter(|(f, _)| spec.has(*f)).map(|(_, n)| *n).collect();
    r.set(flag_names.len());
    for n in flag_names {
        r.simple(n.as_bytes());
    }
    r.int(spec.keys.first as i64);
    r.int(spec.keys.last as i64);
    r.int(spec.keys.step as i64);
    r.set(cmd.acl_categories.count_ones() as usize);
    for name in crate::acl::category::names(cmd.acl_categories) {
        r.simple(format!("@{name}").as_bytes());
    }
    r.set(0);
    r.array(0);
    let children: Vec<&Command> = srv.commands.children(cmd).collect();
    c.reply.array(children.len());
    for child in children {
        reply_command_info(srv, c, child);
    }
}

fn reply_command_docs(srv: &Server, c: &mut Client, cmd: &Command) {
    let children: Vec<&Command> = srv.commands.children(cmd).collect();
    let r = &mut c.reply;
    r.map(if children.is_empty() { 4 } else { 5 });
    r.bulk(b"summary");
    r.bulk(b"");
    r.bulk(b"since");
    r.bulk(b"1.0.0");
    r.bulk(b"group");
    r.bulk(cmd.spec.group.as_bytes());
    r.bulk(b"complexity");
    r.bulk(b"");
    if !children.is_empty() {
        r.bulk(b"subcommands");
        r.map(children.len());
        for child in children {
            c.reply.bulk(child.full_name.as_bytes());
            reply_command_docs(srv, c, child);
        }
    }
}

/// COMMAND: info on every command.
fn command_all(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let all: Vec<&Command> = srv.commands.top_level().collect();
    c.reply.array(all.len());
    for cmd in all {
        reply_command_info(srv, c, cmd);
    }
    Ok(())
}

fn command_count(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(srv.commands.top_level().count() as i64);
    Ok(())
}

/// Resolve `name` or `container|sub` to a table entry.
fn find_by_full_name<'a>(srv: &'a Server, name: &[u8]) -> Option<&'a Command> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = srv.commands.get(parts.next()?)?;
    match parts.next() {
        None => Some(top),
        Some(sub) => srv.commands.sub(top, sub),
    }
}

fn command_info(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command_all(srv, c, args);
    }
    c.reply.array(args.len() - 2);
    for name in args.iter().skip(2) {
        match find_by_full_name(srv, name) {
            Some(cmd) => reply_command_info(srv, c, cmd),
            None => c.reply.null(),
        }
    }
    Ok(())
}

fn command_docs(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let wanted: Vec<&Command> = if args.len() == 2 {
        srv.commands.top_level().collect()
    } else {
        args.iter().skip(2).filter_map(|n| find_by_full_name(srv, n)).collect()
    };
    c.reply.map(wanted.len());
    for cmd in wanted {
        c.reply.bulk(cmd.full_name.as_bytes());
        reply_command_docs(srv, c, cmd);
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN pattern]
fn command_list(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let filter = match args.len() {
        2 => None,
        5 if args.is(2, "filterby") => Some((args.get(3).to_ascii_lowercase(), args.get(4))),
        _ => return Err(crate::error::SYNTAX.into()),
    };
    let mut names = Vec::new();
    for cmd in &srv.commands.commands {
        let keep = match &filter {
            None => true,
            Some((kind, value)) => match kind.as_slice() {
                b"module" => false,
                b"aclcat" => crate::acl::category::by_name(value).is_some_and(|cat| cmd.acl_categories & cat != 0),
                b"pattern" => string_match(value, cmd.full_name.as_bytes(), true),
                _ => return Err(crate::error::SYNTAX.into()),
            },
        };
        if keep && (cmd.parent.is_none() || filter.is_some()) {
            names.push(cmd.full_name.clone());
        }
    }
    c.reply.array(names.len());
    for n in names {
        c.reply.bulk(n.as_bytes());
    }
    Ok(())
}

/// COMMAND GETKEYS command [args...]
fn command_getkeys(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let with_flags = args.is(1, "getkeysandflags");
    let (buf, ranges) = args.to_owned_parts();
    let inner = Args::new(&buf, &ranges[2..]);
    let cmd = match srv.commands.lookup(&inner) {
        crate::command::Lookup::Found(cmd) => cmd,
        _ => return Err(CmdError::err("Invalid command specified")),
    };
    if cmd.spec.keys.first <= 0 && cmd.spec.getkeys.is_none() {
        return Err(CmdError::err("The command has no key arguments"));
    }
    if !cmd.spec.arity_ok(inner.len()) {
        return Err(CmdError::err("Invalid number of arguments specified for command"));
    }
    let positions = cmd.spec.keys_in(&inner);
    if positions.is_empty() {
        return Err(CmdError::err("Invalid arguments specified for command"));
    }
    let write = cmd.spec.has(WRITE);
    c.reply.array(positions.len());
    for p in positions {
        if with_flags {
            c.reply.array(2);
            c.reply.bulk(inner.get(p));
            let flags: &[&str] = if write { &["RW", "UPDATE"] } else { &["RO", "ACCESS"] };
            c.reply.set(flags.len());
            for f in flags {
                c.reply.simple(f.as_bytes());
            }
        } else {
            c.reply.bulk(inner.get(p));
        }
    }
    Ok(())
}

fn command_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

/// SLOWLOG GET [count]
fn slowlog_get(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::error::unknown_subcommand("slowlog", args.get(1)));
    }
    let mut count = 10i64;
    if args.len() == 3 {
        count = crate::numeric::parse_i64(args.get(2))
            .filter(|&n| n >= -1)
            .ok_or_else(|| CmdError::err("count should be greater than or equal to -1"))?;
        if count == -1 {
            count = srv.slowlog.len() as i64;
        }
    }
    let entries: Vec<_> = srv.slowlog.iter().take(count as usize).collect();
    let r = &mut c.reply;
    r.array(entries.len());
    for e in entries {
        r.array(6);
        r.int(e.id as i64);
        r.int(e.time as i64);
        r.int(e.duration_us as i64);
        r.array(e.args.len());
        for a in &e.args {
            r.bulk(a);
        }
        r.bulk(e.peer.as_bytes());
        r.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(srv.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    srv.slowlog.clear();
    c.reply.ok();
    Ok(())
}

fn slowlog_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

/// MONITOR: stream every command run from now on.
fn monitor(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if c.has(cflags::MONITOR) {
        return Ok(());
    }
    c.flags |= cflags::MONITOR;
    srv.monitors.push(c.slot);
    c.reply.ok();
    Ok(())
}

/// Quote bytes the way Redis's sdscatrepr does (MONITOR lines, CLIENT LIST, logs).
pub fn repr_bytes(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}
