//! Current values of directives and the per-type rules for setting and
//! printing them: the shared core of file loading and CONFIG SET/GET.
//!
//! This file owns validation and the CONFIG GET text form of the table's
//! plain types (the special shapes live in `special`). It must never read
//! files or decide about mutability: IMMUTABLE/PROTECTED are CONFIG SET's
//! business.

use super::Config;
use super::parse::{memtoull, string2ll, strtoll, until_nul, yes_no};
use super::special::{BIND_DEFAULTS, OBUF_CLASS_NAMES, OBUF_DEFAULTS, OOM_DEFAULTS, ObufLimit, notify_format};
use super::table::{Kind, NumFmt, SHUTDOWN_NOSAVE, SHUTDOWN_SAVE, Spec, Special, StrCheck, TABLE, VOLATILE};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Bool(bool),
    /// `None` is Redis's NULL: unset, printed as "".
    Str(Option<Vec<u8>>),
    Enum(i32),
    /// Stored like C's `long long`; unsigned directives keep their bit pattern.
    Num(i64),
    /// The process working directory is the value.
    Dir,
    Save(Vec<(u64, u64)>),
    Bind(Vec<String>),
    Obuf([ObufLimit; 3]),
    Oom([i32; 3]),
    Notify(u32),
    ReplicaOf(Option<(String, u16)>),
    Percentiles(Vec<f64>),
}

impl Value {
    pub(crate) fn default_for(spec: &Spec) -> Value {
        match spec.kind {
            Kind::Bool { default, .. } => Value::Bool(default),
            Kind::Str { default, .. } => Value::Str(default.map(|d| d.as_bytes().to_vec())),
            Kind::Enum { default, .. } => Value::Enum(default),
            Kind::Num { default, .. } => Value::Num(default),
            Kind::Special(which) => match which {
                Special::Dir => Value::Dir,
                Special::Save => Value::Save(vec![(3600, 1), (300, 100), (60, 10000)]),
                Special::ClientOutputBufferLimit => Value::Obuf(OBUF_DEFAULTS),
                Special::OomScoreAdjValues => Value::Oom(OOM_DEFAULTS),
                Special::NotifyKeyspaceEvents => Value::Notify(0),
                Special::Bind => Value::Bind(BIND_DEFAULTS.iter().map(|s| s.to_string()).collect()),
                Special::ReplicaOf => Value::ReplicaOf(None),
                Special::LatencyTrackingInfoPercentiles => Value::Percentiles(vec![50.0, 99.0, 99.9]),
            },
        }
    }
}

/// Redis's `configEnumGetName`: the exact match, else (for flag sets) the
/// names covering every bit, else "unknown".
pub(crate) fn enum_name(values: &[(&str, i32)], value: i32, bitflags: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut unmatched = value;
    for &(name, v) in values {
        if v == value {
            return name.to_string();
        }
        if bitflags && v != 0 && v == (unmatched & v) {
            names.push(name);
            unmatched &= !v;
        }
    }
    if names.is_empty() || unmatched != 0 {
        return "unknown".to_string();
    }
    names.join(" ")
}

fn enum_parse(values: &[(&str, i32)], args: &[Vec<u8>], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut result = 0;
    for arg in args {
        let arg = until_nul(arg);
        let mut matched = false;
        for &(name, v) in values {
            if arg.eq_ignore_ascii_case(name.as_bytes()) {
                result |= v;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(result)
}

fn enum_error(values: &[(&str, i32)]) -> String {
    let names: Vec<&str> = values.iter().map(|&(n, _)| n).collect();
    let mut msg = format!("argument(s) must be one of the following: {}", names.join(", "));
    // Redis formats this into a 256-byte buffer.
    if msg.len() > 255 {
        let mut cut = 255;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
    }
    msg
}

fn is_base_name(s: &[u8]) -> bool {
    !s.iter().any(|&b| b == b'/' || b == b'\\')
}

/// The result of a successful set: whether anything actually changed, which
/// is what decides if Redis runs the directive's apply step.
pub(crate) type Changed = bool;

pub(crate) fn one_arg(args: &[Vec<u8>]) -> Result<&[u8], String> {
    match args {
        [single] => Ok(single),
        _ => Err("wrong number of arguments".to_string()),
    }
}

impl Config {
    /// Sets table entry `index` from already-split arguments. On error the
    /// entry may be partly modified (the callers restore or abort), matching
    /// what Redis leaves behind before it restores or exits.
    pub(crate) fn set_entry(
        &mut self,
        index: usize,
        args: &[Vec<u8>],
        reading_config_file: bool,
    ) -> Result<Changed, String> {
        let Some(spec) = TABLE.get(index) else {
            return Err("unknown config".to_string());
        };
        let volatile = spec.has(VOLATILE);
        let new = match spec.kind {
            Kind::Bool { refuse_yes, .. } => {
                let v = yes_no(one_arg(args)?).ok_or("argument must be 'yes' or 'no'")?;
                if v && refuse_yes {
                    return Err("Active defragmentation cannot be enabled: it requires a Redis server compiled \
                                with a modified Jemalloc like the one shipped by default with the Redis source \
                                distribution"
                        .to_string());
                }
                Value::Bool(v)
            }
            Kind::Str { empty_is_null, binary, check, .. } => {
                let raw = one_arg(args)?;
                let raw = if binary { raw } else { until_nul(raw) };
                self.check_string(check, raw)?;
                Value::Str(if empty_is_null && raw.is_empty() { None } else { Some(raw.to_vec()) })
            }
            Kind::Enum { values, shutdown_flags, .. } => {
                let bitflags = spec.has(super::table::MULTI_ARG);
                let v = enum_parse(values, args, bitflags).ok_or_else(|| enum_error(values))?;
                if shutdown_flags && v & SHUTDOWN_SAVE != 0 && v & SHUTDOWN_NOSAVE != 0 {
                    return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
                }
                Value::Enum(v)
            }
            Kind::Num { min, max, unsigned, fmt, .. } => {
                let v = parse_number(fmt, one_arg(args)?)?;
                check_bounds(v, min, max, unsigned, fmt)?;
                Value::Num(v)
            }
            Kind::Special(which) => {
                return self.set_special(index, which, args, reading_config_file);
            }
        };
        let slot = self.values.get_mut(index).ok_or("unknown config")?;
        let changed = *slot != new || volatile;
        *slot = new;
        Ok(changed)
    }

    fn check_string(&self, check: StrCheck, v: &[u8]) -> Result<(), String> {
        let err = |m: &str| Err(m.to_string());
        match check {
            StrCheck::None => Ok(()),
            StrCheck::DbFilename if !is_base_name(v) => err("dbfilename can't be a path, just a filename"),
            StrCheck::AofFilename if v.is_empty() => err("appendfilename can't be empty"),
            StrCheck::AofFilename if !is_base_name(v) => err("appendfilename can't be a path, just a filename"),
            StrCheck::AofDirname if v.is_empty() => err("appenddirname can't be empty"),
            StrCheck::AofDirname if !is_base_name(v) => err("appenddirname can't be a path, just a dirname"),
            StrCheck::Hostname if v.len() >= 256 => err("Hostnames must be less than 256 characters"),
            StrCheck::Hostname if !v.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') => {
                err("Hostnames may only contain alphanumeric characters, hyphens or dots")
            }
            StrCheck::ProcTitleTemplate if !self.proc_title_template_is_valid(v) => {
                err("template format is invalid or contains unknown variables")
            }
            _ => Ok(()),
        }
    }

    /// Redis's `validateProcTitleTemplate`: every `{variable}` must be known
    /// and the expansion (with an empty title) must not be blank.
    fn proc_title_template_is_valid(&self, template: &[u8]) -> bool {
        self.expand_proc_title(template, "").is_some_and(|t| !t.is_empty())
    }

    /// Expand a `proc-title-template` (Redis's expandProcTitleTemplate): `{title}`, `{listen-addr}`,
    /// `{server-mode}`, `{config-file}`, `{port}`, `{tls-port}`, `{unixsocket}`, `{{` for a brace;
    /// trimmed of spaces. None for an unknown variable or an unclosed brace.
    pub fn expand_proc_title(&self, template: &[u8], title: &str) -> Option<String> {
        let mut expanded = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            let Some(open) = rest.iter().position(|&b| b == b'{') else {
                expanded.extend_from_slice(rest);
                break;
            };
            expanded.extend_from_slice(&rest[..open]);
            rest = &rest[open + 1..];
            match rest.first() {
                None => return None,
                Some(b'{') => {
                    expanded.push(b'{');
                    rest = &rest[1..];
                    continue;
                }
                Some(_) => {}
            }
            let close = rest.iter().position(|&b| b == b'}')?;
            let value = match &rest[..close] {
                b"title" => title.to_string(),
                b"server-mode" if self.cluster_enabled() => "[cluster]".to_string(),
                b"server-mode" => String::new(),
                b"listen-addr" if self.port() == 0 => {
                    format!("unixsocket:{}", self.unixsocket().unwrap_or_default())
                }
                b"listen-addr" => {
                    let addr = self.bind().first().map_or("*", String::as_str);
                    format!("{addr}:{}", self.port())
                }
                b"config-file" => self.config_file().unwrap_or("-").to_string(),
                b"port" => self.port().to_string(),
                b"tls-port" => "0".to_string(),
                b"unixsocket" => self.unixsocket().unwrap_or_default().to_string(),
                _ => return None,
            };
            expanded.extend_from_slice(value.as_bytes());
            rest = &rest[close + 1..];
        }
        Some(String::from_utf8_lossy(super::parse::trim_bytes(&expanded, b" ")).into_owned())
    }

    /// The CONFIG GET text of table entry `index`.
    pub(crate) fn format_entry(&self, index: usize) -> Vec<u8> {
        let (Some(spec), Some(value)) = (TABLE.get(index), self.values.get(index)) else {
            return Vec::new();
        };
        let text = match (value, spec.kind) {
            (Value::Bool(b), _) => (if *b { "yes" } else { "no" }).to_string(),
            (Value::Str(s), _) => return s.clone().unwrap_or_default(),
            (Value::Enum(v), Kind::Enum { values, .. }) => enum_name(values, *v, spec.has(super::table::MULTI_ARG)),
            (Value::Enum(v), _) => v.to_string(),
            (Value::Num(v), Kind::Num { fmt, .. }) => format_number(*v, fmt),
            (Value::Num(v), _) => v.to_string(),
            (Value::Dir, _) => std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default(),
            (Value::Save(points), _) => points.iter().map(|(s, c)| format!("{s} {c}")).collect::<Vec<_>>().join(" "),
            (Value::Bind(addrs), _) => addrs.join(" "),
            (Value::Obuf(limits), _) => limits
                .iter()
                .zip(OBUF_CLASS_NAMES)
                .map(|(l, name)| format!("{name} {} {} {}", l.hard_bytes, l.soft_bytes, l.soft_seconds))
                .collect::<Vec<_>>()
                .join(" "),
            (Value::Oom(v), _) => v.iter().map(i32::to_string).collect::<Vec<_>>().join(" "),
            (Value::Notify(flags), _) => notify_format(*flags),
            (Value::ReplicaOf(Some((host, port))), _) => format!("{host} {port}"),
            (Value::ReplicaOf(None), _) => String::new(),
            (Value::Percentiles(p), _) => {
                p.iter().map(|v| super::parse::format_trimmed_double(*v)).collect::<Vec<_>>().join(" ")
            }
        };
        text.into_bytes()
    }
}

pub(crate) fn format_number(v: i64, fmt: NumFmt) -> String {
    match fmt {
        NumFmt::MemoryOrPercent if v < 0 => format!("{}%", v.unsigned_abs()),
        NumFmt::Memory | NumFmt::MemoryOrPercent => (v as u64).to_string(),
        NumFmt::Octal => format!("{:o}", v as u64),
        NumFmt::Int => v.to_string(),
    }
}

fn parse_number(fmt: NumFmt, s: &[u8]) -> Result<i64, String> {
    let s = until_nul(s);
    if matches!(fmt, NumFmt::Memory | NumFmt::MemoryOrPercent)
        && let Some(v) = memtoull(s)
    {
        // Like C, values past i64::MAX keep their bit pattern.
        return Ok(v as i64);
    }
    if fmt == NumFmt::MemoryOrPercent
        && s.len() > 1
        && let Some(digits) = s.strip_suffix(b"%")
        && let Some(v) = string2ll(digits)
        && v >= 0
    {
        return Ok(-v);
    }
    if fmt == NumFmt::Octal {
        let r = strtoll(s, 8);
        if r.consumed_all && !r.overflow {
            return Ok(r.value);
        }
    }
    if fmt == NumFmt::Int
        && let Some(v) = string2ll(s)
    {
        return Ok(v);
    }
    Err(match fmt {
        NumFmt::MemoryOrPercent => "argument must be a memory or percent value",
        NumFmt::Memory => "argument must be a memory value",
        NumFmt::Octal => "argument couldn't be parsed as an octal number",
        NumFmt::Int => "argument couldn't be parsed into an integer",
    }
    .to_string())
}

fn check_bounds(v: i64, min: i64, max: i64, unsigned: bool, fmt: NumFmt) -> Result<(), String> {
    if unsigned {
        let (uv, umin, umax) = (v as u64, min as u64, max as u64);
        if uv > umax || uv < umin {
            return Err(if fmt == NumFmt::Octal {
                format!("argument must be between {umin:o} and {umax:o} inclusive")
            } else {
                format!("argument must be between {umin} and {umax} inclusive")
            });
        }
    } else if fmt == NumFmt::MemoryOrPercent && v < 0 {
        if v < min {
            return Err(format!("percentage argument must be less or equal to {}", min.unsigned_abs()));
        }
    } else if v > max || v < min {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::table::{MAXMEMORY_POLICY, index_of};

    fn set(cfg: &mut Config, name: &str, args: &[&str]) -> Result<Changed, String> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        cfg.set_entry(index_of(name), &args, false)
    }

    fn get(cfg: &Config, name: &str) -> String {
        String::from_utf8_lossy(&cfg.format_entry(index_of(name))).into_owned()
    }

    #[test]
    fn numbers_bounds_and_errors() {
        let mut c = Config::default();
        assert_eq!(set(&mut c, "port", &["x"]).unwrap_err(), "argument couldn't be parsed into an integer");
        assert_eq!(set(&mut c, "port", &["70000"]).unwrap_err(), "argument must be between 0 and 65535 inclusive");
        assert_eq!(set(&mut c, "maxmemory", &["-1"]).unwrap_err(), "argument must be a memory value");
        assert!(set(&mut c, "maxmemory", &["1gb"]).unwrap());
        assert!(!set(&mut c, "maxmemory", &["1073741824"]).unwrap());
        assert_eq!(get(&c, "maxmemory"), "1073741824");
        assert_eq!(
            set(&mut c, "maxmemory-clients", &["101%"]).unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        set(&mut c, "maxmemory-clients", &["10%"]).unwrap();
        assert_eq!(get(&c, "maxmemory-clients"), "10%");
        assert_eq!(
            set(&mut c, "unixsocketperm", &["999"]).unwrap_err(),
            "argument couldn't be parsed as an octal number"
        );
        assert_eq!(
            set(&mut c, "unixsocketperm", &["1000"]).unwrap_err(),
            "argument must be between 0 and 777 inclusive"
        );
        set(&mut c, "unixsocketperm", &["0700"]).unwrap();
        assert_eq!(get(&c, "unixsocketperm"), "700");
        assert_eq!(
            set(&mut c, "hash-max-listpack-entries", &["-1"]).unwrap_err(),
            "argument must be between 0 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            set(&mut c, "proto-max-bulk-len", &["1000"]).unwrap_err(),
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        );
    }

    #[test]
    fn enums() {
        let mut c = Config::default();
        assert_eq!(
            set(&mut c, "loglevel", &["xx"]).unwrap_err(),
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        );
        set(&mut c, "loglevel", &["WARNING"]).unwrap();
        assert_eq!(get(&c, "loglevel"), "warning");
        set(&mut c, "oom-score-adj", &["relative"]).unwrap();
        assert_eq!(get(&c, "oom-score-adj"), "yes");
        set(&mut c, "shutdown-on-sigint", &["now", "save"]).unwrap();
        assert_eq!(get(&c, "shutdown-on-sigint"), "save now");
        assert_eq!(
            set(&mut c, "shutdown-on-sigint", &["save", "nosave"]).unwrap_err(),
            "shutdown options SAVE and NOSAVE can't be used simultaneously"
        );
        assert_eq!(enum_name(MAXMEMORY_POLICY, 12345, false), "unknown");
    }

    #[test]
    fn strings() {
        let mut c = Config::default();
        assert_eq!(set(&mut c, "dbfilename", &["/x"]).unwrap_err(), "dbfilename can't be a path, just a filename");
        assert_eq!(set(&mut c, "appendfilename", &[""]).unwrap_err(), "appendfilename can't be empty");
        assert_eq!(
            set(&mut c, "proc-title-template", &["{title}"]).unwrap_err(),
            "template format is invalid or contains unknown variables"
        );
        assert!(set(&mut c, "proc-title-template", &["{title} {port}"]).is_ok());
        assert!(set(&mut c, "proc-title-template", &["{nope}"]).is_err());
        set(&mut c, "requirepass", &["a\0b"]).unwrap();
        assert_eq!(c.requirepass(), Some(&b"a\0b"[..]));
        set(&mut c, "requirepass", &[""]).unwrap();
        assert_eq!(c.requirepass(), None);
    }
}
