//! Reading the ziplist, the compact list encoding of Redis before 7.0, found in older RDB files: the
//! payload of RDB types 10 (list), 12 (sorted set), 13 (hash) and of each node of type 14 (quicklist v1).
//!
//! This module owns decoding and validating one ziplist blob into its entries. It never writes ziplists
//! (7.0 converts them to listpacks on load), never interprets entries as pairs or scores (the caller
//! knows the RDB type) and never panics on corrupt input: every field is checked as Redis's deep
//! integrity validation does, and anything inconsistent makes the whole blob invalid.
//!
//! # Format
//!
//! All header integers are little-endian.
//!
//! ```text
//! <zlbytes u32> <zltail u32> <zllen u16> <entry>* FF
//! zlbytes: total size of the blob; zltail: offset of the last entry's first byte (10 when empty);
//! zllen: entry count, or FFFF meaning "too many, count by scanning"
//!
//! entry = <prevlen> <encoding> <data>
//! prevlen: size of the previous entry (0 for the first): 1 byte if < 254, else FE + u32 LE
//! encoding:
//!   00LLLLLL                 string of L (0..63) bytes
//!   01LLLLLL LLLLLLLL        string, 14-bit length, big-endian
//!   10000000 <u32 BE>        string, 32-bit length (the low 6 bits of the first byte are ignored)
//!   C0 / D0 / E0             i16 / i32 / i64, little-endian
//!   F0                       i24, little-endian
//!   FE                       i8
//!   F1..FD                   immediate integer 0..12 (low nibble - 1), no data
//! ```

use crate::numeric::format_i64;

/// Header: zlbytes, zltail, zllen.
const HEADER_SIZE: usize = 10;
/// The terminator, which can never begin an entry (a prevlen is at most `FE`).
const END: u8 = 0xFF;
/// A prevlen first byte announcing the 4-byte form.
const BIG_PREVLEN: u8 = 0xFE;
/// Header count meaning "unknown".
const COUNT_UNKNOWN: u16 = u16::MAX;

/// One ziplist element, borrowed from the blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// Appends the element's string form (integers in decimal, as Redis returns them) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match *self {
            Entry::Int(v) => format_i64(out, v),
            Entry::Str(s) => out.extend_from_slice(s),
        }
    }

    /// The element's string form in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

/// Validates `blob` completely and returns its entries in order, or `None` if anything is inconsistent:
/// a size that disagrees with zlbytes, a missing terminator, an unknown encoding, an entry reaching past
/// the end, a prevlen that is not the previous entry's size, a zltail that is not the last entry, or a
/// count that disagrees with zllen (unless zllen is `FFFF`).
pub fn decode(blob: &[u8]) -> Option<Vec<Entry<'_>>> {
    if blob.len() < HEADER_SIZE + 1 {
        return None;
    }
    let last = blob.len() - 1;
    if usize::try_from(read_u32_le(blob, 0)?).ok()? != blob.len() || blob[last] != END {
        return None;
    }
    let tail = usize::try_from(read_u32_le(blob, 4)?).ok()?;
    if tail > last {
        return None;
    }
    let header_count = u16::from_le_bytes([blob[8], blob[9]]);

    // A sane capacity hint: the header count when known, but never more than the blob could hold
    // (each entry takes at least two bytes).
    let mut entries = Vec::with_capacity(usize::from(header_count).min(blob.len() / 2));
    let mut pos = HEADER_SIZE;
    let mut prev_start = None;
    let mut prev_size = 0usize;
    while *blob.get(pos)? != END {
        let (entry, size, prevlen) = decode_entry(&blob[..last], pos)?;
        if prevlen != prev_size {
            return None;
        }
        entries.push(entry);
        prev_start = Some(pos);
        prev_size = size;
        pos += size;
    }
    // The scan must stop exactly at the terminator, not at an FF byte inside the entries area.
    if pos != last {
        return None;
    }
    if prev_start.is_some_and(|start| start != tail) {
        return None;
    }
    if header_count != COUNT_UNKNOWN && entries.len() != usize::from(header_count) {
        return None;
    }
    Some(entries)
}

/// Decodes the entry starting at `pos` in `body` (the blob without its terminator). Returns the entry,
/// its total size in bytes and its prevlen field, or `None` if it does not fit in `body` or its encoding
/// is unknown.
fn decode_entry(body: &[u8], pos: usize) -> Option<(Entry<'_>, usize, usize)> {
    let first = *body.get(pos)?;
    let (prevlen, prevlen_size) = if first < BIG_PREVLEN {
        (usize::from(first), 1)
    } else {
        (usize::try_from(read_u32_le(body, pos + 1)?).ok()?, 5)
    };
    let enc_pos = pos + prevlen_size;
    let enc = *body.get(enc_pos)?;
    let (header_size, data_len, is_str) = match enc >> 6 {
        0 => (1, usize::from(enc & 0x3f), true),
        1 => (2, (usize::from(enc & 0x3f) << 8) | usize::from(*body.get(enc_pos + 1)?), true),
        2 => (5, usize::try_from(read_u32_be(body, enc_pos + 1)?).ok()?, true),
        _ => (1, int_size(enc)?, false),
    };
    let data_start = enc_pos + header_size;
    let data_end = data_start.checked_add(data_len)?;
    let data = body.get(data_start..data_end)?;
    let entry = if is_str { Entry::Str(data) } else { Entry::Int(decode_int(enc, data)?) };
    Some((entry, data_end - pos, prevlen))
}

/// Bytes of data after an integer encoding byte, or `None` for a byte that is no integer encoding.
fn int_size(enc: u8) -> Option<usize> {
    match enc {
        0xFE => Some(1),
        0xC0 => Some(2),
        0xF0 => Some(3),
        0xD0 => Some(4),
        0xE0 => Some(8),
        0xF1..=0xFD => Some(0),
        _ => None,
    }
}

/// The integer stored with encoding `enc` in `data` (whose length [`int_size`] fixed).
fn decode_int(enc: u8, data: &[u8]) -> Option<i64> {
    Some(match (enc, data) {
        (0xFE, &[b]) => i64::from(b as i8),
        (0xC0, &[a, b]) => i64::from(i16::from_le_bytes([a, b])),
        // Shift the three bytes into the top of an i32 and back down to sign-extend them.
        (0xF0, &[a, b, c]) => i64::from(i32::from_le_bytes([0, a, b, c]) >> 8),
        (0xD0, &[a, b, c, d]) => i64::from(i32::from_le_bytes([a, b, c, d])),
        (0xE0, _) => i64::from_le_bytes(data.try_into().ok()?),
        (0xF1..=0xFD, &[]) => i64::from(enc & 0x0f) - 1,
        _ => return None,
    })
}

fn read_u32_le(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn read_u32_be(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(buf.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ziplist the way Redis lays one out, for tests: entries as already-encoded
    /// `encoding + data` byte strings.
    fn build(encoded: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER_SIZE;
        for e in encoded {
            tail = HEADER_SIZE + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let total = HEADER_SIZE + body.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(encoded.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(END);
        zl
    }

    fn str_enc(s: &[u8]) -> Vec<u8> {
        let mut v = if s.len() < 64 {
            vec![s.len() as u8]
        } else if s.len() < 16384 {
            vec![0x40 | (s.len() >> 8) as u8, s.len() as u8]
        } else {
            let mut v = vec![0x80];
            v.extend_from_slice(&(s.len() as u32).to_be_bytes());
            v
        };
        v.extend_from_slice(s);
        v
    }

    #[test]
    fn empty_ziplist() {
        let zl = [0x0b, 0, 0, 0, 0x0a, 0, 0, 0, 0, 0, 0xff];
        assert_eq!(decode(&zl), Some(vec![]));
    }

    #[test]
    fn redis_list_ziplist_from_encodings_rdb() {
        // `list_zipped` from Redis's tests/assets/encodings.rdb (RDB type 10).
        let zl = [
            0x30, 0, 0, 0, 0x25, 0, 0, 0, 0x08, 0, 0x00, 0xc0, 0x01, 0x00, 0x04, 0xc0, 0x02, 0x00, 0x04, 0xc0, 0x03,
            0x00, 0x04, 0x01, 0x61, 0x03, 0x01, 0x62, 0x03, 0x01, 0x63, 0x03, 0xd0, 0xa0, 0x86, 0x01, 0x00, 0x06, 0xe0,
            0x00, 0xbc, 0xa0, 0x65, 0x01, 0x00, 0x00, 0x00, 0xff,
        ];
        let got = decode(&zl).expect("valid");
        assert_eq!(
            got,
            [
                Entry::Int(1),
                Entry::Int(2),
                Entry::Int(3),
                Entry::Str(b"a"),
                Entry::Str(b"b"),
                Entry::Str(b"c"),
                Entry::Int(100_000),
                Entry::Int(6_000_000_000),
            ]
        );
        assert_eq!(got[7].to_vec(), b"6000000000");
    }

    #[test]
    fn redis_zset_ziplist_asset() {
        // The value of tests/assets/zset-ziplist.rdb (type 12): "one" 1, "two" 2 (immediates F2, F3).
        let zl = [
            0x19, 0, 0, 0, 0x16, 0, 0, 0, 0x04, 0, 0x00, 0x03, b'o', b'n', b'e', 0x05, 0xf2, 0x02, 0x03, b't', b'w',
            b'o', 0x05, 0xf3, 0xff,
        ];
        assert_eq!(decode(&zl), Some(vec![Entry::Str(b"one"), Entry::Int(1), Entry::Str(b"two"), Entry::Int(2)]));
    }

    #[test]
    fn every_encoding_and_big_prevlen() {
        let long = vec![b'x'; 300];
        let huge = vec![b'y'; 20_000];
        let entries = [
            vec![0xFE, 0x80],                   // i8 -128
            vec![0xC0, 0x00, 0x80],             // i16 -32768
            vec![0xF0, 0xff, 0xff, 0x7f],       // i24 max
            vec![0xF0, 0x00, 0x00, 0x80],       // i24 min
            vec![0xD0, 0xff, 0xff, 0xff, 0xff], // i32 -1
            [vec![0xE0], i64::MIN.to_le_bytes().to_vec()].concat(),
            vec![0xF1],
            vec![0xFD],
            str_enc(b""),
            str_enc(&long), // 14-bit length; the next entry gets a 5-byte prevlen
            str_enc(&huge), // 32-bit length
            str_enc(b"end"),
        ];
        let zl = build(&entries);
        let got = decode(&zl).expect("valid");
        assert_eq!(
            got,
            [
                Entry::Int(-128),
                Entry::Int(-32768),
                Entry::Int(0x7f_ffff),
                Entry::Int(-0x80_0000),
                Entry::Int(-1),
                Entry::Int(i64::MIN),
                Entry::Int(0),
                Entry::Int(12),
                Entry::Str(b""),
                Entry::Str(&long),
                Entry::Str(&huge),
                Entry::Str(b"end"),
            ]
        );
    }

    #[test]
    fn unknown_count_is_accepted() {
        let mut zl = build(&[str_enc(b"a"), str_enc(b"b")]);
        zl[8] = 0xff;
        zl[9] = 0xff;
        assert_eq!(decode(&zl).map(|e| e.len()), Some(2));
    }

    #[test]
    fn corruption_is_rejected() {
        let good = build(&[str_enc(b"hello"), vec![0xF5], str_enc(b"world")]);
        assert!(decode(&good).is_some());

        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut zl = good.clone();
            f(&mut zl);
            decode(&zl).is_some()
        };
        assert!(!mutate(&|z| z[0] += 1), "zlbytes");
        assert!(!mutate(&|z| z[4] += 1), "zltail");
        assert!(!mutate(&|z| z[4] = 0xff), "zltail out of range");
        assert!(!mutate(&|z| z[8] = 2), "count");
        assert!(!mutate(&|z| *z.last_mut().expect("nonempty") = 0), "terminator");
        assert!(!mutate(&|z| z[10] = 1), "first prevlen must be 0");
        assert!(!mutate(&|z| z[17] = 6), "second prevlen");
        assert!(!mutate(&|z| z[18] = 0xF0), "i24 swallows the next entry");
        assert!(!mutate(&|z| z[18] = 0xC1), "unknown encoding");
        assert!(!mutate(&|z| z[11] = 0x3f), "string past the end");
        assert!(!mutate(&|z| z[11] = 0x80), "32-bit length past the end");
        assert!(!mutate(&|z| z[19] = 0xff), "terminator inside the entries");
        assert_eq!(decode(&good[..10]), None, "too short");
        assert_eq!(decode(&[]), None);
    }

    #[test]
    fn truncations_and_byte_flips_never_panic() {
        let zl = build(&[str_enc(&[b'q'; 70]), vec![0xE0, 1, 2, 3, 4, 5, 6, 7, 8], str_enc(b"z")]);
        for cut in 0..zl.len() {
            let mut t = zl[..cut].to_vec();
            // Keep the header consistent with the cut so the deep checks run.
            if t.len() >= 4 {
                t[..4].copy_from_slice(&(cut as u32).to_le_bytes());
            }
            let _ = decode(&t);
        }
        for i in 0..zl.len() {
            for v in [0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xfe, 0xff] {
                let mut t = zl.clone();
                t[i] = v;
                let _ = decode(&t);
            }
        }
    }
}
