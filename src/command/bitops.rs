//! Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
//! BITFIELD_RO.
//!
//! A string is read as a bit array whose bit 0 is the most significant bit of the first byte. Writes
//! grow the string with zero bytes up to the highest bit touched and leave it `raw`, as Redis does; bit
//! offsets are bounded by `proto-max-bulk-len`, so no command allocates more than Redis itself would.
//! BITCOUNT and BITPOS scan whole 64-bit words between their partial edge bytes.

use super::flags::*;
use super::{Args, CommandSpec, KEY1, KeyAccess, KeyPerm, KeySpec, READS, READS_WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::{StrValue, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::numeric::parse_i64;
use crate::server::Server;
use crate::server::keyspace::EVENT_STRING;

/// BITOP's keys: the destination and every source.
const BITOP_KEYS: KeySpec = KeySpec { first: 2, last: -1, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("setbit", 4, WRITE | DENYOOM, KEY1, "bitmap", setbit).acl(cat::BITMAP).access(READS_WRITES),
    CommandSpec::new("getbit", 3, READONLY | FAST, KEY1, "bitmap", getbit).acl(cat::BITMAP).access(READS),
    CommandSpec::new("bitcount", -2, READONLY, KEY1, "bitmap", bitcount).acl(cat::BITMAP).access(READS),
    CommandSpec::new("bitpos", -3, READONLY, KEY1, "bitmap", bitpos).acl(cat::BITMAP).access(READS),
    CommandSpec::new("bitop", -4, WRITE | DENYOOM, BITOP_KEYS, "bitmap", bitop)
        .acl(cat::BITMAP)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("bitfield", -2, WRITE | DENYOOM, KEY1, "bitmap", bitfield)
        .acl(cat::BITMAP)
        .access(KeyAccess::ByArgs(bitfield_key_access)),
    CommandSpec::new("bitfield_ro", -2, READONLY | FAST, KEY1, "bitmap", bitfield_ro).acl(cat::BITMAP).access(READS),
];

const BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
const BITOP_NOT_ARITY: &str = "ERR BITOP NOT must be called with a single source key.";
const BITFIELD_RO_WRITE: &str = "ERR BITFIELD_RO only supports the GET subcommand";
const BITFIELD_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";

// ---------------------------------------------------------------------------------------------------
// Pure bit helpers
// ---------------------------------------------------------------------------------------------------

/// Number of set bits in `bytes`, a word at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut n: u64 = words.iter().map(|w| u64::from(u64::from_ne_bytes(*w).count_ones())).sum();
    n += tail.iter().map(|b| u64::from(b.count_ones())).sum::<u64>();
    n
}

/// Byte mask keeping bits `from..=to` of a byte (0 = most significant).
fn byte_mask(from: usize, to: usize) -> u8 {
    (0xffu8 >> from) & (0xffu8 << (7 - to))
}

/// Set bits among bits `first..=last` of `bytes` (bits past the end count as clear).
fn count_bits_range(bytes: &[u8], first: usize, last: usize) -> u64 {
    let nbits = bytes.len().saturating_mul(8);
    if first > last || first >= nbits {
        return 0;
    }
    let last = last.min(nbits - 1);
    let (fb, lb) = (first / 8, last / 8);
    if fb == lb {
        return u64::from((bytes[fb] & byte_mask(first % 8, last % 8)).count_ones());
    }
    u64::from((bytes[fb] & byte_mask(first % 8, 7)).count_ones())
        + popcount(&bytes[fb + 1..lb])
        + u64::from((bytes[lb] & byte_mask(0, last % 8)).count_ones())
}

/// Position of the first bit equal to `bit` among bits `first..=last` of `bytes`, if any.
fn find_bit(bytes: &[u8], bit: bool, first: usize, last: usize) -> Option<usize> {
    let nbits = bytes.len().saturating_mul(8);
    if first > last || first >= nbits {
        return None;
    }
    let last = last.min(nbits - 1);
    // Searching for zeros is searching for ones in the complement.
    let flip8: u8 = if bit { 0 } else { 0xff };
    let flip64: u64 = if bit { 0 } else { u64::MAX };
    let hit8 = |idx: usize, b: u8| (b != 0).then(|| idx * 8 + b.leading_zeros() as usize);
    let (fb, lb) = (first / 8, last / 8);
    if fb == lb {
        return hit8(fb, (bytes[fb] ^ flip8) & byte_mask(first % 8, last % 8));
    }
    if let Some(p) = hit8(fb, (bytes[fb] ^ flip8) & byte_mask(first % 8, 7)) {
        return Some(p);
    }
    let (words, tail) = bytes[fb + 1..lb].as_chunks::<8>();
    let mut idx = fb + 1;
    for w in words {
        let v = u64::from_be_bytes(*w) ^ flip64;
        if v != 0 {
            return Some(idx * 8 + v.leading_zeros() as usize);
        }
        idx += 8;
    }
    for &b in tail {
        if let Some(p) = hit8(idx, b ^ flip8) {
            return Some(p);
        }
        idx += 1;
    }
    hit8(lb, (bytes[lb] ^ flip8) & byte_mask(0, last % 8))
}

/// The 72 bits starting at byte `offset / 8`, zero-padded past the end of `bytes`: enough to hold any
/// field of up to 64 bits starting anywhere in that first byte.
fn load_window(bytes: &[u8], offset: u64) -> u128 {
    let start = usize::try_from(offset / 8).unwrap_or(usize::MAX);
    (0..9).fold(0u128, |acc, i| {
        let b = start.checked_add(i).and_then(|j| bytes.get(j)).copied().unwrap_or(0);
        (acc << 8) | u128::from(b)
    })
}

/// Right shift that brings a `bits`-wide field at `offset` to the bottom of a loaded window.
fn window_shift(offset: u64, bits: u32) -> u32 {
    72 - (offset % 8) as u32 - bits
}

fn field_mask(bits: u32) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

/// The `bits`-wide unsigned field at bit `offset` (bits past the end read as zero).
fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let bits = bits.clamp(1, 64);
    (load_window(bytes, offset) >> window_shift(offset, bits)) as u64 & field_mask(bits)
}

/// The `bits`-wide two's complement field at bit `offset`.
fn get_signed(bytes: &[u8], offset: u64, bits: u32) -> i64 {
    let bits = bits.clamp(1, 64);
    let unused = 64 - bits;
    ((get_unsigned(bytes, offset, bits) << unused) as i64) >> unused
}

/// Store the low `bits` bits of `value` at bit `offset`. Bytes past the end of `bytes` are not
/// written: callers grow the string to the field's last bit first.
fn set_field(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    let bits = bits.clamp(1, 64);
    let shift = window_shift(offset, bits);
    let mask = u128::from(field_mask(bits)) << shift;
    let window = (load_window(bytes, offset) & !mask) | ((u128::from(value) << shift) & mask);
    let Ok(start) = usize::try_from(offset / 8) else { return };
    for (i, slot) in bytes.iter_mut().skip(start).take(9).enumerate() {
        *slot = (window >> (8 * (8 - i))) as u8;
    }
}

/// BITFIELD's OVERFLOW policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OverflowMode {
    Wrap,
    Sat,
    Fail,
}

/// Whether storing `value + incr` in a field leaves its range, and on which side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overflow {
    None,
    Over,
    Under,
}

/// The value an overflowing operation stores instead: the wrapped sum (WRAP) or the bound crossed
/// (SAT). FAIL stores nothing, so its answer is unused.
fn overflow_limit(over: Overflow, mode: OverflowMode, wrapped: u64, min: u64, max: u64) -> u64 {
    match (mode, over) {
        (OverflowMode::Sat, Overflow::Over) => max,
        (OverflowMode::Sat, Overflow::Under) => min,
        _ => wrapped,
    }
}

/// `value + incr` for an unsigned field of `bits` (≤ 63) bits. `value` is taken as the unsigned
/// reinterpretation of its 64 bits, so a negative SET value counts as too large, as in Redis.
/// Returns the overflow side and the value to store (meaningless when FAIL overflows).
fn unsigned_add(value: u64, incr: i64, bits: u32, mode: OverflowMode) -> (Overflow, u64) {
    let bits = bits.clamp(1, 63);
    let max = field_mask(bits);
    let sum = i128::from(value) + i128::from(incr);
    let over = if value > max || sum > i128::from(max) {
        Overflow::Over
    } else if sum < 0 {
        Overflow::Under
    } else {
        Overflow::None
    };
    let wrapped = value.wrapping_add(incr as u64) & max;
    (over, overflow_limit(over, mode, wrapped, 0, max))
}

/// `value + incr` for a signed field of `bits` (≤ 64) bits; see `unsigned_add`.
fn signed_add(value: i64, incr: i64, bits: u32, mode: OverflowMode) -> (Overflow, i64) {
    let bits = bits.clamp(1, 64);
    let max = i64::MAX >> (64 - bits);
    let min = -max - 1;
    let sum = i128::from(value) + i128::from(incr);
    // Redis computes the headroom `max - value` in wrapping 64-bit arithmetic: a value within `max` of
    // i64::MIN wraps it negative and gets classified as an overflow upwards (SAT then stores `max`).
    // Kept so replies stay identical.
    let headroom_wraps = bits < 64 && max.checked_sub(value).is_none();
    let over = if value > max || sum > i128::from(max) || headroom_wraps {
        Overflow::Over
    } else if value < min || sum < i128::from(min) {
        Overflow::Under
    } else {
        Overflow::None
    };
    let raw = value.wrapping_add(incr) as u64;
    // Keep the low `bits` bits and sign-extend from the field's top bit.
    let unused = 64 - bits;
    let wrapped = (((raw << unused) as i64) >> unused) as u64;
    let stored = overflow_limit(over, mode, wrapped, min as u64, max as u64);
    (over, stored as i64)
}

// ---------------------------------------------------------------------------------------------------
// Argument parsing
// ---------------------------------------------------------------------------------------------------

/// A bit offset: a non-negative integer whose byte lies below `proto-max-bulk-len`. With `field_bits`
/// (BITFIELD), `#n` means the n-th field of that width.
fn parse_bit_offset(srv: &Server, arg: &[u8], field_bits: Option<u32>) -> Result<u64, CmdError> {
    let bad = || CmdError::from(error::BIT_OFFSET);
    let (digits, scale) = match (arg.split_first(), field_bits) {
        (Some((b'#', rest)), Some(bits)) => (rest, i64::from(bits)),
        _ => (arg, 1),
    };
    let offset = parse_i64(digits).and_then(|n| n.checked_mul(scale)).ok_or_else(bad)?;
    if offset < 0 || (offset >> 3) >= srv.config.proto_max_bulk_len() {
        return Err(bad());
    }
    Ok(offset as u64)
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63`, as (signed, bits).
fn parse_field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let (signed, limit) = match arg.first() {
        Some(b'i') => (true, 64),
        Some(b'u') => (false, 63),
        _ => return Err(BITFIELD_TYPE.into()),
    };
    match parse_i64(&arg[1..]) {
        Some(bits) if (1..=limit).contains(&bits) => Ok((signed, bits as u32)),
        _ => Err(BITFIELD_TYPE.into()),
    }
}

/// BIT or BYTE: whether a range counts bits.
fn parse_range_unit(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(error::SYNTAX.into())
    }
}

/// Resolve a BITCOUNT/BITPOS range over a string of `len` bytes into an inclusive bit range: negative
/// indexes count from the end, both ends are clamped into the string. None when the range is empty.
fn resolve_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(usize, usize)> {
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let total = if in_bits { len.saturating_mul(8) } else { len };
    let from_end = |i: i64| if i < 0 { total.saturating_add(i).max(0) } else { i };
    let start = from_end(start);
    let end = from_end(end).min(total - 1);
    if start > end {
        return None;
    }
    let (first, last) = if in_bits { (start, end) } else { (start.saturating_mul(8), end.saturating_mul(8) + 7) };
    Some((usize::try_from(first).ok()?, usize::try_from(last).ok()?))
}

// ---------------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------------

/// Make `key` a raw string at least long enough to hold bit `max_bit`, creating it when missing.
/// Returns whether the key was created or grown. WRONGTYPE for another type.
fn prepare_bitmap(srv: &mut Server, db: usize, key: &[u8], max_bit: u64) -> Result<bool, CmdError> {
    let need = usize::try_from(max_bit / 8 + 1).map_err(|_| CmdError::from(error::BIT_OFFSET))?;
    match srv.lookup_write(db, key) {
        None => {
            srv.dbs[db].set(
                key,
                Value::Str(StrValue::Raw(vec![0; need].into_boxed_slice())),
                false,
                srv.clocks.fresh(),
            );
            srv.key_created(db, key);
            Ok(true)
        }
        Some(o) => {
            let mut raw = o.value.as_str_mut()?.make_raw();
            let len = raw.len();
            if len < need {
                raw.reserve_exact(need - len);
                raw.resize(need, 0);
                Ok(true)
            } else {
                Ok(false)
            }
        }
    }
}

/// The raw bytes of a string key prepared by `prepare_bitmap`.
fn bitmap_mut<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Result<&'a mut [u8], CmdError> {
    match srv.dbs[db].get_mut(key) {
        Some(o) => Ok(o.value.as_str_mut()?.raw_bytes_mut()),
        None => Err(error::NO_SUCH_KEY.into()),
    }
}

/// SETBIT key offset value: reply the bit's previous value.
fn setbit(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let offset = parse_bit_offset(srv, args.get(2), None)?;
    let on = match parse_i64(args.get(3)) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(error::BIT_VALUE.into()),
    };
    let grown = prepare_bitmap(srv, db, key, offset)?;
    let buf = bitmap_mut(srv, db, key)?;
    let Some(byte) = usize::try_from(offset / 8).ok().and_then(|i| buf.get_mut(i)) else {
        return Err(error::BIT_OFFSET.into());
    };
    let mask = 0x80u8 >> (offset % 8);
    let was = *byte & mask != 0;
    if grown || was != on {
        if on {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_STRING, "setbit", key, db);
        srv.dirty += 1;
    }
    c.reply.int(i64::from(was));
    Ok(())
}

/// GETBIT key offset
fn getbit(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let offset = parse_bit_offset(srv, args.get(2), None)?;
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.int(0);
        return Ok(());
    };
    let mut scratch = Vec::new();
    let bytes = o.value.as_str()?.as_bytes(&mut scratch);
    let bit = usize::try_from(offset / 8).ok().and_then(|i| bytes.get(i)).map_or(0, |b| (b >> (7 - offset % 8)) & 1);
    c.reply.int(i64::from(bit));
    Ok(())
}

/// BITCOUNT key [start end [BYTE|BIT]]
fn bitcount(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.int(0);
        return Ok(());
    };
    let mut scratch = Vec::new();
    let bytes = o.value.as_str()?.as_bytes(&mut scratch);
    let count = match args.len() {
        2 => popcount(bytes),
        4 | 5 => {
            let start = args.i64(2)?;
            let end = args.i64(3)?;
            // Both negative and inverted is empty whatever the unit (checked before the unit, as Redis).
            if start < 0 && end < 0 && start > end {
                c.reply.int(0);
                return Ok(());
            }
            let in_bits = args.len() == 5 && parse_range_unit(args.get(4))?;
            match resolve_range(bytes.len(), start, end, in_bits) {
                Some((first, last)) => count_bits_range(bytes, first, last),
                None => 0,
            }
        }
        _ => return Err(error::SYNTAX.into()),
    };
    c.reply.int(i64::try_from(count).unwrap_or(i64::MAX));
    Ok(())
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn bitpos(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let bit = match args.i64(2)? {
        0 => false,
        1 => true,
        _ => return Err(BITPOS_BIT.into()),
    };
    // A missing key is an endless run of zeros.
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut scratch = Vec::new();
    let bytes = o.value.as_str()?.as_bytes(&mut scratch);
    let (start, end, in_bits) = match args.len() {
        3 => (0, None, false),
        4..=6 => {
            let start = args.i64(3)?;
            let in_bits = args.len() == 6 && parse_range_unit(args.get(5))?;
            let end = if args.len() >= 5 { Some(args.i64(4)?) } else { None };
            (start, end, in_bits)
        }
        _ => return Err(error::SYNTAX.into()),
    };
    let Some((first, last)) = resolve_range(bytes.len(), start, end.unwrap_or(-1), in_bits) else {
        c.reply.int(-1);
        return Ok(());
    };
    let pos = match find_bit(bytes, bit, first, last) {
        Some(p) => i64::try_from(p).unwrap_or(i64::MAX),
        // Without an explicit end the string is taken as zero-padded on the right, so the first clear
        // bit is the one just past it.
        None if !bit && end.is_none() => i64::try_from(last).map_or(i64::MAX, |l| l.saturating_add(1)),
        None => -1,
    };
    c.reply.int(pos);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: reply the length of the stored result.
fn bitop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let op = if args.is(1, "and") {
        BitOp::And
    } else if args.is(1, "or") {
        BitOp::Or
    } else if args.is(1, "xor") {
        BitOp::Xor
    } else if args.is(1, "not") {
        BitOp::Not
    } else {
        return Err(error::SYNTAX.into());
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(BITOP_NOT_ARITY.into());
    }
    let dest = args.get(2);
    let sources: Vec<&[u8]> = args.iter().skip(3).collect();

    // First pass: lazy expiry, hit/miss counting and the type check; remember which keys exist.
    let mut present = Vec::with_capacity(sources.len());
    for key in &sources {
        match srv.lookup_read(db, key) {
            Some(o) => {
                o.value.as_str()?;
                present.push(true);
            }
            None => present.push(false),
        }
    }
    // Second pass: borrow every source at once (integers rendered into their own scratch buffer).
    let mut scratch = vec![Vec::new(); sources.len()];
    let store = &srv.dbs[db];
    let mut inputs: Vec<&[u8]> = Vec::with_capacity(sources.len());
    for ((key, exists), buf) in sources.iter().zip(&present).zip(scratch.iter_mut()) {
        let bytes = match store.get(key) {
            Some(o) if *exists => o.value.as_str()?.as_bytes(buf),
            _ => &[],
        };
        inputs.push(bytes);
    }
    let maxlen = inputs.iter().map(|s| s.len()).max().unwrap_or(0);
    let result = (maxlen > 0).then(|| combine(op, &inputs, maxlen));
    drop(inputs);

    match result {
        Some(res) => {
            srv.set_key(db, dest, Value::Str(StrValue::Raw(res.into_boxed_slice())), false);
            srv.notify_keyspace_event(EVENT_STRING, "set", dest, db);
            srv.dirty += 1;
        }
        None => {
            srv.delete_key_notify(db, dest);
        }
    }
    c.reply.int(i64::try_from(maxlen).unwrap_or(i64::MAX));
    Ok(())
}

/// Apply `op` across `inputs`, each zero-padded to `maxlen` bytes.
fn combine(op: BitOp, inputs: &[&[u8]], maxlen: usize) -> Vec<u8> {
    let mut res = vec![0u8; maxlen];
    let Some((first, rest)) = inputs.split_first() else { return res };
    res[..first.len()].copy_from_slice(first);
    match op {
        BitOp::Not => res.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for src in rest {
                res.iter_mut().zip(src.iter()).for_each(|(r, s)| *r &= s);
                res[src.len()..].fill(0);
            }
        }
        BitOp::Or => {
            for src in rest {
                res.iter_mut().zip(src.iter()).for_each(|(r, s)| *r |= s);
            }
        }
        BitOp::Xor => {
            for src in rest {
                res.iter_mut().zip(src.iter()).for_each(|(r, s)| *r ^= s);
            }
        }
    }
    res
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOpKind {
    Get,
    Set,
    IncrBy,
}

/// One parsed BITFIELD operation.
#[derive(Clone, Copy)]
struct FieldOp {
    kind: FieldOpKind,
    signed: bool,
    bits: u32,
    offset: u64,
    /// SET's value or INCRBY's increment.
    arg: i64,
    overflow: OverflowMode,
}

/// Parse BITFIELD's operations, stopping at the first invalid one.
fn parse_field_ops(srv: &Server, args: &Args) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = OverflowMode::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let kind = if args.is(j, "get") && remaining >= 2 {
            FieldOpKind::Get
        } else if args.is(j, "set") && remaining >= 3 {
            FieldOpKind::Set
        } else if args.is(j, "incrby") && remaining >= 3 {
            FieldOpKind::IncrBy
        } else if args.is(j, "overflow") && remaining >= 1 {
            overflow = if args.is(j + 1, "wrap") {
                OverflowMode::Wrap
            } else if args.is(j + 1, "sat") {
                OverflowMode::Sat
            } else if args.is(j + 1, "fail") {
                OverflowMode::Fail
            } else {
                return Err(BITFIELD_OVERFLOW_TYPE.into());
            };
            j += 2;
            continue;
        } else {
            return Err(error::SYNTAX.into());
        };
        let (signed, bits) = parse_field_type(args.get(j + 1))?;
        let offset = parse_bit_offset(srv, args.get(j + 2), Some(bits))?;
        let arg = if kind == FieldOpKind::Get { 0 } else { args.i64(j + 3)? };
        ops.push(FieldOp { kind, signed, bits, offset, arg, overflow });
        j += if kind == FieldOpKind::Get { 3 } else { 4 };
    }
    Ok(ops)
}

/// Reply one GET of `op` read from `bytes`.
fn reply_field(c: &mut Client, bytes: &[u8], op: &FieldOp) {
    if op.signed {
        c.reply.int(get_signed(bytes, op.offset, op.bits));
    } else {
        c.reply.int(get_unsigned(bytes, op.offset, op.bits) as i64);
    }
}

/// Run a SET or INCRBY on `buf`: the reply value (None when FAIL refused it) and whether it changed
/// the field.
fn apply_field_write(buf: &mut [u8], op: &FieldOp) -> (Option<i64>, bool) {
    let incr = op.kind == FieldOpKind::IncrBy;
    let (over, old, new, reply) = if op.signed {
        let old = get_signed(buf, op.offset, op.bits);
        let (over, new) = if incr {
            signed_add(old, op.arg, op.bits, op.overflow)
        } else {
            signed_add(op.arg, 0, op.bits, op.overflow)
        };
        (over, old as u64, new as u64, if incr { new } else { old })
    } else {
        let old = get_unsigned(buf, op.offset, op.bits);
        let (over, new) = if incr {
            unsigned_add(old, op.arg, op.bits, op.overflow)
        } else {
            unsigned_add(op.arg as u64, 0, op.bits, op.overflow)
        };
        (over, old, new, if incr { new as i64 } else { old as i64 })
    };
    if over != Overflow::None && op.overflow == OverflowMode::Fail {
        return (None, false);
    }
    set_field(buf, op.offset, op.bits, new);
    (Some(reply), old != new)
}

/// BITFIELD only reads when every operation is a GET (Redis's bitfieldGetKeys); anything else,
/// a syntax error included, counts as a write.
fn bitfield_key_access(args: &Args) -> KeyPerm {
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        if args.is(i, "get") && remaining >= 2 {
            i += 3;
        } else if args.is(i, "overflow") && remaining >= 1 {
            i += 2;
        } else {
            return KeyPerm::READ_WRITE;
        }
    }
    KeyPerm::READ
}

/// The body of BITFIELD and BITFIELD_RO (which accepts GET only).
fn bitfield_generic(srv: &mut Server, c: &mut Client, args: &Args, read_only: bool) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let ops = parse_field_ops(srv, args)?;
    let highest_write =
        ops.iter().filter(|op| op.kind != FieldOpKind::Get).map(|op| op.offset + u64::from(op.bits) - 1).max();

    let Some(max_bit) = highest_write else {
        // Only reads: a missing key reads as zeros.
        let mut scratch = Vec::new();
        let bytes: &[u8] = match srv.lookup_read(db, key) {
            Some(o) => o.value.as_str()?.as_bytes(&mut scratch),
            None => &[],
        };
        c.reply.array(ops.len());
        for op in &ops {
            reply_field(c, bytes, op);
        }
        return Ok(());
    };
    if read_only {
        return Err(BITFIELD_RO_WRITE.into());
    }

    let grown = prepare_bitmap(srv, db, key, max_bit)?;
    let buf = bitmap_mut(srv, db, key)?;
    c.reply.array(ops.len());
    let mut changes = 0u64;
    for op in &ops {
        if op.kind == FieldOpKind::Get {
            reply_field(c, buf, op);
            continue;
        }
        match apply_field_write(buf, op) {
            (Some(value), changed) => {
                c.reply.int(value);
                if grown || changed {
                    changes += 1;
                }
            }
            (None, _) => c.reply.null(),
        }
    }
    if changes > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_STRING, "setbit", key, db);
        srv.dirty += changes;
    }
    Ok(())
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset incr]
/// [OVERFLOW WRAP|SAT|FAIL] ...
fn bitfield(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    bitfield_generic(srv, c, args, false)
}

/// BITFIELD_RO key [GET type offset ...]
fn bitfield_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    bitfield_generic(srv, c, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the bit at `pos` (0 = MSB of byte 0).
    fn bit_at(bytes: &[u8], pos: usize) -> bool {
        bytes[pos / 8] & (0x80 >> (pos % 8)) != 0
    }

    #[test]
    fn popcount_matches_bytewise_count() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 999, 1000] {
            let expect: u64 = data[..len].iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(popcount(&data[..len]), expect);
        }
    }

    #[test]
    fn bit_ranges_count_and_find() {
        let data: Vec<u8> = (0..40u32).map(|i| (i.wrapping_mul(2246822519) >> 7) as u8).collect();
        let nbits = data.len() * 8;
        for first in (0..nbits).step_by(5) {
            for last in (first..nbits).step_by(7) {
                let expect = (first..=last).filter(|&p| bit_at(&data, p)).count() as u64;
                assert_eq!(count_bits_range(&data, first, last), expect, "{first}..={last}");
                for bit in [false, true] {
                    let expect = (first..=last).find(|&p| bit_at(&data, p) == bit);
                    assert_eq!(find_bit(&data, bit, first, last), expect, "{bit} {first}..={last}");
                }
            }
        }
        assert_eq!(find_bit(&[0xff; 20], false, 0, 159), None);
        assert_eq!(find_bit(&[0; 20], true, 3, 159), None);
        assert_eq!(find_bit(&[], true, 0, 0), None);
        assert_eq!(count_bits_range(&[0xff], 0, 1000), 8);
    }

    #[test]
    fn ranges_resolve_like_redis() {
        assert_eq!(resolve_range(6, 0, -1, false), Some((0, 47)));
        assert_eq!(resolve_range(6, 1, -2, false), Some((8, 39)));
        assert_eq!(resolve_range(6, -2, 1, false), None);
        assert_eq!(resolve_range(6, 10, -34, true), Some((10, 14)));
        assert_eq!(resolve_range(6, 0, 1000, true), Some((0, 47)));
        assert_eq!(resolve_range(0, 0, -1, false), None);
        assert_eq!(resolve_range(4, i64::MIN, i64::MAX, true), Some((0, 31)));
    }

    #[test]
    fn fields_get_and_set() {
        let mut buf = vec![0u8; 3];
        set_field(&mut buf, 7, 5, 23);
        assert_eq!(buf, [0b0000_0001, 0b0111_0000, 0]);
        assert_eq!(get_unsigned(&buf, 7, 5), 23);
        assert_eq!(get_signed(&buf, 7, 5), -9);
        set_field(&mut buf, 0, 8, (-100i64) as u64);
        assert_eq!(get_signed(&buf, 0, 8), -100);
        assert_eq!(get_unsigned(&buf, 0, 8), 156);

        let mut wide = vec![0u8; 10];
        set_field(&mut wide, 3, 64, i64::MIN as u64);
        assert_eq!(get_signed(&wide, 3, 64), i64::MIN);
        set_field(&mut wide, 5, 63, u64::MAX >> 1);
        assert_eq!(get_unsigned(&wide, 5, 63), u64::MAX >> 1);
        assert_eq!(get_signed(&wide, 3, 2), -2);
        // Reads past the end are zero-padded; writes past the end are dropped.
        assert_eq!(get_unsigned(&[0xff], 4, 8), 0xf0);
        let mut short = vec![0u8; 1];
        set_field(&mut short, 4, 8, 0xff);
        assert_eq!(short, [0x0f]);
    }

    #[test]
    fn unsigned_overflow() {
        use OverflowMode::*;
        assert_eq!(unsigned_add(100, 257, 8, Wrap), (Overflow::Over, 101));
        assert_eq!(unsigned_add(100, 257, 8, Sat), (Overflow::Over, 255));
        assert_eq!(unsigned_add(100, -255, 8, Sat), (Overflow::Under, 0));
        assert_eq!(unsigned_add(100, -255, 8, Wrap), (Overflow::Under, 101));
        assert_eq!(unsigned_add(100, 155, 8, Fail), (Overflow::None, 255));
        // A negative SET value is a huge unsigned one.
        assert_eq!(unsigned_add(-1i64 as u64, 0, 8, Sat), (Overflow::Over, 255));
        assert_eq!(unsigned_add(0, i64::MAX, 63, Fail), (Overflow::None, i64::MAX as u64));
        assert_eq!(unsigned_add(1, i64::MAX, 63, Wrap), (Overflow::Over, 0));
    }

    #[test]
    fn signed_overflow() {
        use OverflowMode::*;
        assert_eq!(signed_add(100, 257, 8, Wrap), (Overflow::Over, 101));
        assert_eq!(signed_add(100, 257, 8, Sat), (Overflow::Over, 127));
        assert_eq!(signed_add(100, -255, 8, Sat), (Overflow::Under, -128));
        assert_eq!(signed_add(255, 0, 8, Wrap), (Overflow::Over, -1));
        assert_eq!(signed_add(-1000, 0, 8, Sat), (Overflow::Under, -128));
        assert_eq!(signed_add(i64::MAX, 1, 64, Wrap), (Overflow::Over, i64::MIN));
        assert_eq!(signed_add(i64::MIN, -1, 64, Sat), (Overflow::Under, i64::MIN));
        assert_eq!(signed_add(i64::MIN, i64::MAX, 64, Fail), (Overflow::None, -1));
        // Redis's wrapping headroom: values this close to i64::MIN saturate upwards.
        assert_eq!(signed_add(i64::MIN, 0, 8, Sat), (Overflow::Over, 127));
        assert_eq!(signed_add(i64::MIN + 128, 0, 8, Sat), (Overflow::Under, -128));
    }

    #[test]
    fn field_types_parse() {
        assert_eq!(parse_field_type(b"i64"), Ok((true, 64)));
        assert_eq!(parse_field_type(b"u63"), Ok((false, 63)));
        for bad in [&b"u64"[..], b"i0", b"i65", b"I8", b"", b"u", b"i08", b"x8"] {
            assert!(parse_field_type(bad).is_err(), "{bad:?}");
        }
    }
}
