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
#[derive(Clone)]
pub struct Listpack {
    /// The listpack's bytes (its length is the header's total), then possibly a little slack left
    /// by removals. A boxed slice keeps the value holding it at 16 bytes; growth is exact, so the
    /// allocation is the size Redis's would be.
    buf: Box<[u8]>,
}

impl PartialEq for Listpack {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Listpack {}

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
        Listpack { buf: Box::new([(HDR_SIZE + 1) as u8, 0, 0, 0, 0, 0, EOF]) }
    }

    /// Adopts a buffer from outside (RDB, RESTORE) after validating all of it, like Redis's
    /// `lpValidateIntegrity` with deep checking: the header total matches the length, every entry has a
    /// known encoding, lies inside the buffer and carries the backlen Redis would write, the terminator
    /// is last, and the header count matches unless it says 65535.
    ///
    /// An empty listpack is accepted; Redis's loaders reject empty keys separately.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Self> {
        Self::validate(&buf).then(|| Listpack { buf: buf.into_boxed_slice() })
    }

    /// Whether `buf` is a well-formed listpack (see [`Listpack::from_bytes`]).
    pub fn validate(buf: &[u8]) -> bool {
        validate(buf).is_some()
    }

    /// The buffer, in Redis's format.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.used()]
    }

    /// The buffer, in Redis's format.
    pub fn into_bytes(self) -> Vec<u8> {
        let used = self.used();
        let mut v = self.buf.into_vec();
        v.truncate(used);
        v
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
        self.used()
    }

    /// The header's total byte count: where the listpack ends inside `buf`.
    fn used(&self) -> usize {
        u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize
    }

    /// Bytes allocated on the heap.
    pub fn heap_size(&self) -> usize {
        self.buf.len()
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
        Iter { buf: self.as_bytes(), front: HDR_SIZE, back: self.eof_pos() }
    }

    fn eof_pos(&self) -> usize {
        self.used() - 1
    }

    fn count_header(&self) -> u16 {
        u16::from_le_bytes([self.buf[4], self.buf[5]])
    }

    fn set_count_header(&mut self, count: u16) {
        self.buf[4..HDR_SIZE].copy_from_slice(&count.to_le_bytes());
    }

    fn set_total_header(&mut self, total: usize) {
        // Every growth path checks MAX_TOTAL first, so this never truncates.
        self.buf[..4].copy_from_slice(&(total as u32).to_le_bytes());
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
        let len = self.used();
        let total = len - old + new;
        assert!(total <= MAX_TOTAL, "listpack would exceed {MAX_TOTAL} bytes");
        let tail = pos + old;
        if total > self.buf.len() {
            super::bytes::resize_boxed(&mut self.buf, total);
        }
        self.buf.copy_within(tail..len, pos + new);
        enc.write(&mut self.buf[pos..pos + new]);
        self.set_total_header(total);
        self.release_slack(total);
    }

    /// Keeps the slack that removals leave within an eighth of the listpack (plus a few bytes), so
    /// a run of pops at one end reallocates now and then rather than on every pop, while a shrunk
    /// listpack does not hold on to memory.
    fn release_slack(&mut self, total: usize) {
        if self.buf.len() > total + total / 8 + 16 {
            super::bytes::resize_boxed(&mut self.buf, total);
        }
    }

    /// Removes the entries occupying `start..end`, `deleted` of them.
    fn remove_bytes(&mut self, start: usize, end: usize, deleted: usize) {
        let len = self.used();
        self.buf.copy_within(end..len, start);
        let total = len - (end - start);
        self.set_total_header(total);
        self.release_slack(total);
        let count = self.count_header();
        if count != COUNT_UNKNOWN {
            // An exact count bounds the number of entries, so this cannot underflow.
            self.set_count_header(count - deleted as u16);
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
        // A byte loop: the backlen is 1–5 bytes, too short for a memcmp call to pay off (it was a
        // fifth of RDB load time).
        if end > eof || !buf[data_end..end].iter().zip(&backlen[..n]).all(|(a, b)| a == b) {
            return None;
        }
        count += 1;
        pos = end;
    }
    let header_count = u16::from_le_bytes([buf[4], buf[5]]);
    (header_count == COUNT_UNKNOWN || usize::from(header_count) == count).then_some(())
}

#[cfg(test)]
mod tests;
