//! Every error a command can reply with, byte-identical to Redis 7.0.15's texts.
//!
//! Handlers return `Err(CmdError)`; the dispatcher turns it into the wire reply and counts it in
//! INFO errorstats, so no handler writes an error reply by hand. Texts carry their code (`ERR`,
//! `WRONGTYPE`, ...) and never the leading `-`.

use std::borrow::Cow;

/// An error reply: the full text after `-`, code first. Bytes, because Redis echoes client arguments
/// into some errors exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, [u8]>);

impl CmdError {
    pub fn text(&self) -> &[u8] {
        &self.0
    }

    /// The error code: the first word (`ERR`, `WRONGTYPE`, `NOAUTH`...), as INFO errorstats groups them.
    pub fn code(&self) -> String {
        let word = self.0.split(|&b| b == b' ').next().unwrap_or(b"ERR");
        String::from_utf8_lossy(word).into_owned()
    }

    /// The message without a leading `ERR ` (how Redis quotes a formatted error inside EXECABORT).
    pub fn without_err_code(&self) -> &[u8] {
        self.0.strip_prefix(b"ERR ").unwrap_or(&self.0)
    }

    /// An `ERR`-coded error from a message without a code.
    pub fn err(msg: impl std::fmt::Display) -> Self {
        CmdError::from(format!("ERR {msg}"))
    }
}

impl From<&'static str> for CmdError {
    fn from(s: &'static str) -> Self {
        CmdError(Cow::Borrowed(s.as_bytes()))
    }
}

impl From<String> for CmdError {
    fn from(s: String) -> Self {
        CmdError(Cow::Owned(s.into_bytes()))
    }
}

impl From<Vec<u8>> for CmdError {
    fn from(v: Vec<u8>) -> Self {
        CmdError(Cow::Owned(v))
    }
}

/// Bytes up to the first NUL: Redis formats arguments into errors with `%s`, which stops there.
pub fn c_string(s: &[u8]) -> &[u8] {
    match s.iter().position(|&b| b == 0) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// What a command handler returns.
pub type CmdResult = Result<(), CmdError>;

pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const AUTH_NOT_CONFIGURED: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const DB_INDEX_OUT_OF_RANGE: &str = "ERR DB index is out of range";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const WATCH_IN_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const LOADING: &str = "LOADING Redis is loading the dataset in memory";
pub const READONLY: &str = "READONLY You can't write against a read only replica.";
pub const MASTERDOWN: &str = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
pub const TIMEOUT_NOT_INTEGER: &str = "ERR timeout is not an integer or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

pub const NOPERM_KEYS: &str = "NOPERM this user has no permissions to access one of the keys used as arguments";
pub const NOPERM_CHANNELS: &str = "NOPERM this user has no permissions to access one of the channels used as arguments";

/// `NOPERM this user has no permissions to run the '<cmd>' command` (the full name, `client|kill`).
pub fn noperm_command(full_name: &str) -> CmdError {
    CmdError::from(format!("NOPERM this user has no permissions to run the '{full_name}' command"))
}

/// `ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP.`, the sub as
/// sent.
pub fn subcommand_syntax(cmd: &str, sub: &[u8]) -> CmdError {
    let sub = c_string(sub);
    let mut out = b"ERR unknown subcommand or wrong number of arguments for '".to_vec();
    out.extend_from_slice(&sub[..sub.len().min(128)]);
    out.extend_from_slice(format!("'. Try {} HELP.", cmd.to_ascii_uppercase()).as_bytes());
    CmdError::from(out)
}

/// `ERR wrong number of arguments for '<cmd>' command`.
pub fn wrong_arity(name: &str) -> CmdError {
    CmdError::from(format!("ERR wrong number of arguments for '{name}' command"))
}

/// `ERR invalid expire time in '<cmd>' command`.
pub fn invalid_expire(name: &str) -> CmdError {
    CmdError::from(format!("ERR invalid expire time in '{name}' command"))
}

/// `ERR unknown command '<name>', with args beginning with: '<a>' '<b>' `, each piece capped as Redis
/// does, with the client's bytes echoed as sent.
pub fn unknown_command<'a>(name: &[u8], args: impl Iterator<Item = &'a [u8]>) -> CmdError {
    let mut tail: Vec<u8> = Vec::new();
    for a in args {
        if tail.len() >= 128 {
            break;
        }
        let room = 128 - tail.len();
        let a = c_string(a);
        tail.push(b'\'');
        tail.extend_from_slice(&a[..a.len().min(room)]);
        tail.extend_from_slice(b"' ");
    }
    let name = c_string(name);
    let mut out = b"ERR unknown command '".to_vec();
    out.extend_from_slice(&name[..name.len().min(128)]);
    out.extend_from_slice(b"', with args beginning with: ");
    out.extend_from_slice(&tail);
    CmdError::from(out)
}

/// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CmdError {
    let sub = c_string(sub);
    let mut out = b"ERR unknown subcommand '".to_vec();
    out.extend_from_slice(&sub[..sub.len().min(128)]);
    out.extend_from_slice(format!("'. Try {} HELP.", cmd.to_ascii_uppercase()).as_bytes());
    CmdError::from(out)
}
