//! Selectors (Redis 7.0's `aclSelector`): one set of permissions, the commands a user may run with
//! the keys and channels they may name. Every user has a root selector; `(...)` rules add more, and
//! a command is allowed when any one selector allows all of it.
//!
//! Rules are parsed here (`+get`, `-@string`, `~key*`, `%R~pattern`, `&channel`, ...) with
//! Redis's precedence and errors; commands are found in the original command table, by the id that
//! indexes each selector's bitmap.

use super::RuleError;
use super::category;
use crate::command::{Args, ChannelArgs, Command, CommandTable, KeyAccess, KeyPerm, flags};
use crate::glob::string_match;

/// Bits in a command bitmap: one per table entry, plus Redis's reserved last bit, which only +@all
/// (or `allcommands`) sets, so that a description can tell "+@all minus some" from "some".
const COMMAND_BITS: usize = 1024;
const FUTURE_COMMANDS_BIT: usize = COMMAND_BITS - 1;

/// Which commands a selector allows, by command id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandBits([u64; COMMAND_BITS / 64]);

impl CommandBits {
    pub(crate) const NONE: CommandBits = CommandBits([0; COMMAND_BITS / 64]);
    const ALL: CommandBits = CommandBits([u64::MAX; COMMAND_BITS / 64]);

    /// Ids past the bitmap are never allowed (the table is checked to fit, see the tests).
    pub(crate) fn get(&self, id: usize) -> bool {
        id < FUTURE_COMMANDS_BIT && self.0[id / 64] & (1 << (id % 64)) != 0
    }

    fn set(&mut self, id: usize, on: bool) {
        if id >= FUTURE_COMMANDS_BIT {
            return;
        }
        if on {
            self.0[id / 64] |= 1 << (id % 64);
        } else {
            self.0[id / 64] &= !(1 << (id % 64));
        }
    }

    pub(crate) fn allows_future_commands(&self) -> bool {
        self.0[FUTURE_COMMANDS_BIT / 64] & (1 << (FUTURE_COMMANDS_BIT % 64)) != 0
    }
}

/// A key pattern with the access it grants (`~` both, `%R~` read, `%W~` write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPattern {
    pub perm: KeyPerm,
    pub pattern: Vec<u8>,
}

impl KeyPattern {
    /// The pattern as a rule: `~p`, `%R~p` or `%W~p`.
    pub fn rule(&self) -> Vec<u8> {
        let prefix: &[u8] = match self.perm {
            KeyPerm::READ => b"%R~",
            KeyPerm::WRITE => b"%W~",
            _ => b"~",
        };
        [prefix, &self.pattern].concat()
    }
}

/// Why a selector (or a user, across its selectors) refuses a command. The argument index names
/// the key or channel that was refused, for the ACL log and ACL DRYRUN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denial {
    /// Redis's ranking when several selectors refuse: a channel beats a key beats the command, and
    /// between two of a kind the later argument wins.
    pub(crate) fn rank(self) -> (u8, usize) {
        match self {
            Denial::Command => (1, 0),
            Denial::Key(i) => (2, i),
            Denial::Channel(i) => (4, i),
        }
    }
}

/// One set of permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The user's own permissions rather than a `(...)` one: `clearselectors` keeps it.
    pub(crate) root: bool,
    pub(crate) all_keys: bool,
    pub(crate) all_channels: bool,
    /// Every command, without looking at the bitmap (cleared by any `-` rule).
    pub(crate) all_commands: bool,
    pub(crate) allowed: CommandBits,
    /// First arguments allowed for commands whose bit is off (`+select|0`), by command id.
    pub(crate) first_args: Vec<(usize, Vec<Vec<u8>>)>,
    pub(crate) keys: Vec<KeyPattern>,
    pub(crate) channels: Vec<Vec<u8>>,
}

/// Redis refuses spaces and NULs in names and patterns: they could not be written back as rules.
pub(crate) fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
}

/// A command by the name a rule gives it: `name` or `container|sub`, nothing deeper, a container's
/// subcommand only by its full name (Redis's strict lookup, which ignores rename-command).
pub(crate) fn lookup_command<'t>(table: &'t CommandTable, name: &[u8]) -> Option<&'t Command> {
    let mut parts = name.split(|&b| b == b'|');
    let top = table.get(parts.next()?)?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(top),
        (Some(sub), None) if !top.spec.subcommands.is_empty() => table.sub(top, sub),
        _ => None,
    }
}

impl Selector {
    /// A selector that allows nothing; channels follow `acl-pubsub-default` (`all_channels`).
    pub fn new(root: bool, all_channels: bool) -> Self {
        Selector {
            root,
            all_keys: false,
            all_channels,
            all_commands: false,
            allowed: CommandBits::NONE,
            first_args: Vec::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    /// Whether this selector allows everything, so checks can stop at once (the default user).
    pub fn allows_everything(&self) -> bool {
        self.all_commands && self.all_keys && self.all_channels
    }

    /// Apply one rule (ACLSetSelector). On error the selector may be half changed: callers work
    /// on a copy.
    pub fn apply(&mut self, op: &[u8], table: &CommandTable) -> Result<(), RuleError> {
        let is = |word: &str| op.eq_ignore_ascii_case(word.as_bytes());
        if is("allkeys") || is("~*") {
            self.all_keys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.all_keys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.all_channels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.all_channels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.allowed = CommandBits::ALL;
            self.all_commands = true;
            self.first_args.clear();
        } else if is("nocommands") || is("-@all") {
            self.allowed = CommandBits::NONE;
            self.all_commands = false;
            self.first_args.clear();
        } else if let Some(&(b'~' | b'%')) = op.first() {
            self.add_key_pattern(op)?;
        } else if let Some(pattern) = op.strip_prefix(b"&") {
            if self.all_channels {
                return Err(RuleError::ChannelPatternAfterAll);
            }
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.all_channels = false;
        } else if let Some(category) = op.strip_prefix(b"+@").or_else(|| op.strip_prefix(b"-@")) {
            let cat = category::by_name(category).ok_or(RuleError::UnknownCommand)?;
            self.set_category(cat, op[0] == b'+', table);
        } else if let Some(name) = op.strip_prefix(b"+") {
            self.allow_command(name, table)?;
        } else if let Some(name) = op.strip_prefix(b"-") {
            let cmd = lookup_command(table, name).ok_or(RuleError::UnknownCommand)?;
            self.change_command(cmd, false, table);
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `~pattern`, or `%R~` / `%W~` / `%RW~` with the access spelled out.
    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.all_keys {
            return Err(RuleError::KeyPatternAfterAll);
        }
        let (perm, pattern) = if op[0] == b'%' {
            let mut perm = KeyPerm::NONE;
            let mut offset = 1;
            while offset < op.len() {
                match op[offset].to_ascii_uppercase() {
                    b'R' if !perm.covers(KeyPerm::READ) => perm = perm.union(KeyPerm::READ),
                    b'W' if !perm.covers(KeyPerm::WRITE) => perm = perm.union(KeyPerm::WRITE),
                    b'~' => {
                        offset += 1;
                        break;
                    }
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
            // `%RW` without `~` is accepted, as by Redis, as an empty pattern.
            if perm == KeyPerm::NONE {
                return Err(RuleError::Syntax);
            }
            (perm, &op[offset.min(op.len())..])
        } else {
            (KeyPerm::READ_WRITE, &op[1..])
        };
        if has_spaces(pattern) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(existing) => existing.perm = existing.perm.union(perm),
            None => self.keys.push(KeyPattern { perm, pattern: pattern.to_vec() }),
        }
        self.all_keys = false;
        Ok(())
    }

    /// `+command`, `+container|sub`, or `+command|first-arg` for a command without subcommands.
    fn allow_command(&mut self, name: &[u8], table: &CommandTable) -> Result<(), RuleError> {
        let Some(bar) = name.iter().rposition(|&b| b == b'|') else {
            let cmd = lookup_command(table, name).ok_or(RuleError::UnknownCommand)?;
            self.change_command(cmd, true, table);
            return Ok(());
        };
        let (base, first_arg) = (&name[..bar], &name[bar + 1..]);
        let cmd = lookup_command(table, base).ok_or(RuleError::UnknownCommand)?;
        if cmd.parent.is_some() {
            return Err(RuleError::FirstArgOfSubcommand);
        }
        if first_arg.is_empty() {
            return Err(RuleError::Syntax);
        }
        if !cmd.spec.subcommands.is_empty() {
            let sub = lookup_command(table, name).ok_or(RuleError::UnknownCommand)?;
            self.change_command(sub, true, table);
            return Ok(());
        }
        log::warn!(
            "Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{})",
            String::from_utf8_lossy(name)
        );
        let entry = match self.first_args.iter().position(|(id, _)| *id == cmd.id) {
            Some(i) => &mut self.first_args[i].1,
            None => {
                self.first_args.push((cmd.id, Vec::new()));
                let last = self.first_args.len() - 1;
                &mut self.first_args[last].1
            }
        };
        if !entry.iter().any(|a| a.eq_ignore_ascii_case(first_arg)) {
            entry.push(first_arg.to_vec());
        }
        Ok(())
    }

    /// Allow or deny one command; a container takes its subcommands along (ACLChangeSelectorPerm).
    pub(crate) fn change_command(&mut self, cmd: &Command, allow: bool, table: &CommandTable) {
        self.set_bit(cmd.id, allow);
        self.first_args.retain(|(id, _)| *id != cmd.id);
        if !cmd.spec.subcommands.is_empty() {
            for sub in table.children(cmd) {
                self.set_bit(sub.id, allow);
            }
        }
    }

    fn set_bit(&mut self, id: usize, allow: bool) {
        self.allowed.set(id, allow);
        if !allow {
            self.all_commands = false;
        }
    }

    /// `+@category` / `-@category`: every command in it, containers with their subcommands.
    pub(crate) fn set_category(&mut self, cat: u64, allow: bool, table: &CommandTable) {
        for cmd in &table.commands {
            if cmd.acl_categories & cat != 0 {
                self.change_command(cmd, allow, table);
            }
        }
    }

    /// How many commands of a category this selector allows and denies.
    pub(crate) fn count_category(&self, cat: u64, table: &CommandTable) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for cmd in table.commands.iter().filter(|c| c.acl_categories & cat != 0) {
            if self.allowed.get(cmd.id) {
                on += 1;
            } else {
                off += 1;
            }
        }
        (on, off)
    }

    /// Whether this selector lets `cmd` run with these arguments (ACLSelectorCheckCmd). `keys`
    /// caches the key positions between selectors.
    pub fn check(&self, cmd: &Command, args: &Args, keys: &mut Option<Vec<usize>>) -> Result<(), Denial> {
        if !self.all_commands && !cmd.spec.has(flags::NO_AUTH) && !self.allowed.get(cmd.id) {
            let first_arg = args.get(if cmd.parent.is_some() { 2 } else { 1 });
            let allowed_by_first_arg = args.len() >= 2
                && self
                    .first_args
                    .iter()
                    .find(|(id, _)| *id == cmd.id)
                    .is_some_and(|(_, list)| list.iter().any(|a| a.eq_ignore_ascii_case(first_arg)));
            if !allowed_by_first_arg {
                return Err(Denial::Command);
            }
        }
        if !self.all_keys && !matches!(cmd.spec.key_access, KeyAccess::NotKeys) {
            let positions = keys.get_or_insert_with(|| cmd.spec.keys_in(args));
            for (i, &pos) in positions.iter().enumerate() {
                let needed = cmd.spec.key_access.perm(i, args).unwrap_or(KeyPerm::NONE);
                if !self.key_allowed(args.get(pos), needed) {
                    return Err(Denial::Key(pos));
                }
            }
        }
        if !self.all_channels && cmd.spec.channels != ChannelArgs::None {
            let is_pattern = cmd.spec.channels == ChannelArgs::SubscribePattern;
            for pos in cmd.spec.channels.positions(args.len()) {
                if !self.channel_allowed(args.get(pos), is_pattern) {
                    return Err(Denial::Channel(pos));
                }
            }
        }
        Ok(())
    }

    /// Whether some key pattern grants `needed` on `key` (ACLSelectorCheckKey).
    pub fn key_allowed(&self, key: &[u8], needed: KeyPerm) -> bool {
        self.all_keys || self.keys.iter().any(|k| k.perm.covers(needed) && string_match(&k.pattern, key, false))
    }

    /// Whether `*` itself is granted with `needed` (SORT's BY and GET may touch any key).
    pub fn has_unrestricted_key_access(&self, needed: KeyPerm) -> bool {
        self.all_keys || self.keys.iter().any(|k| k.perm.covers(needed) && k.pattern == b"*")
    }

    /// Whether `channel` may be used. A channel (PUBLISH, SUBSCRIBE) is matched against the
    /// patterns; a pattern (PSUBSCRIBE) must equal one of them literally, or it could reach more.
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.all_channels || channel_in_list(&self.channels, channel, is_pattern)
    }

    /// The key patterns as ACL GETUSER shows them: `~*` for all keys, otherwise the rules joined by
    /// spaces (empty for none).
    pub fn keys_text(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        self.keys.iter().map(KeyPattern::rule).collect::<Vec<_>>().join(&b' ')
    }

    /// The channel patterns as ACL GETUSER shows them: `&*`, or `&a &b`.
    pub fn channels_text(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        self.channels.iter().map(|c| [b"&".as_slice(), c].concat()).collect::<Vec<_>>().join(&b' ')
    }

    /// The whole selector as rules (ACLDescribeSelector): keys, channels, then commands.
    pub fn describe(&self, table: &CommandTable) -> Vec<u8> {
        let mut out = Vec::new();
        if self.all_keys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                out.extend_from_slice(&k.rule());
                out.push(b' ');
            }
        }
        if self.all_channels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(super::describe::command_rules(self, table).as_bytes());
        out
    }
}

/// A channel against a list of channel patterns (ACLCheckChannelAgainstList).
pub(crate) fn channel_in_list(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| if is_pattern { p == channel } else { string_match(p, channel, false) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandTable;

    fn args(parts: &[&str]) -> (Vec<u8>, Vec<(usize, usize)>) {
        let mut buf = Vec::new();
        let mut ranges = Vec::new();
        for p in parts {
            ranges.push((buf.len(), buf.len() + p.len()));
            buf.extend_from_slice(p.as_bytes());
        }
        (buf, ranges)
    }

    fn check(sel: &Selector, table: &CommandTable, parts: &[&str]) -> Result<(), Denial> {
        let (buf, ranges) = args(parts);
        let a = Args::new(&buf, &ranges);
        let cmd = match table.lookup(&a) {
            crate::command::Lookup::Found(cmd) => cmd,
            _ => panic!("no such command {parts:?}"),
        };
        sel.check(cmd, &a, &mut None)
    }

    fn selector(rules: &[&str], table: &CommandTable) -> Result<Selector, RuleError> {
        let mut s = Selector::new(true, false);
        for r in rules {
            s.apply(r.as_bytes(), table)?;
        }
        Ok(s)
    }

    #[test]
    fn the_table_fits_the_bitmap() {
        assert!(CommandTable::build().commands.len() < FUTURE_COMMANDS_BIT);
    }

    #[test]
    fn commands_categories_and_subcommands() {
        let t = CommandTable::build();
        let s = selector(&["+@all", "-@string", "+incr", "-client|kill"], &t).unwrap();
        assert_eq!(check(&s, &t, &["get", "k"]), Err(Denial::Command));
        assert_eq!(check(&s, &t, &["incr", "k"]), Err(Denial::Key(1)));
        assert_eq!(check(&s, &t, &["client", "kill", "x"]), Err(Denial::Command));
        let s = selector(&["+@all", "-@string", "+incr", "allkeys"], &t).unwrap();
        assert_eq!(check(&s, &t, &["incr", "k"]), Ok(()));
        assert_eq!(check(&s, &t, &["client", "id"]), Ok(()));
        // NO_AUTH commands are never refused.
        let none = selector(&[], &t).unwrap();
        assert_eq!(check(&none, &t, &["auth", "a", "b"]), Ok(()));
        assert_eq!(check(&none, &t, &["ping"]), Err(Denial::Command));
    }

    #[test]
    fn first_args_of_plain_commands_only() {
        let t = CommandTable::build();
        let s = selector(&["+select|0", "allkeys"], &t).unwrap();
        assert_eq!(check(&s, &t, &["select", "0"]), Ok(()));
        assert_eq!(check(&s, &t, &["select", "1"]), Err(Denial::Command));
        assert_eq!(selector(&["+config|get|x"], &t), Err(RuleError::FirstArgOfSubcommand));
        assert_eq!(selector(&["+config|nosuch"], &t), Err(RuleError::UnknownCommand));
        assert_eq!(selector(&["+get|a|b"], &t), Err(RuleError::UnknownCommand));
        assert_eq!(selector(&["-select|0"], &t), Err(RuleError::UnknownCommand));
        assert_eq!(selector(&["+debug|"], &t), Err(RuleError::Syntax));
        assert_eq!(selector(&["+@nosuch"], &t), Err(RuleError::UnknownCommand));
        assert_eq!(selector(&["bogus"], &t), Err(RuleError::Syntax));
    }

    #[test]
    fn key_patterns_by_access() {
        let t = CommandTable::build();
        let s = selector(&["+@all", "%R~read*", "%W~write*", "~rw*"], &t).unwrap();
        assert_eq!(check(&s, &t, &["get", "read1"]), Ok(()));
        assert_eq!(check(&s, &t, &["get", "write1"]), Err(Denial::Key(1)));
        assert_eq!(check(&s, &t, &["lpush", "write1", "x"]), Ok(()));
        assert_eq!(check(&s, &t, &["incr", "read1"]), Err(Denial::Key(1)));
        assert_eq!(check(&s, &t, &["incr", "rw1"]), Ok(()));
        assert_eq!(check(&s, &t, &["copy", "read", "write"]), Ok(()));
        assert_eq!(check(&s, &t, &["copy", "write", "read"]), Err(Denial::Key(1)));
        // Metadata-only commands take any pattern.
        assert_eq!(check(&s, &t, &["exists", "read", "write"]), Ok(()));
        assert_eq!(check(&s, &t, &["exists", "nothing"]), Err(Denial::Key(1)));
        // SET reads only with GET.
        assert_eq!(check(&s, &t, &["set", "write1", "v"]), Ok(()));
        assert_eq!(check(&s, &t, &["set", "write1", "v", "get"]), Err(Denial::Key(1)));
        assert_eq!(check(&s, &t, &["bitfield", "read1", "get", "u4", "0"]), Ok(()));
        assert_eq!(check(&s, &t, &["bitfield", "read1", "set", "u4", "0", "1"]), Err(Denial::Key(1)));
    }

    #[test]
    fn key_pattern_rules() {
        let t = CommandTable::build();
        let s = selector(&["%R~foo", "%W~foo", "%RW~bar"], &t).unwrap();
        assert_eq!(s.keys_text(), b"~foo ~bar");
        assert_eq!(selector(&["%"], &t), Err(RuleError::Syntax));
        assert_eq!(selector(&["%~"], &t), Err(RuleError::Syntax));
        assert_eq!(selector(&["%RR~x"], &t), Err(RuleError::Syntax));
        assert_eq!(selector(&["%X~x"], &t), Err(RuleError::Syntax));
        assert_eq!(selector(&["~a b"], &t), Err(RuleError::Syntax));
        assert_eq!(selector(&["allkeys", "~x"], &t), Err(RuleError::KeyPatternAfterAll));
        assert_eq!(selector(&["%RW"], &t).unwrap().keys_text(), b"~");
    }

    #[test]
    fn channels_and_patterns() {
        let t = CommandTable::build();
        let s = selector(&["+@all", "&foo:*", "&bar"], &t).unwrap();
        assert_eq!(check(&s, &t, &["publish", "foo:1", "m"]), Ok(()));
        assert_eq!(check(&s, &t, &["publish", "zap", "m"]), Err(Denial::Channel(1)));
        assert_eq!(check(&s, &t, &["subscribe", "bar", "zap"]), Err(Denial::Channel(2)));
        assert_eq!(check(&s, &t, &["psubscribe", "foo:*"]), Ok(()));
        assert_eq!(check(&s, &t, &["psubscribe", "foo:1"]), Err(Denial::Channel(1)));
        assert_eq!(check(&s, &t, &["unsubscribe", "zap"]), Ok(()));
        // Shard channels are channels, not keys.
        assert_eq!(check(&s, &t, &["spublish", "foo:2", "m"]), Ok(()));
        assert_eq!(selector(&["allchannels", "&x"], &t), Err(RuleError::ChannelPatternAfterAll));
        assert_eq!(s.channels_text(), b"&foo:* &bar");
    }
}
