//! Client-side caching (Redis's tracking.c): which clients read which keys (default mode) or
//! watch which key prefixes (BCAST mode), and the invalidation messages sent when those keys
//! change or the dataset is flushed.
//!
//! The table holds key names and client ids, never values, and is global across databases as in
//! Redis. An id whose client is gone or stopped tracking is skipped and forgotten at the key's
//! next invalidation (ids are never reused). Invalidating never fails or delays the writer: it
//! only appends to the reader's output buffer (the running client's own messages follow its
//! reply, like its pub/sub pushes).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::client::Client;
use crate::command::Args;
use crate::resp::reply::ReplyBuf;
use crate::server::Server;

/// The channel a RESP2 client subscribes to when it is the target of another client's REDIRECT.
const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// A key changed under a broadcast prefix, with the id of the client that changed it.
type ChangedKey = (Vec<u8>, u64);

/// One client's tracking options (CLIENT TRACKING ON ...).
#[derive(Debug, Default, Clone)]
pub struct ClientTracking {
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// The client that receives this one's invalidations (REDIRECT id).
    pub redirect: Option<u64>,
    /// BCAST prefixes ("" when none was given: every key).
    pub prefixes: Vec<Vec<u8>>,
    /// CLIENT CACHING yes (OPTIN) or no (OPTOUT) was given for the next command.
    pub caching: bool,
    /// The redirect target disconnected.
    pub broken_redirect: bool,
}

impl ClientTracking {
    /// Whether this client's reads are remembered now: not in BCAST mode (its prefixes say what
    /// it hears), and under OPTIN only after CLIENT CACHING yes, under OPTOUT unless CACHING no.
    fn remembers_reads(&self) -> bool {
        let skipped_now = if self.optin { !self.caching } else { self.optout && self.caching };
        !self.bcast && !skipped_now
    }
}

/// Who follows one BCAST prefix, and the keys under it changed since the last broadcast.
#[derive(Debug, Default)]
struct Prefix {
    clients: HashSet<u64>,
    /// Changed key → the client that changed it (for NOLOOP), 0 for the server itself.
    changed: BTreeMap<Vec<u8>, u64>,
}

/// The server's side of tracking.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Key → ids of the clients that read it since its last invalidation.
    keys: HashMap<Vec<u8>, HashSet<u64>>,
    /// Sum of the id sets' sizes (INFO tracking_total_items).
    items: usize,
    prefixes: BTreeMap<Vec<u8>, Prefix>,
    /// Clients with tracking on (INFO tracking_clients).
    pub clients: usize,
    /// Consecutive times the table was found over tracking-table-max-keys: each pass works
    /// harder to shrink it.
    over_limit_passes: usize,
}

impl Tracking {
    pub fn total_keys(&self) -> usize {
        self.keys.len()
    }

    pub fn total_items(&self) -> usize {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
}

/// The reason a CLIENT TRACKING ON request is refused, or None (Redis's checks and texts).
pub fn refusal(current: Option<&ClientTracking>, req: &ClientTracking) -> Option<String> {
    if !req.bcast && !req.prefixes.is_empty() {
        return Some("PREFIX option requires BCAST mode to be enabled".into());
    }
    if let Some(cur) = current
        && cur.bcast != req.bcast
    {
        return Some("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if req.bcast && (req.optin || req.optout) {
        return Some("OPTIN and OPTOUT are not compatible with BCAST".into());
    }
    if req.optin && req.optout {
        return Some("You can't specify both OPTIN mode and OPTOUT mode".into());
    }
    if let Some(cur) = current
        && ((req.optin && cur.optout) || (req.optout && cur.optin))
    {
        return Some("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.".into());
    }
    if req.bcast {
        // New prefixes may not overlap the client's existing ones, nor each other.
        let existing: &[Vec<u8>] = current.map_or(&[], |c| &c.prefixes);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        for (i, p) in req.prefixes.iter().enumerate() {
            if let Some(other) = existing.iter().find(|e| overlap(e, p)) {
                return Some(format!(
                    "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    text(p),
                    text(other)
                ));
            }
            if let Some(other) = req.prefixes[i + 1..].iter().find(|q| overlap(q, p)) {
                return Some(format!(
                    "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    text(p),
                    text(other)
                ));
            }
        }
    }
    None
}

/// One prefix starts with the other (the same key would be announced twice).
fn overlap(a: &[u8], b: &[u8]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Append one invalidation to `out`, as the target's protocol allows: a RESP3 push, or a message
/// on `__redis__:invalidate` for a subscribed RESP2 redirect target. `keys` None is a flush
/// (null), written in the protocol of the client that tracked (`null_resp`), as Redis does.
/// Returns false when nothing can be sent (a RESP2 client without redirection).
fn write_invalidation(out: &mut ReplyBuf, redirected_pubsub: bool, keys: Option<&[&[u8]]>, null_resp: u8) -> bool {
    if out.resp >= 3 {
        out.push(2);
        out.bulk(b"invalidate");
    } else if redirected_pubsub {
        out.push(3);
        out.bulk(b"message");
        out.bulk(INVALIDATE_CHANNEL);
    } else {
        return false;
    }
    match keys {
        Some(keys) => {
            out.array(keys.len());
            for k in keys {
                out.bulk(k);
            }
        }
        None => out.buf.extend_from_slice(if null_resp >= 3 { b"_\r\n" } else { b"$-1\r\n" }),
    }
    true
}

/// Why an invalidation is sent, which decides who may receive it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// A key read in default mode changed; `writer` changed it (0: the server itself).
    Key { writer: u64 },
    /// Keys under a BCAST prefix changed (NOLOOP already applied per key).
    Broadcast,
    /// The dataset was flushed: every tracking client hears it.
    Flush,
}

impl Server {
    /// CLIENT TRACKING ON with checked options: (re)enable tracking for `c`. BCAST prefixes add
    /// to the ones the client already follows.
    pub fn tracking_enable(&mut self, c: &mut Client, mut options: ClientTracking) {
        let previous = c.tracking.take();
        match &previous {
            None => self.tracking.clients += 1,
            // CLIENT CACHING given before a re-enable still applies to the next command.
            Some(p) => options.caching = p.caching,
        }
        if options.bcast {
            if options.prefixes.is_empty() {
                options.prefixes.push(Vec::new());
            }
            let mut all = previous.map(|t| t.prefixes).unwrap_or_default();
            for p in &options.prefixes {
                self.tracking.prefixes.entry(p.clone()).or_default().clients.insert(c.id);
                if !all.contains(p) {
                    all.push(p.clone());
                }
            }
            options.prefixes = all;
        }
        c.tracking = Some(Box::new(options));
    }

    /// CLIENT TRACKING OFF, RESET, or the client leaving.
    pub fn tracking_disable(&mut self, c: &mut Client) {
        let Some(t) = c.tracking.take() else { return };
        self.tracking.clients = self.tracking.clients.saturating_sub(1);
        for p in &t.prefixes {
            if let Some(prefix) = self.tracking.prefixes.get_mut(p) {
                prefix.clients.remove(&c.id);
                if prefix.clients.is_empty() {
                    self.tracking.prefixes.remove(p);
                }
            }
        }
    }

    /// After a read-only command of a tracking client (default mode): remember the keys it read,
    /// unless OPTIN without CLIENT CACHING yes, or OPTOUT with CLIENT CACHING no.
    pub fn tracking_remember_keys(&mut self, c: &Client, spec: &crate::command::CommandSpec, args: &Args) {
        let Some(t) = c.tracking.as_deref() else { return };
        if !t.remembers_reads() {
            return;
        }
        for pos in spec.keys_in(args) {
            self.tracking_remember_key(c.id, args.get(pos));
        }
    }

    /// A script run by the current client read something: its declared keys count as read by
    /// that client (Redis does not look inside the script for which keys it read).
    pub fn tracking_remember_script_keys(&mut self, keys: &[Vec<u8>]) {
        let Some((_, id)) = self.current_client else { return };
        if !self.current_tracking.as_deref().is_some_and(ClientTracking::remembers_reads) {
            return;
        }
        for key in keys {
            self.tracking_remember_key(id, key);
        }
    }

    fn tracking_remember_key(&mut self, id: u64, key: &[u8]) {
        let ids = self.tracking.keys.entry(key.to_vec()).or_default();
        if ids.insert(id) {
            self.tracking.items += 1;
        }
    }

    /// A key changed: tell its readers (once: they must read it again to hear of it again) and
    /// note it for the BCAST prefixes it falls under. `writer` is the client that changed it (0
    /// when the server expired or evicted it); the last writer of a key before the broadcast is
    /// the one a NOLOOP BCAST client is compared with. A reader in default mode is compared with
    /// the running client instead, whatever removed the key, as Redis does.
    pub fn tracking_invalidate_key(&mut self, key: &[u8], writer: u64) {
        for (prefix, state) in self.tracking.prefixes.iter_mut() {
            if key.starts_with(prefix) {
                state.changed.insert(key.to_vec(), writer);
            }
        }
        self.invalidate_readers(key);
    }

    /// Tell the clients that read `key` it changed, and forget them.
    fn invalidate_readers(&mut self, key: &[u8]) {
        let Some(ids) = self.tracking.keys.remove(key) else { return };
        self.tracking.items = self.tracking.items.saturating_sub(ids.len());
        let running = self.current_client.map_or(0, |(_, id)| id);
        for id in ids {
            self.send_invalidation(id, Some(&[key]), Cause::Key { writer: running });
        }
    }

    /// Keep the table within tracking-table-max-keys: invalidate arbitrary keys, at most 100
    /// per pass the table has stayed over the limit (Redis's effort), stopping once under it.
    pub fn tracking_limit_keys(&mut self) {
        let max = self.config.tracking_table_max_keys();
        if max == 0 || self.tracking.keys.len() <= max {
            self.tracking.over_limit_passes = 0;
            return;
        }
        let effort = 100 * (self.tracking.over_limit_passes + 1);
        let victims: Vec<Vec<u8>> = self.tracking.keys.keys().take(effort).cloned().collect();
        for key in victims {
            self.invalidate_readers(&key);
            if self.tracking.keys.len() <= max {
                self.tracking.over_limit_passes = 0;
                return;
            }
        }
        self.tracking.over_limit_passes += 1;
    }

    /// FLUSHDB, FLUSHALL or a new dataset: every tracking client hears a null invalidation, and
    /// the table starts over.
    pub fn tracking_invalidate_all(&mut self) {
        if self.tracking.clients > 0 {
            let mut ids: Vec<u64> = self
                .clients
                .iter()
                .filter_map(|(_, c)| c.as_ref())
                .filter(|c| c.tracking.is_some())
                .map(|c| c.id)
                .collect();
            if let Some((_, id)) = self.current_client
                && self.current_tracking.is_some()
            {
                ids.push(id);
            }
            for id in ids {
                self.send_invalidation(id, None, Cause::Flush);
            }
        }
        self.tracking.keys.clear();
        self.tracking.items = 0;
    }

    /// Before the loop sleeps: one message per BCAST client with the keys changed under its
    /// prefixes since the last time (a NOLOOP client is not told of its own changes).
    pub fn tracking_broadcast(&mut self) {
        if self.tracking.prefixes.values().all(|p| p.changed.is_empty()) {
            return;
        }
        let mut messages: Vec<(u64, Vec<ChangedKey>)> = Vec::new();
        for state in self.tracking.prefixes.values_mut() {
            if state.changed.is_empty() {
                continue;
            }
            let changed: Vec<ChangedKey> = std::mem::take(&mut state.changed).into_iter().collect();
            for &id in &state.clients {
                messages.push((id, changed.clone()));
            }
        }
        for (id, changed) in messages {
            let noloop = self.with_client_output(id, |out| out.tracking.as_ref().is_some_and(|t| t.noloop));
            let keys: Vec<&[u8]> = changed
                .iter()
                .filter(|(_, writer)| !(noloop == Some(true) && *writer == id))
                .map(|(k, _)| k.as_slice())
                .collect();
            if !keys.is_empty() {
                self.send_invalidation(id, Some(&keys), Cause::Broadcast);
            }
        }
    }

    /// Send one invalidation to the tracking client `id` (or to its redirect target).
    fn send_invalidation(&mut self, id: u64, keys: Option<&[&[u8]]>, cause: Cause) {
        // One look at the tracking client decides: skip, write to it, or go to its target (a
        // flush's null is written in the tracking client's protocol, as Redis does).
        let redirect = self.with_client_output(id, |out| {
            let t = out.tracking.as_deref()?;
            let skipped = match cause {
                Cause::Key { writer } => t.bcast || (t.noloop && writer == id),
                Cause::Broadcast => !t.bcast,
                Cause::Flush => false,
            };
            if skipped {
                return None;
            }
            let Some(target) = t.redirect else {
                let resp = out.reply.resp;
                write_invalidation(out.reply, false, keys, resp);
                return None;
            };
            Some((target, out.reply.resp))
        });
        let Some((target, null_resp)) = redirect.flatten() else { return };
        let sent = self.with_client_output(target, |out| {
            write_invalidation(out.reply, out.subscribed_to_invalidate, keys, null_resp)
        });
        if sent.is_none() {
            // The target is gone: say so on the tracking connection itself (RESP3 only).
            self.with_client_output(id, |out| {
                if let Some(t) = out.tracking.as_deref_mut() {
                    t.broken_redirect = true;
                }
                if out.reply.resp >= 3 {
                    out.reply.push(2);
                    out.reply.bulk(b"tracking-redir-broken");
                    out.reply.int(target as i64);
                }
            });
        }
    }

    /// Run `f` (work done for client `c` before its command, such as evictions) with `c` as the
    /// running client: invalidations for it land in its reply now, ahead of the command's reply.
    pub fn as_running_client<R>(&mut self, c: &mut Client, f: impl FnOnce(&mut Self) -> R) -> R {
        let prev_current = self.current_client.replace((c.slot, c.id));
        let prev_tracking = std::mem::replace(&mut self.current_tracking, c.tracking.take());
        let prev_resp = std::mem::replace(&mut self.current_client_resp, c.reply.resp);
        let pushes_before = self.current_pushes.buf.len();
        let result = f(self);
        c.tracking = std::mem::replace(&mut self.current_tracking, prev_tracking);
        c.reply.buf.extend(self.current_pushes.buf.drain(pushes_before..));
        self.current_client = prev_current;
        self.current_client_resp = prev_resp;
        result
    }

    /// Run `f` on the output of the client `id`: a connected client's reply buffer (queued for
    /// writing afterwards), or, for the client running the current command, the pushes that follow
    /// its reply. None when no such client is connected.
    fn with_client_output<R>(&mut self, id: u64, f: impl FnOnce(ClientOutput<'_>) -> R) -> Option<R> {
        if self.current_client.is_some_and(|(_, cur)| cur == id) {
            self.current_pushes.resp = self.current_client_resp;
            let out = ClientOutput {
                reply: &mut self.current_pushes,
                tracking: &mut self.current_tracking,
                subscribed_to_invalidate: false,
            };
            return Some(f(out));
        }
        let slot = *self.client_slots.get(&id)?;
        let mut c = self.clients.get_mut(slot).and_then(Option::take)?;
        let before = c.reply.buf.len();
        let subscribed = c.subs.as_ref().is_some_and(|s| s.channels.contains(INVALIDATE_CHANNEL));
        let result =
            f(ClientOutput { reply: &mut c.reply, tracking: &mut c.tracking, subscribed_to_invalidate: subscribed });
        let wrote = c.reply.buf.len() != before;
        if wrote {
            self.check_output_buffer_limits(&mut c);
        }
        if let Some(entry) = self.clients.get_mut(slot) {
            *entry = Some(c);
        }
        if wrote {
            self.queue_write(slot);
        }
        Some(result)
    }
}

/// What sending to one client may touch.
struct ClientOutput<'a> {
    reply: &'a mut ReplyBuf,
    tracking: &'a mut Option<Box<ClientTracking>>,
    /// A RESP2 client subscribed to `__redis__:invalidate` (a REDIRECT target).
    subscribed_to_invalidate: bool,
}
