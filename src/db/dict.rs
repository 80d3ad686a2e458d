//! `Dict`: the chained hash table behind every keyspace, shaped like Redis's dict so that its guarantees
//! carry over: power-of-two tables, incremental rehashing (a growing table never stops the world), and
//! SCAN's reverse-binary cursor, which visits every entry present for the whole iteration exactly once
//! or more, even while the table grows or shrinks between calls.
//!
//! It owns keys and values and nothing else; it knows nothing about expiry or types. Every operation does
//! a bounded amount of rehash work, so no single call is proportional to the table size except `clear`
//! and iteration.

use std::hash::{BuildHasher, RandomState};

/// A key as stored: an owned byte string, inline when short.
pub type Key = super::bytes::CompactBytes;

struct Entry<V> {
    key: Key,
    val: V,
    next: Option<Box<Entry<V>>>,
}

type Bucket<V> = Option<Box<Entry<V>>>;

struct Table<V> {
    buckets: Vec<Bucket<V>>,
    used: usize,
}

impl<V> Table<V> {
    fn empty() -> Self {
        Table { buckets: Vec::new(), used: 0 }
    }

    fn with_size(size: usize) -> Self {
        let mut buckets = Vec::with_capacity(size);
        buckets.resize_with(size, || None);
        Table { buckets, used: 0 }
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

const INITIAL_SIZE: usize = 4;
/// Past this load factor the table grows even when resizing is discouraged (a fork is running).
const FORCE_RESIZE_RATIO: usize = 5;

/// False while a child process shares our pages: resizing any table would copy them all (Redis's
/// global dict_can_resize). Tables still grow past `FORCE_RESIZE_RATIO` elements per bucket.
static RESIZE_ALLOWED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Allow or forbid table resizes process-wide (off while a fork child runs).
pub fn set_resize_allowed(allowed: bool) {
    RESIZE_ALLOWED.store(allowed, std::sync::atomic::Ordering::Relaxed);
}

fn resize_allowed() -> bool {
    RESIZE_ALLOWED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A hash table from byte-string keys to `V`.
pub struct Dict<V> {
    t: [Table<V>; 2],
    /// Next bucket of `t[0]` to move into `t[1]`, while rehashing.
    rehash_idx: Option<usize>,
    hasher: RandomState,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        Dict { t: [Table::empty(), Table::empty()], rehash_idx: None, hasher: RandomState::new() }
    }

    pub fn len(&self) -> usize {
        self.t[0].used + self.t[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of buckets across both tables (INFO and DEBUG HTSTATS-style figures).
    pub fn slots(&self) -> usize {
        self.t[0].buckets.len() + self.t[1].buckets.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    fn hash(&self, key: &[u8]) -> usize {
        self.hasher.hash_one(key) as usize
    }

    /// Move up to `n` buckets to the new table; returns true while more remain.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else { return false };
        let mut empty_visits = n * 10;
        let mut moved = 0;
        while moved < n && self.t[0].used > 0 {
            while self.t[0].buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = self.t[0].buckets[idx].take();
            while let Some(mut e) = chain {
                chain = e.next.take();
                let h = self.hash(&e.key) & self.t[1].mask();
                e.next = self.t[1].buckets[h].take();
                self.t[1].buckets[h] = Some(e);
                self.t[0].used -= 1;
                self.t[1].used += 1;
            }
            idx += 1;
            moved += 1;
        }
        if self.t[0].used == 0 {
            self.t[0] = std::mem::replace(&mut self.t[1], Table::empty());
            self.rehash_idx = None;
            return false;
        }
        self.rehash_idx = Some(idx);
        true
    }

    /// Rehash for about `budget` of wall time (the cron's incremental rehash).
    pub fn rehash_for(&mut self, budget: std::time::Duration) {
        let start = std::time::Instant::now();
        while self.rehash(100) {
            if start.elapsed() >= budget {
                break;
            }
        }
    }

    fn step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(1);
        }
    }

    fn start_resize(&mut self, size: usize) {
        let size = size.max(INITIAL_SIZE).next_power_of_two();
        if self.is_rehashing() || size == self.t[0].buckets.len() {
            return;
        }
        if self.t[0].buckets.is_empty() {
            self.t[0] = Table::with_size(size);
            return;
        }
        self.t[1] = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    /// Size an empty table for `n` entries up front (RDB loading knows the count from RESIZEDB), so
    /// a load does not rehash its way up.
    pub fn reserve_for(&mut self, n: usize) {
        if self.is_empty() && !self.is_rehashing() && n > self.t[0].buckets.len() {
            self.t[0] = Table::empty();
            self.start_resize(n);
        }
    }

    fn grow_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.t[0].buckets.len();
        if size == 0 {
            self.start_resize(INITIAL_SIZE);
        } else if self.t[0].used >= size && (resize_allowed() || self.t[0].used / size > FORCE_RESIZE_RATIO) {
            self.start_resize(self.t[0].used + 1);
        }
    }

    /// Shrink when under 10% full (called from the cron, like Redis's tryResizeHashTables).
    pub fn shrink_if_needed(&mut self) {
        let size = self.t[0].buckets.len();
        if resize_allowed() && !self.is_rehashing() && size > INITIAL_SIZE && self.t[0].used * 100 / size < 10 {
            self.start_resize(self.t[0].used);
        }
    }

    fn find(&self, key: &[u8]) -> Option<&Entry<V>> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        for t in 0..2 {
            let table = &self.t[t];
            if table.buckets.is_empty() {
                continue;
            }
            let mut cur = table.buckets[h & table.mask()].as_deref();
            while let Some(e) = cur {
                if *e.key == *key {
                    return Some(e);
                }
                cur = e.next.as_deref();
            }
            if !self.is_rehashing() {
                break;
            }
        }
        None
    }

    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Entry<V>> {
        if self.is_empty() {
            return None;
        }
        self.step();
        let h = self.hash(key);
        let rehashing = self.is_rehashing();
        for table in self.t.iter_mut() {
            if table.buckets.is_empty() {
                continue;
            }
            let mask = table.mask();
            let mut cur = table.buckets[h & mask].as_deref_mut();
            while let Some(e) = cur {
                if *e.key == *key {
                    return Some(e);
                }
                cur = e.next.as_deref_mut();
            }
            if !rehashing {
                break;
            }
        }
        None
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|e| &e.val)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> {
        self.find(key).map(|e| (&*e.key, &e.val))
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.find_mut(key).map(|e| &mut e.val)
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Insert or replace; returns the previous value.
    pub fn insert(&mut self, key: Key, val: V) -> Option<V> {
        if let Some(e) = self.find_mut(&key) {
            return Some(std::mem::replace(&mut e.val, val));
        }
        self.insert_new(key, val);
        None
    }

    /// Insert a key known to be absent.
    pub fn insert_new(&mut self, key: Key, val: V) {
        self.step();
        self.grow_if_needed();
        let h = self.hash(&key);
        let t = if self.is_rehashing() { 1 } else { 0 };
        let table = &mut self.t[t];
        let idx = h & table.mask();
        let next = table.buckets[idx].take();
        table.buckets[idx] = Some(Box::new(Entry { key, val, next }));
        table.used += 1;
    }

    /// Remove a key; returns the stored key and value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(Key, V)> {
        if self.is_empty() {
            return None;
        }
        self.step();
        let h = self.hash(key);
        let rehashing = self.is_rehashing();
        for table in self.t.iter_mut() {
            if table.buckets.is_empty() {
                continue;
            }
            let idx = h & table.mask();
            let mut link = &mut table.buckets[idx];
            loop {
                match link {
                    None => break,
                    Some(e) if *e.key == *key => {
                        let mut removed = link.take().expect("matched Some above");
                        *link = removed.next.take();
                        table.used -= 1;
                        return Some((removed.key, removed.val));
                    }
                    Some(e) => link = &mut e.next,
                }
            }
            if !rehashing {
                break;
            }
        }
        None
    }

    /// Drop everything.
    pub fn clear(&mut self) {
        // Unlink chains iteratively: dropping a long Box chain recursively could overflow the stack.
        for t in self.t.iter_mut() {
            for b in t.buckets.iter_mut() {
                let mut chain = b.take();
                while let Some(mut e) = chain {
                    chain = e.next.take();
                }
            }
        }
        self.t = [Table::empty(), Table::empty()];
        self.rehash_idx = None;
    }

    /// A random entry, roughly uniform: a random non-empty bucket, then a random element of its chain.
    pub fn random(&self, mut rand: impl FnMut() -> u64) -> Option<(&[u8], &V)> {
        if self.is_empty() {
            return None;
        }
        let bucket = loop {
            let b = if let Some(idx) = self.rehash_idx {
                // Buckets of t[0] below idx are already empty.
                let s0 = self.t[0].buckets.len();
                let span = s0 + self.t[1].buckets.len() - idx;
                let r = idx + (rand() as usize) % span;
                if r >= s0 { &self.t[1].buckets[r - s0] } else { &self.t[0].buckets[r] }
            } else {
                let t = &self.t[0];
                &t.buckets[(rand() as usize) & t.mask()]
            };
            if b.is_some() {
                break b;
            }
        };
        let mut len = 0;
        let mut cur = bucket.as_deref();
        while let Some(e) = cur {
            len += 1;
            cur = e.next.as_deref();
        }
        let mut pick = (rand() as usize) % len;
        let mut cur = bucket.as_deref();
        while let Some(e) = cur {
            if pick == 0 {
                return Some((&e.key, &e.val));
            }
            pick -= 1;
            cur = e.next.as_deref();
        }
        None
    }

    /// One step of a SCAN: calls `f` for every entry of the bucket(s) at `cursor`, returns the next
    /// cursor (0 when the iteration is complete).
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor as usize;
        let emit = |table: &Table<V>, idx: usize, f: &mut dyn FnMut(&[u8], &V)| {
            let mut cur = table.buckets[idx].as_deref();
            while let Some(e) = cur {
                f(&e.key, &e.val);
                cur = e.next.as_deref();
            }
        };
        if !self.is_rehashing() {
            let t0 = &self.t[0];
            let m0 = t0.mask();
            emit(t0, v & m0, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, big) = if self.t[0].buckets.len() <= self.t[1].buckets.len() {
                (&self.t[0], &self.t[1])
            } else {
                (&self.t[1], &self.t[0])
            };
            let m0 = small.mask();
            let m1 = big.mask();
            emit(small, v & m0, &mut f);
            loop {
                emit(big, v & m1, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v as u64
    }

    /// Iterate over every entry (KEYS, FLUSH accounting, saving). Not bounded: callers accept O(n).
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.t.iter().flat_map(|t| {
            t.buckets.iter().flat_map(|b| {
                let mut cur = b.as_deref();
                std::iter::from_fn(move || {
                    let e = cur?;
                    cur = e.next.as_deref();
                    Some((&*e.key, &e.val))
                })
            })
        })
    }

    /// DEBUG HTSTATS text for this table, in Redis's layout (dictGetStats): the main table, and the
    /// rehashing target while a rehash is in progress.
    pub fn stats(&self) -> String {
        let mut out = self.table_stats(0);
        if self.is_rehashing() {
            out.push_str(&self.table_stats(1));
        }
        out
    }

    fn table_stats(&self, idx: usize) -> String {
        use std::fmt::Write as _;
        const VECTLEN: usize = 50;
        let name = if idx == 0 { "main hash table" } else { "rehashing target" };
        let t = &self.t[idx];
        if t.used == 0 {
            return format!("Hash table {idx} stats ({name}):\nNo stats available for empty dictionaries\n");
        }
        let mut lengths = [0u64; VECTLEN];
        let (mut slots, mut max_chain, mut total_chain) = (0u64, 0u64, 0u64);
        for bucket in &t.buckets {
            let mut len = 0u64;
            let mut cur = bucket.as_deref();
            while let Some(e) = cur {
                len += 1;
                cur = e.next.as_deref();
            }
            lengths[(len as usize).min(VECTLEN - 1)] += 1;
            if len > 0 {
                slots += 1;
                max_chain = max_chain.max(len);
                total_chain += len;
            }
        }
        let size = t.buckets.len();
        let mut out = format!(
            "Hash table {idx} stats ({name}):\n table size: {size}\n number of elements: {}\n different slots: {slots}\n max chain length: {max_chain}\n avg chain length (counted): {:.2}\n avg chain length (computed): {:.2}\n Chain length distribution:\n",
            t.used,
            total_chain as f32 / slots as f32,
            t.used as f32 / slots as f32
        );
        for (i, &n) in lengths.iter().enumerate().take(VECTLEN - 1) {
            if n > 0 {
                let _ = writeln!(out, "   {i}: {n} ({:.2}%)", n as f32 / size as f32 * 100.0);
            }
        }
        out
    }

    /// Visit every value mutably (used when every stored object must be adjusted at once).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&[u8], &mut V)) {
        for t in self.t.iter_mut() {
            for b in t.buckets.iter_mut() {
                let mut cur = b.as_deref_mut();
                while let Some(e) = cur {
                    f(&e.key, &mut e.val);
                    cur = e.next.as_deref_mut();
                }
            }
        }
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn key(i: usize) -> Key {
        Key::from(format!("key:{i}").into_bytes())
    }

    #[test]
    fn insert_get_remove_across_rehash() {
        let mut d = Dict::new();
        for i in 0..10_000 {
            assert!(d.insert(key(i), i).is_none());
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        for i in (0..10_000).step_by(2) {
            assert_eq!(d.remove(&key(i)).map(|(_, v)| v), Some(i));
        }
        assert_eq!(d.len(), 5_000);
        assert!(d.get(&key(0)).is_none());
        assert_eq!(d.insert(key(1), 7), Some(1));
    }

    #[test]
    fn scan_sees_every_key_while_growing() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(key(i), ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut extra = 1000;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(k.to_vec());
            });
            // Grow the table mid-iteration (up to 8x), which triggers several rehashes.
            if extra < 8000 {
                for _ in 0..50 {
                    d.insert(key(extra), ());
                    extra += 1;
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&*key(i)), "missing {i}");
        }
    }

    #[test]
    fn random_returns_members() {
        let mut d = Dict::new();
        for i in 0..100 {
            d.insert(key(i), i);
        }
        let mut x = 12345u64;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100 {
            let (k, v) = d.random(&mut rnd).expect("non-empty");
            assert_eq!(k, &*key(*v));
        }
    }
}
