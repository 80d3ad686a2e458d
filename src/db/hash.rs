//! `HashValue`: the hash type with Redis's two encodings. A small hash is one listpack of alternating
//! fields and values (`listpack`); it becomes a `Dict` of field → value (`hashtable`) exactly when Redis
//! converts (too many fields, a field or value too long, the listpack near its safety size) and never
//! goes back.
//!
//! This module owns the representation and the conversion rules; it knows nothing about commands,
//! replies or the keyspace. Thresholds come from the caller as [`Limits`] so that it never reads the
//! configuration itself. Values are handed out as [`LpValue`] views, so listpack integers are never
//! formatted unless a caller wants bytes.

use std::collections::HashSet;
use std::fmt;

use super::bytes::CompactBytes;
use super::dict::Dict;
use super::listpack::{INTBUF_SIZE, Iter as LpIter, Listpack, LpValue};
use crate::digest::ValueDigest;

/// Past this many bytes a listpack is converted whatever the thresholds (Redis's
/// LISTPACK_MAX_SAFETY_SIZE, checked by lpSafeToAdd).
const LISTPACK_SAFETY_SIZE: usize = 1 << 30;
/// Entries a fair random pick samples from a hashtable before choosing among them (Redis's
/// dictGetFairRandomKey draws 20).
const FAIR_SAMPLE: usize = 20;
/// Buckets a fair random pick may visit before settling for what it has.
const FAIR_MAX_STEPS: usize = 200;

/// The conversion thresholds (`hash-max-listpack-entries`, `hash-max-listpack-value`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

/// A hash value in one of Redis's encodings.
pub enum HashValue {
    /// Fields and values alternating, in insertion order.
    Listpack(Listpack),
    /// Field → value.
    Table(Box<Dict<CompactBytes>>),
}

impl Default for HashValue {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for HashValue {
    fn clone(&self) -> Self {
        match self {
            HashValue::Listpack(lp) => HashValue::Listpack(lp.clone()),
            HashValue::Table(d) => {
                let mut copy = Dict::new();
                for (k, v) in d.iter() {
                    copy.insert_new(CompactBytes::from(k), v.clone());
                }
                HashValue::Table(Box::new(copy))
            }
        }
    }
}

impl fmt::Debug for HashValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&String::from_utf8_lossy(&k.to_vec()), &String::from_utf8_lossy(&v.to_vec()));
        }
        m.finish()
    }
}

/// A listpack read two entries at a time.
struct Pairs<'a>(LpIter<'a>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (LpValue<'a>, LpValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.0.next()?;
        let value = self.0.next()?;
        Some((field, value))
    }
}

/// The bytes of a listpack element as a stored dict string.
fn compact(v: LpValue<'_>) -> CompactBytes {
    let mut scratch = [0u8; INTBUF_SIZE];
    CompactBytes::from(v.to_bytes(&mut scratch))
}

/// A uniformly random index below `n` (n > 0).
fn below(rand: &mut impl FnMut() -> u64, n: usize) -> usize {
    (rand() % n as u64) as usize
}

impl HashValue {
    /// An empty hash, listpack-encoded as every new hash starts.
    pub fn new() -> Self {
        HashValue::Listpack(Listpack::new())
    }

    /// Adopt a listpack of alternating fields and values (RDB, RESTORE).
    pub fn from_listpack(lp: Listpack) -> Self {
        HashValue::Listpack(lp)
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Listpack(_) => "listpack",
            HashValue::Table(_) => "hashtable",
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Listpack(lp) => lp.len() / 2,
            HashValue::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            HashValue::Listpack(lp) => lp.is_empty(),
            HashValue::Table(d) => d.is_empty(),
        }
    }

    /// Heap bytes owned; for a hashtable an estimate from a sample of its entries.
    pub fn heap_size(&self) -> usize {
        match self {
            HashValue::Listpack(lp) => lp.heap_size(),
            HashValue::Table(d) => {
                const SAMPLE: usize = 16;
                // A chained entry: field, value and the next link, in one allocation.
                let entry = 2 * size_of::<CompactBytes>() + size_of::<usize>();
                let (mut seen, mut bytes) = (0, 0);
                for (k, v) in d.iter().take(SAMPLE) {
                    seen += 1;
                    bytes += CompactBytes::from(k).heap_size() + v.heap_size();
                }
                let strings = (bytes * d.len()).checked_div(seen).unwrap_or(0);
                size_of::<Dict<CompactBytes>>() + d.slots() * size_of::<usize>() + d.len() * entry + strings
            }
        }
    }

    /// Feed every field/value pair to a DEBUG DIGEST computation (order-independent).
    pub fn digest_into(&self, d: &mut ValueDigest) {
        let mut fs = [0u8; INTBUF_SIZE];
        let mut vs = [0u8; INTBUF_SIZE];
        for (k, v) in self.iter() {
            d.hash_field(k.to_bytes(&mut fs), v.to_bytes(&mut vs));
        }
    }

    /// The listpack, when that is the encoding (RDB and DUMP write it verbatim).
    pub fn as_listpack(&self) -> Option<&Listpack> {
        match self {
            HashValue::Listpack(lp) => Some(lp),
            HashValue::Table(_) => None,
        }
    }

    /// Position of `field` in a listpack.
    fn lp_find(lp: &Listpack, field: &[u8]) -> Option<usize> {
        lp.first().and_then(|p| lp.find(p, field, 1))
    }

    /// The value stored under `field`.
    pub fn get(&self, field: &[u8]) -> Option<LpValue<'_>> {
        match self {
            HashValue::Listpack(lp) => {
                let pos = Self::lp_find(lp, field)?;
                lp.next(pos).map(|v| lp.get(v))
            }
            HashValue::Table(d) => d.get(field).map(|v| LpValue::Str(v)),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Length of the value's string form (0 when the field is missing), as HSTRLEN reports.
    pub fn value_len(&self, field: &[u8]) -> usize {
        let mut scratch = [0u8; INTBUF_SIZE];
        self.get(field).map_or(0, |v| v.to_bytes(&mut scratch).len())
    }

    /// Convert to a hashtable before adding `items` when any is too long for the listpack or the
    /// listpack would pass its safety size (Redis's hashTypeTryConversion).
    pub fn try_conversion<'a>(&mut self, items: impl IntoIterator<Item = &'a [u8]>, limits: Limits) {
        let HashValue::Listpack(lp) = self else { return };
        let mut sum = 0usize;
        for item in items {
            if item.len() > limits.max_value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(item.len());
        }
        if lp.bytes_len().saturating_add(sum) > LISTPACK_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Turn a listpack into a hashtable (a no-op on a hashtable).
    pub fn convert(&mut self) {
        let HashValue::Listpack(lp) = self else { return };
        let mut d = Dict::new();
        for (k, v) in Pairs(lp.iter()) {
            d.insert(compact(k), compact(v));
        }
        *self = HashValue::Table(Box::new(d));
    }

    /// Store `value` under `field`; true when the field is new. Applies Redis's hashTypeSet rules: a
    /// long field or value converts first, and a listpack with too many fields afterwards converts.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: Limits) -> bool {
        if matches!(self, HashValue::Listpack(_)) && (field.len() > limits.max_value || value.len() > limits.max_value)
        {
            self.convert();
        }
        match self {
            HashValue::Listpack(lp) => {
                let existing = Self::lp_find(lp, field).and_then(|f| lp.next(f));
                let new = match existing {
                    Some(vpos) => {
                        lp.replace(vpos, value);
                        false
                    }
                    None => {
                        lp.push_back(field);
                        lp.push_back(value);
                        true
                    }
                };
                // Checked on updates too: the threshold may have been lowered since the hash was built.
                if lp.len() / 2 > limits.max_entries {
                    self.convert();
                }
                new
            }
            HashValue::Table(d) => match d.get_mut(field) {
                Some(v) => {
                    *v = CompactBytes::from(value);
                    false
                }
                None => {
                    d.insert_new(CompactBytes::from(field), CompactBytes::from(value));
                    true
                }
            },
        }
    }

    /// Remove `field`; true when it was there.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            HashValue::Listpack(lp) => {
                let Some(pos) = Self::lp_find(lp, field) else { return false };
                if let Some(vpos) = lp.delete(pos) {
                    lp.delete(vpos);
                }
                true
            }
            HashValue::Table(d) => {
                let removed = d.remove(field).is_some();
                if removed {
                    d.shrink_if_needed();
                }
                removed
            }
        }
    }

    /// Every field/value pair: insertion order for a listpack, table order for a hashtable.
    pub fn iter(&self) -> impl Iterator<Item = (LpValue<'_>, LpValue<'_>)> + '_ {
        let (lp, table) = match self {
            HashValue::Listpack(lp) => (Some(Pairs(lp.iter())), None),
            HashValue::Table(d) => (None, Some(d.iter())),
        };
        lp.into_iter()
            .flatten()
            .chain(table.into_iter().flatten().map(|(k, v)| (LpValue::Str(k), LpValue::Str(v.as_slice()))))
    }

    /// One HSCAN step: a listpack is returned whole with cursor 0; a hashtable visits buckets from
    /// `cursor` until about `count` pairs were seen (at most ten times that many buckets).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(LpValue<'_>, LpValue<'_>)) -> u64 {
        match self {
            HashValue::Listpack(lp) => {
                for (k, v) in Pairs(lp.iter()) {
                    f(k, v);
                }
                0
            }
            HashValue::Table(d) => {
                // Redis counts fields and values alike, so COUNT asks for twice as many elements.
                let want = count.saturating_mul(2);
                let mut budget = want.saturating_mul(10);
                let mut got = 0usize;
                let mut cursor = cursor;
                loop {
                    cursor = d.scan(cursor, |k, v| {
                        got += 2;
                        f(LpValue::Str(k), LpValue::Str(v));
                    });
                    if cursor == 0 || budget == 0 || got >= want {
                        return cursor;
                    }
                    budget -= 1;
                }
            }
        }
    }

    /// A random pair, every field equally likely (within Redis's sampling for large tables).
    pub fn random_pair(&self, rand: &mut impl FnMut() -> u64) -> Option<(LpValue<'_>, LpValue<'_>)> {
        match self {
            HashValue::Listpack(lp) => {
                let n = lp.len() / 2;
                if n == 0 {
                    return None;
                }
                let pos = lp.seek(2 * below(rand, n) as i64)?;
                Some((lp.get(pos), lp.get(lp.next(pos)?)))
            }
            HashValue::Table(d) => {
                Self::fair_random(d, rand).map(|(k, v)| (LpValue::Str(k), LpValue::Str(v.as_slice())))
            }
        }
    }

    /// A hashtable entry chosen uniformly among a window of about twenty consecutive (in SCAN order)
    /// entries starting at a random bucket, which evens out the chain-length bias of a single bucket
    /// pick, as Redis's dictGetFairRandomKey does. Small tables pick exactly uniformly.
    fn fair_random<'a>(
        d: &'a Dict<CompactBytes>,
        rand: &mut impl FnMut() -> u64,
    ) -> Option<(&'a [u8], &'a CompactBytes)> {
        let n = d.len();
        if n == 0 {
            return None;
        }
        if n <= FAIR_SAMPLE {
            return d.iter().nth(below(rand, n));
        }
        let start = rand();
        let (mut seen, mut steps, mut cursor) = (0usize, 0usize, start);
        while seen < FAIR_SAMPLE && steps < FAIR_MAX_STEPS {
            cursor = d.scan(cursor, |_, _| seen += 1);
            steps += 1;
        }
        if seen == 0 {
            let mut r = || rand();
            return d.random(&mut r);
        }
        // Walk the same window again (nothing changed in between) to find the chosen entry.
        let mut pick = below(rand, seen);
        let mut chosen: Option<CompactBytes> = None;
        let mut cursor = start;
        for _ in 0..steps {
            cursor = d.scan(cursor, |k, _| {
                if pick == 0 && chosen.is_none() {
                    chosen = Some(CompactBytes::from(k));
                }
                pick = pick.wrapping_sub(1);
            });
            if chosen.is_some() {
                break;
            }
        }
        d.get_key_value(&chosen?)
    }

    /// `count` pairs drawn independently, so repeats are possible (HRANDFIELD with a negative count).
    pub fn random_pairs_with_repeats(
        &self,
        count: usize,
        rand: &mut impl FnMut() -> u64,
        mut f: impl FnMut(LpValue<'_>, LpValue<'_>),
    ) {
        match self {
            HashValue::Listpack(lp) => {
                // One walk to index the fields, then every draw is O(1).
                let mut fields = Vec::with_capacity(lp.len() / 2);
                let mut pos = lp.first();
                while let Some(p) = pos {
                    let Some(v) = lp.next(p) else { break };
                    fields.push((p, v));
                    pos = lp.next(v);
                }
                if fields.is_empty() {
                    return;
                }
                for _ in 0..count {
                    let (k, v) = fields[below(rand, fields.len())];
                    f(lp.get(k), lp.get(v));
                }
            }
            HashValue::Table(d) => {
                for _ in 0..count {
                    let Some((k, v)) = Self::fair_random(d, rand) else { return };
                    f(LpValue::Str(k), LpValue::Str(v));
                }
            }
        }
    }

    /// `count` distinct pairs chosen uniformly (all of them when `count >= len`), as HRANDFIELD with a
    /// positive count.
    pub fn random_distinct_pairs(
        &self,
        count: usize,
        rand: &mut impl FnMut() -> u64,
        mut f: impl FnMut(LpValue<'_>, LpValue<'_>),
    ) {
        let size = self.len();
        if count >= size {
            for (k, v) in self.iter() {
                f(k, v);
            }
            return;
        }
        match self {
            HashValue::Listpack(lp) => {
                // Selection sampling: one walk, pairs come out in listpack order as in Redis.
                let mut needed = count;
                let mut left = size;
                for (k, v) in Pairs(lp.iter()) {
                    if needed == 0 {
                        break;
                    }
                    if below(rand, left) < needed {
                        f(k, v);
                        needed -= 1;
                    }
                    left -= 1;
                }
            }
            HashValue::Table(d) if count.saturating_mul(3) > size => {
                // Close to the whole table: a partial shuffle of all entries beats rejecting repeats.
                let mut all: Vec<(&[u8], &CompactBytes)> = d.iter().collect();
                for i in 0..count {
                    let j = i + below(rand, all.len() - i);
                    all.swap(i, j);
                    let (k, v) = all[i];
                    f(LpValue::Str(k), LpValue::Str(v));
                }
            }
            HashValue::Table(d) => {
                let mut picked: HashSet<&[u8]> = HashSet::with_capacity(count);
                while picked.len() < count {
                    let Some((k, v)) = Self::fair_random(d, rand) else { return };
                    if picked.insert(k) {
                        f(LpValue::Str(k), LpValue::Str(v));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Value;

    const LIMITS: Limits = Limits { max_entries: 4, max_value: 8 };

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    fn pairs(h: &HashValue) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut v: Vec<_> = h.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        v.sort();
        v
    }

    #[test]
    fn sizes_stay_small() {
        assert!(size_of::<HashValue>() <= 24);
        assert!(size_of::<Value>() <= 32);
    }

    #[test]
    fn set_get_remove_in_both_encodings() {
        let mut h = HashValue::new();
        assert!(h.set(b"a", b"1", LIMITS));
        assert!(h.set(b"b", b"xyz", LIMITS));
        assert!(!h.set(b"a", b"-20", LIMITS));
        assert_eq!(h.encoding(), "listpack");
        assert_eq!(h.get(b"a").map(|v| v.to_vec()), Some(b"-20".to_vec()));
        assert_eq!(h.value_len(b"a"), 3);
        assert_eq!(h.len(), 2);
        let before = pairs(&h);
        let mut t = h.clone();
        t.convert();
        assert_eq!(t.encoding(), "hashtable");
        assert_eq!(pairs(&t), before);
        for h in [&mut h, &mut t] {
            assert!(h.remove(b"a"));
            assert!(!h.remove(b"a"));
            assert_eq!(h.len(), 1);
            assert!(h.contains(b"b"));
            assert!(h.remove(b"b"));
            assert!(h.is_empty());
        }
    }

    #[test]
    fn converts_like_redis() {
        let mut h = HashValue::new();
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
        }
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f4", b"v", LIMITS);
        assert_eq!(h.encoding(), "hashtable");

        let mut h = HashValue::new();
        h.set(b"f", b"12345678", LIMITS);
        assert_eq!(h.encoding(), "listpack");
        h.set(b"f", b"123456789", LIMITS);
        assert_eq!(h.encoding(), "hashtable");

        let mut h = HashValue::new();
        h.try_conversion([&b"short"[..], b"waytoolongfield"], LIMITS);
        assert_eq!(h.encoding(), "hashtable");

        // A lowered threshold converts on the next write, even an update.
        let mut h = HashValue::new();
        for i in 0..4 {
            h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
        }
        h.set(b"f0", b"w", Limits { max_entries: 2, max_value: 8 });
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn scan_listpack_whole_table_by_cursor() {
        let mut h = HashValue::new();
        let big = Limits { max_entries: 1000, max_value: 64 };
        for i in 0..100 {
            h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), big);
        }
        let mut n = 0;
        assert_eq!(h.scan(0, 10, |_, _| n += 1), 0);
        assert_eq!(n, 100);
        h.convert();
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, 10, |k, v| {
                assert_eq!(k.to_vec()[1..], v.to_vec());
                seen.insert(k.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 100);
    }

    #[test]
    fn random_picks_cover_every_field() {
        let big = Limits { max_entries: 1000, max_value: 64 };
        for table in [false, true] {
            let mut h = HashValue::new();
            for i in 0..50 {
                h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), big);
            }
            if table {
                h.convert();
            }
            let mut r = rng(7);
            let mut seen = HashSet::new();
            for _ in 0..2000 {
                let (k, v) = h.random_pair(&mut r).expect("non-empty");
                assert_eq!(k.to_vec()[1..], v.to_vec()[1..]);
                seen.insert(k.to_vec());
            }
            assert_eq!(seen.len(), 50);
            let mut n = 0;
            h.random_pairs_with_repeats(300, &mut r, |_, _| n += 1);
            assert_eq!(n, 300);
            for count in [1, 10, 20, 40, 50, 80] {
                let mut got = HashSet::new();
                h.random_distinct_pairs(count, &mut r, |k, _| assert!(got.insert(k.to_vec())));
                assert_eq!(got.len(), count.min(50));
            }
        }
    }

    #[test]
    fn integers_render_as_text() {
        let mut h = HashValue::new();
        h.set(b"n", b"-9223372036854775808", LIMITS.with_value(64));
        assert_eq!(h.value_len(b"n"), 20);
        let mut d1 = ValueDigest::new(crate::digest::ValueType::Hash);
        h.digest_into(&mut d1);
        h.convert();
        let mut d2 = ValueDigest::new(crate::digest::ValueType::Hash);
        h.digest_into(&mut d2);
        assert_eq!(d1.finish(false), d2.finish(false));
    }

    impl Limits {
        fn with_value(self, max_value: usize) -> Limits {
            Limits { max_value, ..self }
        }
    }
}
