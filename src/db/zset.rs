//! `ZSetValue`: a Redis sorted set in one of Redis 7.0's two encodings, with the conversions of
//! t_zset.c. Small sets are a `listpack` of (member, score) pairs ordered by score then member bytes,
//! each score stored as Redis's zzlInsertAt stores it (an integer entry when the score is integral
//! within ±2^62, else d2string text); large ones are a [`SortedSet`] (reported as `skiplist`).
//!
//! A listpack becomes a skiplist when an insertion would exceed `zset-max-listpack-entries` or add a
//! member longer than `zset-max-listpack-value`; a skiplist never turns back on its own (only the
//! STORE commands build their result in whichever encoding fits, see [`ZSetValue::from_sorted`]).
//!
//! This module knows no commands, replies or keyspace rules; callers pass the thresholds in and never
//! hand it a NaN score.

use std::cmp::Ordering;

use super::bytes::CompactBytes;
use super::listpack::{self, INTBUF_SIZE, Listpack, LpValue};
use super::sorted_set::{self, LexRange, ScoreRange, SortedSet};
use crate::digest::ValueDigest;
use crate::numeric::{format_d2string, format_i64, parse_f64};

/// Redis's lpSafeToAdd bound: no listpack grows past 1 GiB.
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// The conversion thresholds (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZSetLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

/// ZADD's input flags (zsetAdd's ZADD_IN_*).
#[derive(Debug, Default, Clone, Copy)]
pub struct AddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// What [`ZSetValue::add`] did (zsetAdd's ZADD_OUT_* and return value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AddOutcome {
    /// The increment made the score NaN; nothing changed.
    NotANumber,
    /// NX, XX, GT or LT refused the operation.
    Nop,
    /// A new member with this score.
    Added(f64),
    /// An existing member moved to this score.
    Updated(f64),
    /// An existing member kept its score (same value, or a zero increment).
    Unchanged(f64),
}

/// A sorted set value.
#[derive(Debug, Clone)]
pub enum ZSetValue {
    Listpack(Listpack),
    Skiplist(Box<SortedSet>),
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue::Listpack(Listpack::new())
    }
}

/// Parses a number the way C `strtod` does when the whole string must be consumed: leading
/// whitespace, overflow to ±inf and underflow to 0 are accepted, NaN is not. An empty string is 0,
/// as strtod consumes nothing and leaves the end pointer on the terminator (zslParseRange's rule).
pub fn strtod_whole(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let t = &s[start..];
    if let Some(v) = parse_f64(t) {
        return Some(v);
    }
    // What parse_f64 refuses beyond strtod's grammar is only out-of-range decimals, which Rust's
    // parser saturates exactly as strtod does.
    std::str::from_utf8(t).ok()?.parse::<f64>().ok().filter(|v| !v.is_nan())
}

/// The score held by a listpack score entry (zzlGetScore).
pub fn lp_score(v: LpValue<'_>) -> f64 {
    match v {
        LpValue::Int(i) => i as f64,
        LpValue::Str(s) => strtod_whole(s).unwrap_or(0.0),
    }
}

/// Redis's double2ll: the integer equal to `d` when it is integral within ±(LLONG_MAX/2).
fn double_to_ll(d: f64) -> Option<i64> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if !(-LIMIT..=LIMIT).contains(&d) {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

/// The listpack entry text of a score (zzlInsertAt): integral scores become integer entries (so -0
/// is stored as 0, as in Redis), the rest d2string text.
fn score_entry(score: f64, buf: &mut Vec<u8>) {
    buf.clear();
    match double_to_ll(score) {
        Some(i) => format_i64(buf, i),
        None => format_d2string(buf, score),
    }
}

/// Redis's member order: score, then member bytes; equal scores (including 0 and -0) tie.
pub fn cmp_scored(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    s1.partial_cmp(&s2).unwrap_or(Ordering::Equal).then_with(|| m1.cmp(m2))
}

/// Position and score of `member` in a zset listpack.
fn lp_find(lp: &Listpack, member: &[u8]) -> Option<(usize, f64)> {
    let first = lp.first()?;
    let e = lp.find(first, member, 1)?;
    let s = lp.next(e)?;
    Some((e, lp_score(lp.get(s))))
}

/// Removes the pair whose member is at `e`.
fn lp_delete_pair(lp: &mut Listpack, e: usize) {
    if let Some(s) = lp.delete(e) {
        lp.delete(s);
    }
}

/// Inserts a pair at its ordered place (zzlInsert); the member must be absent.
fn lp_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let mut scratch = [0u8; INTBUF_SIZE];
    let mut at = lp.first();
    while let Some(e) = at {
        let Some(s) = lp.next(e) else { break };
        let cur = lp_score(lp.get(s));
        if cur > score || (cur == score && lp.get(e).to_bytes(&mut scratch) > member) {
            break;
        }
        at = lp.next(s);
    }
    let mut text = Vec::with_capacity(24);
    score_entry(score, &mut text);
    match at {
        Some(e) => {
            let m = lp.insert_before(e, member);
            lp.insert_after(m, &text);
        }
        None => {
            lp.push_back(member);
            lp.push_back(&text);
        }
    }
}

/// The new score of an existing member under ZADD's flags, or why nothing happens.
fn resolve_existing(cur: f64, score: f64, flags: AddFlags) -> Result<f64, AddOutcome> {
    if flags.nx {
        return Err(AddOutcome::Nop);
    }
    let score = if flags.incr { score + cur } else { score };
    if score.is_nan() {
        return Err(AddOutcome::NotANumber);
    }
    if (flags.lt && score >= cur) || (flags.gt && score <= cur) {
        return Err(AddOutcome::Nop);
    }
    Ok(score)
}

/// (member, score) pairs of a zset, ascending or descending from a rank.
pub enum Iter<'a> {
    Listpack {
        lp: &'a Listpack,
        /// Position of the next member to yield.
        pos: Option<usize>,
        reverse: bool,
    },
    Skiplist(sorted_set::Iter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (LpValue<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Iter::Listpack { lp, pos, reverse } => {
                let e = pos.take()?;
                let s = lp.next(e)?;
                let item = (lp.get(e), lp_score(lp.get(s)));
                *pos = if *reverse { lp.prev(e).and_then(|p| lp.prev(p)) } else { lp.next(s) };
                Some(item)
            }
            Iter::Skiplist(it) => it.next().map(|(m, s)| (LpValue::Str(m), s)),
        }
    }
}

impl ZSetValue {
    /// An empty listpack-encoded set.
    pub fn new_listpack() -> Self {
        ZSetValue::Listpack(Listpack::new())
    }

    /// An empty skiplist-encoded set.
    pub fn new_skiplist() -> Self {
        ZSetValue::Skiplist(Box::default())
    }

    /// The empty set ZADD creates for a new key whose first member is `first_len` bytes long.
    pub fn for_new_key(first_len: usize, limits: ZSetLimits) -> Self {
        if limits.max_entries == 0 || limits.max_value < first_len {
            Self::new_skiplist()
        } else {
            Self::new_listpack()
        }
    }

    /// A set from members already in Redis's order, in the encoding a STORE command leaves: a listpack
    /// when it fits the thresholds (zsetConvertToListpackIfNeeded), else a skiplist.
    pub fn from_sorted(items: &[(CompactBytes, f64)], limits: ZSetLimits) -> Self {
        let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let total: usize = items.iter().map(|(m, _)| m.len()).sum();
        if items.len() <= limits.max_entries && max_len <= limits.max_value && total <= LISTPACK_MAX_SAFETY_SIZE {
            let mut lp = Listpack::new();
            let mut text = Vec::with_capacity(24);
            for (m, s) in items {
                lp.push_back(m);
                score_entry(*s, &mut text);
                lp.push_back(&text);
            }
            ZSetValue::Listpack(lp)
        } else {
            let mut ss = SortedSet::new();
            for (m, s) in items {
                ss.insert(m, *s);
            }
            ZSetValue::Skiplist(Box::new(ss))
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
            ZSetValue::Skiplist(_) => "skiplist",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.len() / 2,
            ZSetValue::Skiplist(ss) => ss.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            ZSetValue::Listpack(lp) => lp.is_empty(),
            ZSetValue::Skiplist(ss) => ss.is_empty(),
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.heap_size(),
            ZSetValue::Skiplist(ss) => size_of::<SortedSet>() + ss.heap_size(),
        }
    }

    pub fn digest_into(&self, d: &mut ValueDigest) {
        let mut scratch = [0u8; INTBUF_SIZE];
        for (m, s) in self.iter() {
            d.zset_member(m.to_bytes(&mut scratch), s);
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp_find(lp, member).map(|(_, s)| s),
            ZSetValue::Skiplist(ss) => ss.score(member),
        }
    }

    /// 0-based rank of `member`, counted from the highest score when `reverse`.
    pub fn rank(&self, member: &[u8], reverse: bool) -> Option<usize> {
        let rank = match self {
            ZSetValue::Listpack(lp) => lp.iter().step_by(2).position(|m| m.eq_bytes(member))?,
            ZSetValue::Skiplist(ss) => ss.rank(member)?,
        };
        Some(if reverse { self.len() - 1 - rank } else { rank })
    }

    /// Members from ascending `rank` on, upwards or (`reverse`) downwards.
    pub fn iter_from(&self, rank: usize, reverse: bool) -> Iter<'_> {
        match self {
            ZSetValue::Listpack(lp) => {
                let pos = i64::try_from(rank).ok().and_then(|r| r.checked_mul(2)).and_then(|i| lp.seek(i));
                Iter::Listpack { lp, pos, reverse }
            }
            ZSetValue::Skiplist(ss) => {
                Iter::Skiplist(if reverse { ss.iter_rev_from(rank) } else { ss.iter_from(rank) })
            }
        }
    }

    /// All members, ascending.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// The member and score at an ascending rank.
    pub fn get_by_rank(&self, rank: usize) -> Option<(LpValue<'_>, f64)> {
        match self {
            ZSetValue::Listpack(_) => self.iter_from(rank, false).next(),
            ZSetValue::Skiplist(ss) => ss.get_by_rank(rank).map(|(m, s)| (LpValue::Str(m), s)),
        }
    }

    /// Rank of the first member whose score is in `r`.
    pub fn first_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        match self {
            ZSetValue::Skiplist(ss) => ss.first_in_score_range(r),
            ZSetValue::Listpack(_) => {
                if r.is_empty_range() {
                    return None;
                }
                let (rank, (_, s)) = self.iter().enumerate().find(|(_, (_, s))| r.value_gte_min(*s))?;
                r.value_lte_max(s).then_some(rank)
            }
        }
    }

    /// Rank of the last member whose score is in `r`.
    pub fn last_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        match self {
            ZSetValue::Skiplist(ss) => ss.last_in_score_range(r),
            ZSetValue::Listpack(_) => {
                if r.is_empty_range() {
                    return None;
                }
                let last = self.len().checked_sub(1)?;
                let (back, (_, s)) = self.iter_from(last, true).enumerate().find(|(_, (_, s))| r.value_lte_max(*s))?;
                r.value_gte_min(s).then_some(last - back)
            }
        }
    }

    /// Rank of the first member inside the lex range `r`.
    pub fn first_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        match self {
            ZSetValue::Skiplist(ss) => ss.first_in_lex_range(r),
            ZSetValue::Listpack(_) => {
                if r.is_empty_range() {
                    return None;
                }
                let mut scratch = [0u8; INTBUF_SIZE];
                for (rank, (m, _)) in self.iter().enumerate() {
                    let m = m.to_bytes(&mut scratch);
                    if r.value_gte_min(m) {
                        return r.value_lte_max(m).then_some(rank);
                    }
                }
                None
            }
        }
    }

    /// Rank of the last member inside the lex range `r`.
    pub fn last_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        match self {
            ZSetValue::Skiplist(ss) => ss.last_in_lex_range(r),
            ZSetValue::Listpack(_) => {
                if r.is_empty_range() {
                    return None;
                }
                let last = self.len().checked_sub(1)?;
                let mut scratch = [0u8; INTBUF_SIZE];
                for (back, (m, _)) in self.iter_from(last, true).enumerate() {
                    let m = m.to_bytes(&mut scratch);
                    if r.value_lte_max(m) {
                        return r.value_gte_min(m).then_some(last - back);
                    }
                }
                None
            }
        }
    }

    /// Removes the members at ascending ranks `start..=end` (clamped); returns how many went.
    pub fn delete_rank_range(&mut self, start: usize, end: usize) -> usize {
        let len = self.len();
        if start > end || start >= len {
            return 0;
        }
        let count = end.min(len - 1) - start + 1;
        match self {
            ZSetValue::Listpack(lp) => {
                lp.delete_range(2 * start, 2 * count);
                count
            }
            ZSetValue::Skiplist(ss) => ss.delete_rank_range(start, end, |_, _| {}),
        }
    }

    /// Removes up to `n` members from the low end (or the high end when `max`) and returns them in
    /// pop order: ascending for the minimum, descending for the maximum.
    pub fn pop(&mut self, max: bool, n: usize) -> Vec<(Vec<u8>, f64)> {
        let len = self.len();
        let n = n.min(len);
        if n == 0 {
            return Vec::new();
        }
        let (start, reverse_from) = if max { (len - n, Some(len - 1)) } else { (0, None) };
        let out: Vec<(Vec<u8>, f64)> = match reverse_from {
            Some(last) => self.iter_from(last, true).take(n).map(|(m, s)| (m.to_vec(), s)).collect(),
            None => self.iter().take(n).map(|(m, s)| (m.to_vec(), s)).collect(),
        };
        self.delete_rank_range(start, start + n - 1);
        out
    }

    /// Removes `member`; whether it was present.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self {
            ZSetValue::Listpack(lp) => match lp_find(lp, member) {
                Some((e, _)) => {
                    lp_delete_pair(lp, e);
                    true
                }
                None => false,
            },
            ZSetValue::Skiplist(ss) => ss.remove(member).is_some(),
        }
    }

    /// Turns a listpack into a skiplist (zsetConvert); a skiplist stays as it is.
    pub fn convert_to_skiplist(&mut self) {
        if let ZSetValue::Listpack(lp) = self {
            let mut ss = SortedSet::new();
            let mut scratch = [0u8; INTBUF_SIZE];
            let lp: &Listpack = lp;
            for (m, s) in (Iter::Listpack { lp, pos: lp.first(), reverse: false }) {
                ss.insert(m.to_bytes(&mut scratch), s);
            }
            *self = ZSetValue::Skiplist(Box::new(ss));
        }
    }

    /// Adds or updates a member with ZADD's semantics (zsetAdd), converting the encoding first when a
    /// new member would not fit the listpack thresholds.
    pub fn add(&mut self, member: &[u8], score: f64, flags: AddFlags, limits: ZSetLimits) -> AddOutcome {
        if score.is_nan() {
            return AddOutcome::NotANumber;
        }
        if let ZSetValue::Listpack(lp) = self {
            if let Some((e, cur)) = lp_find(lp, member) {
                let new = match resolve_existing(cur, score, flags) {
                    Ok(new) => new,
                    Err(outcome) => return outcome,
                };
                if new == cur {
                    return AddOutcome::Unchanged(new);
                }
                lp_delete_pair(lp, e);
                lp_insert(lp, member, new);
                return AddOutcome::Updated(new);
            }
            if flags.xx {
                return AddOutcome::Nop;
            }
            let fits = lp.len() / 2 < limits.max_entries
                && member.len() <= limits.max_value
                && lp.bytes_len() + member.len() <= LISTPACK_MAX_SAFETY_SIZE;
            if fits {
                lp_insert(lp, member, score);
                return AddOutcome::Added(score);
            }
            self.convert_to_skiplist();
        }
        let ZSetValue::Skiplist(ss) = self else { return AddOutcome::Nop };
        match ss.score(member) {
            Some(cur) => {
                let new = match resolve_existing(cur, score, flags) {
                    Ok(new) => new,
                    Err(outcome) => return outcome,
                };
                if new == cur {
                    return AddOutcome::Unchanged(new);
                }
                ss.update_score(member, new);
                AddOutcome::Updated(new)
            }
            None if flags.xx => AddOutcome::Nop,
            None => {
                ss.insert(member, score);
                AddOutcome::Added(score)
            }
        }
    }

    /// One ZSCAN step over a skiplist's member table; None for a listpack (scanned whole instead).
    pub fn scan_dict(&self, cursor: u64, f: impl FnMut(&[u8], &f64)) -> Option<u64> {
        match self {
            ZSetValue::Listpack(_) => None,
            ZSetValue::Skiplist(ss) => Some(ss.dict().scan(cursor, f)),
        }
    }

    /// The raw listpack entries (member and score text alternating), as ZSCAN returns them.
    pub fn listpack_entries(&self) -> Option<listpack::Iter<'_>> {
        match self {
            ZSetValue::Listpack(lp) => Some(lp.iter()),
            ZSetValue::Skiplist(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: ZSetLimits = ZSetLimits { max_entries: 128, max_value: 64 };

    fn members(z: &ZSetValue) -> Vec<(Vec<u8>, f64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn value_stays_small() {
        assert!(size_of::<ZSetValue>() <= 24);
        assert!(size_of::<super::super::Value>() <= 32);
    }

    #[test]
    fn strtod_rules() {
        assert_eq!(strtod_whole(b""), Some(0.0));
        assert_eq!(strtod_whole(b" 1.5"), Some(1.5));
        assert_eq!(strtod_whole(b"1e400"), Some(f64::INFINITY));
        assert_eq!(strtod_whole(b"-1e400"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_whole(b"1e-400"), Some(0.0));
        assert_eq!(strtod_whole(b"+inf"), Some(f64::INFINITY));
        assert_eq!(strtod_whole(b"nan"), None);
        assert_eq!(strtod_whole(b"1x"), None);
        assert_eq!(strtod_whole(b"  "), None);
    }

    #[test]
    fn listpack_order_and_score_entries() {
        let mut z = ZSetValue::new_listpack();
        for (m, s) in [(&b"b"[..], 2.0), (b"a", 2.0), (b"c", -1.5), (b"d", f64::INFINITY), (b"e", -0.0)] {
            assert_eq!(z.add(m, s, AddFlags::default(), SMALL), AddOutcome::Added(s));
        }
        let got = members(&z);
        let names: Vec<&[u8]> = got.iter().map(|(m, _)| m.as_slice()).collect();
        assert_eq!(names, [&b"c"[..], b"e", b"a", b"b", b"d"]);
        let ZSetValue::Listpack(lp) = &z else { panic!("encoding") };
        let raw: Vec<Vec<u8>> = lp.iter().map(|v| v.to_vec()).collect();
        assert_eq!(raw[1], b"-1.5");
        assert_eq!(raw[3], b"0", "-0 is stored as the integer 0");
        assert!(matches!(lp.iter().nth(5), Some(LpValue::Int(2))));
        assert_eq!(raw[9], b"inf");
        assert_eq!(z.rank(b"a", false), Some(2));
        assert_eq!(z.rank(b"a", true), Some(2));
        assert_eq!(z.rank(b"d", true), Some(0));
    }

    #[test]
    fn add_flags_follow_zsetadd() {
        let mut z = ZSetValue::new_listpack();
        z.add(b"x", 10.0, AddFlags::default(), SMALL);
        let gt = AddFlags { gt: true, ..Default::default() };
        assert_eq!(z.add(b"x", 5.0, gt, SMALL), AddOutcome::Nop);
        assert_eq!(z.add(b"x", 11.0, gt, SMALL), AddOutcome::Updated(11.0));
        let incr = AddFlags { incr: true, ..Default::default() };
        assert_eq!(z.add(b"x", 0.0, incr, SMALL), AddOutcome::Unchanged(11.0));
        z.add(b"y", f64::INFINITY, AddFlags::default(), SMALL);
        assert_eq!(z.add(b"y", f64::NEG_INFINITY, incr, SMALL), AddOutcome::NotANumber);
        let xx = AddFlags { xx: true, ..Default::default() };
        assert_eq!(z.add(b"new", 1.0, xx, SMALL), AddOutcome::Nop);
        assert_eq!(z.len(), 2);
    }

    #[test]
    fn converts_on_thresholds() {
        let limits = ZSetLimits { max_entries: 2, max_value: 4 };
        let mut z = ZSetValue::for_new_key(1, limits);
        z.add(b"a", 1.0, AddFlags::default(), limits);
        z.add(b"b", 2.0, AddFlags::default(), limits);
        assert_eq!(z.encoding(), "listpack");
        z.add(b"c", 3.0, AddFlags::default(), limits);
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSetValue::for_new_key(1, limits);
        z.add(b"a", 1.0, AddFlags::default(), limits);
        z.add(b"abcde", 1.0, AddFlags::default(), limits);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(members(&z), vec![(b"a".to_vec(), 1.0), (b"abcde".to_vec(), 1.0)]);
        assert_eq!(ZSetValue::for_new_key(5, limits).encoding(), "skiplist");
    }

    #[test]
    fn ranges_agree_across_encodings() {
        let mut lp = ZSetValue::new_listpack();
        let mut sl = ZSetValue::new_skiplist();
        for i in 0..20 {
            let m = format!("m{i:02}");
            lp.add(m.as_bytes(), f64::from(i / 2), AddFlags::default(), SMALL);
            sl.add(m.as_bytes(), f64::from(i / 2), AddFlags::default(), SMALL);
        }
        assert_eq!(members(&lp), members(&sl));
        let r = ScoreRange { min: 2.0, max: 5.0, minex: true, maxex: false };
        assert_eq!(lp.first_in_score_range(&r), sl.first_in_score_range(&r));
        assert_eq!(lp.last_in_score_range(&r), sl.last_in_score_range(&r));
        assert_eq!(lp.first_in_score_range(&r), Some(6));
        assert_eq!(lp.last_in_score_range(&r), Some(11));
        let rev: Vec<_> = lp.iter_from(11, true).take(3).map(|(m, s)| (m.to_vec(), s)).collect();
        let rev2: Vec<_> = sl.iter_from(11, true).take(3).map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(rev, rev2);
        assert_eq!(lp.pop(true, 3), sl.pop(true, 3));
        assert_eq!(lp.pop(false, 2), sl.pop(false, 2));
        assert_eq!(lp.delete_rank_range(3, 100), sl.delete_rank_range(3, 100));
        assert_eq!(members(&lp), members(&sl));
        assert_eq!(lp.len(), 3);
    }

    #[test]
    fn from_sorted_picks_encoding() {
        let items: Vec<(CompactBytes, f64)> = vec![(b"a"[..].into(), 1.0), (b"b"[..].into(), 2.5)];
        assert_eq!(ZSetValue::from_sorted(&items, SMALL).encoding(), "listpack");
        let tight = ZSetLimits { max_entries: 1, max_value: 64 };
        let z = ZSetValue::from_sorted(&items, tight);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.score(b"b"), Some(2.5));
    }
}
