//! Transactions (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Commands are queued by the dispatcher while a client is in MULTI; EXEC runs them back to back
//! through the normal `call` path, so nothing can interleave (single thread). ACL permissions are
//! checked again at EXEC: they may have changed since the commands were queued.

use super::flags::*;
use super::{Args, CommandSpec, KEYS_ALL, METADATA_ONLY, NO_KEYS};
use crate::acl::Denial;
use crate::acl::category as cat;
use crate::client::{Client, flags as cflags};
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NO_KEYS, "transactions", multi)
        .acl(cat::TRANSACTION),
    CommandSpec::new("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, NO_KEYS, "transactions", exec)
        .acl(cat::TRANSACTION),
    CommandSpec::new("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NO_KEYS, "transactions", discard)
        .acl(cat::TRANSACTION),
    CommandSpec::new("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, KEYS_ALL, "transactions", watch)
        .acl(cat::TRANSACTION)
        .access(METADATA_ONLY),
    CommandSpec::new("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NO_KEYS, "transactions", unwatch)
        .acl(cat::TRANSACTION),
];

fn multi(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if c.in_multi() {
        return Err(error::MULTI_NESTED.into());
    }
    c.flags |= cflags::MULTI;
    c.reply.ok();
    Ok(())
}

/// Leave MULTI: drop the queue, the flags and every WATCH.
pub fn discard_transaction(srv: &mut Server, c: &mut Client) {
    c.multi.clear();
    c.flags &= !(cflags::MULTI | cflags::DIRTY_CAS | cflags::DIRTY_EXEC);
    srv.unwatch_all(c);
}

fn discard(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if !c.in_multi() {
        return Err(error::DISCARD_WITHOUT_MULTI.into());
    }
    discard_transaction(srv, c);
    c.reply.ok();
    Ok(())
}

fn exec(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if !c.in_multi() {
        return Err(error::EXEC_WITHOUT_MULTI.into());
    }
    if srv.watched_key_expired(c) {
        c.flags |= cflags::DIRTY_CAS;
    }
    if c.has(cflags::DIRTY_EXEC) {
        discard_transaction(srv, c);
        return Err(error::EXECABORT.into());
    }
    if c.has(cflags::DIRTY_CAS) {
        discard_transaction(srv, c);
        c.reply.null_array();
        return Ok(());
    }
    srv.unwatch_all(c);
    let queued = std::mem::take(&mut c.multi);
    c.reply.array(queued.len());
    c.flags |= cflags::EXECUTING_MULTI;
    srv.in_exec = true;
    for q in &queued {
        let args = Args::new(&q.buf, &q.ranges);
        // The command was resolved when queued; resolve again (cheap) to get its id.
        let id = match srv.commands.lookup(&args) {
            crate::command::Lookup::Found(cmd) => cmd.id,
            _ => continue,
        };
        // Permissions may have changed since the command was queued (and checked).
        if let Err(denial) = srv.acl_check(c, id, &args) {
            srv.acl_log_denial(c, c, denial, id, &args, crate::acl::log::Context::Multi);
            let reason = match denial {
                Denial::Command => "no permission to execute the command or subcommand",
                Denial::Key(_) => "no permission to touch the specified keys",
                Denial::Channel(_) => "no permission to access one of the channels used as arguments",
            };
            let e = CmdError::from(format!(
                "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"
            ));
            srv.reply_error(c, &e);
            continue;
        }
        srv.call(c, id, &args);
    }
    c.flags &= !cflags::EXECUTING_MULTI;
    srv.in_exec = false;
    discard_transaction(srv, c);
    Ok(())
}

fn watch(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if c.in_multi() {
        return Err(error::WATCH_IN_MULTI.into());
    }
    if !c.has(cflags::DIRTY_CAS) {
        for key in args.iter().skip(1) {
            srv.watch_key(c, c.db, key);
        }
    }
    c.reply.ok();
    Ok(())
}

fn unwatch(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    srv.unwatch_all(c);
    c.flags &= !cflags::DIRTY_CAS;
    c.reply.ok();
    Ok(())
}
