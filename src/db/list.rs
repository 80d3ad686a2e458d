//! `ListValue`: Redis 7.0's `quicklist`, a deque of nodes that are each a listpack of several elements
//! (or, for an element at or above the packed threshold, a "plain" node holding just that element).
//!
//! Node sizes follow `list-max-listpack-size` exactly as Redis fills them (a negative value caps a
//! node's bytes at 4/8/16/32/64 KiB, a positive one its element count, within an 8 KiB safety limit),
//! so memory per element matches Redis and RDB can later write the nodes as they are. Nodes are
//! never compressed (`list-compress-depth` is accepted but not acted on).
//!
//! Indexes are element positions over the whole list; out-of-range positions return `None` rather
//! than panic. Elements come back as `LpValue` (integers stay numbers, no allocation on reads).

use std::collections::VecDeque;

use super::listpack::{Listpack, LpValue};
use crate::digest::ValueDigest;

/// Redis's estimate of a listpack entry's overhead when deciding whether an element fits a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// A count-limited node never grows past this many bytes (SIZE_SAFETY_LIMIT).
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Node byte caps for `list-max-listpack-size` -1 .. -5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Default size from which an element gets a plain node of its own (1 GiB).
pub const DEFAULT_PACKED_THRESHOLD: usize = 1 << 30;

/// How nodes are filled: the two knobs a list operation needs from the server.
#[derive(Debug, Clone, Copy)]
pub struct ListLimits {
    /// `list-max-listpack-size`.
    pub fill: i32,
    /// Elements of at least this many bytes go to a plain node (DEBUG QUICKLIST-PACKED-THRESHOLD).
    pub packed_threshold: usize,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits { fill: -2, packed_threshold: DEFAULT_PACKED_THRESHOLD }
    }
}

impl ListLimits {
    fn is_large(&self, len: usize) -> bool {
        len >= self.packed_threshold
    }

    /// Whether a listpack node of `bytes` bytes and `count` elements can take an element of `len`
    /// bytes (Redis's _quicklistNodeAllowInsert).
    fn allows(&self, bytes: usize, count: usize, len: usize) -> bool {
        if self.is_large(len) {
            return false;
        }
        let new_sz = bytes + len + SIZE_ESTIMATE_OVERHEAD;
        if self.fill < 0 {
            let level = (-(self.fill as i64) - 1) as usize;
            if let Some(&cap) = OPTIMIZATION_LEVEL.get(level) {
                return new_sz <= cap;
            }
        }
        new_sz <= SIZE_SAFETY_LIMIT && (count as i64) < self.fill as i64
    }
}

/// One quicklist node.
#[derive(Debug, Clone)]
pub enum Node {
    Packed(Listpack),
    /// A single large element stored as is.
    Plain(Vec<u8>),
}

impl Node {
    pub fn len(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.len(),
            Node::Plain(_) => 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn packed_with(v: &[u8]) -> Node {
        let mut lp = Listpack::new();
        lp.push_back(v);
        Node::Packed(lp)
    }

    fn new_for(v: &[u8], limits: &ListLimits) -> Node {
        if limits.is_large(v.len()) { Node::Plain(v.to_vec()) } else { Node::packed_with(v) }
    }

    fn allows(&self, v: &[u8], limits: &ListLimits) -> bool {
        match self {
            Node::Packed(lp) => limits.allows(lp.bytes_len(), lp.len(), v.len()),
            Node::Plain(_) => false,
        }
    }

    /// Element `i` of this node.
    fn get(&self, i: usize) -> Option<LpValue<'_>> {
        match self {
            Node::Packed(lp) => lp.seek(i as i64).map(|p| lp.get(p)),
            Node::Plain(v) => (i == 0).then_some(LpValue::Str(v)),
        }
    }

    fn heap_size(&self) -> usize {
        match self {
            Node::Packed(lp) => lp.heap_size(),
            Node::Plain(v) => v.capacity(),
        }
    }

    /// The node's elements front to back.
    pub fn iter(&self) -> Box<dyn DoubleEndedIterator<Item = LpValue<'_>> + '_> {
        match self {
            Node::Packed(lp) => Box::new(lp.iter()),
            Node::Plain(v) => Box::new(std::iter::once(LpValue::Str(v))),
        }
    }
}

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// A Redis list.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    nodes: VecDeque<Node>,
    len: usize,
}

impl ListValue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn nodes(&self) -> &VecDeque<Node> {
        &self.nodes
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.iter().map(Node::heap_size).sum::<usize>() + self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    pub fn digest_into(&self, d: &mut ValueDigest) {
        let mut scratch = [0u8; super::listpack::INTBUF_SIZE];
        for v in self.iter() {
            d.list_element(v.to_bytes(&mut scratch));
        }
    }

    /// All elements head to tail (`.rev()` for tail to head).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = LpValue<'_>> + '_ {
        self.nodes.iter().flat_map(Node::iter)
    }

    /// Elements from index `start` (0-based from the head) towards the tail.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = LpValue<'_>> + '_ {
        let (node, offset) = self.locate(start).unwrap_or((self.nodes.len(), 0));
        self.nodes.range(node..).enumerate().flat_map(move |(i, n)| n.iter().skip(if i == 0 { offset } else { 0 }))
    }

    /// Elements from index `start` towards the head.
    pub fn iter_rev_from(&self, start: usize) -> impl Iterator<Item = LpValue<'_>> + '_ {
        let (node, offset) = self.locate(start).map(|(n, o)| (n + 1, o)).unwrap_or((0, 0));
        self.nodes.range(..node).rev().enumerate().flat_map(move |(i, n)| {
            let skip = if i == 0 { n.len() - 1 - offset } else { 0 };
            n.iter().rev().skip(skip)
        })
    }

    /// Node index and offset inside it of element `index`.
    fn locate(&self, index: usize) -> Option<(usize, usize)> {
        if index >= self.len {
            return None;
        }
        if index < self.len / 2 {
            let mut left = index;
            for (i, n) in self.nodes.iter().enumerate() {
                let l = n.len();
                if left < l {
                    return Some((i, left));
                }
                left -= l;
            }
        } else {
            let mut right = self.len - 1 - index;
            for (i, n) in self.nodes.iter().enumerate().rev() {
                let l = n.len();
                if right < l {
                    return Some((i, l - 1 - right));
                }
                right -= l;
            }
        }
        None
    }

    /// Resolve a Redis index (negative counts from the tail) to a position.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let i = if index < 0 { self.len as i64 + index } else { index };
        (i >= 0 && (i as usize) < self.len).then_some(i as usize)
    }

    pub fn get(&self, index: usize) -> Option<LpValue<'_>> {
        let (n, o) = self.locate(index)?;
        self.nodes[n].get(o)
    }

    pub fn push(&mut self, end: End, v: &[u8], limits: &ListLimits) {
        let target = match end {
            End::Head => self.nodes.front_mut(),
            End::Tail => self.nodes.back_mut(),
        };
        match target {
            Some(Node::Packed(lp)) if limits.allows(lp.bytes_len(), lp.len(), v.len()) => match end {
                End::Head => lp.push_front(v),
                End::Tail => lp.push_back(v),
            },
            _ => {
                let node = Node::new_for(v, limits);
                match end {
                    End::Head => self.nodes.push_front(node),
                    End::Tail => self.nodes.push_back(node),
                }
            }
        }
        self.len += 1;
    }

    /// Remove and return the element at one end.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let idx = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let node = self.nodes.get_mut(idx)?;
        let value = match node {
            Node::Plain(v) => std::mem::take(v),
            Node::Packed(lp) => {
                let pos = match end {
                    End::Head => lp.first()?,
                    End::Tail => lp.last()?,
                };
                let v = lp.get(pos).to_vec();
                lp.delete(pos);
                v
            }
        };
        self.len -= 1;
        if matches!(node, Node::Plain(_)) || node.is_empty() {
            self.nodes.remove(idx);
        }
        Some(value)
    }

    /// Replace element `index`; false when out of range.
    pub fn set(&mut self, index: usize, v: &[u8], limits: &ListLimits) -> bool {
        let Some((n, o)) = self.locate(index) else { return false };
        // Like Redis's quicklistReplaceEntry: a packed node takes any non-large element in place
        // (even past its fill), a plain node only another large one.
        let fits_in_place = match &self.nodes[n] {
            Node::Packed(_) => !limits.is_large(v.len()),
            Node::Plain(_) => limits.is_large(v.len()),
        };
        if fits_in_place {
            match &mut self.nodes[n] {
                Node::Packed(lp) => {
                    if let Some(pos) = lp.seek(o as i64) {
                        lp.replace(pos, v);
                    }
                }
                Node::Plain(old) => *old = v.to_vec(),
            }
        } else {
            self.delete_at(n, o);
            self.insert_at_index(index, v, limits);
        }
        true
    }

    /// Remove the element at node `n`, offset `o`, dropping the node when it empties.
    fn delete_at(&mut self, n: usize, o: usize) {
        let empty = match &mut self.nodes[n] {
            Node::Plain(_) => true,
            Node::Packed(lp) => {
                if let Some(pos) = lp.seek(o as i64) {
                    lp.delete(pos);
                }
                lp.is_empty()
            }
        };
        if empty {
            self.nodes.remove(n);
        }
        self.len -= 1;
    }

    /// Insert `v` so that it becomes element `index` (index == len appends).
    pub fn insert_at_index(&mut self, index: usize, v: &[u8], limits: &ListLimits) {
        if index == 0 {
            return self.push(End::Head, v, limits);
        }
        if index >= self.len {
            return self.push(End::Tail, v, limits);
        }
        let Some((n, o)) = self.locate(index) else { return self.push(End::Tail, v, limits) };
        self.insert_in_node(n, o, v, limits);
    }

    /// Insert before offset `o` of node `n` (Redis's _quicklistInsert, simplified: a full node
    /// spills to a neighbour at its edges or is split in two).
    fn insert_in_node(&mut self, n: usize, o: usize, v: &[u8], limits: &ListLimits) {
        self.len += 1;
        if self.nodes[n].allows(v, limits) {
            if let Node::Packed(lp) = &mut self.nodes[n]
                && let Some(pos) = lp.seek(o as i64)
            {
                lp.insert_before(pos, v);
            }
            return;
        }
        let node_len = self.nodes[n].len();
        if o == 0 {
            // Before the node's first element: the previous node's tail, or a new node.
            if n > 0
                && self.nodes[n - 1].allows(v, limits)
                && let Node::Packed(lp) = &mut self.nodes[n - 1]
            {
                lp.push_back(v);
            } else {
                self.nodes.insert(n, Node::new_for(v, limits));
            }
            return;
        }
        if o == node_len {
            if n + 1 < self.nodes.len()
                && self.nodes[n + 1].allows(v, limits)
                && let Node::Packed(lp) = &mut self.nodes[n + 1]
            {
                lp.push_front(v);
            } else {
                self.nodes.insert(n + 1, Node::new_for(v, limits));
            }
            return;
        }
        // In the middle of a full node: split it at `o` and put the element between the halves,
        // in the half that can take it or in a node of its own.
        let Node::Packed(lp) = &mut self.nodes[n] else {
            self.nodes.insert(n, Node::new_for(v, limits));
            return;
        };
        let mut tail = Listpack::new();
        for e in lp.iter().skip(o) {
            let mut scratch = [0u8; super::listpack::INTBUF_SIZE];
            tail.push_back(e.to_bytes(&mut scratch));
        }
        lp.delete_range(o, node_len - o);
        let mut tail = Node::Packed(tail);
        if tail.allows(v, limits) {
            if let Node::Packed(t) = &mut tail {
                t.push_front(v);
            }
            self.nodes.insert(n + 1, tail);
        } else if self.nodes[n].allows(v, limits) {
            if let Node::Packed(h) = &mut self.nodes[n] {
                h.push_back(v);
            }
            self.nodes.insert(n + 1, tail);
        } else {
            self.nodes.insert(n + 1, tail);
            self.nodes.insert(n + 1, Node::new_for(v, limits));
        }
    }

    /// LINSERT: insert `v` before or after the first element equal to `pivot`. False when the
    /// pivot is absent.
    pub fn insert_by_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool, limits: &ListLimits) -> bool {
        let Some(index) = self.iter().position(|e| e.eq_bytes(pivot)) else { return false };
        let at = if after { index + 1 } else { index };
        if at >= self.len {
            self.push(End::Tail, v, limits);
        } else if let Some((n, o)) = self.locate(at) {
            self.insert_in_node(n, o, v, limits);
        }
        true
    }

    /// LREM: remove up to `count` elements equal to `v` (all when 0; from the tail when negative).
    pub fn remove_matching(&mut self, v: &[u8], count: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
        let from_tail = count < 0;
        let mut removed = 0;
        let node_order: Vec<usize> =
            if from_tail { (0..self.nodes.len()).rev().collect() } else { (0..self.nodes.len()).collect() };
        let mut emptied = Vec::new();
        for n in node_order {
            if removed >= limit {
                break;
            }
            match &mut self.nodes[n] {
                Node::Plain(p) => {
                    if p.as_slice() == v {
                        removed += 1;
                        emptied.push(n);
                    }
                }
                Node::Packed(lp) => {
                    let mut pos = if from_tail { lp.last() } else { lp.first() };
                    while let Some(p) = pos {
                        if removed >= limit {
                            break;
                        }
                        if lp.get(p).eq_bytes(v) {
                            removed += 1;
                            let next = lp.delete(p);
                            pos = if from_tail {
                                match next {
                                    Some(nx) => lp.prev(nx),
                                    None => lp.last(),
                                }
                            } else {
                                next
                            };
                        } else {
                            pos = if from_tail { lp.prev(p) } else { lp.next(p) };
                        }
                    }
                    if lp.is_empty() {
                        emptied.push(n);
                    }
                }
            }
        }
        emptied.sort_unstable();
        for n in emptied.into_iter().rev() {
            self.nodes.remove(n);
        }
        self.len -= removed;
        removed
    }

    /// Remove `count` elements starting at `start` (LTRIM's two cuts, LMPOP/LPOP with count).
    pub fn delete_range(&mut self, start: usize, count: usize) {
        let count = count.min(self.len.saturating_sub(start));
        if count == 0 {
            return;
        }
        let Some((mut n, mut o)) = self.locate(start) else { return };
        let mut left = count;
        while left > 0 && n < self.nodes.len() {
            let node_len = self.nodes[n].len();
            let take = left.min(node_len - o);
            if take == node_len {
                self.nodes.remove(n);
            } else {
                if let Node::Packed(lp) = &mut self.nodes[n] {
                    lp.delete_range(o, take);
                }
                n += 1;
            }
            left -= take;
            o = 0;
        }
        self.len -= count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_check(l: &ListValue, m: &[Vec<u8>]) {
        let got: Vec<Vec<u8>> = l.iter().map(|v| v.to_vec()).collect();
        assert_eq!(got, m);
        assert_eq!(l.len(), m.len());
        let rev: Vec<Vec<u8>> = l.iter().rev().map(|v| v.to_vec()).collect();
        let mut mr = m.to_vec();
        mr.reverse();
        assert_eq!(rev, mr);
        assert!(l.nodes.iter().all(|n| !n.is_empty()));
    }

    #[test]
    fn random_ops_match_a_vec_model() {
        let mut rng = crate::test_rng::XorShift(0x9e3779b97f4a7c15);
        let mut rnd = move || rng.next();
        for fill in [-2, -1, 1, 3, 16] {
            for threshold in [DEFAULT_PACKED_THRESHOLD, 12] {
                let limits = ListLimits { fill, packed_threshold: threshold };
                let mut l = ListValue::new();
                let mut m: Vec<Vec<u8>> = Vec::new();
                for step in 0..3000 {
                    let v: Vec<u8> = match rnd() % 4 {
                        0 => (rnd() % 1000).to_string().into_bytes(),
                        1 => vec![b'a' + (rnd() % 3) as u8; (rnd() % 20) as usize],
                        2 => vec![b'x'; (rnd() % 600) as usize],
                        _ => format!("e{}", rnd() % 50).into_bytes(),
                    };
                    match rnd() % 10 {
                        0 | 1 => {
                            l.push(End::Head, &v, &limits);
                            m.insert(0, v);
                        }
                        2 | 3 => {
                            l.push(End::Tail, &v, &limits);
                            m.push(v);
                        }
                        4 => assert_eq!(l.pop(End::Head), (!m.is_empty()).then(|| m.remove(0))),
                        5 => assert_eq!(l.pop(End::Tail), m.pop()),
                        6 => {
                            let i = (rnd() as usize) % (m.len() + 1);
                            l.insert_at_index(i, &v, &limits);
                            m.insert(i, v);
                        }
                        7 if !m.is_empty() => {
                            let i = (rnd() as usize) % m.len();
                            assert!(l.set(i, &v, &limits));
                            m[i] = v;
                        }
                        8 if !m.is_empty() => {
                            let target = m[(rnd() as usize) % m.len()].clone();
                            let count = (rnd() % 5) as i64 - 2;
                            let removed = l.remove_matching(&target, count);
                            let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                            // The model removes from the head, or from the tail by reversing around it.
                            let mut n = 0;
                            if count < 0 {
                                m.reverse();
                            }
                            m.retain(|e| {
                                let drop = n < limit && *e == target;
                                n += drop as usize;
                                !drop
                            });
                            if count < 0 {
                                m.reverse();
                            }
                            assert_eq!(removed, n);
                        }
                        9 if !m.is_empty() => {
                            let s = (rnd() as usize) % m.len();
                            let c = (rnd() as usize) % 5;
                            l.delete_range(s, c);
                            let end = (s + c).min(m.len());
                            m.drain(s..end);
                        }
                        _ => {}
                    }
                    if step % 97 == 0 {
                        model_check(&l, &m);
                        if !m.is_empty() {
                            let i = (rnd() as usize) % m.len();
                            assert_eq!(l.get(i).map(|v| v.to_vec()), Some(m[i].clone()));
                            let fwd: Vec<Vec<u8>> = l.iter_from(i).map(|v| v.to_vec()).collect();
                            assert_eq!(fwd, m[i..].to_vec());
                            let back: Vec<Vec<u8>> = l.iter_rev_from(i).map(|v| v.to_vec()).collect();
                            let mut want = m[..=i].to_vec();
                            want.reverse();
                            assert_eq!(back, want);
                        }
                    }
                }
                model_check(&l, &m);
            }
        }
    }

    #[test]
    fn fill_rules_follow_redis() {
        let l = ListLimits { fill: -2, packed_threshold: DEFAULT_PACKED_THRESHOLD };
        assert!(l.allows(8000, 100, 100));
        assert!(!l.allows(8100, 100, 100));
        let l = ListLimits { fill: 4, packed_threshold: DEFAULT_PACKED_THRESHOLD };
        assert!(l.allows(100, 3, 1));
        assert!(!l.allows(100, 4, 1));
        assert!(!l.allows(8190, 1, 10));
    }
}
