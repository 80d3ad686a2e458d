//! CRC-64/Jones as Redis computes it: the checksum in an RDB file's trailer and in every DUMP payload.
//!
//! This module owns the polynomial, the lookup tables and the update loop. It never decides where a
//! checksum starts or stops (the RDB and DUMP code feed it the right bytes) and never allocates.
//!
//! Parameters: polynomial `0xad93d23594c935a9` (reflected `0x95ac9329ac4bc9b5`), input and output
//! reflected, initial value 0, no final xor. Redis's own sources disagree in a banner comment about the
//! initial value; the callers seed 0 and the check value below only matches 0.
//!
//! RDB files can be many gigabytes and are checksummed while being written and read, so the update loop
//! consumes eight bytes per step with eight tables ("slice-by-8"), built at compile time.

/// The Jones polynomial, bit-reversed because the CRC is computed least significant bit first.
const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// `TABLES[0]` is the classic byte-at-a-time table; `TABLES[k][b]` is the CRC contribution of byte `b`
/// followed by `k` zero bytes, which lets eight input bytes be folded in with eight independent lookups.
static TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut tables = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
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

/// Extends the checksum `crc` with `data` and returns the new checksum.
///
/// Start from 0; feeding a buffer in pieces gives the same result as feeding it whole, so a file can be
/// checksummed chunk by chunk as it streams: `crc64(crc64(0, a), b) == crc64(0, a ++ b)`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit-at-a-time definition, against which the table-driven loop is checked.
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
}
