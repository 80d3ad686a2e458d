//! CRC-64/Jones as Redis computes it: the checksum in an RDB file's trailer and in every DUMP payload.
//!
//! This module owns the polynomial, the lookup tables, the carry-less-multiply folding kernel and the
//! choice between them. It never decides where a checksum starts or stops (the RDB and DUMP code feed it
//! the right bytes) and never allocates.
//!
//! Parameters: polynomial `0xad93d23594c935a9` (reflected `0x95ac9329ac4bc9b5`), input and output
//! reflected, initial value 0, no final xor. Redis's own sources disagree in a banner comment about the
//! initial value; the callers seed 0 and the check value below only matches 0.
//!
//! RDB files can be many gigabytes and are checksummed while being written and read. The portable loop
//! consumes eight bytes per step with eight tables ("slice-by-8"), built at compile time. On x86_64 CPUs
//! with PCLMULQDQ, longer inputs are instead folded 64 bytes at a time with carry-less multiplication
//! (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", reflected variant), several
//! times faster; the last 16 folded bytes and the tail still go through the tables, so no Barrett
//! reduction is needed.
//!
//! # The reflected domain
//!
//! A reflected 64-bit value `v` stands for the polynomial `sum v_i * x^(63-i)`: bit 0 is the highest
//! power, matching a byte stream read least significant bit first. Multiplying by `x` is a right shift,
//! and the bit shifted out is `x^64`, which reduces to `P - x^64`, i.e. `POLY_REFLECTED`: the very step
//! of the bitwise CRC. `crc64(0, m)` is `m(x) * x^64 mod P` in this representation, so it depends only
//! on `m mod P`, which is what lets the kernel replace the bulk of a message by a congruent 16 bytes.

/// The Jones polynomial, bit-reversed because the CRC is computed least significant bit first.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// Inputs at least this long take the folding kernel. Its fixed cost is the last 16 folded bytes going
/// through the tables, so it already wins from 32 bytes on the machine it was tuned on (64 bytes: 19 ns
/// against 46); 64 leaves room for CPUs with a slower multiplier, and shorter inputs gain little anyway.
#[cfg(target_arch = "x86_64")]
const CLMUL_MIN_LEN: usize = 64;

/// `TABLES[0]` is the classic byte-at-a-time table; `TABLES[k][b]` is the CRC contribution of byte `b`
/// followed by `k` zero bytes, which lets eight input bytes be folded in with eight independent lookups.
static TABLES: [[u64; 256]; 8] = build_tables();

/// One bit of the bitwise CRC, which is also multiplication by `x` modulo P in the reflected domain.
const fn mul_x(v: u64) -> u64 {
    if v & 1 == 1 { (v >> 1) ^ POLY_REFLECTED } else { v >> 1 }
}

const fn build_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = mul_x(crc);
            bit += 1;
        }
        tables[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    tables
}

/// `x^n mod P`, reflected: `x^0` is bit 63, and each further power is one `mul_x`.
#[cfg(any(target_arch = "x86_64", test))]
const fn x_pow_mod(n: u32) -> u64 {
    let mut v = 1 << 63;
    let mut i = 0;
    while i < n {
        v = mul_x(v);
        i += 1;
    }
    v
}

/// The two multipliers that move a 16-byte block `bytes` further along the message.
///
/// A block is `A * x^64 + B`, where `A` is its first eight bytes (the register's low qword, since the
/// stream runs from high powers to low) and `B` the next eight. Moving it `d = 8 * bytes` bits along
/// means multiplying by `x^d`: `A * x^(d+64) + B * x^d`, each term reduced to a 64-bit constant
/// beforehand. A carry-less product of two reflected 64-bit values lands one bit short of the 128-bit
/// reflected frame (it has degree at most 126 but bit 0 of the register is `x^127`), so it reads as the
/// true product times `x`; the constants take one power less to make up for it: `x^(d+63)` for `A`
/// and `x^(d-1)` for `B`. The product then has degree < 128 and is congruent to the moved block.
#[cfg(any(target_arch = "x86_64", test))]
const fn fold_constants(bytes: u32) -> [u64; 2] {
    let d = 8 * bytes;
    [x_pow_mod(d + 63), x_pow_mod(d - 1)]
}

/// Extends the checksum `crc` with `data` and returns the new checksum.
///
/// Start from 0; feeding a buffer in pieces gives the same result as feeding it whole, so a file can be
/// checksummed chunk by chunk as it streams: `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.
pub fn crc64(crc: u64, data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= CLMUL_MIN_LEN && clmul::available() {
        // SAFETY: `available` confirmed the CPU supports every feature the kernel is compiled for.
        return unsafe { clmul::crc64(crc, data) };
    }
    crc64_table(crc, data)
}

/// The portable slice-by-8 loop; also finishes what the folding kernel leaves over.
fn crc64_table(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        crc ^= u64::from_le_bytes(word);
        crc = TABLES[7][(crc & 0xff) as usize]
            ^ TABLES[6][((crc >> 8) & 0xff) as usize]
            ^ TABLES[5][((crc >> 16) & 0xff) as usize]
            ^ TABLES[4][((crc >> 24) & 0xff) as usize]
            ^ TABLES[3][((crc >> 32) & 0xff) as usize]
            ^ TABLES[2][((crc >> 40) & 0xff) as usize]
            ^ TABLES[1][((crc >> 48) & 0xff) as usize]
            ^ TABLES[0][(crc >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = TABLES[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(target_arch = "x86_64")]
mod clmul {
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_cvtsi64_si128, _mm_loadu_si128, _mm_set_epi64x, _mm_setzero_si128,
        _mm_storeu_si128, _mm_xor_si128,
    };
    use std::sync::OnceLock;

    use super::{crc64_table, fold_constants};

    /// Four independent lanes hide the multiplier's latency: each lane's block moves past the three
    /// blocks the other lanes take in the meantime, 64 bytes in all.
    const FOLD_64: [u64; 2] = fold_constants(64);
    /// Moves a block past the single block that follows it, to merge lanes and fold the last blocks.
    const FOLD_16: [u64; 2] = fold_constants(16);

    /// Whether this CPU can run the kernel; asked once, as the answer cannot change.
    pub(super) fn available() -> bool {
        static AVAILABLE: OnceLock<bool> = OnceLock::new();
        *AVAILABLE.get_or_init(|| is_x86_feature_detected!("pclmulqdq") && is_x86_feature_detected!("sse2"))
    }

    /// Same contract as [`super::crc64`], for any length.
    ///
    /// # Safety
    ///
    /// The CPU must support `pclmulqdq` and `sse2` (see [`available`]).
    #[target_feature(enable = "pclmulqdq,sse2")]
    pub(super) unsafe fn crc64(crc: u64, data: &[u8]) -> u64 {
        let (lanes, rest) = data.as_chunks::<64>();
        let (blocks, tail) = rest.as_chunks::<16>();
        // Xoring the running CRC into the first eight bytes is exactly how the table loop starts a
        // word; after that the message is checksummed from 0.
        let seed = _mm_cvtsi64_si128(crc as i64);
        let (mut acc, blocks) = match (lanes.split_first(), blocks.split_first()) {
            (Some((first, lanes)), _) => {
                let mut acc = [seed, _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128()];
                xor_lane(&mut acc, first);
                let k = constant(FOLD_64);
                for lane in lanes {
                    for x in &mut acc {
                        *x = fold(*x, k);
                    }
                    xor_lane(&mut acc, lane);
                }
                let k = constant(FOLD_16);
                let mut merged = acc[0];
                for &next in &acc[1..] {
                    merged = _mm_xor_si128(fold(merged, k), next);
                }
                (merged, blocks)
            }
            (None, Some((first, blocks))) => (_mm_xor_si128(seed, load(first)), blocks),
            (None, None) => return crc64_table(crc, data),
        };
        let k = constant(FOLD_16);
        for block in blocks {
            acc = _mm_xor_si128(fold(acc, k), load(block));
        }
        let mut folded = [0u8; 16];
        // SAFETY: `folded` is 16 writable bytes and the unaligned store has no alignment requirement.
        unsafe { _mm_storeu_si128(folded.as_mut_ptr().cast(), acc) };
        crc64_table(crc64_table(0, &folded), tail)
    }

    #[target_feature(enable = "sse2")]
    fn constant([a, b]: [u64; 2]) -> __m128i {
        _mm_set_epi64x(b as i64, a as i64)
    }

    #[target_feature(enable = "sse2")]
    fn load(block: &[u8; 16]) -> __m128i {
        // SAFETY: `block` is 16 readable bytes and the unaligned load has no alignment requirement.
        unsafe { _mm_loadu_si128(block.as_ptr().cast()) }
    }

    #[target_feature(enable = "sse2")]
    fn xor_lane(acc: &mut [__m128i; 4], lane: &[u8; 64]) {
        for (x, block) in acc.iter_mut().zip(lane.as_chunks::<16>().0) {
            *x = _mm_xor_si128(*x, load(block));
        }
    }

    /// `x` moved along by the distance `k` was built for (see [`fold_constants`]).
    #[target_feature(enable = "pclmulqdq,sse2")]
    fn fold(x: __m128i, k: __m128i) -> __m128i {
        _mm_xor_si128(_mm_clmulepi64_si128::<0x00>(x, k), _mm_clmulepi64_si128::<0x11>(x, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::XorShift;

    /// The bit-at-a-time definition, against which every faster path is checked.
    fn crc64_bitwise(mut crc: u64, data: &[u8]) -> u64 {
        for &b in data {
            crc ^= u64::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            }
        }
        crc
    }

    #[test]
    fn check_value() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(0, b""), 0);
    }

    #[test]
    fn redis_self_test_value() {
        // Redis's crc64 self-test text, checksummed with its C string terminator (`sizeof`).
        let text: &[u8] = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor \
incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris \
nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum \
dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia \
deserunt mollit anim id est laborum.\0";
        assert_eq!(crc64(0, text), 0xc779_4709_e696_83b3);
    }

    #[test]
    fn incremental_and_every_length_match_bitwise() {
        let data: Vec<u8> = (0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for len in 0..data.len() {
            let whole = crc64(0, &data[..len]);
            assert_eq!(whole, crc64_bitwise(0, &data[..len]), "len {len}");
            let split = len / 3;
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..len]), whole, "len {len}");
        }
    }

    #[test]
    fn matches_a_real_dump_footer() {
        // `DUMP` of the string "12" from Redis 7.0.15: type 0, `C0 0C`, version 10, then the CRC (LE) of
        // the six bytes before it.
        let dump = [0x00, 0xc0, 0x0c, 0x0a, 0x00, 0x3c, 0x2a, 0xf8, 0x51, 0x5c, 0x04, 0xbc, 0xd5];
        let (body, footer) = dump.split_at(5);
        let mut want = [0u8; 8];
        want.copy_from_slice(footer);
        assert_eq!(crc64(0, body), u64::from_le_bytes(want));
    }

    fn random_bytes(rng: &mut XorShift, len: usize) -> Vec<u8> {
        (0..len).map(|_| rng.next() as u8).collect()
    }

    type Crc64 = fn(u64, &[u8]) -> u64;

    /// Every implementation this CPU can run, each called directly so that a short input cannot slip
    /// back to the tables.
    fn implementations() -> Vec<(&'static str, Crc64)> {
        let mut all: Vec<(&'static str, Crc64)> = vec![("dispatch", crc64), ("table", crc64_table)];
        #[cfg(target_arch = "x86_64")]
        if clmul::available() {
            // SAFETY: only reached once `available` confirmed the kernel's features.
            all.push(("clmul", |crc, data| unsafe { clmul::crc64(crc, data) }));
        }
        all
    }

    #[test]
    fn every_path_matches_bitwise_on_random_lengths_and_seeds() {
        let mut rng = XorShift(0xD1B5_4A32_D192_ED03);
        for i in 0..3_000 {
            // Dense over the short lengths where lanes, blocks and tail change shape, sparse above.
            let len = if i < 600 { i } else { rng.below(5_000) };
            let data = random_bytes(&mut rng, len);
            let seed = if i % 7 == 0 { 0 } else { rng.next() };
            let want = crc64_bitwise(seed, &data);
            for (name, f) in implementations() {
                assert_eq!(f(seed, &data), want, "{name}: len {len}, seed {seed:#x}");
            }
        }
    }

    #[test]
    fn every_path_matches_bitwise_on_megabyte_buffers() {
        let mut rng = XorShift(0x94D0_49BB_1331_11EB);
        for extra in [0, 1, 15, 16, 63, 64 + 17] {
            let data = random_bytes(&mut rng, (1 << 20) + extra);
            let seed = rng.next();
            let want = crc64_bitwise(seed, &data);
            for (name, f) in implementations() {
                assert_eq!(f(seed, &data), want, "{name}: len {}", data.len());
            }
        }
    }

    #[test]
    fn random_split_points_compose() {
        let mut rng = XorShift(0xBF58_476D_1CE4_E5B9);
        for _ in 0..200 {
            let len = rng.below(20_000);
            let data = random_bytes(&mut rng, len);
            let want = crc64_bitwise(0, &data);
            for (name, f) in implementations() {
                let (mut crc, mut at) = (0, 0);
                while at < data.len() {
                    // Mostly short pieces, so that both sides of the kernel threshold meet.
                    let piece = if rng.below(4) == 0 { rng.below(3_000) } else { rng.below(200) };
                    let end = (at + piece).min(data.len());
                    crc = f(crc, &data[at..end]);
                    at = end;
                }
                assert_eq!(crc, want, "{name}: len {}", data.len());
            }
        }
    }

    #[test]
    fn fold_constants_move_a_block_along() {
        // Checked on every architecture with a software carry-less multiply: a block followed by
        // `bytes` zero bytes must checksum like the 128-bit product the constants give.
        fn clmul(a: u64, b: u64) -> u128 {
            (0..64).filter(|i| b >> i & 1 == 1).fold(0, |r, i| r ^ (u128::from(a) << i))
        }
        assert_eq!(x_pow_mod(64), POLY_REFLECTED, "x^64 reduces to the low terms of P");
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        for bytes in [16, 64] {
            let [ka, kb] = fold_constants(bytes);
            for _ in 0..100 {
                let (a, b) = (rng.next(), rng.next());
                let mut moved = [a.to_le_bytes(), b.to_le_bytes()].concat();
                moved.resize(16 + bytes as usize, 0);
                let folded = clmul(a, ka) ^ clmul(b, kb);
                assert_eq!(crc64_bitwise(0, &folded.to_le_bytes()), crc64_bitwise(0, &moved), "{bytes}");
            }
        }
    }
}
