//! Directives with a value shape of their own (`save`, `bind`,
//! `client-output-buffer-limit`, `oom-score-adj-values`,
//! `notify-keyspace-events`, `replicaof`, `latency-tracking-info-percentiles`,
//! `dir`): their parsing, validation and defaults.
//!
//! It must never format CONFIG GET or REWRITE text beyond the small helpers
//! those need; `dir` is the only setter with an effect outside the store (a
//! chdir, because Redis's `dir` is the working directory).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::Config;
use super::parse::{memtoull, strerror, string2d, strtoll, until_nul};
use super::table::Special;
use super::value::{Changed, Value, one_arg};

/// Output buffer limits of one client class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard_bytes: u64,
    pub soft_bytes: u64,
    pub soft_seconds: u64,
}

pub(crate) const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit { hard_bytes: 0, soft_bytes: 0, soft_seconds: 0 },
    ObufLimit { hard_bytes: 256 << 20, soft_bytes: 64 << 20, soft_seconds: 60 },
    ObufLimit { hard_bytes: 32 << 20, soft_bytes: 8 << 20, soft_seconds: 60 },
];
/// Class names as CONFIG GET prints them (index = class).
pub(crate) const OBUF_CLASS_NAMES: [&str; 3] = ["normal", "slave", "pubsub"];
pub(crate) const OOM_DEFAULTS: [i32; 3] = [0, 200, 800];
pub(crate) const BIND_DEFAULTS: [&str; 2] = ["*", "-::*"];
const BIND_MAX: usize = 16;

/// Keyspace notification classes, with Redis's bit values.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    /// Not part of `ALL` on purpose, as in Redis.
    pub const KEY_MISS: u32 = 1 << 11;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
    pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

pub(crate) fn notify_parse(classes: &[u8]) -> Option<u32> {
    let mut flags = 0;
    for &c in until_nul(classes) {
        flags |= match c {
            b'A' => notify::ALL,
            b'g' => notify::GENERIC,
            b'$' => notify::STRING,
            b'l' => notify::LIST,
            b's' => notify::SET,
            b'h' => notify::HASH,
            b'z' => notify::ZSET,
            b'x' => notify::EXPIRED,
            b'e' => notify::EVICTED,
            b'K' => notify::KEYSPACE,
            b'E' => notify::KEYEVENT,
            b't' => notify::STREAM,
            b'm' => notify::KEY_MISS,
            b'd' => notify::MODULE,
            b'n' => notify::NEW,
            _ => return None,
        };
    }
    Some(flags)
}

pub(crate) fn notify_format(flags: u32) -> String {
    let mut out = String::new();
    if flags & notify::ALL == notify::ALL {
        out.push('A');
    } else {
        let classes = [
            (notify::GENERIC, 'g'),
            (notify::STRING, '$'),
            (notify::LIST, 'l'),
            (notify::SET, 's'),
            (notify::HASH, 'h'),
            (notify::ZSET, 'z'),
            (notify::EXPIRED, 'x'),
            (notify::EVICTED, 'e'),
            (notify::STREAM, 't'),
            (notify::MODULE, 'd'),
            (notify::NEW, 'n'),
        ];
        out.extend(classes.iter().filter(|(bit, _)| flags & bit != 0).map(|&(_, c)| c));
    }
    for (bit, c) in [(notify::KEYSPACE, 'K'), (notify::KEYEVENT, 'E'), (notify::KEY_MISS, 'm')] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

impl Config {
    pub(crate) fn set_special(
        &mut self,
        index: usize,
        which: Special,
        args: &[Vec<u8>],
        reading_config_file: bool,
    ) -> Result<Changed, String> {
        let new = match which {
            Special::Dir => {
                let dir = until_nul(one_arg(args)?);
                std::env::set_current_dir(OsStr::from_bytes(dir)).map_err(|e| strerror(&e))?;
                return Ok(true);
            }
            Special::Save => {
                let current = match self.values.get(index) {
                    Some(Value::Save(points)) => points.clone(),
                    _ => Vec::new(),
                };
                Value::Save(self.parse_save(current, args, reading_config_file)?)
            }
            Special::ClientOutputBufferLimit => {
                let mut limits = match self.values.get(index) {
                    Some(Value::Obuf(l)) => *l,
                    _ => OBUF_DEFAULTS,
                };
                parse_obuf(&mut limits, args)?;
                Value::Obuf(limits)
            }
            Special::OomScoreAdjValues => {
                let values = parse_oom(args)?;
                if values[1] < values[0] || values[2] < values[1] {
                    ::log::warn!(
                        "The oom-score-adj-values configuration may not work for non-privileged processes! \
                         Please consult the documentation."
                    );
                }
                let changed = self.values.get(index) != Some(&Value::Oom(values));
                if let Some(slot) = self.values.get_mut(index) {
                    *slot = Value::Oom(values);
                }
                return Ok(changed);
            }
            Special::NotifyKeyspaceEvents => {
                let flags =
                    notify_parse(one_arg(args)?).ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
                Value::Notify(flags)
            }
            Special::Bind => {
                if args.len() > BIND_MAX {
                    return Err("Too many bind addresses specified.".to_string());
                }
                let addrs = match args {
                    [only] if only.is_empty() => Vec::new(),
                    _ => args.iter().map(|a| String::from_utf8_lossy(until_nul(a)).into_owned()).collect(),
                };
                Value::Bind(addrs)
            }
            Special::ReplicaOf => Value::ReplicaOf(parse_replicaof(args)?),
            Special::LatencyTrackingInfoPercentiles => Value::Percentiles(parse_percentiles(args)?),
        };
        if let Some(slot) = self.values.get_mut(index) {
            *slot = new;
        }
        Ok(true)
    }
    /// `save` keeps Redis's loading quirk: the first `save` line of a config
    /// file replaces the defaults and later ones append, while CONFIG SET (and
    /// any line after an `include`) replaces the whole list.
    fn parse_save(
        &mut self,
        mut points: Vec<(u64, u64)>,
        args: &[Vec<u8>],
        reading_config_file: bool,
    ) -> Result<Vec<(u64, u64)>, String> {
        let mut args = args;
        if let [only] = args
            && until_nul(only).is_empty()
        {
            points.clear();
            args = &[];
        }
        const INVALID: &str = "Invalid save parameters";
        if !args.len().is_multiple_of(2) {
            return Err(INVALID.to_string());
        }
        let mut parsed = Vec::with_capacity(args.len() / 2);
        for pair in args.chunks_exact(2) {
            let seconds = strtoll(&pair[0], 10);
            let changes = strtoll(&pair[1], 10);
            if !seconds.consumed_all || seconds.value < 1 || !changes.consumed_all || changes.value < 0 {
                return Err(INVALID.to_string());
            }
            // Redis keeps `changes` in an int; a negative wrap behaves like 0.
            let changes = u64::try_from(changes.value as i32).unwrap_or(0);
            parsed.push((seconds.value.unsigned_abs(), changes));
        }
        if !reading_config_file || !self.save_loaded {
            self.save_loaded |= reading_config_file;
            points.clear();
        }
        points.extend(parsed);
        Ok(points)
    }
}

fn parse_obuf(limits: &mut [ObufLimit; 3], args: &[Vec<u8>]) -> Result<(), String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    // Validate everything first so a bad class leaves all classes untouched.
    let mut updates = Vec::with_capacity(args.len() / 4);
    for group in args.chunks_exact(4) {
        let class = until_nul(&group[0]).to_ascii_lowercase();
        let class = match class.as_slice() {
            b"normal" => 0,
            b"slave" | b"replica" => 1,
            b"pubsub" => 2,
            _ => {
                return Err("Invalid client class specified in buffer limit configuration.".to_string());
            }
        };
        let hard = memtoull(&group[1]);
        let soft = memtoull(&group[2]);
        let seconds = strtoll(&group[3], 10);
        // Redis stores the seconds in an int before checking the sign.
        let seconds_int = seconds.value as i32;
        match (hard, soft) {
            (Some(hard_bytes), Some(soft_bytes)) if seconds_int >= 0 && seconds.consumed_all => {
                let soft_seconds = u64::from(seconds_int.unsigned_abs());
                updates.push((class, ObufLimit { hard_bytes, soft_bytes, soft_seconds }));
            }
            _ => {
                return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string());
            }
        }
    }
    for (class, limit) in updates {
        if let Some(slot) = limits.get_mut(class) {
            *slot = limit;
        }
    }
    Ok(())
}

fn parse_oom(args: &[Vec<u8>]) -> Result<[i32; 3], String> {
    let [a, b, c] = args else {
        return Err("wrong number of arguments".to_string());
    };
    let mut out = [0i32; 3];
    for (slot, arg) in out.iter_mut().zip([a, b, c]) {
        let r = strtoll(arg, 10);
        if !r.consumed_all || !(-2000..=2000).contains(&r.value) {
            return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".to_string());
        }
        *slot = r.value as i32;
    }
    Ok(out)
}

fn parse_replicaof(args: &[Vec<u8>]) -> Result<Option<(String, u16)>, String> {
    let [host, port] = args else {
        return Err("wrong number of arguments".to_string());
    };
    let (host, port) = (until_nul(host), until_nul(port));
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        return Ok(None);
    }
    let r = strtoll(port, 10);
    // Redis assigns strtol's result to an int before range-checking it.
    let truncated = r.value as i32;
    match u16::try_from(truncated) {
        Ok(p) if r.consumed_all => Ok(Some((String::from_utf8_lossy(host).into_owned(), p))),
        _ => Err("Invalid master port".to_string()),
    }
}

fn parse_percentiles(args: &[Vec<u8>]) -> Result<Vec<f64>, String> {
    if let [only] = args
        && only.is_empty()
    {
        return Ok(Vec::new());
    }
    args.iter()
        .map(|a| {
            let v = string2d(a).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
            if !(0.0..=100.0).contains(&v) {
                return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
            }
            Ok(v)
        })
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::index_of;

    fn set(cfg: &mut Config, name: &str, args: &[&str]) -> Result<Changed, String> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        cfg.set_entry(index_of(name), &args, false)
    }

    fn get(cfg: &Config, name: &str) -> String {
        String::from_utf8_lossy(&cfg.format_entry(index_of(name))).into_owned()
    }

    #[test]
    fn specials() {
        let mut c = Config::default();
        assert_eq!(get(&c, "save"), "3600 1 300 100 60 10000");
        assert_eq!(
            get(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        set(&mut c, "client-output-buffer-limit", &["replica", "1mb", "2k", "5"]).unwrap();
        assert_eq!(
            get(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 1048576 2000 5 pubsub 33554432 8388608 60"
        );
        assert_eq!(
            set(&mut c, "client-output-buffer-limit", &["master", "1", "1", "1"]).unwrap_err(),
            "Invalid client class specified in buffer limit configuration."
        );
        set(&mut c, "notify-keyspace-events", &["KEA"]).unwrap();
        assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
        set(&mut c, "notify-keyspace-events", &["gm$d"]).unwrap();
        assert_eq!(get(&c, "notify-keyspace-events"), "g$dm");
        assert_eq!(get(&c, "bind"), "* -::*");
        set(&mut c, "bind", &[""]).unwrap();
        assert_eq!(get(&c, "bind"), "");
        set(&mut c, "replicaof", &["10.0.0.1", "6380"]).unwrap();
        assert_eq!(get(&c, "replicaof"), "10.0.0.1 6380");
        assert_eq!(set(&mut c, "replicaof", &["h", "70000"]).unwrap_err(), "Invalid master port");
        set(&mut c, "replicaof", &["NO", "one"]).unwrap();
        assert_eq!(get(&c, "replicaof"), "");
        set(&mut c, "latency-tracking-info-percentiles", &["1.5", "99.99", "100"]).unwrap();
        assert_eq!(get(&c, "latency-tracking-info-percentiles"), "1.5 99.99 100");
        assert_eq!(set(&mut c, "oom-score-adj-values", &["1", "2"]).unwrap_err(), "wrong number of arguments");
        assert!(!set(&mut c, "oom-score-adj-values", &["0", "200", "800"]).unwrap());
    }

    #[test]
    fn save_replaces_outside_files_and_appends_inside() {
        let mut c = Config::default();
        let args = |v: &[&str]| v.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
        let save = index_of("save");
        c.set_entry(save, &args(&["900", "1"]), true).unwrap();
        c.set_entry(save, &args(&["300", "10"]), true).unwrap();
        assert_eq!(get(&c, "save"), "900 1 300 10");
        c.set_entry(save, &args(&["60", "5"]), false).unwrap();
        assert_eq!(get(&c, "save"), "60 5");
        assert_eq!(c.set_entry(save, &args(&["0", "1"]), false).unwrap_err(), "Invalid save parameters");
        c.set_entry(save, &args(&[""]), false).unwrap();
        assert_eq!(get(&c, "save"), "");
    }
}
