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
mod tests {
    use super::*;
    use std::collections::HashMap;

    const INF: f64 = f64::INFINITY;
    const NINF: f64 = f64::NEG_INFINITY;

    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        /// Scores with many ties, both infinities and both zeros.
        fn score(&mut self) -> f64 {
            match self.below(12) {
                0 => NINF,
                1 => INF,
                2 => -0.0,
                3 => 0.0,
                4..=7 => self.below(20) as f64 - 5.0,
                _ => self.below(100_000) as f64 / 37.0,
            }
        }
    }

    /// Members of a universe of `n`: short, empty, high bytes, prefixes of each other, and over 22 bytes.
    fn member(i: usize) -> Vec<u8> {
        match i % 10 {
            _ if i == 1 => Vec::new(),
            0 => format!("a-member-name-longer-than-22-bytes:{i}").into_bytes(),
            3 => [&[0xff, 0x00][..], format!("{i}").as_bytes()].concat(),
            _ => format!("m{i}").into_bytes(),
        }
    }

    /// The reference: a sorted vector plus a member map.
    #[derive(Default)]
    struct Model {
        v: Vec<(f64, Vec<u8>)>,
        map: HashMap<Vec<u8>, f64>,
    }

    impl Model {
        fn pos(&self, s: f64, m: &[u8]) -> usize {
            self.v.partition_point(|(s2, m2)| key_cmp(*s2, m2, s, m) == Ordering::Less)
        }

        fn insert(&mut self, m: &[u8], s: f64) -> bool {
            if self.map.contains_key(m) {
                return false;
            }
            self.map.insert(m.to_vec(), s);
            let p = self.pos(s, m);
            self.v.insert(p, (s, m.to_vec()));
            true
        }

        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let s = self.map.remove(m)?;
            let p = self.pos(s, m);
            self.v.remove(p);
            Some(s)
        }

        fn update(&mut self, m: &[u8], s: f64) -> Option<f64> {
            let old = *self.map.get(m)?;
            if old != s {
                self.remove(m);
                self.insert(m, s);
            }
            Some(old)
        }

        fn rank(&self, m: &[u8]) -> Option<usize> {
            self.map.get(m).map(|&s| self.pos(s, m))
        }

        fn first_where(&self, f: impl Fn(&(f64, Vec<u8>)) -> bool) -> Option<usize> {
            self.v.iter().position(f)
        }

        fn last_where(&self, f: impl Fn(&(f64, Vec<u8>)) -> bool) -> Option<usize> {
            self.v.iter().rposition(f)
        }
    }

    /// Verify every structural invariant of the tree and its agreement with the dict; returns the height.
    fn check(ss: &SortedSet) -> usize {
        fn walk(
            node: &Node,
            root: bool,
            lo: Option<&Entry>,
            hi: Option<&Entry>,
            depth: usize,
            leaf_depth: &mut Option<usize>,
        ) -> usize {
            match node {
                Node::Leaf(v) => {
                    assert!(root || (LEAF_MIN..=LEAF_MAX).contains(&v.len()), "leaf size {}", v.len());
                    assert!(v.capacity() <= v.len() + 2 * LEAF_GROW, "leaf slack {} for {}", v.capacity(), v.len());
                    for w in v.windows(2) {
                        assert_eq!(w[0].cmp_to(w[1].score, &w[1].member), Ordering::Less);
                    }
                    for e in v {
                        assert!(lo.is_none_or(|k| k.cmp_to(e.score, &e.member) != Ordering::Greater));
                        assert!(hi.is_none_or(|k| k.cmp_to(e.score, &e.member) == Ordering::Greater));
                    }
                    assert_eq!(*leaf_depth.get_or_insert(depth), depth, "leaves at different depths");
                    v.len()
                }
                Node::Inner(inner) => {
                    let n = inner.children.len();
                    assert_eq!(inner.counts.len(), n);
                    assert_eq!(inner.keys.len() + 1, n);
                    assert!(n <= INNER_MAX && n >= if root { 2 } else { INNER_MIN }, "inner size {n}");
                    let mut total = 0;
                    for (i, child) in inner.children.iter().enumerate() {
                        let clo = if i > 0 { inner.keys.get(i - 1) } else { lo };
                        let chi = inner.keys.get(i).or(hi);
                        let c = walk(child, false, clo, chi, depth + 1, leaf_depth);
                        assert_eq!(c, inner.counts[i]);
                        total += c;
                    }
                    total
                }
            }
        }
        let mut leaf_depth = None;
        assert_eq!(walk(&ss.index.root, true, None, None, 0, &mut leaf_depth), ss.len());
        assert_eq!(ss.dict.len(), ss.len());
        let mut n = 0;
        for (m, s) in ss.iter() {
            assert_eq!(ss.score(m), Some(s));
            n += 1;
        }
        assert_eq!(n, ss.len());
        leaf_depth.unwrap_or(0) + 1
    }

    fn assert_same(ss: &SortedSet, model: &Model) {
        assert_eq!(ss.len(), model.v.len());
        let got: Vec<(f64, Vec<u8>)> = ss.iter().map(|(m, s)| (s, m.to_vec())).collect();
        assert_eq!(got, model.v);
    }

    fn random_score_range(rng: &mut Rng) -> ScoreRange {
        let (a, b) = (rng.score(), rng.score());
        let (min, max) = if rng.below(5) == 0 { (a, b) } else { (a.min(b), a.max(b)) };
        ScoreRange { min, max, minex: rng.below(2) == 0, maxex: rng.below(2) == 0 }
    }

    #[test]
    fn randomized_against_model() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut ss = SortedSet::new();
        let mut model = Model::default();
        let universe = 30_000;
        let (mut heights, mut max_len, mut min_len_after_shrink) = (Vec::new(), 0, usize::MAX);
        for phase in 0..8 {
            let growing = phase % 2 == 0;
            for op in 0..20_000 {
                let m = member(rng.below(universe));
                let roll = rng.below(100);
                // Cumulative thresholds: growing phases favour inserts, shrinking ones removals.
                let thresholds = if growing { [55, 65, 70, 73, 80, 88] } else { [10, 25, 55, 65, 70, 85] };
                match thresholds.iter().position(|&t| roll < t).unwrap_or(6) {
                    0 => {
                        let s = rng.score();
                        assert_eq!(ss.insert(&m, s), model.insert(&m, s));
                    }
                    1 => {
                        // Mostly existing members, with small and large moves.
                        let m = match model.v.get(rng.below(model.v.len())) {
                            Some((_, m)) if rng.below(4) > 0 => m.clone(),
                            _ => m,
                        };
                        let s = match (rng.below(3), model.map.get(&m)) {
                            (0, Some(&old)) => old + 0.5,
                            _ => rng.score(),
                        };
                        assert_eq!(ss.update_score(&m, s), model.update(&m, s));
                    }
                    2 => assert_eq!(ss.remove(&m), model.remove(&m)),
                    3 => {
                        let len = model.v.len();
                        let start = rng.below(len + 3);
                        let end = match rng.below(10) {
                            0 if !growing || rng.below(20) == 0 => usize::MAX,
                            1 if start > 0 => start - 1,
                            _ => start + rng.below(if growing { 4 } else { 250 }),
                        };
                        let mut removed = Vec::new();
                        let n = ss.delete_rank_range(start, end, |m, s| removed.push((s, m.to_vec())));
                        let expect: Vec<(f64, Vec<u8>)> = if start <= end && start < len {
                            let end = end.min(len - 1);
                            model.v[start..=end].to_vec()
                        } else {
                            Vec::new()
                        };
                        for (_, m) in &expect {
                            model.remove(m);
                        }
                        assert_eq!(n, expect.len());
                        assert_eq!(removed, expect);
                    }
                    4 => {
                        assert_eq!(ss.score(&m), model.map.get(&m).copied());
                        assert_eq!(ss.rank(&m), model.rank(&m));
                        let r = rng.below(model.v.len() + 2);
                        assert_eq!(ss.get_by_rank(r), model.v.get(r).map(|(s, m)| (m.as_slice(), *s)));
                    }
                    5 => {
                        let r = random_score_range(&mut rng);
                        let inside = |(s, _): &(f64, Vec<u8>)| r.value_gte_min(*s) && r.value_lte_max(*s);
                        assert_eq!(ss.first_in_score_range(&r), model.first_where(inside), "{r:?}");
                        assert_eq!(ss.last_in_score_range(&r), model.last_where(inside), "{r:?}");
                    }
                    _ => {
                        let len = model.v.len();
                        let r = rng.below(len + 2);
                        let take = rng.below(80);
                        let fwd: Vec<(f64, Vec<u8>)> =
                            ss.iter_from(r).take(take).map(|(m, s)| (s, m.to_vec())).collect();
                        let expect = model.v.get(r..).map_or(&[][..], |t| &t[..take.min(t.len())]);
                        assert_eq!(fwd, expect);
                        assert_eq!(ss.iter_from(r).len(), len.saturating_sub(r));
                        let rev: Vec<(f64, Vec<u8>)> =
                            ss.iter_rev_from(r).take(take).map(|(m, s)| (s, m.to_vec())).collect();
                        let expect: Vec<(f64, Vec<u8>)> =
                            if r < len { model.v[..=r].iter().rev().take(take).cloned().collect() } else { Vec::new() };
                        assert_eq!(rev, expect);
                        assert_eq!(ss.iter_rev_from(r).len(), if r < len { r + 1 } else { 0 });
                    }
                }
                if op % 1000 == 0 {
                    heights.push(check(&ss));
                }
                max_len = max_len.max(ss.len());
            }
            heights.push(check(&ss));
            assert_same(&ss, &model);
            min_len_after_shrink = min_len_after_shrink.min(if growing { usize::MAX } else { ss.len() });
        }
        // The phases must have driven the tree through several levels and back down.
        assert!(heights.iter().max() >= Some(&3), "{max_len} {heights:?}");
        assert!(max_len > 5000 && min_len_after_shrink < 2000, "{max_len} {min_len_after_shrink}");
    }

    #[test]
    fn randomized_lex_ranges_with_equal_scores() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut ss = SortedSet::new();
        let mut model = Model::default();
        let bound = |rng: &mut Rng| match rng.below(10) {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2..=5 => LexBound::Incl(member(rng.below(6000))),
            _ => LexBound::Excl(member(rng.below(6000))),
        };
        for op in 0..30_000 {
            let m = member(rng.below(6000));
            match rng.below(10) {
                0..=3 => assert_eq!(ss.insert(&m, 1.5), model.insert(&m, 1.5)),
                4 => assert_eq!(ss.remove(&m), model.remove(&m)),
                5 => {
                    // ZREMRANGEBYLEX: locate both ends, then delete by rank.
                    let r = LexRange::new(bound(&mut rng), bound(&mut rng));
                    if let (Some(a), Some(b)) = (ss.first_in_lex_range(&r), ss.last_in_lex_range(&r)) {
                        let mut n = 0;
                        ss.delete_rank_range(a, b.min(a + 200), |m, _| {
                            assert!(r.value_gte_min(&m) && r.value_lte_max(&m));
                            assert_eq!(model.remove(&m), Some(1.5));
                            n += 1;
                        });
                        assert_eq!(n, b.min(a + 200) - a + 1);
                    }
                }
                _ => {
                    let r = LexRange::new(bound(&mut rng), bound(&mut rng));
                    let inside = |(_, m): &(f64, Vec<u8>)| r.value_gte_min(m) && r.value_lte_max(m);
                    assert_eq!(ss.first_in_lex_range(&r), model.first_where(inside), "{r:?}");
                    assert_eq!(ss.last_in_lex_range(&r), model.last_where(inside), "{r:?}");
                }
            }
            if op % 2000 == 0 {
                check(&ss);
            }
        }
        check(&ss);
        assert_same(&ss, &model);
    }

    #[test]
    fn popping_both_ends_rebalances() {
        // Draining from the ends underflows the first and last nodes of every level again and again,
        // which drives merges and rotations in both directions (random removals rarely do).
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        let mut ss = SortedSet::new();
        let mut model = Model::default();
        for i in 0..40_000 {
            let s = rng.score();
            assert_eq!(ss.insert(&member(i), s), model.insert(&member(i), s));
        }
        assert!(check(&ss) >= 3);
        let (mut lo, mut hi) = (0, model.v.len());
        let mut step = 0;
        while lo < hi {
            let mut got = Vec::new();
            if step % 3 == 2 {
                let last = ss.len() - 1;
                ss.delete_rank_range(last, last, |m, s| got.push((s, m.to_vec())));
                hi -= 1;
                assert_eq!(got, [model.v[hi].clone()]);
            } else {
                let n = 1 + rng.below(3);
                ss.delete_rank_range(0, n - 1, |m, s| got.push((s, m.to_vec())));
                let take = n.min(hi - lo);
                assert_eq!(got, model.v[lo..lo + take]);
                lo += take;
            }
            if step % 500 == 0 {
                check(&ss);
                assert_eq!(ss.get_by_rank(0).map(|(m, _)| m), model.v.get(lo).map(|(_, m)| m.as_slice()));
            }
            step += 1;
        }
        assert!(ss.is_empty());
        check(&ss);
    }

    fn sample() -> SortedSet {
        // Ranks: 0 a@-inf, 1 b@1, 2 c@1, 3 d@2, 4 e@3, 5 f@+inf
        let mut ss = SortedSet::new();
        for (m, s) in [("e", 3.0), ("c", 1.0), ("f", INF), ("a", NINF), ("d", 2.0), ("b", 1.0)] {
            assert!(ss.insert(m.as_bytes(), s));
        }
        ss
    }

    fn sr(min: f64, minex: bool, max: f64, maxex: bool) -> ScoreRange {
        ScoreRange { min, max, minex, maxex }
    }

    #[test]
    fn score_range_boundaries() {
        let ss = sample();
        let both = |r: ScoreRange| (ss.first_in_score_range(&r), ss.last_in_score_range(&r));
        assert_eq!(both(sr(NINF, false, INF, false)), (Some(0), Some(5)));
        assert_eq!(both(sr(NINF, true, INF, true)), (Some(1), Some(4)));
        assert_eq!(both(sr(1.0, false, 1.0, false)), (Some(1), Some(2)));
        assert_eq!(both(sr(1.0, true, 3.0, false)), (Some(3), Some(4)));
        assert_eq!(both(sr(1.0, false, 3.0, true)), (Some(1), Some(3)));
        assert_eq!(both(sr(1.5, false, 1.9, false)), (None, None));
        assert_eq!(both(sr(3.5, false, 100.0, false)), (None, None));
        assert_eq!(both(sr(INF, false, INF, false)), (Some(5), Some(5)));
        assert_eq!(both(sr(NINF, false, NINF, false)), (Some(0), Some(0)));
        // Empty by construction: reversed, or one point with an excluded end.
        assert_eq!(both(sr(3.0, false, 1.0, false)), (None, None));
        assert_eq!(both(sr(1.0, true, 1.0, false)), (None, None));
        assert_eq!(both(sr(1.0, false, 1.0, true)), (None, None));
        assert!(sr(2.0, false, 1.0, false).is_empty_range());
        assert!(!sr(1.0, false, 1.0, false).is_empty_range());
        assert_eq!(ScoreRange::new(ScoreBound::Excl(1.0), ScoreBound::Incl(2.0)), sr(1.0, true, 2.0, false));
        assert_eq!(SortedSet::new().first_in_score_range(&sr(NINF, false, INF, false)), None);
    }

    #[test]
    fn lex_range_boundaries() {
        let mut ss = SortedSet::new();
        for m in ["a", "aa", "ab", "b", "ba", "c"] {
            ss.insert(m.as_bytes(), 0.0);
        }
        let v = |s: &str| s.as_bytes().to_vec();
        let both = |min: LexBound, max: LexBound| {
            let r = LexRange::new(min, max);
            (ss.first_in_lex_range(&r), ss.last_in_lex_range(&r))
        };
        use LexBound::*;
        assert_eq!(both(NegInf, PosInf), (Some(0), Some(5)));
        assert_eq!(both(Incl(v("aa")), Excl(v("b"))), (Some(1), Some(2)));
        assert_eq!(both(Excl(v("aa")), Incl(v("b"))), (Some(2), Some(3)));
        assert_eq!(both(Incl(v("a")), Incl(v("a"))), (Some(0), Some(0)));
        assert_eq!(both(Incl(v("")), Excl(v("a"))), (None, None));
        assert_eq!(both(Excl(v("a")), Incl(v("a"))), (None, None));
        assert_eq!(both(Incl(v("b")), Incl(v("a"))), (None, None));
        assert_eq!(both(Excl(v("c")), PosInf), (None, None));
        assert_eq!(both(Incl(v("bz")), PosInf), (Some(5), Some(5)));
        assert_eq!(both(NegInf, Excl(v("aa"))), (Some(0), Some(0)));
        assert_eq!(both(PosInf, PosInf), (None, None));
        assert_eq!(both(NegInf, NegInf), (None, None));
        assert_eq!(both(PosInf, NegInf), (None, None));
        assert!(!LexRange::new(NegInf, Incl(v(""))).is_empty_range());
        // High bytes sort above ASCII, as memcmp does.
        ss.insert(&[0xff], 0.0);
        let r = LexRange::new(Excl(v("c")), PosInf);
        assert_eq!((ss.first_in_lex_range(&r), ss.last_in_lex_range(&r)), (Some(6), Some(6)));
    }

    #[test]
    fn ranks_updates_and_edges() {
        let mut ss = sample();
        assert_eq!(ss.rank(b"a"), Some(0));
        assert_eq!(ss.rank(b"c"), Some(2));
        assert_eq!(ss.rank(b"zz"), None);
        assert!(!ss.insert(b"c", 9.0));
        assert_eq!(ss.score(b"c"), Some(1.0));
        // In place (still between b and d), then a move past the end.
        assert_eq!(ss.update_score(b"c", 1.5), Some(1.0));
        assert_eq!(ss.rank(b"c"), Some(2));
        assert_eq!(ss.update_score(b"c", 4.0), Some(1.5));
        assert_eq!(ss.rank(b"c"), Some(4));
        assert_eq!(ss.update_score(b"nope", 1.0), None);
        assert_eq!(ss.get_by_rank(6), None);
        assert_eq!(ss.get_by_rank(usize::MAX), None);
        assert_eq!(ss.iter_from(6).next(), None);
        assert_eq!(ss.iter_rev_from(usize::MAX).next(), None);
        let rev: Vec<&[u8]> = ss.iter_rev_from(2).map(|(m, _)| m).collect();
        assert_eq!(rev, [&b"d"[..], b"b", b"a"]);
        assert_eq!(ss.delete_rank_range(3, 2, |_, _| ()), 0);
        assert_eq!(ss.delete_rank_range(6, 9, |_, _| ()), 0);
        let mut popped = Vec::new();
        assert_eq!(ss.delete_rank_range(0, 0, |m, s| popped.push((m, s))), 1);
        assert_eq!(popped, [(CompactBytes::from(&b"a"[..]), NINF)]);
        assert_eq!(ss.remove(b"a"), None);
        assert_eq!(ss.remove(b"f"), Some(INF));
        assert_eq!(ss.len(), 4);
        check(&ss);
    }

    #[test]
    fn clone_is_deep_and_equal() {
        let mut ss = SortedSet::new();
        for i in 0..5000 {
            ss.insert(&member(i), (i % 17) as f64);
        }
        let copy = ss.clone();
        check(&copy);
        assert_eq!(copy, ss);
        ss.remove(&member(3));
        assert_ne!(copy, ss);
        assert_eq!(copy.len(), 5000);
        assert!(copy.heap_size() >= 5000 * (DICT_ENTRY_BYTES + size_of::<Entry>()) + 500 * 2 * 40);
        let mut all = 0;
        assert_eq!(ss.delete_rank_range(0, usize::MAX, |_, _| all += 1), 4999);
        assert_eq!(all, 4999);
        assert!(ss.is_empty());
        assert_eq!(ss.heap_size(), ss.dict.slots() * size_of::<usize>());
        check(&ss);
    }

    /// glibc's chunk size for a request of `n` bytes.
    fn malloc_chunk(n: usize) -> usize {
        if n == 0 { 0 } else { (n + 8).next_multiple_of(16).max(32) }
    }

    fn index_bytes(node: &Node) -> usize {
        match node {
            Node::Leaf(v) => {
                malloc_chunk(v.capacity() * size_of::<Entry>()) + v.iter().map(|e| e.member.heap_size()).sum::<usize>()
            }
            Node::Inner(inner) => {
                malloc_chunk(size_of::<Inner>())
                    + malloc_chunk(inner.keys.capacity() * size_of::<Entry>())
                    + malloc_chunk(inner.counts.capacity() * size_of::<usize>())
                    + malloc_chunk(inner.children.capacity() * size_of::<Node>())
                    + inner.children.iter().map(index_bytes).sum::<usize>()
            }
        }
    }

    /// Resident set size from /proc (Linux); 0 elsewhere.
    fn rss() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        statm.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()).unwrap_or(0) * 4096
    }

    #[test]
    #[ignore = "builds 1M members; run with --ignored --nocapture"]
    fn memory_per_member() {
        const N: usize = 1_000_000;
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let rss_before = rss();
        let start = std::time::Instant::now();
        let mut ss = SortedSet::new();
        for i in 0..N {
            ss.insert(format!("member:{i}").as_bytes(), rng.below(1 << 40) as f64 / 1000.0);
        }
        let built = start.elapsed();
        let rss_after = rss();
        let dict = ss.dict.slots() * size_of::<usize>() + N * DICT_ENTRY_BYTES;
        let index = index_bytes(&ss.index.root);
        println!(
            "{N} members in {built:?}: dict {:.1} B/member, index {:.1} B/member, total {:.1} B/member \
             (RSS delta {:.1} B/member, heap_size() {:.1} B/member)",
            dict as f64 / N as f64,
            index as f64 / N as f64,
            (dict + index) as f64 / N as f64,
            rss_after.saturating_sub(rss_before) as f64 / N as f64,
            ss.heap_size() as f64 / N as f64,
        );
        assert!((dict + index) / N <= 100);
        let estimate = ss.heap_size() as f64 / (dict + index) as f64;
        assert!((0.9..1.1).contains(&estimate), "heap_size off by {estimate}");
        check(&ss);
    }
}
