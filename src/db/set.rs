//! `SetValue`: a set with Redis 7.0's two encodings, `intset` (a sorted array of integers, for sets whose
//! members are all canonical 64-bit integers, up to `set-max-intset-entries`) and `hashtable` (a `Dict`
//! of members with no values).
//!
//! The conversion policy is Redis 7.0's t_set.c: a set created for an integer starts as an intset, the
//! first non-integer member or one member too many turns it into a hash table, and nothing ever turns it
//! back. This module owns the encodings and the member-level operations; it never touches the keyspace
//! and never decides what a command replies.

use super::dict::{Dict, Key};
use super::intset::Intset;
use crate::digest::ValueDigest;
use crate::numeric::parse_i64;

/// Redis caps `set-max-intset-entries` here because of the intset's own limits.
const MAX_INTSET_LIMIT: usize = 1 << 30;

/// How many entries a fair random pick chooses from (Redis's GETFAIR_NUM_ENTRIES).
const FAIR_SAMPLE: usize = 15;

/// A set in one of Redis's two encodings.
pub enum SetValue {
    Intset(Intset),
    Hashtable(Box<Dict<()>>),
}

impl Clone for SetValue {
    /// A copy in the same encoding (Redis's setTypeDup, for COPY).
    fn clone(&self) -> Self {
        match self {
            SetValue::Intset(s) => SetValue::Intset(s.clone()),
            SetValue::Hashtable(d) => {
                let mut copy = Dict::new();
                for (k, _) in d.iter() {
                    copy.insert_new(Key::from(k), ());
                }
                SetValue::Hashtable(Box::new(copy))
            }
        }
    }
}

impl std::fmt::Debug for SetValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetValue::Intset(s) => write!(f, "Intset({s:?})"),
            SetValue::Hashtable(d) => {
                f.write_str("Hashtable")?;
                f.debug_set().entries(d.iter().map(|(k, _)| String::from_utf8_lossy(k))).finish()
            }
        }
    }
}

impl Default for SetValue {
    /// An empty intset, as Redis's createIntsetObject (the start of every SINTERSTORE-like result).
    fn default() -> Self {
        SetValue::Intset(Intset::new())
    }
}

/// A member as the set stores it: an intset integer or hash-table bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

/// The outcome of a random pick: an integer, or bytes copied into the caller's scratch buffer (so the
/// caller may go on to modify the set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Picked {
    Int(i64),
    Scratch,
}

/// The decimal text of an integer in a stack buffer (Redis's ll2string), for hash lookups and digests.
pub struct IntText {
    buf: [u8; 20],
    start: usize,
}

impl IntText {
    pub fn new(v: i64) -> Self {
        let mut buf = [0u8; 20];
        let mut n = v.unsigned_abs();
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        IntText { buf, start: i }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

/// The effective intset size limit for a configured `set-max-intset-entries`.
pub fn intset_limit(configured: usize) -> usize {
    configured.min(MAX_INTSET_LIMIT)
}

impl SetValue {
    /// An empty set of the encoding that can hold `first` (Redis's setTypeCreate).
    pub fn new_for(first: &[u8]) -> Self {
        if parse_i64(first).is_some() { SetValue::default() } else { SetValue::Hashtable(Box::default()) }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Intset(_) => "intset",
            SetValue::Hashtable(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            SetValue::Intset(s) => s.len(),
            SetValue::Hashtable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes owned; a large hash table is estimated from a sample of its members.
    pub fn heap_size(&self) -> usize {
        const SAMPLE: usize = 64;
        const ENTRY: usize = std::mem::size_of::<Key>() + std::mem::size_of::<usize>();
        match self {
            SetValue::Intset(s) => s.heap_size(),
            SetValue::Hashtable(d) => {
                let (n, long) = d.iter().take(SAMPLE).fold((0, 0), |(n, b), (k, _)| {
                    (n + 1, b + if k.len() > super::bytes::INLINE_CAP { k.len() } else { 0 })
                });
                let extra = (long * d.len()).checked_div(n).unwrap_or(0);
                std::mem::size_of::<Dict<()>>() + d.slots() * std::mem::size_of::<usize>() + d.len() * ENTRY + extra
            }
        }
    }

    pub fn digest_into(&self, d: &mut ValueDigest) {
        for m in self.iter() {
            match m {
                Member::Int(v) => d.set_member(IntText::new(v).as_bytes()),
                Member::Bytes(b) => d.set_member(b),
            }
        }
    }

    /// Turns an intset into a hash table holding the same members (Redis's setTypeConvert).
    fn convert_to_hashtable(&mut self) {
        if let SetValue::Intset(s) = self {
            let mut d = Dict::new();
            for v in s.iter() {
                d.insert_new(Key::from(IntText::new(v).as_bytes()), ());
            }
            *self = SetValue::Hashtable(Box::new(d));
        }
    }

    /// Adds a member given as bytes; false when already present (Redis's setTypeAdd). `max_intset` is
    /// the configured `set-max-intset-entries`.
    pub fn add(&mut self, m: &[u8], max_intset: usize) -> bool {
        match self {
            SetValue::Hashtable(d) => Self::dict_add(d, m),
            SetValue::Intset(_) => match parse_i64(m) {
                Some(v) => self.add_int(v, max_intset),
                None => {
                    self.convert_to_hashtable();
                    match self {
                        SetValue::Hashtable(d) => Self::dict_add(d, m),
                        SetValue::Intset(_) => false,
                    }
                }
            },
        }
    }

    /// Adds an integer member; false when already present.
    pub fn add_int(&mut self, v: i64, max_intset: usize) -> bool {
        match self {
            SetValue::Hashtable(d) => Self::dict_add(d, IntText::new(v).as_bytes()),
            SetValue::Intset(s) => {
                if !s.add(v) {
                    return false;
                }
                if s.len() > intset_limit(max_intset) {
                    self.convert_to_hashtable();
                }
                true
            }
        }
    }

    /// Adds a member as another set yields it.
    pub fn add_member(&mut self, m: Member, max_intset: usize) -> bool {
        match m {
            Member::Int(v) => self.add_int(v, max_intset),
            Member::Bytes(b) => self.add(b, max_intset),
        }
    }

    fn dict_add(d: &mut Dict<()>, m: &[u8]) -> bool {
        if d.contains_key(m) {
            return false;
        }
        d.insert_new(Key::from(m), ());
        true
    }

    /// Removes a member; false when absent. A hash table shrinks when mostly empty, as Redis's
    /// setTypeRemove does.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            SetValue::Intset(s) => parse_i64(m).is_some_and(|v| s.remove(v)),
            SetValue::Hashtable(d) => {
                let removed = d.remove(m).is_some();
                if removed {
                    d.shrink_if_needed();
                }
                removed
            }
        }
    }

    /// Removes an integer member; false when absent.
    pub fn remove_int(&mut self, v: i64) -> bool {
        match self {
            SetValue::Intset(s) => s.remove(v),
            SetValue::Hashtable(_) => self.remove(IntText::new(v).as_bytes()),
        }
    }

    /// Removes a member as another set yields it.
    pub fn remove_member(&mut self, m: Member) -> bool {
        match m {
            Member::Int(v) => self.remove_int(v),
            Member::Bytes(b) => self.remove(b),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            SetValue::Intset(s) => parse_i64(m).is_some_and(|v| s.contains(v)),
            SetValue::Hashtable(d) => d.contains_key(m),
        }
    }

    /// Membership of a member as another set yields it (intset against intset needs no text).
    pub fn contains_member(&self, m: Member) -> bool {
        match (self, m) {
            (SetValue::Intset(s), Member::Int(v)) => s.contains(v),
            (SetValue::Hashtable(d), Member::Int(v)) => d.contains_key(IntText::new(v).as_bytes()),
            (_, Member::Bytes(b)) => self.contains(b),
        }
    }

    /// Every member: ascending integers for an intset, table order for a hash table.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        let (ints, table) = match self {
            SetValue::Intset(s) => (Some(s.iter().map(Member::Int)), None),
            SetValue::Hashtable(d) => (None, Some(d.iter().map(|(k, _)| Member::Bytes(k)))),
        };
        ints.into_iter().flatten().chain(table.into_iter().flatten())
    }

    /// Move a rehash along by up to `steps` buckets: Redis's random sampling does this, so a set
    /// that is only ever read still finishes rehashing.
    pub fn rehash_steps(&mut self, steps: usize) {
        if let SetValue::Hashtable(d) = self
            && d.is_rehashing()
        {
            d.rehash(steps);
        }
    }

    /// A random member, uniformly chosen for an intset and by Redis's "fair" sampling for a hash table
    /// (pick among up to 15 entries met from a random bucket on, so that chain lengths do not bias
    /// the choice). Hash-table members are copied into `scratch`. None when empty.
    pub fn random(&self, rand: &mut impl FnMut() -> u64, scratch: &mut Vec<u8>) -> Option<Picked> {
        match self {
            SetValue::Intset(s) => s.random(rand()).map(Picked::Int),
            SetValue::Hashtable(d) => {
                if d.is_empty() {
                    return None;
                }
                fair_random(d, rand, scratch);
                Some(Picked::Scratch)
            }
        }
    }

    /// One SSCAN step: an intset is returned whole with cursor 0; a hash table is scanned from `cursor`
    /// until `count` members are collected or `count * 10` buckets were visited. Members are handed to
    /// `f`; returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(Member)) -> u64 {
        match self {
            SetValue::Intset(s) => {
                s.iter().for_each(|v| f(Member::Int(v)));
                0
            }
            SetValue::Hashtable(d) => {
                let mut cursor = cursor;
                let mut budget = count.saturating_mul(10);
                let mut found = 0;
                loop {
                    cursor = d.scan(cursor, |k, _| {
                        found += 1;
                        f(Member::Bytes(k));
                    });
                    if cursor == 0 || budget == 0 || found >= count {
                        break;
                    }
                    budget -= 1;
                }
                cursor
            }
        }
    }
}

/// Redis's dictGetFairRandomKey over our `Dict`: walk buckets in scan order from a random cursor,
/// collecting up to `FAIR_SAMPLE` entries within a bounded number of steps, and pick one of them
/// uniformly. A walk that meets nothing (a very sparse table) falls back to a plain random entry. The
/// walk runs twice (count, then fetch) because scan callbacks cannot hand out borrows.
fn fair_random(d: &Dict<()>, rand: &mut impl FnMut() -> u64, scratch: &mut Vec<u8>) {
    let want = FAIR_SAMPLE.min(d.len());
    let max_steps = want * 10;
    let start = rand();
    let mut seen = 0usize;
    let mut steps = 0;
    let mut cursor = start;
    while seen < want && steps < max_steps {
        cursor = d.scan(cursor, |_, _| seen += 1);
        steps += 1;
    }
    scratch.clear();
    if seen == 0 {
        if let Some((k, _)) = d.random(&mut *rand) {
            scratch.extend_from_slice(k);
        }
        return;
    }
    // The walk is deterministic, so replaying it from the same cursor meets the same entries.
    let mut pick = (rand() % seen as u64) as usize;
    let mut cursor = start;
    for _ in 0..steps {
        cursor = d.scan(cursor, |k, _| {
            if pick == 0 {
                scratch.extend_from_slice(k);
            }
            pick = pick.wrapping_sub(1);
        });
        if pick > seen {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn collect(s: &SetValue) -> HashSet<Vec<u8>> {
        s.iter()
            .map(|m| match m {
                Member::Int(v) => IntText::new(v).as_bytes().to_vec(),
                Member::Bytes(b) => b.to_vec(),
            })
            .collect()
    }

    #[test]
    fn sizes_stay_small() {
        assert!(std::mem::size_of::<SetValue>() <= 24);
        assert!(std::mem::size_of::<crate::db::Value>() <= 32);
    }

    #[test]
    fn int_text_matches_format() {
        for v in [0, 1, -1, 42, -9, i64::MIN, i64::MAX, 1234567890] {
            assert_eq!(IntText::new(v).as_bytes(), v.to_string().as_bytes());
        }
    }

    #[test]
    fn conversions_follow_redis() {
        let mut s = SetValue::new_for(b"1");
        assert_eq!(s.encoding(), "intset");
        for i in 0..4 {
            assert!(s.add(i.to_string().as_bytes(), 4));
        }
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"4", 4));
        assert_eq!(s.encoding(), "hashtable", "five members exceed a limit of 4");
        assert!(!s.add(b"4", 4));
        assert!(s.contains(b"3") && s.contains_member(Member::Int(3)));
        assert!(s.remove(b"3") && !s.remove(b"3"));
        assert_eq!(s.encoding(), "hashtable", "never converts back");

        let mut s = SetValue::new_for(b"7");
        s.add(b"7", 512);
        assert!(s.add(b"x", 512));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(collect(&s), HashSet::from([b"7".to_vec(), b"x".to_vec()]));

        assert_eq!(SetValue::new_for(b"07").encoding(), "hashtable");
        assert_eq!(SetValue::new_for(b"213244124402402314402033402").encoding(), "hashtable");
        let mut z = SetValue::new_for(b"1");
        z.add(b"1", 0);
        assert_eq!(z.encoding(), "hashtable", "a limit of 0 converts at the first member");
    }

    #[test]
    fn intsets_stay_exact() {
        let mut s = SetValue::default();
        for i in 0..300 {
            s.add_int(i * 1000, 512);
        }
        let SetValue::Intset(is) = &s else { panic!("intset expected") };
        assert_eq!(is.heap_size(), is.bytes_len());
        assert_eq!(s.len(), 300);
        assert!(s.contains(b"299000"));
    }

    #[test]
    fn intset_ignores_non_integers_on_lookup_and_remove() {
        let mut s = SetValue::default();
        s.add_int(5, 512);
        assert!(!s.contains(b"05") && !s.remove(b"abc") && !s.contains(b"-0"));
        assert!(s.contains(b"5"));
        assert!(s.remove_member(Member::Bytes(b"5")));
        assert!(s.is_empty());
    }

    #[test]
    fn random_is_fair_on_small_tables() {
        let mut s = SetValue::new_for(b"a");
        let names: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        for n in &names {
            s.add(n.as_bytes(), 512);
        }
        let mut seed = 0x1234_5678_u64;
        let mut rand = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut hist: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut scratch = Vec::new();
        for _ in 0..10_000 {
            assert_eq!(s.random(&mut rand, &mut scratch), Some(Picked::Scratch));
            *hist.entry(scratch.clone()).or_default() += 1;
        }
        assert_eq!(hist.len(), 10);
        // Expected 1000 each; a chain-biased pick would give some members about half that.
        let chi: f64 = hist.values().map(|&n| (n as f64 - 1000.0).powi(2) / 1000.0).sum();
        assert!(chi < 40.0, "chi square {chi}: {hist:?}");
    }

    #[test]
    fn scan_covers_everything() {
        let mut s = SetValue::new_for(b"a");
        for i in 0..1000 {
            s.add(format!("k{i}").as_bytes(), 512);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = s.scan(cursor, 10, |m| {
                if let Member::Bytes(b) = m {
                    seen.insert(b.to_vec());
                }
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
        let ints: SetValue = {
            let mut v = SetValue::default();
            (0..20).for_each(|i| {
                v.add_int(i, 512);
            });
            v
        };
        let mut n = 0;
        assert_eq!(ints.scan(5, 1, |_| n += 1), 0);
        assert_eq!(n, 20);
    }
}
