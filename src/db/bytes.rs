//! `CompactBytes`: an immutable byte string that keeps short contents (up to 22 bytes) inside the
//! value itself and only allocates for longer ones. Keys and short string values use it, so a typical
//! small key costs no separate heap block — the single biggest share of Redis-like per-key memory.
//!
//! It behaves as a `[u8]` for hashing, comparison and borrowing, so maps keyed by it can be queried
//! with plain slices.
//!
//! Also here: `resize_boxed`, the one way the exactly-sized encodings (listpack, intset, raw
//! strings) change length.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Resizes an exactly-sized buffer to `total` bytes (new bytes zeroed), reallocating once: the
/// allocator extends in place while the size stays within its size class, which is what keeps
/// exact sizing cheap for listpacks, intsets and raw strings, as it is in Redis.
pub fn resize_boxed(buf: &mut Box<[u8]>, total: usize) {
    let mut v = std::mem::take(buf).into_vec();
    v.reserve_exact(total.saturating_sub(v.len()));
    v.resize(total, 0);
    *buf = v.into_boxed_slice();
}

/// Longest content stored inline: 24 bytes in all, minus the enum tag and the length byte.
pub const INLINE_CAP: usize = 22;

/// A byte string, inline when short.
#[derive(Clone)]
pub enum CompactBytes {
    Inline { len: u8, buf: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl CompactBytes {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, buf } => &buf[..*len as usize],
            CompactBytes::Heap(b) => b,
        }
    }

    /// Heap bytes owned beyond the value itself.
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(s: &[u8]) -> Self {
        if s.len() <= INLINE_CAP {
            let mut buf = [0u8; INLINE_CAP];
            buf[..s.len()].copy_from_slice(s);
            CompactBytes::Inline { len: s.len() as u8, buf }
        } else {
            CompactBytes::Heap(s.into())
        }
    }
}

impl From<Vec<u8>> for CompactBytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP { CompactBytes::from(v.as_slice()) } else { CompactBytes::Heap(v.into_boxed_slice()) }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl Hash for CompactBytes {
    // Must hash exactly like `[u8]` so slice lookups find the same entries.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl std::fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_round_trip() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        for n in [0, 1, 21, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            let c = CompactBytes::from(v.as_slice());
            assert_eq!(&*c, v.as_slice());
            assert_eq!(matches!(c, CompactBytes::Inline { .. }), n <= INLINE_CAP);
            assert_eq!(CompactBytes::from(v.clone()), c);
        }
        let mut m = std::collections::HashMap::new();
        m.insert(CompactBytes::from(&b"key"[..]), 1);
        assert_eq!(m.get(&b"key"[..]), Some(&1));
    }
}
