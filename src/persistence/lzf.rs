//! LZF, the byte-oriented LZ77 variant Redis uses to compress RDB strings (the `C3` string encoding) and
//! in-memory quicklist nodes.
//!
//! This module owns the compressed format: a compressor whose output Redis's `lzf_decompress` accepts
//! and a strict decompressor. It never decides whether compressing is worthwhile for the RDB (that rule,
//! "only strings over 20 bytes that shrink by at least 4", belongs to the RDB writer) and never panics,
//! reads or writes out of bounds on corrupt input.
//!
//! # Format
//!
//! A sequence of tokens, each starting with a control byte:
//!
//! ```text
//! 000LLLLL <L+1 bytes>          literal run of 1..=32 bytes copied verbatim
//! LLLooooo oooooooo             back-reference, LLL in 1..=6: copy LLL+2 bytes
//! 111ooooo XXXXXXXX oooooooo    back-reference: copy 7+X+2 bytes (9..=264)
//! ```
//!
//! The 13-bit `o` (high 5 bits in the control byte) is the distance minus one: the copy starts
//! `o + 1` bytes (1..=8192) before the current end of the output and proceeds byte by byte, so a
//! reference may overlap the bytes it produces (distance 1 repeats one byte).
//!
//! The compressor does not try to reproduce Redis's output byte for byte: Redis's own hash table is left
//! uninitialised, so its output is not reproducible either; only validity matters.

/// Longest literal run one control byte can announce.
const MAX_LITERAL: usize = 32;
/// Farthest a back-reference can reach.
const MAX_DISTANCE: usize = 1 << 13;
/// Shortest match worth a back-reference (a 2-byte token for 3 bytes saves one).
const MIN_MATCH: usize = 3;
/// Longest match one back-reference can copy: `7 + 255 + 2`.
const MAX_MATCH: usize = 264;
/// Most output bytes one input byte can produce (a 3-byte token copying 264 bytes). Any claimed
/// uncompressed length above `input.len() * MAX_EXPANSION` is impossible, so it is rejected before
/// allocating.
pub const MAX_EXPANSION: usize = MAX_MATCH / 3;
/// log2 of the hash table size (in entries), as Redis's HLOG: 64 Ki entries of 4 bytes stay in L2.
const HASH_BITS: u32 = 16;

/// Compresses `input`, appending the LZF stream to `out`, if the result is strictly shorter than the
/// input. Returns the number of bytes appended, or `None` (with `out` unchanged) when the data does not
/// shrink or is empty: Redis then stores it raw.
pub fn compress(input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    compress_limited(input, out, input.len().checked_sub(1)?)
}

/// Like [`compress`] with an explicit budget: gives up (returning `None`, `out` unchanged) as soon as the
/// compressed form would exceed `max_len` bytes, so incompressible data costs little. Redis's RDB writer
/// uses a budget of `input.len() - 4`.
pub fn compress_limited(input: &[u8], out: &mut Vec<u8>, max_len: usize) -> Option<usize> {
    let start = out.len();
    out.resize(start + max_len, 0);
    let written = compress_to_slice(input, &mut out[start..]);
    out.truncate(start + written.unwrap_or(0));
    written
}

/// Compresses `input` into the start of `out`, whose length is the budget (as Redis's lzf_compress,
/// checked a few bytes ahead). Returns the compressed length, or `None` when it does not fit. The
/// caller keeps `out` across calls, so no buffer is zeroed per string.
pub fn compress_to_slice(input: &[u8], out: &mut [u8]) -> Option<usize> {
    if input.is_empty() || out.is_empty() {
        return None;
    }
    thread_local! {
        // One table reused by every call and never cleared: entries hold the low 32 bits of a position,
        // and a stale entry (from an earlier input, or wrapped) only yields a candidate that the byte
        // comparison below rejects or that is still a genuine match. Allocating and zeroing a table per
        // string cost more than compressing it (an RDB save compresses every listpack).
        static TABLE: std::cell::RefCell<Box<HashTable>> = std::cell::RefCell::new(Box::new([0; 1 << HASH_BITS]));
    }
    TABLE.with(|t| compress_into(input, out, &mut t.borrow_mut()))
}

/// Last position seen for each hash of three bytes.
type HashTable = [u32; 1 << HASH_BITS];

/// The table slot of the three bytes whose rolling value is `v` (only its low 24 bits count).
#[inline(always)]
fn slot_of(v: u32) -> usize {
    ((v >> (24 - HASH_BITS)).wrapping_sub(v.wrapping_mul(5)) & ((1 << HASH_BITS) - 1)) as usize
}

/// The compressor proper, writing into `o` (whose length is the budget); returns the length used, or
/// `None` once the budget is exceeded. It is the greedy single-probe scheme of Redis's lzf_compress:
/// one hash lookup per position, literal bytes written as they are passed, and the control byte of
/// the current literal run reserved ahead of it and filled in when the run ends.
///
/// The scan loop reads and writes without bounds checks: they cost 45% of its speed (an RDB save
/// of listpack-heavy data spends most of its time here). Each access states why it is in bounds;
/// debug builds (every test) still check them all through `get_unchecked`'s preconditions.
fn compress_into(input: &[u8], o: &mut [u8], table: &mut HashTable) -> Option<usize> {
    let n = input.len();
    let cap = o.len();
    let mut op = 1; // o[0] is the first run's control byte.
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut v = if n >= 2 { (u32::from(input[0]) << 8) | u32::from(input[1]) } else { 0 };
    // Invariants at the top of each iteration: ip + 2 < n; 1 <= op and, after a literal or the
    // start, op - lit - 1 is the current run's reserved control byte.
    while ip + 2 < n {
        // SAFETY: ip + 2 < n by the loop condition.
        v = (v << 8) | u32::from(unsafe { *input.get_unchecked(ip + 2) });
        let slot = slot_of(v);
        // `slot_of` masks to the table size, so `table[slot]` is never out of bounds (and the
        // compiler sees it: the array length is a constant).
        let cand = table[slot] as usize;
        table[slot] = ip as u32;
        // `off` is the distance minus one; a stale entry at or past `ip` wraps to a huge value, so
        // `off < MAX_DISTANCE` implies cand < ip, hence cand + 2 < n.
        let off = ip.wrapping_sub(cand).wrapping_sub(1);
        // SAFETY (the three reads at cand and ip): cand < ip and ip + 2 < n.
        if off < MAX_DISTANCE
            && cand > 0
            && unsafe { input.get_unchecked(cand + 2) == input.get_unchecked(ip + 2) }
            && unsafe { input.get_unchecked(cand..cand + 2) == input.get_unchecked(ip..ip + 2) }
        {
            let max = (n - ip - 2).min(MAX_MATCH);
            let mut len = MIN_MATCH;
            // SAFETY: len < max <= n - ip - 2, so ip + len < n, and cand < ip.
            while len < max && unsafe { input.get_unchecked(cand + len) == input.get_unchecked(ip + len) } {
                len += 1;
            }
            // The reference takes at most 3 bytes after the current run's control byte.
            if op + 4 >= cap && op - usize::from(lit == 0) + 4 >= cap {
                return None;
            }
            // SAFETY: the budget test above leaves room for the (at most 3) bytes written from
            // op after the run is closed, and the run's control byte is before op.
            unsafe {
                if lit == 0 {
                    op -= 1;
                } else {
                    *o.get_unchecked_mut(op - lit - 1) = (lit - 1) as u8;
                }
                let code = len - 2;
                if code < 7 {
                    *o.get_unchecked_mut(op) = ((off >> 8) as u8) | ((code as u8) << 5);
                    op += 1;
                } else {
                    *o.get_unchecked_mut(op) = ((off >> 8) as u8) | (7 << 5);
                    *o.get_unchecked_mut(op + 1) = (code - 7) as u8;
                    op += 2;
                }
                *o.get_unchecked_mut(op) = off as u8;
            }
            op += 2; // the low offset byte, then the next run's control byte
            lit = 0;
            ip += len;
            if ip + 2 >= n {
                break;
            }
            // Index the last two positions of the match so that runs keep finding each other.
            // SAFETY: ip >= len >= 3 and ip + 2 < n, so every read below is in bounds.
            let mut w =
                unsafe { (u32::from(*input.get_unchecked(ip - 2)) << 8) | u32::from(*input.get_unchecked(ip - 1)) };
            for p in ip - 2..ip {
                w = (w << 8) | u32::from(unsafe { *input.get_unchecked(p + 2) });
                table[slot_of(w)] = p as u32;
            }
            v = w;
        } else {
            if op >= cap {
                return None;
            }
            // SAFETY: op < cap was just checked, ip < n by the loop condition, and a full run's
            // control byte sits MAX_LITERAL + 1 bytes back from op (op >= MAX_LITERAL + 1 then).
            unsafe {
                *o.get_unchecked_mut(op) = *input.get_unchecked(ip);
                op += 1;
                lit += 1;
                if lit == MAX_LITERAL {
                    *o.get_unchecked_mut(op - MAX_LITERAL - 1) = (MAX_LITERAL - 1) as u8;
                    lit = 0;
                    op += 1;
                }
            }
            ip += 1;
        }
    }
    // At most two bytes are left, and the run's control byte may need one more.
    if op + 3 > cap {
        return None;
    }
    for &byte in &input[ip..] {
        push_literal(o, &mut op, &mut lit, byte);
    }
    close_run(o, &mut op, lit);
    (op <= cap).then_some(op)
}

/// Appends one byte to the current literal run; a full run gets its control byte and the next
/// run's is reserved.
#[inline(always)]
fn push_literal(o: &mut [u8], op: &mut usize, lit: &mut usize, byte: u8) {
    o[*op] = byte;
    *op += 1;
    *lit += 1;
    if *lit == MAX_LITERAL {
        o[*op - MAX_LITERAL - 1] = (MAX_LITERAL - 1) as u8;
        *lit = 0;
        *op += 1;
    }
}

/// Ends the current literal run: writes its control byte, or gives back the byte reserved for it
/// when the run is empty.
#[inline(always)]
fn close_run(o: &mut [u8], op: &mut usize, lit: usize) {
    if lit == 0 {
        *op -= 1;
    } else {
        o[*op - lit - 1] = (lit - 1) as u8;
    }
}

/// Decompresses `input`, which must expand to exactly `expected_len` bytes.
///
/// Returns `None` on any corruption: a token running past the end of the input, a back-reference before
/// the start of the output, output beyond `expected_len`, or a total different from `expected_len`
/// (Redis's RDB loader treats all of these as "Invalid LZF compressed string"). An `expected_len` the
/// input could not possibly produce is rejected before anything is allocated.
pub fn decompress(input: &[u8], expected_len: usize) -> Option<Vec<u8>> {
    if expected_len > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    // Filling a zeroed buffer by index is markedly faster than growing a vector token by token.
    let mut out = vec![0u8; expected_len];
    let mut op = 0;
    let mut ip = 0;
    while let Some(&ctrl) = input.get(ip) {
        ip += 1;
        let ctrl = usize::from(ctrl);
        if ctrl < 32 {
            let len = ctrl + 1;
            let literal = input.get(ip..ip + len)?;
            out.get_mut(op..op + len)?.copy_from_slice(literal);
            ip += len;
            op += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip)?);
            ip += 1;
            let len = len + 2;
            let distance = (((ctrl & 0x1f) << 8) | low) + 1;
            let from = op.checked_sub(distance)?;
            if len > expected_len - op {
                return None;
            }
            // LZF copies byte by byte, so an overlapping reference repeats the `distance` bytes before
            // `op`. Copying whole periods from `from` doubles the available pattern at every step while
            // keeping that meaning; a reference that does not overlap is done in one step.
            let mut done = 0;
            while done < len {
                let n = (len - done).min(distance + done);
                out.copy_within(from..from + n, op + done);
                done += n;
            }
            op += len;
        }
    }
    (op == expected_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_rng::XorShift;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex")).collect()
    }

    fn roundtrip(data: &[u8]) -> Option<usize> {
        let mut out = vec![0xAA]; // a prefix, to check that compress appends
        let n = compress(data, &mut out);
        match n {
            Some(n) => {
                assert_eq!(out.len(), n + 1);
                assert!(n < data.len());
                assert_eq!(decompress(&out[1..], data.len()).as_deref(), Some(data));
            }
            None => assert_eq!(out, [0xAA]),
        }
        n
    }

    /// Inputs with structure: runs, repeats at various distances, and noise.
    fn generate(rng: &mut XorShift, len: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(len);
        let alphabet = 1 + rng.below(255) as u8;
        while v.len() < len {
            match rng.below(4) {
                0 => {
                    let b = rng.next() as u8;
                    let n = rng.below(300);
                    v.extend(std::iter::repeat_n(b, n));
                }
                1 if !v.is_empty() => {
                    let dist = 1 + rng.below(v.len().min(10_000));
                    let n = rng.below(400);
                    for _ in 0..n {
                        v.push(v[v.len() - dist]);
                    }
                }
                _ => {
                    let n = rng.below(50);
                    v.extend((0..n).map(|_| rng.next() as u8 % alphabet));
                }
            }
        }
        v.truncate(len);
        v
    }

    #[test]
    fn roundtrip_random_structured_inputs() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut compressed = 0;
        for i in 0..600 {
            let len = match i % 3 {
                0 => rng.below(64),
                1 => rng.below(2_000),
                _ => rng.below(40_000),
            };
            let data = generate(&mut rng, len);
            if roundtrip(&data).is_some() {
                compressed += 1;
            }
        }
        assert!(compressed > 300, "structured data should usually compress ({compressed})");
    }

    #[test]
    fn incompressible_and_tiny_inputs_are_refused() {
        let mut rng = XorShift(12345);
        let noise: Vec<u8> = (0..5000).map(|_| rng.next() as u8).collect();
        assert_eq!(roundtrip(&noise), None);
        assert_eq!(roundtrip(b""), None);
        assert_eq!(roundtrip(b"a"), None);
        assert_eq!(roundtrip(b"abc"), None);
    }

    #[test]
    fn long_runs_use_maximal_references() {
        let data = vec![b'x'; 100_000];
        let n = roundtrip(&data).expect("a run compresses");
        // One literal byte, then references of 264 bytes at 3 bytes each.
        assert!(n < 100_000 / 264 * 3 + 10, "{n}");
    }

    #[test]
    fn budget_is_respected() {
        let data = b"abcabcabcabcabcabcabcabcabcabcXYZ".repeat(3);
        let mut out = Vec::new();
        let full = compress(&data, &mut out).expect("compresses");
        out.clear();
        // As Redis's lzf_compress, a budget is checked a few bytes ahead (a token plus the next
        // run's control byte), so a budget a little over the size always suffices.
        let fit = compress_limited(&data, &mut out, full + 4).expect("fits");
        assert_eq!(out.len(), fit);
        out.clear();
        assert_eq!(compress_limited(&data, &mut out, full / 2), None);
        assert!(out.is_empty());
    }

    #[test]
    fn every_budget_either_fits_or_is_refused() {
        // The scan loop writes without bounds checks: sweep the budget across every boundary so a
        // write past it would trip get_unchecked's debug precondition.
        let mut rng = XorShift(7);
        for len in [3, 4, 33, 64, 300, 1000] {
            let data = generate(&mut rng, len);
            let mut out = Vec::new();
            let Some(full) = compress(&data, &mut out) else { continue };
            // Like lzf_compress, the budget is checked a few bytes ahead, so a budget just above the
            // compressed length may still be refused.
            for budget in 1..=full + 4 {
                let mut buf = vec![0u8; budget];
                match compress_to_slice(&data, &mut buf) {
                    Some(n) => {
                        assert!(n <= budget);
                        assert_eq!(decompress(&buf[..n], data.len()).as_deref(), Some(&data[..]));
                    }
                    None => assert!(budget < full + 4, "budget {budget} refused, {full} needed"),
                }
            }
        }
    }

    #[test]
    fn hand_made_tokens() {
        // Literal "ab", then distance 2 length 4 (overlapping): "ababab".
        assert_eq!(decompress(&[0x01, b'a', b'b', 0x40, 0x01], 6).as_deref(), Some(&b"ababab"[..]));
        // Long form: 7 + 1 + 2 = 10 copies of the previous byte.
        assert_eq!(decompress(&[0x00, b'z', 0xE0, 0x01, 0x00], 11).as_deref(), Some(&[b'z'; 11][..]));
        assert_eq!(decompress(&[], 0).as_deref(), Some(&[][..]));
    }

    #[test]
    fn corrupt_streams_are_rejected() {
        // Literal longer than the input.
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        // Reference before the start of the output.
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x01], 4), None);
        // Reference missing its offset byte, or its length byte.
        assert_eq!(decompress(&[0x00, b'a', 0x20], 4), None);
        assert_eq!(decompress(&[0x00, b'a', 0xE0], 12), None);
        // Output longer, or shorter, than announced.
        assert_eq!(decompress(&[0x01, b'a', b'b'], 1), None);
        assert_eq!(decompress(&[0x01, b'a', b'b'], 3), None);
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x00], 3), None);
        // A length the input could never produce is refused before allocating.
        assert_eq!(decompress(&[0x00, b'a'], usize::MAX), None);
        assert_eq!(decompress(&[0x00, b'a'], 0), None);
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = XorShift(0xDEAD_BEEF);
        for _ in 0..20_000 {
            let len = rng.below(40);
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let expected = rng.below(200);
            if let Some(out) = decompress(&data, expected) {
                assert_eq!(out.len(), expected);
            }
        }
    }

    #[test]
    fn decompresses_what_redis_wrote() {
        // DUMP payloads from Redis 7.0.15 (rdbcompression yes): type 0, `C3 <clen> <ulen>`, LZF bytes.
        // `C3`, clen 9, ulen 100 (14-bit form `40 64`), then the stream.
        let a100 = hex("c3094064016161e05700016161");
        assert_eq!(decompress(&a100[4..], 100), Some(vec![b'a'; 100]));
        let abc = hex("c31b43e80a6162636465666768696a61e0ff09e1ff0de2ff11e2ba1101696a");
        assert_eq!(abc.len(), 3 + 0x1b + 1);
        assert_eq!(decompress(&abc[4..], 1000), Some(b"abcdefghij".repeat(100)));
    }

    #[test]
    fn decompresses_redis_words_sample() {
        let words = words_1000();
        let payload = hex(WORDS_DUMP);
        // `C3`, clen 0x00BC in 14-bit form (`40 BC`), ulen 1000 (`43 E8`), then the stream.
        assert_eq!(&payload[..5], &[0xC3, 0x40, 0xBC, 0x43, 0xE8]);
        assert_eq!(payload.len(), 5 + 0xBC);
        assert_eq!(decompress(&payload[5..], 1000), Some(words.clone()));
        // And ours compresses it to something in the same league.
        let mut out = Vec::new();
        let n = compress(&words, &mut out).expect("compresses");
        assert!(n < 300, "{n}");
    }

    /// `word0 word1 ... word36 word0 ...` truncated to 1000 bytes: the value behind [`WORDS_DUMP`].
    fn words_1000() -> Vec<u8> {
        let mut v: Vec<u8> = (0..200).map(|i| format!("word{}", i % 37)).collect::<Vec<_>>().join(" ").into_bytes();
        v.truncate(1000);
        v
    }

    const WORDS_DUMP: &str = "c340bc43e806776f7264302077200500316005003260050033600500346005003560050036600500376005003860050039600500\
        31a03c803d0031803e0031803f003180400031804100318042003180430031804400318045003280450032804500328045003280\
        45003280450032804500328045003280450032804500328045003380450033804500338045003380450033804500338045003380\
        45802f802ea02d60d4802b802a8029806e806d806ce0fff88137e1fff18233e288ea017264";
}
