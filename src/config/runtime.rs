//! CONFIG GET and CONFIG SET on a loaded `Config`: name and glob matching,
//! mutability checks, all-or-nothing multi-directive updates, and Redis's
//! exact error replies.
//!
//! It must never apply side effects outside the config (except `dir`'s chdir
//! via the value layer): it reports which directives changed and the server
//! acts on them.

use super::table::{self, DENY_LOADING, Found, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED, TABLE};
use super::value::Value;
use super::{Config, SetContext};
use crate::glob::string_match;

/// Why CONFIG SET refused before changing anything; the first one wins.
enum Refusal {
    Unknown(Vec<u8>),
    Denied { name: Vec<u8>, reason: &'static str },
    Loading,
}

/// Redis replaces CR and LF in error replies so the protocol stays valid.
pub(crate) fn sanitize_error(msg: &str) -> String {
    msg.replace(['\r', '\n'], " ")
}

/// Splits a CONFIG SET value on single spaces like `sdssplitlen`: an empty
/// value gives no arguments and doubled spaces give empty ones.
fn split_on_spaces(value: &[u8]) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&b| b == b' ').map(<[u8]>::to_vec).collect()
}

fn has_glob(pattern: &[u8]) -> bool {
    super::parse::until_nul(pattern).iter().any(|b| matches!(b, b'[' | b'*' | b'?'))
}

impl Config {
    /// CONFIG GET with one or more names or glob patterns. Each directive is
    /// reported once; an exact name is echoed as given (so `PORT` answers as
    /// `PORT`), pattern matches use the registered name, and aliases are
    /// separate registered names as in 7.0 (`*` returns both `replicaof` and
    /// `slaveof`). Hidden directives only answer to their exact name.
    pub fn get_bytes(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut matches: Vec<(Vec<u8>, usize)> = Vec::new();
        let seen = |m: &[(Vec<u8>, usize)], name: &[u8]| m.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        for &pattern in patterns {
            if !has_glob(pattern) {
                if !seen(&matches, pattern)
                    && let Some(found) = table::lookup(pattern)
                {
                    matches.push((pattern.to_vec(), found.index));
                }
                continue;
            }
            for found in table::registered() {
                let name = found.registered_name().as_bytes();
                if TABLE[found.index].has(HIDDEN) || seen(&matches, name) {
                    continue;
                }
                if string_match(pattern, name, true) {
                    matches.push((name.to_vec(), found.index));
                }
            }
        }
        matches.into_iter().map(|(name, index)| (name, self.format_entry(index))).collect()
    }

    /// [`Config::get_bytes`] with names and values as text (non-UTF-8 bytes,
    /// possible only in binary values such as `requirepass`, are replaced).
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        self.get_bytes(patterns)
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            .collect()
    }

    /// The CONFIG GET text of one directive (name or alias, any case).
    pub fn get_str(&self, name: &str) -> Option<String> {
        let found = table::lookup(name.as_bytes())?;
        Some(String::from_utf8_lossy(&self.format_entry(found.index)).into_owned())
    }

    /// CONFIG SET from a non-local client outside loading; see [`Config::set_with`].
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<&'static str>, String> {
        self.set_with(pairs, SetContext::default())
    }

    /// CONFIG SET of several `(name, value)` pairs, all or nothing. Returns
    /// the canonical names whose value actually changed (the ones Redis would
    /// run apply steps for), or the exact error reply (without the leading
    /// `-`). If the server then fails to apply a change it should restore a
    /// clone taken before this call and reply with [`super::config_set_error`].
    pub fn set_with(&mut self, pairs: &[(&[u8], &[u8])], ctx: SetContext) -> Result<Vec<&'static str>, String> {
        let mut targets: Vec<(Found, &[u8])> = Vec::with_capacity(pairs.len());
        let mut refusal = None;
        for &(name, value) in pairs {
            let Some(found) = table::lookup(name) else {
                refusal.get_or_insert(Refusal::Unknown(name.to_vec()));
                continue;
            };
            if refusal.is_some() {
                continue;
            }
            let spec = &TABLE[found.index];
            let allowed = self.enable_protected_configs().allows(ctx.local_client);
            if spec.has(IMMUTABLE) || (spec.has(PROTECTED) && !allowed) {
                let reason =
                    if spec.has(IMMUTABLE) { "can't set immutable config" } else { "can't set protected config" };
                refusal = Some(Refusal::Denied { name: name.to_vec(), reason });
            } else if ctx.loading && spec.has(DENY_LOADING) {
                refusal = Some(Refusal::Loading);
            } else if targets.iter().any(|(f, _)| *f == found) {
                // A name and its alias are distinct entries in 7.0, so only
                // the very same spelling counts as a duplicate.
                refusal = Some(Refusal::Denied { name: name.to_vec(), reason: "duplicate parameter" });
            } else {
                targets.push((found, value));
            }
        }
        if let Some(refusal) = refusal {
            let msg = match refusal {
                Refusal::Loading => "LOADING Redis is loading the dataset in memory".to_string(),
                Refusal::Unknown(name) => format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                    String::from_utf8_lossy(&name)
                ),
                Refusal::Denied { name, reason } => format!(
                    "ERR CONFIG SET failed (possibly related to argument '{}') - {reason}",
                    String::from_utf8_lossy(&name)
                ),
            };
            return Err(sanitize_error(&msg));
        }

        let backup_values = self.values.clone();
        let backup_cwd = std::env::current_dir().ok();
        let mut changed: Vec<&'static str> = Vec::new();
        for (found, value) in targets {
            let spec = &TABLE[found.index];
            let args = if spec.has(MULTI_ARG) { split_on_spaces(value) } else { vec![value.to_vec()] };
            match self.set_entry(found.index, &args, false) {
                Ok(true) => {
                    self.apply_adjustments(found.index);
                    if !changed.contains(&spec.name) {
                        changed.push(spec.name);
                    }
                }
                Ok(false) => {}
                Err(reason) => {
                    self.values = backup_values;
                    if let Some(cwd) = backup_cwd
                        && changed.contains(&"dir")
                    {
                        // Best effort, like Redis's restore: nothing else to do on failure.
                        let _ = std::env::set_current_dir(cwd);
                    }
                    return Err(super::config_set_error(found.registered_name(), &reason));
                }
            }
        }
        Ok(changed)
    }

    /// The part of Redis's apply steps that changes the stored value, run
    /// only when CONFIG SET changed it: `hz` is clamped to 1..=500 and the
    /// replication backlog cannot go below 16kb.
    fn apply_adjustments(&mut self, index: usize) {
        let adjust = |v: i64| match index {
            super::ids::HZ => v.clamp(1, 500),
            super::ids::REPL_BACKLOG_SIZE => v.max(16 * 1024),
            _ => v,
        };
        if let Some(Value::Num(v)) = self.values.get_mut(index) {
            *v = adjust(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(c: &Config, patterns: &[&str]) -> Vec<(String, String)> {
        let p: Vec<&[u8]> = patterns.iter().map(|s| s.as_bytes()).collect();
        c.get(&p)
    }

    fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<&'static str>, String> {
        let p: Vec<(&[u8], &[u8])> = pairs.iter().map(|(a, b)| (a.as_bytes(), b.as_bytes())).collect();
        c.set(&p)
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn get_exact_glob_and_aliases() {
        let c = Config::default();
        assert_eq!(get(&c, &["PORT"]), [pair("PORT", "6379")]);
        assert_eq!(get(&c, &["p*rt", "port"]), [pair("port", "6379")]);
        assert_eq!(get(&c, &["port", "PORT"]), [pair("port", "6379")]);
        assert_eq!(get(&c, &["slaveof"]), [pair("slaveof", "")]);
        assert_eq!(get(&c, &["*read-only"]), [pair("replica-read-only", "yes"), pair("slave-read-only", "yes")]);
        assert_eq!(get(&c, &["nosuch"]), []);
        assert_eq!(get(&c, &["*"]).len(), 192);
        assert_eq!(get(&c, &["watchdog*"]), []);
        assert_eq!(get(&c, &["watchdog-period"]), [pair("watchdog-period", "0")]);
        assert_eq!(c.get_str("maxmemory").as_deref(), Some("0"));
    }

    #[test]
    fn set_errors_match_redis() {
        let mut c = Config::default();
        assert_eq!(
            set(&mut c, &[("foo", "bar")]).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            set(&mut c, &[("daemonize", "yes")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
        );
        assert_eq!(
            set(&mut c, &[("dbfilename", "x.rdb")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"
        );
        assert_eq!(
            set(&mut c, &[("port", "1"), ("PORT", "2")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'PORT') - duplicate parameter"
        );
        assert_eq!(
            set(&mut c, &[("Slave-Read-Only", "x")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"
        );
        assert_eq!(
            set(&mut c, &[("save", "10  1")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"
        );
        let loading = SetContext { loading: true, local_client: false };
        assert_eq!(
            c.set_with(&[(b"appendonly", b"yes")], loading).unwrap_err(),
            "LOADING Redis is loading the dataset in memory"
        );
        assert_eq!(
            set(&mut c, &[("a\r\nb", "x")]).unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'a  b'"
        );
    }

    #[test]
    fn set_is_atomic_and_reports_changes() {
        let mut c = Config::default();
        let err = set(&mut c, &[("maxmemory", "10mb"), ("port", "nope")]).unwrap_err();
        assert!(err.contains("'port'"));
        assert_eq!(c.maxmemory(), 0);
        let changed = set(&mut c, &[("maxmemory", "10mb"), ("hz", "10"), ("save", "10 1 20 2")]).unwrap();
        assert_eq!(changed, ["maxmemory", "save"]);
        assert_eq!(c.maxmemory(), 10 << 20);
        assert_eq!(c.save_points(), [(10, 1), (20, 2)]);
        // Name and alias are different entries: no duplicate error, last wins.
        set(&mut c, &[("slave-read-only", "yes"), ("replica-read-only", "no")]).unwrap();
        assert!(!c.replica_read_only());
        assert_eq!(set(&mut c, &[("save", "")]).unwrap(), ["save"]);
        // Apply-time adjustments, and a clamped value still counts as changed.
        set(&mut c, &[("hz", "1000"), ("repl-backlog-size", "1")]).unwrap();
        assert_eq!((c.hz(), c.repl_backlog_size()), (500, 16384));
        assert_eq!(set(&mut c, &[("hz", "1000")]).unwrap(), ["hz"]);
        assert!(c.save_points().is_empty());
    }
}
