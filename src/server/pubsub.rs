//! Pub/Sub state and delivery: who is subscribed to which channel, pattern or shard channel, and
//! `publish`, which writes the message into every subscriber's output buffer.
//!
//! Subscriptions are kept on both sides, as Redis does: the server maps a channel to its subscribers'
//! slots (so PUBLISH is one lookup), and each client keeps its own set (so UNSUBSCRIBE without
//! arguments and disconnects are cheap). The two must never disagree: every change goes through the
//! methods here, and `free_client` calls `pubsub_forget_client`.
//!
//! Delivery never blocks and never fails a publisher: a slow subscriber only grows its own output
//! buffer, which the `pubsub` class of `client-output-buffer-limit` bounds.

use std::collections::{HashMap, HashSet};

use crate::client::{Client, ReplyMode, flags as cflags};
use crate::server::Server;

/// Which of the three subscription namespaces a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    Channel,
    Pattern,
    Shard,
}

impl SubKind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            SubKind::Channel => b"subscribe",
            SubKind::Pattern => b"psubscribe",
            SubKind::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            SubKind::Channel => b"unsubscribe",
            SubKind::Pattern => b"punsubscribe",
            SubKind::Shard => b"sunsubscribe",
        }
    }
}

/// A client's own subscriptions.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub channels: HashSet<Vec<u8>>,
    /// In subscription order: Redis keeps patterns in a list and unsubscribes them in that order.
    pub patterns: Vec<Vec<u8>>,
    pub shard_channels: HashSet<Vec<u8>>,
}

impl Subscriptions {
    /// Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE confirmations carry.
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    pub fn total(&self) -> usize {
        self.count() + self.shard_channels.len()
    }
}

/// The server's side: subscribers by channel, pattern and shard channel, as client slots.
#[derive(Debug, Default)]
pub struct PubSub {
    pub channels: HashMap<Vec<u8>, Vec<usize>>,
    pub patterns: HashMap<Vec<u8>, Vec<usize>>,
    pub shard_channels: HashMap<Vec<u8>, Vec<usize>>,
}

impl PubSub {
    fn map(&mut self, kind: SubKind) -> &mut HashMap<Vec<u8>, Vec<usize>> {
        match kind {
            SubKind::Channel => &mut self.channels,
            SubKind::Pattern => &mut self.patterns,
            SubKind::Shard => &mut self.shard_channels,
        }
    }
}

/// Append a push message (`*n`/`>n` followed by bulk strings) to a reply buffer.
fn write_push(reply: &mut crate::resp::reply::ReplyBuf, parts: &[&[u8]]) {
    reply.push(parts.len());
    for p in parts {
        reply.bulk(p);
    }
}

impl Server {
    /// Subscribe `c` to `name`, replying with the confirmation. Returns false when it already was.
    pub fn pubsub_subscribe(&mut self, c: &mut Client, kind: SubKind, name: &[u8]) -> bool {
        let subs = c.subs.get_or_insert_with(Default::default);
        let added = match kind {
            SubKind::Channel => subs.channels.insert(name.to_vec()),
            SubKind::Shard => subs.shard_channels.insert(name.to_vec()),
            SubKind::Pattern => {
                if subs.patterns.iter().any(|p| p == name) {
                    false
                } else {
                    subs.patterns.push(name.to_vec());
                    true
                }
            }
        };
        if added {
            self.pubsub.map(kind).entry(name.to_vec()).or_default().push(c.slot);
        }
        c.flags |= cflags::PUBSUB;
        let count = self.subscription_count(c, kind);
        self.push_confirmation(c, kind.subscribe_word(), Some(name), count);
        added
    }

    /// Unsubscribe `c` from `name` (replying when `notify`). Returns whether it was subscribed.
    pub fn pubsub_unsubscribe(&mut self, c: &mut Client, kind: SubKind, name: &[u8], notify: bool) -> bool {
        let removed = match c.subs.as_mut() {
            None => false,
            Some(subs) => match kind {
                SubKind::Channel => subs.channels.remove(name),
                SubKind::Shard => subs.shard_channels.remove(name),
                SubKind::Pattern => match subs.patterns.iter().position(|p| p == name) {
                    Some(i) => {
                        subs.patterns.remove(i);
                        true
                    }
                    None => false,
                },
            },
        };
        if removed {
            let map = self.pubsub.map(kind);
            if let Some(slots) = map.get_mut(name) {
                slots.retain(|&s| s != c.slot);
                if slots.is_empty() {
                    map.remove(name);
                }
            }
        }
        if notify {
            let count = self.subscription_count(c, kind);
            self.push_confirmation(c, kind.unsubscribe_word(), Some(name), count);
        }
        removed
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without arguments: drop every subscription of the
    /// kind, confirming each; with none, one confirmation with a null name.
    pub fn pubsub_unsubscribe_all(&mut self, c: &mut Client, kind: SubKind, notify: bool) -> usize {
        let names: Vec<Vec<u8>> = match c.subs.as_ref() {
            None => Vec::new(),
            Some(subs) => match kind {
                SubKind::Channel => subs.channels.iter().cloned().collect(),
                SubKind::Shard => subs.shard_channels.iter().cloned().collect(),
                SubKind::Pattern => subs.patterns.clone(),
            },
        };
        for name in &names {
            self.pubsub_unsubscribe(c, kind, name, notify);
        }
        if notify && names.is_empty() {
            let count = self.subscription_count(c, kind);
            self.push_confirmation(c, kind.unsubscribe_word(), None, count);
        }
        names.len()
    }

    /// After an unsubscribe: leave the subscribed state once nothing is left (Redis clears
    /// CLIENT_PUBSUB only when every kind is empty).
    pub fn pubsub_update_flag(&mut self, c: &mut Client) {
        if c.subs.as_ref().is_none_or(|s| s.total() == 0) {
            c.flags &= !cflags::PUBSUB;
            c.subs = None;
        }
    }

    /// Drop everything a disconnecting client was subscribed to.
    pub fn pubsub_forget_client(&mut self, c: &mut Client) {
        if c.subs.is_none() {
            return;
        }
        for kind in [SubKind::Channel, SubKind::Pattern, SubKind::Shard] {
            self.pubsub_unsubscribe_all(c, kind, false);
        }
        c.subs = None;
        c.flags &= !cflags::PUBSUB;
    }

    fn subscription_count(&self, c: &Client, kind: SubKind) -> usize {
        let Some(subs) = c.subs.as_ref() else { return 0 };
        match kind {
            SubKind::Shard => subs.shard_channels.len(),
            _ => subs.count(),
        }
    }

    /// A (un)subscribe confirmation. Like every push it reaches the client even under CLIENT REPLY
    /// OFF/SKIP (Redis's CLIENT_PUSHING), so it goes to the deferred pushes in those modes.
    fn push_confirmation(&mut self, c: &mut Client, word: &[u8], name: Option<&[u8]>, count: usize) {
        let resp = c.reply.resp;
        let reply = if c.reply_mode == ReplyMode::On { &mut c.reply } else { &mut self.current_pushes };
        reply.resp = resp;
        reply.push(3);
        reply.bulk(word);
        match name {
            Some(n) => reply.bulk(n),
            None => reply.null(),
        }
        reply.int(count as i64);
    }

    /// PUBLISH / SPUBLISH: deliver to channel subscribers, then (not for shard channels) to every
    /// matching pattern's subscribers. Returns the number of deliveries.
    pub fn publish(&mut self, channel: &[u8], message: &[u8], shard: bool) -> usize {
        let mut receivers = 0;
        let map = if shard { &self.pubsub.shard_channels } else { &self.pubsub.channels };
        if let Some(slots) = map.get(channel) {
            let word: &[u8] = if shard { b"smessage" } else { b"message" };
            for slot in slots.clone() {
                self.deliver(slot, &[word, channel, message]);
                receivers += 1;
            }
        }
        if !shard && !self.pubsub.patterns.is_empty() {
            let matching: Vec<(Vec<u8>, Vec<usize>)> = self
                .pubsub
                .patterns
                .iter()
                .filter(|(p, _)| crate::glob::string_match(p, channel, false))
                .map(|(p, s)| (p.clone(), s.clone()))
                .collect();
            for (pattern, slots) in matching {
                for slot in slots {
                    self.deliver(slot, &[b"pmessage", &pattern, channel, message]);
                    receivers += 1;
                }
            }
        }
        receivers
    }

    /// Write one push message to the client in `slot`. The client running the current command is
    /// not in the slab; its pushes are appended once its command has replied.
    fn deliver(&mut self, slot: usize, parts: &[&[u8]]) {
        if self.current_client.is_some_and(|(s, _)| s == slot) {
            let resp = self.current_client_resp;
            self.current_pushes.resp = resp;
            write_push(&mut self.current_pushes, parts);
            return;
        }
        let Some(Some(mut target)) = self.clients.get_mut(slot).map(Option::take) else { return };
        write_push(&mut target.reply, parts);
        self.check_output_buffer_limits(&mut target);
        if let Some(entry) = self.clients.get_mut(slot) {
            *entry = Some(target);
        }
        self.queue_write(slot);
    }
}
