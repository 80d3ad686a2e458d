//! Reply encoding for RESP2 and RESP3 into a client's output buffer.
//!
//! Every reply a command produces goes through these builders, so the protocol version is decided in one
//! place: a RESP3 map is `%n`, the same reply in RESP2 is `*2n`; null is `_` or `$-1`. Builders append to
//! a plain `Vec<u8>` and never allocate beyond growing it.
//!
//! # Format
//! ```text
//! +simple\r\n  -ERR text\r\n  :123\r\n  $3\r\nabc\r\n  *2\r\n...  %1\r\n...  ~2\r\n...  ,1.5\r\n  _\r\n  #t\r\n
//! ```

use crate::numeric::{format_double, format_i64};

/// An output buffer together with the protocol version its client speaks.
#[derive(Debug, Default)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    /// 2 or 3.
    pub resp: u8,
}

impl ReplyBuf {
    pub fn new(resp: u8) -> Self {
        ReplyBuf { buf: Vec::new(), resp }
    }

    fn header(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        format_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    pub fn simple(&mut self, s: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `text` starts with its code (`ERR syntax error`, `WRONGTYPE ...`). Line breaks
    /// (which can come from echoed client arguments) become spaces, as in Redis: an error is one line.
    pub fn error(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        let start = self.buf.len();
        self.buf.extend_from_slice(text);
        for b in &mut self.buf[start..] {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, s: &[u8]) {
        self.header(b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An integer as a bulk string (a GET of an `int`-encoded value), without allocating.
    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = [0u8; 20];
        let digits = i64_to_stack(&mut tmp, n);
        self.bulk(digits);
    }

    /// A stored string value, whatever its encoding.
    pub fn bulk_value(&mut self, v: &crate::db::StrValue) {
        match v {
            crate::db::StrValue::Int(n) => self.bulk_i64(*n),
            crate::db::StrValue::Emb(b) => self.bulk(b),
            crate::db::StrValue::Raw(b) => self.bulk(b),
        }
    }

    /// A missing value: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// A missing array (EXEC aborted, BLPOP timeout): `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    pub fn map(&mut self, pairs: usize) {
        if self.resp >= 3 {
            self.header(b'%', pairs as i64);
        } else {
            self.header(b'*', 2 * pairs as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        let prefix = if self.resp >= 3 { b'~' } else { b'*' };
        self.header(prefix, n as i64);
    }

    pub fn push(&mut self, n: usize) {
        let prefix = if self.resp >= 3 { b'>' } else { b'*' };
        self.header(prefix, n as i64);
    }

    pub fn double(&mut self, v: f64) {
        if self.resp >= 3 {
            self.buf.push(b',');
            format_double(&mut self.buf, v);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            let mut tmp = Vec::with_capacity(24);
            format_double(&mut tmp, v);
            self.bulk(&tmp);
        }
    }

    pub fn bool(&mut self, b: bool) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Free-form text (INFO, CLIENT LIST): a verbatim string in RESP3, a bulk in RESP2.
    pub fn verbatim(&mut self, s: &[u8]) {
        if self.resp >= 3 {
            self.header(b'=', s.len() as i64 + 4);
            self.buf.extend_from_slice(b"txt:");
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    /// A listpack element as a bulk string, integers formatted without a detour through bytes.
    pub fn lp_value(&mut self, v: crate::db::listpack::LpValue<'_>) {
        match v {
            crate::db::listpack::LpValue::Str(s) => self.bulk(s),
            crate::db::listpack::LpValue::Int(n) => self.bulk_i64(n),
        }
    }

    /// Start an aggregate whose length is known only later; returns the handle for `end_deferred`.
    pub fn begin_deferred(&mut self) -> usize {
        self.buf.len()
    }

    /// Insert the header of an aggregate started with `begin_deferred`.
    pub fn end_deferred(&mut self, at: usize, kind: Aggregate, n: usize) {
        let mut header = Vec::with_capacity(16);
        let (prefix, count) = match kind {
            Aggregate::Array => (b'*', n),
            Aggregate::Map if self.resp >= 3 => (b'%', n),
            Aggregate::Map => (b'*', 2 * n),
            Aggregate::Set if self.resp >= 3 => (b'~', n),
            Aggregate::Set => (b'*', n),
        };
        header.push(prefix);
        format_i64(&mut header, count as i64);
        header.extend_from_slice(b"\r\n");
        self.buf.splice(at..at, header);
    }
}

/// Decimal text of `n` in a stack buffer (i64::MIN needs exactly 20 bytes).
fn i64_to_stack(buf: &mut [u8; 20], n: i64) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// The kinds of aggregate a deferred header can open.
#[derive(Debug, Clone, Copy)]
pub enum Aggregate {
    Array,
    Map,
    Set,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3() {
        let mut r = ReplyBuf::new(2);
        r.map(1);
        r.bulk(b"a");
        r.null();
        r.error(b"WRONGTYPE x");
        r.error(b"ERR syntax error");
        assert_eq!(r.buf, b"*2\r\n$1\r\na\r\n$-1\r\n-WRONGTYPE x\r\n-ERR syntax error\r\n");
        let mut r = ReplyBuf::new(3);
        r.map(1);
        r.bulk(b"a");
        r.null();
        r.double(1.5);
        assert_eq!(r.buf, b"%1\r\n$1\r\na\r\n_\r\n,1.5\r\n");
    }

    #[test]
    fn deferred() {
        let mut r = ReplyBuf::new(2);
        r.int(1);
        let at = r.begin_deferred();
        r.bulk(b"x");
        r.end_deferred(at, Aggregate::Array, 1);
        assert_eq!(r.buf, b":1\r\n*1\r\n$1\r\nx\r\n");
        let mut r = ReplyBuf::new(2);
        r.bulk_i64(i64::MIN);
        r.bulk_i64(0);
        assert_eq!(r.buf, b"$20\r\n-9223372036854775808\r\n$1\r\n0\r\n");
    }
}
