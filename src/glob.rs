//! Redis glob-style pattern matching (`KEYS`, `SCAN ... MATCH`, `PSUBSCRIBE`,
//! `CONFIG GET`, ACL key patterns, ...), byte-for-byte compatible with
//! `stringmatchlen()` in Redis 7.0.15.
//!
//! This module owns only the matching rules. It must never allocate, never
//! recurse (a pattern is client-controlled and may be hundreds of megabytes
//! long, so stack depth must not depend on it), and never panic on any input.
//!
//! Compatibility notes, all verified against a real 7.0.15 server:
//! - A pattern only matches an empty string if the pattern itself is empty,
//!   so `*` does not match the empty key. Redis's callers special-case a lone
//!   `*` (KEYS and SCAN skip matching altogether); ours must do the same.
//! - Inside `[...]`, range bounds and the candidate byte compare as C `char`,
//!   which is signed on the x86-64 builds Redis ships: `[\x7f-\x80]` is the
//!   range -128..=127 and so matches every byte.
//! - An unterminated `[` behaves as if closed at the end of the pattern, and
//!   `[^` on its own matches any single byte.
//! - `nocase` folds ASCII letters only (Redis never sets `LC_CTYPE`), and an
//!   escaped byte inside brackets is always compared case-sensitively.

/// Redis's protection against abusive patterns: deeper star nesting never matches.
const MAX_NESTING: usize = 1000;

/// How one pass over the pattern ended. A pass corresponds to one invocation
/// of Redis's recursive matcher, minus the recursion at `*`.
enum Pass {
    Matched,
    Failed,
    /// Reached a `*` followed by more pattern: the rest of the pattern
    /// (starting at `rest`) has to be tried against every suffix of the
    /// string starting at `from`.
    Star {
        rest: usize,
        from: usize,
    },
}

/// Returns whether `string` matches the glob `pattern`, exactly as Redis's
/// `stringmatchlen(pattern, string, nocase)` does.
///
/// Runs in O(pattern.len() * string.len()) time in the worst case and
/// constant stack space.
pub fn string_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    // Redis recurses at every star, but once a later star has been reached
    // its `skipLongerMatches` flag guarantees no earlier star is ever
    // retried with a longer expansion: the call either succeeds or the whole
    // match fails. So only the innermost star needs remembering, which makes
    // a loop equivalent to the recursion.
    let mut backtrack: Option<(usize, usize)> = None;
    let mut pass = match_pass(pattern, 0, string, 0, nocase);
    // Redis gives up (no match) once its recursion is more than 1000 stars deep.
    let mut nesting = 0;
    loop {
        match pass {
            Pass::Matched => return true,
            Pass::Star { rest, from } => {
                nesting += 1;
                if nesting > MAX_NESTING {
                    return false;
                }
                backtrack = Some((rest, from));
                pass = match_pass(pattern, rest, string, from, nocase);
            }
            Pass::Failed => {
                let Some((rest, from)) = backtrack else {
                    return false;
                };
                let next = from + 1;
                // Redis never tries the empty suffix here: trailing stars are
                // handled inside the pass itself.
                if next >= string.len() {
                    return false;
                }
                backtrack = Some((rest, next));
                pass = match_pass(pattern, rest, string, next, nocase);
            }
        }
    }
}

/// Returns true when `pattern` contains none of the glob metacharacters, in
/// which case `string_match(pattern, s, false)` is exactly `pattern == s`
/// (and with `nocase`, ASCII-case-insensitive equality).
pub fn is_literal(pattern: &[u8]) -> bool {
    !pattern.iter().any(|&b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// One pass of the matcher from pattern index `p` and string index `s`.
fn match_pass(pat: &[u8], mut p: usize, string: &[u8], mut s: usize, nocase: bool) -> Pass {
    while p < pat.len() && s < string.len() {
        let c = string[s];
        match pat[p] {
            b'*' => {
                while pat.get(p + 1) == Some(&b'*') {
                    p += 1;
                }
                if p + 1 == pat.len() {
                    return Pass::Matched;
                }
                return Pass::Star { rest: p + 1, from: s };
            }
            b'?' => s += 1,
            b'[' => {
                let (end, matched) = match_class(pat, p + 1, c, nocase);
                if !matched {
                    return Pass::Failed;
                }
                p = end;
                s += 1;
            }
            b'\\' => {
                if pat.len() - p >= 2 {
                    p += 1;
                }
                if !bytes_eq(pat[p], c, nocase) {
                    return Pass::Failed;
                }
                s += 1;
            }
            lit => {
                if !bytes_eq(lit, c, nocase) {
                    return Pass::Failed;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while pat.get(p) == Some(&b'*') {
                p += 1;
            }
            break;
        }
    }
    if p == pat.len() && s == string.len() { Pass::Matched } else { Pass::Failed }
}

/// Matches byte `c` against the bracket class whose body starts at `p` (just
/// after the `[`). Returns the index of the class's last pattern byte (the
/// `]`, or the final byte of an unterminated class) and whether it matched.
fn match_class(pat: &[u8], mut p: usize, c: u8, nocase: bool) -> (usize, bool) {
    let negate = pat.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        let remaining = pat.len().saturating_sub(p);
        match pat.get(p) {
            None => {
                // Unterminated class: Redis steps back onto the last byte so
                // the caller's advance lands exactly at the end.
                p = p.saturating_sub(1);
                break;
            }
            Some(&b'\\') if remaining >= 2 => {
                p += 1;
                if pat[p] == c {
                    matched = true;
                }
            }
            Some(&b']') => break,
            Some(&lo) if remaining >= 3 && pat[p + 1] == b'-' => {
                let hi = pat[p + 2];
                // C `char` is signed on the platforms Redis is built for.
                let (mut start, mut end) = (i32::from(lo as i8), i32::from(hi as i8));
                let mut ch = i32::from(c as i8);
                if start > end {
                    std::mem::swap(&mut start, &mut end);
                }
                if nocase {
                    start = ascii_lower_i32(start);
                    end = ascii_lower_i32(end);
                    ch = ascii_lower_i32(ch);
                }
                p += 2;
                if (start..=end).contains(&ch) {
                    matched = true;
                }
            }
            Some(&lit) => {
                if bytes_eq(lit, c, nocase) {
                    matched = true;
                }
            }
        }
        p += 1;
    }
    (p, matched != negate)
}

fn bytes_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase { a.eq_ignore_ascii_case(&b) } else { a == b }
}

/// C-locale `tolower` on a (possibly negative) `char` value.
fn ascii_lower_i32(v: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&v) { v + 32 } else { v }
}

#[cfg(test)]
mod nesting_tests {
    #[test]
    fn more_than_a_thousand_star_groups_never_match() {
        let s = vec![b'a'; 5000];
        assert!(!super::string_match(&b"*?".repeat(2000), &s, false));
        assert!(super::string_match(&b"*?".repeat(900), &s, false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct transcription of Redis's recursive algorithm (including its
    /// reads of the NUL terminator past the logical end), used as an oracle
    /// for the iterative implementation on small inputs.
    fn reference(pat: &[u8], string: &[u8], nocase: bool) -> bool {
        fn at(b: &[u8], i: usize) -> u8 {
            b.get(i).copied().unwrap_or(0)
        }
        fn lower(v: i32) -> i32 {
            ascii_lower_i32(v)
        }
        fn imp(pat: &[u8], mut p: usize, st: &[u8], mut s: usize, nc: bool, skip: &mut bool) -> bool {
            let mut plen = pat.len() - p;
            let mut slen = st.len() - s;
            while plen > 0 && slen > 0 {
                match pat[p] {
                    b'*' => {
                        while plen > 0 && at(pat, p + 1) == b'*' {
                            p += 1;
                            plen -= 1;
                        }
                        if plen == 1 {
                            return true;
                        }
                        while slen > 0 {
                            if imp(pat, p + 1, st, s, nc, skip) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            s += 1;
                            slen -= 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => {
                        s += 1;
                        slen -= 1;
                    }
                    b'[' => {
                        p += 1;
                        plen -= 1;
                        let not = at(pat, p) == b'^';
                        if not {
                            p += 1;
                            plen -= 1;
                        }
                        let mut m = false;
                        loop {
                            if at(pat, p) == b'\\' && plen >= 2 {
                                p += 1;
                                plen -= 1;
                                if pat[p] == st[s] {
                                    m = true;
                                }
                            } else if at(pat, p) == b']' {
                                break;
                            } else if plen == 0 {
                                p -= 1;
                                plen += 1;
                                break;
                            } else if plen >= 3 && pat[p + 1] == b'-' {
                                let mut a = i32::from(pat[p] as i8);
                                let mut b = i32::from(pat[p + 2] as i8);
                                let mut c = i32::from(st[s] as i8);
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                if nc {
                                    a = lower(a);
                                    b = lower(b);
                                    c = lower(c);
                                }
                                p += 2;
                                plen -= 2;
                                if c >= a && c <= b {
                                    m = true;
                                }
                            } else if nc {
                                if pat[p].eq_ignore_ascii_case(&st[s]) {
                                    m = true;
                                }
                            } else if pat[p] == st[s] {
                                m = true;
                            }
                            p += 1;
                            plen -= 1;
                        }
                        if not {
                            m = !m;
                        }
                        if !m {
                            return false;
                        }
                        s += 1;
                        slen -= 1;
                    }
                    x => {
                        let mut x = x;
                        if x == b'\\' && plen >= 2 {
                            p += 1;
                            plen -= 1;
                            x = pat[p];
                        }
                        let eq = if nc { x.eq_ignore_ascii_case(&st[s]) } else { x == st[s] };
                        if !eq {
                            return false;
                        }
                        s += 1;
                        slen -= 1;
                    }
                }
                p += 1;
                plen -= 1;
                if slen == 0 {
                    while at(pat, p) == b'*' {
                        p += 1;
                        plen -= 1;
                    }
                    break;
                }
            }
            plen == 0 && slen == 0
        }
        let mut skip = false;
        imp(pat, 0, string, 0, nocase, &mut skip)
    }

    fn m(p: &str, s: &str) -> bool {
        let r = string_match(p.as_bytes(), s.as_bytes(), false);
        assert_eq!(r, reference(p.as_bytes(), s.as_bytes(), false), "{p:?} {s:?}");
        r
    }

    #[test]
    fn basics() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(!m("*", ""));
        assert!(!m("**", ""));
        assert!(m("*", "anything"));
        assert!(m("h?llo", "hello"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed range is swapped");
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*a*", "bab"));
        assert!(!m("*a*b", "bab_"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYYcd"));
        assert!(m("*.txt", "a.b.txt"));
    }

    #[test]
    fn escapes_and_brackets() {
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(m("a\\", "a\\"), "trailing backslash is literal");
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-z]", "-"));
        assert!(!m("[\\-z]", "m"));
        // "a-]" is read as the range ']'..='a' and leaves the class open.
        assert!(m("[a-]", "_"));
        assert!(!m("[a-]", "b"));
        assert!(!m("[a-]", "-"));
    }

    #[test]
    fn unterminated_class() {
        assert!(!m("[", "a"));
        assert!(m("[^", "x"));
        assert!(m("[a", "a"));
        assert!(!m("[a", "b"));
        assert!(m("[ab", "b"));
        assert!(m("x[^", "xy"));
        assert!(!m("a[", "a"));
    }

    #[test]
    fn signed_char_ranges() {
        // Verified against redis-server 7.0.15 on x86-64 with KEYS.
        assert!(!string_match(b"[\x01-\xff]", b"a", false));
        assert!(!string_match(b"[\x01-\xff]", b"\x80", false));
        assert!(!string_match(b"[\xff-\x01]", b"a", false));
        assert!(string_match(b"[\x80-\x81]", b"\x80", false));
        assert!(string_match(b"[^\x01-\xff]", b"\x80", false));
        assert!(string_match(b"[\x7f-\x80]", b"a", false));
        assert!(string_match(b"[\x7f-\x80]", b"\x80", false));
    }

    #[test]
    fn nocase() {
        assert!(string_match(b"HeLLo", b"hello", true));
        assert!(string_match(b"h[A-Z]llo", b"hello", true));
        assert!(!string_match(b"h[A-Z]llo", b"hello", false));
        // Escaped bytes inside a class ignore nocase, as in Redis.
        assert!(!string_match(b"[\\E]", b"e", true));
        assert!(string_match(b"\\E", b"e", true));
        // '_' lies inside 'A'..'z' but the folded range is 'a'..'z'.
        assert!(string_match(b"[A-z]", b"_", false));
        assert!(!string_match(b"[A-z]", b"_", true));
        assert!(!string_match(b"\xc9", b"\xe9", true));
    }

    #[test]
    fn literal_detection() {
        assert!(is_literal(b"user:1000"));
        assert!(is_literal(b""));
        assert!(!is_literal(b"user:*"));
        assert!(!is_literal(b"a\\b"));
        assert!(!is_literal(b"a[b"));
        assert!(!is_literal(b"a?"));
    }

    #[test]
    fn no_exponential_blowup() {
        // The pathological case from Redis's keyspace tests (CVE-2022-36021). Below Redis's nesting
        // limit of 1000 stars it matches; these cases finish at once rather than exponentially.
        let pattern = b"a*".repeat(900);
        let string = vec![b'a'; 20_000];
        assert!(string_match(&pattern, &string, false));
        let mut nomatch = string.clone();
        nomatch.push(b'b');
        let mut pat2 = pattern.clone();
        pat2.push(b'c');
        assert!(!string_match(&pat2, &nomatch, false));
        let p3 = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!string_match(p3, &[b'a'; 5000], false));
    }

    #[test]
    fn deep_patterns_use_no_stack() {
        let pattern = b"*x".repeat(1_000_000);
        assert!(!string_match(&pattern, b"xxxxxxxxy", false));
        let huge_class = [b"[".as_slice(), &[b'a'; 1_000_000]].concat();
        assert!(string_match(&huge_class, b"a", false));
    }

    #[test]
    fn matches_reference_on_tricky_inputs() {
        let alphabet: &[u8] = b"ab*?[]^-\\\x80\xffA";
        // Exhaustive over short patterns and strings from a small alphabet.
        let strings: Vec<Vec<u8>> = all_words(b"ab-]\x80A", 3);
        for pat in all_words(alphabet, 3) {
            for s in &strings {
                for nc in [false, true] {
                    assert_eq!(
                        string_match(&pat, s, nc),
                        reference(&pat, s, nc),
                        "pattern {pat:?} string {s:?} nocase {nc}"
                    );
                }
            }
        }
    }

    fn all_words(alphabet: &[u8], max_len: usize) -> Vec<Vec<u8>> {
        let mut out = vec![Vec::new()];
        let mut frontier = vec![Vec::new()];
        for _ in 0..max_len {
            let mut next = Vec::new();
            for w in &frontier {
                for &c in alphabet {
                    let mut w2: Vec<u8> = w.clone();
                    w2.push(c);
                    next.push(w2);
                }
            }
            out.extend(next.iter().cloned());
            frontier = next;
        }
        out
    }

    #[test]
    fn matches_reference_pseudo_random() {
        // xorshift: deterministic, dependency-free fuzzing against the oracle.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet: &[u8] = b"abc*?[]^-\\A\x80";
        for _ in 0..200_000 {
            let plen = (next() % 10) as usize;
            let slen = (next() % 10) as usize;
            let pat: Vec<u8> = (0..plen).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let s: Vec<u8> = (0..slen).map(|_| alphabet[(next() % 6) as usize]).collect();
            let nc = next() % 2 == 0;
            assert_eq!(string_match(&pat, &s, nc), reference(&pat, &s, nc), "pattern {pat:?} string {s:?} nocase {nc}");
        }
    }
}
