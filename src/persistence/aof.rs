//! The AOF formats of Redis 7.0: the manifest of a multi-part AOF directory, file naming, and the
//! reader for the command part of an AOF file (RESP arrays, `#` annotations).
//!
//! This module only encodes and decodes bytes. It never opens files, runs commands or touches the
//! keyspace; the server's AOF subsystem does that with what this module returns.
//!
//! # Format
//! Manifest, one line per file, base first, then history, then incr files:
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.1.incr.aof seq 1 type h
//! file appendonly.aof.2.incr.aof seq 2 type i
//! ```
//! Commands: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument; a line starting with `#` is
//! an annotation (`#TS:<unix seconds>`) and is skipped.

/// Longest manifest line, newline included (MANIFEST_MAX_LINE).
const MANIFEST_MAX_LINE: usize = 1024;
/// fgets buffer of the command reader (AOF_ANNOTATION_LINE_MAX_LEN): lines are read in pieces of at
/// most this many bytes minus one.
const LINE_BUF: usize = 1024;

pub const BASE_SUFFIX: &str = ".base";
pub const INCR_SUFFIX: &str = ".incr";
pub const RDB_SUFFIX: &str = ".rdb";
pub const AOF_SUFFIX: &str = ".aof";
pub const MANIFEST_SUFFIX: &str = ".manifest";
pub const TEMP_PREFIX: &str = "temp-";

/// The role of a file listed in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The snapshot the incr files apply on top of (`b`).
    Base,
    /// Replaced by a rewrite, waiting to be deleted (`h`).
    History,
    /// Commands appended after the base (`i`).
    Incr,
}

impl FileKind {
    fn letter(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }
}

/// One manifest line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: i64,
    pub kind: FileKind,
}

/// The manifest of an AOF directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    /// Newest first, as Redis lists them.
    pub history: Vec<AofFile>,
    pub incr: Vec<AofFile>,
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Why a manifest was refused, with the offending line when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub line: Option<(usize, String)>,
    pub reason: &'static str,
}

impl Manifest {
    /// Parse manifest text with Redis's rules: `#` lines skipped, at least six tokens in key/value
    /// pairs, unknown keys ignored, one base, strictly increasing incr sequence numbers.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let mut max_incr_seq = 0;
        let mut linenum = 0;
        let mut rest = text;
        if rest.is_empty() {
            return Err(ManifestError { line: None, reason: "Found an empty AOF manifest" });
        }
        while !rest.is_empty() {
            // fgets with a MANIFEST_MAX_LINE + 1 buffer: at most MANIFEST_MAX_LINE bytes per read.
            let take = match memchr::memchr(b'\n', rest) {
                Some(i) if i < MANIFEST_MAX_LINE => i + 1,
                _ => rest.len().min(MANIFEST_MAX_LINE),
            };
            let raw = &rest[..take];
            rest = &rest[take..];
            linenum += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            let line = crate::config::parse::trim_bytes(raw, b" \t\r\n");
            let shown = String::from_utf8_lossy(line).into_owned();
            let fail = |reason| Err(ManifestError { line: Some((linenum, shown.clone())), reason });
            if !raw.contains(&b'\n') {
                return fail("The AOF manifest file contains too long line");
            }
            if line.is_empty() {
                return fail("Invalid AOF manifest file format");
            }
            let Some(argv) = crate::config::parse::split_args(line) else {
                return fail("Invalid AOF manifest file format");
            };
            if argv.len() < 6 || !argv.len().is_multiple_of(2) {
                return fail("Invalid AOF manifest file format");
            }
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in argv.chunks(2) {
                let (key, value) = (&pair[0], &pair[1]);
                if key.eq_ignore_ascii_case(b"file") {
                    let n = String::from_utf8_lossy(value).into_owned();
                    if n.contains('/') {
                        return fail("File can't be a path, just a filename");
                    }
                    name = Some(n);
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(value);
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind = value.first().copied();
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return fail("Invalid AOF manifest file format");
            };
            if seq == 0 || name.is_empty() {
                return fail("Invalid AOF manifest file format");
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return fail("Found duplicate base file information");
                    }
                    m.base = Some(AofFile { name, seq, kind: FileKind::Base });
                    m.base_seq = seq;
                }
                b'h' => m.history.push(AofFile { name, seq, kind: FileKind::History }),
                b'i' => {
                    if seq <= max_incr_seq {
                        return fail("Found a non-monotonic sequence number");
                    }
                    m.incr.push(AofFile { name, seq, kind: FileKind::Incr });
                    m.incr_seq = seq;
                    max_incr_seq = seq;
                }
                _ => return fail("Unknown AOF file type"),
            }
        }
        if linenum == 0 {
            return Err(ManifestError { line: None, reason: "Found an empty AOF manifest" });
        }
        Ok(m)
    }

    /// The manifest as Redis writes it: base, history, incr; names quoted only when they need it.
    pub fn format(&self) -> String {
        let mut out = String::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incr) {
            let name = if needs_repr(f.name.as_bytes()) {
                format!("\"{}\"", crate::command::introspection::repr_bytes(f.name.as_bytes()))
            } else {
                f.name.clone()
            };
            out.push_str(&format!("file {} seq {} type {}\n", name, f.seq, f.kind.letter()));
        }
        out
    }

    /// A new base name (`<prefix>.<seq>.base.rdb|aof`); the previous base becomes history.
    pub fn new_base(&mut self, prefix: &str, rdb_preamble: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = FileKind::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let suffix = if rdb_preamble { RDB_SUFFIX } else { AOF_SUFFIX };
        let name = format!("{prefix}.{}{BASE_SUFFIX}{suffix}", self.base_seq);
        self.base = Some(AofFile { name: name.clone(), seq: self.base_seq, kind: FileKind::Base });
        name
    }

    /// A new incr file name (`<prefix>.<seq>.incr.aof`), appended to the incr list.
    pub fn new_incr(&mut self, prefix: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{prefix}.{}{INCR_SUFFIX}{AOF_SUFFIX}", self.incr_seq);
        self.incr.push(AofFile { name: name.clone(), seq: self.incr_seq, kind: FileKind::Incr });
        name
    }

    /// The incr file being appended to, created when there is none.
    pub fn last_incr_or_new(&mut self, prefix: &str) -> String {
        match self.incr.last() {
            Some(f) => f.name.clone(),
            None => self.new_incr(prefix),
        }
    }

    /// After a rewrite: every incr file but the one still being written (when `keep_last`) is
    /// covered by the new base and becomes history.
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        let keep = if keep_last { self.incr.pop() } else { None };
        for mut f in self.incr.drain(..).rev() {
            f.kind = FileKind::History;
            self.history.insert(0, f);
        }
        self.incr.extend(keep);
    }

    /// Base and incr files, in loading order.
    pub fn files_to_load(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(&self.incr)
    }
}

/// The manifest's file name for an AOF prefix.
pub fn manifest_name(prefix: &str) -> String {
    format!("{prefix}{MANIFEST_SUFFIX}")
}

/// The incr file written while AOF is being turned on (before its base exists).
pub fn temp_incr_name(prefix: &str) -> String {
    format!("{TEMP_PREFIX}{prefix}{INCR_SUFFIX}")
}

/// C's `atoll`: leading digits, 0 when there are none.
fn atoll(s: &[u8]) -> i64 {
    crate::config::parse::strtoll(s, 10).value
}

/// Redis's sdsneedsrepr: quoting is needed for spaces, quotes, backslashes and unprintable bytes.
fn needs_repr(s: &[u8]) -> bool {
    s.iter().any(|&b| matches!(b, b'\\' | b'"') || !(b.is_ascii_graphic()))
}

// --------------------------------------------------------------------------------- command reader

/// Why reading commands stopped before the end of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// The data ends inside a command: a torn tail.
    UnexpectedEof,
    /// Something that is not a command (Redis's "Bad file format").
    BadFormat,
}

/// Reads the commands of an AOF file one at a time, with the line rules of Redis's loader.
pub struct CommandReader<'a> {
    data: &'a [u8],
    pos: usize,
    /// Argument ranges of the last command read, into `data`.
    pub ranges: Vec<(usize, usize)>,
}

impl<'a> CommandReader<'a> {
    pub fn new(data: &'a [u8], start: usize) -> Self {
        CommandReader { data, pos: start, ranges: Vec::new() }
    }

    /// Offset just past the last command read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// fgets: up to the newline (kept) or LINE_BUF - 1 bytes; None at the end of the data.
    fn line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.data[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let max = LINE_BUF - 1;
        let take = match memchr::memchr(b'\n', &rest[..rest.len().min(max)]) {
            Some(i) => i + 1,
            None => rest.len().min(max),
        };
        self.pos += take;
        Some(&rest[..take])
    }

    /// The next command into `self.ranges`; Ok(false) at a clean end of the data.
    pub fn next_command(&mut self) -> Result<bool, ReadError> {
        self.ranges.clear();
        let header = loop {
            match self.line() {
                None => return Ok(false),
                Some(l) if l.first() == Some(&b'#') => continue,
                Some(l) => break l,
            }
        };
        if header.first() != Some(&b'*') {
            return Err(ReadError::BadFormat);
        }
        if header.len() == 1 {
            return Err(ReadError::UnexpectedEof);
        }
        let argc = atoi(&header[1..]);
        if argc < 1 {
            return Err(ReadError::BadFormat);
        }
        for _ in 0..argc {
            let Some(len_line) = self.line() else { return Err(ReadError::UnexpectedEof) };
            if len_line.first() != Some(&b'$') {
                return Err(ReadError::BadFormat);
            }
            let len = crate::config::parse::strtoll(until_line_end(&len_line[1..]), 10).value;
            let len = usize::try_from(len).map_err(|_| ReadError::BadFormat)?;
            let start = self.pos;
            if self.data.len() - start < len {
                self.pos = self.data.len();
                return Err(ReadError::UnexpectedEof);
            }
            self.pos += len;
            self.ranges.push((start, start + len));
            // The CRLF after the argument is skipped, not checked (as Redis does).
            if self.data.len() - self.pos < 2 {
                self.pos = self.data.len();
                return Err(ReadError::UnexpectedEof);
            }
            self.pos += 2;
        }
        Ok(true)
    }
}

/// C's `atoi` on a header line.
fn atoi(s: &[u8]) -> i64 {
    crate::config::parse::strtoll(until_line_end(s), 10).value.clamp(i32::MIN as i64, i32::MAX as i64)
}

fn until_line_end(s: &[u8]) -> &[u8] {
    let end = s.iter().position(|&b| b == b'\r' || b == b'\n').unwrap_or(s.len());
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(parts: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        crate::server::propagation::encode_command(&mut v, parts.len(), parts.iter().copied());
        v
    }

    fn read_all(data: &[u8]) -> (Vec<Vec<Vec<u8>>>, Result<(), ReadError>, usize) {
        let mut r = CommandReader::new(data, 0);
        let mut out = Vec::new();
        let mut valid = 0;
        loop {
            match r.next_command() {
                Ok(true) => {
                    out.push(r.ranges.iter().map(|&(s, e)| data[s..e].to_vec()).collect());
                    valid = r.position();
                }
                Ok(false) => return (out, Ok(()), valid),
                Err(e) => return (out, Err(e), valid),
            }
        }
    }

    #[test]
    fn reads_commands_and_skips_annotations() {
        let mut data = b"#TS:1700000000\r\n".to_vec();
        data.extend(cmd(&[b"set", b"k", b"v"]));
        data.extend(cmd(&[b"incr", b"n"]));
        let (cmds, res, valid) = read_all(&data);
        assert_eq!(res, Ok(()));
        assert_eq!(valid, data.len());
        assert_eq!(
            cmds,
            vec![vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()], vec![b"incr".to_vec(), b"n".to_vec()]]
        );
    }

    #[test]
    fn torn_tail_at_every_offset_is_eof_and_keeps_the_valid_prefix() {
        let first = cmd(&[b"set", b"foo", b"hello"]);
        let second = cmd(&[b"set", b"bar", b"world"]);
        let mut data = first.clone();
        data.extend(&second);
        for cut in first.len() + 1..data.len() {
            let (cmds, res, valid) = read_all(&data[..cut]);
            assert_eq!(res, Err(ReadError::UnexpectedEof), "cut at {cut}");
            assert_eq!(cmds.len(), 1);
            assert_eq!(valid, first.len());
        }
    }

    #[test]
    fn garbage_is_bad_format() {
        let mut data = cmd(&[b"set", b"foo", b"hello"]);
        data.extend_from_slice(b"!!!");
        assert_eq!(read_all(&data).1, Err(ReadError::BadFormat));
        assert_eq!(read_all(b"*0\r\n").1, Err(ReadError::BadFormat));
        assert_eq!(read_all(b"*1\r\n#x\r\n").1, Err(ReadError::BadFormat));
        assert_eq!(read_all(b"*1\r\n$-5\r\n").1, Err(ReadError::BadFormat));
    }

    #[test]
    fn manifest_round_trip_and_history() {
        let mut m = Manifest::default();
        let base = m.new_base("appendonly.aof", true);
        let incr = m.new_incr("appendonly.aof");
        assert_eq!(base, "appendonly.aof.1.base.rdb");
        assert_eq!(incr, "appendonly.aof.1.incr.aof");
        m.new_incr("appendonly.aof");
        m.new_base("appendonly.aof", true);
        m.mark_rewritten_incr_as_history(true);
        let text = m.format();
        assert_eq!(
            text,
            "file appendonly.aof.2.base.rdb seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type i\n"
        );
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
    }

    #[test]
    fn manifest_errors_match_redis() {
        let err = |t: &str| Manifest::parse(t.as_bytes()).unwrap_err().reason;
        assert_eq!(err(""), "Found an empty AOF manifest");
        assert_eq!(err("file a seq 1 type b\n\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 1\n"), "Invalid AOF manifest file format");
        assert_eq!(err("file a seq 1 type b\nfile b seq 2 type b\n"), "Found duplicate base file information");
        assert_eq!(err("file a seq 2 type i\nfile b seq 1 type i\n"), "Found a non-monotonic sequence number");
        assert_eq!(err("file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(err("file a/b seq 1 type b\n"), "File can't be a path, just a filename");
        assert_eq!(err("file a seq 1 type b"), "The AOF manifest file contains too long line");
        assert!(Manifest::parse(b"# comment\nfile a seq 1 type b extra 5\n").is_ok());
    }

    #[test]
    fn names_with_spaces_are_quoted() {
        let mut m = Manifest::default();
        m.new_base(" file seq \n\n.aof ", false);
        let text = m.format();
        assert!(text.starts_with("file \" file seq \\n\\n.aof .1.base.aof\" seq 1 type b\n"), "{text}");
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap().base.unwrap().name, " file seq \n\n.aof .1.base.aof");
    }
}
