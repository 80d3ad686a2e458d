//! Redis's number parsing and formatting rules, byte-for-byte compatible with
//! Redis 7.0.15 (`string2ll`, `string2d`, `string2ld`, `ll2string`,
//! `d2string`, `addReplyDouble`'s `%.17g`, and `ld2string(..., LD_STR_HUMAN)`).
//!
//! This module owns the exact text <-> number rules that clients can observe:
//! which strings are valid integers and floats, and how numbers are printed
//! back. It must never depend on libc or the process locale, never panic on
//! any input, and never accept a string that Redis rejects (or the reverse).
//!
//! `long double` (used by `INCRBYFLOAT` and `HINCRBYFLOAT`) is the x87 80-bit
//! format on the x86-64 builds Redis ships: a 64-bit significand. Plain `f64`
//! arithmetic shows visibly different results there (`1 + -1.1` is
//! `-0.10000000000000009` in `f64` but Redis replies `-0.1`; `0.1 + 0.2`
//! gives `0.3` in Redis), so [`LongDouble`] is a small exact software
//! emulation of that format: correctly rounded parsing, round-to-nearest-even
//! addition and exact `%.17Lf` printing. The `f64`-based
//! [`parse_long_double`] and [`format_long_double_human`] remain for callers
//! that only need an approximation. INCRBYFLOAT is then: parse both operands
//! with [`LongDouble::parse`] (or [`LongDouble::from_i64`] for an
//! integer-encoded value), add, reject a result that is not
//! [`LongDouble::is_finite`], and store/reply [`LongDouble::format_human`].

use std::cmp::Ordering;
use std::fmt::{self, Write as _};

/// `LONG_STR_SIZE` in Redis: strings this long or longer are never integers.
const LONG_STR_SIZE: usize = 21;

/// `MAX_LONG_DOUBLE_CHARS` in Redis: `string2ld` rejects strings this long or
/// longer.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

// ---------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------

/// Parses a signed 64-bit integer with Redis's `string2ll` rules: optional
/// `-`, no `+`, no leading zeros (except `"0"` itself), no `"-0"`, no
/// whitespace, fewer than 21 bytes, no overflow.
///
/// These rules make the conversion reversible: `format_i64(parse_i64(s))`
/// reproduces `s` exactly, which Redis relies on to store such strings as
/// integers.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &b in rest {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative { 0i64.checked_sub_unsigned(v) } else { i64::try_from(v).ok() }
}

/// Appends the decimal form of `v` (Redis's `ll2string`).
pub fn format_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    format_u64(buf, v.unsigned_abs());
}

/// Appends the decimal form of `v` (Redis's `ull2string`).
pub fn format_u64(buf: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 20];
    let start = write_u64_backwards(&mut tmp, v);
    buf.extend_from_slice(&tmp[start..]);
}

/// Writes `v` right-aligned into `tmp` two digits at a time and returns the
/// index of its first digit. `u64::MAX` has exactly 20 digits, so it fits.
fn write_u64_backwards(tmp: &mut [u8; 20], mut v: u64) -> usize {
    let mut pos = tmp.len();
    while v >= 100 {
        let i = (v % 100) as usize * 2;
        v /= 100;
        pos -= 2;
        tmp[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
    }
    if v < 10 {
        pos -= 1;
        tmp[pos] = b'0' + v as u8;
    } else {
        let i = v as usize * 2;
        pos -= 2;
        tmp[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
    }
    pos
}

// ---------------------------------------------------------------------------
// Doubles
// ---------------------------------------------------------------------------

/// Parses a double with Redis's `string2d` rules (used by
/// `getDoubleFromObject`: ZADD scores, INCRBYFLOAT-free double arguments,
/// ...).
///
/// Accepts exactly what C `strtod` accepts when it must consume the whole
/// string: optional sign, decimal digits with optional `.` and `e` exponent,
/// C99 hex floats (`0x1.8p3`), and `inf`/`infinity` in any case. Rejects an
/// empty string, any whitespace, NaN, and values that overflow to infinity or
/// underflow to zero (`1e400`, `1e-400`); subnormal results are accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    match scan_float(s)? {
        Scanned::Infinite { negative } => Some(signed_inf(negative)),
        Scanned::Decimal { nonzero, .. } => {
            // The scanner has checked the strtod grammar, which is exactly the
            // grammar Rust's correctly rounded parser accepts for finite
            // decimals, so it is safe to hand the text over.
            let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
            let out_of_range = v.is_infinite() || (v == 0.0 && nonzero);
            (!out_of_range).then_some(v)
        }
        Scanned::Hex(hex) => match hex.round(&F64_FORMAT) {
            Rounded::Zero { underflow: true } | Rounded::Overflow => None,
            Rounded::Zero { underflow: false } => Some(signed_zero(hex.negative)),
            Rounded::Finite { mant, exp } => Some(f64_from_parts(hex.negative, mant, exp)),
        },
    }
}

/// Parses with Redis's `string2ld` rules (INCRBYFLOAT, HINCRBYFLOAT) and
/// returns the nearest `f64`.
///
/// The acceptance rules are exactly Redis's (see [`LongDouble::parse`]), but
/// a `long double` has a wider range than `f64`: accepted values beyond
/// `f64`'s range come back as infinities or zeros. Prefer
/// [`LongDouble::parse`] when the result is fed into arithmetic whose text
/// clients see.
pub fn parse_long_double(s: &[u8]) -> Option<f64> {
    LongDouble::parse(s).map(LongDouble::to_f64)
}

/// Appends `v` the way Redis's `addReplyDouble` prints it (`%.17g`; `inf` and
/// `-inf` for infinities), e.g. `1.5`, `0.10000000000000001`, `3`, `1e+20`.
/// This is the text of ZSCORE, ZINCRBY, ZRANGE WITHSCORES, ... replies and of
/// the zset member scores fed into DEBUG DIGEST.
pub fn format_double(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        // glibc prints the sign of a NaN.
        buf.extend_from_slice(if v.is_sign_negative() { b"-nan" } else { b"nan" });
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else {
        format_g17(buf, v);
    }
}

/// Appends `v` the way Redis's `d2string` does (used for scores stored in
/// listpack-encoded sorted sets and so in RDB files): like `%.17g`, except
/// that integral values with magnitude up to 2^62 are printed as plain
/// integers (`1e17` becomes `100000000000000000`, not `1e+17`), and NaN is
/// always `nan`.
pub fn format_d2string(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(b"nan");
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 { b"inf" } else { b"-inf" });
    } else if v == 0.0 {
        buf.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else if let Some(i) = double_to_i64_exact(v) {
        format_i64(buf, i);
    } else {
        format_g17(buf, v);
    }
}

/// Redis's `double2ll`: the integer equal to `v` when `v` is integral and
/// within +-(2^62), the range where the conversion is known to be safe.
fn double_to_i64_exact(v: f64) -> Option<i64> {
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // (double)(LLONG_MAX / 2)
    if !(-LIMIT..=LIMIT).contains(&v) {
        return None;
    }
    let i = v as i64;
    (i as f64 == v).then_some(i)
}

/// Appends `v` formatted like ld2string's human mode (`%.17Lf` with trailing
/// zeros and dot removed, `-0` shown as `0`), computed from an `f64`.
///
/// An `f64` cannot carry the value a `long double` would have held, so this
/// prints the shortest text that round-trips the `f64` (what a user who
/// typed that number expects), and only falls back to rounding the exact
/// binary value to 17 decimals when that text needs more than 17 decimals,
/// as `%.17Lf` would. This matches Redis for values that came from short
/// decimal input (`10.6`, `3000`, `17179869185.5`) but not for results of
/// inexact `f64` arithmetic; use [`LongDouble::format_human`] to match Redis
/// exactly.
pub fn format_long_double_human(buf: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        format_double(buf, v);
        return;
    }
    let start = buf.len();
    // Writing to a Vec cannot fail.
    let _ = write!(VecWriter(buf), "{v}");
    let decimals = buf[start..].iter().position(|&b| b == b'.').map_or(0, |dot| buf.len() - start - dot - 1);
    if decimals > 17 {
        buf.truncate(start);
        let _ = write!(VecWriter(buf), "{v:.17}");
    }
    trim_human(buf, start);
}

/// Removes trailing fractional zeros and a bare trailing dot from the number
/// starting at `start`, and turns `-0` into `0`, as ld2string's human mode.
fn trim_human(buf: &mut Vec<u8>, start: usize) {
    if buf[start..].contains(&b'.') {
        while buf.last() == Some(&b'0') {
            buf.pop();
        }
        if buf.last() == Some(&b'.') {
            buf.pop();
        }
    }
    if &buf[start..] == b"-0" {
        buf.truncate(start);
        buf.push(b'0');
    }
}

/// `%.17g` for finite values.
fn format_g17(buf: &mut Vec<u8>, v: f64) {
    // Rust's `{:.16e}` rounds the exact binary value to 17 significant
    // digits (ties to even, like glibc); `%g` then only decides the layout.
    let mut sci = StackText::new();
    let _ = write!(sci, "{v:.16e}");
    let text = sci.as_bytes();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let Some(e_pos) = text.iter().position(|&b| b == b'e') else {
        return;
    };
    let mut digits = [0u8; 17];
    let mut n = 0;
    for &b in &text[..e_pos] {
        if b.is_ascii_digit() && n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    if n == 0 {
        return;
    }
    let exp = parse_small_exponent(&text[e_pos + 1..]);
    // %g drops trailing zeros of the significand in both layouts.
    let mut sig = &digits[..n];
    while sig.len() > 1 && sig.last() == Some(&b'0') {
        sig = &sig[..sig.len() - 1];
    }
    if negative {
        buf.push(b'-');
    }
    if !(-4..17).contains(&exp) {
        buf.push(sig[0]);
        if sig.len() > 1 {
            buf.push(b'.');
            buf.extend_from_slice(&sig[1..]);
        }
        buf.push(b'e');
        buf.push(if exp < 0 { b'-' } else { b'+' });
        let abs = exp.unsigned_abs();
        if abs < 10 {
            buf.push(b'0');
        }
        format_u64(buf, u64::from(abs));
    } else if exp < 0 {
        buf.extend_from_slice(b"0.");
        for _ in 0..(-exp - 1) {
            buf.push(b'0');
        }
        buf.extend_from_slice(sig);
    } else {
        let int_len = exp as usize + 1;
        if sig.len() <= int_len {
            buf.extend_from_slice(sig);
            buf.resize(buf.len() + (int_len - sig.len()), b'0');
        } else {
            buf.extend_from_slice(&sig[..int_len]);
            buf.push(b'.');
            buf.extend_from_slice(&sig[int_len..]);
        }
    }
}

fn parse_small_exponent(s: &[u8]) -> i32 {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let magnitude = digits
        .iter()
        .filter(|b| b.is_ascii_digit())
        .fold(0i32, |acc, &b| acc.saturating_mul(10).saturating_add(i32::from(b - b'0')));
    if negative { -magnitude } else { magnitude }
}

/// A `fmt::Write` sink appending to a byte vector.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// A fixed-size `fmt::Write` sink, so formatting an `f64` through `core::fmt`
/// does not allocate.
struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        StackText { buf: [0; 48], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn signed_inf(negative: bool) -> f64 {
    if negative { f64::NEG_INFINITY } else { f64::INFINITY }
}

fn signed_zero(negative: bool) -> f64 {
    if negative { -0.0 } else { 0.0 }
}

// ---------------------------------------------------------------------------
// The strtod grammar
// ---------------------------------------------------------------------------

/// A string that matched the full C `strtod` grammar, minus NaN (which every
/// Redis caller rejects anyway).
enum Scanned<'a> {
    Infinite { negative: bool },
    Decimal { negative: bool, int: &'a [u8], frac: &'a [u8], exp: i64, nonzero: bool },
    Hex(HexFloat),
}

/// Saturation bound for written exponents: far beyond any representable
/// magnitude even after adding the digit count of a 512 MB string.
const EXP_SATURATION: i64 = 1 << 40;

fn scan_float(s: &[u8]) -> Option<Scanned<'_>> {
    let (negative, body) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Scanned::Infinite { negative });
    }
    if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        return scan_hex(negative, &body[2..]).map(Scanned::Hex);
    }
    let (int, rest) = split_while(body, |b| b.is_ascii_digit());
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => split_while(after, |b| b.is_ascii_digit()),
        _ => (&rest[..0], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let exp = match rest.split_first() {
        None => 0,
        Some((e, after)) if (e | 0x20) == b'e' => scan_exponent(after)?,
        Some(_) => return None,
    };
    let nonzero = int.iter().chain(frac).any(|&b| b != b'0');
    Some(Scanned::Decimal { negative, int, frac, exp, nonzero })
}

fn split_while(s: &[u8], pred: impl Fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().position(|&b| !pred(b)).unwrap_or(s.len());
    s.split_at(n)
}

/// Parses `[+-]digits` that must make up all of `s`, saturating.
fn scan_exponent(s: &[u8]) -> Option<i64> {
    let (negative, digits) = match s.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let magnitude = digits.iter().fold(0i64, |acc, &b| (acc * 10 + i64::from(b - b'0')).min(EXP_SATURATION));
    Some(if negative { -magnitude } else { magnitude })
}

/// A hex float as `negative`, `mant * 2^exp` (+ a nonzero remainder below the
/// last bit of `mant` when `sticky`).
struct HexFloat {
    negative: bool,
    mant: u128,
    exp: i64,
    sticky: bool,
}

impl HexFloat {
    fn round(&self, format: &BinaryFormat) -> Rounded {
        round_to_format(format, self.mant, self.exp, self.sticky)
    }
}

/// Parses the part after `0x`: hex digits with an optional `.`, then an
/// optional `p` binary exponent.
fn scan_hex(negative: bool, s: &[u8]) -> Option<HexFloat> {
    let (int, rest) = split_while(s, |b| b.is_ascii_hexdigit());
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => split_while(after, |b| b.is_ascii_hexdigit()),
        _ => (&rest[..0], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut exp = match rest.split_first() {
        None => 0,
        Some((p, after)) if (p | 0x20) == b'p' => scan_exponent(after)?,
        Some(_) => return None,
    };
    // 30 hex digits are 120 bits: well past the 66 the rounding needs, and
    // still room in a u128. Later digits only matter as a sticky bit.
    let mut mant: u128 = 0;
    let mut kept = 0u32;
    let mut sticky = false;
    for (i, &b) in int.iter().chain(frac).enumerate() {
        let d = hex_value(b);
        let in_frac = i >= int.len();
        if mant == 0 && d == 0 {
            if in_frac {
                exp -= 4;
            }
            continue;
        }
        if kept < 30 {
            mant = (mant << 4) | u128::from(d);
            kept += 1;
            if in_frac {
                exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !in_frac {
                exp += 4;
            }
        }
    }
    Some(HexFloat { negative, mant, exp: exp.clamp(-EXP_SATURATION, EXP_SATURATION), sticky })
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------
// Binary rounding shared by f64 and the 80-bit long double
// ---------------------------------------------------------------------------

/// An IEEE-style binary format: `precision` significand bits, `min_exp` the
/// weight of the lowest significand bit of subnormals, `max_exp` the largest
/// weight of a leading bit.
struct BinaryFormat {
    precision: u32,
    min_exp: i64,
    max_exp: i64,
}

const F64_FORMAT: BinaryFormat = BinaryFormat { precision: 53, min_exp: -1074, max_exp: 1023 };

/// x87 extended precision, the `long double` of Redis on x86-64.
const LD_FORMAT: BinaryFormat = BinaryFormat { precision: 64, min_exp: -16445, max_exp: 16383 };

#[derive(Debug, PartialEq)]
enum Rounded {
    /// The value is zero; `underflow` when it was nonzero before rounding
    /// (what makes strtod set ERANGE and Redis reject it).
    Zero {
        underflow: bool,
    },
    /// `mant * 2^exp`, `mant` below `2^precision`, normalised unless
    /// subnormal (`exp == min_exp`).
    Finite {
        mant: u64,
        exp: i32,
    },
    Overflow,
}

/// Rounds `(mant + sticky) * 2^exp` to nearest, ties to even.
///
/// When `sticky` is set, `mant` must carry at least `precision + 1`
/// significant bits so the rounding bit itself is known exactly; every
/// caller provides far more.
fn round_to_format(format: &BinaryFormat, mant: u128, exp: i64, sticky: bool) -> Rounded {
    if mant == 0 {
        return Rounded::Zero { underflow: sticky };
    }
    let width = i64::from(128 - mant.leading_zeros());
    let top = exp + width - 1;
    if top > format.max_exp + 1 {
        return Rounded::Overflow;
    }
    let mut lsb = (top - i64::from(format.precision) + 1).max(format.min_exp);
    let shift = lsb - exp;
    let mut kept: u128 = if shift <= 0 {
        // Exact: at most `precision` bits remain after the shift.
        mant << (-shift) as u32
    } else {
        let (kept, half, rest) = if shift > 128 {
            (0, false, true)
        } else if shift == 128 {
            (0, mant >> 127 == 1, mant << 1 != 0 || sticky)
        } else {
            let s = shift as u32;
            let below = mant & ((1u128 << s) - 1);
            let half_bit = 1u128 << (s - 1);
            (mant >> s, below & half_bit != 0, below & (half_bit - 1) != 0 || sticky)
        };
        if half && (rest || kept & 1 == 1) { kept + 1 } else { kept }
    };
    if kept >> format.precision != 0 {
        kept >>= 1;
        lsb += 1;
    }
    if kept == 0 {
        return Rounded::Zero { underflow: true };
    }
    let leading = lsb + i64::from(127 - kept.leading_zeros());
    if leading > format.max_exp {
        return Rounded::Overflow;
    }
    // `lsb` is within [min_exp, max_exp] here, so it fits an i32.
    Rounded::Finite { mant: kept as u64, exp: lsb as i32 }
}

/// Assembles an `f64` from a [`Rounded::Finite`] of [`F64_FORMAT`].
fn f64_from_parts(negative: bool, mant: u64, exp: i32) -> f64 {
    let sign = u64::from(negative) << 63;
    let bits = if mant >> 52 != 0 {
        let biased = (i64::from(exp) + 52 + 1023) as u64;
        (biased << 52) | (mant & ((1 << 52) - 1))
    } else {
        mant
    };
    f64::from_bits(sign | bits)
}

// ---------------------------------------------------------------------------
// Arbitrary-precision unsigned integers, just enough for exact decimal
// conversion of long doubles
// ---------------------------------------------------------------------------

/// Little-endian base-2^32 unsigned integer without leading zero limbs.
#[derive(Clone, Debug)]
struct Big {
    limbs: Vec<u32>,
}

impl Big {
    fn from_u128(v: u128) -> Self {
        let mut big = Big { limbs: (0..4).map(|i| (v >> (32 * i)) as u32).collect() };
        big.trim();
        big
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(&top) => self.limbs.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    fn mul_small_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let t = u64::from(*limb) * u64::from(mul) + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// Builds the integer spelled by ASCII decimal `digits`.
    fn from_decimal(digits: &[u8]) -> Self {
        let mut big = Big { limbs: Vec::new() };
        for chunk in digits.chunks(9) {
            let value = chunk.iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b.wrapping_sub(b'0') % 10));
            big.mul_small_add(10u32.pow(chunk.len() as u32), value);
        }
        big
    }

    fn mul_pow10(&mut self, mut e: u64) {
        while e >= 9 {
            self.mul_small_add(1_000_000_000, 0);
            e -= 9;
        }
        if e > 0 {
            self.mul_small_add(10u32.pow(e as u32), 0);
        }
    }

    fn shl(&mut self, bits: u64) {
        if self.is_zero() {
            return;
        }
        let limbs = (bits / 32) as usize;
        let rem = (bits % 32) as u32;
        if rem != 0 {
            let mut carry = 0u32;
            for limb in &mut self.limbs {
                let next = *limb >> (32 - rem);
                *limb = (*limb << rem) | carry;
                carry = next;
            }
            if carry != 0 {
                self.limbs.push(carry);
            }
        }
        self.limbs.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    /// Shifts right by `bits`, returning whether any 1 bit was shifted out.
    fn shr(&mut self, bits: u64) -> bool {
        let limbs = ((bits / 32) as usize).min(self.limbs.len());
        let rem = (bits % 32) as u32;
        let mut lost = self.limbs[..limbs].iter().any(|&l| l != 0);
        self.limbs.drain(..limbs);
        if rem != 0 {
            let mut carry = 0u32;
            for limb in self.limbs.iter_mut().rev() {
                let next = *limb << (32 - rem);
                *limb = (*limb >> rem) | carry;
                carry = next;
            }
            lost |= carry != 0;
        }
        self.trim();
        lost
    }

    fn to_u128(&self) -> u128 {
        self.limbs.iter().take(4).enumerate().fold(0, |acc, (i, &l)| acc | (u128::from(l) << (32 * i)))
    }

    fn cmp_big(&self, other: &Big) -> Ordering {
        self.limbs.len().cmp(&other.limbs.len()).then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// `self -= other`; requires `self >= other`.
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.limbs.iter_mut().enumerate() {
            let o = i64::from(other.limbs.get(i).copied().unwrap_or(0));
            let mut t = i64::from(*limb) - o - borrow;
            borrow = 0;
            if t < 0 {
                t += 1 << 32;
                borrow = 1;
            }
            *limb = t as u32;
        }
        self.trim();
    }

    /// Divides in place by `d` (nonzero) and returns the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// Returns the top (at most) 128 bits as `(mant, exp, sticky)` with
    /// `self ~= mant * 2^exp`.
    fn top_bits(mut self) -> (u128, i64, bool) {
        let len = self.bit_len();
        if len <= 128 {
            return (self.to_u128(), 0, false);
        }
        let shift = len - 128;
        let sticky = self.shr(shift);
        (self.to_u128(), shift as i64, sticky)
    }

    /// Appends the decimal digits (`0` for zero).
    fn write_decimal(mut self, buf: &mut Vec<u8>) {
        let mut chunks = Vec::new();
        while !self.is_zero() {
            chunks.push(self.div_small(1_000_000_000));
        }
        let Some((&first, rest)) = chunks.split_last() else {
            buf.push(b'0');
            return;
        };
        format_u64(buf, u64::from(first));
        for &chunk in rest.iter().rev() {
            let mut tmp = [0u8; 20];
            let start = write_u64_backwards(&mut tmp, u64::from(chunk));
            buf.resize(buf.len() + 9 - (20 - start), b'0');
            buf.extend_from_slice(&tmp[start..]);
        }
    }
}

/// Converts `digits * 10^exp` (no leading zeros in `digits`) to the nearest
/// value of `format`.
fn decimal_to_binary(format: &BinaryFormat, digits: &[u8], exp: i64) -> Rounded {
    let n = digits.len() as i64;
    if n == 0 {
        return Rounded::Zero { underflow: false };
    }
    // Cheap bounds first, so the big-number work below stays small:
    // >= 10^(max_exp*log10(2) + 2) overflows, and anything under
    // 10^(min_exp*log10(2) - 2) is below half the smallest subnormal.
    let max_decimal = format.max_exp * 30103 / 100_000 + 2;
    let min_decimal = format.min_exp * 30103 / 100_000 - 2;
    if exp + n - 1 > max_decimal {
        return Rounded::Overflow;
    }
    if exp + n < min_decimal {
        return Rounded::Zero { underflow: true };
    }
    let mut num = Big::from_decimal(digits);
    if exp >= 0 {
        num.mul_pow10(exp as u64);
        let (mant, e, sticky) = num.top_bits();
        return round_to_format(format, mant, e, sticky);
    }
    let mut den = Big::from_u128(1);
    den.mul_pow10(exp.unsigned_abs());
    // Scale so the quotient has 67 or 68 bits: enough for exact rounding.
    let k = den.bit_len() as i64 + 67 - num.bit_len() as i64;
    if k >= 0 {
        num.shl(k as u64);
    } else {
        den.shl(k.unsigned_abs());
    }
    let qbits = num.bit_len().saturating_sub(den.bit_len());
    den.shl(qbits);
    let mut quotient: u128 = 0;
    for i in (0..=qbits).rev() {
        if num.cmp_big(&den) != Ordering::Less {
            num.sub_assign(&den);
            if i < 128 {
                quotient |= 1u128 << i;
            }
        }
        den.shr(1);
    }
    round_to_format(format, quotient, -k, !num.is_zero())
}

// ---------------------------------------------------------------------------
// The x87 80-bit long double
// ---------------------------------------------------------------------------

/// An x87 80-bit extended-precision value (C `long double` on x86-64), as
/// Redis uses for INCRBYFLOAT and HINCRBYFLOAT.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble {
    negative: bool,
    class: Class,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    Zero,
    /// `mant * 2^exp`; `mant != 0`, with bit 63 set unless subnormal
    /// (`exp == LD_FORMAT.min_exp`).
    Finite {
        mant: u64,
        exp: i32,
    },
    Infinite,
    Nan,
}

impl LongDouble {
    /// Positive zero.
    pub const ZERO: LongDouble = LongDouble { negative: false, class: Class::Zero };

    /// Parses with Redis's `string2ld` rules: the full-string `strtold`
    /// grammar (see [`parse_f64`]), fewer than [`MAX_LONG_DOUBLE_CHARS`]
    /// bytes, no leading whitespace, NaN rejected, overflow rejected,
    /// underflow to zero rejected (`1e-400` is fine: a `long double` holds
    /// it). The value is correctly rounded, as glibc's `strtold` does.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let (negative, rounded) = match scan_float(s)? {
            Scanned::Infinite { negative } => {
                return Some(LongDouble { negative, class: Class::Infinite });
            }
            Scanned::Hex(hex) => (hex.negative, hex.round(&LD_FORMAT)),
            Scanned::Decimal { negative, int, frac, exp, .. } => {
                let all: Vec<u8> = int.iter().chain(frac).copied().collect();
                let first = all.iter().position(|&b| b != b'0').unwrap_or(all.len());
                let last = all.iter().rposition(|&b| b != b'0').map_or(first, |i| i + 1);
                // Value = digits[first..last] * 10^(exp - frac.len() + trailing zeros).
                let trailing = (all.len() - last) as i64;
                let scale = exp - frac.len() as i64 + trailing;
                (negative, decimal_to_binary(&LD_FORMAT, &all[first..last], scale))
            }
        };
        let class = match rounded {
            Rounded::Zero { underflow: false } => Class::Zero,
            Rounded::Finite { mant, exp } => Class::Finite { mant, exp },
            Rounded::Zero { underflow: true } | Rounded::Overflow => return None,
        };
        Some(LongDouble { negative, class })
    }

    /// The exact value of `v` (every `i64` fits a 64-bit significand).
    pub fn from_i64(v: i64) -> LongDouble {
        let negative = v < 0;
        LongDouble { negative, class: Self::finite_from_u64(v.unsigned_abs(), 0) }
    }

    /// The exact value of `v`.
    pub fn from_f64(v: f64) -> LongDouble {
        let negative = v.is_sign_negative();
        if v.is_nan() {
            return LongDouble { negative, class: Class::Nan };
        }
        if v.is_infinite() {
            return LongDouble { negative, class: Class::Infinite };
        }
        let bits = v.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        let class = if biased == 0 {
            Self::finite_from_u64(fraction, -1074)
        } else {
            Self::finite_from_u64(fraction | (1 << 52), biased - 1075)
        };
        LongDouble { negative, class }
    }

    /// `m * 2^exp` normalised; only for values well inside the normal range.
    fn finite_from_u64(m: u64, exp: i32) -> Class {
        if m == 0 {
            return Class::Zero;
        }
        let lz = m.leading_zeros();
        Class::Finite { mant: m << lz, exp: exp - lz as i32 }
    }

    /// The nearest `f64` (ties to even); out-of-range values become
    /// infinities or zeros.
    pub fn to_f64(self) -> f64 {
        match self.class {
            Class::Zero => signed_zero(self.negative),
            Class::Infinite => signed_inf(self.negative),
            Class::Nan => {
                if self.negative {
                    -f64::NAN
                } else {
                    f64::NAN
                }
            }
            Class::Finite { mant, exp } => {
                match round_to_format(&F64_FORMAT, u128::from(mant), i64::from(exp), false) {
                    Rounded::Zero { .. } => signed_zero(self.negative),
                    Rounded::Overflow => signed_inf(self.negative),
                    Rounded::Finite { mant, exp } => f64_from_parts(self.negative, mant, exp),
                }
            }
        }
    }

    pub fn is_finite(self) -> bool {
        matches!(self.class, Class::Zero | Class::Finite { .. })
    }

    pub fn is_nan(self) -> bool {
        self.class == Class::Nan
    }

    fn add_finite(a: (bool, u64, i32), b: (bool, u64, i32)) -> LongDouble {
        // Order by magnitude: a larger exponent always means a normal, hence
        // larger, value; equal exponents compare by significand.
        let (big, small) = if (a.2, a.1) >= (b.2, b.1) { (a, b) } else { (b, a) };
        let negative = big.0;
        // 62 guard bits below the 64-bit significand keep every bit a
        // cancellation could expose, so the only inexactness is the sticky
        // bit from a far smaller operand.
        let base = i64::from(big.2) - 62;
        let x = u128::from(big.1) << 62;
        let distance = (big.2 - small.2) as u32;
        let full = u128::from(small.1) << 62;
        let (y, sticky) =
            if distance >= 128 { (0, true) } else { (full >> distance, full & ((1u128 << distance) - 1) != 0) };
        let (sum, sticky) = if big.0 == small.0 {
            (x + y, sticky)
        } else if sticky {
            // x - y - (something in (0, 1)) == (x - y - 1) + (something in (0, 1)).
            (x - y - 1, true)
        } else {
            (x - y, false)
        };
        let class = match round_to_format(&LD_FORMAT, sum, base, sticky) {
            Rounded::Zero { underflow: false } => {
                // An exact cancellation is +0 when rounding to nearest.
                return LongDouble::ZERO;
            }
            Rounded::Zero { underflow: true } => Class::Zero,
            Rounded::Overflow => Class::Infinite,
            Rounded::Finite { mant, exp } => Class::Finite { mant, exp },
        };
        LongDouble { negative, class }
    }

    /// Appends the text of Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`
    /// (exact value rounded to 17 decimals, ties to even as glibc does), then
    /// trailing zeros and a trailing dot removed and `-0` turned into `0`.
    /// Infinities print as `inf`/`-inf`, NaNs as glibc's `nan`/`-nan`.
    pub fn format_human(self, buf: &mut Vec<u8>) {
        let (mant, exp) = match self.class {
            Class::Infinite | Class::Nan => {
                if self.negative {
                    buf.push(b'-');
                }
                let text: &[u8] = if self.class == Class::Nan { b"nan" } else { b"inf" };
                buf.extend_from_slice(text);
                return;
            }
            Class::Zero => (0, 0),
            Class::Finite { mant, exp } => (mant, exp),
        };
        const FRACTION_SCALE: u128 = 100_000_000_000_000_000; // 10^17
        let start = buf.len();
        if self.negative {
            buf.push(b'-');
        }
        // Split into integer part and fraction bits over 2^shift.
        let (int_part, fraction, shift) = if exp >= 0 {
            let mut int = Big::from_u128(u128::from(mant));
            int.shl(exp as u64);
            (int, 0u64, 0u32)
        } else if exp > -64 {
            let s = exp.unsigned_abs();
            (Big::from_u128(u128::from(mant >> s)), mant & ((1u64 << s) - 1), s)
        } else {
            (Big::from_u128(0), mant, exp.unsigned_abs())
        };
        // fraction < 2^64 and 10^17 < 2^57, so the product fits a u128.
        let scaled = u128::from(fraction) * FRACTION_SCALE;
        let mut decimals = if shift == 0 {
            0
        } else if shift >= 128 {
            // Less than 2^121, so below half a unit of the 17th decimal.
            0
        } else {
            let q = scaled >> shift;
            let r = scaled & ((1u128 << shift) - 1);
            let half = 1u128 << (shift - 1);
            if r > half || (r == half && q & 1 == 1) { q + 1 } else { q }
        };
        let mut int_part = int_part;
        if decimals == FRACTION_SCALE {
            decimals = 0;
            int_part.mul_small_add(1, 1);
        }
        int_part.write_decimal(buf);
        if decimals != 0 {
            buf.push(b'.');
            let mut tmp = [0u8; 20];
            let first = write_u64_backwards(&mut tmp, decimals as u64);
            buf.resize(buf.len() + 17 - (20 - first), b'0');
            buf.extend_from_slice(&tmp[first..]);
            while buf.last() == Some(&b'0') {
                buf.pop();
            }
        }
        if &buf[start..] == b"-0" {
            buf.truncate(start);
            buf.push(b'0');
        }
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// x87 addition: exact sum rounded to nearest, ties to even; overflow
    /// gives an infinity and `inf + -inf` a NaN, as on the hardware.
    fn add(self, other: LongDouble) -> LongDouble {
        let nan = LongDouble {
            // The x87 "default NaN" has its sign bit set.
            negative: true,
            class: Class::Nan,
        };
        match (self.class, other.class) {
            (Class::Nan, _) => self,
            (_, Class::Nan) => other,
            (Class::Infinite, Class::Infinite) if self.negative != other.negative => nan,
            (Class::Infinite, _) => self,
            (_, Class::Infinite) => other,
            (Class::Zero, Class::Zero) => LongDouble { negative: self.negative && other.negative, class: Class::Zero },
            (Class::Zero, _) => other,
            (_, Class::Zero) => self,
            (Class::Finite { mant: ma, exp: ea }, Class::Finite { mant: mb, exp: eb }) => {
                Self::add_finite((self.negative, ma, ea), (other.negative, mb, eb))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human_ld(v: LongDouble) -> String {
        let mut buf = Vec::new();
        v.format_human(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    fn ld(s: &str) -> LongDouble {
        LongDouble::parse(s.as_bytes()).unwrap_or_else(|| panic!("{s:?} should parse"))
    }

    /// `INCRBYFLOAT` as Redis computes it: current value + increment, shown
    /// in human form.
    fn incrbyfloat(current: &str, incr: &str) -> String {
        human_ld(ld(current) + ld(incr))
    }

    fn g17(v: f64) -> String {
        let mut buf = Vec::new();
        format_double(&mut buf, v);
        String::from_utf8(buf).unwrap()
    }

    fn d2s(v: f64) -> String {
        let mut buf = Vec::new();
        format_d2string(&mut buf, v);
        String::from_utf8(buf).unwrap()
    }

    fn human_f64(v: f64) -> String {
        let mut buf = Vec::new();
        format_long_double_human(&mut buf, v);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn parse_i64_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"1"), Some(1));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            "",
            "-",
            "-0",
            "+1",
            "01",
            "00",
            " 1",
            "1 ",
            "1a",
            "9223372036854775808",
            "-9223372036854775809",
            "18446744073709551616",
            "99999999999999999999",
            "000000000000000000001",
            "1.0",
            "0x10",
        ] {
            assert_eq!(parse_i64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn format_integers() {
        let mut buf = Vec::new();
        for v in [0, 1, -1, 9, 10, 99, 100, 12345, i64::MAX, i64::MIN] {
            buf.clear();
            format_i64(&mut buf, v);
            assert_eq!(buf, v.to_string().as_bytes());
            assert_eq!(parse_i64(&buf), Some(v));
        }
        buf.clear();
        format_u64(&mut buf, u64::MAX);
        assert_eq!(buf, b"18446744073709551615");
    }

    #[test]
    fn parse_f64_rules() {
        let ok = |s: &str, v: f64| assert_eq!(parse_f64(s.as_bytes()), Some(v), "{s:?}");
        ok("1.5", 1.5);
        ok("-1.5", -1.5);
        ok("+1.5", 1.5);
        ok(".5", 0.5);
        ok("5.", 5.0);
        ok("1e3", 1000.0);
        ok("1E+3", 1000.0);
        ok("0x10", 16.0);
        ok("0X1.8p1", 3.0);
        ok("-0x.8", -0.5);
        ok("0x1p-1074", 5e-324);
        ok("inf", f64::INFINITY);
        ok("-Infinity", f64::NEG_INFINITY);
        ok("+INF", f64::INFINITY);
        ok("4e-320", 4e-320);
        ok("0e999999", 0.0);
        ok("1.7976931348623157e308", f64::MAX);
        assert!(parse_f64(b"-0").unwrap().is_sign_negative());
        for bad in [
            "",
            " 1",
            "1 ",
            "\t1",
            "1e",
            "1e+",
            "e5",
            ".",
            "-",
            "+",
            "nan",
            "NaN",
            "-nan",
            "nan(1)",
            "1e400",
            "-1e400",
            "1e-400",
            "0x",
            "0x.",
            "0x1p",
            "0xg",
            "infinit",
            "infinityy",
            "1.2.3",
            "1,5",
            "1\u{0}",
            "0x1p99999",
            "0x1p-99999",
            "1_000",
        ] {
            assert_eq!(parse_f64(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_float_rounding() {
        // 2^53 + 1 is a tie: rounds to even.
        assert_eq!(parse_f64(b"0x20000000000001"), Some(9007199254740992.0));
        assert_eq!(parse_f64(b"0x20000000000003"), Some(9007199254740996.0));
        // Sticky digits far away break the tie upwards.
        assert_eq!(
            parse_f64(b"0x20000000000001000000000000000000000000001"),
            Some(9007199254740994.0 * 2f64.powi(108))
        );
        assert_eq!(parse_f64(b"0x1.fffffffffffff8p1023"), None, "rounds up to overflow");
        assert_eq!(parse_f64(b"0x1p-1075"), None, "ties to even: zero");
        assert_eq!(parse_f64(b"0x1.0000001p-1075"), Some(5e-324));
    }

    #[test]
    fn format_double_is_printf_g17() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (1.5, "1.5"),
            (-1.5, "-1.5"),
            (0.1, "0.10000000000000001"),
            (3.0, "3"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e20, "1e+20"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (1e-5, "1.0000000000000001e-05"),
            (2.5e-5, "2.5000000000000001e-05"),
            (1e100, "1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "4.9406564584124654e-324"),
            (4e-320, "3.999955468730732e-320"),
            (16.0 + 0.1, "16.100000000000001"),
            (2f64.powi(-25), "2.9802322387695312e-08"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for &(v, want) in cases {
            assert_eq!(g17(v), want, "{v:e}");
        }
    }

    #[test]
    fn d2string_prefers_integers() {
        assert_eq!(d2s(1e17), "100000000000000000");
        assert_eq!(d2s(4611686018427387904.0), "4611686018427387904");
        assert_eq!(d2s(9223372036854775808.0), "9.2233720368547758e+18");
        assert_eq!(d2s(-3.0), "-3");
        assert_eq!(d2s(-0.0), "-0");
        assert_eq!(d2s(1.5), "1.5");
        assert_eq!(d2s(f64::NAN), "nan");
        assert_eq!(d2s(-f64::NAN), "nan");
    }

    #[test]
    fn incr_tcl_incrbyfloat_cases() {
        // tests/unit/type/incr.tcl at 7.0.15, plus the replies a real
        // redis-server 7.0.15 (x86-64) gave for the same commands.
        assert_eq!(incrbyfloat("0", "1"), "1");
        assert_eq!(incrbyfloat("1", "0.25"), "1.25");
        assert_eq!(incrbyfloat("1.5", "1.5"), "3");
        assert_eq!(incrbyfloat("17179869184", "1.5"), "17179869185.5");
        assert_eq!(incrbyfloat("17179869184", "17179869184"), "34359738368");
        assert_eq!(incrbyfloat("1", "-1.1"), "-0.1");
        assert!(!(ld("0") + ld("+inf")).is_finite());
        for bad in ["    11", "11    ", " 11 ", "1\u{0}2"] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        // "No negative zero": 1/41 then -1/41.
        let step1 = incrbyfloat("0", "0.024390243902439025");
        assert_eq!(step1, "0.02439024390243902");
        assert_eq!(incrbyfloat(&step1, "-0.024390243902439025"), "0");
    }

    #[test]
    fn incrbyfloat_matches_real_redis() {
        // Replies observed from redis-server 7.0.15 on x86-64.
        assert_eq!(incrbyfloat("10.5", "0.1"), "10.6");
        assert_eq!(incrbyfloat("3.0e3", "0"), "3000");
        assert_eq!(incrbyfloat("0", "1.23456789e-10"), "0.00000000012345679");
        assert_eq!(incrbyfloat("0.00000000012345679", "1e30"), "1000000000000000000024696061952");
        assert_eq!(incrbyfloat("0", "1e-400"), "0");
        assert_eq!(incrbyfloat("0", "6e-18"), "0.00000000000000001");
        assert_eq!(incrbyfloat("0.1", "0.2"), "0.3");
        assert_eq!(incrbyfloat("0", "3.3333333333333333333333"), "3.33333333333333333");
        assert_eq!(incrbyfloat("0", "1.0000000000000000005"), "1");
        assert_eq!(incrbyfloat("0", "123456789012345678.5"), "123456789012345678.5");
        let big = incrbyfloat("0", "1e400");
        assert!(big.starts_with("10000000000000000000281880683947586514586453433629"));
        assert_eq!(big.len(), 401);
        assert_eq!(LongDouble::parse(b"1e-5000"), None);
    }

    #[test]
    fn long_double_parse_rules() {
        assert_eq!(LongDouble::parse(b""), None);
        assert_eq!(LongDouble::parse(b"nan"), None);
        assert_eq!(LongDouble::parse(b"1e5000"), None);
        assert!(LongDouble::parse(b"1e4000").is_some());
        assert!(LongDouble::parse(b"-inf").is_some());
        assert!(LongDouble::parse(b"3e-4951").is_some(), "rounds to the smallest subnormal");
        assert_eq!(LongDouble::parse(b"1e-4951"), None, "rounds to zero");
        assert!(LongDouble::parse(b"0e-99999").is_some());
        let long = format!("1.{}", "1".repeat(MAX_LONG_DOUBLE_CHARS - 3));
        assert_eq!(human_ld(LongDouble::parse(long.as_bytes()).unwrap()), "1.11111111111111111");
        let too_long = format!("1.{}", "1".repeat(MAX_LONG_DOUBLE_CHARS - 2));
        assert_eq!(LongDouble::parse(too_long.as_bytes()), None);
        assert_eq!(parse_long_double(b"1.5"), Some(1.5));
        assert_eq!(parse_long_double(b"1e400"), Some(f64::INFINITY));
        assert_eq!(parse_long_double(b" 1"), None);
    }

    #[test]
    fn long_double_conversions() {
        for v in [0.0, 1.5, -2.75, 0.1, 1e300, -1e-300, 5e-324, f64::MAX, f64::MIN_POSITIVE] {
            assert_eq!(LongDouble::from_f64(v).to_f64().to_bits(), v.to_bits());
        }
        assert_eq!(human_ld(LongDouble::from_i64(i64::MIN)), "-9223372036854775808");
        assert_eq!(human_ld(LongDouble::from_i64(0)), "0");
        assert_eq!(human_ld(LongDouble::from_f64(-0.0)), "0");
        assert_eq!(human_ld(LongDouble::from_f64(0.1)), "0.10000000000000001");
        assert_eq!(human_ld(ld("-1e-20")), "0");
        assert_eq!(human_ld(ld("0.999999999999999999")), "1");
        assert_eq!(human_ld(ld("-inf")), "-inf");
        let nan = ld("inf") + ld("-inf");
        assert!(nan.is_nan());
        assert_eq!(human_ld(nan), "-nan");
        let max = ld("1.18973149535723176502e+4932");
        assert_eq!(max + max, ld("inf"), "overflow gives infinity");
    }

    #[test]
    fn human_from_f64() {
        assert_eq!(human_f64(10.5 + 0.1), "10.6");
        assert_eq!(human_f64(3.0e3), "3000");
        assert_eq!(human_f64(17179869184.0 + 1.5), "17179869185.5");
        assert_eq!(human_f64(1.0 / 41.0 - 1.0 / 41.0), "0");
        assert_eq!(human_f64(-0.0), "0");
        assert_eq!(human_f64(1.23456789e-10), "0.00000000012345679");
        assert_eq!(human_f64(1e-20), "0");
        assert_eq!(human_f64(-1e-20), "0");
        assert_eq!(human_f64(1e20), "100000000000000000000");
        assert_eq!(human_f64(f64::INFINITY), "inf");
    }

    #[test]
    fn no_panics_on_arbitrary_bytes() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: &[u8] = b"0123456789+-.eEpPxXabcdfinINFty \x00\xff";
        for _ in 0..100_000 {
            let len = (next() % 12) as usize;
            let s: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let _ = parse_i64(&s);
            let d = parse_f64(&s);
            let l = LongDouble::parse(&s);
            if let (Some(d), Some(l)) = (d, l) {
                if d.is_finite() {
                    assert_eq!(l.to_f64(), d, "{s:?}");
                }
                let mut buf = Vec::new();
                format_double(&mut buf, d);
                format_d2string(&mut buf, d);
                format_long_double_human(&mut buf, d);
                (l + l).format_human(&mut buf);
            }
        }
    }
}
