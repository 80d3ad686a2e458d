//! A user (Redis's `user` struct): on/off, `nopass`, password hashes and selectors; the rules that
//! change them (ACLSetUser) and their description as rules (ACLDescribeUser).
//!
//! Passwords are kept only as SHA-256 hex digests and compared in constant time: a cleartext
//! password never outlives the rule that set it.

use super::selector::{Denial, Selector};
use super::{RuleContext, RuleError};
use crate::command::{Args, Command, CommandTable};
use crate::config::sha256::hex_digest;

/// The length of a password digest in hex.
const HASH_LEN: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Vec<u8>,
    /// Only enabled users can authenticate; turning one off keeps its connections.
    pub enabled: bool,
    /// Any password authenticates (and the default user needs no AUTH at all).
    pub nopass: bool,
    /// `sanitize-payload` / `skip-sanitize-payload`: `None` until either is given.
    pub sanitize_payload: Option<bool>,
    /// SHA-256 digests in lowercase hex, in the order they were added.
    pub passwords: Vec<String>,
    /// The root selector first, then those `(...)` rules added.
    pub selectors: Vec<Selector>,
}

/// Byte comparison whose time does not depend on where the inputs differ (only on the longer
/// length; digests all have the same).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as u64;
    }
    diff == 0
}

/// A valid `#hash`: exactly 64 lowercase hex digits.
fn valid_hash(hash: &[u8]) -> bool {
    hash.len() == HASH_LEN && hash.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The digest a `#`/`!` rule names, or the one a `>`/`<` rule's cleartext hashes to.
fn digest_of(op: &[u8]) -> Result<String, RuleError> {
    let (kind, rest) = (op[0], &op[1..]);
    if kind == b'>' || kind == b'<' {
        return Ok(hex_digest(rest));
    }
    if !valid_hash(rest) {
        return Err(RuleError::BadHash);
    }
    Ok(String::from_utf8_lossy(rest).into_owned())
}

/// Rules with a selector split across arguments, `(~key` `+get)`, joined back into one argument
/// (ACLMergeSelectorArguments), as ACL SETUSER and config lines may write them. An opening
/// parenthesis never closed is an error naming its argument's index.
pub fn merge_selector_args(args: &[&[u8]]) -> Result<Vec<Vec<u8>>, usize> {
    let mut merged = Vec::with_capacity(args.len());
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (i, &arg) in args.iter().enumerate() {
        if let Some((_, selector)) = open.as_mut() {
            selector.push(b' ');
            selector.extend_from_slice(arg);
            if arg.last() == Some(&b')')
                && let Some((_, done)) = open.take()
            {
                merged.push(done);
            }
            continue;
        }
        if arg.first() == Some(&b'(') && arg.last() != Some(&b')') {
            open = Some((i, arg.to_vec()));
            continue;
        }
        merged.push(arg.to_vec());
    }
    match open {
        Some((i, _)) => Err(i),
        None => Ok(merged),
    }
}

impl User {
    /// A new user as Redis creates one: off, no passwords, a root selector allowing nothing
    /// (channels per `acl-pubsub-default`).
    pub fn new(name: &[u8], all_channels_by_default: bool) -> User {
        User {
            name: name.to_vec(),
            enabled: false,
            nopass: false,
            sanitize_payload: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, all_channels_by_default)],
        }
    }

    /// The `default` user of a fresh server: on, nopass, everything allowed.
    pub fn new_default(table: &CommandTable) -> User {
        let mut u = User::new(b"default", false);
        let ctx = RuleContext { table, all_channels_by_default: false };
        for op in ["+@all", "~*", "&*", "on", "nopass"] {
            // These rules are constants the parser accepts; a failure would be a bug caught by tests.
            let _ = u.apply(op.as_bytes(), &ctx);
        }
        u
    }

    /// The root selector (there always is one).
    pub fn root(&self) -> &Selector {
        &self.selectors[0]
    }

    /// Whether nothing is restricted: the checks can be skipped.
    pub fn allows_everything(&self) -> bool {
        self.root().allows_everything()
    }

    /// Apply one rule (ACLSetUser). Errors leave the user partly changed: callers apply to a copy
    /// and keep it only when every rule succeeded.
    pub fn apply(&mut self, op: &[u8], ctx: &RuleContext) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        match op.first() {
            None => {}
            Some(_) if is("on") => self.enabled = true,
            Some(_) if is("off") => self.enabled = false,
            Some(_) if is("skip-sanitize-payload") => self.sanitize_payload = Some(false),
            Some(_) if is("sanitize-payload") => self.sanitize_payload = Some(true),
            Some(_) if is("nopass") => {
                self.nopass = true;
                self.passwords.clear();
            }
            Some(_) if is("resetpass") => {
                self.nopass = false;
                self.passwords.clear();
            }
            Some(b'>' | b'#') => {
                let digest = digest_of(op)?;
                if !self.passwords.contains(&digest) {
                    self.passwords.push(digest);
                }
                self.nopass = false;
            }
            Some(b'<' | b'!') => {
                let digest = digest_of(op)?;
                let at = self.passwords.iter().position(|p| *p == digest).ok_or(RuleError::NoSuchPassword)?;
                self.passwords.remove(at);
            }
            Some(b'(') if op.last() == Some(&b')') => {
                let inner = &op[1..op.len() - 1];
                let mut selector = Selector::new(false, ctx.all_channels_by_default);
                // Inside the parentheses rules may be quoted, as on a config line.
                for rule in crate::config::split_args(inner).unwrap_or_default() {
                    selector.apply(&rule, ctx.table)?;
                }
                self.selectors.push(selector);
            }
            Some(_) if is("clearselectors") => self.selectors.truncate(1),
            Some(_) if is("reset") => {
                self.nopass = false;
                self.passwords.clear();
                self.enabled = false;
                self.sanitize_payload = Some(true);
                self.selectors.truncate(1);
                let root = &mut self.selectors[0];
                root.apply(b"resetkeys", ctx.table)?;
                root.apply(if ctx.all_channels_by_default { b"allchannels" } else { b"resetchannels" }, ctx.table)?;
                root.apply(b"-@all", ctx.table)?;
            }
            Some(_) => self.selectors[0].apply(op, ctx.table)?,
        }
        Ok(())
    }

    /// Whether `password` authenticates this user (not checking whether it is enabled).
    pub fn password_matches(&self, password: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let digest = hex_digest(password);
        // Every stored digest is compared, so the time says nothing about which one matched.
        self.passwords.iter().fold(false, |found, p| constant_time_eq(p.as_bytes(), digest.as_bytes()) | found)
    }

    /// Whether some selector lets `cmd` run with `args` (ACLCheckAllUserCommandPerm). When none
    /// does, the denial reported is Redis's most relevant one.
    pub fn check(&self, cmd: &Command, args: &Args) -> Result<(), Denial> {
        let mut keys = None;
        let mut worst = Denial::Command;
        for s in &self.selectors {
            match s.check(cmd, args, &mut keys) {
                Ok(()) => return Ok(()),
                Err(d) if d.rank() > worst.rank() => worst = d,
                Err(_) => {}
            }
        }
        Err(worst)
    }

    /// Whether some selector runs `cmd` and also grants `needed` on every key (SORT BY/GET).
    pub fn check_with_unrestricted_keys(&self, cmd: &Command, args: &Args, needed: crate::command::KeyPerm) -> bool {
        let mut keys = None;
        self.selectors.iter().any(|s| s.check(cmd, args, &mut keys).is_ok() && s.has_unrestricted_key_access(needed))
    }

    /// Whether some selector allows `channel` (a pattern literally when `is_pattern`).
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors.iter().any(|s| s.channel_allowed(channel, is_pattern))
    }

    /// The user as rules, without the `user <name>` prefix: flags, `#digests`, the root selector,
    /// then each other selector in parentheses (what ACL LIST and ACL SAVE write).
    pub fn describe(&self, table: &CommandTable) -> Vec<u8> {
        let mut out = Vec::new();
        let flags = [
            (self.enabled, "on"),
            (!self.enabled, "off"),
            (self.nopass, "nopass"),
            (self.sanitize_payload == Some(false), "skip-sanitize-payload"),
            (self.sanitize_payload == Some(true), "sanitize-payload"),
        ];
        for (set, name) in flags {
            if set {
                out.extend_from_slice(name.as_bytes());
                out.push(b' ');
            }
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for s in &self.selectors {
            if s.root {
                out.extend_from_slice(&s.describe(table));
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&s.describe(table));
                out.push(b')');
            }
        }
        out
    }

    /// The flag names ACL GETUSER lists, in Redis's order.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let mut names = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            names.push("nopass");
        }
        match self.sanitize_payload {
            Some(false) => names.push("skip-sanitize-payload"),
            Some(true) => names.push("sanitize-payload"),
            None => {}
        }
        names
    }

    /// Take `other`'s rules, keeping this user's name (ACLCopyUser).
    pub fn copy_rules_from(&mut self, other: &User) {
        let name = std::mem::take(&mut self.name);
        *self = other.clone();
        self.name = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> Result<User, RuleError> {
        let table = CommandTable::build();
        let ctx = RuleContext { table: &table, all_channels_by_default: false };
        let mut u = User::new(b"u", false);
        for r in rules {
            u.apply(r.as_bytes(), &ctx)?;
        }
        Ok(u)
    }

    fn describe(u: &User) -> String {
        String::from_utf8(u.describe(&CommandTable::build())).unwrap()
    }

    #[test]
    fn passwords_are_hashed_added_and_removed() {
        let u = user(&[">passwd1", ">passwd2", ">passwd1"]).unwrap();
        assert_eq!(u.passwords.len(), 2);
        assert!(u.password_matches(b"passwd1") && u.password_matches(b"passwd2"));
        assert!(!u.password_matches(b"passwd3"));
        let u = user(&[">passwd1", "<passwd1"]).unwrap();
        assert!(u.passwords.is_empty());
        assert_eq!(user(&["<nope"]), Err(RuleError::NoSuchPassword));
        let hash = "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6";
        let u = user(&[&format!("#{hash}")]).unwrap();
        assert!(u.password_matches(b"passwd4"));
        assert!(user(&[&format!("!{hash}")]).is_err());
        assert_eq!(user(&[&format!("#{}", &hash[1..])]), Err(RuleError::BadHash));
        assert_eq!(user(&[&format!("#{}", hash.to_uppercase())]), Err(RuleError::BadHash));
        let u = user(&[">x", "nopass"]).unwrap();
        assert!(u.passwords.is_empty() && u.password_matches(b"anything"));
        assert!(!user(&["nopass", "resetpass"]).unwrap().password_matches(b""));
    }

    #[test]
    fn descriptions_in_redis_order() {
        assert_eq!(describe(&user(&[]).unwrap()), "off resetchannels -@all");
        assert_eq!(describe(&user(&["reset"]).unwrap()), "off sanitize-payload resetchannels -@all");
        let u = user(&["on", "nopass", "resetchannels", "&foo", "+@all"]).unwrap();
        assert_eq!(describe(&u), "on nopass resetchannels &foo +@all");
        let u = user(&["on", ">pw", "~a", "(~b +get)"]).unwrap();
        let digest = hex_digest(b"pw");
        assert_eq!(describe(&u), format!("on #{digest} ~a resetchannels -@all (~b resetchannels -@all +get)"));
        assert_eq!(describe(&User::new_default(&CommandTable::build())), "on nopass ~* &* +@all");
    }

    #[test]
    fn selectors_are_added_and_cleared() {
        let u = user(&["(~a +get)", "( ~b +set )"]).unwrap();
        assert_eq!(u.selectors.len(), 3);
        assert_eq!(u.selectors[2].keys_text(), b"~b");
        assert_eq!(user(&["(~a +get)", "clearselectors"]).unwrap().selectors.len(), 1);
        assert_eq!(user(&["(this-is-invalid)"]), Err(RuleError::Syntax));
        assert_eq!(user(&[")"]), Err(RuleError::Syntax));
        assert_eq!(user(&[" () "]), Err(RuleError::Syntax));
        assert_eq!(user(&["()"]).unwrap().selectors.len(), 2);
    }

    #[test]
    fn selector_arguments_are_merged() {
        let merged = merge_selector_args(&[b"on", b"(~a", b"+get)", b"(~b)", b"( ~c", b"+get", b")"]).unwrap();
        assert_eq!(merged, [&b"on"[..], b"(~a +get)", b"(~b)", b"( ~c +get )"]);
        assert_eq!(merge_selector_args(&[b"on", b"(~a", b"+get"]), Err(1));
    }

    #[test]
    fn the_most_relevant_denial_wins() {
        let table = CommandTable::build();
        let u = user(&["+mget", "~key", "(+mget ~key ~otherkey)"]).unwrap();
        let buf = b"mgetkeyotherkeysomeotherkey";
        let ranges = [(0, 4), (4, 7), (7, 15), (15, 27)];
        let args = Args::new(buf, &ranges);
        let Some(cmd) = table.get(b"mget") else { panic!("mget") };
        assert_eq!(u.check(cmd, &args), Err(Denial::Key(3)));
        let Some(get) = table.get(b"get") else { panic!("get") };
        assert_eq!(u.check(get, &Args::new(b"getkey", &[(0, 3), (3, 6)])), Err(Denial::Command));
    }

    #[test]
    fn constant_time_eq_works() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
