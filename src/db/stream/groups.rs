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
