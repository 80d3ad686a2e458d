//! CONFIG GET / SET / REWRITE / RESETSTAT / HELP: the command side of `config`, plus the run-time side
//! effects of changed directives (new listeners, log level, hz).

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::client::Client;
use crate::error::{CmdError, CmdResult};
use crate::server::Server;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::container("config", -2, 0, "server", SUBCOMMANDS)];

const SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("get", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "server", config_get),
    CommandSpec::new("set", -4, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "server", config_set),
    CommandSpec::new("rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "server", config_rewrite),
    CommandSpec::new("resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, "server", config_resetstat),
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "server", config_help),
];

fn config_get(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let patterns: Vec<&[u8]> = args.iter().skip(2).collect();
    let pairs = srv.config.get(&patterns);
    c.reply.map(pairs.len());
    for (k, v) in pairs {
        c.reply.bulk(k.as_bytes());
        c.reply.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(crate::error::SYNTAX.into());
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len()).step_by(2).map(|i| (args.get(i), args.get(i + 1))).collect();
    let before = srv.config.clone();
    let ctx = crate::config::SetContext {
        loading: srv.loading || srv.repl_streaming_load_active(),
        local_client: c.has(crate::client::flags::UNIX_SOCKET)
            || c.peer_ip.is_some_and(|p| crate::net::is_loopback(&p)),
    };
    let changed = srv.config.set_with(&pairs, ctx).map_err(CmdError::from)?;
    if let Err(e) = apply_changes(srv, &changed) {
        log::warn!(
            "Failed applying new configuration. Possibly related to new {} setting. Restoring previous settings.",
            e.0
        );
        srv.config = before;
        let _ = apply_changes(srv, &changed);
        return Err(CmdError::from(crate::config::config_set_error(e.0, &e.1)));
    }
    c.reply.ok();
    Ok(())
}

/// Make changed directives take effect now. Err names the directive and the reason.
fn apply_changes(srv: &mut Server, changed: &[&'static str]) -> Result<(), (&'static str, String)> {
    let mut relisten = None;
    for &name in changed {
        match name {
            "port" | "bind" | "unixsocket" | "unixsocketperm" | "tcp-backlog" => relisten = Some(name),
            "loglevel" => crate::log::set_level(srv.config.loglevel()),
            "hz" => srv.hz = srv.config.hz(),
            "maxmemory-policy" | "lfu-log-factor" | "lfu-decay-time" => srv.update_access_clocks(),
            "proc-title-template" => srv.update_proc_title(None),
            // The old single password is the default user's only one (ACLUpdateDefaultUserPassword).
            "requirepass" => {
                let ctx = crate::server::permissions::rule_context(&srv.commands, &srv.config);
                srv.acl.set_default_password(srv.config.requirepass(), &ctx);
            }
            "aof-disable-auto-gc" => srv.aof_delete_history_files(),
            "appendonly" => {
                if !srv.config.appendonly() && srv.aof.is_on() {
                    srv.aof_stop();
                } else if srv.config.appendonly() && !srv.aof.is_on() && srv.aof_start().is_err() {
                    return Err(("appendonly", "Unable to turn on AOF. Check server logs.".to_string()));
                }
            }
            "maxmemory" => {
                // Like Redis: a limit below current usage evicts right away, not at the next command.
                if srv.config.maxmemory() > 0 && crate::allocator::used_memory() > srv.config.maxmemory() {
                    log::warn!(
                        "WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.",
                        srv.config.maxmemory(),
                        crate::allocator::used_memory()
                    );
                }
                srv.perform_evictions();
            }
            _ => {}
        }
    }
    if let Some(name) = relisten {
        srv.relisten().map_err(|e| {
            (name, if name == "port" { "Unable to listen on this port. Check server logs.".to_string() } else { e })
        })?;
    }
    Ok(())
}

fn config_rewrite(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    let Some(path) = srv.config_file.clone() else {
        return Err(CmdError::err("The server is running without a config file"));
    };
    let users = srv.acl.describe_all(&srv.commands);
    match srv.config.rewrite_with_users(&path, Some(&users)) {
        Ok(()) => {
            log::warn!("CONFIG REWRITE executed with success.");
            c.reply.ok();
            Ok(())
        }
        Err(e) => {
            log::warn!("CONFIG REWRITE failed: {e}");
            Err(CmdError::from(e))
        }
    }
}

fn config_resetstat(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    srv.stats = Default::default();
    srv.cmd_stats.iter_mut().for_each(|s| *s = Default::default());
    srv.error_stats.clear();
    srv.memory_peak.set(0);
    srv.child_info.rdb_last_cow = 0;
    srv.child_info.aof_last_cow = 0;
    c.reply.ok();
    Ok(())
}

fn config_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    super::reply_help(
        c,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}
