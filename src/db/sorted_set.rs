//! `SortedSet`: the large representation of a Redis sorted set (Redis's `skiplist` encoding), used once
//! a zset outgrows its listpack. It owns two views of the same members: a `Dict<f64>` from member to
//! score (O(1) ZSCORE, and the table ZSCAN/ZRANDMEMBER walk, as Redis walks the zset's dict) and an
//! ordered index answering every rank and range question in O(log n).
//!
//! The index is an order-statistic B+tree rather than a skiplist: leaves hold sorted `(score, member)`
//! arrays and inner nodes hold, per child, the number of members below it. Leaves grow their arrays a
//! few slots at a time, so a half-full leaf costs half the memory, and the whole structure stays under
//! ~100 bytes per short member (94 measured by `memory_per_member`), where Redis spends ~120.
//!
//! Order is Redis's zslInsert order: score ascending, ties by member bytes (memcmp). Lex ranges walk that
//! same order, so they only mean something when all scores are equal — exactly as in Redis.
//!
//! This module never parses arguments, formats replies or picks an encoding; it must never hold a NaN
//! score (callers reject NaN before calling) and never let the dict and the index disagree.

use std::cmp::Ordering;
use std::iter::FusedIterator;

use super::bytes::CompactBytes;
use super::dict::Dict;

/// Most members a leaf holds; a full leaf splits in two.
const LEAF_MAX: usize = 64;
/// Below this a leaf borrows from or merges with a sibling. A quarter rather than a half leaves room
/// for mixed insert/remove traffic without splitting and merging the same leaves back and forth.
const LEAF_MIN: usize = LEAF_MAX / 4;
/// Leaf arrays grow and shrink in steps of this many slots: the unused tail averages half a step.
const LEAF_GROW: usize = 8;
/// Most children of an inner node.
const INNER_MAX: usize = 64;
/// Fewest children of a non-root inner node.
const INNER_MIN: usize = INNER_MAX / 4;

/// What one dict entry costs: a boxed `(CompactBytes, f64, next)` of 40 bytes is a 48-byte malloc chunk.
const DICT_ENTRY_BYTES: usize = 48;
/// Average index bytes per member, measured by `memory_per_member`: a 32-byte leaf slot, the unused
/// tail of leaf arrays and the inner nodes.
const INDEX_BYTES_PER_MEMBER: usize = 37;

/// One end of a score interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScoreBound {
    Incl(f64),
    Excl(f64),
}

/// A score interval with open or closed ends (Redis's zrangespec). Infinite ends are plain
/// `f64::NEG_INFINITY`/`f64::INFINITY` values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    /// The minimum itself is excluded.
    pub minex: bool,
    /// The maximum itself is excluded.
    pub maxex: bool,
}

impl ScoreRange {
    /// The interval between two bounds.
    pub fn new(min: ScoreBound, max: ScoreBound) -> Self {
        let (min, minex) = match min {
            ScoreBound::Incl(v) => (v, false),
            ScoreBound::Excl(v) => (v, true),
        };
        let (max, maxex) = match max {
            ScoreBound::Incl(v) => (v, false),
            ScoreBound::Excl(v) => (v, true),
        };
        ScoreRange { min, max, minex, maxex }
    }

    /// `v` is at or above the lower end.
    pub fn value_gte_min(&self, v: f64) -> bool {
        if self.minex { v > self.min } else { v >= self.min }
    }

    /// `v` is at or below the upper end.
    pub fn value_lte_max(&self, v: f64) -> bool {
        if self.maxex { v < self.max } else { v <= self.max }
    }

    /// No score can fall inside: `min > max`, or a single point with an excluded end.
    pub fn is_empty_range(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic interval (`-`, `+`, `[member`, `(member`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: below every member.
    NegInf,
    /// `+`: above every member.
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// A member interval (Redis's zlexrangespec); members compare as unsigned bytes, shorter prefix first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// The interval between two bounds.
    pub fn new(min: LexBound, max: LexBound) -> Self {
        LexRange { min, max }
    }

    /// `v` is at or above the lower end.
    pub fn value_gte_min(&self, v: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(m) => v >= m.as_slice(),
            LexBound::Excl(m) => v > m.as_slice(),
        }
    }

    /// `v` is at or below the upper end.
    pub fn value_lte_max(&self, v: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(m) => v <= m.as_slice(),
            LexBound::Excl(m) => v < m.as_slice(),
        }
    }

    /// No member can fall inside. Redis parses `-` and `+` as exclusive, so `- -` and `+ +` are empty.
    pub fn is_empty_range(&self) -> bool {
        use LexBound::*;
        match (&self.min, &self.max) {
            (NegInf, NegInf) | (PosInf, PosInf) | (PosInf, _) | (_, NegInf) => true,
            (NegInf, _) | (_, PosInf) => false,
            (Incl(a) | Excl(a), Incl(b) | Excl(b)) => match a.cmp(b) {
                Ordering::Greater => true,
                Ordering::Equal => matches!(self.min, Excl(_)) || matches!(self.max, Excl(_)),
                Ordering::Less => false,
            },
        }
    }
}

/// Redis's member order: score, then member bytes. NaN never reaches here; it would compare as a tie.
fn key_cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    if s1 < s2 {
        Ordering::Less
    } else if s1 > s2 {
        Ordering::Greater
    } else {
        m1.cmp(m2)
    }
}

/// A leaf slot, and also an inner node's separator key.
#[derive(Clone, Debug)]
struct Entry {
    score: f64,
    member: CompactBytes,
}

impl Entry {
    fn cmp_to(&self, score: f64, member: &[u8]) -> Ordering {
        key_cmp(self.score, &self.member, score, member)
    }
}

#[derive(Clone, Debug)]
enum Node {
    /// Sorted members; never empty unless it is the root.
    Leaf(Vec<Entry>),
    Inner(Box<Inner>),
}

/// An inner node: `children.len() == counts.len() == keys.len() + 1`.
#[derive(Clone, Debug)]
struct Inner {
    /// `keys[i]` separates `children[i]` and `children[i + 1]`: everything in the former sorts below it,
    /// everything in the latter at or above it. It need not be a current member (removals leave stale
    /// separators, which remain valid bounds).
    keys: Vec<Entry>,
    /// Members under each child: ranks are prefix sums of these.
    counts: Vec<usize>,
    children: Vec<Node>,
}

impl Node {
    fn len(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(inner) => inner.counts.iter().sum(),
        }
    }

    fn is_underfull(&self) -> bool {
        match self {
            Node::Leaf(v) => v.len() < LEAF_MIN,
            Node::Inner(inner) => inner.children.len() < INNER_MIN,
        }
    }
}

/// Make room for `extra` more entries, growing by whole steps rather than doubling.
fn leaf_reserve(v: &mut Vec<Entry>, extra: usize) {
    let need = v.len() + extra;
    if need > v.capacity() {
        v.reserve_exact(need.next_multiple_of(LEAF_GROW) - v.len());
    }
}

/// Give back an unused tail once it exceeds two steps, keeping one step of headroom.
fn leaf_trim(v: &mut Vec<Entry>) {
    if v.capacity() - v.len() > 2 * LEAF_GROW {
        v.shrink_to(v.len() + LEAF_GROW);
    }
}

/// Insert into a subtree; returns the separator and new right sibling when the subtree split.
fn node_insert(node: &mut Node, e: Entry) -> Option<(Entry, Node)> {
    match node {
        Node::Leaf(v) => {
            let pos = v.partition_point(|x| x.cmp_to(e.score, &e.member) == Ordering::Less);
            if v.len() < LEAF_MAX {
                leaf_reserve(v, 1);
                v.insert(pos, e);
                return None;
            }
            let mid = v.len() / 2;
            let mut right = Vec::with_capacity((v.len() - mid + 1).next_multiple_of(LEAF_GROW));
            right.extend(v.drain(mid..));
            if pos <= mid {
                v.insert(pos, e);
            } else {
                right.insert(pos - mid, e);
            }
            leaf_trim(v);
            let sep = right.first()?.clone();
            Some((sep, Node::Leaf(right)))
        }
        Node::Inner(inner) => {
            let i = inner.child_for(e.score, &e.member);
            inner.counts[i] += 1;
            let (sep, right) = node_insert(&mut inner.children[i], e)?;
            let right_len = right.len();
            inner.counts[i] -= right_len;
            inner.keys.insert(i, sep);
            inner.counts.insert(i + 1, right_len);
            inner.children.insert(i + 1, right);
            if inner.children.len() > INNER_MAX { inner.split() } else { None }
        }
    }
}

/// Remove one member from a subtree.
fn node_remove(node: &mut Node, score: f64, member: &[u8]) -> Option<Entry> {
    match node {
        Node::Leaf(v) => {
            let pos = v.binary_search_by(|x| x.cmp_to(score, member)).ok()?;
            let e = v.remove(pos);
            leaf_trim(v);
            Some(e)
        }
        Node::Inner(inner) => {
            let i = inner.child_for(score, member);
            let e = node_remove(&mut inner.children[i], score, member)?;
            inner.counts[i] -= 1;
            inner.fix_underflow(i);
            Some(e)
        }
    }
}

/// Move up to `max` members starting at `rank` into `out`, all from the one leaf holding `rank`.
fn node_drain_run(node: &mut Node, rank: usize, max: usize, out: &mut Vec<Entry>) {
    match node {
        Node::Leaf(v) => {
            let end = rank.saturating_add(max).min(v.len());
            out.extend(v.drain(rank.min(end)..end));
            leaf_trim(v);
        }
        Node::Inner(inner) => {
            let (i, sub) = inner.child_at_rank(rank);
            let before = out.len();
            node_drain_run(&mut inner.children[i], sub, max, out);
            inner.counts[i] -= out.len() - before;
            inner.fix_underflow(i);
        }
    }
}

/// Change a member's score where it stands, if the new key still sorts between its neighbours (the
/// separators `lo`/`hi` bound the leaf's edges). Redis's zslUpdateScore makes the same shortcut.
fn node_update_in_place(
    node: &mut Node,
    score: f64,
    member: &[u8],
    new_score: f64,
    lo: Option<&Entry>,
    hi: Option<&Entry>,
) -> bool {
    match node {
        Node::Leaf(v) => {
            let Ok(pos) = v.binary_search_by(|x| x.cmp_to(score, member)) else { return false };
            let sorts_above_new = |x: &Entry| x.cmp_to(new_score, member) == Ordering::Greater;
            // Leaf neighbours are members and must stay strictly apart; a separator may equal the key.
            let above_prev = match pos.checked_sub(1) {
                Some(p) => v[p].cmp_to(new_score, member) == Ordering::Less,
                None => lo.is_none_or(|sep| !sorts_above_new(sep)),
            };
            let below_next = match v.get(pos + 1) {
                Some(next) => sorts_above_new(next),
                None => hi.is_none_or(sorts_above_new),
            };
            if above_prev && below_next {
                v[pos].score = new_score;
            }
            above_prev && below_next
        }
        Node::Inner(inner) => {
            let i = inner.child_for(score, member);
            let Inner { keys, children, .. } = &mut **inner;
            let lo = if i > 0 { keys.get(i - 1) } else { lo };
            let hi = keys.get(i).or(hi);
            node_update_in_place(&mut children[i], score, member, new_score, lo, hi)
        }
    }
}

impl Inner {
    /// The child whose key interval holds `(score, member)`.
    fn child_for(&self, score: f64, member: &[u8]) -> usize {
        self.keys.partition_point(|k| k.cmp_to(score, member) != Ordering::Greater)
    }

    /// The child holding `rank`, and the rank within it. A rank past the end lands past the last child's
    /// end, which every caller treats as "nothing there".
    fn child_at_rank(&self, mut rank: usize) -> (usize, usize) {
        for (i, &c) in self.counts.iter().enumerate() {
            if rank < c {
                return (i, rank);
            }
            rank -= c;
        }
        let last = self.counts.len().saturating_sub(1);
        (last, rank + self.counts.get(last).copied().unwrap_or(0))
    }

    /// Split an overfull node in half; the middle separator moves up.
    fn split(&mut self) -> Option<(Entry, Node)> {
        let mid = self.children.len() / 2;
        let children = self.children.split_off(mid);
        let counts = self.counts.split_off(mid);
        let keys = self.keys.split_off(mid);
        let sep = self.keys.pop()?;
        Some((sep, Node::Inner(Box::new(Inner { keys, counts, children }))))
    }

    /// Restore the fill of `children[i]` after it shrank: merge it with a neighbour when both fit in one
    /// node, otherwise even the two out.
    fn fix_underflow(&mut self, i: usize) {
        if self.children.len() < 2 || !self.children[i].is_underfull() {
            return;
        }
        let l = i.saturating_sub(1);
        let r = l + 1;
        let fits = match (&self.children[l], &self.children[r]) {
            (Node::Leaf(a), Node::Leaf(b)) => a.len() + b.len() <= LEAF_MAX,
            (Node::Inner(a), Node::Inner(b)) => a.children.len() + b.children.len() <= INNER_MAX,
            // All leaves sit at the same depth, so siblings are always of one kind.
            _ => return,
        };
        if fits {
            let sep = self.keys.remove(l);
            let right = self.children.remove(r);
            let right_len = self.counts.remove(r);
            self.counts[l] += right_len;
            match (&mut self.children[l], right) {
                (Node::Leaf(a), Node::Leaf(mut b)) => {
                    leaf_reserve(a, b.len());
                    a.append(&mut b);
                }
                (Node::Inner(a), Node::Inner(b)) => {
                    let b = *b;
                    a.keys.push(sep);
                    a.keys.extend(b.keys);
                    a.counts.extend(b.counts);
                    a.children.extend(b.children);
                }
                _ => {}
            }
            return;
        }
        let (head, tail) = self.children.split_at_mut(r);
        let sep = &mut self.keys[l];
        match (&mut head[l], &mut tail[0]) {
            (Node::Leaf(a), Node::Leaf(b)) => {
                let want_left = (a.len() + b.len()) / 2;
                if a.len() > want_left {
                    let moved: Vec<Entry> = a.drain(want_left..).collect();
                    leaf_reserve(b, moved.len());
                    b.splice(0..0, moved);
                } else {
                    let k = want_left - a.len();
                    leaf_reserve(a, k);
                    a.extend(b.drain(..k));
                }
                leaf_trim(a);
                leaf_trim(b);
                if let Some(first) = b.first() {
                    *sep = first.clone();
                }
                self.counts[l] = a.len();
                self.counts[r] = b.len();
            }
            (Node::Inner(a), Node::Inner(b)) => {
                let want_left = (a.children.len() + b.children.len()) / 2;
                if a.children.len() < want_left {
                    // Rotate left: the parent separator comes down after a's last child, b's k-th
                    // separator goes up.
                    let k = want_left - a.children.len();
                    let mut moved: Vec<Entry> = b.keys.drain(..k).collect();
                    if let Some(up) = moved.pop() {
                        a.keys.push(std::mem::replace(sep, up));
                        a.keys.extend(moved);
                        a.counts.extend(b.counts.drain(..k));
                        a.children.extend(b.children.drain(..k));
                    }
                } else if a.children.len() > want_left {
                    let k = a.children.len() - want_left;
                    let n = a.children.len();
                    let mut moved: Vec<Entry> = a.keys.drain(n - k..).collect();
                    if let Some(up) = a.keys.pop() {
                        moved.push(std::mem::replace(sep, up));
                        b.keys.splice(0..0, moved);
                        b.counts.splice(0..0, a.counts.drain(n - k..));
                        b.children.splice(0..0, a.children.drain(n - k..));
                    }
                }
                self.counts[l] = a.counts.iter().sum();
                self.counts[r] = b.counts.iter().sum();
            }
            _ => {}
        }
    }
}

/// The ordered index: an order-statistic B+tree over `(score, member)`.
#[derive(Clone, Debug)]
struct Index {
    root: Node,
    len: usize,
}

impl Index {
    fn new() -> Self {
        Index { root: Node::Leaf(Vec::new()), len: 0 }
    }

    fn insert(&mut self, e: Entry) {
        if let Some((sep, right)) = node_insert(&mut self.root, e) {
            let right_len = right.len();
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let inner = Inner {
                keys: vec![sep],
                counts: vec![self.len + 1 - right_len, right_len],
                children: vec![left, right],
            };
            self.root = Node::Inner(Box::new(inner));
        }
        self.len += 1;
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> Option<Entry> {
        let e = node_remove(&mut self.root, score, member)?;
        self.len -= 1;
        self.collapse_root();
        Some(e)
    }

    /// Drop root levels left with a single child.
    fn collapse_root(&mut self) {
        while let Node::Inner(inner) = &mut self.root
            && inner.children.len() == 1
            && let Some(child) = inner.children.pop()
        {
            self.root = child;
        }
    }

    fn update(&mut self, score: f64, member: &[u8], new_score: f64) {
        if node_update_in_place(&mut self.root, score, member, new_score, None, None) {
            return;
        }
        if let Some(mut e) = self.remove(score, member) {
            e.score = new_score;
            self.insert(e);
        }
    }

    /// Remove `count` members from `start` on, handing each to `f`; one leaf run per descent.
    fn delete_run(&mut self, start: usize, mut count: usize, mut f: impl FnMut(Entry)) {
        let mut out = Vec::new();
        while count > 0 && start < self.len {
            node_drain_run(&mut self.root, start, count, &mut out);
            if out.is_empty() {
                break;
            }
            self.len -= out.len();
            count = count.saturating_sub(out.len());
            self.collapse_root();
            out.drain(..).for_each(&mut f);
        }
    }

    /// How many members satisfy `below`, a predicate true on a prefix of the index order (and on every
    /// separator below that prefix's end).
    fn partition(&self, mut below: impl FnMut(f64, &[u8]) -> bool) -> usize {
        let mut node = &self.root;
        let mut rank = 0;
        loop {
            match node {
                Node::Inner(inner) => {
                    let i = inner.keys.partition_point(|k| below(k.score, &k.member));
                    rank += inner.counts[..i].iter().sum::<usize>();
                    node = &inner.children[i];
                }
                Node::Leaf(v) => return rank + v.partition_point(|e| below(e.score, &e.member)),
            }
        }
    }

    fn get(&self, mut rank: usize) -> Option<&Entry> {
        if rank >= self.len {
            return None;
        }
        let mut node = &self.root;
        loop {
            match node {
                Node::Inner(inner) => {
                    let (i, sub) = inner.child_at_rank(rank);
                    rank = sub;
                    node = &inner.children[i];
                }
                Node::Leaf(v) => return v.get(rank),
            }
        }
    }
}

/// Members in index order from a rank, ascending or descending.
pub struct Iter<'a> {
    /// The inner nodes above the current leaf, with the child taken in each.
    stack: Vec<(&'a Inner, usize)>,
    leaf: &'a [Entry],
    /// Ascending: the next slot to yield. Descending: one past it.
    pos: usize,
    remaining: usize,
    ascending: bool,
}

impl<'a> Iter<'a> {
    fn new(index: &'a Index, rank: usize, ascending: bool) -> Self {
        let mut it = Iter { stack: Vec::new(), leaf: &[], pos: 0, remaining: 0, ascending };
        if rank >= index.len {
            return it;
        }
        it.remaining = if ascending { index.len - rank } else { rank + 1 };
        let mut node = &index.root;
        let mut rank = rank;
        loop {
            match node {
                Node::Inner(inner) => {
                    let (i, sub) = inner.child_at_rank(rank);
                    it.stack.push((&**inner, i));
                    rank = sub;
                    node = &inner.children[i];
                }
                Node::Leaf(v) => {
                    it.leaf = v;
                    it.pos = if ascending { rank } else { rank + 1 };
                    return it;
                }
            }
        }
    }

    /// Step to the neighbouring leaf in the iteration direction; None at the end of the tree.
    fn next_leaf(&mut self) -> Option<()> {
        let mut node = loop {
            let (inner, idx) = self.stack.last_mut()?;
            let inner: &'a Inner = inner;
            let next =
                if self.ascending { Some(*idx + 1).filter(|&n| n < inner.children.len()) } else { idx.checked_sub(1) };
            match next {
                Some(n) => {
                    *idx = n;
                    break &inner.children[n];
                }
                None => {
                    self.stack.pop();
                }
            }
        };
        loop {
            match node {
                Node::Inner(inner) => {
                    let i = if self.ascending { 0 } else { inner.children.len().saturating_sub(1) };
                    self.stack.push((&**inner, i));
                    node = inner.children.get(i)?;
                }
                Node::Leaf(v) => {
                    self.leaf = v;
                    self.pos = if self.ascending { 0 } else { v.len() };
                    return Some(());
                }
            }
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            let slot = if self.ascending {
                let e = self.leaf.get(self.pos);
                if e.is_some() {
                    self.pos += 1;
                }
                e
            } else if self.pos > 0 {
                self.pos -= 1;
                self.leaf.get(self.pos)
            } else {
                None
            };
            if let Some(e) = slot {
                self.remaining -= 1;
                return Some((&e.member, e.score));
            }
            if self.next_leaf().is_none() {
                self.remaining = 0;
                return None;
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

/// A sorted set: member → score, ordered by (score, member), with ranks.
pub struct SortedSet {
    dict: Dict<f64>,
    index: Index,
    /// Heap bytes of members too long to be stored inline, counted once (the dict and the index each
    /// hold a copy).
    long_member_bytes: usize,
}

impl Default for SortedSet {
    fn default() -> Self {
        Self::new()
    }
}

impl SortedSet {
    /// An empty set.
    pub fn new() -> Self {
        SortedSet { dict: Dict::new(), index: Index::new(), long_member_bytes: 0 }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.index.len
    }

    /// No members (a zset key never stays empty; callers delete it).
    pub fn is_empty(&self) -> bool {
        self.index.len == 0
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.dict.get(member).copied()
    }

    /// Add a new member; false (and nothing changes) when it is already present.
    pub fn insert(&mut self, member: &[u8], score: f64) -> bool {
        debug_assert!(!score.is_nan(), "NaN score");
        if self.dict.contains_key(member) {
            return false;
        }
        let key = CompactBytes::from(member);
        self.long_member_bytes += key.heap_size();
        self.dict.insert_new(key.clone(), score);
        self.index.insert(Entry { score, member: key });
        true
    }

    /// Give an existing member a new score; returns the old one (None when absent). An equal score
    /// changes nothing, and a score that keeps the member's position is updated in place.
    pub fn update_score(&mut self, member: &[u8], new_score: f64) -> Option<f64> {
        debug_assert!(!new_score.is_nan(), "NaN score");
        let slot = self.dict.get_mut(member)?;
        let old = *slot;
        if old != new_score {
            *slot = new_score;
            self.index.update(old, member, new_score);
        }
        Some(old)
    }

    /// Remove a member; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let (key, score) = self.dict.remove(member)?;
        self.long_member_bytes -= key.heap_size();
        self.index.remove(score, member);
        Some(score)
    }

    /// 0-based ascending rank of `member` (Redis's zslGetRank minus one).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let score = self.score(member)?;
        let rank = self.index.partition(|s, m| key_cmp(s, m, score, member) == Ordering::Less);
        let e = self.index.get(rank)?;
        (&*e.member == member).then_some(rank)
    }

    /// The member and score at a 0-based ascending rank.
    pub fn get_by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        self.index.get(rank).map(|e| (&*e.member, e.score))
    }

    /// All members, ascending.
    pub fn iter(&self) -> Iter<'_> {
        Iter::new(&self.index, 0, true)
    }

    /// Members ascending from `rank` on; empty when `rank` is past the end.
    pub fn iter_from(&self, rank: usize) -> Iter<'_> {
        Iter::new(&self.index, rank, true)
    }

    /// Members descending from the one at ascending `rank` down to rank 0; empty when `rank` is past
    /// the end.
    pub fn iter_rev_from(&self, rank: usize) -> Iter<'_> {
        Iter::new(&self.index, rank, false)
    }

    /// Rank of the first member whose score lies in `r` (zslFirstInRange).
    pub fn first_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        if r.is_empty_range() {
            return None;
        }
        let rank = self.index.partition(|s, _| !r.value_gte_min(s));
        let e = self.index.get(rank)?;
        r.value_lte_max(e.score).then_some(rank)
    }

    /// Rank of the last member whose score lies in `r` (zslLastInRange).
    pub fn last_in_score_range(&self, r: &ScoreRange) -> Option<usize> {
        if r.is_empty_range() {
            return None;
        }
        let rank = self.index.partition(|s, _| r.value_lte_max(s)).checked_sub(1)?;
        let e = self.index.get(rank)?;
        r.value_gte_min(e.score).then_some(rank)
    }

    /// Rank of the first member inside `r` (zslFirstInLexRange), searching the index order as if all
    /// scores were equal.
    pub fn first_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        if r.is_empty_range() {
            return None;
        }
        let rank = self.index.partition(|_, m| !r.value_gte_min(m));
        let e = self.index.get(rank)?;
        (r.value_gte_min(&e.member) && r.value_lte_max(&e.member)).then_some(rank)
    }

    /// Rank of the last member inside `r` (zslLastInLexRange), under the same equal-score assumption.
    pub fn last_in_lex_range(&self, r: &LexRange) -> Option<usize> {
        if r.is_empty_range() {
            return None;
        }
        let rank = self.index.partition(|_, m| r.value_lte_max(m)).checked_sub(1)?;
        let e = self.index.get(rank)?;
        (r.value_gte_min(&e.member) && r.value_lte_max(&e.member)).then_some(rank)
    }

    /// Remove the members at ranks `start..=end` (clamped to the set), passing each removed member and
    /// its score to `removed` in ascending order; returns how many went. ZREMRANGEBY* and ZPOP* use it.
    pub fn delete_rank_range(
        &mut self,
        start: usize,
        end_inclusive: usize,
        mut removed: impl FnMut(CompactBytes, f64),
    ) -> usize {
        if start > end_inclusive || start >= self.len() {
            return 0;
        }
        let count = end_inclusive.min(self.len() - 1) - start + 1;
        let SortedSet { dict, index, long_member_bytes } = self;
        index.delete_run(start, count, |e| {
            dict.remove(&e.member);
            *long_member_bytes -= e.member.heap_size();
            removed(e.member, e.score);
        });
        count
    }

    /// The member → score table (ZSCAN cursors, random sampling).
    pub fn dict(&self) -> &Dict<f64> {
        &self.dict
    }

    /// Estimated heap bytes (for used_memory and MEMORY USAGE), in O(1): the dict's buckets and
    /// entries, the index at its measured per-member cost, and long members' out-of-line bytes.
    pub fn heap_size(&self) -> usize {
        self.dict.slots() * size_of::<usize>()
            + self.len() * (DICT_ENTRY_BYTES + INDEX_BYTES_PER_MEMBER)
            + 2 * self.long_member_bytes
    }
}

impl Clone for SortedSet {
    fn clone(&self) -> Self {
        let index = self.index.clone();
        let mut dict = Dict::new();
        for (member, score) in Iter::new(&index, 0, true) {
            dict.insert_new(member.into(), score);
        }
        SortedSet { dict, index, long_member_bytes: self.long_member_bytes }
    }
}

impl PartialEq for SortedSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

// Scores are never NaN, so equality is reflexive.
impl Eq for SortedSet {}

impl std::fmt::Debug for SortedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s))).finish()
    }
}

#[cfg(test)]
mod tests;
