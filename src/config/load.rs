//! Loading configuration text the way Redis 7.0.15's `loadServerConfig` and
//! `loadServerConfigFromString` do: the config file (or a glob of files),
//! stdin, then the command-line overrides, line by line, with includes,
//! the directives that live outside the table, and the final sanity checks.
//!
//! It must never print or exit: every failure becomes a `ConfigError` whose
//! `Display` is Redis's message, and the caller decides what to do.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::parse::{absolute_path, split_args, strerror, trim_bytes, until_nul};
use super::table::{self, DEPRECATED, MULTI_ARG, TABLE};
use super::value::Value;
use super::{Config, ConfigError, Directive};
use crate::glob::string_match;

/// Redis recurses without limit and crashes on an include cycle; we stop.
const MAX_INCLUDE_DEPTH: usize = 64;

impl Config {
    /// Loads the configuration like `redis-server [path] [--opts]`: `path` is
    /// the config file (`"-"` reads stdin instead) and `config_text_extra` the
    /// command-line options already turned into config text (see
    /// [`super::overrides_to_text`]); later lines win.
    pub fn load(path: Option<&str>, config_text_extra: &str) -> Result<Config, ConfigError> {
        match path {
            Some("-") => Self::load_sources(None, true, config_text_extra),
            other => Self::load_sources(other, false, config_text_extra),
        }
    }

    /// Like [`Config::load`] for `redis-server file.conf -`: the file, then
    /// stdin, then the overrides.
    pub fn load_sources(path: Option<&str>, from_stdin: bool, config_text_extra: &str) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        if path.is_none() && !from_stdin && config_text_extra.is_empty() {
            // Redis skips loading altogether when started with no arguments.
            return Ok(cfg);
        }
        let mut text = Vec::new();
        if let Some(path) = path {
            // Resolved before any `dir` line changes the working directory.
            let absolute = absolute_path(path).unwrap_or_else(|| path.to_string());
            text = read_config_source(&absolute)?;
            cfg.config_file = Some(absolute);
        }
        if from_stdin {
            ::log::warn!("Reading config from stdin");
            std::io::stdin()
                .read_to_end(&mut text)
                .map_err(|e| ConfigError::Open { path: "-".to_string(), reason: strerror(&e) })?;
        }
        text.push(b'\n');
        text.extend_from_slice(config_text_extra.as_bytes());
        let mut loader = Loader { cfg: &mut cfg, reading_config_file: true, depth: 0 };
        loader.load_text(&text)?;
        Ok(cfg)
    }
}

/// Reads a config source, expanding glob characters like Redis: a pattern
/// matching nothing is silently empty, a plain path must open.
fn read_config_source(path: &str) -> Result<Vec<u8>, ConfigError> {
    let open_error = |p: &Path, e: &std::io::Error| ConfigError::Open {
        path: p.to_string_lossy().into_owned(),
        reason: strerror(e),
    };
    let paths = if path.contains(['*', '?', '[']) { glob_paths(path) } else { vec![PathBuf::from(path)] };
    let mut text = Vec::new();
    for p in paths {
        match fs::read(&p) {
            Ok(content) => text.extend_from_slice(&content),
            // fopen() accepts a directory and reading it yields nothing.
            Err(_) if p.is_dir() => {}
            Err(e) => return Err(open_error(&p, &e)),
        }
    }
    Ok(text)
}

/// glob(3) with no flags: `*`, `?` and `[...]` per path component, hidden
/// entries only matched by a pattern starting with `.`, results sorted.
fn glob_paths(pattern: &str) -> Vec<PathBuf> {
    let absolute = pattern.starts_with('/');
    let mut candidates = vec![PathBuf::from(if absolute { "/" } else { "" })];
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    for (i, component) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let mut next = Vec::new();
        for base in &candidates {
            if !component.contains(['*', '?', '[']) {
                let p = base.join(component);
                if (last && p.symlink_metadata().is_ok()) || (!last && p.is_dir()) {
                    next.push(p);
                }
                continue;
            }
            let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base.as_path() };
            let Ok(entries) = fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<Vec<u8>> = entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().as_bytes().to_vec())
                .filter(|n| !n.starts_with(b".") || component.starts_with('.'))
                .filter(|n| string_match(component.as_bytes(), n, false))
                .collect();
            names.sort();
            for name in names {
                let p = base.join(OsStr::from_bytes(&name));
                if last || p.is_dir() {
                    next.push(p);
                }
            }
        }
        candidates = next;
    }
    candidates
}

struct Loader<'a> {
    cfg: &'a mut Config,
    /// Redis's `reading_config_file`, which a finished include clears for the
    /// rest of the load (it only changes how `save` lines accumulate).
    reading_config_file: bool,
    depth: usize,
}

impl Loader<'_> {
    fn load_text(&mut self, text: &[u8]) -> Result<(), ConfigError> {
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line = trim_bytes(until_nul(raw), b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |reason: String| ConfigError::Fatal {
                line: Some((i + 1, String::from_utf8_lossy(line).into_owned())),
                reason,
            };
            let args = split_args(line).ok_or_else(|| fail("Unbalanced quotes in configuration line".into()))?;
            let Some(first) = args.first() else { continue };
            let name = first.to_ascii_lowercase();
            if let Some(found) = table::lookup(&name) {
                self.set_directive(found.index, &args).map_err(fail)?;
                continue;
            }
            let argc = args.len();
            if argc == 2 && DEPRECATED.iter().any(|d| d.as_bytes() == name.as_slice()) {
                continue;
            }
            let keep = || Directive { args: args.clone(), line: i + 1, text: String::from_utf8_lossy(line).into() };
            match name.as_slice() {
                b"include" if argc == 2 => {
                    if self.depth >= MAX_INCLUDE_DEPTH {
                        return Err(fail("Too many nested include directives".into()));
                    }
                    let path = String::from_utf8_lossy(until_nul(&args[1])).into_owned();
                    self.include(&path)?;
                }
                b"rename-command" if argc == 3 => {
                    self.cfg.note_mentioned("rename-command");
                    self.cfg.renames.push(keep());
                }
                b"user" if argc >= 2 => {
                    self.cfg.note_mentioned("user");
                    self.cfg.users.push(keep());
                }
                b"loadmodule" if argc >= 2 => {
                    self.cfg.note_mentioned("loadmodule");
                    self.cfg.modules.push(keep());
                }
                _ if name.contains(&b'.') => {
                    if argc < 2 {
                        return Err(fail("Module config specified without value".into()));
                    }
                    let value = args[1..].join(&b' ');
                    let name = String::from_utf8_lossy(&name).into_owned();
                    match self.cfg.module_configs.iter_mut().find(|(n, _)| *n == name) {
                        Some(entry) => entry.1 = value,
                        None => self.cfg.module_configs.push((name, value)),
                    }
                }
                // A bare `sentinel` only matters to main(); ferrodis has no sentinel mode.
                b"sentinel" if argc == 1 => self.cfg.note_mentioned("sentinel"),
                b"sentinel" => {
                    return Err(fail("sentinel directive while not in sentinel mode".into()));
                }
                _ => return Err(fail("Bad directive or wrong number of arguments".into())),
            }
        }
        self.finish()
    }

    fn set_directive(&mut self, index: usize, args: &[Vec<u8>]) -> Result<(), String> {
        let spec = &TABLE[index];
        self.cfg.note_mentioned(spec.name);
        let values = &args[1..];
        if !spec.has(MULTI_ARG) {
            if values.len() != 1 {
                return Err("wrong number of arguments".to_string());
            }
            return self.cfg.set_entry(index, values, self.reading_config_file).map(drop);
        }
        match values {
            // `save "900 1 300 10"` and `--bind "a b"` arrive as one argument;
            // an unparsable one counts as no arguments, as in Redis.
            [single] if !single.is_empty() => {
                let split = split_args(single).unwrap_or_default();
                self.cfg.set_entry(index, &split, self.reading_config_file).map(drop)
            }
            _ => self.cfg.set_entry(index, values, self.reading_config_file).map(drop),
        }
    }

    fn include(&mut self, path: &str) -> Result<(), ConfigError> {
        let text = read_config_source(path)?;
        self.depth += 1;
        let result = self.load_text(&text);
        self.depth -= 1;
        result
    }

    /// The checks Redis runs at the end of every loaded text (so after each
    /// included file as well as after the whole configuration).
    fn finish(&mut self) -> Result<(), ConfigError> {
        let fatal = |reason: String| ConfigError::Fatal { line: None, reason };
        let logfile = self.cfg.logfile();
        if !logfile.is_empty() {
            // Redis opens the log file once here so it can fail early.
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(logfile)
                .map_err(|e| fatal(format!("Can't open the log file: {}", strerror(&e))))?;
        }
        if self.cfg.cluster_enabled() && self.cfg.replicaof().is_some() {
            return Err(fatal("replicaof directive not allowed in cluster mode".to_string()));
        }
        let hz = super::ids::HZ;
        if let Some(Value::Num(v)) = self.cfg.values.get_mut(hz) {
            *v = (*v).clamp(1, 500);
        }
        self.reading_config_file = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_expansion_is_sorted_and_skips_hidden() {
        let dir = std::env::temp_dir().join(format!("ferrodis-cfg-glob-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            fs::write(dir.join(name), name).unwrap();
        }
        let pattern = format!("{}/*.conf", dir.display());
        let found = glob_paths(&pattern);
        assert_eq!(found, [dir.join("a.conf"), dir.join("b.conf")]);
        assert_eq!(read_config_source(&pattern).unwrap(), b"a.confb.conf");
        assert!(glob_paths(&format!("{}/*.none", dir.display())).is_empty());
        assert_eq!(glob_paths(&format!("{}/s?b/../a.conf", dir.display())).len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }
}
