//! MEMORY (Redis's object.c memoryCommand): USAGE, MALLOC-STATS, PURGE and HELP.
//!
//! USAGE is an estimate from the value's own `heap_size` plus the fixed per-key costs; it never walks
//! more than the value type chooses to sample and never touches the key's access clock or expiry, as
//! in Redis.

use super::flags::*;
use super::{Args, CommandSpec, KeySpec, METADATA_ONLY, NO_KEYS};
use crate::client::Client;
use crate::db::Object;
use crate::error::{self, CmdResult};
use crate::server::Server;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container("memory", -2, 0, "server", SUBCOMMANDS)];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("usage", -3, READONLY, KeySpec { first: 2, last: 2, step: 1 }, "server", usage)
        .access(METADATA_ONLY),
    CommandSpec::new("malloc-stats", 2, 0, NO_KEYS, "server", malloc_stats),
    CommandSpec::new("purge", 2, 0, NO_KEYS, "server", purge),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "server", help),
];

/// Bytes a keyspace entry costs besides the key and the value's heap: the chain link and its boxing.
const ENTRY_OVERHEAD: usize = 3 * size_of::<usize>();

/// MEMORY USAGE key [SAMPLES count]
fn usage(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        if args.is(i, "samples") && i + 1 < args.len() {
            if args.i64(i + 1)? < 0 {
                return Err(error::SYNTAX.into());
            }
            i += 2;
        } else {
            return Err(error::SYNTAX.into());
        }
    }
    let key = args.get(2);
    match srv.dbs[c.db].get(key) {
        Some(o) => {
            let bytes = size_of::<Object>() + key.len() + o.value.heap_size() + ENTRY_OVERHEAD;
            c.reply.int(bytes as i64);
        }
        None => c.reply.null(),
    }
    Ok(())
}

/// MEMORY MALLOC-STATS: jemalloc's own report.
fn malloc_stats(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.verbatim(&crate::allocator::stats_report());
    Ok(())
}

/// MEMORY PURGE: give freed pages back to the OS now.
fn purge(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    crate::allocator::purge();
    c.reply.ok();
    Ok(())
}

/// MEMORY HELP
fn help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}
