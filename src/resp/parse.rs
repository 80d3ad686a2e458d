//! Incremental request parser: RESP2 multibulk (`*N\r\n$L\r\n...`) and inline commands (telnet style).
//!
//! The parser never copies a multibulk argument: it records byte ranges into the client's query buffer.
//! Inline arguments may contain quote escapes, so they are unescaped into a side buffer. Partial input is
//! resumed where it stopped (the state survives between reads), so a large pipelined MSET arriving in
//! pieces is scanned once. It must never panic on any input: every length comes from the peer.
//!
//! # Format
//! ```text
//! *<count>\r\n ( $<len>\r\n <len bytes>\r\n ){count}
//! <arg> <arg> "quoted arg"\r\n          (inline; \n alone also ends the line)
//! ```

use memchr::memchr;

use crate::numeric::parse_i64;

/// Longest `*`/`$` header line or inline request without its terminator (Redis's PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX_SIZE: usize = 64 * 1024;
/// Before AUTH, a client may send at most this many arguments and bulk bytes.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;

/// Where the arguments of a parsed command live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSource {
    /// Ranges index the query buffer.
    Query,
    /// Ranges index the inline side buffer (unescaped inline arguments).
    Inline,
}

/// The result of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command is in `argv`; the query buffer is consumed up to `end`.
    Command { source: ArgSource, end: usize },
    /// Nothing to run (an empty inline line or `*0`), consumed up to `end`.
    Empty { end: usize },
    /// More bytes are needed.
    Incomplete,
    /// The client broke the protocol; the text follows `ERR Protocol error: `.
    Error(String),
}

/// Limits the parser enforces, taken from the config and the client's auth state.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    pub max_bulk_len: i64,
    pub authenticated: bool,
}

/// Parse state carried between reads for one client.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Argument ranges of the command being parsed (complete ones only).
    pub argv: Vec<(usize, usize)>,
    /// Unescaped inline arguments.
    pub inline_buf: Vec<u8>,
    /// Arguments still expected in the current multibulk (0 = not inside one).
    pending: usize,
    /// Where parsing resumes in the query buffer.
    cursor: usize,
    /// Length of the bulk whose header was already read, if any.
    bulk_len: Option<usize>,
}

impl RequestParser {
    /// Forget the current command (after it ran, or when the query buffer was compacted).
    pub fn reset(&mut self) {
        self.argv.clear();
        self.pending = 0;
        self.cursor = 0;
        self.bulk_len = None;
    }

    /// Shift recorded offsets after the first `n` bytes of the query buffer were dropped.
    pub fn shift(&mut self, n: usize) {
        if self.pending == 0 {
            // Between commands nothing refers into the buffer.
            self.reset();
            return;
        }
        // Mid-command, every recorded offset lies after the consumed prefix.
        self.cursor = self.cursor.saturating_sub(n);
        for r in &mut self.argv {
            r.0 = r.0.saturating_sub(n);
            r.1 = r.1.saturating_sub(n);
        }
    }

    /// Try to parse one command from `buf[start..]`.
    pub fn parse(&mut self, buf: &[u8], start: usize, limits: ParseLimits) -> Parsed {
        if self.pending == 0 {
            self.argv.clear();
            self.cursor = start;
            match buf.get(start) {
                None => return Parsed::Incomplete,
                Some(b'*') => {}
                Some(_) => return self.parse_inline(buf, start),
            }
            let Some(line_end) = find_cr(buf, start) else {
                if buf.len() - start > INLINE_MAX_SIZE {
                    return proto_err("too big mbulk count string");
                }
                return Parsed::Incomplete;
            };
            if line_end - start > INLINE_MAX_SIZE {
                return proto_err("too big mbulk count string");
            }
            // Redis requires the LF too before it reads the count.
            if line_end + 1 >= buf.len() {
                return Parsed::Incomplete;
            }
            let count = match parse_i64(&buf[start + 1..line_end]) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return proto_err("invalid multibulk length"),
            };
            if !limits.authenticated && count > UNAUTH_MAX_MULTIBULK {
                return proto_err("unauthenticated multibulk length");
            }
            let after = line_end + 2;
            if count <= 0 {
                return Parsed::Empty { end: after };
            }
            self.pending = count as usize;
            self.cursor = after;
            // Do not trust the count for the allocation: it is the peer's number.
            self.argv.reserve(self.pending.min(1024));
        }
        self.parse_bulks(buf, limits)
    }

    fn parse_bulks(&mut self, buf: &[u8], limits: ParseLimits) -> Parsed {
        while self.pending > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let pos = self.cursor;
                    let Some(line_end) = find_cr(buf, pos) else {
                        if buf.len() - pos > INLINE_MAX_SIZE {
                            return proto_err("too big bulk count string");
                        }
                        return Parsed::Incomplete;
                    };
                    if line_end - pos > INLINE_MAX_SIZE {
                        return proto_err("too big bulk count string");
                    }
                    if line_end + 1 >= buf.len() {
                        return Parsed::Incomplete;
                    }
                    if buf[pos] != b'$' {
                        return proto_err(&format!("expected '$', got '{}'", buf[pos] as char));
                    }
                    let len = match parse_i64(&buf[pos + 1..line_end]) {
                        Some(n) if n >= 0 && n <= limits.max_bulk_len => n,
                        _ => return proto_err("invalid bulk length"),
                    };
                    if !limits.authenticated && len > UNAUTH_MAX_BULK {
                        return proto_err("unauthenticated bulk length");
                    }
                    self.cursor = line_end + 2;
                    self.bulk_len = Some(len as usize);
                    len as usize
                }
            };
            // The payload and its CRLF must both be there; like Redis, the CRLF itself is not checked.
            if buf.len() - self.cursor < len + 2 {
                return Parsed::Incomplete;
            }
            self.argv.push((self.cursor, self.cursor + len));
            self.cursor += len + 2;
            self.bulk_len = None;
            self.pending -= 1;
        }
        Parsed::Command { source: ArgSource::Query, end: self.cursor }
    }

    fn parse_inline(&mut self, buf: &[u8], start: usize) -> Parsed {
        let Some(nl) = memchr(b'\n', &buf[start..]).map(|i| start + i) else {
            if buf.len() - start > INLINE_MAX_SIZE {
                return proto_err("too big inline request");
            }
            return Parsed::Incomplete;
        };
        let mut line = &buf[start..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.inline_buf.clear();
        self.argv.clear();
        // Inline requests are split exactly like config lines (Redis uses sdssplitargs for both).
        let Some(args) = crate::config::split_args(line) else {
            return proto_err("unbalanced quotes in request");
        };
        for a in args {
            self.argv.push((self.inline_buf.len(), self.inline_buf.len() + a.len()));
            self.inline_buf.extend_from_slice(&a);
        }
        if self.argv.is_empty() {
            return Parsed::Empty { end: nl + 1 };
        }
        Parsed::Command { source: ArgSource::Inline, end: nl + 1 }
    }
}

fn proto_err(msg: &str) -> Parsed {
    Parsed::Error(msg.to_string())
}

fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    memchr(b'\r', &buf[from..]).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ParseLimits = ParseLimits { max_bulk_len: 512 * 1024 * 1024, authenticated: true };

    fn args(p: &RequestParser, buf: &[u8], src: ArgSource) -> Vec<Vec<u8>> {
        let backing: &[u8] = if src == ArgSource::Query { buf } else { &p.inline_buf };
        p.argv.iter().map(|&(s, e)| backing[s..e].to_vec()).collect()
    }

    #[test]
    fn multibulk_whole_and_split() {
        let req = b"*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
        let mut p = RequestParser::default();
        let Parsed::Command { source, end } = p.parse(req, 0, LIMITS) else { panic!() };
        assert_eq!(end, req.len());
        assert_eq!(args(&p, req, source), vec![b"GET".to_vec(), b"key".to_vec()]);
        for cut in 0..req.len() {
            let mut p = RequestParser::default();
            assert_eq!(p.parse(&req[..cut], 0, LIMITS), Parsed::Incomplete, "cut {cut}");
            let Parsed::Command { end, .. } = p.parse(req, 0, LIMITS) else { panic!("cut {cut}") };
            assert_eq!(end, req.len());
            assert_eq!(args(&p, req, ArgSource::Query), vec![b"GET".to_vec(), b"key".to_vec()]);
        }
    }

    #[test]
    fn inline_with_quotes() {
        let req = b"set \"a b\" 'c\\'d' \"\\x41\\n\"\r\n";
        let mut p = RequestParser::default();
        let Parsed::Command { source, .. } = p.parse(req, 0, LIMITS) else { panic!() };
        assert_eq!(source, ArgSource::Inline);
        assert_eq!(args(&p, req, source), vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec(), b"A\n".to_vec()]);
        assert_eq!(p.parse(b"set \"a\r\n", 0, LIMITS), Parsed::Error("unbalanced quotes in request".into()));
        assert_eq!(p.parse(b"\r\n", 0, LIMITS), Parsed::Empty { end: 2 });
    }

    #[test]
    fn protocol_errors() {
        let mut p = RequestParser::default();
        assert_eq!(p.parse(b"*x\r\n", 0, LIMITS), Parsed::Error("invalid multibulk length".into()));
        let mut p = RequestParser::default();
        assert_eq!(p.parse(b"*1\r\n+x\r\n", 0, LIMITS), Parsed::Error("expected '$', got '+'".into()));
        let mut p = RequestParser::default();
        assert_eq!(p.parse(b"*1\r\n$-1\r\n", 0, LIMITS), Parsed::Error("invalid bulk length".into()));
        let mut p = RequestParser::default();
        let unauth = ParseLimits { authenticated: false, ..LIMITS };
        assert_eq!(p.parse(b"*11\r\n", 0, unauth), Parsed::Error("unauthenticated multibulk length".into()));
        let mut p = RequestParser::default();
        assert_eq!(p.parse(b"*1\r\n$16385\r\n", 0, unauth), Parsed::Error("unauthenticated bulk length".into()));
        let mut p = RequestParser::default();
        let big = vec![b'a'; INLINE_MAX_SIZE + 10];
        assert_eq!(p.parse(&big, 0, LIMITS), Parsed::Error("too big inline request".into()));
        assert_eq!(p.parse(b"*0\r\n", 0, LIMITS), Parsed::Empty { end: 4 });
    }

    /// Random bytes in random chunkings: always parse or error, ranges stay in bounds, never panic.
    #[test]
    fn random_input_never_panics() {
        let mut x = 0x2545F4914F6CDD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"*$\r\n0123456789-+ \"'\\xabcPING";
        for _ in 0..3000 {
            let len = (next() % 200) as usize;
            let input: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let chunk = 1 + (next() % 17) as usize;
            let mut p = RequestParser::default();
            let mut buf = Vec::new();
            let mut pos = 0;
            'feed: for piece in input.chunks(chunk) {
                buf.extend_from_slice(piece);
                loop {
                    match p.parse(&buf, pos, LIMITS) {
                        Parsed::Incomplete => break,
                        Parsed::Error(_) => break 'feed,
                        Parsed::Empty { end } => {
                            pos = end;
                            p.reset();
                        }
                        Parsed::Command { source, end } => {
                            let backing = if source == ArgSource::Query { &buf } else { &p.inline_buf };
                            assert!(p.argv.iter().all(|&(s, e)| s <= e && e <= backing.len()));
                            assert!(end <= buf.len());
                            pos = end;
                            p.reset();
                        }
                    }
                }
            }
        }
    }
}
