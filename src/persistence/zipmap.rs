//! Reading the zipmap, the small-hash encoding of Redis before 2.6, found in RDB type 9.
//!
//! This module owns decoding and validating one zipmap blob into its (field, value) pairs. It never
//! writes zipmaps (Redis converts them on load), never checks fields for duplicates (the hash loader
//! does) and never panics on corrupt input: it applies Redis's deep integrity checks and rejects the
//! whole blob on any inconsistency.
//!
//! # Format
//!
//! ```text
//! <zmlen u8> ( <len> field <len> <free u8> value <free bytes> )* FF
//! zmlen: number of pairs, or 254 meaning "unknown, count by scanning"
//! len:   1 byte 0..=253, or FE followed by a u32 little-endian
//! free:  unused bytes after the value, left by in-place updates; skipped
//! ```
//!
//! Redis's comment calls the 4-byte length host-order, but its code stores it little-endian. A field
//! position starting with `FF` ends the map; elsewhere Redis reads a first byte of `FF` as the 5-byte
//! form, and so does this decoder.

/// The terminator.
const END: u8 = 0xFF;
/// First byte of a 5-byte length; also the header count meaning "unknown".
const BIG_LEN: u8 = 0xFE;

/// Validates `blob` completely and returns its pairs in order, or `None` if a length reaches past the
/// end, the terminator is missing, the map is empty (Redis rejects empty zipmaps), or the header count
/// (unless 254) disagrees with the pairs found.
pub fn decode(blob: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let (&header_count, _) = blob.split_first()?;
    // Everything, including the free bytes, must end before the terminator.
    let (&last, body) = blob.split_last()?;
    if last != END || body.is_empty() {
        return None;
    }
    let mut pairs = Vec::new();
    let mut pos = 1;
    while *blob.get(pos)? != END {
        let (field, after_field) = read_string(body, pos)?;
        let (value_len, len_size) = read_len(body, after_field)?;
        let free_pos = after_field + len_size;
        let free = usize::from(*body.get(free_pos)?);
        let value_start = free_pos + 1;
        let value = body.get(value_start..value_start.checked_add(value_len)?)?;
        pos = (value_start + value_len).checked_add(free)?;
        if pos > body.len() {
            return None;
        }
        pairs.push((field, value));
    }
    if pos != body.len() || pairs.is_empty() {
        return None;
    }
    if header_count != BIG_LEN && usize::from(header_count) != pairs.len() {
        return None;
    }
    Some(pairs)
}

/// Reads a length-prefixed string at `pos`; returns it and the position after it.
fn read_string(body: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let (len, len_size) = read_len(body, pos)?;
    let start = pos + len_size;
    let end = start.checked_add(len)?;
    Some((body.get(start..end)?, end))
}

/// Reads a zipmap length at `pos`; returns it and the bytes it took.
fn read_len(body: &[u8], pos: usize) -> Option<(usize, usize)> {
    let first = *body.get(pos)?;
    if first < BIG_LEN {
        return Some((usize::from(first), 1));
    }
    let bytes = body.get(pos + 1..pos + 5)?;
    let len = u32::from_le_bytes(bytes.try_into().ok()?);
    Some((usize::try_from(len).ok()?, 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_comment_example() {
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        assert_eq!(decode(zm), Some(vec![(&b"foo"[..], &b"bar"[..]), (&b"hello"[..], &b"world"[..])]));
    }

    #[test]
    fn redis_hash_zipmap_asset() {
        // The value of tests/assets/hash-zipmap.rdb: f1 => v1, f2 => v2.
        let zm = [0x02, 0x02, b'f', b'1', 0x02, 0x00, b'v', b'1', 0x02, b'f', b'2', 0x02, 0x00, b'v', b'2', 0xff];
        assert_eq!(decode(&zm), Some(vec![(&b"f1"[..], &b"v1"[..]), (&b"f2"[..], &b"v2"[..])]));
    }

    #[test]
    fn free_bytes_big_lengths_and_unknown_count() {
        let big = vec![b'v'; 300];
        let mut zm = vec![BIG_LEN, 0x01, b'a', 0x01, 0x02, b'x', 0xAA, 0xBB];
        zm.extend_from_slice(&[0x01, b'b', 0xFE]);
        zm.extend_from_slice(&300u32.to_le_bytes());
        zm.push(0x00);
        zm.extend_from_slice(&big);
        zm.push(END);
        assert_eq!(decode(&zm), Some(vec![(&b"a"[..], &b"x"[..]), (&b"b"[..], &big[..])]));
    }

    #[test]
    fn corruption_is_rejected() {
        let good = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff".to_vec();
        let mutate = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut zm = good.clone();
            f(&mut zm);
            decode(&zm).is_some()
        };
        assert!(!mutate(&|z| z[0] = 3), "count");
        assert!(!mutate(&|z| *z.last_mut().expect("nonempty") = 0), "terminator");
        assert!(!mutate(&|z| z[1] = 0x30), "field past the end");
        assert!(!mutate(&|z| z[5] = 0x30), "value past the end");
        assert!(!mutate(&|z| z[6] = 0x30), "free bytes past the end");
        assert!(!mutate(&|z| z[5] = 0xFE), "big length past the end");
        assert!(!mutate(&|z| z[10] = 0xFF), "terminator inside the pairs");
        assert_eq!(decode(b"\x00\xff"), None, "empty zipmaps are invalid");
        assert_eq!(decode(b"\xff"), None);
        assert_eq!(decode(b""), None);
    }

    #[test]
    fn byte_flips_never_panic() {
        let good = b"\xfe\x03foo\x03\x01bar!\x05hello\x05\x00world\xff".to_vec();
        assert!(decode(&good).is_some());
        for i in 0..good.len() {
            for v in [0x00, 0x01, 0x10, 0xfd, 0xfe, 0xff] {
                let mut t = good.clone();
                t[i] = v;
                let _ = decode(&t);
            }
            let _ = decode(&good[..i]);
        }
    }
}
