//! Text-level helpers shared by config loading, CONFIG SET and CONFIG REWRITE:
//! the `redis.conf` line tokenizer, the quoting used when writing values back,
//! Redis's number parsers (memory units, strict integers, C `strtoll`), and the
//! conversion of `redis-server` command-line options into config text.
//!
//! Everything here is a pure function of its input: no I/O (except reading the
//! current directory for absolute paths), no global state, and no panics for
//! any byte sequence. It must never know about individual directives.

use std::io;

/// C's `isspace()` in the "C" locale, which is what Redis runs with.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Trims any byte of `set` from both ends, like `sdstrim`.
pub(crate) fn trim_bytes<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = s {
        if !set.contains(first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !set.contains(last) {
            break;
        }
        s = rest;
    }
    s
}

/// Redis lines are C strings: anything after a NUL byte is invisible to it.
pub(crate) fn until_nul(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(end) => &s[..end],
        None => s,
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a config line into arguments exactly like Redis's `sdssplitargs`.
///
/// Double quotes understand `\n \r \t \b \a \xHH` and `\<any>`; single quotes
/// only `\'`. A closing quote must be followed by whitespace or the end of the
/// line. Returns `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = until_nul(line);
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let (mut in_double, mut in_single) = (false, false);
        loop {
            let c = at(p);
            if in_double {
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && let (Some(hi), Some(lo)) = (hex_value(at(p + 2)), hex_value(at(p + 3)))
                {
                    current.push(hi * 16 + lo);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    let next = at(p + 1);
                    if next != 0 && !is_c_space(next) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    let next = at(p + 1);
                    if next != 0 && !is_c_space(next) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            p += 1;
        }
        args.push(current);
    }
}

/// Appends `s` quoted and escaped the way `sdscatrepr` does, so that
/// [`split_args`] reads back the same bytes.
pub fn push_repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', b]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

/// Parses a memory amount like Redis's `memtoull`: digits followed by an
/// optional unit among b, k, kb, m, mb, g, gb (case-insensitive), where k/m/g
/// are powers of 1000 and kb/mb/gb powers of 1024.
///
/// Redis's quirks are kept on purpose: an empty digit string is 0 (so `""`
/// and `"kb"` parse), overflow saturates before the multiplication, and the
/// multiplication wraps.
pub fn memtoull(s: &[u8]) -> Option<u64> {
    let s = until_nul(s);
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let unit = s[digits..].to_ascii_lowercase();
    let mul: u64 = match unit.as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    // Redis copies the digits into a 128-byte buffer and gives up beyond it.
    if digits >= 128 {
        return None;
    }
    let value = s[..digits]
        .iter()
        .fold(0u64, |acc, &d| acc.checked_mul(10).and_then(|v| v.checked_add(u64::from(d - b'0'))).unwrap_or(u64::MAX));
    Some(value.wrapping_mul(mul))
}

/// Redis's strict `string2ll`: optional `-`, no leading zeros, no spaces, no
/// `+`, at most 20 characters, no overflow.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative { 0i64.checked_sub_unsigned(v) } else { i64::try_from(v).ok() }
}

/// What C's `strtoll(s, &end, radix)` reports, for the places where Redis
/// validates with `*end == '\0'` instead of `string2ll`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Strtoll {
    pub value: i64,
    /// `*end == '\0'` afterwards. With no digits at all `end` stays at the
    /// start, so only the empty string counts as fully consumed.
    pub consumed_all: bool,
    /// `errno == ERANGE`; `value` is then saturated like C does.
    pub overflow: bool,
}

pub(crate) fn strtoll(s: &[u8], radix: u32) -> Strtoll {
    let s = until_nul(s);
    let mut p = 0;
    while p < s.len() && is_c_space(s[p]) {
        p += 1;
    }
    let negative = match s.get(p) {
        Some(b'-') => {
            p += 1;
            true
        }
        Some(b'+') => {
            p += 1;
            false
        }
        _ => false,
    };
    let start = p;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(p).and_then(|&b| char::from(b).to_digit(radix)) {
        match magnitude.checked_mul(u64::from(radix)).and_then(|v| v.checked_add(u64::from(d))) {
            Some(v) => magnitude = v,
            None => overflow = true,
        }
        p += 1;
    }
    if p == start {
        return Strtoll { value: 0, consumed_all: s.is_empty(), overflow: false };
    }
    let value = if negative {
        match 0i64.checked_sub_unsigned(magnitude) {
            Some(v) if !overflow => v,
            _ => {
                overflow = true;
                i64::MIN
            }
        }
    } else {
        match i64::try_from(magnitude) {
            Ok(v) if !overflow => v,
            _ => {
                overflow = true;
                i64::MAX
            }
        }
    };
    Strtoll { value, consumed_all: p == s.len(), overflow }
}

/// Redis's `string2d`: a whole-string `strtod` that refuses leading spaces,
/// NaN, and results that overflowed or underflowed. Hexadecimal floats, which
/// glibc's `strtod` also takes, are not supported.
pub(crate) fn string2d(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    let unsigned = text.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if value.is_infinite() && unsigned != "inf" && unsigned != "infinity" {
        return None;
    }
    let mantissa = unsigned.split('e').next().unwrap_or("");
    if value == 0.0 && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return None;
    }
    Some(value)
}

/// `%f` followed by Redis's `trimDoubleString`.
pub(crate) fn format_trimmed_double(v: f64) -> String {
    let mut s = format!("{v:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// Redis's `yesnotoi`.
pub(crate) fn yes_no(s: &[u8]) -> Option<bool> {
    let s = until_nul(s);
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// The memory form CONFIG REWRITE writes: the largest of gb/mb/kb that
/// divides the value exactly, else plain bytes.
pub(crate) fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// The text of C's `strerror(errno)` for an I/O error, without Rust's
/// " (os error N)" suffix.
pub(crate) fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => {
            let suffix = format!(" (os error {code})");
            text.strip_suffix(suffix.as_str()).unwrap_or(&text).to_string()
        }
        None => text,
    }
}

/// Redis's `getAbsolutePath`: joins a relative path to the current directory,
/// folding only leading `../` components. `None` if the cwd is unreadable.
pub(crate) fn absolute_path(filename: &str) -> Option<String> {
    let mut rel = filename.trim_matches([' ', '\r', '\n', '\t']);
    if rel.starts_with('/') {
        return Some(rel.to_string());
    }
    let cwd = std::env::current_dir().ok()?;
    let mut abs = cwd.to_string_lossy().into_owned();
    if !abs.is_empty() && !abs.ends_with('/') {
        abs.push('/');
    }
    while let Some(rest) = rel.strip_prefix("../") {
        rel = rest;
        if abs.len() > 1 {
            // Drop the last directory, keeping its leading '/'.
            let without_slash = &abs[..abs.len() - 1];
            let cut = without_slash.rfind('/').map_or(0, |i| i + 1);
            abs.truncate(cut);
        }
    }
    abs.push_str(rel);
    Some(abs)
}

/// How `redis-server` was told where its configuration comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandLine {
    /// The first argument when it does not start with `-`.
    pub config_file: Option<String>,
    /// A lone `-` as the first or last argument: read config from stdin.
    pub from_stdin: bool,
    /// Every `--name value` option as config text, one directive per line.
    pub overrides: String,
}

impl CommandLine {
    /// Interprets `args` (argv without the program name) like `main()` in
    /// Redis 7.0.15's server.c. `--help`, `--version` and friends are the
    /// caller's business and must be handled before this.
    pub fn parse(args: &[String]) -> CommandLine {
        let mut out = CommandLine::default();
        let mut j = 0;
        if let Some(first) = args.first()
            && !first.starts_with('-')
        {
            out.config_file = Some(first.clone());
            j = 1;
        }
        let last = args.len().saturating_sub(1);
        let mut handled_last_config_arg = true;
        let mut options = Vec::new();
        while let Some(arg) = args.get(j) {
            let next_is_option = args.get(j + 1).is_some_and(|n| n.starts_with("--"));
            if arg == "-" && (j == 0 || j == last) {
                out.from_stdin = true;
            } else if handled_last_config_arg && arg.starts_with("--") {
                if !options.is_empty() {
                    options.push(b'\n');
                }
                options.extend_from_slice(&arg.as_bytes()[2..]);
                options.push(b' ');
                let words = split_args(arg.as_bytes()).map_or(0, |v| v.len());
                if words == 1 {
                    // A bare `--name`: its value is the next argument(s).
                    handled_last_config_arg = false;
                    let is_save = arg.eq_ignore_ascii_case("--save");
                    let is_sentinel = arg.eq_ignore_ascii_case("--sentinel");
                    if j != last && next_is_option && is_save {
                        // `--save --port 1` means an empty save list (pre-7.0 compatible).
                        options.extend_from_slice(b"\"\"");
                        handled_last_config_arg = true;
                    } else if j == last && is_save {
                        options.extend_from_slice(b"\"\"");
                    } else if j != last && next_is_option && is_sentinel {
                        handled_last_config_arg = true;
                    }
                } else {
                    handled_last_config_arg = true;
                }
            } else {
                push_repr(&mut options, arg.as_bytes());
                options.push(b' ');
                handled_last_config_arg = true;
            }
            j += 1;
        }
        // Only ASCII was pushed besides whole UTF-8 argument slices.
        out.overrides = String::from_utf8_lossy(&options).into_owned();
        out
    }
}

/// Redis's conversion of command-line options into config text:
/// `--port 7000 --requirepass x` becomes `"port \"7000\" \nrequirepass \"x\" "`.
/// `args` is argv without the program name; a leading config file path and a
/// stdin `-` are skipped.
pub fn overrides_to_text(args: &[String]) -> String {
    CommandLine::parse(args).overrides
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Option<Vec<String>> {
        split_args(s.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
    }

    #[test]
    fn tokenizer_plain_and_quoted() {
        assert_eq!(split("  set  a   b ").unwrap(), ["set", "a", "b"]);
        assert_eq!(split("a \"b c\" 'd e'").unwrap(), ["a", "b c", "d e"]);
        assert_eq!(split(r#""\n\r\t\\\"""#).unwrap(), ["\n\r\t\\\""]);
        assert_eq!(split_args(br#""\x41\xff\b\a\q""#).unwrap(), [b"A\xff\x08\x07q".to_vec()]);
        assert_eq!(split(r"'it\'s' '\n'").unwrap(), ["it's", "\\n"]);
        assert_eq!(split("\"\" ''").unwrap(), ["", ""]);
        assert_eq!(split("a\"b c\"").unwrap(), ["ab c"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
        assert_eq!(split(r#""\x4""#).unwrap(), ["x4"]);
    }

    #[test]
    fn tokenizer_unbalanced() {
        assert!(split("\"abc").is_none());
        assert!(split("'abc").is_none());
        assert!(split("\"a\"b").is_none());
        assert!(split("'a'b").is_none());
        assert!(split("\"a\\\"").is_none());
    }

    #[test]
    fn repr_round_trips() {
        let raw = b"a b\"\\\n\r\t\x07\x08\x00\xff~".to_vec();
        let mut out = Vec::new();
        push_repr(&mut out, &raw);
        assert_eq!(out, br#""a b\"\\\n\r\t\a\b\x00\xff~""#.to_vec());
        assert_eq!(split_args(&out).unwrap(), [raw]);
    }

    #[test]
    fn memory_units() {
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"2M"), Some(2_000_000));
        assert_eq!(memtoull(b"2mB"), Some(2 * 1024 * 1024));
        assert_eq!(memtoull(b"3g"), Some(3_000_000_000));
        assert_eq!(memtoull(b"3GB"), Some(3 * 1024 * 1024 * 1024));
        assert_eq!(memtoull(b"100b"), Some(100));
        assert_eq!(memtoull(b"100"), Some(100));
        assert_eq!(memtoull(b""), Some(0));
        assert_eq!(memtoull(b"kb"), Some(0));
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1x"), None);
        assert_eq!(memtoull(b" 1"), None);
        assert_eq!(memtoull(b"1.5mb"), None);
        assert_eq!(memtoull(b"99999999999999999999999"), Some(u64::MAX));
    }

    #[test]
    fn strict_integers() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-2"), Some(-2));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"01", b"+1", b" 1", b"1 ", b"-", b"-0", b"9223372036854775808", b"1a"] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn c_strtoll() {
        let r = strtoll(b" +12", 10);
        assert_eq!((r.value, r.consumed_all, r.overflow), (12, true, false));
        assert!(strtoll(b"", 10).consumed_all);
        assert!(!strtoll(b" ", 10).consumed_all);
        assert!(!strtoll(b"12x", 10).consumed_all);
        assert_eq!(strtoll(b"0777", 8).value, 0o777);
        assert!(!strtoll(b"999", 8).consumed_all);
        assert!(strtoll(b"99999999999999999999", 10).overflow);
        assert_eq!(strtoll(b"-99999999999999999999", 10).value, i64::MIN);
    }

    #[test]
    fn doubles() {
        assert_eq!(string2d(b"99.9"), Some(99.9));
        assert_eq!(string2d(b"1e2"), Some(100.0));
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b"1e999"), None);
        assert_eq!(string2d(b"1e-999"), None);
        assert_eq!(format_trimmed_double(99.9), "99.9");
        assert_eq!(format_trimmed_double(50.0), "50");
        assert_eq!(format_trimmed_double(0.0001), "0.0001");
    }

    #[test]
    fn memory_rewrite_form() {
        assert_eq!(format_memory(0), "0");
        assert_eq!(format_memory(1024), "1kb");
        assert_eq!(format_memory(64 * 1024 * 1024), "64mb");
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(1000), "1000");
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_line_conversion() {
        let cl = CommandLine::parse(&args(&["/etc/redis.conf", "--port", "7000", "--requirepass", "x y"]));
        assert_eq!(cl.config_file.as_deref(), Some("/etc/redis.conf"));
        assert!(!cl.from_stdin);
        assert_eq!(cl.overrides, "port \"7000\" \nrequirepass \"x y\" ");

        assert_eq!(overrides_to_text(&args(&["--save", "--port", "1"])), "save \"\"\nport \"1\" ");
        assert_eq!(overrides_to_text(&args(&["--save"])), "save \"\"");
        assert_eq!(overrides_to_text(&args(&["--port 7000", "--dir", "/tmp"])), "port 7000 \ndir \"/tmp\" ");
        assert_eq!(
            overrides_to_text(&args(&["--save", "900", "1", "300", "10"])),
            "save \"900\" \"1\" \"300\" \"10\" "
        );
        assert_eq!(overrides_to_text(&args(&["--sentinel", "--port", "1"])), "sentinel \nport \"1\" ");

        let cl = CommandLine::parse(&args(&["-", "--port", "1"]));
        assert!(cl.from_stdin && cl.config_file.is_none());
        let cl = CommandLine::parse(&args(&["a.conf", "--port", "1", "-"]));
        assert!(cl.from_stdin);
        assert_eq!(cl.overrides, "port \"1\" ");
    }

    #[test]
    fn absolute_paths() {
        let _cwd = crate::config::tests::cwd_lock();
        assert_eq!(absolute_path(" /a/b ").as_deref(), Some("/a/b"));
        let cwd = std::env::current_dir().unwrap();
        let expected = format!("{}/x.conf", cwd.to_string_lossy().trim_end_matches('/'));
        assert_eq!(absolute_path("x.conf"), Some(expected));
        let parent = cwd.parent().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let got = absolute_path("../y.conf").unwrap();
        assert_eq!(got, format!("{}/y.conf", parent.trim_end_matches('/')));
    }

    #[test]
    fn strerror_text() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory");
    }
}
