use super::*;
use std::collections::HashMap;

const INF: f64 = f64::INFINITY;
const NINF: f64 = f64::NEG_INFINITY;

use crate::test_rng::XorShift as Rng;

impl Rng {
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
                    let fwd: Vec<(f64, Vec<u8>)> = ss.iter_from(r).take(take).map(|(m, s)| (s, m.to_vec())).collect();
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
