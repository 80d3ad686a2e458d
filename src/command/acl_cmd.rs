//! The ACL command (Redis's aclCommand): SETUSER, GETUSER, DELUSER, USERS, LIST, CAT, GENPASS,
//! WHOAMI, LOG, DRYRUN, LOAD, SAVE, HELP.
//!
//! Users and rules live in `crate::acl`; disconnecting the clients of deleted users is
//! `server::permissions`'. Handlers here parse, call and reply.

use super::flags::*;
use super::{Args, CommandSpec, Lookup, NO_KEYS, reply_help};
use crate::acl::selector::has_spaces;
use crate::acl::{Denial, category};
use crate::client::Client;
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;
use crate::server::permissions::rule_context;

const ADMIN_SUB: u32 = ADMIN | NOSCRIPT | LOADING | STALE | SENTINEL;
const PLAIN_SUB: u32 = NOSCRIPT | LOADING | STALE | SENTINEL;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container("acl", -2, SENTINEL, "server", SUBCOMMANDS)];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("cat", -2, PLAIN_SUB, NO_KEYS, "server", acl_cat),
    CommandSpec::new("deluser", -3, ADMIN_SUB, NO_KEYS, "server", acl_deluser),
    CommandSpec::new("dryrun", -4, ADMIN_SUB, NO_KEYS, "server", acl_dryrun),
    CommandSpec::new("genpass", -2, PLAIN_SUB, NO_KEYS, "server", acl_genpass),
    CommandSpec::new("getuser", 3, ADMIN_SUB, NO_KEYS, "server", acl_getuser),
    CommandSpec::new("help", 2, LOADING | STALE | SENTINEL, NO_KEYS, "server", acl_help),
    CommandSpec::new("list", 2, ADMIN_SUB, NO_KEYS, "server", acl_list),
    CommandSpec::new("load", 2, ADMIN_SUB, NO_KEYS, "server", acl_load),
    CommandSpec::new("log", -2, ADMIN_SUB, NO_KEYS, "server", acl_log),
    CommandSpec::new("save", 2, ADMIN_SUB, NO_KEYS, "server", acl_save),
    CommandSpec::new("setuser", -3, ADMIN_SUB, NO_KEYS, "server", acl_setuser),
    CommandSpec::new("users", 2, ADMIN_SUB, NO_KEYS, "server", acl_users),
    CommandSpec::new("whoami", 2, PLAIN_SUB, NO_KEYS, "server", acl_whoami),
];

/// Longest password ACL GENPASS makes.
const GENPASS_MAX_BITS: i64 = 4096;

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// An error text that may quote client input, with CR and LF made spaces so the reply stays one
/// line (Redis's addReplyErrorSdsSafe).
fn safe_error(text: String) -> CmdError {
    CmdError::from(text.replace(['\r', '\n'], " "))
}

fn wrong_arity_for_sub(args: &Args) -> CmdError {
    error::subcommand_syntax(&String::from_utf8_lossy(args.get(0)), args.get(1))
}

/// ACL SETUSER username [rule ...]: create or change a user; all rules apply or none.
fn acl_setuser(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let name = args.get(2);
    if has_spaces(name) {
        return Err(CmdError::err("Usernames can't contain spaces or null characters"));
    }
    let rules: Vec<&[u8]> = args.iter().skip(3).collect();
    let ctx = rule_context(&srv.commands, &srv.config);
    match srv.acl.set_user(name, &rules, &ctx) {
        Ok(revoked) => {
            if let Some(revoked) = revoked {
                srv.acl_kill_revoked_subscribers(c, &revoked);
            }
            c.reply.ok();
            Ok(())
        }
        Err(text) => Err(safe_error(text)),
    }
}

/// ACL DELUSER username [username ...]: the number deleted; their clients are disconnected.
fn acl_deluser(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.iter().skip(2).any(|name| name == b"default") {
        return Err(CmdError::err("The 'default' user cannot be removed"));
    }
    let gone: Vec<_> = args.iter().skip(2).filter_map(|name| srv.acl.delete_user(name)).collect();
    srv.acl_disconnect_users(c, &gone);
    c.reply.int(gone.len() as i64);
    Ok(())
}

/// ACL GETUSER username: flags, password digests, the root selector's commands, keys and
/// channels, then every other selector; nil for an unknown user.
fn acl_getuser(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let Some((_, user)) = srv.acl.find(args.get(2)) else {
        c.reply.null();
        return Ok(());
    };
    let r = &mut c.reply;
    r.map(6);
    r.bulk(b"flags");
    let flags = user.flag_names();
    r.set(flags.len());
    for f in flags {
        r.bulk(f.as_bytes());
    }
    r.bulk(b"passwords");
    r.array(user.passwords.len());
    for p in &user.passwords {
        r.bulk(p.as_bytes());
    }
    let describe_selector = |r: &mut crate::resp::reply::ReplyBuf, s: &crate::acl::selector::Selector| {
        r.bulk(b"commands");
        r.bulk(crate::acl::describe::command_rules(s, &srv.commands).as_bytes());
        r.bulk(b"keys");
        r.bulk(&s.keys_text());
        r.bulk(b"channels");
        r.bulk(&s.channels_text());
    };
    describe_selector(r, user.root());
    r.bulk(b"selectors");
    r.array(user.selectors.len() - 1);
    for s in &user.selectors[1..] {
        r.map(3);
        describe_selector(r, s);
    }
    Ok(())
}

/// ACL LIST: every user as a `user <name> <rules>` line.
fn acl_list(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let lines = srv.acl.describe_all(&srv.commands);
    c.reply.array(lines.len());
    for line in lines {
        c.reply.bulk(&line);
    }
    Ok(())
}

/// ACL USERS: the user names, sorted.
fn acl_users(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let names: Vec<Vec<u8>> = srv.acl.users().map(|u| u.name.clone()).collect();
    c.reply.array(names.len());
    for n in names {
        c.reply.bulk(&n);
    }
    Ok(())
}

/// ACL WHOAMI: the connection's user (nil for the internal clients that have none).
fn acl_whoami(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    match c.user.and_then(|id| srv.acl.user(id)) {
        Some(u) => c.reply.bulk(&u.name),
        None => c.reply.null(),
    }
    Ok(())
}

/// ACL LOAD: replace every user with the ACL file's, or change nothing if it has any error.
/// Clients of users that went away are disconnected (the caller too, after the reply).
fn acl_load(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let Some(file) = srv.config.acl_filename().map(str::to_string) else {
        return Err(NO_ACL_FILE.into());
    };
    let ctx = rule_context(&srv.commands, &srv.config);
    let users = crate::acl::file::load(std::path::Path::new(&file), &file, &ctx)
        .map_err(|errors| safe_error(format!("ERR {errors}")))?;
    let gone = srv.acl.replace_all(users, &srv.commands);
    srv.acl_disconnect_users(c, &gone);
    c.reply.ok();
    Ok(())
}

/// ACL SAVE: write every user to the ACL file.
fn acl_save(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let Some(file) = srv.config.acl_filename().map(str::to_string) else {
        return Err(NO_ACL_FILE.into());
    };
    let ctx = rule_context(&srv.commands, &srv.config);
    if let Err(e) = crate::acl::file::save(&srv.acl, std::path::Path::new(&file), &ctx) {
        log::warn!("Writing ACL file for ACL SAVE: {}", crate::config::parse::strerror(&e));
        return Err(CmdError::err(
            "There was an error trying to save the ACLs. Please check the server logs for more information",
        ));
    }
    c.reply.ok();
    Ok(())
}

/// ACL CAT [category]: the category names, or the commands (and subcommands) in one.
fn acl_cat(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match args.len() {
        2 => {
            c.reply.array(category::ALL.len());
            for (name, _) in category::ALL {
                c.reply.bulk(name.as_bytes());
            }
        }
        3 => {
            let Some(cat) = category::by_name(args.get(2)) else {
                let name = args.get(2);
                let mut text = b"ERR Unknown category '".to_vec();
                text.extend_from_slice(&name[..name.len().min(128)]);
                text.push(b'\'');
                return Err(CmdError::from(text));
            };
            let names: Vec<&str> = srv
                .commands
                .commands
                .iter()
                .filter(|cmd| cmd.acl_categories & cat != 0)
                .map(|cmd| cmd.full_name.as_str())
                .collect();
            c.reply.array(names.len());
            for n in names {
                c.reply.bulk(n.as_bytes());
            }
        }
        _ => return Err(wrong_arity_for_sub(args)),
    }
    Ok(())
}

/// ACL GENPASS [bits]: a random password of `bits` bits (256 by default) in hex.
fn acl_genpass(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let bits = match args.len() {
        2 => 256,
        3 => args.i64(2)?,
        _ => return Err(wrong_arity_for_sub(args)),
    };
    if bits <= 0 || bits > GENPASS_MAX_BITS {
        return Err(CmdError::err(format!(
            "ACL GENPASS argument must be the number of bits for the output password, a positive number up to {GENPASS_MAX_BITS}"
        )));
    }
    let chars = ((bits + 3) / 4) as usize;
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
    {
        // As Redis, which falls back to its own generator when /dev/urandom fails.
        log::warn!("Unable to read /dev/urandom for ACL GENPASS: {e}");
        for b in bytes.iter_mut() {
            *b = srv.random() as u8;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex: Vec<u8> =
        bytes.iter().flat_map(|b| [HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]).take(chars).collect();
    c.reply.bulk(&hex);
    Ok(())
}

/// ACL LOG [count | RESET]: the newest `count` (10) entries, or clear the log.
fn acl_log(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let count = match args.len() {
        2 => 10,
        3 if args.is(2, "reset") => {
            srv.acl.log.reset();
            c.reply.ok();
            return Ok(());
        }
        3 => args.i64(2)?.max(0) as usize,
        _ => return Err(wrong_arity_for_sub(args)),
    };
    let now = crate::server::unix_ms();
    let shown = count.min(srv.acl.log.len());
    let r = &mut c.reply;
    r.array(shown);
    for e in srv.acl.log.entries().take(shown) {
        r.map(7);
        r.bulk(b"count");
        r.int(e.count as i64);
        r.bulk(b"reason");
        r.bulk(e.reason.name().as_bytes());
        r.bulk(b"context");
        r.bulk(e.context.name().as_bytes());
        r.bulk(b"object");
        r.bulk(&e.object);
        r.bulk(b"username");
        r.bulk(&e.username);
        r.bulk(b"age-seconds");
        r.double(now.saturating_sub(e.ctime_ms) as f64 / 1000.0);
        r.bulk(b"client-info");
        r.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

/// ACL DRYRUN username command [arg ...]: whether the user could run it, without running it.
fn acl_dryrun(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let Some((_, user)) = srv.acl.find(args.get(2)) else {
        return Err(safe_error(format!("ERR User '{}' not found", String::from_utf8_lossy(args.get(2)))));
    };
    let argv = args.tail(3);
    let cmd = match srv.commands.lookup(&argv) {
        Lookup::Found(cmd) => cmd,
        Lookup::Unknown | Lookup::UnknownSubcommand(_) => {
            return Err(safe_error(format!("ERR Command '{}' not found", String::from_utf8_lossy(args.get(3)))));
        }
    };
    if !cmd.spec.arity_ok(argv.len()) {
        return Err(error::wrong_arity(&cmd.full_name));
    }
    let verdict = match user.check(cmd, &argv) {
        Ok(()) => None,
        Err(Denial::Command) => Some(format!("This user has no permissions to run the '{}' command", cmd.full_name)),
        Err(Denial::Key(i)) => {
            Some(format!("This user has no permissions to access the '{}' key", String::from_utf8_lossy(argv.get(i))))
        }
        Err(Denial::Channel(i)) => Some(format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(argv.get(i))
        )),
    };
    match verdict {
        None => c.reply.ok(),
        Some(text) => c.reply.bulk(text.as_bytes()),
    }
    Ok(())
}

fn acl_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    reply_help(
        c,
        "ACL",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}
