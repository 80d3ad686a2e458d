//! Replication commands (Redis's replication.c): SYNC, PSYNC, REPLCONF, ROLE, and the master-link
//! commands REPLICAOF/SLAVEOF, and WAIT. The work lives in `replication`; handlers parse and reply.

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::acl::category as cat;
use crate::client::Client;
use crate::error::{self, CmdError, CmdResult};
use crate::replication::master::{ReplicaState, replica_ip};
use crate::server::{Server, unix_ms};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sync", 1, ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING, NO_KEYS, "server", sync),
    CommandSpec::new("psync", -3, ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING, NO_KEYS, "server", psync),
    CommandSpec::new("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, NO_KEYS, "server", replconf),
    CommandSpec::new("role", 1, NOSCRIPT | LOADING | STALE | FAST | SENTINEL, NO_KEYS, "server", role)
        .acl(cat::ADMIN | cat::DANGEROUS),
    CommandSpec::new("replicaof", 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, NO_KEYS, "server", replicaof),
    CommandSpec::new("slaveof", 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, NO_KEYS, "server", replicaof),
    CommandSpec::new("wait", 3, NOSCRIPT, NO_KEYS, "generic", wait).acl(cat::CONNECTION),
    CommandSpec::new("failover", -1, ADMIN | NOSCRIPT | STALE, NO_KEYS, "server", failover),
];

/// WAIT numreplicas timeout: block until that many replicas acknowledged this client's writes.
fn wait(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if srv.is_replica() {
        return Err(CmdError::err(
            "WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.",
        ));
    }
    let count = args.i64(1)?;
    let timeout = crate::numeric::parse_i64(args.get(2))
        .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(error::TIMEOUT_NEGATIVE.into());
    }
    let acked = srv.repl_count_acks(c.woff);
    if acked as i64 >= count || c.has(crate::client::flags::EXECUTING_MULTI) {
        c.reply.int(acked as i64);
        return Ok(());
    }
    let deadline = if timeout > 0 { unix_ms().saturating_add(timeout as u64) } else { 0 };
    let offset = c.woff;
    srv.block_for_replicas(c, args, offset, count.max(0) as u64, deadline);
    Ok(())
}

/// SYNC: a full resync without ids or offsets (old replicas, redis-cli --replica).
fn sync(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    srv.repl_sync_command(c, None)
}

/// PSYNC replid offset: continue from the backlog when possible, else a full resync.
fn psync(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() > 3 && args.is(3, "failover") {
        // Our master hands over to us: take over its history as a master, then continue as a
        // normal PSYNC (our secondary id now matches what it asks for).
        let replid = args.get(1);
        log::warn!("Failover request received for replid {}.", String::from_utf8_lossy(replid));
        if !srv.is_replica() {
            return Err(CmdError::err("PSYNC FAILOVER can't be sent to a master."));
        }
        if !String::from_utf8_lossy(replid).eq_ignore_ascii_case(&srv.repl.replid) {
            return Err(CmdError::err("PSYNC FAILOVER replid must match my replid."));
        }
        srv.repl_unset_master();
        let who = srv.client_info_line(c);
        log::info!("MASTER MODE enabled (failover request from '{who}')");
    }
    srv.repl_sync_command(c, Some((args.get(1), args.get(2))))
}

/// FAILOVER [TO host port] [FORCE] [TIMEOUT ms] | ABORT
fn failover(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len() == 2 && args.is(1, "abort") {
        if srv.failover.state == crate::replication::failover::FailoverState::None {
            return Err(CmdError::err("No failover in progress."));
        }
        srv.failover_abort("Failover manually aborted");
        c.reply.ok();
        return Ok(());
    }
    let mut timeout = 0i64;
    let mut force = false;
    let mut target: Option<(String, i64)> = None;
    let mut j = 1;
    while j < args.len() {
        if args.is(j, "timeout") && j + 1 < args.len() && timeout == 0 {
            timeout = args.i64(j + 1)?;
            if timeout <= 0 {
                return Err(CmdError::err("FAILOVER timeout must be greater than 0"));
            }
            j += 2;
        } else if args.is(j, "to") && j + 2 < args.len() && target.is_none() {
            let port = args.i64(j + 2)?;
            target = Some((String::from_utf8_lossy(args.get(j + 1)).into_owned(), port));
            j += 3;
        } else if args.is(j, "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(error::SYNTAX.into());
        }
    }
    // A port that no replica can listen on matches none of them.
    let target = target.map(|(h, p)| (h, u16::try_from(p).unwrap_or(0)));
    srv.failover_start(target, force, timeout as u64).map_err(CmdError::err)?;
    c.reply.ok();
    Ok(())
}

/// REPLCONF option value [option value ...]: what a replica tells its master (port, address,
/// capabilities) and its ACKs.
fn replconf(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(error::SYNTAX.into());
    }
    let mut j = 1;
    while j < args.len() {
        let value = args.get(j + 1);
        if args.is(j, "listening-port") {
            let port = args.i64(j + 1)?;
            c.replconf.get_or_insert_with(Default::default).listening_port = u16::try_from(port).unwrap_or(0);
        } else if args.is(j, "ip-address") {
            if value.len() >= 46 {
                return Err(CmdError::err(format!(
                    "REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    value.len()
                )));
            }
            c.replconf.get_or_insert_with(Default::default).announced_ip =
                Some(String::from_utf8_lossy(value).into_owned());
        } else if args.is(j, "capa") {
            let conf = c.replconf.get_or_insert_with(Default::default);
            if value.eq_ignore_ascii_case(b"eof") {
                conf.capa_eof = true;
            } else if value.eq_ignore_ascii_case(b"psync2") {
                conf.capa_psync2 = true;
            }
        } else if args.is(j, "rdb-only") {
            let v = args.i64(j + 1)?;
            if v != 0 && v != 1 {
                return Err(error::SYNTAX.into());
            }
            c.replconf.get_or_insert_with(Default::default).rdb_only = v == 1;
        } else if args.is(j, "rdb-filter-only") {
            let filter = value;
            let conf = c.replconf.get_or_insert_with(Default::default);
            if filter.eq_ignore_ascii_case(b"functions") {
                conf.functions_only = true;
            } else if !filter.is_empty() {
                return Err(CmdError::err(format!(
                    "Unsupported rdb-filter-only option: {}",
                    String::from_utf8_lossy(filter)
                )));
            }
        } else if args.is(j, "ack") {
            // Only from replicas, and never answered.
            let Some(r) = c.replica.as_mut() else { return Ok(()) };
            let offset = crate::numeric::parse_i64(value).ok_or_else(|| CmdError::from(error::NOT_INTEGER))?;
            if offset > r.ack_offset as i64 {
                r.ack_offset = offset as u64;
            }
            r.ack_time_ms = unix_ms();
            if r.socket_transfer && r.state == ReplicaState::WaitBgsaveEnd {
                r.acked_during_transfer = true;
            }
            if r.wait_first_ack {
                // Loaded its diskless RDB: the stream may follow now.
                r.wait_first_ack = false;
                srv.queue_write(c.slot);
            }
            return Ok(());
        } else if args.is(j, "getack") {
            // Only meaningful from our master (answered by the link); never answered here.
            srv.repl_answer_getack(c);
            return Ok(());
        } else {
            return Err(CmdError::err(format!(
                "Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(args.get(j))
            )));
        }
        j += 2;
    }
    c.reply.ok();
    Ok(())
}

/// ROLE: master with its offset and online replicas, or replica with its master link.
fn role(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    if let Some((host, port)) = srv.config.replicaof() {
        let (host, port) = (host.to_string(), port);
        c.reply.array(5);
        c.reply.bulk(b"slave");
        c.reply.bulk(host.as_bytes());
        c.reply.int(port as i64);
        c.reply.bulk(srv.repl_link_state_name().as_bytes());
        c.reply.int(srv.repl_replica_offset() as i64);
        return Ok(());
    }
    let online: Vec<(String, u16, u64)> = srv
        .repl
        .replicas
        .iter()
        .filter_map(|&s| match srv.clients.get(s) {
            Some(Some(r)) => r
                .replica
                .as_ref()
                .filter(|st| st.state == ReplicaState::Online)
                .map(|st| (replica_ip(r).unwrap_or_default(), st.listening_port, st.ack_offset)),
            _ => None,
        })
        .collect();
    c.reply.array(3);
    c.reply.bulk(b"master");
    c.reply.int(srv.repl.master_repl_offset as i64);
    c.reply.array(online.len());
    for (ip, port, offset) in online {
        c.reply.array(3);
        c.reply.bulk(ip.as_bytes());
        c.reply.bulk(port.to_string().as_bytes());
        c.reply.bulk(offset.to_string().as_bytes());
    }
    Ok(())
}

/// REPLICAOF host port | NO ONE
fn replicaof(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if srv.failover.state != crate::replication::failover::FailoverState::None {
        return Err(CmdError::err("REPLICAOF not allowed while failing over."));
    }
    if args.is(1, "no") && args.is(2, "one") {
        if srv.config.replicaof().is_some() {
            srv.repl_unset_master();
            let who = srv.client_info_line(c);
            log::info!("MASTER MODE enabled (user request from '{who}')");
        }
        c.reply.ok();
        return Ok(());
    }
    let host = String::from_utf8_lossy(args.get(1)).into_owned();
    let port =
        args.i64(2).ok().filter(|p| (0..=65535).contains(p)).ok_or_else(|| CmdError::err("Invalid master port"))?;
    if srv.config.replicaof().is_some_and(|(h, p)| h.eq_ignore_ascii_case(&host) && p as i64 == port) {
        log::info!(
            "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed."
        );
        c.reply.simple(b"OK Already connected to specified master");
        return Ok(());
    }
    srv.repl_set_master(&host, port as u16);
    let who = srv.client_info_line(c);
    log::info!("REPLICAOF {host}:{port} enabled (user request from '{who}')");
    c.reply.ok();
    Ok(())
}

/// INFO replication's master-side lines: connected_slaves and one slaveN line per replica.
pub fn info_replicas(srv: &Server, out: &mut String) {
    use std::fmt::Write;
    let now = unix_ms();
    let replicas: Vec<&Client> = srv
        .repl
        .replicas
        .iter()
        .filter_map(|&s| match srv.clients.get(s) {
            Some(Some(c)) => Some(c),
            _ => None,
        })
        .collect();
    let _ = write!(out, "connected_slaves:{}\r\n", replicas.len());
    for (i, c) in replicas.iter().enumerate() {
        let Some(r) = c.replica.as_ref() else { continue };
        let ip = replica_ip(c).unwrap_or_default();
        let _ = write!(
            out,
            "slave{i}:ip={ip},port={},state={},offset={},lag={}\r\n",
            r.listening_port,
            r.state.name(),
            r.ack_offset,
            now.saturating_sub(r.ack_time_ms) / 1000
        );
    }
}
