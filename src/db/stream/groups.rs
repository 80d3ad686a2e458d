//! Consumer groups of a stream: each group's last delivered ID and entries-read counter, its pending
//! entries list (PEL: delivered but not acknowledged, with owner, delivery time and count), and its
//! consumers, each with the IDs it owns.
//!
//! Redis shares one NACK between the group's PEL and its owner's; here the group's PEL holds the entry
//! (with the owner's name) and the consumer's PEL only its IDs. Every method keeps the two in step, so
//! an ID is in a consumer's set exactly when the group's entry names that consumer.

use std::collections::{BTreeMap, BTreeSet};

use super::StreamId;

/// Redis's SCG_INVALID_ENTRIES_READ: the group's entries-read counter is unknown.
pub const ENTRIES_READ_INVALID: i64 = -1;

/// A delivered, not yet acknowledged entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The consumer that owns it.
    pub consumer: Vec<u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consumer {
    /// Unix ms of its last interaction (XINFO CONSUMERS idle).
    pub seen_time: i64,
    /// The IDs it owns in the group's PEL.
    pub pel: BTreeSet<StreamId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, PendingEntry>,
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl ConsumerGroup {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        ConsumerGroup { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() }
    }

    /// Creates the consumer unless it exists; returns whether it was created.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(name.to_vec(), Consumer { seen_time: now_ms, pel: BTreeSet::new() });
        true
    }

    /// Looks a consumer up and marks it seen (streamLookupConsumer without SLC_NO_REFRESH).
    pub fn touch_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        match self.consumers.get_mut(name) {
            Some(c) => {
                c.seen_time = now_ms;
                true
            }
            None => false,
        }
    }

    /// Deletes a consumer and its pending entries; returns how many it had, or `None` when it did
    /// not exist.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// Records a delivery of `id` to `consumer` (which must exist): a new pending entry, or an
    /// existing one moved to it with its time and count reset, as XREADGROUP does.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now_ms: i64) {
        if let Some(old) = self.pel.get(&id)
            && let Some(c) = self.consumers.get_mut(&old.consumer)
        {
            c.pel.remove(&id);
        }
        self.pel.insert(id, PendingEntry { delivery_time: now_ms, delivery_count: 1, consumer: consumer.to_vec() });
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Moves the pending entry `id` to `consumer` (which must exist), keeping its time and count
    /// for the caller to set (XCLAIM, XAUTOCLAIM).
    pub fn reassign(&mut self, id: StreamId, consumer: &[u8]) {
        let Some(entry) = self.pel.get_mut(&id) else { return };
        if entry.consumer.as_slice() != consumer {
            if let Some(c) = self.consumers.get_mut(&entry.consumer) {
                c.pel.remove(&id);
            }
            entry.consumer = consumer.to_vec();
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// Acknowledges `id`; returns whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(entry) = self.pel.remove(&id) else { return false };
        if let Some(c) = self.consumers.get_mut(&entry.consumer) {
            c.pel.remove(&id);
        }
        true
    }

    pub fn heap_size(&self) -> usize {
        let pel: usize = self.pel.values().map(|p| 16 + 32 + p.consumer.len()).sum();
        let consumers: usize = self.consumers.iter().map(|(n, c)| n.len() + 48 + c.pel.len() * 24).sum();
        std::mem::size_of::<ConsumerGroup>() + pel + consumers
    }
}

/// The group arithmetic of Redis 7.0 that needs the stream's metadata: tombstones, the distance of
/// an ID from the first entry ever added, and a group's lag.
impl super::Stream {
    /// Whether a deleted entry may lie between `start` and `end` (streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() || self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// How many entries were added up to and including `id`, when that can be known
    /// (streamEstimateDistanceFromFirstEverEntry); [`ENTRIES_READ_INVALID`] otherwise.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return added;
        }
        if id == self.last_id {
            return added;
        } else if id > self.last_id {
            return ENTRIES_READ_INVALID;
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            if id < self.first_id {
                return added - self.length as i64;
            } else if id == self.first_id {
                return added - self.length as i64 + 1;
            }
        }
        ENTRIES_READ_INVALID
    }

    /// A group's lag: entries added but not yet read by it, `None` when unknown
    /// (streamReplyWithCGLag).
    pub fn group_lag(&self, g: &ConsumerGroup) -> Option<i64> {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != ENTRIES_READ_INVALID && !self.range_has_tombstones(g.last_id, StreamId::MAX) {
            return Some(added - g.entries_read);
        }
        match self.estimate_distance(g.last_id) {
            ENTRIES_READ_INVALID => None,
            read => Some(added - read),
        }
    }

    /// A group's entries-read counter after it is handed entry `id` (streamReplyWithRange's
    /// bookkeeping): counted on when exact, estimated otherwise.
    pub fn entries_read_after(&self, entries_read: i64, id: StreamId) -> i64 {
        if entries_read != ENTRIES_READ_INVALID && !self.range_has_tombstones(id, StreamId::MAX) {
            entries_read + 1
        } else if self.entries_added > 0 {
            self.estimate_distance(id)
        } else {
            entries_read
        }
    }
}
