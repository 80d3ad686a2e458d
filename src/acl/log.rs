//! The ACL log (ACL LOG): recent refusals and failed authentications, newest first, with similar
//! events within a minute folded into one entry with a count, as Redis's addACLLogEntry does.

use std::collections::VecDeque;

/// Events closer than this (and otherwise equal) are one entry.
const GROUPING_MAX_DELTA_MS: u64 = 60_000;
/// How many of the newest entries are searched for one to fold into.
const GROUPING_SCAN: usize = 10;

/// What was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

/// Where the refused command came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Toplevel,
    /// Queued in, or run by, a transaction.
    Multi,
    /// Called by a script.
    Lua,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Toplevel => "toplevel",
            Context::Multi => "multi",
            Context::Lua => "lua",
        }
    }
}

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    pub context: Context,
    /// The command's full name, the key or channel, or the AUTH/HELLO word as sent.
    pub object: Vec<u8>,
    pub username: Vec<u8>,
    /// When it last happened, in Unix milliseconds.
    pub ctime_ms: u64,
    /// CLIENT LIST's line for the client that caused it last.
    pub client_info: String,
}

impl Entry {
    fn same_event(&self, other: &Entry) -> bool {
        self.reason == other.reason
            && self.context == other.context
            && self.ctime_ms.abs_diff(other.ctime_ms) <= GROUPING_MAX_DELTA_MS
            && self.object == other.object
            && self.username == other.username
    }
}

#[derive(Debug, Default)]
pub struct AclLog {
    entries: VecDeque<Entry>,
}

impl AclLog {
    /// Record an event: fold it into a recent similar entry (moved to the front), or add it and
    /// drop the oldest beyond `max_len` (`acllog-max-len`).
    pub fn add(&mut self, entry: Entry, max_len: usize) {
        let similar = self.entries.iter().take(GROUPING_SCAN).position(|e| e.same_event(&entry));
        if let Some(mut existing) = similar.and_then(|i| self.entries.remove(i)) {
            existing.count += 1;
            existing.ctime_ms = entry.ctime_ms;
            existing.client_info = entry.client_info;
            self.entries.push_front(existing);
            return;
        }
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    /// Newest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(object: &str, at: u64) -> Entry {
        Entry {
            count: 1,
            reason: Reason::Command,
            context: Context::Toplevel,
            object: object.as_bytes().to_vec(),
            username: b"u".to_vec(),
            ctime_ms: at,
            client_info: format!("at={at}"),
        }
    }

    #[test]
    fn similar_events_fold_and_move_to_the_front() {
        let mut log = AclLog::default();
        log.add(entry("get", 0), 128);
        log.add(entry("set", 10), 128);
        log.add(entry("get", 20), 128);
        assert_eq!(log.len(), 2);
        let first = log.entries().next().unwrap();
        assert_eq!((first.object.as_slice(), first.count, first.client_info.as_str()), (&b"get"[..], 2, "at=20"));
        // A minute later it is a new event.
        log.add(entry("get", 20 + GROUPING_MAX_DELTA_MS + 1), 128);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn the_oldest_go_beyond_the_limit() {
        let mut log = AclLog::default();
        for i in 0..10 {
            log.add(entry(&format!("k{i}"), i), 5);
        }
        assert_eq!(log.len(), 5);
        assert_eq!(log.entries().next().unwrap().object, b"k9");
        log.reset();
        assert!(log.is_empty());
    }
}
