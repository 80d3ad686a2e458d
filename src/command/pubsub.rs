//! Pub/Sub commands (Redis's pubsub.c): SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs,
//! PUBLISH, SPUBLISH and PUBSUB introspection. Shard channels behave as Redis 7.0 does outside
//! cluster mode: a separate namespace without patterns.
//!
//! The state and the delivery live in `server::pubsub`; handlers here only parse and reply.

use super::flags::*;
use super::{Args, ChannelArgs, CommandSpec, KeyAccess, KeySpec, NO_KEYS, reply_help};
use crate::client::{Client, flags as cflags};
use crate::error::{CmdError, CmdResult};
use crate::server::Server;
use crate::server::pubsub::SubKind;

/// SSUBSCRIBE/SUNSUBSCRIBE name shard channels as keys (for cluster slot checks), from 1 to the end.
const SHARD_CHANNELS: KeySpec = KeySpec { first: 1, last: -1, step: 1 };
const SHARD_CHANNEL1: KeySpec = KeySpec { first: 1, last: 1, step: 1 };

const SUB_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INTROSPECTION: u32 = PUBSUB | LOADING | STALE;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("subscribe", -2, SUB_FLAGS, NO_KEYS, "pubsub", subscribe).channels(ChannelArgs::Subscribe),
    CommandSpec::new("unsubscribe", -1, SUB_FLAGS, NO_KEYS, "pubsub", unsubscribe),
    CommandSpec::new("psubscribe", -2, SUB_FLAGS, NO_KEYS, "pubsub", psubscribe)
        .channels(ChannelArgs::SubscribePattern),
    CommandSpec::new("punsubscribe", -1, SUB_FLAGS, NO_KEYS, "pubsub", punsubscribe),
    CommandSpec::new("ssubscribe", -2, SUB_FLAGS, SHARD_CHANNELS, "pubsub", ssubscribe)
        .channels(ChannelArgs::Subscribe)
        .access(KeyAccess::NotKeys),
    CommandSpec::new("sunsubscribe", -1, SUB_FLAGS, SHARD_CHANNELS, "pubsub", sunsubscribe).access(KeyAccess::NotKeys),
    CommandSpec::new("publish", 3, PUBSUB | LOADING | STALE | FAST, NO_KEYS, "pubsub", publish)
        .channels(ChannelArgs::Publish),
    CommandSpec::new("spublish", 3, PUBSUB | LOADING | STALE | FAST, SHARD_CHANNEL1, "pubsub", spublish)
        .channels(ChannelArgs::Publish)
        .access(KeyAccess::NotKeys),
    CommandSpec::container("pubsub", -2, 0, "pubsub", PUBSUB_SUBCOMMANDS),
];

const PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec::new("help", 2, LOADING | STALE, NO_KEYS, "pubsub", pubsub_help),
    CommandSpec::new("channels", -2, INTROSPECTION, NO_KEYS, "pubsub", pubsub_channels),
    CommandSpec::new("numsub", -2, INTROSPECTION, NO_KEYS, "pubsub", pubsub_numsub),
    CommandSpec::new("numpat", 2, INTROSPECTION, NO_KEYS, "pubsub", pubsub_numpat),
    CommandSpec::new("shardchannels", -2, INTROSPECTION, NO_KEYS, "pubsub", pubsub_shardchannels),
    CommandSpec::new("shardnumsub", -2, INTROSPECTION, NO_KEYS, "pubsub", pubsub_shardnumsub),
];

fn subscribe_generic(srv: &mut Server, c: &mut Client, args: &Args, kind: SubKind) -> CmdResult {
    for name in args.iter().skip(1) {
        srv.pubsub_subscribe(c, kind, name);
    }
    Ok(())
}

fn unsubscribe_generic(srv: &mut Server, c: &mut Client, args: &Args, kind: SubKind) -> CmdResult {
    if args.len() == 1 {
        srv.pubsub_unsubscribe_all(c, kind, true);
    } else {
        for name in args.iter().skip(1) {
            srv.pubsub_unsubscribe(c, kind, name, true);
        }
    }
    srv.pubsub_update_flag(c);
    Ok(())
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    subscribe_generic(srv, c, args, SubKind::Channel)
}

/// UNSUBSCRIBE [channel ...]
fn unsubscribe(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    unsubscribe_generic(srv, c, args, SubKind::Channel)
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    subscribe_generic(srv, c, args, SubKind::Pattern)
}

/// PUNSUBSCRIBE [pattern ...]
fn punsubscribe(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    unsubscribe_generic(srv, c, args, SubKind::Pattern)
}

/// SSUBSCRIBE shardchannel [shardchannel ...]: refused inside a transaction, as in Redis 7.0
/// (a transaction's client may not block, and shard subscriptions have no MULTI exception).
fn ssubscribe(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    if c.has(cflags::EXECUTING_MULTI) {
        return Err(CmdError::err("SSUBSCRIBE isn't allowed for a DENY BLOCKING client"));
    }
    subscribe_generic(srv, c, args, SubKind::Shard)
}

/// SUNSUBSCRIBE [shardchannel ...]
fn sunsubscribe(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    unsubscribe_generic(srv, c, args, SubKind::Shard)
}

/// PUBLISH channel message: the number of clients that received it.
fn publish(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = srv.publish(args.get(1), args.get(2), false);
    // Replicas deliver it to their own subscribers; the AOF has no use for it.
    srv.force_propagation(crate::server::propagation::target::REPL);
    c.reply.int(n as i64);
    Ok(())
}

/// SPUBLISH shardchannel message
fn spublish(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = srv.publish(args.get(1), args.get(2), true);
    srv.force_propagation(crate::server::propagation::target::REPL);
    c.reply.int(n as i64);
    Ok(())
}

fn pubsub_help(_: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    reply_help(
        c,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}

/// Channels with subscribers, optionally filtered by a glob pattern (CHANNELS and SHARDCHANNELS).
fn channel_list(c: &mut Client, args: &Args, channels: &std::collections::HashMap<Vec<u8>, Vec<usize>>) -> CmdResult {
    if args.len() > 3 {
        return Err(crate::error::subcommand_syntax("pubsub", args.get(1)));
    }
    let pattern = (args.len() == 3).then(|| args.get(2));
    let names: Vec<&Vec<u8>> =
        channels.keys().filter(|ch| pattern.is_none_or(|p| crate::glob::string_match(p, ch, false))).collect();
    c.reply.array(names.len());
    for n in names {
        c.reply.bulk(n);
    }
    Ok(())
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    channel_list(c, args, &srv.pubsub.channels)
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    channel_list(c, args, &srv.pubsub.shard_channels)
}

fn numsub(c: &mut Client, args: &Args, channels: &std::collections::HashMap<Vec<u8>, Vec<usize>>) {
    c.reply.array((args.len() - 2) * 2);
    for ch in args.iter().skip(2) {
        c.reply.bulk(ch);
        c.reply.int(channels.get(ch).map_or(0, Vec::len) as i64);
    }
}

/// PUBSUB NUMSUB [channel ...]: flat channel, count pairs (never a map, even in RESP3).
fn pubsub_numsub(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    numsub(c, args, &srv.pubsub.channels);
    Ok(())
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
fn pubsub_shardnumsub(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    numsub(c, args, &srv.pubsub.shard_channels);
    Ok(())
}

/// PUBSUB NUMPAT: distinct patterns with at least one subscriber.
fn pubsub_numpat(srv: &mut Server, c: &mut Client, _: &Args) -> CmdResult {
    c.reply.int(srv.pubsub.patterns.len() as i64);
    Ok(())
}
