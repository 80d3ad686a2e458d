//! `DEBUG DIGEST` and `DEBUG DIGEST-VALUE`, computed exactly as Redis 7.0.15's
//! `debug.c` does, so digests taken on ferrodis and on a real Redis holding
//! the same data are equal (the test suite and replication checks compare
//! them).
//!
//! This module owns the digest algorithm and a private SHA-1. It must never
//! depend on ferrodis's value types (callers feed it bytes), never look at
//! clocks or expiry logic (the caller says whether a key has an expire, and
//! Redis digests logically expired keys too), and never panic.
//!
//! The algorithm, in terms of the two primitives:
//! - `xor(d, data)`: `d ^= SHA1(data)`, order-insensitive accumulation.
//! - `mix(d, data)`: `d = SHA1(d ^ SHA1(data))`, order-sensitive chaining.
//!
//! A value's digest starts at zero, mixes its type code as a 4-byte
//! big-endian integer, then its contents: a string mixes its bytes; a list
//! mixes each element head to tail; a set xors each member in; a sorted set
//! xors in, per member, a zeroed sub-digest mixed with the member and then
//! its score as `%.17g`; a hash does the same with field and value; a stream
//! mixes each entry's `ms.seq` id and then each field and value. A key with
//! an expire then gets `xor(d, "!!expire!!")`. `DEBUG DIGEST-VALUE` replies
//! with that digest (all zeros for a missing key). For `DEBUG DIGEST`, each
//! key's digest instead starts by mixing the key name; the dataset digest
//! starts at zero, mixes in each non-empty database's index (4-byte
//! big-endian) in ascending order, and xors in every key's digest; an empty
//! dataset gives all zeros.

use std::fmt::Write as _;

/// The 40-character digest `DEBUG DIGEST` returns for an empty dataset, and
/// `DEBUG DIGEST-VALUE` for a missing key.
pub const EMPTY_DIGEST_HEX: &str = "0000000000000000000000000000000000000000";

/// Redis's `xorDigest`: `digest ^= SHA1(data)`.
pub fn xor_digest(digest: &mut [u8; 20], data: &[u8]) {
    let hash = sha1(data);
    for (d, h) in digest.iter_mut().zip(hash) {
        *d ^= h;
    }
}

/// Redis's `mixDigest`: `digest = SHA1(digest ^ SHA1(data))`.
pub fn mix_digest(digest: &mut [u8; 20], data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// Lowercase hex, as Redis prints digests.
pub fn to_hex(digest: &[u8; 20]) -> String {
    let mut out = String::with_capacity(40);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The type of a value, with Redis's `OBJ_*` codes (they are part of the
/// digest input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    String,
    List,
    Set,
    ZSet,
    Hash,
    Stream,
}

impl ValueType {
    fn code(self) -> u32 {
        match self {
            ValueType::String => 0,
            ValueType::List => 1,
            ValueType::Set => 2,
            ValueType::ZSet => 3,
            ValueType::Hash => 4,
            ValueType::Stream => 6,
        }
    }
}

/// Incremental digest of one value (Redis's `xorObjectDigest`), for callers
/// whose storage cannot lend out element slices, and for streams.
///
/// Feed the contents with the method matching the type given at creation,
/// in the value's natural order (lists head to tail, streams by id; sets,
/// sorted sets and hashes in any order), then call [`ValueDigest::finish`].
#[derive(Clone, Debug)]
pub struct ValueDigest {
    digest: [u8; 20],
}

impl ValueDigest {
    /// Starts a value digest as `DEBUG DIGEST-VALUE` does.
    pub fn new(ty: ValueType) -> Self {
        let mut digest = [0; 20];
        mix_digest(&mut digest, &ty.code().to_be_bytes());
        ValueDigest { digest }
    }

    /// Starts the digest of one key of `DEBUG DIGEST`: the key name is
    /// mixed in before the value.
    pub fn with_key(key: &[u8], ty: ValueType) -> Self {
        let mut digest = [0; 20];
        mix_digest(&mut digest, key);
        mix_digest(&mut digest, &ty.code().to_be_bytes());
        ValueDigest { digest }
    }

    /// The whole value of a string (integer-encoded strings as their decimal
    /// text).
    pub fn string(&mut self, value: &[u8]) {
        mix_digest(&mut self.digest, value);
    }

    pub fn list_element(&mut self, element: &[u8]) {
        mix_digest(&mut self.digest, element);
    }

    pub fn set_member(&mut self, member: &[u8]) {
        xor_digest(&mut self.digest, member);
    }

    pub fn zset_member(&mut self, member: &[u8], score: f64) {
        let mut element = [0; 20];
        mix_digest(&mut element, member);
        let mut text = Vec::with_capacity(32);
        crate::numeric::format_double(&mut text, score);
        mix_digest(&mut element, &text);
        xor_digest(&mut self.digest, &element);
    }

    pub fn hash_field(&mut self, field: &[u8], value: &[u8]) {
        let mut element = [0; 20];
        mix_digest(&mut element, field);
        mix_digest(&mut element, value);
        xor_digest(&mut self.digest, &element);
    }

    /// Starts a stream entry; follow with its fields via
    /// [`ValueDigest::stream_field`].
    pub fn stream_entry(&mut self, ms: u64, seq: u64) {
        // Redis formats the id with a dot here, not the usual dash.
        let mut id = Vec::with_capacity(41);
        crate::numeric::format_u64(&mut id, ms);
        id.push(b'.');
        crate::numeric::format_u64(&mut id, seq);
        mix_digest(&mut self.digest, &id);
    }

    pub fn stream_field(&mut self, field: &[u8], value: &[u8]) {
        mix_digest(&mut self.digest, field);
        mix_digest(&mut self.digest, value);
    }

    /// Completes the digest; `has_expire` is whether the key has a TTL
    /// (expired-but-not-yet-deleted keys included).
    pub fn finish(mut self, has_expire: bool) -> [u8; 20] {
        if has_expire {
            xor_digest(&mut self.digest, b"!!expire!!");
        }
        self.digest
    }
}

/// A value whose contents can be lent out as byte slices.
pub enum DigestValue<'i, 'a> {
    Str(&'a [u8]),
    /// Elements head to tail.
    List(&'i mut dyn Iterator<Item = &'a [u8]>),
    Set(&'i mut dyn Iterator<Item = &'a [u8]>),
    ZSet(&'i mut dyn Iterator<Item = (&'a [u8], f64)>),
    Hash(&'i mut dyn Iterator<Item = (&'a [u8], &'a [u8])>),
}

impl DigestValue<'_, '_> {
    fn value_type(&self) -> ValueType {
        match self {
            DigestValue::Str(_) => ValueType::String,
            DigestValue::List(_) => ValueType::List,
            DigestValue::Set(_) => ValueType::Set,
            DigestValue::ZSet(_) => ValueType::ZSet,
            DigestValue::Hash(_) => ValueType::Hash,
        }
    }

    fn feed(self, digest: &mut ValueDigest) {
        match self {
            DigestValue::Str(v) => digest.string(v),
            DigestValue::List(it) => it.for_each(|e| digest.list_element(e)),
            DigestValue::Set(it) => it.for_each(|m| digest.set_member(m)),
            DigestValue::ZSet(it) => it.for_each(|(m, s)| digest.zset_member(m, s)),
            DigestValue::Hash(it) => it.for_each(|(f, v)| digest.hash_field(f, v)),
        }
    }
}

/// The `DEBUG DIGEST-VALUE` reply for one key: `None` for a missing key.
pub fn value_digest(value: Option<DigestValue<'_, '_>>, has_expire: bool) -> String {
    let Some(value) = value else {
        return EMPTY_DIGEST_HEX.to_owned();
    };
    let mut digest = ValueDigest::new(value.value_type());
    value.feed(&mut digest);
    to_hex(&digest.finish(has_expire))
}

/// Accumulates the `DEBUG DIGEST` of a whole dataset.
///
/// Call [`DatasetDigest::begin_db`] for each database in ascending index
/// order, then add every key of that database (in any order). Databases
/// with no keys leave no trace, as in Redis, so calling `begin_db` for them
/// is harmless.
#[derive(Clone, Debug, Default)]
pub struct DatasetDigest {
    digest: [u8; 20],
    /// A database whose index is mixed in only once it proves non-empty.
    pending_db: Option<u32>,
}

impl DatasetDigest {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn begin_db(&mut self, db: u32) {
        self.pending_db = Some(db);
    }

    pub fn add_key(&mut self, key: &[u8], value: DigestValue<'_, '_>, has_expire: bool) {
        let mut digest = ValueDigest::with_key(key, value.value_type());
        value.feed(&mut digest);
        self.add_key_digest(&digest.finish(has_expire));
    }

    /// Adds a key digest built with [`ValueDigest::with_key`] (the way to
    /// add streams, or values that cannot lend out slices).
    pub fn add_key_digest(&mut self, key_digest: &[u8; 20]) {
        if let Some(db) = self.pending_db.take() {
            mix_digest(&mut self.digest, &db.to_be_bytes());
        }
        xor_digest(&mut self.digest, key_digest);
    }

    pub fn bytes(&self) -> [u8; 20] {
        self.digest
    }

    /// The `DEBUG DIGEST` reply text.
    pub fn hex(&self) -> String {
        to_hex(&self.digest)
    }
}

// ---------------------------------------------------------------------------
// SHA-1 (FIPS 180-4). Not used for security: only to reproduce Redis's
// digests, which are defined in terms of it.
// ---------------------------------------------------------------------------

/// SHA-1 of `data` as 40 lowercase hex digits (script ids, redis.sha1hex).
pub fn sha1_hex(data: &[u8]) -> String {
    to_hex(&sha1(data))
}

fn sha1(data: &[u8]) -> [u8; 20] {
    let mut state: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
    let mut blocks = data.chunks_exact(64);
    for block in &mut blocks {
        sha1_block(&mut state, block);
    }
    // Padding: 0x80, zeros, then the bit length, spanning one or two blocks.
    let rest = blocks.remainder();
    let mut tail = [0u8; 128];
    tail[..rest.len()].copy_from_slice(rest);
    tail[rest.len()] = 0x80;
    let tail_len = if rest.len() < 56 { 64 } else { 128 };
    let bit_len = (data.len() as u64).wrapping_mul(8);
    tail[tail_len - 8..tail_len].copy_from_slice(&bit_len.to_be_bytes());
    for block in tail[..tail_len].chunks_exact(64) {
        sha1_block(&mut state, block);
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn sha1_block(state: &mut [u32; 5], block: &[u8]) {
    let mut w = [0u32; 80];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    for i in 16..80 {
        w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    for (i, &wi) in w.iter().enumerate() {
        let (f, k) = match i {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let t = a.rotate_left(5).wrapping_add(f).wrapping_add(e).wrapping_add(k).wrapping_add(wi);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            sha1_hex(b"The quick brown fox jumps over the lazy dog"),
            "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"
        );
        assert_eq!(sha1_hex(&[b'a'; 1_000_000]), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
        // Lengths around the padding boundaries.
        assert_eq!(sha1_hex(&[b'a'; 55]), "c1c8bbdc22796e28c0e15163d20899b65621d65a");
        assert_eq!(sha1_hex(&[b'a'; 56]), "c2db330f6083854c99d4b5bfb6e8f29f201be699");
        assert_eq!(sha1_hex(&[b'a'; 64]), "0098ba824b5c16427bd7a1122a5a442a25ec644d");
    }

    /// Replies of a real redis-server 7.0.15 for this dataset:
    ///
    /// ```text
    /// SET k1 hello; SET k2 12345; SET k3 v EX 100000
    /// RPUSH l a b 123; HSET h f1 v1 f2 2; SADD s x y 5
    /// ZADD z 1.5 m1 2 m2 0.1 m3 inf m4 -0 m5   (m5's score reads back as 0)
    /// XADD st 1-1 f v a b; XADD st 2-0 c d
    /// HSET hx f v; PEXPIRE hx 100000000
    /// SELECT 3; SET k1 hello
    /// ```
    const K1: &str = "36b23a1456b2dce2c3ed252c456761301dba8060";
    const K2: &str = "e1cf90774e995ae03de66e8109dc5cb9d9c2dc83";
    const K3: &str = "311b17018163335616e089f6b951c82c477335ac";
    const L: &str = "89c604f28d33238a0c4a93e676d3be6fbcda6c71";
    const H: &str = "fc076e867f7dbf566ea58172a151d82d78b8f845";
    const S: &str = "9ab0175c08c7ea91e0aa7ce3701a4de6bb59341a";
    const Z: &str = "eaed27e075323489d97e43961b313ba36030df40";
    const ST: &str = "49cf8c2f3c9d6bce367d5376c623a036e60c1e78";
    const HX: &str = "764290614375888283b5a431391762cb21ffb885";
    const ONLY_K1: &str = "c2c8918b9edc29a9135c01f94fe15a9c88cdcbbd";
    const DB0: &str = "f93a0e5cdae3308e71767299d6b2ff888f488c83";
    const DB0_DB3: &str = "2cb0d9ac82151b53511a8e0e6d1836e7d76d133a";
    const ONLY_DB3: &str = "ea7a1019e910e6ce4a5d363a2487ea9a2d335852";

    const LIST: [&[u8]; 3] = [b"a", b"b", b"123"];
    const HASH: [(&[u8], &[u8]); 2] = [(b"f1", b"v1"), (b"f2", b"2")];
    const SET: [&[u8]; 3] = [b"x", b"y", b"5"];
    const ZSET: [(&[u8], f64); 5] = [(b"m1", 1.5), (b"m2", 2.0), (b"m3", 0.1), (b"m4", f64::INFINITY), (b"m5", 0.0)];

    fn stream_digest(mut d: ValueDigest) -> [u8; 20] {
        d.stream_entry(1, 1);
        d.stream_field(b"f", b"v");
        d.stream_field(b"a", b"b");
        d.stream_entry(2, 0);
        d.stream_field(b"c", b"d");
        d.finish(false)
    }

    #[test]
    fn digest_value_matches_redis() {
        assert_eq!(value_digest(Some(DigestValue::Str(b"hello")), false), K1);
        assert_eq!(value_digest(Some(DigestValue::Str(b"12345")), false), K2);
        assert_eq!(value_digest(Some(DigestValue::Str(b"v")), true), K3);
        let mut it = LIST.into_iter();
        assert_eq!(value_digest(Some(DigestValue::List(&mut it)), false), L);
        let mut it = HASH.into_iter();
        assert_eq!(value_digest(Some(DigestValue::Hash(&mut it)), false), H);
        // Unordered types: any iteration order gives the same digest.
        let mut it = SET.into_iter().rev();
        assert_eq!(value_digest(Some(DigestValue::Set(&mut it)), false), S);
        let mut it = ZSET.into_iter().rev();
        assert_eq!(value_digest(Some(DigestValue::ZSet(&mut it)), false), Z);
        assert_eq!(to_hex(&stream_digest(ValueDigest::new(ValueType::Stream))), ST);
        let mut it = [(b"f".as_slice(), b"v".as_slice())].into_iter();
        assert_eq!(value_digest(Some(DigestValue::Hash(&mut it)), true), HX);
        assert_eq!(value_digest(None, false), EMPTY_DIGEST_HEX);
    }

    fn add_db0(d: &mut DatasetDigest) {
        d.begin_db(0);
        d.add_key(b"k1", DigestValue::Str(b"hello"), false);
        d.add_key(b"k2", DigestValue::Str(b"12345"), false);
        d.add_key(b"k3", DigestValue::Str(b"v"), true);
        d.add_key(b"l", DigestValue::List(&mut LIST.into_iter()), false);
        d.add_key(b"h", DigestValue::Hash(&mut HASH.into_iter()), false);
        d.add_key(b"s", DigestValue::Set(&mut SET.into_iter()), false);
        d.add_key(b"z", DigestValue::ZSet(&mut ZSET.into_iter()), false);
        d.add_key_digest(&stream_digest(ValueDigest::with_key(b"st", ValueType::Stream)));
        let mut hx = ValueDigest::with_key(b"hx", ValueType::Hash);
        hx.hash_field(b"f", b"v");
        d.add_key_digest(&hx.finish(true));
    }

    #[test]
    fn dataset_digest_matches_redis() {
        let mut d = DatasetDigest::new();
        assert_eq!(d.hex(), EMPTY_DIGEST_HEX);
        // Empty databases leave no trace.
        d.begin_db(0);
        d.begin_db(1);
        assert_eq!(d.hex(), EMPTY_DIGEST_HEX);

        let mut d = DatasetDigest::new();
        d.begin_db(0);
        d.add_key(b"k1", DigestValue::Str(b"hello"), false);
        assert_eq!(d.hex(), ONLY_K1);

        let mut d = DatasetDigest::new();
        add_db0(&mut d);
        assert_eq!(d.hex(), DB0);
        d.begin_db(1);
        d.begin_db(3);
        d.add_key(b"k1", DigestValue::Str(b"hello"), false);
        assert_eq!(d.hex(), DB0_DB3);

        let mut d = DatasetDigest::new();
        for db in 0..16 {
            d.begin_db(db);
            if db == 3 {
                d.add_key(b"k1", DigestValue::Str(b"hello"), false);
            }
        }
        assert_eq!(d.hex(), ONLY_DB3);
    }

    #[test]
    fn primitives() {
        let mut a = [0u8; 20];
        xor_digest(&mut a, b"abc");
        assert_eq!(to_hex(&a), "a9993e364706816aba3e25717850c26c9cd0d89d");
        xor_digest(&mut a, b"abc");
        assert_eq!(a, [0; 20]);
        let mut m = [0u8; 20];
        mix_digest(&mut m, b"abc");
        assert_eq!(m, sha1(&sha1(b"abc")));
        // Mixing is order-sensitive and boundary-sensitive.
        let (mut x, mut y) = ([0u8; 20], [0u8; 20]);
        mix_digest(&mut x, b"foo");
        mix_digest(&mut x, b"bar");
        mix_digest(&mut y, b"fo");
        mix_digest(&mut y, b"obar");
        assert_ne!(x, y);
    }
}
