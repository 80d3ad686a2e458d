//! What a key holds: `Object` (value + expiry + access clock) and `Value`, the typed payload with the
//! encodings Redis reports in OBJECT ENCODING.
//!
//! Encodings follow Redis's rules so that `OBJECT ENCODING` matches for the same data: a string that is a
//! canonical 64-bit integer is `int`, a short one (≤ 44 bytes) `embstr`, anything else or anything
//! modified in place (APPEND, SETRANGE, SETBIT) `raw`.

use super::bytes::CompactBytes;
use super::hash::HashValue;
use super::list::ListValue;
use super::set::SetValue;
use super::stream::Stream;
use super::zset::ZSetValue;
use crate::digest::{ValueDigest, ValueType};
use crate::error::{CmdError, WRONGTYPE};
use crate::numeric::{format_i64, parse_i64};

/// Longest string Redis stores as `embstr` (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).
pub const EMBSTR_SIZE_LIMIT: usize = 44;

/// A string value in one of Redis's three string encodings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrValue {
    /// A canonical integer kept as a number (`int`).
    Int(i64),
    /// A short immutable string (`embstr`).
    Emb(CompactBytes),
    /// A string that is or was modified in place (`raw`). Exactly sized, as Redis's sds strings
    /// are after a SET; a boxed slice keeps `Value` at 24 bytes (a `Vec` would make it 32).
    Raw(Box<[u8]>),
}

impl StrValue {
    /// Store bytes with the encoding Redis's tryObjectEncoding would choose.
    pub fn from_bytes(b: &[u8]) -> Self {
        if b.len() <= 20
            && let Some(n) = parse_i64(b)
        {
            return StrValue::Int(n);
        }
        if b.len() <= EMBSTR_SIZE_LIMIT { StrValue::Emb(CompactBytes::from(b)) } else { StrValue::Raw(b.into()) }
    }

    /// Store bytes without trying the integer encoding (values built by string operations).
    pub fn from_bytes_no_int(b: Vec<u8>) -> Self {
        if b.len() <= EMBSTR_SIZE_LIMIT {
            StrValue::Emb(CompactBytes::from(b))
        } else {
            StrValue::Raw(b.into_boxed_slice())
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Emb(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }

    /// The bytes, borrowing when they exist and rendering an integer into `scratch` otherwise.
    pub fn as_bytes<'a>(&'a self, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self {
            StrValue::Int(n) => {
                scratch.clear();
                format_i64(scratch, *n);
                scratch
            }
            StrValue::Emb(b) => b,
            StrValue::Raw(v) => v,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut s = Vec::new();
        self.as_bytes(&mut s).to_vec()
    }

    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => {
                let mut s = Vec::with_capacity(20);
                format_i64(&mut s, *n);
                s.len()
            }
            StrValue::Emb(b) => b.len(),
            StrValue::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes as a growable vector, turning the value into `raw` as Redis's
    /// dbUnshareStringValue does. The edit is stored back, exactly sized, when the guard drops:
    /// callers growing the string reserve exactly first, so that nothing is allocated twice.
    pub fn make_raw(&mut self) -> RawMut<'_> {
        let slot = self.raw_slot();
        let buf = std::mem::take(slot).into_vec();
        RawMut { slot, buf }
    }

    fn raw_slot(&mut self) -> &mut Box<[u8]> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(self.to_vec().into_boxed_slice());
        }
        let StrValue::Raw(slot) = self else { unreachable!("converted to Raw above") };
        slot
    }

    /// The bytes for writing in place without changing the length (SETBIT, BITFIELD), turning
    /// the value into `raw`.
    pub fn raw_bytes_mut(&mut self) -> &mut [u8] {
        self.raw_slot()
    }

    /// The value as an integer, when it is one (INCR and friends).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Emb(b) => parse_i64(b),
            StrValue::Raw(v) => parse_i64(v),
        }
    }

    /// Heap bytes used beyond the object itself (for `used_memory` accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Emb(b) => b.heap_size(),
            StrValue::Raw(v) => v.len(),
        }
    }
}

/// A raw string being edited in place (see [`StrValue::make_raw`]).
pub struct RawMut<'a> {
    slot: &'a mut Box<[u8]>,
    buf: Vec<u8>,
}

impl std::ops::Deref for RawMut<'_> {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.buf
    }
}

impl std::ops::DerefMut for RawMut<'_> {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
}

impl Drop for RawMut<'_> {
    fn drop(&mut self) {
        *self.slot = std::mem::take(&mut self.buf).into_boxed_slice();
    }
}

/// The typed payload of a key.
#[derive(Debug, Clone)]
pub enum Value {
    Str(StrValue),
    List(Box<ListValue>),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
    Stream(Box<Stream>),
}

/// Generates the typed accessors (`as_list`, `as_list_mut`, ...) that answer WRONGTYPE for any
/// other type, so handlers check types the same way everywhere.
macro_rules! typed_access {
    ($get:ident, $get_mut:ident, $variant:ident, $ty:ty) => {
        pub fn $get(&self) -> Result<&$ty, CmdError> {
            match self {
                Value::$variant(v) => Ok(v),
                _ => Err(WRONGTYPE.into()),
            }
        }

        pub fn $get_mut(&mut self) -> Result<&mut $ty, CmdError> {
            match self {
                Value::$variant(v) => Ok(v),
                _ => Err(WRONGTYPE.into()),
            }
        }
    };
}

impl Value {
    /// The name TYPE replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// Heap bytes owned by the value (for MEMORY USAGE and DEBUG OBJECT estimates).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::List(l) => l.heap_size() + std::mem::size_of::<ListValue>(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
        }
    }

    /// The digest of this value as DEBUG DIGEST-VALUE computes it; with `key`, the per-key digest
    /// DEBUG DIGEST combines.
    pub fn digest(&self, key: Option<&[u8]>, has_expire: bool) -> [u8; 20] {
        let ty = match self {
            Value::Str(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
            Value::Stream(_) => ValueType::Stream,
        };
        let mut d = match key {
            Some(k) => ValueDigest::with_key(k, ty),
            None => ValueDigest::new(ty),
        };
        match self {
            Value::Str(s) => {
                let mut scratch = Vec::new();
                d.string(s.as_bytes(&mut scratch));
            }
            Value::List(l) => l.digest_into(&mut d),
            Value::Hash(h) => h.digest_into(&mut d),
            Value::Set(s) => s.digest_into(&mut d),
            Value::ZSet(z) => z.digest_into(&mut d),
            Value::Stream(s) => {
                for e in s.iter() {
                    d.stream_entry(e.id.ms, e.id.seq);
                    e.for_each_field(|f, v| d.stream_field(&f.to_vec(), &v.to_vec()));
                }
            }
        }
        d.finish(has_expire)
    }

    typed_access!(as_str, as_str_mut, Str, StrValue);
    typed_access!(as_list, as_list_mut, List, ListValue);
    typed_access!(as_hash, as_hash_mut, Hash, HashValue);
    typed_access!(as_set, as_set_mut, Set, SetValue);
    typed_access!(as_zset, as_zset_mut, ZSet, ZSetValue);
    typed_access!(as_stream, as_stream_mut, Stream, Box<Stream>);
}

/// Marker for "no expiry" (the key is absent from `Db::expires`).
pub const NO_EXPIRE: i64 = -1;

/// A stored key's value with its metadata.
#[derive(Debug, Clone)]
pub struct Object {
    pub value: Value,
    /// Last access in the server's LRU clock (seconds resolution), for OBJECT IDLETIME.
    pub lru: u32,
}

impl Object {
    pub fn new(value: Value, lru: u32) -> Self {
        Object { value, lru }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_fits_a_64_byte_allocation() {
        // Table entry = key (24) + Object + next pointer (8): 64 bytes is a jemalloc size class,
        // 72 would take 80. Every payload must stay within 24 bytes for this to hold.
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Object>(), 32);
    }

    #[test]
    fn raw_edits_are_stored_back() {
        let mut v = StrValue::from_bytes(b"abc");
        {
            let mut raw = v.make_raw();
            raw.reserve_exact(3);
            raw.extend_from_slice(b"def");
        }
        assert_eq!(v, StrValue::Raw(b"abcdef".to_vec().into_boxed_slice()));
        v.raw_bytes_mut()[0] = b'A';
        assert_eq!(v.to_vec(), b"Abcdef");
    }

    #[test]
    fn encodings_follow_redis() {
        assert_eq!(StrValue::from_bytes(b"12345").encoding(), "int");
        assert_eq!(StrValue::from_bytes(b"012").encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(StrValue::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut v = StrValue::from_bytes(b"12");
        v.make_raw().push(b'3');
        assert_eq!(v, StrValue::Raw(b"123".to_vec().into_boxed_slice()));
        assert_eq!(v.as_i64(), Some(123));
    }
}
