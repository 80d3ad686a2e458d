//! Server lifecycle commands: TIME, LASTSAVE, SHUTDOWN.

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::acl::category as cat;
use crate::client::{Client, flags as cflags};
use crate::error::{self, CmdError, CmdResult};
use crate::server::shutdown::{SHUTDOWN_FAILED, ShutdownFlags, ShutdownOutcome};
use crate::server::{Server, unix_us};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("time", 1, LOADING | STALE | FAST, NO_KEYS, "server", time),
    CommandSpec::new("lastsave", 1, LOADING | STALE | FAST, NO_KEYS, "server", lastsave)
        .acl(cat::ADMIN | cat::DANGEROUS),
    CommandSpec::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        NO_KEYS,
        "server",
        shutdown,
    ),
];

fn time(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let now = unix_us();
    c.reply.array(2);
    c.reply.bulk((now / 1_000_000).to_string().as_bytes());
    c.reply.bulk((now % 1_000_000).to_string().as_bytes());
    Ok(())
}

fn lastsave(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(srv.lastsave as i64);
    Ok(())
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
fn shutdown(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut flags = ShutdownFlags::default();
    let mut abort = false;
    for j in 1..args.len() {
        if args.is(j, "nosave") {
            flags.nosave = true;
        } else if args.is(j, "save") {
            flags.save = true;
        } else if args.is(j, "now") {
            flags.now = true;
        } else if args.is(j, "force") {
            flags.force = true;
        } else if args.is(j, "abort") {
            abort = true;
        } else {
            return Err(error::SYNTAX.into());
        }
    }
    if (abort && args.len() != 2) || (flags.nosave && flags.save) {
        return Err(error::SYNTAX.into());
    }
    if abort {
        if !srv.abort_shutdown() {
            return Err(CmdError::err("No shutdown in progress."));
        }
        c.reply.ok();
        return Ok(());
    }
    // Only SHUTDOWN NOSAVE may end the server under a slow script (a save would not be consistent).
    if let Some(run) = srv.scripting.timed_out
        && !flags.nosave
    {
        return Err(CmdError::from(run.busy_error()));
    }
    match srv.prepare_for_shutdown(flags) {
        ShutdownOutcome::Exit => {
            // The connection closes without a reply, as with Redis.
            c.flags |= cflags::CLOSE_ASAP;
            srv.exit_code = Some(0);
            Ok(())
        }
        // Answered when the shutdown fails or is aborted; the process exits otherwise.
        ShutdownOutcome::Waiting => {
            srv.block_for_shutdown(c);
            Ok(())
        }
        ShutdownOutcome::Failed => Err(CmdError::err(SHUTDOWN_FAILED)),
    }
}
