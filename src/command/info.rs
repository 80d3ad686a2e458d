//! INFO: Redis 7.0's sections and field names, in Redis's order, so tools that parse INFO (redis-cli,
//! Sentinel, exporters, the Tcl suite) read ferrodis the same way.
//!
//! Figures we do not have yet (replication, persistence children) are reported with the values an idle
//! Redis reports. `used_memory` is what the allocator has handed out (counted by `allocator` at every allocation), not an estimate.

use std::fmt::Write as _;

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS};
use crate::acl::category as cat;
use crate::client::Client;
use crate::error::CmdResult;
use crate::server::{Server, unix_ms, unix_us};

pub const COMMANDS: &[CommandSpec] =
    &[CommandSpec::new("info", -1, LOADING | STALE | SENTINEL, NO_KEYS, "server", info).acl(cat::DANGEROUS)];

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

fn info(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let mut sections: Vec<String> = Vec::new();
    let mut all = false;
    let mut everything = false;
    if args.len() == 1 {
        sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    for a in args.iter().skip(1) {
        let s = String::from_utf8_lossy(a).to_ascii_lowercase();
        match s.as_str() {
            "default" => sections.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string())),
            "all" => all = true,
            "everything" => {
                all = true;
                everything = true;
            }
            _ => sections.push(s),
        }
    }
    let _ = everything;
    let text = info_string(srv, &sections, all);
    c.reply.verbatim(text.as_bytes());
    Ok(())
}

/// Bytes as Redis's bytesToHuman prints them (`1.50M`).
pub fn bytes_to_human(n: u64) -> String {
    let f = n as f64;
    const K: f64 = 1024.0;
    if n < 1024 {
        format!("{n}B")
    } else if f < K * K {
        format!("{:.2}K", f / K)
    } else if f < K * K * K {
        format!("{:.2}M", f / (K * K))
    } else if f < K * K * K * K {
        format!("{:.2}G", f / (K * K * K))
    } else if f < K * K * K * K * K {
        format!("{:.2}T", f / (K * K * K * K))
    } else {
        format!("{:.2}P", f / (K * K * K * K * K))
    }
}

/// Resident set size of this process, from /proc.
pub fn rss_bytes() -> u64 {
    let page = 4096u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page)
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

fn rusage(who: libc::c_int) -> (libc::timeval, libc::timeval) {
    // SAFETY: getrusage fills the zeroed struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        (ru.ru_stime, ru.ru_utime)
    }
}

fn tv(t: libc::timeval) -> String {
    format!("{}.{:06}", t.tv_sec, t.tv_usec)
}

fn uname() -> String {
    // SAFETY: uname fills the zeroed struct; fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "Linux".to_string();
        }
        let s = |f: &[libc::c_char]| std::ffi::CStr::from_ptr(f.as_ptr()).to_string_lossy().into_owned();
        format!("{} {} {}", s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

/// The INFO text for the wanted sections (lowercase names), or every section when `all`.
pub fn info_string(srv: &Server, sections: &[String], all: bool) -> String {
    let want = |name: &str| all || sections.iter().any(|s| s == name);
    let mut out = String::new();
    let mut n = 0;
    let mut begin = |out: &mut String, title: &str| {
        if n > 0 {
            out.push_str("\r\n");
        }
        n += 1;
        let _ = write!(out, "# {title}\r\n");
    };
    let now_ms = unix_ms();
    let uptime = now_ms / 1000 - srv.start_unix;
    if want("server") {
        begin(&mut out, "Server");
        let _ = write!(
            out,
            "redis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:{}\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nferrodis_version:{}\r\n",
            crate::REDIS_VERSION,
            uname(),
            srv.command_clock.describe(),
            std::process::id(),
            srv.run_id,
            srv.config.port(),
            unix_us(),
            uptime,
            uptime / 86400,
            srv.hz,
            srv.config.hz(),
            srv.clocks.lru_clock,
            srv.executable,
            srv.config_file.as_deref().unwrap_or(""),
            env!("CARGO_PKG_VERSION"),
        );
        if let Some(wait) = srv.shutdown_wait {
            let left = wait.deadline_ms as i64 - unix_ms() as i64;
            let _ = write!(out, "shutdown_in_milliseconds:{left}\r\n");
        }
    }
    if want("clients") {
        begin(&mut out, "Clients");
        let (mut max_in, mut max_out) = (0usize, 0usize);
        for (_, c) in srv.clients.iter() {
            if let Some(c) = c {
                max_in = max_in.max(c.qbuf_peak);
                max_out = max_out.max(c.reply.buf.len());
            }
        }
        let _ = write!(
            out,
            "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:{}\r\nclients_in_timeout_table:{}\r\n",
            srv.connected_clients(),
            srv.config.maxclients(),
            max_in,
            max_out,
            srv.blocking.blocked_clients,
            srv.tracking.clients,
            srv.blocking.clients_in_timeout_table()
        );
    }
    if want("memory") {
        begin(&mut out, "Memory");
        let used = crate::allocator::used_memory();
        let rss = rss_bytes();
        let peak = used.max(srv.memory_peak.get());
        srv.memory_peak.set(peak);
        let sys = total_system_memory();
        let maxmemory = srv.config.maxmemory();
        let frag = if used > 0 { rss as f64 / used as f64 } else { 0.0 };
        let alloc = crate::allocator::stats();
        // Redis's three layers of overhead: region rounding (active/allocated), pages the allocator
        // holds but has not returned (resident/active), and everything else in RSS (rss/resident).
        let ratio = |a: u64, b: u64| if b > 0 { a as f64 / b as f64 } else { 0.0 };
        // Replicas and the backlog share one buffer: what exceeds the backlog size is the
        // replicas' (Redis's getMemoryOverheadData).
        let repl_buffer_mem = srv.repl.backlog.as_ref().map_or(0, |b| b.mem()) as u64;
        let backlog_size = srv.config.repl_backlog_size();
        let (repl_backlog_mem, repl_clients_mem) = if !srv.repl.replicas.is_empty() && repl_buffer_mem > backlog_size {
            (backlog_size, repl_buffer_mem - backlog_size)
        } else {
            (repl_buffer_mem, 0)
        };
        let _ = write!(
            out,
            "used_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{}\r\nallocator_active:{}\r\nallocator_resident:{}\r\ntotal_system_memory:{sys}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:31744\r\nused_memory_vm_eval:31744\r\nused_memory_lua_human:31.00K\r\nused_memory_scripts_eval:0\r\nnumber_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\nused_memory_vm_functions:32768\r\nused_memory_vm_total:64512\r\nused_memory_vm_total_human:63.00K\r\nused_memory_functions:184\r\nused_memory_scripts:184\r\nused_memory_scripts_human:184B\r\nmaxmemory:{maxmemory}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{:.2}\r\nallocator_frag_bytes:{}\r\nallocator_rss_ratio:{:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:{:.2}\r\nrss_overhead_bytes:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:{}\r\nmem_total_replication_buffers:{}\r\nmem_clients_slaves:{}\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
            bytes_to_human(used),
            bytes_to_human(rss),
            bytes_to_human(peak),
            if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
            srv.startup_memory,
            srv.startup_memory,
            used.saturating_sub(srv.startup_memory),
            if used > 0 { used.saturating_sub(srv.startup_memory) as f64 * 100.0 / used as f64 } else { 0.0 },
            alloc.allocated,
            alloc.active,
            alloc.resident,
            bytes_to_human(sys),
            bytes_to_human(maxmemory),
            srv.config.maxmemory_policy(),
            ratio(alloc.active, alloc.allocated),
            alloc.active as i64 - alloc.allocated as i64,
            ratio(alloc.resident, alloc.active),
            alloc.resident as i64 - alloc.active as i64,
            ratio(rss, alloc.resident),
            rss as i64 - alloc.resident as i64,
            frag,
            rss as i64 - used as i64,
            repl_backlog_mem,
            repl_buffer_mem,
            repl_clients_mem,
            srv.clients
                .iter()
                .filter_map(|(_, c)| c.as_ref())
                .map(|c| c.reply.buf.capacity() + c.qbuf.capacity())
                .sum::<usize>(),
            crate::allocator::name(),
        );
    }
    if want("persistence") {
        begin(&mut out, "Persistence");
        let _ = write!(
            out,
            "loading:{}\r\nasync_loading:{}\r\ncurrent_cow_peak:{}\r\ncurrent_cow_size:{}\r\ncurrent_cow_size_age:{}\r\ncurrent_fork_perc:{:.2}\r\ncurrent_save_keys_processed:{}\r\ncurrent_save_keys_total:{}\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:{}\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:{}\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
            (srv.loading || srv.repl_diskless_loading()) as u8,
            srv.repl_async_loading() as u8,
            srv.child_info.cow_peak,
            srv.child_info.cow_bytes,
            srv.child_info.cow_age_secs(),
            srv.child_info.fork_percent(),
            srv.child_info.keys_processed,
            srv.child_info.keys_total,
            srv.dirty,
            srv.rdb.child.is_some() as u8,
            srv.lastsave,
            if srv.rdb.last_bgsave_ok { "ok" } else { "err" },
            srv.rdb.last_bgsave_time_sec,
            srv.rdb.child.map_or(-1, |ch| (unix_ms() / 1000).saturating_sub(ch.started_unix) as i64),
            srv.rdb.saves,
            srv.child_info.rdb_last_cow,
            srv.rdb.last_load_keys_expired,
            srv.rdb.last_load_keys_loaded,
            srv.aof.is_on() as u8,
            srv.aof.child.is_some() as u8,
            srv.aof.rewrite_scheduled as u8,
            srv.aof.rewrite_time_last,
            srv.aof.child.map_or(-1, |ch| (unix_ms() / 1000).saturating_sub(ch.started_unix) as i64),
            if srv.aof.lastbgrewrite_ok { "ok" } else { "err" },
            srv.aof.rewrites,
            srv.aof.rewrites_consecutive_failures,
            if srv.aof.last_write_ok { "ok" } else { "err" },
            srv.child_info.aof_last_cow,
        );
        if srv.config.appendonly() {
            let _ = write!(
                out,
                "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
                srv.aof.current_size,
                srv.aof.rewrite_base_size,
                srv.aof.rewrite_scheduled as u8,
                srv.aof.buf.len(),
                srv.aof.fsync_in_progress() as u8,
                // Writes are never postponed behind a running background fsync.
                0,
            );
        }
    }
    if want("stats") {
        begin(&mut out, "Stats");
        let s = &srv.stats;
        let _ = write!(
            out,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:{:.2}\r\nexpired_time_cap_reached_count:{}\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:{}\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:{}\r\ntotal_forks:{}\r\nmigrate_cached_sockets:{}\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:{}\r\ntracking_total_items:{}\r\ntracking_total_prefixes:{}\r\nunexpected_error_replies:{}\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
            s.connections_received,
            s.commands_processed,
            srv.ops_rate.rate(),
            s.net_input_bytes,
            s.net_output_bytes,
            srv.net_in_rate.rate() as f64 / 1024.0,
            srv.net_out_rate.rate() as f64 / 1024.0,
            s.rejected_connections,
            s.sync_full,
            s.sync_partial_ok,
            s.sync_partial_err,
            s.expired_keys,
            s.expired_stale_perc * 100.0,
            s.expired_time_cap_reached,
            s.evicted_keys,
            s.keyspace_hits,
            s.keyspace_misses,
            srv.pubsub.channels.len(),
            srv.pubsub.patterns.len(),
            srv.pubsub.shard_channels.len(),
            s.latest_fork_usec,
            s.total_forks,
            srv.migrate_sockets.len(),
            srv.tracking.total_keys(),
            srv.tracking.total_items(),
            srv.tracking.total_prefixes(),
            s.unexpected_error_replies,
            s.total_error_replies,
            s.total_reads_processed,
            s.total_writes_processed,
        );
    }
    if want("replication") {
        begin(&mut out, "Replication");
        let _ = write!(out, "role:{}\r\n", if srv.is_replica() { "slave" } else { "master" });
        srv.repl_info_replica(&mut out);
        crate::command::replication_cmd::info_replicas(srv, &mut out);
        let _ = write!(
            out,
            "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
            srv.failover.state_name(),
            srv.repl.replid,
            srv.repl.replid2,
            srv.repl.master_repl_offset,
            srv.repl.second_repl_offset,
            srv.repl.backlog.is_some() as u8,
            srv.config.repl_backlog_size(),
            srv.repl.backlog.as_ref().map_or(0, |b| b.first_offset()),
            srv.repl.backlog.as_ref().map_or(0, |b| b.histlen()),
        );
    }
    if want("cpu") {
        begin(&mut out, "CPU");
        let (ss, su) = rusage(libc::RUSAGE_SELF);
        let (cs, cu) = rusage(libc::RUSAGE_CHILDREN);
        let (ts, tu) = rusage(libc::RUSAGE_THREAD);
        let _ = write!(
            out,
            "used_cpu_sys:{}\r\nused_cpu_user:{}\r\nused_cpu_sys_children:{}\r\nused_cpu_user_children:{}\r\nused_cpu_sys_main_thread:{}\r\nused_cpu_user_main_thread:{}\r\n",
            tv(ss),
            tv(su),
            tv(cs),
            tv(cu),
            tv(ts),
            tv(tu)
        );
    }
    if want("module_list") || want("modules") {
        begin(&mut out, "Modules");
    }
    if want("commandstats") {
        begin(&mut out, "Commandstats");
        for cmd in &srv.commands.commands {
            let st = &srv.cmd_stats[cmd.id];
            if st.calls == 0 && st.failed == 0 && st.rejected == 0 {
                continue;
            }
            let per_call = if st.calls == 0 { 0.0 } else { st.usec as f64 / st.calls as f64 };
            let _ = write!(
                out,
                "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                cmd.full_name, st.calls, st.usec, per_call, st.rejected, st.failed
            );
        }
    }
    if want("errorstats") {
        begin(&mut out, "Errorstats");
        for (code, count) in &srv.error_stats {
            let _ = write!(out, "errorstat_{code}:count={count}\r\n");
        }
    }
    if want("latencystats") {
        begin(&mut out, "Latencystats");
        if srv.config.latency_tracking() {
            let percentiles = srv.config.latency_tracking_info_percentiles();
            for cmd in &srv.commands.commands {
                let Some(h) = &srv.cmd_stats[cmd.id].latency else { continue };
                let _ = write!(out, "latency_percentiles_usec_{}:", cmd.full_name);
                for (i, p) in percentiles.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let v = h.value_at_percentile(*p) as f64 / 1000.0;
                    let _ = write!(out, "p{}={:.3}", crate::server::latency::percentile_label(*p), v);
                }
                out.push_str("\r\n");
            }
        }
    }
    if want("cluster") {
        begin(&mut out, "Cluster");
        out.push_str("cluster_enabled:0\r\n");
    }
    if want("keyspace") {
        begin(&mut out, "Keyspace");
        for db in &srv.dbs {
            let (keys, expires) = (db.len(), db.expires.len());
            if keys > 0 || expires > 0 {
                let _ = write!(out, "db{}:keys={},expires={},avg_ttl={}\r\n", db.id, keys, expires, db.avg_ttl);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_bytes() {
        assert_eq!(super::bytes_to_human(100), "100B");
        assert_eq!(super::bytes_to_human(1536), "1.50K");
        assert_eq!(super::bytes_to_human(3 * 1024 * 1024), "3.00M");
    }
}
