//! `Intset`: Redis's sorted array of distinct integers, the storage of small sets whose members are all
//! canonical integers, kept byte-for-byte in Redis's format so that RDB can write it verbatim.
//!
//! This module owns the encoding only; the conversion to a hash table (size limits, non-integer
//! members) is the caller's policy. It never panics on a corrupt buffer: [`Intset::from_bytes`]
//! validates the header, the size and the ordering before accepting one, and every later read relies
//! on that. Reads never allocate.

use std::fmt;

/// Bytes of the header: encoding (u32) and length (u32).
const HDR_SIZE: usize = 8;

/// A set of `i64` stored as a sorted array of the narrowest width that holds every member.
///
/// # Format
///
/// ```text
/// <encoding: u32 LE> <length: u32 LE> <member: encoding bytes, LE two's complement>*
/// ```
///
/// `encoding` is the width of every member in bytes: 2, 4 or 8. Members are strictly ascending. Adding a
/// member that does not fit widens every member to the smallest width that fits it; removals never
/// narrow it back (as in Redis).
#[derive(Clone, PartialEq, Eq)]
pub struct Intset {
    /// Exactly the set's bytes, as Redis keeps them (intsetResize): no spare capacity, so the
    /// value holding it stays 16 bytes.
    buf: Box<[u8]>,
}

impl Default for Intset {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Intset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// The narrowest width (in bytes) that holds `v`.
fn width_for(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// Reads member `i` of a buffer of the given width. The caller guarantees it is in bounds.
fn read_at(buf: &[u8], width: usize, i: usize) -> i64 {
    let o = HDR_SIZE + i * width;
    match width {
        2 => i64::from(i16::from_le_bytes([buf[o], buf[o + 1]])),
        4 => i64::from(i32::from_le_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]])),
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[o..o + 8]);
            i64::from_le_bytes(b)
        }
    }
}

/// Writes `v` as member `i`; `v` must fit `width`, so taking its low bytes is exact.
fn write_at(buf: &mut [u8], width: usize, i: usize, v: i64) {
    let o = HDR_SIZE + i * width;
    buf[o..o + width].copy_from_slice(&v.to_le_bytes()[..width]);
}

impl Intset {
    /// An empty set, 16-bit encoded.
    pub fn new() -> Self {
        Intset { buf: Box::new([2, 0, 0, 0, 0, 0, 0, 0]) }
    }

    /// Adopts a buffer from outside (RDB, RESTORE) after validating it like Redis's
    /// `intsetValidateIntegrity` with deep checking: the encoding is 2, 4 or 8, the length matches the
    /// buffer's size exactly, and the members are strictly ascending.
    ///
    /// An empty set is accepted; Redis's loader treats an empty intset as corrupt, so it must check
    /// [`Intset::is_empty`] itself.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Self> {
        let header = buf.get(..HDR_SIZE)?;
        let encoding = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let width = match encoding {
            2 | 4 | 8 => encoding as usize,
            _ => return None,
        };
        if len.checked_mul(width)?.checked_add(HDR_SIZE)? != buf.len() {
            return None;
        }
        let ascending = (1..len).all(|i| read_at(&buf, width, i - 1) < read_at(&buf, width, i));
        ascending.then(|| Intset { buf: buf.into_boxed_slice() })
    }

    /// The buffer, in Redis's format.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer, in Redis's format.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf.into_vec()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        u32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per member: 2, 4 or 8.
    pub fn encoding_width(&self) -> usize {
        usize::from(self.buf[0])
    }

    /// Size of the encoded buffer.
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated on the heap.
    pub fn heap_size(&self) -> usize {
        self.buf.len()
    }

    /// Member `i` in ascending order.
    pub fn get(&self, i: usize) -> Option<i64> {
        (i < self.len()).then(|| self.read(i))
    }

    pub fn min(&self) -> Option<i64> {
        self.get(0)
    }

    pub fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|i| self.read(i))
    }

    /// The member at `r % len`, for SRANDMEMBER/SPOP given a random number.
    pub fn random(&self, r: u64) -> Option<i64> {
        let len = self.len() as u64;
        (len > 0).then(|| self.read((r % len) as usize))
    }

    pub fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.encoding_width() && self.search(v).is_ok()
    }

    /// Adds `v`; false if it was already present.
    ///
    /// # Panics
    ///
    /// If the set already holds `u32::MAX` members (the format's limit).
    pub fn add(&mut self, v: i64) -> bool {
        let width = self.encoding_width();
        if width_for(v) > width {
            self.upgrade_and_add(v);
            return true;
        }
        let Err(i) = self.search(v) else {
            return false;
        };
        let len = self.len();
        let at = HDR_SIZE + i * width;
        let end = self.buf.len();
        super::bytes::resize_boxed(&mut self.buf, end + width);
        self.buf.copy_within(at..end, at + width);
        write_at(&mut self.buf, width, i, v);
        self.set_len(len + 1);
        true
    }

    /// Removes `v`; false if it was absent.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.encoding_width() {
            return false;
        }
        let Ok(i) = self.search(v) else {
            return false;
        };
        let width = self.encoding_width();
        let at = HDR_SIZE + i * width;
        let end = self.buf.len();
        self.buf.copy_within(at + width..end, at);
        super::bytes::resize_boxed(&mut self.buf, end - width);
        self.set_len(self.len() - 1);
        true
    }

    /// Members in ascending order (or descending with `.rev()`).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
        let width = self.encoding_width();
        (0..self.len()).map(move |i| read_at(&self.buf, width, i))
    }

    fn read(&self, i: usize) -> i64 {
        read_at(&self.buf, self.encoding_width(), i)
    }

    fn set_len(&mut self, len: usize) {
        let len = u32::try_from(len).expect("intset is limited to u32::MAX members");
        self.buf[4..HDR_SIZE].copy_from_slice(&len.to_le_bytes());
    }

    /// Binary search like `slice::binary_search`, rejecting values outside `min..=max` first since
    /// SADD of a new extreme is common.
    fn search(&self, v: i64) -> Result<usize, usize> {
        let len = self.len();
        let (Some(min), Some(max)) = (self.min(), self.max()) else {
            return Err(0);
        };
        if v < min {
            return Err(0);
        }
        if v > max {
            return Err(len);
        }
        let (mut lo, mut hi) = (0, len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.read(mid).cmp(&v) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Widens every member to fit `v` and adds it. A value too wide for the current encoding is beyond
    /// every member, so it goes first if negative and last otherwise.
    fn upgrade_and_add(&mut self, v: i64) {
        let old = self.encoding_width();
        let new = width_for(v);
        let len = self.len();
        let prepend = usize::from(v < 0);
        super::bytes::resize_boxed(&mut self.buf, HDR_SIZE + (len + 1) * new);
        // Back to front, every member's new slot starts at or after its old one, so nothing unread is
        // overwritten.
        for i in (0..len).rev() {
            let x = read_at(&self.buf, old, i);
            write_at(&mut self.buf, new, i + prepend, x);
        }
        write_at(&mut self.buf, new, if prepend == 1 { 0 } else { len }, v);
        self.buf[..4].copy_from_slice(&(new as u32).to_le_bytes());
        self.set_len(len + 1);
    }
}

impl FromIterator<i64> for Intset {
    fn from_iter<I: IntoIterator<Item = i64>>(iter: I) -> Self {
        let mut set = Intset::new();
        for v in iter {
            set.add(v);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn known_redis_bytes() {
        let mut s = Intset::new();
        assert_eq!(s.as_bytes(), &[2, 0, 0, 0, 0, 0, 0, 0]);
        for v in [3, 1, 2] {
            assert!(s.add(v));
        }
        assert!(!s.add(2));
        assert_eq!(s.as_bytes(), &[2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
        assert!(s.add(65536));
        #[rustfmt::skip]
        let wide = [4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(s.as_bytes(), &wide);
        assert!(s.add(-1));
        assert_eq!(&s.as_bytes()[8..12], &[0xFF; 4]);
        assert!(s.add(i64::MIN));
        assert_eq!(s.encoding_width(), 8);
        assert_eq!(&s.as_bytes()[8..16], &[0, 0, 0, 0, 0, 0, 0, 0x80]);
        assert_eq!(s.iter().collect::<Vec<_>>(), [i64::MIN, -1, 1, 2, 3, 65536]);
    }

    /// Captured from Redis 7.0.15: `SADD s 5 -3 40000` then DUMP (the intset blob).
    #[test]
    fn matches_redis_dump_of_a_set() {
        let s: Intset = [5, -3, 40000].into_iter().collect();
        #[rustfmt::skip]
        let expected = [4, 0, 0, 0, 3, 0, 0, 0, 0xFD, 0xFF, 0xFF, 0xFF, 5, 0, 0, 0, 0x40, 0x9C, 0, 0];
        assert_eq!(s.as_bytes(), &expected);
    }

    #[test]
    fn upgrade_keeps_order_at_both_ends() {
        let mut s: Intset = (-5..5).collect();
        assert!(s.add(i64::from(i32::MAX) + 1));
        assert!(s.add(-100_000));
        assert_eq!(s.encoding_width(), 8);
        assert_eq!(s.min(), Some(-100_000));
        assert_eq!(s.max(), Some(i64::from(i32::MAX) + 1));
        assert!(s.remove(i64::from(i32::MAX) + 1));
        assert_eq!(s.encoding_width(), 8, "never downgrades");
        assert!(!s.contains(i64::MAX));
        assert!(!s.remove(i64::MAX));
    }

    #[test]
    fn from_bytes_validates() {
        let good: Intset = [1, 5, 9].into_iter().collect();
        assert_eq!(Intset::from_bytes(good.as_bytes().to_vec()), Some(good.clone()));
        let reject = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.as_bytes().to_vec();
            f(&mut b);
            assert_eq!(Intset::from_bytes(b), None);
        };
        reject(&|b| b.truncate(7));
        reject(&|b| b[0] = 3);
        reject(&|b| b[0] = 0);
        reject(&|b| b[4] = 4);
        reject(&|b| b[4] = 2);
        reject(&|b| b.push(0));
        reject(&|b| b[10] = 1); // duplicate
        reject(&|b| b[10] = 10); // out of order
        reject(&|b| b[7] = 0x80); // length overflowing the size
        assert!(Intset::from_bytes(Intset::new().into_bytes()).is_some_and(|s| s.is_empty()));
        assert_eq!(Intset::from_bytes(vec![8, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]).map(|s| s.len()), Some(1));
    }

    #[test]
    fn accessors() {
        let s: Intset = [10, -10, 0].into_iter().collect();
        assert_eq!(s.get(0), Some(-10));
        assert_eq!(s.get(3), None);
        assert_eq!(s.random(4), Some(0));
        assert_eq!(Intset::new().random(4), None);
        assert_eq!(Intset::new().max(), None);
        assert_eq!(s.iter().rev().collect::<Vec<_>>(), [10, 0, -10]);
        assert_eq!(s.iter().len(), 3);
        assert_eq!(s.bytes_len(), 14);
        assert!(s.heap_size() >= s.bytes_len());
        assert_eq!(format!("{s:?}"), "{-10, 0, 10}");
    }

    use crate::test_rng::XorShift;

    #[test]
    fn randomized_against_a_btreeset_model() {
        let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
        for _ in 0..60 {
            let mut set = Intset::new();
            let mut model = BTreeSet::new();
            // Each round draws from a range that widens over time so that upgrades happen mid-round.
            for step in 0..600u32 {
                let bits = 4 + (step / 10).min(60);
                let v = (rng.next() as i64) >> (64 - bits);
                match rng.next() % 4 {
                    0 | 1 => assert_eq!(set.add(v), model.insert(v)),
                    2 => assert_eq!(set.remove(v), model.remove(&v)),
                    _ => assert_eq!(set.contains(v), model.contains(&v)),
                }
                assert_eq!(set.len(), model.len());
            }
            assert!(set.iter().eq(model.iter().copied()));
            assert!(set.iter().rev().eq(model.iter().rev().copied()));
            let needed = model.iter().map(|&v| width_for(v)).max().unwrap_or(2);
            assert!(set.encoding_width() >= needed);
            assert_eq!(set.min(), model.first().copied());
            assert_eq!(set.max(), model.last().copied());
            assert_eq!(Intset::from_bytes(set.as_bytes().to_vec()).as_ref(), Some(&set));
        }
    }

    #[test]
    fn from_bytes_never_panics_on_mutations() {
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        let base: Intset = [-70_000, -3, 0, 7, 40_000, 1 << 40].into_iter().collect();
        for _ in 0..20_000 {
            let mut b = base.as_bytes().to_vec();
            let i = (rng.next() % b.len() as u64) as usize;
            b[i] = rng.next() as u8;
            if rng.next().is_multiple_of(4) {
                b.truncate((rng.next() % (b.len() as u64 + 1)) as usize);
            }
            if let Some(s) = Intset::from_bytes(b) {
                let v: Vec<i64> = s.iter().collect();
                assert!(v.windows(2).all(|w| w[0] < w[1]));
                assert!(v.iter().all(|&x| s.contains(x)));
            }
        }
    }
}
