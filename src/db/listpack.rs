//! `Listpack`: Redis 7.0's compact sequence of strings and integers, byte-for-byte in Redis's format so
//! that RDB and DUMP can write a buffer verbatim and read one back without conversion. It is the storage
//! of every small list node, hash and sorted set.
//!
//! This module owns the encoding and nothing else: it knows no thresholds and no data-type semantics
//! (pairs of fields and values are the caller's convention). It never panics on a corrupt buffer:
//! [`Listpack::from_bytes`] validates every byte before accepting it, after which all reads may rely on
//! that structure. A position handed back by a method stays valid only until the next mutation; passing
//! anything else is a caller bug that may panic (never undefined behaviour). Reads never allocate.

use std::fmt;
use std::iter::FusedIterator;

use crate::numeric::{format_i64, parse_i64};

/// Bytes of the header: total length (u32) and element count (u16).
const HDR_SIZE: usize = 6;
/// The terminator byte, also the first byte of no valid entry.
const EOF: u8 = 0xFF;
/// Header count meaning "too many to count here; scan".
const COUNT_UNKNOWN: u16 = u16::MAX;
/// The largest buffer Redis accepts (its total length field is 32 bits).
const MAX_TOTAL: usize = u32::MAX as usize;

/// Size of the scratch buffer [`LpValue::to_bytes`] formats integers into (Redis's `LP_INTBUF_SIZE`):
/// `-9223372036854775808` is 20 bytes.
pub const INTBUF_SIZE: usize = 21;

/// One element read from a listpack: integers come back as numbers, so callers that want a number do not
/// parse, and callers that want bytes format into a stack buffer.
///
/// Equality is "same string": `Int(12)` equals `Str(b"12")` but not `Str(b"012")`.
#[derive(Debug, Clone, Copy)]
pub enum LpValue<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl<'a> LpValue<'a> {
    /// The value as an integer: always for `Int`, and for `Str` when it is a canonical decimal
    /// (Redis's `string2ll` rules).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            LpValue::Int(v) => Some(v),
            LpValue::Str(s) => parse_i64(s),
        }
    }

    /// The value as bytes, formatting an integer into `scratch`.
    pub fn to_bytes<'s>(&self, scratch: &'s mut [u8; INTBUF_SIZE]) -> &'s [u8]
    where
        'a: 's,
    {
        match *self {
            LpValue::Str(s) => s,
            LpValue::Int(v) => format_into(v, scratch),
        }
    }

    /// Appends the value's bytes to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match *self {
            LpValue::Str(s) => out.extend_from_slice(s),
            LpValue::Int(v) => format_i64(out, v),
        }
    }

    /// The value's bytes in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Whether the value's string form is exactly `v`.
    pub fn eq_bytes(&self, v: &[u8]) -> bool {
        match *self {
            LpValue::Str(s) => s == v,
            // Canonical parsing is a bijection with formatting, so parsing `v` is the same test as
            // formatting the integer, without the digits loop.
            LpValue::Int(i) => parse_i64(v) == Some(i),
        }
    }
}

impl PartialEq<LpValue<'_>> for LpValue<'_> {
    fn eq(&self, other: &LpValue<'_>) -> bool {
        match (*self, *other) {
            (LpValue::Int(a), LpValue::Int(b)) => a == b,
            (LpValue::Str(a), LpValue::Str(b)) => a == b,
            (LpValue::Int(i), LpValue::Str(s)) | (LpValue::Str(s), LpValue::Int(i)) => parse_i64(s) == Some(i),
        }
    }
}

impl Eq for LpValue<'_> {}

impl PartialEq<[u8]> for LpValue<'_> {
    fn eq(&self, other: &[u8]) -> bool {
        self.eq_bytes(other)
    }
}

impl PartialEq<&[u8]> for LpValue<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        self.eq_bytes(other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for LpValue<'_> {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.eq_bytes(other.as_slice())
    }
}

/// Writes the decimal form of `v` right-aligned into `scratch`.
fn format_into(v: i64, scratch: &mut [u8; INTBUF_SIZE]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut pos = scratch.len();
    // At most 19 digits plus a sign, so `pos` never underflows the 21-byte buffer.
    loop {
        pos -= 1;
        scratch[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        pos -= 1;
        scratch[pos] = b'-';
    }
    &scratch[pos..]
}

/// A listpack: one contiguous buffer in Redis's exact format.
///
/// # Format
///
/// ```text
/// <total: u32 LE> <count: u16 LE> <entry>* <0xFF>
/// entry = <encoding + data> <backlen>
/// ```
///
/// `total` is the whole buffer's length; `count` is the number of entries, or 65535 when there are at
/// least that many (then only a scan knows). The empty listpack is `07 00 00 00 00 00 FF`.
///
/// Encodings, by first byte:
///
/// | first byte  | meaning                                                            | enc. length |
/// |-------------|--------------------------------------------------------------------|-------------|
/// | `0xxxxxxx`  | unsigned integer 0..=127                                           | 1           |
/// | `10xxxxxx`  | string of 0..=63 bytes follows                                     | 1 + len     |
/// | `110xxxxx`  | 13-bit signed integer: these 5 bits then the next byte (high first) | 2           |
/// | `1110xxxx`  | string of 64..=4095 bytes: 12-bit length, these 4 bits high        | 2 + len     |
/// | `0xF0`      | string, u32 LE length follows                                      | 5 + len     |
/// | `0xF1..F4`  | i16, i24, i32, i64, little-endian two's complement                 | 3, 4, 5, 9  |
///
/// Integers use the smallest encoding that fits; a string is stored as an integer exactly when it is a
/// canonical decimal (Redis's `string2ll`), so the original bytes are always recoverable.
///
/// `backlen` holds the encoding length `L` in 1 to 5 bytes (1 if `L <= 127`, 2 if `L < 16383`, 3 if
/// `L < 2097151`, 4 if `L < 268435455`, else 5; Redis's thresholds, off by one from the 7-bit powers).
/// It is big-endian in 7-bit groups: the first byte holds the highest group, and every byte but the
/// first has bit 7 set, so a reader walking backwards from the next entry collects groups, lowest first,
/// until it meets a byte without that bit.
#[derive(Clone, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Listpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Listpack {
    /// An empty listpack (7 bytes).
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(HDR_SIZE + 1);
        buf.extend_from_slice(&[(HDR_SIZE + 1) as u8, 0, 0, 0, 0, 0, EOF]);
        Listpack { buf }
    }

    /// Adopts a buffer from outside (RDB, RESTORE) after validating all of it, like Redis's
    /// `lpValidateIntegrity` with deep checking: the header total matches the length, every entry has a
    /// known encoding, lies inside the buffer and carries the backlen Redis would write, the terminator
    /// is last, and the header count matches unless it says 65535.
    ///
    /// An empty listpack is accepted; Redis's loaders reject empty keys separately.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Self> {
        Self::validate(&buf).then_some(Listpack { buf })
    }

    /// Whether `buf` is a well-formed listpack (see [`Listpack::from_bytes`]).
    pub fn validate(buf: &[u8]) -> bool {
        validate(buf).is_some()
    }

    /// The buffer, in Redis's format.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer, in Redis's format.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Number of elements. Constant time unless there are 65535 or more, which needs a scan.
    pub fn len(&self) -> usize {
        match self.count_header() {
            COUNT_UNKNOWN => self.iter().count(),
            n => usize::from(n),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf[HDR_SIZE] == EOF
    }

    /// Size of the encoded buffer, what Redis's size-based conversion thresholds compare against.
    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes allocated on the heap.
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    /// Releases spare capacity (insertions grow the buffer geometrically).
    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Position of the first element.
    pub fn first(&self) -> Option<usize> {
        (!self.is_empty()).then_some(HDR_SIZE)
    }

    /// Position of the last element.
    pub fn last(&self) -> Option<usize> {
        self.prev(self.eof_pos())
    }

    /// Position of the element after the one at `pos`.
    pub fn next(&self, pos: usize) -> Option<usize> {
        let next = pos + entry_size(&self.buf, pos);
        (self.buf[next] != EOF).then_some(next)
    }

    /// Position of the element before the one at `pos`.
    pub fn prev(&self, pos: usize) -> Option<usize> {
        (pos > HDR_SIZE).then(|| pos - prev_entry_size(&self.buf, pos))
    }

    /// The element at `pos`.
    ///
    /// # Panics
    ///
    /// If `pos` is not a position this listpack handed out since its last mutation.
    pub fn get(&self, pos: usize) -> LpValue<'_> {
        decode(&self.buf, pos)
    }

    /// Position of the element at `index` (negative counts from the end, -1 being the last), walking
    /// from the nearer end when the count is known.
    pub fn seek(&self, index: i64) -> Option<usize> {
        let count = self.count_header();
        let (forward, steps) = if count == COUNT_UNKNOWN {
            // Without a count, a non-negative index can only be found from the front and a negative one
            // from the back.
            if index >= 0 { (true, index.unsigned_abs()) } else { (false, (index + 1).unsigned_abs()) }
        } else {
            let n = i64::from(count);
            let index = if index < 0 { index.checked_add(n)? } else { index };
            if !(0..n).contains(&index) {
                return None;
            }
            if index > n / 2 { (false, (n - 1 - index).unsigned_abs()) } else { (true, index.unsigned_abs()) }
        };
        let mut pos = if forward { self.first() } else { self.last() };
        for _ in 0..steps {
            pos = if forward { self.next(pos?) } else { self.prev(pos?) };
        }
        pos
    }

    /// Appends `v` (stored as an integer when it is a canonical decimal).
    pub fn push_back(&mut self, v: &[u8]) {
        self.insert_at(self.eof_pos(), &Encoded::of(v));
    }

    /// Prepends `v`.
    pub fn push_front(&mut self, v: &[u8]) {
        self.insert_at(HDR_SIZE, &Encoded::of(v));
    }

    /// Appends an integer without formatting it.
    pub fn push_back_int(&mut self, v: i64) {
        self.insert_at(self.eof_pos(), &Encoded::int(v));
    }

    /// Inserts `v` before the element at `pos`; returns the new element's position (which is `pos`).
    pub fn insert_before(&mut self, pos: usize, v: &[u8]) -> usize {
        self.insert_at(pos, &Encoded::of(v));
        pos
    }

    /// Inserts `v` after the element at `pos`; returns the new element's position.
    pub fn insert_after(&mut self, pos: usize, v: &[u8]) -> usize {
        let at = pos + entry_size(&self.buf, pos);
        self.insert_at(at, &Encoded::of(v));
        at
    }

    /// Replaces the element at `pos` with `v`; `pos` then designates the new element.
    pub fn replace(&mut self, pos: usize, v: &[u8]) {
        let old = entry_size(&self.buf, pos);
        self.splice(pos, old, &Encoded::of(v));
    }

    /// Replaces the element at `pos` with an integer.
    pub fn replace_int(&mut self, pos: usize, v: i64) {
        let old = entry_size(&self.buf, pos);
        self.splice(pos, old, &Encoded::int(v));
    }

    /// Deletes the element at `pos`; returns the position of the element that followed it, which is
    /// `pos` itself unless the deleted element was the last.
    pub fn delete(&mut self, pos: usize) -> Option<usize> {
        let size = entry_size(&self.buf, pos);
        self.remove_bytes(pos, pos + size, 1);
        (self.buf[pos] != EOF).then_some(pos)
    }

    /// Deletes up to `count` elements starting at element `index` with one move of the tail.
    pub fn delete_range(&mut self, index: usize, count: usize) {
        if count == 0 {
            return;
        }
        let Some(start) = i64::try_from(index).ok().and_then(|i| self.seek(i)) else {
            return;
        };
        let eof = self.eof_pos();
        let known = self.count_header();
        let (end, deleted) = if known != COUNT_UNKNOWN && usize::from(known) - index <= count {
            (eof, usize::from(known) - index)
        } else {
            let mut end = start;
            let mut deleted = 0;
            while deleted < count && end < eof {
                end += entry_size(&self.buf, end);
                deleted += 1;
            }
            (end, deleted)
        };
        self.remove_bytes(start, end, deleted);
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Compares `v` with the element at `start` and then every `skip + 1`-th element after it (hash
    /// fields use `skip = 1` to pass over values); returns the first match. An integer element matches
    /// when `v` is its canonical decimal form.
    pub fn find(&self, start: usize, v: &[u8], skip: usize) -> Option<usize> {
        let want_int = parse_i64(v);
        let eof = self.eof_pos();
        let mut pos = start;
        let mut to_skip = 0;
        while pos < eof {
            if to_skip == 0 {
                let hit = match decode(&self.buf, pos) {
                    LpValue::Str(s) => s == v,
                    LpValue::Int(i) => want_int == Some(i),
                };
                if hit {
                    return Some(pos);
                }
                to_skip = skip;
            } else {
                to_skip -= 1;
            }
            pos += entry_size(&self.buf, pos);
        }
        None
    }

    /// All elements, front to back (or back to front with `.rev()`).
    pub fn iter(&self) -> Iter<'_> {
        Iter { buf: &self.buf, front: HDR_SIZE, back: self.eof_pos() }
    }

    fn eof_pos(&self) -> usize {
        self.buf.len() - 1
    }

    fn count_header(&self) -> u16 {
        u16::from_le_bytes([self.buf[4], self.buf[5]])
    }

    fn set_count_header(&mut self, count: u16) {
        self.buf[4..HDR_SIZE].copy_from_slice(&count.to_le_bytes());
    }

    fn set_total_header(&mut self) {
        // Every growth path checks MAX_TOTAL first, so this never truncates.
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
    }

    fn insert_at(&mut self, pos: usize, enc: &Encoded<'_>) {
        self.splice(pos, 0, enc);
        let count = self.count_header();
        // Reaching 65535 is exactly how Redis's count saturates into "unknown".
        if count != COUNT_UNKNOWN {
            self.set_count_header(count + 1);
        }
    }

    /// Replaces the `old` bytes at `pos` with the entry `enc`, moving the tail once.
    fn splice(&mut self, pos: usize, old: usize, enc: &Encoded<'_>) {
        let new = enc.entry_len();
        let len = self.buf.len();
        let total = len - old + new;
        assert!(total <= MAX_TOTAL, "listpack would exceed {MAX_TOTAL} bytes");
        let tail = pos + old;
        if new > old {
            // Grow by at most an eighth beyond the need (like an allocator's size classes): small
            // listpacks are most of a dataset's memory, and doubling would waste up to half of it.
            if total > self.buf.capacity() {
                self.buf.reserve_exact((total - len).max(len / 8));
            }
            self.buf.resize(total, 0);
            self.buf.copy_within(tail..len, pos + new);
        } else if new < old {
            self.buf.copy_within(tail..len, pos + new);
            self.buf.truncate(total);
        }
        enc.write(&mut self.buf[pos..pos + new]);
        self.set_total_header();
    }

    /// Removes the entries occupying `start..end`, `deleted` of them.
    fn remove_bytes(&mut self, start: usize, end: usize, deleted: usize) {
        let len = self.buf.len();
        self.buf.copy_within(end..len, start);
        self.buf.truncate(len - (end - start));
        self.set_total_header();
        let count = self.count_header();
        if count != COUNT_UNKNOWN {
            // An exact count bounds the number of entries, so this cannot underflow.
            self.set_count_header(count - deleted as u16);
        }
        // Keep a quarter of slack so that alternating pushes and pops at the boundary do not reallocate
        // every time.
        let len = self.buf.len();
        if self.buf.capacity() > 2 * len + 64 {
            self.buf.shrink_to(len + len / 4);
        }
    }
}

impl<'a> IntoIterator for &'a Listpack {
    type Item = LpValue<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over a listpack's elements; see [`Listpack::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    buf: &'a [u8],
    /// Position of the next element from the front.
    front: usize,
    /// Position just past the next element from the back.
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpValue<'a>;

    fn next(&mut self) -> Option<LpValue<'a>> {
        if self.front >= self.back {
            return None;
        }
        let v = decode(self.buf, self.front);
        self.front += entry_size(self.buf, self.front);
        Some(v)
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= prev_entry_size(self.buf, self.back);
        Some(decode(self.buf, self.back))
    }
}

impl FusedIterator for Iter<'_> {}

/// Bytes `v` would occupy as an entry, backlen included: lets a caller decide whether an insertion
/// would push a listpack past a size limit before making it.
pub fn lp_entry_size_for(v: &[u8]) -> usize {
    Encoded::of(v).entry_len()
}

/// An element ready to be written: integers are pre-encoded, strings are written straight from the
/// caller's slice.
enum Encoded<'a> {
    Int { bytes: [u8; 9], len: usize },
    Str(&'a [u8]),
}

impl<'a> Encoded<'a> {
    fn of(v: &'a [u8]) -> Self {
        match parse_i64(v) {
            Some(i) => Encoded::int(i),
            None => Encoded::Str(v),
        }
    }

    fn int(v: i64) -> Self {
        let mut bytes = [0u8; 9];
        let le = v.to_le_bytes();
        let len = if (0..=127).contains(&v) {
            bytes[0] = v as u8;
            1
        } else if (-4096..=4095).contains(&v) {
            // The 13-bit two's complement pattern: masking keeps exactly the low 13 bits.
            let raw = (v as u16) & 0x1FFF;
            bytes[0] = 0xC0 | (raw >> 8) as u8;
            bytes[1] = raw as u8;
            2
        } else {
            let (tag, width) = if i16::try_from(v).is_ok() {
                (0xF1, 2)
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                (0xF2, 3)
            } else if i32::try_from(v).is_ok() {
                (0xF3, 4)
            } else {
                (0xF4, 8)
            };
            bytes[0] = tag;
            bytes[1..=width].copy_from_slice(&le[..width]);
            1 + width
        };
        Encoded::Int { bytes, len }
    }

    /// Length of encoding + data.
    fn enc_len(&self) -> usize {
        match self {
            Encoded::Int { len, .. } => *len,
            Encoded::Str(s) => str_header_len(s.len()) + s.len(),
        }
    }

    /// Length of the whole entry, backlen included.
    fn entry_len(&self) -> usize {
        let l = self.enc_len();
        l + backlen_size(l)
    }

    /// Writes the entry into `dst`, which is exactly `entry_len()` bytes.
    fn write(&self, dst: &mut [u8]) {
        let l = self.enc_len();
        let (enc, back) = dst.split_at_mut(l);
        match self {
            Encoded::Int { bytes, len } => enc.copy_from_slice(&bytes[..*len]),
            Encoded::Str(s) => {
                let n = s.len();
                let h = str_header_len(n);
                match h {
                    1 => enc[0] = 0x80 | n as u8,
                    2 => {
                        enc[0] = 0xE0 | (n >> 8) as u8;
                        enc[1] = n as u8;
                    }
                    _ => {
                        // The caller's MAX_TOTAL check guarantees the length fits in 32 bits.
                        enc[0] = 0xF0;
                        enc[1..5].copy_from_slice(&(n as u32).to_le_bytes());
                    }
                }
                enc[h..].copy_from_slice(s);
            }
        }
        let (bytes, n) = encode_backlen(l);
        back.copy_from_slice(&bytes[..n]);
    }
}

fn str_header_len(n: usize) -> usize {
    if n < 64 {
        1
    } else if n < 4096 {
        2
    } else {
        5
    }
}

/// Bytes of backlen for an encoding of length `l`, with Redis's exact thresholds.
fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

fn encode_backlen(l: usize) -> ([u8; 5], usize) {
    let n = backlen_size(l);
    let mut out = [0u8; 5];
    for (i, b) in out[..n].iter_mut().enumerate() {
        let group = ((l >> (7 * (n - 1 - i))) & 127) as u8;
        *b = if i == 0 { group } else { group | 128 };
    }
    (out, n)
}

/// Size of the whole entry (backlen included) that ends just before `end`.
fn prev_entry_size(buf: &[u8], end: usize) -> usize {
    let mut l = 0;
    let mut p = end;
    for shift in (0..35).step_by(7) {
        p -= 1;
        let b = buf[p];
        l |= usize::from(b & 127) << shift;
        if b & 128 == 0 {
            return l + backlen_size(l);
        }
    }
    invalid_position(end)
}

/// Bytes of encoding header (before the data) for an entry starting with `b0`, `None` for the terminator
/// and the unused encodings.
fn header_len(b0: u8) -> Option<usize> {
    match b0 {
        0x00..=0xDF | 0xF1..=0xF4 => Some(1),
        0xE0..=0xEF => Some(2),
        0xF0 => Some(5),
        _ => None,
    }
}

/// Length of encoding + data of the entry at `pos`. Reads only header bytes.
fn encoded_len(buf: &[u8], pos: usize) -> usize {
    let b0 = buf[pos];
    match b0 {
        0x00..=0x7F => 1,
        0x80..=0xBF => 1 + usize::from(b0 & 0x3F),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 2 + (usize::from(b0 & 0x0F) << 8 | usize::from(buf[pos + 1])),
        // Saturating so that a corrupt 4 GiB length cannot wrap a 32-bit usize; validation then rejects it.
        0xF0 => (u32::from_le_bytes(array_at(buf, pos + 1)) as usize).saturating_add(5),
        0xF1 => 3,
        0xF2 => 4,
        0xF3 => 5,
        0xF4 => 9,
        _ => invalid_position(pos),
    }
}

/// Size of the whole entry at `pos`, backlen included.
fn entry_size(buf: &[u8], pos: usize) -> usize {
    let l = encoded_len(buf, pos);
    l + backlen_size(l)
}

fn decode(buf: &[u8], pos: usize) -> LpValue<'_> {
    let b0 = buf[pos];
    let str_at = |start: usize, len: usize| LpValue::Str(&buf[start..start + len]);
    match b0 {
        0x00..=0x7F => LpValue::Int(i64::from(b0)),
        0x80..=0xBF => str_at(pos + 1, usize::from(b0 & 0x3F)),
        0xC0..=0xDF => {
            let raw = u16::from(b0 & 0x1F) << 8 | u16::from(buf[pos + 1]);
            // Shift the 13-bit sign bit up to bit 15 and back down arithmetically to sign-extend.
            LpValue::Int(i64::from((raw << 3) as i16 >> 3))
        }
        0xE0..=0xEF => str_at(pos + 2, usize::from(b0 & 0x0F) << 8 | usize::from(buf[pos + 1])),
        0xF0 => str_at(pos + 5, u32::from_le_bytes(array_at(buf, pos + 1)) as usize),
        0xF1 => LpValue::Int(i64::from(i16::from_le_bytes(array_at(buf, pos + 1)))),
        0xF2 => {
            let [a, b, c] = array_at(buf, pos + 1);
            LpValue::Int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8))
        }
        0xF3 => LpValue::Int(i64::from(i32::from_le_bytes(array_at(buf, pos + 1)))),
        0xF4 => LpValue::Int(i64::from_le_bytes(array_at(buf, pos + 1))),
        _ => invalid_position(pos),
    }
}

fn array_at<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}

#[cold]
#[track_caller]
fn invalid_position(pos: usize) -> ! {
    panic!("listpack: {pos} is not the position of an element")
}

/// Full structural validation; `None` at the first defect.
fn validate(buf: &[u8]) -> Option<()> {
    let len = buf.len();
    if len < HDR_SIZE + 1 || u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize != len {
        return None;
    }
    let eof = len - 1;
    if buf[eof] != EOF {
        return None;
    }
    let mut count: usize = 0;
    let mut pos = HDR_SIZE;
    while pos < eof {
        let hdr = header_len(buf[pos])?;
        // The header must end before the terminator for its length bytes to be readable.
        if pos + hdr > eof {
            return None;
        }
        let l = encoded_len(buf, pos);
        let (backlen, n) = encode_backlen(l);
        let data_end = pos.checked_add(l)?;
        let end = data_end.checked_add(n)?;
        if end > eof || buf[data_end..end] != backlen[..n] {
            return None;
        }
        count += 1;
        pos = end;
    }
    let header_count = u16::from_le_bytes([buf[4], buf[5]]);
    (header_count == COUNT_UNKNOWN || usize::from(header_count) == count).then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(items: &[&[u8]]) -> Listpack {
        let mut lp = Listpack::new();
        for v in items {
            lp.push_back(v);
        }
        lp
    }

    fn contents(lp: &Listpack) -> Vec<Vec<u8>> {
        lp.iter().map(|v| v.to_vec()).collect()
    }

    /// Bytes of the single entry of a one-element listpack.
    fn entry_bytes(v: &[u8]) -> Vec<u8> {
        let lp = build(&[v]);
        let b = lp.as_bytes();
        b[HDR_SIZE..b.len() - 1].to_vec()
    }

    #[test]
    fn empty_is_seven_bytes() {
        let lp = Listpack::new();
        assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xFF]);
        assert!(lp.is_empty());
        assert_eq!(lp.len(), 0);
        assert_eq!(lp.first(), None);
        assert_eq!(lp.last(), None);
        assert_eq!(lp.seek(0), None);
        assert_eq!(lp.seek(-1), None);
        assert_eq!(lp.iter().next(), None);
        assert_eq!(Listpack::default(), lp);
        assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
    }

    #[test]
    fn known_redis_bytes() {
        let lp = build(&[b"a", b"1", b"-1", b"hello"]);
        #[rustfmt::skip]
        let expected = [
            0x16, 0, 0, 0, 4, 0,
            0x81, b'a', 2,
            0x01, 1,
            0xDF, 0xFF, 2,
            0x85, b'h', b'e', b'l', b'l', b'o', 6,
            0xFF,
        ];
        assert_eq!(lp.as_bytes(), &expected);
        assert_eq!(lp.len(), 4);
    }

    /// Captured from Redis 7.0.15: `HSET h f 300 g -70000 k 5000000000` then DUMP (the listpack blob).
    #[test]
    fn matches_redis_dump_of_a_hash() {
        let lp = build(&[b"f", b"300", b"g", b"-70000", b"k", b"5000000000"]);
        #[rustfmt::skip]
        let expected = [
            0x22, 0, 0, 0, 6, 0,
            0x81, b'f', 2,
            0xC1, 0x2C, 2,
            0x81, b'g', 2,
            0xF2, 0x90, 0xEE, 0xFE, 4,
            0x81, b'k', 2,
            0xF4, 0x00, 0xF2, 0x05, 0x2A, 0x01, 0, 0, 0, 9,
            0xFF,
        ];
        assert_eq!(lp.as_bytes(), &expected);
    }

    #[test]
    fn integer_encodings_use_the_smallest_width() {
        let cases: &[(i64, &[u8])] = &[
            (0, &[0x00]),
            (127, &[0x7F]),
            (128, &[0xC0, 0x80]),
            (-1, &[0xDF, 0xFF]),
            (4095, &[0xCF, 0xFF]),
            (-4096, &[0xD0, 0x00]),
            (4096, &[0xF1, 0x00, 0x10]),
            (-4097, &[0xF1, 0xFF, 0xEF]),
            (32767, &[0xF1, 0xFF, 0x7F]),
            (-32768, &[0xF1, 0x00, 0x80]),
            (32768, &[0xF2, 0x00, 0x80, 0x00]),
            (8_388_607, &[0xF2, 0xFF, 0xFF, 0x7F]),
            (-8_388_608, &[0xF2, 0x00, 0x00, 0x80]),
            (8_388_608, &[0xF3, 0x00, 0x00, 0x80, 0x00]),
            (i64::from(i32::MIN), &[0xF3, 0x00, 0x00, 0x00, 0x80]),
            (i64::from(i32::MAX) + 1, &[0xF4, 0, 0, 0, 0x80, 0, 0, 0, 0]),
            (i64::MIN, &[0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80]),
            (i64::MAX, &[0xF4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
        ];
        for &(v, enc) in cases {
            let mut expected = enc.to_vec();
            expected.push(enc.len() as u8);
            let text = v.to_string();
            assert_eq!(entry_bytes(text.as_bytes()), expected, "{v}");
            let mut lp = Listpack::new();
            lp.push_back_int(v);
            assert_eq!(lp, build(&[text.as_bytes()]));
            assert!(matches!(lp.get(HDR_SIZE), LpValue::Int(x) if x == v));
            assert_eq!(lp_entry_size_for(text.as_bytes()), expected.len());
        }
    }

    #[test]
    fn only_canonical_decimals_become_integers() {
        for s in [
            &b"+1"[..],
            b"01",
            b"-0",
            b"00",
            b" 1",
            b"1 ",
            b"-",
            b"",
            b"1.0",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"000000000000000000001",
        ] {
            let lp = build(&[s]);
            assert!(matches!(lp.get(HDR_SIZE), LpValue::Str(x) if x == s), "{s:?}");
        }
        for s in [&b"0"[..], b"-9223372036854775808", b"9223372036854775807", b"-5"] {
            let lp = build(&[s]);
            assert!(matches!(lp.get(HDR_SIZE), LpValue::Int(_)), "{s:?}");
            assert_eq!(lp.get(HDR_SIZE).to_vec(), s);
        }
    }

    #[test]
    fn string_encodings_and_backlen_boundaries() {
        let check = |n: usize, header: &[u8], backlen: &[u8]| {
            let s = vec![b'x'; n];
            let e = entry_bytes(&s);
            assert_eq!(&e[..header.len()], header, "len {n}");
            assert_eq!(&e[header.len()..header.len() + n], &s[..]);
            assert_eq!(&e[header.len() + n..], backlen, "len {n}");
            assert_eq!(lp_entry_size_for(&s), e.len());
            let lp = build(&[&s, b"z"]);
            assert_eq!(lp.get(lp.last().and_then(|p| lp.prev(p)).unwrap()), s.as_slice());
        };
        check(0, &[0x80], &[1]);
        check(63, &[0xBF], &[64]);
        check(64, &[0xE0, 64], &[66]);
        check(125, &[0xE0, 125], &[127]);
        check(126, &[0xE0, 126], &[0x01, 0x80]);
        check(4095, &[0xEF, 0xFF], &[32, 0x80 | 1]);
        check(4096, &[0xF0, 0, 0x10, 0, 0], &[32, 0x80 | 5]);
        // Encoded length 16382 still takes two backlen bytes; 16383 takes three (Redis's `< 16383`).
        check(16377, &[0xF0, 0xF9, 0x3F, 0, 0], &[0x7F, 0xFE]);
        check(16378, &[0xF0, 0xFA, 0x3F, 0, 0], &[0x00, 0xFF, 0xFF]);
        check(70000, &[0xF0, 0x70, 0x11, 0x01, 0], &[0x04, 0xA2, 0xF5]);
    }

    #[test]
    fn backlen_round_trips_at_every_threshold() {
        for l in [1, 127, 128, 16382, 16383, 16384, 2_097_150, 2_097_151, 268_435_454, 268_435_455, 1 << 32] {
            let (bytes, n) = encode_backlen(l);
            assert_eq!(n, backlen_size(l));
            let mut buf = vec![0u8; 3];
            buf.extend_from_slice(&bytes[..n]);
            assert_eq!(prev_entry_size(&buf, buf.len()), l + n, "{l}");
        }
        assert_eq!([backlen_size(127), backlen_size(128), backlen_size(16382), backlen_size(16383)], [1, 2, 2, 3]);
        assert_eq!([backlen_size(2_097_150), backlen_size(2_097_151)], [3, 4]);
        assert_eq!([backlen_size(268_435_454), backlen_size(268_435_455)], [4, 5]);
    }

    #[test]
    fn cursor_api() {
        let mut lp = build(&[b"a", b"b", b"c"]);
        let a = lp.first().unwrap();
        let b = lp.next(a).unwrap();
        let c = lp.next(b).unwrap();
        assert_eq!(lp.next(c), None);
        assert_eq!(lp.last(), Some(c));
        assert_eq!(lp.prev(c), Some(b));
        assert_eq!(lp.prev(a), None);
        assert_eq!([lp.seek(0), lp.seek(1), lp.seek(2), lp.seek(3)], [Some(a), Some(b), Some(c), None]);
        assert_eq!([lp.seek(-1), lp.seek(-3), lp.seek(-4)], [Some(c), Some(a), None]);
        assert_eq!(lp.seek(i64::MIN), None);

        let x = lp.insert_after(b, b"x");
        assert_eq!(lp.get(x), b"x");
        lp.insert_before(a, b"0");
        assert_eq!(contents(&lp), [&b"0"[..], b"a", b"b", b"x", b"c"]);
        let p = lp.seek(1).unwrap();
        lp.replace(p, &[b'y'; 200]);
        assert_eq!(lp.get(p), &[b'y'; 200][..]);
        lp.replace_int(p, -123456);
        assert_eq!(lp.get(p), b"-123456");
        assert_eq!(lp.delete(p), Some(p));
        assert_eq!(lp.get(p), b"b");
        let last = lp.last().unwrap();
        assert_eq!(lp.delete(last), None);
        assert_eq!(contents(&lp), [&b"0"[..], b"b", b"x"]);
        lp.push_front(b"f");
        assert_eq!(contents(&lp), [&b"f"[..], b"0", b"b", b"x"]);
        lp.clear();
        assert!(lp.is_empty());
    }

    #[test]
    fn delete_range_clamps_to_the_end() {
        let items: Vec<Vec<u8>> = (0..10).map(|i| format!("v{i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        let mut lp = build(&refs);
        lp.delete_range(2, 3);
        assert_eq!(lp.len(), 7);
        assert_eq!(contents(&lp)[2], b"v5");
        lp.delete_range(5, 100);
        assert_eq!(contents(&lp), [&b"v0"[..], b"v1", b"v5", b"v6", b"v7"]);
        lp.delete_range(5, 1);
        lp.delete_range(0, 0);
        assert_eq!(lp.len(), 5);
        lp.delete_range(0, 5);
        assert_eq!(lp, Listpack::new());
    }

    #[test]
    fn find_with_skip() {
        let lp = build(&[b"f1", b"v1", b"10", b"f1", b"abc", b"-3"]);
        let first = lp.first().unwrap();
        assert_eq!(lp.find(first, b"f1", 1), lp.seek(0));
        // With skip = 1 only fields are compared: "f1" at index 3 is a value.
        assert_eq!(lp.find(lp.seek(1).unwrap(), b"f1", 1), lp.seek(3));
        assert_eq!(lp.find(first, b"10", 1), lp.seek(2));
        assert_eq!(lp.find(first, b"010", 0), None);
        assert_eq!(lp.find(first, b"-3", 1), None);
        assert_eq!(lp.find(first, b"-3", 0), lp.seek(5));
        assert_eq!(lp.find(first, b"nope", 0), None);
    }

    #[test]
    fn values_compare_as_strings() {
        let mut scratch = [0u8; INTBUF_SIZE];
        assert_eq!(LpValue::Int(12), LpValue::Str(b"12"));
        assert_ne!(LpValue::Int(12), LpValue::Str(b"012"));
        assert_eq!(LpValue::Int(i64::MIN).to_bytes(&mut scratch), b"-9223372036854775808");
        assert_eq!(LpValue::Int(0).to_bytes(&mut scratch), b"0");
        assert_eq!(LpValue::Str(b"7").as_i64(), Some(7));
        assert_eq!(LpValue::Str(b"07").as_i64(), None);
        assert!(LpValue::Int(-5) == b"-5");
    }

    #[test]
    fn count_saturates_at_65535() {
        let mut lp = Listpack::new();
        for i in 0..65_534 {
            lp.push_back_int(i % 100);
        }
        assert_eq!(&lp.as_bytes()[4..6], &[0xFE, 0xFF]);
        lp.push_back(b"x");
        assert_eq!(&lp.as_bytes()[4..6], &[0xFF, 0xFF]);
        lp.push_back(b"y");
        assert_eq!(lp.len(), 65_536);
        assert_eq!(lp.seek(65_535).map(|p| lp.get(p)), Some(LpValue::Str(b"y")));
        assert_eq!(lp.seek(-2).map(|p| lp.get(p)), Some(LpValue::Str(b"x")));
        assert_eq!(lp.seek(65_536), None);
        lp.delete_range(0, 10);
        assert_eq!(&lp.as_bytes()[4..6], &[0xFF, 0xFF]);
        assert_eq!(lp.len(), 65_526);
        assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
    }

    #[test]
    fn from_bytes_rejects_corruption() {
        let good = build(&[b"a", b"1", b"-1", b"hello", &[b'q'; 100]]).into_bytes();
        assert!(Listpack::from_bytes(good.clone()).is_some());
        let reject = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            assert!(Listpack::from_bytes(b).is_none());
        };
        reject(&|b| b.truncate(5));
        reject(&|b| b.clear());
        reject(&|b| b[0] += 1);
        reject(&|b| *b.last_mut().unwrap() = 0);
        reject(&|b| b[4] = 3);
        reject(&|b| b[6] = 0xF5); // unused encoding
        reject(&|b| b[6] = 0xFF); // early terminator
        reject(&|b| b[8] = 3); // wrong backlen
        reject(&|b| b[6] = 0xBF); // string length disagreeing with the backlen
        reject(&|b| b[21] = 0xE1); // string running past the end
        reject(&|b| b[6] = 0xF0); // 32-bit length header over the following entries
        reject(&|b| {
            let n = b.len();
            b[n - 2] = 0xFF;
        });
        // Unknown count is accepted.
        let mut b = good.clone();
        b[4] = 0xFF;
        b[5] = 0xFF;
        assert_eq!(Listpack::from_bytes(b).map(|lp| lp.len()), Some(5));
        // A 32-bit string header cut short by the terminator.
        assert!(Listpack::from_bytes(vec![9, 0, 0, 0, 1, 0, 0xF0, 1, 0xFF]).is_none());
        assert!(Listpack::from_bytes(vec![8, 0, 0, 0, 1, 0, 0xE0, 0xFF]).is_none());
    }

    #[test]
    fn from_bytes_never_panics_on_mutations() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let base = build(&[b"a", b"12345", b"-70000", &[b'z'; 70], &[b'w'; 5000], b"5000000000"]).into_bytes();
        for _ in 0..20_000 {
            let mut b = base.clone();
            for _ in 0..=rng.below(3) {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            if rng.below(4) == 0 {
                b.truncate(rng.below(b.len() + 1));
            }
            if let Some(lp) = Listpack::from_bytes(b) {
                // Anything accepted must be fully walkable both ways.
                let fwd: Vec<Vec<u8>> = contents(&lp);
                let mut back: Vec<Vec<u8>> = lp.iter().rev().map(|v| v.to_vec()).collect();
                back.reverse();
                assert_eq!(fwd, back);
                assert_eq!(lp.len(), fwd.len());
            }
        }
    }

    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_value(rng: &mut XorShift) -> Vec<u8> {
        match rng.below(10) {
            0 => (rng.next() as i64).to_string().into_bytes(),
            1 => ((rng.next() % 10_000) as i64 - 5000).to_string().into_bytes(),
            2 => ((rng.next() % 20_000_000) as i64 - 10_000_000).to_string().into_bytes(),
            3 => [&b"01"[..], b"-0", b"+5", b"", b" 7"][rng.below(5)].to_vec(),
            4 => vec![b'L'; 60 + rng.below(5000)],
            _ => (0..rng.below(70)).map(|_| b'a' + rng.below(26) as u8).collect(),
        }
    }

    #[test]
    fn randomized_against_a_vec_model() {
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        for round in 0..40 {
            let mut lp = Listpack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for _ in 0..400 {
                let v = random_value(&mut rng);
                let n = model.len();
                match rng.below(9) {
                    0 => {
                        lp.push_back(&v);
                        model.push(v);
                    }
                    1 => {
                        lp.push_front(&v);
                        model.insert(0, v);
                    }
                    2 if n > 0 => {
                        let i = rng.below(n);
                        let pos = lp.seek(i as i64).unwrap();
                        if rng.below(2) == 0 {
                            assert_eq!(lp.insert_before(pos, &v), pos);
                            model.insert(i, v.clone());
                        } else {
                            let p = lp.insert_after(pos, &v);
                            assert_eq!(lp.get(p), v.as_slice());
                            model.insert(i + 1, v);
                        }
                    }
                    3 if n > 0 => {
                        let i = rng.below(n);
                        let pos = lp.seek(-(i as i64) - 1).unwrap();
                        lp.replace(pos, &v);
                        assert_eq!(lp.get(pos), v.as_slice());
                        model[n - 1 - i] = v;
                    }
                    4 if n > 0 => {
                        let i = rng.below(n);
                        let pos = lp.seek(i as i64).unwrap();
                        let next = lp.delete(pos);
                        model.remove(i);
                        assert_eq!(next.map(|p| lp.get(p).to_vec()), model.get(i).cloned());
                    }
                    5 if n > 0 => {
                        let i = rng.below(n);
                        let count = rng.below(6);
                        lp.delete_range(i, count);
                        model.drain(i..(i + count).min(n));
                    }
                    6 if n > 0 => {
                        let target = &model[rng.below(n)];
                        let skip = rng.below(3);
                        let expect = model.iter().step_by(skip + 1).position(|m| m == target);
                        let got = lp.find(lp.first().unwrap(), target, skip);
                        assert_eq!(got, expect.and_then(|k| lp.seek((k * (skip + 1)) as i64)));
                    }
                    7 => {
                        let i = rng.next() as i64 % 8;
                        let pos = lp.seek(i);
                        let idx = if i < 0 { n as i64 + i } else { i };
                        let expect = usize::try_from(idx).ok().and_then(|k| model.get(k));
                        assert_eq!(pos.map(|p| lp.get(p).to_vec()).as_ref(), expect);
                    }
                    _ => {
                        let x = rng.next() as i64 >> rng.below(64);
                        lp.push_back_int(x);
                        model.push(x.to_string().into_bytes());
                    }
                }
                assert_eq!(lp.len(), model.len());
                assert_eq!(lp.bytes_len(), lp.as_bytes().len());
            }
            assert_eq!(contents(&lp), model, "round {round}");
            let mut back: Vec<Vec<u8>> = lp.iter().rev().map(|v| v.to_vec()).collect();
            back.reverse();
            assert_eq!(back, model);
            let expected_size: usize = HDR_SIZE + 1 + model.iter().map(|v| lp_entry_size_for(v)).sum::<usize>();
            assert_eq!(lp.bytes_len(), expected_size);
            let copy = Listpack::from_bytes(lp.as_bytes().to_vec()).expect("our own buffer validates");
            assert_eq!(copy, lp);
            assert!(lp.heap_size() >= lp.bytes_len());
        }
    }

    #[test]
    fn iterator_meets_in_the_middle() {
        let lp = build(&[b"1", b"2", b"3", b"4", b"5"]);
        let mut it = lp.iter();
        assert_eq!(it.next(), Some(LpValue::Int(1)));
        assert_eq!(it.next_back(), Some(LpValue::Int(5)));
        assert_eq!(it.next(), Some(LpValue::Int(2)));
        assert_eq!(it.next_back(), Some(LpValue::Int(4)));
        assert_eq!(it.next(), Some(LpValue::Int(3)));
        assert_eq!(it.next_back(), None);
        assert_eq!(it.next(), None);
    }
}
