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
/// The hash table size (in entries): enough for good matches within the 8 KiB window.
const MAX_HASH_BITS: u32 = 14;

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
    if input.is_empty() || max_len == 0 {
        return None;
    }
    let start = out.len();
    let result = compress_into(input, out, start.saturating_add(max_len));
    if result.is_none() {
        out.truncate(start);
    }
    result
}

/// The compressor proper. `limit` is the largest `out.len()` allowed; returns `None` once exceeded.
fn compress_into(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Option<usize> {
    thread_local! {
        // One table reused by every call and never cleared: entries hold the low 32 bits of a position,
        // and a stale entry (from an earlier input, or wrapped) only yields a candidate that the byte
        // comparison below rejects or that is still a genuine match. Allocating and zeroing a table per
        // string cost more than compressing it (an RDB save compresses every listpack).
        static TABLE: std::cell::RefCell<Vec<u32>> = std::cell::RefCell::new(vec![0; 1 << MAX_HASH_BITS]);
    }
    TABLE.with(|t| compress_with(input, out, limit, &mut t.borrow_mut()))
}

fn compress_with(input: &[u8], out: &mut Vec<u8>, limit: usize, table: &mut [u32]) -> Option<usize> {
    let start = out.len();
    let bits = MAX_HASH_BITS;
    let hash = |b: &[u8]| -> usize {
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        (v.wrapping_mul(0x9e37_79b1) >> (32 - bits)) as usize
    };

    let mut literal_start = 0;
    let mut pos = 0;
    // Matches need MIN_MATCH bytes from `pos`.
    while pos + MIN_MATCH <= input.len() {
        let slot = hash(&input[pos..]);
        let distance = (pos as u32).wrapping_sub(table[slot]) as usize;
        table[slot] = pos as u32;
        let matched = if (1..=MAX_DISTANCE).contains(&distance) && distance <= pos {
            let cand = pos - distance;
            let max = (input.len() - pos).min(MAX_MATCH);
            common_prefix(&input[cand..], &input[pos..pos + max])
        } else {
            0
        };
        if matched < MIN_MATCH {
            pos += 1;
            // Pending literals are only written at the next flush; count them now so that incompressible
            // data is abandoned as soon as it is over budget.
            if out.len() + literal_cost(pos - literal_start) > limit {
                return None;
            }
            continue;
        }
        push_literals(out, &input[literal_start..pos]);
        push_backref(out, distance, matched);
        if out.len() > limit {
            return None;
        }
        // Index the last two positions of the match so that runs keep finding each other; indexing
        // every position would slow compression for little gain.
        let end = pos + matched;
        for p in end.saturating_sub(2).max(pos + 1)..end {
            if p + MIN_MATCH <= input.len() {
                let slot = hash(&input[p..]);
                table[slot] = p as u32;
            }
        }
        pos = end;
        literal_start = end;
    }
    push_literals(out, &input[literal_start..]);
    if out.len() > limit {
        return None;
    }
    Some(out.len() - start)
}

/// Length of the common prefix of `a` and `b` (`b` no longer than `a`), compared eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let diff =
            u64::from_le_bytes(x.try_into().unwrap_or_default()) ^ u64::from_le_bytes(y.try_into().unwrap_or_default());
        if diff != 0 {
            // Little-endian load: the first differing byte is the lowest non-zero one.
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + a[n..].iter().zip(&b[n..]).take_while(|(x, y)| x == y).count()
}

/// Bytes `n` pending literals will take once written.
fn literal_cost(n: usize) -> usize {
    n + n.div_ceil(MAX_LITERAL)
}

/// Writes `bytes` as literal runs of at most [`MAX_LITERAL`] bytes.
fn push_literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LITERAL) {
        // A run is 1..=32 bytes, so `len - 1` fits the five low bits.
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

/// Writes one back-reference; `distance` is in 1..=8192 and `len` in 3..=264 (guaranteed by the caller).
fn push_backref(out: &mut Vec<u8>, distance: usize, len: usize) {
    let offset = distance - 1;
    let high = (offset >> 8) as u8;
    let low = (offset & 0xff) as u8;
    let len_code = len - 2;
    if len_code < 7 {
        out.extend_from_slice(&[((len_code as u8) << 5) | high, low]);
    } else {
        out.extend_from_slice(&[(7 << 5) | high, (len_code - 7) as u8, low]);
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
        assert_eq!(compress_limited(&data, &mut out, full), Some(full));
        out.clear();
        assert_eq!(compress_limited(&data, &mut out, full - 1), None);
        assert!(out.is_empty());
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
