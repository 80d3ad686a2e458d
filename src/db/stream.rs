//! `Stream`: Redis 7.0's stream type (t_stream.c's data half): entries kept in listpack nodes keyed by
//! their master ID, byte-for-byte in Redis's node layout so that RDB and DUMP write the nodes verbatim,
//! plus the stream's metadata (length, last ID, first ID, max deleted ID, entries added) and its
//! consumer groups ([`groups`]).
//!
//! # Format (one node)
//! ```text
//! master entry: count | deleted | num-fields | field_1 .. field_N | 0
//! each entry:   flags | ms-diff | seq-diff | [num-fields | field_1 value_1 ..] or [value_1 ..] | lp-count
//! ```
//! `count` is the live entries, `deleted` those flagged deleted but still in the node; an entry whose
//! fields equal the master entry's has `SAMEFIELDS` set and stores only its values. IDs are stored as
//! differences from the node's key. `lp-count` is the number of elements of the entry before it.
//!
//! This module owns the encoding and the entry-level operations (append, range, delete, trim) and knows
//! nothing of commands or replies. Nodes may come from a file: every read goes through `Option`, so a
//! corrupt node ends an iteration early instead of panicking, and [`Stream::validate_node`] is the deep
//! check loaders run before accepting one.

pub mod groups;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::collections::btree_map;

use super::listpack::{Listpack, LpValue};
use crate::numeric::{format_u64, parse_i64};
pub use groups::{Consumer, ConsumerGroup, PendingEntry};

/// Entry flag: the entry is deleted (a tombstone kept until its node goes).
pub const FLAG_DELETED: i64 = 1;
/// Entry flag: the entry's fields are the master entry's; only values are stored.
pub const FLAG_SAMEFIELDS: i64 = 2;
/// Largest listpack a node may grow to, and largest total of one entry's fields and values
/// (STREAM_LISTPACK_MAX_SIZE).
pub const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// A stream entry ID: milliseconds and a sequence number, ordered as a 128-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        *self == StreamId::MIN
    }

    /// The next ID, or `None` past the largest (streamIncrID).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                return None;
            }
            return Some(StreamId::new(self.ms + 1, 0));
        }
        Some(StreamId::new(self.ms, self.seq + 1))
    }

    /// The previous ID, or `None` before 0-0 (streamDecrID).
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                return None;
            }
            return Some(StreamId::new(self.ms - 1, u64::MAX));
        }
        Some(StreamId::new(self.ms, self.seq - 1))
    }

    /// The 16-byte big-endian form used as a node key and in RDB PEL records.
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.ms.to_be_bytes());
        out[8..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn from_be_bytes(b: &[u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId::new(u64::from_be_bytes(ms), u64::from_be_bytes(seq))
    }

    /// Appends `ms-seq`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        format_u64(out, self.ms);
        out.push(b'-');
        format_u64(out, self.seq);
    }

    pub fn to_vec(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        self.write_to(&mut out);
        out
    }

    /// Parses an ID argument (streamGenericParseIDOrReply): `-` and `+` (unless `strict`), `ms` alone
    /// (the sequence is `missing_seq`) or `ms-seq`; with `seq_star`, `ms-*` parses with the second
    /// value false ("sequence not given"). `None` is Redis's "Invalid stream ID" error.
    pub fn parse(arg: &[u8], missing_seq: u64, strict: bool, seq_star: bool) -> Option<(StreamId, bool)> {
        if arg.len() > 127 {
            return None;
        }
        match arg {
            b"-" | b"+" if strict => return None,
            b"-" => return Some((StreamId::MIN, true)),
            b"+" => return Some((StreamId::MAX, true)),
            _ => {}
        }
        // Redis works on a C string: an embedded NUL ends it.
        let arg = arg.split(|&b| b == 0).next().unwrap_or(&[]);
        let Some(dash) = arg.iter().position(|&b| b == b'-') else {
            return Some((StreamId::new(parse_ull(arg)?, missing_seq), true));
        };
        let ms = parse_ull(&arg[..dash])?;
        let rest = &arg[dash + 1..];
        if seq_star && rest == b"*" {
            return Some((StreamId::new(ms, 0), false));
        }
        Some((StreamId::new(ms, parse_ull(rest)?), true))
    }
}

/// An unsigned 64-bit integer as Redis's string2ull reads one: a canonical non-negative integer, or
/// whatever strtoull accepts in full (leading spaces, a sign, leading zeros, values past i64).
fn parse_ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut rest = s;
    while let [c, tail @ ..] = rest {
        if !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
            break;
        }
        rest = tail;
    }
    let (negative, digits) = match rest {
        [b'-', tail @ ..] => (true, tail),
        [b'+', tail @ ..] => (false, tail),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// How big a node may grow (`stream-node-max-bytes`, `stream-node-max-entries`; 0 means no limit).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: i64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }
}

/// Why an append failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the stream's last ID (or the sequence would overflow).
    IdTooSmall,
    /// The fields and values together exceed what a listpack can hold.
    TooLarge,
}

/// A trimming request (XADD MAXLEN/MINID, XTRIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimStrategy {
    MaxLen(u64),
    MinId(StreamId),
}

/// The master entry of a node, by position.
#[derive(Debug, Clone, Copy)]
struct NodeHeader {
    count: i64,
    deleted: i64,
    master_fields: usize,
    /// Position of the first master field (or of the terminator when there are none).
    master_fields_pos: usize,
    first_entry: Option<usize>,
}

fn int_at(lp: &Listpack, pos: usize) -> Option<i64> {
    lp.get(pos).as_i64()
}

fn header(lp: &Listpack) -> Option<NodeHeader> {
    let count_pos = lp.first()?;
    let count = int_at(lp, count_pos)?;
    let deleted_pos = lp.next(count_pos)?;
    let deleted = int_at(lp, deleted_pos)?;
    let nf_pos = lp.next(deleted_pos)?;
    let master_fields = usize::try_from(int_at(lp, nf_pos)?).ok()?;
    let master_fields_pos = lp.next(nf_pos)?;
    let mut p = master_fields_pos;
    for _ in 0..master_fields {
        p = lp.next(p)?;
    }
    Some(NodeHeader { count, deleted, master_fields, master_fields_pos, first_entry: lp.next(p) })
}

/// One entry of a node, by position.
#[derive(Debug, Clone, Copy)]
struct RawEntry {
    flags_pos: usize,
    flags: i64,
    id: StreamId,
    nfields: usize,
    /// Position of its first field (or value, with SAMEFIELDS).
    data_pos: usize,
    next: Option<usize>,
}

fn entry_at(lp: &Listpack, master: StreamId, hdr: &NodeHeader, p: usize) -> Option<RawEntry> {
    let flags = int_at(lp, p)?;
    let ms_pos = lp.next(p)?;
    let ms_diff = int_at(lp, ms_pos)?;
    let seq_pos = lp.next(ms_pos)?;
    let seq_diff = int_at(lp, seq_pos)?;
    let id = StreamId::new(master.ms.wrapping_add(ms_diff as u64), master.seq.wrapping_add(seq_diff as u64));
    let mut q = lp.next(seq_pos)?;
    let (nfields, elements) = if flags & FLAG_SAMEFIELDS != 0 {
        (hdr.master_fields, hdr.master_fields)
    } else {
        let n = usize::try_from(int_at(lp, q)?).ok()?;
        q = lp.next(q)?;
        (n, n.checked_mul(2)?)
    };
    let data_pos = q;
    for _ in 0..elements {
        q = lp.next(q)?;
    }
    Some(RawEntry { flags_pos: p, flags, id, nfields, data_pos, next: lp.next(q) })
}

/// Every entry of a node, deleted ones included, in order (stops early on a corrupt node).
fn node_entries(lp: &Listpack, master: StreamId, out: &mut Vec<RawEntry>) -> Option<NodeHeader> {
    out.clear();
    let hdr = header(lp)?;
    let mut p = hdr.first_entry;
    while let Some(pos) = p {
        let Some(e) = entry_at(lp, master, &hdr, pos) else { break };
        p = e.next;
        out.push(e);
    }
    Some(hdr)
}

/// A borrowed stream entry: its ID and its field/value pairs.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    pub deleted: bool,
    lp: &'a Listpack,
    raw: RawEntry,
    master_fields_pos: usize,
}

impl<'a> EntryRef<'a> {
    /// Number of field/value pairs.
    pub fn field_count(&self) -> usize {
        self.raw.nfields
    }

    /// Calls `f` with each field and value, in order.
    pub fn for_each_field(&self, mut f: impl FnMut(LpValue<'a>, LpValue<'a>)) {
        let lp = self.lp;
        let mut p = Some(self.raw.data_pos);
        if self.raw.flags & FLAG_SAMEFIELDS != 0 {
            let mut m = Some(self.master_fields_pos);
            for _ in 0..self.raw.nfields {
                let (Some(mp), Some(vp)) = (m, p) else { return };
                f(lp.get(mp), lp.get(vp));
                m = lp.next(mp);
                p = lp.next(vp);
            }
        } else {
            for _ in 0..self.raw.nfields {
                let Some(fp) = p else { return };
                let Some(vp) = lp.next(fp) else { return };
                f(lp.get(fp), lp.get(vp));
                p = lp.next(vp);
            }
        }
    }

    /// The pairs as owned bytes (AOF rewrite, tests).
    pub fn fields_vec(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.raw.nfields);
        self.for_each_field(|f, v| out.push((f.to_vec(), v.to_vec())));
        out
    }
}

/// An iterator over the entries between two IDs (inclusive), forward or reverse.
pub struct StreamRange<'a> {
    nodes: btree_map::Range<'a, StreamId, Listpack>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    with_tombstones: bool,
    /// No node after the current one can hold an entry in range.
    last_node: bool,
    node: Option<(&'a Listpack, usize)>,
    entries: Vec<RawEntry>,
    /// Next index into `entries` (forward) or one past it (reverse).
    idx: usize,
}

impl<'a> StreamRange<'a> {
    fn empty(stream: &'a Stream) -> Self {
        StreamRange {
            nodes: stream.nodes.range(StreamId::MAX..StreamId::MAX),
            start: StreamId::MAX,
            end: StreamId::MIN,
            rev: false,
            with_tombstones: false,
            last_node: true,
            node: None,
            entries: Vec::new(),
            idx: 0,
        }
    }

    /// Also yield deleted entries (streamGetEdgeID without skipping tombstones).
    pub fn with_tombstones(mut self) -> Self {
        self.with_tombstones = true;
        self
    }

    fn load_next_node(&mut self) -> bool {
        loop {
            if self.last_node {
                return false;
            }
            let next = if self.rev { self.nodes.next_back() } else { self.nodes.next() };
            let Some((&master, lp)) = next else {
                self.last_node = true;
                return false;
            };
            // Reverse: the nodes before this one hold only IDs below its key.
            if self.rev && master <= self.start {
                self.last_node = true;
            }
            let Some(hdr) = node_entries(lp, master, &mut self.entries) else { continue };
            self.node = Some((lp, hdr.master_fields_pos));
            self.idx = if self.rev { self.entries.len() } else { 0 };
            return true;
        }
    }
}

impl<'a> Iterator for StreamRange<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        loop {
            let Some((lp, master_fields_pos)) = self.node else {
                if !self.load_next_node() {
                    return None;
                }
                continue;
            };
            let raw = if self.rev {
                if self.idx == 0 {
                    self.node = None;
                    continue;
                }
                self.idx -= 1;
                self.entries[self.idx]
            } else {
                let Some(&raw) = self.entries.get(self.idx) else {
                    self.node = None;
                    continue;
                };
                self.idx += 1;
                raw
            };
            if self.rev {
                if raw.id < self.start {
                    self.last_node = true;
                    self.node = None;
                    return None;
                }
                if raw.id > self.end {
                    continue;
                }
            } else {
                if raw.id > self.end {
                    self.last_node = true;
                    self.node = None;
                    return None;
                }
                if raw.id < self.start {
                    continue;
                }
            }
            let deleted = raw.flags & FLAG_DELETED != 0;
            if deleted && !self.with_tombstones {
                continue;
            }
            return Some(EntryRef { id: raw.id, deleted, lp, raw, master_fields_pos });
        }
    }
}

/// A stream: its nodes, metadata and consumer groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// Listpack nodes by master ID (Redis's rax, ordered by the 128-bit big-endian key).
    pub nodes: BTreeMap<StreamId, Listpack>,
    /// Live entries.
    pub length: u64,
    /// The largest ID ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID, 0-0 when empty.
    pub first_id: StreamId,
    /// The largest ID ever deleted with XDEL.
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name.
    pub groups: BTreeMap<Vec<u8>, ConsumerGroup>,
}

impl Stream {
    pub fn new() -> Self {
        Stream::default()
    }

    /// Entries from `start` to `end` inclusive, in ID order or reversed.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> StreamRange<'_> {
        if start > end || self.nodes.is_empty() {
            return StreamRange::empty(self);
        }
        let nodes = if rev {
            self.nodes.range(..=end)
        } else {
            // The node holding `start` is keyed at or below it.
            let first = self.nodes.range(..=start).next_back().map_or(start, |(k, _)| *k);
            self.nodes.range(first..=end)
        };
        StreamRange {
            nodes,
            start,
            end,
            rev,
            with_tombstones: false,
            last_node: false,
            node: None,
            entries: Vec::new(),
            idx: 0,
        }
    }

    /// Every live entry, in order.
    pub fn iter(&self) -> StreamRange<'_> {
        self.range(StreamId::MIN, StreamId::MAX, false)
    }

    /// The first (or last) entry's ID, tombstones included or not; MAX (first) or MIN (last) when
    /// there is none (streamGetEdgeID).
    pub fn edge_id(&self, first: bool, skip_tombstones: bool) -> StreamId {
        let mut it = self.range(StreamId::MIN, StreamId::MAX, !first);
        if !skip_tombstones {
            it = it.with_tombstones();
        }
        match it.next() {
            Some(e) => e.id,
            None if first => StreamId::MAX,
            None => StreamId::MIN,
        }
    }

    /// The last live entry's ID (streamLastValidID).
    pub fn last_valid_id(&self) -> StreamId {
        self.edge_id(false, true)
    }

    /// Whether a live entry has this ID.
    pub fn contains(&self, id: StreamId) -> bool {
        self.range(id, id, false).next().is_some()
    }

    /// The ID XADD would give: `given` with or without its sequence, or the next after the last ID
    /// at `now_ms` (streamAppendItem's ID rules).
    pub fn next_id(&self, given: Option<(StreamId, bool)>, now_ms: u64) -> Result<StreamId, AppendError> {
        let last = self.last_id;
        let id = match given {
            Some((id, true)) => id,
            Some((id, false)) => {
                if last.ms == id.ms {
                    if last.seq == u64::MAX {
                        return Err(AppendError::IdTooSmall);
                    }
                    StreamId::new(last.ms, last.seq + 1)
                } else {
                    id
                }
            }
            None => {
                if now_ms > last.ms {
                    StreamId::new(now_ms, 0)
                } else {
                    last.incr().unwrap_or(StreamId::MIN)
                }
            }
        };
        if id <= last {
            return Err(AppendError::IdTooSmall);
        }
        Ok(id)
    }

    /// Appends an entry with `id` (already checked by [`Stream::next_id`]) and the flat
    /// field, value, ... list `pairs`.
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) -> Result<(), AppendError> {
        let total: usize = pairs.iter().map(|p| p.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let numfields = pairs.len() / 2;
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let mut tail = self.nodes.last_entry();
        if let Some(node) = &mut tail {
            let lp = node.get();
            let full = lp.bytes_len() + total >= max_bytes
                || (limits.max_entries > 0
                    && header(lp).is_some_and(|h| h.count.saturating_add(h.deleted) >= limits.max_entries));
            if full {
                tail = None;
            }
        }
        let mut flags = 0;
        let master = match tail {
            None => {
                let mut lp = Listpack::new();
                lp.push_back_int(1);
                lp.push_back_int(0);
                lp.push_back_int(numfields as i64);
                for f in pairs.iter().step_by(2) {
                    lp.push_back(f);
                }
                lp.push_back_int(0);
                self.nodes.insert(id, lp);
                flags |= FLAG_SAMEFIELDS;
                id
            }
            Some(mut node) => {
                let master = *node.key();
                let lp = node.get_mut();
                let hdr = header(lp).ok_or(AppendError::TooLarge)?;
                if let Some(p) = lp.first() {
                    lp.replace_int(p, hdr.count + 1);
                }
                if hdr.master_fields == numfields {
                    let mut p = Some(hdr.master_fields_pos);
                    let same = pairs.iter().step_by(2).all(|f| match p {
                        Some(pos) => {
                            let eq = lp.get(pos).eq_bytes(f);
                            p = lp.next(pos);
                            eq
                        }
                        None => false,
                    });
                    if same {
                        flags |= FLAG_SAMEFIELDS;
                    }
                }
                master
            }
        };
        let Some(lp) = self.nodes.get_mut(&master) else { return Err(AppendError::TooLarge) };
        lp.push_back_int(flags);
        lp.push_back_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.push_back_int(id.seq.wrapping_sub(master.seq) as i64);
        let same = flags & FLAG_SAMEFIELDS != 0;
        if !same {
            lp.push_back_int(numfields as i64);
        }
        for pair in pairs.chunks_exact(2) {
            if !same {
                lp.push_back(pair[0]);
            }
            lp.push_back(pair[1]);
        }
        let lp_count = 3 + numfields + if same { 0 } else { numfields + 1 };
        lp.push_back_int(lp_count as i64);
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// Marks the live entry `id` deleted, dropping its node when it was the node's last live entry
    /// (streamIteratorRemoveEntry). Leaves `first_id` and `max_deleted_entry_id` to the caller.
    pub fn remove_entry(&mut self, id: StreamId) -> bool {
        let Some((&master, lp)) = self.nodes.range_mut(..=id).next_back() else { return false };
        let mut entries = Vec::new();
        let Some(hdr) = node_entries(lp, master, &mut entries) else { return false };
        let Some(e) = entries.iter().find(|e| e.id == id && e.flags & FLAG_DELETED == 0) else { return false };
        if hdr.count <= 1 {
            self.nodes.remove(&master);
        } else {
            lp.replace_int(e.flags_pos, e.flags | FLAG_DELETED);
            set_node_counts(lp, hdr.count - 1, hdr.deleted + 1);
        }
        self.length = self.length.saturating_sub(1);
        true
    }

    /// XDEL: deletes each ID that names a live entry, keeping `first_id` and `max_deleted_entry_id`
    /// as Redis does. Returns how many were deleted.
    pub fn delete_ids(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_entry = false;
        for &id in ids {
            if self.remove_entry(id) {
                if id == self.first_id {
                    first_entry = true;
                }
                if id > self.max_deleted_entry_id {
                    self.max_deleted_entry_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_entry {
                self.first_id = self.edge_id(true, true);
            }
        }
        deleted
    }

    /// Trims by MAXLEN or MINID (streamTrim): whole nodes go first; unless `approx`, entries of the
    /// first remaining node are then flagged deleted. `limit` (0 = none) caps the entries removed.
    /// Returns how many entries were removed.
    pub fn trim(&mut self, strategy: TrimStrategy, approx: bool, limit: i64) -> i64 {
        let mut deleted: i64 = 0;
        let mut entries = Vec::new();
        while let Some((&master, lp)) = self.nodes.first_key_value() {
            if let TrimStrategy::MaxLen(maxlen) = strategy
                && self.length <= maxlen
            {
                break;
            }
            let Some(hdr) = node_entries(lp, master, &mut entries) else { break };
            let count = hdr.count;
            if limit > 0 && deleted + count > limit {
                break;
            }
            let remove_node = match strategy {
                TrimStrategy::MaxLen(maxlen) => self.length.saturating_sub(count.max(0) as u64) >= maxlen,
                TrimStrategy::MinId(min) => entries.last().is_some_and(|e| e.id < min),
            };
            if remove_node {
                self.nodes.remove(&master);
                self.length = self.length.saturating_sub(count.max(0) as u64);
                deleted += count;
                continue;
            }
            if approx {
                break;
            }
            let Some(lp) = self.nodes.get_mut(&master) else { break };
            let mut from_node = 0;
            for e in &entries {
                let stop = match strategy {
                    TrimStrategy::MaxLen(maxlen) => self.length <= maxlen,
                    TrimStrategy::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                if e.flags & FLAG_DELETED == 0 {
                    // Same encoded size: flag values 0..3 are one-byte integers, positions hold.
                    lp.replace_int(e.flags_pos, e.flags | FLAG_DELETED);
                    from_node += 1;
                    self.length = self.length.saturating_sub(1);
                }
            }
            deleted += from_node;
            set_node_counts(lp, count - from_node, hdr.deleted + from_node);
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// Bytes held by the nodes and groups, for MEMORY USAGE and eviction accounting.
    pub fn heap_size(&self) -> usize {
        let nodes: usize = self.nodes.values().map(|lp| lp.heap_size() + 16 + 32).sum();
        let groups: usize = self.groups.iter().map(|(name, g)| name.len() + g.heap_size()).sum();
        std::mem::size_of::<Stream>() + nodes + groups
    }

    /// Deep check of a node read from a file (streamValidateListpackIntegrity): the master entry
    /// with its zero terminator, then exactly `count + deleted` entries, each with integer flags and
    /// ID deltas and an lp-count matching its shape, and nothing after them.
    ///
    /// Stricter than Redis on one point: `count` and `deleted` must each be non-negative (Redis only
    /// needs their sum to match); node arithmetic in append and trim relies on it.
    pub fn validate_node(lp: &Listpack) -> bool {
        fn check(lp: &Listpack) -> Option<()> {
            let hdr = header(lp)?;
            if hdr.count < 0 || hdr.deleted < 0 {
                return None;
            }
            let mut p = hdr.master_fields_pos;
            for _ in 0..hdr.master_fields {
                p = lp.next(p)?;
            }
            if int_at(lp, p)? != 0 {
                return None;
            }
            let mut pos = hdr.first_entry;
            let total = hdr.count.checked_add(hdr.deleted)?;
            for _ in 0..total {
                let e = entry_at(lp, StreamId::MIN, &hdr, pos?)?;
                let mut q = e.data_pos;
                let same = e.flags & FLAG_SAMEFIELDS != 0;
                for _ in 0..if same { e.nfields } else { e.nfields * 2 } {
                    q = lp.next(q)?;
                }
                let expected = 3 + e.nfields + if same { 0 } else { e.nfields + 1 };
                if int_at(lp, q)? != expected as i64 {
                    return None;
                }
                pos = e.next;
            }
            pos.is_none().then_some(())
        }
        check(lp).is_some()
    }
}

/// Rewrites a node's live and deleted counts in its master entry.
fn set_node_counts(lp: &mut Listpack, count: i64, deleted: i64) {
    if let Some(p) = lp.first() {
        lp.replace_int(p, count);
        if let Some(d) = lp.next(p) {
            lp.replace_int(d, deleted);
        }
    }
}
