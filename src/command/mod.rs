//! The command table: every command with its arity, flags and key positions, in one place, built from
//! the `COMMANDS` list each family file exports. Lookup is by lowercase name; container commands (CONFIG,
//! CLIENT, OBJECT, ...) carry their subcommands as nested specs, as in Redis 7.
//!
//! Handlers receive the server, the calling client and the arguments; they write replies into the
//! client's buffer and return `Err(CmdError)` for error replies. The checks every command shares
//! (arity, AUTH, MULTI queueing, read-only replica...) live in `server::dispatch`, never in handlers.

pub mod acl_cmd;
pub mod bitops;
pub mod client_cmd;
pub mod config_cmd;
pub mod connection;
pub mod debug;
pub mod expire;
pub mod hash;
pub mod hyperloglog;
pub mod info;
pub mod introspection;
pub mod keys;
pub mod list;
pub mod memory;
pub mod migrate;
pub mod persistence_cmd;
pub mod pubsub;
pub mod replication_cmd;
pub mod scripting_cmd;
pub mod server_cmd;
pub mod set;
pub mod sort;
pub mod stream;
pub mod stream_group;
pub mod stream_read;
pub mod string;
pub mod transaction;
pub mod zset;

use std::collections::HashMap;

use crate::client::Client;
use crate::error::{CmdError, CmdResult, NOT_INTEGER};
use crate::numeric::parse_i64;
use crate::server::Server;

/// Command flags (a subset of Redis's CMD_* with the same meanings).
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    /// Allowed while loading the dataset.
    pub const LOADING: u32 = 1 << 7;
    /// Allowed on a replica whose master link is down with replica-serve-stale-data no.
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    /// Allowed before AUTH.
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Refused inside MULTI.
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    pub const SENTINEL: u32 = 1 << 16;
    pub const PROTECTED: u32 = 1 << 17;
    /// Refused while a replica loads its master's RDB asynchronously (the old dataset served).
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    /// May delete expired keys it happens upon (SCAN, RANDOMKEY): their deletions are propagated
    /// one by one, never as a transaction (Redis's hidden CMD_TOUCHES_ARBITRARY_KEYS).
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 19;

    /// The flag names COMMAND INFO replies, in Redis's order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// A command's arguments (index 0 is the command name). Out-of-range access yields an empty slice, so a
/// handler bug can never turn client input into a panic.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn new(buf: &'a [u8], ranges: &'a [(usize, usize)]) -> Self {
        Args { buf, ranges }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn get(&self, i: usize) -> &'a [u8] {
        match self.ranges.get(i) {
            Some(&(s, e)) => self.buf.get(s..e).unwrap_or(&[]),
            None => &[],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let buf = self.buf;
        self.ranges.iter().map(move |&(s, e)| buf.get(s..e).unwrap_or(&[]))
    }

    /// The arguments from `from` on, as an argv of their own (ACL DRYRUN's command).
    pub fn tail(&self, from: usize) -> Args<'a> {
        Args { buf: self.buf, ranges: self.ranges.get(from..).unwrap_or(&[]) }
    }

    /// Argument `i` equals `word`, ignoring ASCII case.
    pub fn is(&self, i: usize, word: &str) -> bool {
        self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }

    /// Argument `i` as a strict 64-bit integer.
    pub fn i64(&self, i: usize) -> Result<i64, CmdError> {
        parse_i64(self.get(i)).ok_or(CmdError::from(NOT_INTEGER))
    }

    /// The command name in lowercase, for error texts (never on a hot path).
    pub fn name_lower(&self) -> String {
        String::from_utf8_lossy(self.get(0)).to_ascii_lowercase()
    }

    /// The arguments packed into an owned buffer (MULTI queue, propagation).
    pub fn to_owned_parts(&self) -> (Vec<u8>, Vec<(usize, usize)>) {
        pack_args(self.iter())
    }
}

/// Arguments packed into one buffer plus their ranges, the shape [`Args`] reads.
pub fn pack_args<'a>(args: impl Iterator<Item = &'a [u8]>) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for a in args {
        ranges.push((buf.len(), buf.len() + a.len()));
        buf.extend_from_slice(a);
    }
    (buf, ranges)
}

/// Keys given as `numkeys key [key ...]` with the count at `at` (LMPOP, ZUNION, SINTERCARD, ...),
/// plus `first` keys named before it (ZUNIONSTORE's destination). Bad counts find no keys.
pub fn numkeys_positions(args: &Args, at: usize, first: &[usize]) -> Vec<usize> {
    let mut out = first.to_vec();
    match parse_i64(args.get(at)) {
        Some(n) if n > 0 && (at as i64 + n) < args.len() as i64 => out.extend(at + 1..=at + n as usize),
        _ => return Vec::new(),
    }
    out
}

/// A HELP reply in Redis's layout: a header line, the given lines, then the HELP entry itself.
pub fn reply_help(c: &mut Client, cmd: &str, lines: &[&str]) {
    c.reply.array(lines.len() + 3);
    c.reply.simple(format!("{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:").as_bytes());
    for l in lines {
        c.reply.simple(l.as_bytes());
    }
    c.reply.simple(b"HELP");
    c.reply.simple(b"    Prints this help.");
}

pub type Handler = fn(&mut Server, &mut Client, &Args) -> CmdResult;

/// Which arguments are keys: first, last (negative counts from the end), step; 0 = no keys.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

pub const NO_KEYS: KeySpec = KeySpec { first: 0, last: 0, step: 0 };
pub const KEY1: KeySpec = KeySpec { first: 1, last: 1, step: 1 };
pub const KEYS_ALL: KeySpec = KeySpec { first: 1, last: -1, step: 1 };
pub const KEYS_PAIRS: KeySpec = KeySpec { first: 1, last: -1, step: 2 };
pub const KEY1_2: KeySpec = KeySpec { first: 1, last: 2, step: 1 };

/// What a command does with one of its keys, for `%R~` / `%W~` key permissions: Redis's key-spec
/// flags reduced to the two ACL cares about (ACCESS reads the value; INSERT, DELETE and UPDATE
/// write it). Neither means the command only looks at the key's existence, type or size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPerm(u8);

impl KeyPerm {
    pub const NONE: KeyPerm = KeyPerm(0);
    pub const READ: KeyPerm = KeyPerm(1);
    pub const WRITE: KeyPerm = KeyPerm(2);
    pub const READ_WRITE: KeyPerm = KeyPerm(3);

    /// Whether every permission in `needed` is in `self`.
    pub fn covers(self, needed: KeyPerm) -> bool {
        self.0 & needed.0 == needed.0
    }

    pub fn union(self, other: KeyPerm) -> KeyPerm {
        KeyPerm(self.0 | other.0)
    }
}

/// How a command touches the keys `keys_in` finds, in their order.
#[derive(Debug, Clone, Copy)]
pub enum KeyAccess {
    /// Every key the same way.
    Same(KeyPerm),
    /// The first key one way and the others another (COPY reads its source and writes its
    /// destination; SINTERSTORE writes its destination and reads the rest).
    FirstThen(KeyPerm, KeyPerm),
    /// Decided by the arguments (SET reads its key only with GET, BITFIELD writes only with SET or
    /// INCRBY), like Redis's key specs flagged VARIABLE_FLAGS.
    ByArgs(fn(&Args) -> KeyPerm),
    /// The positions are not keys at all (shard channels, found only for cluster slots).
    NotKeys,
}

impl KeyAccess {
    /// What the key at `index` (its place in `keys_in`'s list) needs; `None` when the positions are
    /// not keys.
    pub fn perm(&self, index: usize, args: &Args) -> Option<KeyPerm> {
        match *self {
            KeyAccess::Same(p) => Some(p),
            KeyAccess::FirstThen(first, _) if index == 0 => Some(first),
            KeyAccess::FirstThen(_, rest) => Some(rest),
            KeyAccess::ByArgs(f) => Some(f(args)),
            KeyAccess::NotKeys => None,
        }
    }
}

/// The value of every key is read.
pub const READS: KeyAccess = KeyAccess::Same(KeyPerm::READ);
/// Every key is written without its value being read (LPUSH, DEL, MSET).
pub const WRITES: KeyAccess = KeyAccess::Same(KeyPerm::WRITE);
/// Every key is read and written (INCR, LPOP).
pub const READS_WRITES: KeyAccess = KeyAccess::Same(KeyPerm::READ_WRITE);
/// Only a key's existence, type or size is looked at (EXISTS, TYPE, STRLEN): any key pattern
/// grants it.
pub const METADATA_ONLY: KeyAccess = KeyAccess::Same(KeyPerm::NONE);

/// Which arguments name Pub/Sub channels, for `&pattern` channel permissions (Redis's
/// `commands_with_channels`). Unsubscribing is never restricted, so those commands name none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelArgs {
    None,
    /// Argument 1 is published to (PUBLISH, SPUBLISH).
    Publish,
    /// Every argument is a channel subscribed to (SUBSCRIBE, SSUBSCRIBE).
    Subscribe,
    /// Every argument is a pattern subscribed to (PSUBSCRIBE): matched literally against the
    /// user's channel patterns.
    SubscribePattern,
}

impl ChannelArgs {
    /// The argument indexes naming channels in an argv of `argc` arguments.
    pub fn positions(self, argc: usize) -> std::ops::Range<usize> {
        match self {
            ChannelArgs::None => 0..0,
            ChannelArgs::Publish => 1..argc.min(2),
            ChannelArgs::Subscribe | ChannelArgs::SubscribePattern => 1..argc.max(1),
        }
    }
}

/// One entry of the command table.
pub struct CommandSpec {
    pub name: &'static str,
    /// Exact argument count when positive, minimum when negative (Redis's convention).
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    pub handler: Handler,
    /// Redis's command group (COMMAND DOCS), e.g. "string", "generic", "server".
    pub group: &'static str,
    pub subcommands: &'static [CommandSpec],
    /// For commands whose keys move with their arguments (a numkeys count, SORT's STORE): finds
    /// them in a concrete argv, as Redis's getkeys_proc does.
    pub getkeys: Option<fn(&Args) -> Vec<usize>>,
    /// The ACL categories Redis declares for the command (`crate::acl::category`); those its flags
    /// imply are added when the table is built (`Command::acl_categories`).
    pub acl_categories: u64,
    /// How the command touches its keys, for `%R~`/`%W~` permissions. The default, read and write,
    /// asks the most of a user.
    pub key_access: KeyAccess,
    /// Which arguments are Pub/Sub channels, for `&` permissions.
    pub channels: ChannelArgs,
}

impl CommandSpec {
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: KeySpec,
        group: &'static str,
        handler: Handler,
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            keys,
            handler,
            group,
            subcommands: &[],
            getkeys: None,
            acl_categories: 0,
            key_access: READS_WRITES,
            channels: ChannelArgs::None,
        }
    }

    /// The same entry with a key finder for movable keys.
    pub const fn with_getkeys(mut self, f: fn(&Args) -> Vec<usize>) -> Self {
        self.getkeys = Some(f);
        self
    }

    /// The same entry in the ACL categories Redis declares for it (`crate::acl::category`).
    pub const fn acl(mut self, categories: u64) -> Self {
        self.acl_categories = categories;
        self
    }

    /// The same entry with how it touches its keys.
    pub const fn access(mut self, key_access: KeyAccess) -> Self {
        self.key_access = key_access;
        self
    }

    /// The same entry naming Pub/Sub channels in its arguments.
    pub const fn channels(mut self, channels: ChannelArgs) -> Self {
        self.channels = channels;
        self
    }

    pub const fn container(
        name: &'static str,
        arity: i32,
        flags: u32,
        group: &'static str,
        subcommands: &'static [CommandSpec],
    ) -> Self {
        CommandSpec {
            name,
            arity,
            flags,
            keys: NO_KEYS,
            handler: container_without_subcommand,
            group,
            subcommands,
            getkeys: None,
            acl_categories: 0,
            key_access: READS_WRITES,
            channels: ChannelArgs::None,
        }
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity > 0 { argc == arity } else { argc >= -arity }
    }

    /// Indexes of the key arguments in a concrete argv (movable keys included).
    pub fn keys_in(&self, args: &Args) -> Vec<usize> {
        match self.getkeys {
            Some(f) => f(args),
            None => self.key_positions(args.len()),
        }
    }

    /// Indexes of the key arguments for `argc` arguments.
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        let k = self.keys;
        if k.first <= 0 || k.step <= 0 {
            return Vec::new();
        }
        let last = if k.last < 0 { argc as i32 + k.last } else { k.last.min(argc as i32 - 1) };
        (k.first..=last).step_by(k.step as usize).map(|i| i as usize).collect()
    }
}

/// A container called without a subcommand never gets here (arity catches it); kept for the table shape.
fn container_without_subcommand(_: &mut Server, _: &mut Client, _: &Args) -> CmdResult {
    Err(crate::error::SYNTAX.into())
}

/// The command table's hasher: FNV-1a over the lowercase name. The table is fixed at startup and
/// never grows, so a client cannot flood it with colliding names, and SipHash's cost on every
/// command buys nothing here.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type NameMap = HashMap<Vec<u8>, usize, std::hash::BuildHasherDefault<NameHasher>>;

/// A resolved table entry: the spec plus its full name (`config|get`) and stats slot.
pub struct Command {
    pub spec: &'static CommandSpec,
    pub full_name: String,
    /// Its place in the table: the stats slot and the bit ACL permissions keep for it.
    pub id: usize,
    pub parent: Option<usize>,
    /// Every ACL category it is in: the declared ones plus those its flags imply.
    pub acl_categories: u64,
    subs: NameMap,
}

/// The command table, built once at startup from every family's `COMMANDS`.
pub struct CommandTable {
    pub commands: Vec<Command>,
    top: NameMap,
}

/// The outcome of resolving argv to a command.
pub enum Lookup<'a> {
    Found(&'a Command),
    Unknown,
    /// A container with an unknown subcommand.
    UnknownSubcommand(&'a Command),
}

impl CommandTable {
    pub fn build() -> Self {
        let families: &[&'static [CommandSpec]] = &[
            connection::COMMANDS,
            acl_cmd::COMMANDS,
            string::COMMANDS,
            bitops::COMMANDS,
            keys::COMMANDS,
            expire::COMMANDS,
            transaction::COMMANDS,
            server_cmd::COMMANDS,
            info::COMMANDS,
            config_cmd::COMMANDS,
            client_cmd::COMMANDS,
            introspection::COMMANDS,
            debug::COMMANDS,
            pubsub::COMMANDS,
            list::COMMANDS,
            sort::COMMANDS,
            hash::COMMANDS,
            set::COMMANDS,
            zset::COMMANDS,
            stream::COMMANDS,
            hyperloglog::COMMANDS,
            persistence_cmd::COMMANDS,
            migrate::COMMANDS,
            replication_cmd::COMMANDS,
            scripting_cmd::COMMANDS,
            memory::COMMANDS,
        ];
        let mut table = CommandTable { commands: Vec::new(), top: NameMap::default() };
        for family in families {
            for spec in family.iter() {
                let id = table.add(spec, spec.name.to_string(), None);
                table.top.insert(spec.name.as_bytes().to_vec(), id);
                for sub in spec.subcommands {
                    let sid = table.add(sub, format!("{}|{}", spec.name, sub.name), Some(id));
                    table.commands[id].subs.insert(sub.name.as_bytes().to_vec(), sid);
                }
            }
        }
        table
    }

    fn add(&mut self, spec: &'static CommandSpec, full_name: String, parent: Option<usize>) -> usize {
        let id = self.commands.len();
        let acl_categories = crate::acl::category::with_implied(spec.acl_categories, spec.flags);
        self.commands.push(Command { spec, full_name, id, parent, acl_categories, subs: NameMap::default() });
        id
    }

    fn find(map: &NameMap, name: &[u8]) -> Option<usize> {
        let mut lower = [0u8; 64];
        let n = name.len();
        if n > lower.len() {
            return None;
        }
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        map.get(&lower[..n]).copied()
    }

    /// Top-level command by name, ignoring case.
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        Self::find(&self.top, name).map(|id| &self.commands[id])
    }

    /// Resolve a whole argv: containers descend into their subcommand when there is one.
    pub fn lookup(&self, args: &Args) -> Lookup<'_> {
        let Some(cmd) = self.get(args.get(0)) else { return Lookup::Unknown };
        if cmd.spec.subcommands.is_empty() || args.len() < 2 {
            return Lookup::Found(cmd);
        }
        match Self::find(&cmd.subs, args.get(1)) {
            Some(id) => Lookup::Found(&self.commands[id]),
            None => Lookup::UnknownSubcommand(cmd),
        }
    }

    /// Subcommand of a container by name.
    pub fn sub(&self, parent: &Command, name: &[u8]) -> Option<&Command> {
        Self::find(&parent.subs, name).map(|id| &self.commands[id])
    }

    /// Top-level commands (COMMAND, COMMAND COUNT).
    pub fn top_level(&self) -> impl Iterator<Item = &Command> {
        self.commands.iter().filter(|c| c.parent.is_none())
    }

    pub fn children<'a>(&'a self, parent: &'a Command) -> impl Iterator<Item = &'a Command> + 'a {
        self.commands.iter().filter(move |c| c.parent == Some(parent.id))
    }
}
