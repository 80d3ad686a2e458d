//! The RDB primitives: lengths, strings, doubles, times, type bytes and opcodes, in both directions.
//!
//! This module owns the byte-level encodings every RDB file and DUMP payload is built from, and the
//! constants naming its opcodes and object types. It never knows about keys, databases or value types
//! (the object serializer composes these primitives), never touches files or sockets, and never panics on
//! input: [`RdbReader`] bounds-checks every read and checks every length against the bytes actually left
//! before allocating, so a corrupt length cannot allocate gigabytes.
//!
//! # Format
//!
//! Lengths (the first two bits select the form; integers big-endian):
//!
//! ```text
//! 00vvvvvv                  0..=63
//! 01vvvvvv vvvvvvvv         0..=16383, high bits first
//! 10000000 <u32 BE>         up to u32::MAX
//! 10000001 <u64 BE>         anything larger
//! 11eeeeee                  not a length: a special string encoding `eeeeee` follows
//! ```
//!
//! Strings:
//!
//! ```text
//! <len> <len bytes>                     raw
//! C0 <i8>                               integer, stored as its decimal text
//! C1 <i16 LE>
//! C2 <i32 LE>
//! C3 <len clen> <len ulen> <clen bytes> LZF-compressed, expanding to exactly ulen bytes
//! ```

use std::borrow::Cow;
use std::fmt;

use super::lzf;
use crate::numeric::{format_i64, parse_f64, parse_i64};

/// The RDB format version Redis 7.0 writes, and the highest it reads.
pub const RDB_VERSION: u32 = 10;

/// The newest version the loader reads: Redis 7.2 (11) and 7.4 (12) files, so data can move down from
/// newer Redis when it only holds types this server has.
pub const MAX_LOADABLE_VERSION: u32 = 12;

/// The first five bytes of every RDB file; four ASCII digits of version follow.
pub const MAGIC: &[u8; 5] = b"REDIS";

/// Opcodes: bytes that appear where an object type would and announce something other than a key.
pub mod opcode {
    /// A function library's source (7.0 final).
    pub const FUNCTION2: u8 = 245;
    /// Redis 7.4 (cluster mode): a slot's id and sizes, followed by its keys.
    pub const SLOT_INFO: u8 = 244;
    /// A function in the 7.0 release-candidate format (load only).
    pub const FUNCTION: u8 = 246;
    /// Module auxiliary data.
    pub const MODULE_AUX: u8 = 247;
    /// LRU idle time of the next key, in seconds (a length).
    pub const IDLE: u8 = 248;
    /// LFU frequency of the next key (one raw byte).
    pub const FREQ: u8 = 249;
    /// An auxiliary field: two strings.
    pub const AUX: u8 = 250;
    /// Hash table size hints for the current database: two lengths.
    pub const RESIZEDB: u8 = 251;
    /// Absolute expiry of the next key, milliseconds (8 bytes LE).
    pub const EXPIRETIME_MS: u8 = 252;
    /// Absolute expiry of the next key, seconds (4 bytes; load only).
    pub const EXPIRETIME: u8 = 253;
    /// Switch to the database whose number (a length) follows.
    pub const SELECTDB: u8 = 254;
    /// End of the file; the checksum follows.
    pub const EOF: u8 = 255;
}

/// Object types: the byte before each key saying how its value is serialized.
pub mod rdb_type {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    /// Sorted set with scores as text (load only).
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    /// Sorted set with binary double scores.
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    /// Redis 7.2: a small set as a listpack of members.
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
    /// Redis 7.4: hashes with field expirations (two pre-release and two final encodings).
    pub const HASH_METADATA_PRE_GA: u8 = 22;
    pub const HASH_LISTPACK_EX: u8 = 25;

    /// Whether `t` is an object type Redis 7.0 can load (8 was never assigned).
    pub const fn is_object_type(t: u8) -> bool {
        t <= 7 || (t >= 9 && t <= 25)
    }
}

/// Field tags inside a module value of type [`rdb_type::MODULE_2`] (each written as a length).
pub mod module_opcode {
    pub const EOF: u64 = 0;
    /// Signed integer (load only: Redis writes signed values with the `UINT` tag).
    pub const SINT: u64 = 1;
    pub const UINT: u64 = 2;
    pub const FLOAT: u64 = 3;
    pub const DOUBLE: u64 = 4;
    pub const STRING: u64 = 5;
}

/// Special string encodings: the low six bits of a `11eeeeee` length byte.
pub mod string_enc {
    pub const INT8: u64 = 0;
    pub const INT16: u64 = 1;
    pub const INT32: u64 = 2;
    pub const LZF: u64 = 3;
}

/// Length form markers (first byte).
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
/// Two top bits of a length byte announcing a special string encoding.
const ENCVAL: u8 = 3;

/// Strings up to this length are tried as integers (a 32-bit value has at most 11 characters).
const INT_ENCODING_MAX_LEN: usize = 11;
/// Strings up to this length are never LZF-compressed: they cannot shrink enough to pay for the header.
const LZF_MIN_LEN: usize = 20;
/// LZF output must save at least this many bytes to be used.
const LZF_MIN_SAVING: usize = 4;

/// Legacy text-double length bytes standing for special values.
const DOUBLE_NAN: u8 = 253;
const DOUBLE_POS_INF: u8 = 254;
const DOUBLE_NEG_INF: u8 = 255;

/// The smallest integer encoding of `v`, if it fits in 32 bits: `(bytes, used)`.
///
/// # Format
///
/// `C0 <i8>`, `C1 <i16 LE>` or `C2 <i32 LE>`.
fn encode_int(v: i64) -> Option<([u8; 5], usize)> {
    let mut buf = [0u8; 5];
    let tag = ENCVAL << 6;
    if let Ok(v) = i8::try_from(v) {
        buf[0] = tag | string_enc::INT8 as u8;
        buf[1] = v as u8;
        Some((buf, 2))
    } else if let Ok(v) = i16::try_from(v) {
        buf[0] = tag | string_enc::INT16 as u8;
        buf[1..3].copy_from_slice(&v.to_le_bytes());
        Some((buf, 3))
    } else if let Ok(v) = i32::try_from(v) {
        buf[0] = tag | string_enc::INT32 as u8;
        buf[1..5].copy_from_slice(&v.to_le_bytes());
        Some((buf, 5))
    } else {
        None
    }
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

/// Serializes RDB primitives into an in-memory buffer.
///
/// The owner drains the buffer with [`RdbWriter::take`] (checksumming and writing it to a file) as often
/// as it likes, so a multi-gigabyte save never needs the whole file in memory. The `compression` flag is
/// `rdbcompression`: whether long strings may be LZF-compressed.
#[derive(Debug, Default)]
pub struct RdbWriter {
    buf: Vec<u8>,
    compression: bool,
    /// Reused LZF output buffer, so compressing each string does not allocate.
    scratch: Vec<u8>,
}

impl RdbWriter {
    /// An empty writer.
    pub fn new(compression: bool) -> Self {
        Self { buf: Vec::new(), compression, scratch: Vec::new() }
    }

    /// An empty writer whose buffer starts with `capacity` bytes reserved.
    pub fn with_capacity(capacity: usize, compression: bool) -> Self {
        Self { buf: Vec::with_capacity(capacity), compression, scratch: Vec::new() }
    }

    /// Whether strings may be LZF-compressed.
    pub fn compression(&self) -> bool {
        self.compression
    }

    /// The bytes written since the last [`clear`](Self::clear).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Number of buffered bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Discards the buffered bytes, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The buffered bytes, consuming the writer.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }

    /// Appends bytes verbatim (already-encoded blobs, raw stream IDs).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends one byte: an object type (see [`rdb_type`]), an opcode (see [`opcode`]) or an LFU counter.
    pub fn write_u8(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// Appends the file signature with the current version.
    ///
    /// # Format
    ///
    /// `REDIS0010`: the magic and the version as four ASCII digits.
    pub fn write_magic(&mut self) {
        self.buf.extend_from_slice(MAGIC);
        self.buf.extend_from_slice(format!("{RDB_VERSION:04}").as_bytes());
    }

    /// Appends a length in its smallest form (see the module's `# Format`).
    pub fn write_len(&mut self, len: u64) {
        if len < 1 << 6 {
            self.buf.push(len as u8);
        } else if len < 1 << 14 {
            self.buf.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
        } else if let Ok(len) = u32::try_from(len) {
            self.buf.push(LEN_32BIT);
            self.buf.extend_from_slice(&len.to_be_bytes());
        } else {
            self.buf.push(LEN_64BIT);
            self.buf.extend_from_slice(&len.to_be_bytes());
        }
    }

    /// Appends a string the way Redis's `rdbSaveRawString` does: as an integer when it is the canonical
    /// text of a 32-bit value (at most 11 bytes), else LZF-compressed when compression is on, it is
    /// longer than 20 bytes and compresses by at least 4 bytes, else raw.
    ///
    /// # Format
    ///
    /// `C0`/`C1`/`C2` + little-endian integer; `C3 <len clen> <len ulen> <lzf>`; or `<len> <bytes>`.
    pub fn write_string(&mut self, s: &[u8]) {
        if s.len() <= INT_ENCODING_MAX_LEN
            && let Some((enc, n)) = parse_i64(s).and_then(encode_int)
        {
            self.buf.extend_from_slice(&enc[..n]);
            return;
        }
        if self.compression && s.len() > LZF_MIN_LEN {
            let budget = s.len() - LZF_MIN_SAVING;
            // Grown, never shrunk or cleared: zeroing a buffer per string would cost a memset of
            // every value saved.
            if self.scratch.len() < budget {
                self.scratch.resize(budget, 0);
            }
            if let Some(n) = lzf::compress_to_slice(s, &mut self.scratch[..budget]) {
                let compressed = std::mem::take(&mut self.scratch);
                self.write_lzf_blob(&compressed[..n], s.len());
                self.scratch = compressed;
                return;
            }
        }
        self.write_len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    /// Appends an integer the way Redis saves an integer-encoded string object: `C0`/`C1`/`C2` when it
    /// fits in 32 bits, else its decimal text as a raw string (never compressed).
    pub fn write_i64_as_string(&mut self, v: i64) {
        if let Some((enc, n)) = encode_int(v) {
            self.buf.extend_from_slice(&enc[..n]);
        } else {
            let mut text = Vec::with_capacity(20);
            format_i64(&mut text, v);
            self.write_len(text.len() as u64);
            self.buf.extend_from_slice(&text);
        }
    }

    /// Appends already-compressed LZF data as a string (used for quicklist nodes kept compressed in
    /// memory, which Redis writes without recompressing).
    ///
    /// # Format
    ///
    /// `C3 <len compressed.len()> <len original_len> <compressed>`.
    pub fn write_lzf_blob(&mut self, compressed: &[u8], original_len: usize) {
        self.buf.push((ENCVAL << 6) | string_enc::LZF as u8);
        self.write_len(compressed.len() as u64);
        self.write_len(original_len as u64);
        self.buf.extend_from_slice(compressed);
    }

    /// Appends a double in binary form (scores of `ZSET_2`, module doubles).
    ///
    /// # Format
    ///
    /// IEEE-754 binary64, 8 bytes little-endian.
    pub fn write_double_binary(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a float in binary form (module floats).
    ///
    /// # Format
    ///
    /// IEEE-754 binary32, 4 bytes little-endian.
    pub fn write_float_binary(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// Appends a millisecond timestamp (expiries, stream delivery and seen times).
    ///
    /// # Format
    ///
    /// i64, 8 bytes little-endian.
    pub fn write_ms_time(&mut self, ms: i64) {
        self.buf.extend_from_slice(&ms.to_le_bytes());
    }
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

/// Why reading failed, and where: `offset` is the position in the reader's input at which the offending
/// item (or the missing bytes) starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbError {
    pub offset: usize,
    pub reason: &'static str,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.reason, self.offset)
    }
}

impl std::error::Error for RdbError {}

/// Result of the reader's operations.
pub type Result<T> = std::result::Result<T, RdbError>;

const EOF_REASON: &str = "unexpected EOF";

/// A string as stored: integer encodings come back as numbers so that a loader can keep them as
/// integers without reparsing; everything else as bytes, borrowed when stored raw.
#[derive(Debug, Clone, PartialEq)]
pub enum StringValue<'a> {
    Int(i64),
    Bytes(Cow<'a, [u8]>),
}

impl StringValue<'_> {
    /// The string's bytes (an integer as its decimal text).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            StringValue::Int(v) => {
                let mut out = Vec::with_capacity(20);
                format_i64(&mut out, v);
                out
            }
            StringValue::Bytes(b) => b.into_owned(),
        }
    }
}

/// Reads RDB primitives from a byte slice, tracking the offset for error messages.
///
/// Every method either consumes exactly the item it reads or fails; after a failure the position is
/// unspecified (loading stops at the first error anyway).
#[derive(Debug, Clone)]
pub struct RdbReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// More bytes may follow `data` (a transfer still arriving): a count the bytes at hand cannot
    /// hold is then an end-of-data error, not a corrupt length.
    partial: bool,
}

impl RdbError {
    /// The input ended inside an item: with more input the same read may succeed.
    pub fn is_end_of_data(&self) -> bool {
        self.reason == EOF_REASON
    }
}

impl<'a> RdbReader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0, partial: false }
    }

    /// A reader of the first part of a stream whose rest has not arrived yet.
    pub fn new_partial(data: &'a [u8]) -> Self {
        Self { data, pos: 0, partial: true }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Number of unread bytes.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Whether everything has been read.
    pub fn is_at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    /// The bytes read so far.
    pub fn consumed(&self) -> &'a [u8] {
        &self.data[..self.pos]
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// An error at the current position.
    pub fn error(&self, reason: &'static str) -> RdbError {
        RdbError { offset: self.pos, reason }
    }

    /// Consumes the next `n` bytes.
    pub fn read_bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.data.len()).ok_or(self.error(EOF_REASON))?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// Consumes the next `N` bytes as an array (raw stream IDs, fixed-width integers).
    pub fn read_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.read_bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Consumes one byte: an object type, an opcode or an LFU counter.
    pub fn read_u8(&mut self) -> Result<u8> {
        let [b] = self.read_array()?;
        Ok(b)
    }

    /// Reads the 9-byte file signature and returns the version, which must be 1..=[`RDB_VERSION`].
    ///
    /// # Format
    ///
    /// `REDIS` then four characters read as C's `atoi` does (leading spaces and a sign allowed, digits
    /// up to the first non-digit), as Redis reads them.
    pub fn read_magic(&mut self) -> Result<u32> {
        let start = self.pos;
        let header: [u8; 9] = self.read_array()?;
        let bad = |reason| RdbError { offset: start, reason };
        let (magic, digits) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(bad("wrong signature"));
        }
        let version = atoi(digits);
        match u32::try_from(version) {
            Ok(v) if (1..=MAX_LOADABLE_VERSION).contains(&v) => Ok(v),
            _ => Err(bad("unsupported RDB version")),
        }
    }

    /// Reads a length or a special-encoding marker: `(value, encoded)`. When `encoded` is true the value
    /// is one of [`string_enc`]'s constants (any 6-bit number; callers reject unknown ones).
    pub fn read_len(&mut self) -> Result<(u64, bool)> {
        let start = self.pos;
        let first = self.read_u8()?;
        match first >> 6 {
            0 => Ok((u64::from(first & 0x3f), false)),
            1 => {
                let second = self.read_u8()?;
                Ok(((u64::from(first & 0x3f) << 8) | u64::from(second), false))
            }
            3 => Ok((u64::from(first & 0x3f), true)),
            _ => match first {
                LEN_32BIT => Ok((u64::from(u32::from_be_bytes(self.read_array()?)), false)),
                LEN_64BIT => Ok((u64::from_be_bytes(self.read_array()?), false)),
                _ => Err(RdbError { offset: start, reason: "bad length encoding" }),
            },
        }
    }

    /// Reads a length where no string can appear (counts, database numbers, IDs). Like Redis, a special
    /// encoding byte is not rejected here: its low six bits are taken as the length.
    pub fn read_plain_len(&mut self) -> Result<u64> {
        Ok(self.read_len()?.0)
    }

    /// Reads a count of items each taking at least `min_item_size` bytes, rejecting counts the remaining
    /// input cannot hold, so a caller may reserve capacity for that many items without risk.
    pub fn read_count(&mut self, min_item_size: usize) -> Result<usize> {
        let start = self.pos;
        let count = self.read_plain_len()?;
        let fits = self.remaining() / min_item_size.max(1);
        let reason = if self.partial { EOF_REASON } else { "bad length" };
        usize::try_from(count).ok().filter(|&c| c <= fits).ok_or(RdbError { offset: start, reason })
    }

    /// Reads a string in any of its encodings (see the module's `# Format`), keeping integer encodings
    /// as numbers and borrowing raw bytes.
    pub fn read_string_value(&mut self) -> Result<StringValue<'a>> {
        let start = self.pos;
        let (len, encoded) = self.read_len()?;
        if !encoded {
            let len = usize::try_from(len).map_err(|_| self.error(EOF_REASON))?;
            return Ok(StringValue::Bytes(Cow::Borrowed(self.read_bytes(len)?)));
        }
        match len {
            string_enc::INT8 => Ok(StringValue::Int(i64::from(i8::from_le_bytes(self.read_array()?)))),
            string_enc::INT16 => Ok(StringValue::Int(i64::from(i16::from_le_bytes(self.read_array()?)))),
            string_enc::INT32 => Ok(StringValue::Int(i64::from(i32::from_le_bytes(self.read_array()?)))),
            string_enc::LZF => self.read_lzf_body().map(|v| StringValue::Bytes(Cow::Owned(v))),
            _ => Err(RdbError { offset: start, reason: "unknown string encoding" }),
        }
    }

    /// The rest of an LZF string after its `C3` byte.
    fn read_lzf_body(&mut self) -> Result<Vec<u8>> {
        let clen = self.read_plain_len()?;
        let ulen = self.read_plain_len()?;
        let clen = usize::try_from(clen).map_err(|_| self.error(EOF_REASON))?;
        let data_start = self.pos;
        let compressed = self.read_bytes(clen)?;
        // `decompress` rejects an impossible `ulen` before allocating for it.
        usize::try_from(ulen)
            .ok()
            .and_then(|ulen| lzf::decompress(compressed, ulen))
            .ok_or(RdbError { offset: data_start, reason: "LZF decompression failed" })
    }

    /// Reads a string as bytes, borrowing it when it is stored raw.
    pub fn read_string_cow(&mut self) -> Result<Cow<'a, [u8]>> {
        Ok(match self.read_string_value()? {
            StringValue::Bytes(b) => b,
            v @ StringValue::Int(_) => Cow::Owned(v.into_vec()),
        })
    }

    /// Reads a string as owned bytes; integer encodings come back as decimal text.
    pub fn read_string(&mut self) -> Result<Vec<u8>> {
        Ok(self.read_string_value()?.into_vec())
    }

    /// Reads a binary double (8 bytes LE).
    pub fn read_double_binary(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.read_array()?))
    }

    /// Reads a binary float (4 bytes LE).
    pub fn read_float_binary(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.read_array()?))
    }

    /// Reads a double in the text form of RDB type 3 sorted sets.
    ///
    /// # Format
    ///
    /// One length byte: 253 = NaN, 254 = +inf, 255 = -inf, otherwise that many ASCII bytes parsed as C's
    /// `sscanf("%lg")` does: leading whitespace skipped, the longest valid prefix used (out-of-range
    /// values become infinities). Rejecting NaN scores is the caller's business.
    pub fn read_double_legacy(&mut self) -> Result<f64> {
        let start = self.pos;
        match self.read_u8()? {
            DOUBLE_NAN => Ok(f64::NAN),
            DOUBLE_POS_INF => Ok(f64::INFINITY),
            DOUBLE_NEG_INF => Ok(f64::NEG_INFINITY),
            len => {
                let text = self.read_bytes(usize::from(len))?;
                scan_double_prefix(text).ok_or(RdbError { offset: start, reason: "bad double value" })
            }
        }
    }

    /// Reads a millisecond timestamp (8 bytes LE). Files older than version 9 stored the host's byte
    /// order; every host Redis ran on in practice was little-endian, so those read the same.
    pub fn read_ms_time(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.read_array()?))
    }

    /// Reads the seconds timestamp of the old `EXPIRETIME` opcode (4 bytes, little-endian in practice).
    pub fn read_seconds_time(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.read_array()?))
    }
}

/// C's `atoi` on a short buffer: optional leading whitespace, optional sign, then digits up to the
/// first non-digit; 0 when there are none. The input is 4 bytes, so no overflow is possible.
fn atoi(s: &[u8]) -> i64 {
    let s = match s.iter().position(|b| !is_c_space(*b)) {
        Some(i) => &s[i..],
        None => return 0,
    };
    let (negative, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let v = s.iter().take_while(|b| b.is_ascii_digit()).fold(0i64, |acc, b| acc * 10 + i64::from(b - b'0'));
    if negative { -v } else { v }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Parses the longest prefix of `text` that is a floating-point number, as `sscanf("%lg")` does. The
/// text ends at its first NUL, as the C string Redis builds does.
fn scan_double_prefix(text: &[u8]) -> Option<f64> {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    let start = text.iter().position(|&b| !is_c_space(b))?;
    let text = &text[start..];
    // At most 252 bytes, so trying each prefix from the longest is cheap and obviously right.
    (1..=text.len()).rev().find_map(|end| {
        let prefix = &text[..end];
        // Rust's parser covers decimals, infinities, NaN and overflow to infinity; the numeric module's
        // strtod-compatible parser adds hexadecimal floats.
        std::str::from_utf8(prefix).ok().and_then(|s| s.parse::<f64>().ok()).or_else(|| parse_f64(prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::{crc64::crc64, ziplist};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex")).collect()
    }

    fn written(f: impl FnOnce(&mut RdbWriter)) -> Vec<u8> {
        let mut w = RdbWriter::new(true);
        f(&mut w);
        w.into_inner()
    }

    fn len_bytes(len: u64) -> Vec<u8> {
        written(|w| w.write_len(len))
    }

    #[test]
    fn length_forms() {
        assert_eq!(len_bytes(0), [0x00]);
        assert_eq!(len_bytes(63), [0x3f]);
        assert_eq!(len_bytes(64), [0x40, 0x40]);
        assert_eq!(len_bytes(16383), [0x7f, 0xff]);
        assert_eq!(len_bytes(16384), [0x80, 0x00, 0x00, 0x40, 0x00]);
        assert_eq!(len_bytes(u64::from(u32::MAX)), [0x80, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(len_bytes(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(len_bytes(u64::MAX), [0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn lengths_roundtrip() {
        let values = [0, 1, 63, 64, 255, 16383, 16384, 65535, 1 << 20, u64::from(u32::MAX), 1 << 32, u64::MAX];
        let bytes = written(|w| values.iter().for_each(|&v| w.write_len(v)));
        let mut r = RdbReader::new(&bytes);
        for &v in &values {
            assert_eq!(r.read_len(), Ok((v, false)));
        }
        assert!(r.is_at_end());
    }

    #[test]
    fn bad_and_special_length_bytes() {
        assert_eq!(RdbReader::new(&[0x82]).read_len(), Err(RdbError { offset: 0, reason: "bad length encoding" }));
        assert_eq!(RdbReader::new(&[0xbf]).read_len().map_err(|e| e.reason), Err("bad length encoding"));
        assert_eq!(RdbReader::new(&[0xc3]).read_len(), Ok((3, true)));
        // Redis's quirk: a plain length read accepts a special-encoding byte.
        assert_eq!(RdbReader::new(&[0xc5]).read_plain_len(), Ok(5));
        for truncated in [&[0x40][..], &[0x80, 1, 2, 3], &[0x81, 1, 2, 3, 4, 5, 6, 7], &[]] {
            assert_eq!(RdbReader::new(truncated).read_len().map_err(|e| e.reason), Err(EOF_REASON));
        }
    }

    fn string_bytes(s: &[u8], compression: bool) -> Vec<u8> {
        let mut w = RdbWriter::new(compression);
        w.write_string(s);
        w.into_inner()
    }

    #[test]
    fn integer_encoded_strings() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"12", &[0xc0, 0x0c]),
            (b"0", &[0xc0, 0x00]),
            (b"-128", &[0xc0, 0x80]),
            (b"127", &[0xc0, 0x7f]),
            (b"128", &[0xc1, 0x80, 0x00]),
            (b"12345", &[0xc1, 0x39, 0x30]),
            (b"-32768", &[0xc1, 0x00, 0x80]),
            (b"-32769", &[0xc2, 0xff, 0x7f, 0xff, 0xff]),
            (b"2147483647", &[0xc2, 0xff, 0xff, 0xff, 0x7f]),
            (b"-2147483648", &[0xc2, 0x00, 0x00, 0x00, 0x80]),
        ];
        for &(s, want) in cases {
            assert_eq!(string_bytes(s, true), want, "{}", String::from_utf8_lossy(s));
            assert_eq!(RdbReader::new(want).read_string().as_deref(), Ok(s));
        }
    }

    #[test]
    fn non_canonical_or_wide_integers_stay_raw() {
        for s in [&b"2147483648"[..], b"-2147483649", b"012", b"-0", b"+1", b" 1", b"1 ", b"", b"abc"] {
            let mut want = vec![s.len() as u8];
            want.extend_from_slice(s);
            assert_eq!(string_bytes(s, true), want, "{}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn i64_as_string() {
        assert_eq!(written(|w| w.write_i64_as_string(12)), [0xc0, 0x0c]);
        assert_eq!(written(|w| w.write_i64_as_string(-70000)), [0xc2, 0x90, 0xee, 0xfe, 0xff]);
        let big = written(|w| w.write_i64_as_string(6_000_000_000));
        assert_eq!(big, b"\x0a6000000000");
        let min = written(|w| w.write_i64_as_string(i64::MIN));
        assert_eq!(RdbReader::new(&min).read_string(), Ok(b"-9223372036854775808".to_vec()));
    }

    #[test]
    fn compression_thresholds() {
        // 20 bytes are never compressed; 21 compressible bytes are.
        let twenty = [b'a'; 20];
        assert_eq!(string_bytes(&twenty, true)[0], 20);
        let one_more = [b'a'; 21];
        let enc = string_bytes(&one_more, true);
        assert_eq!(&enc[..1], &[0xc3]);
        assert_eq!(RdbReader::new(&enc).read_string(), Ok(one_more.to_vec()));
        // Off: raw, with a 14-bit length.
        let hundred = [b'a'; 100];
        let raw = string_bytes(&hundred, false);
        assert_eq!(&raw[..2], &[0x40, 0x64]);
        assert_eq!(&raw[2..], &hundred);
        // Incompressible data is stored raw even with compression on.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..100)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let enc = string_bytes(&noise, true);
        assert_eq!(&enc[..2], &[0x40, 100]);
    }

    #[test]
    fn compressed_strings_roundtrip_and_save_four_bytes() {
        for n in [21usize, 22, 40, 100, 1000, 70_000] {
            let s: Vec<u8> = (0..n).map(|i| b"abcdefgh"[i % 8]).collect();
            let enc = string_bytes(&s, true);
            assert_eq!(enc[0], 0xc3, "n={n}");
            let mut r = RdbReader::new(&enc);
            assert_eq!(r.read_string(), Ok(s.clone()));
            assert!(r.is_at_end());
            // The compressed payload obeys Redis's rule: at most len - 4 bytes.
            let mut hdr = RdbReader::new(&enc[1..]);
            let clen = hdr.read_plain_len().expect("clen") as usize;
            assert_eq!(hdr.read_plain_len(), Ok(n as u64));
            assert!(clen <= n - 4);
        }
    }

    #[test]
    fn reads_redis_dump_payloads() {
        // DUMP from Redis 7.0.15: type byte, the value, version 10, CRC64.
        let dumps: &[(&str, Vec<u8>)] = &[
            ("00c00c0a003c2af8515c04bcd5", b"12".to_vec()),
            ("00c139300a009d94ea2793fc08b9", b"12345".to_vec()),
            ("00c3094064016161e057000161610a00e8a3b507b06df271", vec![b'a'; 100]),
            (
                "00c31b43e80a6162636465666768696a61e0ff09e1ff0de2ff11e2ba1101696a0a004b39d21a591ed841",
                b"abcdefghij".repeat(100),
            ),
        ];
        for (payload, value) in dumps {
            let bytes = hex(payload);
            let (body, crc) = bytes.split_at(bytes.len() - 8);
            assert_eq!(crc64(0, body).to_le_bytes(), crc);
            let mut r = RdbReader::new(body);
            assert_eq!(r.read_u8(), Ok(rdb_type::STRING));
            assert_eq!(r.read_string().as_ref(), Ok(value));
            assert_eq!(r.read_array(), Ok([0x0a, 0x00]));
            assert!(r.is_at_end());
        }
    }

    #[test]
    fn string_value_keeps_integers() {
        let bytes = written(|w| {
            w.write_string(b"-5");
            w.write_string(b"hello");
        });
        let mut r = RdbReader::new(&bytes);
        assert_eq!(r.read_string_value(), Ok(StringValue::Int(-5)));
        assert_eq!(r.read_string_value(), Ok(StringValue::Bytes(Cow::Borrowed(&b"hello"[..]))));
    }

    #[test]
    fn corrupt_strings() {
        let reason = |bytes: &[u8]| RdbReader::new(bytes).read_string().map_err(|e| e.reason);
        assert_eq!(reason(&[0x05, b'a', b'b']), Err(EOF_REASON));
        assert_eq!(reason(&[0xc4]), Err("unknown string encoding"));
        assert_eq!(reason(&[0xff]), Err("unknown string encoding"));
        assert_eq!(reason(&[0xc1, 0x01]), Err(EOF_REASON));
        assert_eq!(reason(&[0xc2, 0x01, 0x02, 0x03]), Err(EOF_REASON));
        // LZF: compressed length past the end; bad stream; wrong expansion; absurd expansion.
        assert_eq!(reason(&[0xc3, 0x05, 0x03, 0x02, b'a']), Err(EOF_REASON));
        assert_eq!(reason(&[0xc3, 0x02, 0x03, 0x20, 0x00]), Err("LZF decompression failed"));
        assert_eq!(reason(&[0xc3, 0x02, 0x03, 0x00, b'a']), Err("LZF decompression failed"));
        let huge = [0xc3, 0x02, 0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, b'a'];
        assert_eq!(reason(&huge), Err("LZF decompression failed"));
        // A 64-bit raw length far beyond the input fails without allocating.
        assert_eq!(reason(&[0x81, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Err(EOF_REASON));
        // The offset names where the missing data starts.
        assert_eq!(RdbReader::new(&[0x05, b'a']).read_string(), Err(RdbError { offset: 1, reason: EOF_REASON }));
    }

    #[test]
    fn counts_are_checked_against_the_input() {
        assert_eq!(RdbReader::new(&[0x02, 0xaa, 0xbb]).read_count(1), Ok(2));
        assert_eq!(
            RdbReader::new(&[0x03, 0xaa, 0xbb]).read_count(1),
            Err(RdbError { offset: 0, reason: "bad length" })
        );
        assert_eq!(RdbReader::new(&[0x02, 0xaa, 0xbb]).read_count(2).map_err(|e| e.reason), Err("bad length"));
        let huge = [0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(RdbReader::new(&huge).read_count(1).map_err(|e| e.reason), Err("bad length"));
    }

    #[test]
    fn doubles_and_times() {
        let bytes = written(|w| {
            w.write_double_binary(0.25);
            w.write_double_binary(f64::NEG_INFINITY);
            w.write_float_binary(1.5);
            w.write_ms_time(1_700_000_000_123);
            w.write_ms_time(-1);
        });
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 0, 0, 0xd0, 0x3f]);
        let mut r = RdbReader::new(&bytes);
        assert_eq!(r.read_double_binary(), Ok(0.25));
        assert_eq!(r.read_double_binary(), Ok(f64::NEG_INFINITY));
        assert_eq!(r.read_float_binary(), Ok(1.5));
        assert_eq!(r.read_ms_time(), Ok(1_700_000_000_123));
        assert_eq!(r.read_ms_time(), Ok(-1));
        assert!(r.is_at_end());
        assert_eq!(r.read_ms_time().map_err(|e| e.reason), Err(EOF_REASON));
        assert_eq!(RdbReader::new(&[0x10, 0, 0, 0]).read_seconds_time(), Ok(16));
    }

    #[test]
    fn legacy_doubles() {
        let read = |bytes: &[u8]| RdbReader::new(bytes).read_double_legacy();
        assert!(read(&[253]).expect("nan").is_nan());
        assert_eq!(read(&[254]), Ok(f64::INFINITY));
        assert_eq!(read(&[255]), Ok(f64::NEG_INFINITY));
        assert_eq!(read(b"\x031.5"), Ok(1.5));
        assert_eq!(read(b"\x0510000"), Ok(10000.0));
        assert_eq!(read(b"\x130.10000000000000001"), Ok(0.1));
        assert_eq!(read(b"\x06-3e-2x"), Ok(-0.03), "longest valid prefix");
        assert_eq!(read(b"\x03 2e"), Ok(2.0), "leading space, dangling exponent");
        assert_eq!(read(b"\x051e999"), Ok(f64::INFINITY), "overflow");
        assert_eq!(read(b"\x040x1p"), Ok(1.0), "hex float with a dangling exponent (glibc: 1)");
        assert_eq!(read(b"\x021."), Ok(1.0));
        assert_eq!(read(b"\x02.5"), Ok(0.5));
        assert_eq!(read(b"\x050x1p3"), Ok(8.0), "hex float");
        assert_eq!(read(b"\x03inf"), Ok(f64::INFINITY));
        assert_eq!(read(b"\x00").map_err(|e| e.reason), Err("bad double value"));
        assert_eq!(read(b"\x03abc").map_err(|e| e.reason), Err("bad double value"));
        assert_eq!(read(b"\x031.").map_err(|e| e.reason), Err(EOF_REASON));
    }

    #[test]
    fn magic() {
        let bytes = written(|w| w.write_magic());
        assert_eq!(bytes, b"REDIS0010");
        assert_eq!(RdbReader::new(&bytes).read_magic(), Ok(10));
        assert_eq!(RdbReader::new(b"REDIS0001").read_magic(), Ok(1));
        assert_eq!(RdbReader::new(b"REDIS  9x").read_magic(), Ok(9));
        let reason = |b: &[u8]| RdbReader::new(b).read_magic().map_err(|e| e.reason);
        assert_eq!(RdbReader::new(b"REDIS0012").read_magic(), Ok(12));
        assert_eq!(reason(b"REDIS0013"), Err("unsupported RDB version"));
        assert_eq!(reason(b"REDIS0000"), Err("unsupported RDB version"));
        assert_eq!(reason(b"REDIS-001"), Err("unsupported RDB version"));
        assert_eq!(reason(b"REDIX0010"), Err("wrong signature"));
        assert_eq!(reason(b"REDIS001"), Err(EOF_REASON));
    }

    #[test]
    fn writer_buffer_management() {
        let mut w = RdbWriter::with_capacity(64, false);
        assert!(w.is_empty() && !w.compression());
        w.write_u8(opcode::EOF);
        w.write_raw(&[1, 2]);
        assert_eq!(w.len(), 3);
        assert_eq!(w.as_bytes(), [0xff, 1, 2]);
        w.clear();
        assert!(w.is_empty());
        w.write_lzf_blob(&[0x00, b'a'], 1);
        assert_eq!(w.as_bytes(), [0xc3, 0x02, 0x01, 0x00, b'a']);
        assert_eq!(RdbReader::new(w.as_bytes()).read_string(), Ok(b"a".to_vec()));
        w.clear();
        assert!(w.is_empty());
    }

    #[test]
    fn type_constants() {
        assert!((0..=7).all(rdb_type::is_object_type));
        assert!(!rdb_type::is_object_type(8));
        assert!((9..=25).all(rdb_type::is_object_type));
        assert!(!rdb_type::is_object_type(26));
        assert!(!rdb_type::is_object_type(opcode::FUNCTION2));
        assert_eq!((opcode::FUNCTION2, opcode::EOF), (245, 255));
        assert_eq!(rdb_type::STREAM_LISTPACKS_2, 19);
    }

    /// Walks Redis's tests/assets/hash-ziplist.rdb (written by 6.2, version 9) with the primitives alone:
    /// signature, aux fields, SELECTDB, RESIZEDB, one HASH_ZIPLIST key, EOF and checksum.
    #[test]
    fn walks_a_real_rdb_file() {
        let file = hex(concat!(
            "524544495330303039fa0972656469732d7665720b3235352e3235352e323535fa0a72656469732d62697473c040fa05",
            "6374696d65c2c85c9660fa08757365642d6d656dc290ad0c00fa0c616f662d707265616d626c65c000fe00fb01000d04",
            "686173681b1b00000016000000040000026631040276310402663204027632ffff4f9cd1fd16699883",
        ));
        let mut r = RdbReader::new(&file);
        assert_eq!(r.read_magic(), Ok(9));
        let mut aux = Vec::new();
        let mut hash = None;
        loop {
            match r.read_u8().expect("type") {
                opcode::AUX => {
                    let k = r.read_string().expect("aux key");
                    let v = r.read_string().expect("aux value");
                    aux.push((k, v));
                }
                opcode::SELECTDB => assert_eq!(r.read_plain_len(), Ok(0)),
                opcode::RESIZEDB => assert_eq!((r.read_plain_len(), r.read_plain_len()), (Ok(1), Ok(0))),
                rdb_type::HASH_ZIPLIST => {
                    assert_eq!(r.read_string(), Ok(b"hash".to_vec()));
                    let blob = r.read_string_cow().expect("blob");
                    let entries: Vec<Vec<u8>> =
                        ziplist::decode(&blob).expect("valid ziplist").iter().map(|e| e.to_vec()).collect();
                    hash = Some(entries);
                }
                opcode::EOF => break,
                t => panic!("unexpected type {t}"),
            }
        }
        let end = r.position();
        let crc: [u8; 8] = r.read_array().expect("crc");
        assert!(r.is_at_end());
        assert_eq!(crc64(0, &file[..end]).to_le_bytes(), crc);
        assert_eq!(aux[0], (b"redis-ver".to_vec(), b"255.255.255".to_vec()));
        assert_eq!(aux[1], (b"redis-bits".to_vec(), b"64".to_vec()));
        assert_eq!(aux.len(), 5);
        assert_eq!(hash, Some(vec![b"f1".to_vec(), b"v1".to_vec(), b"f2".to_vec(), b"v2".to_vec()]));
    }
}
