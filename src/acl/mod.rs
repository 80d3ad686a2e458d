//! ACL users (Redis 7.0's acl.c): who a connection is, what it may run, which keys and channels it
//! may touch.
//!
//! This module owns the users (the `default` user and those ACL SETUSER, `user` directives or the
//! ACL file create), their rules and the permission checks, the ACL log, and the ACL file format.
//! It never touches sockets, clients or the keyspace: the server asks it whether a command may
//! run and acts on the answer (replies, disconnections, log entries with the client's details).
//!
//! Layout: `category` (the categories and those flags imply), `selector` (one permission set and
//! its rules), `describe` (command permissions written back as rules), `user` (flags, passwords,
//! selectors), `log` (ACL LOG), `file` (the ACL file and `user` directives).
//!
//! Clients name their user by [`UserId`]: a slot plus a generation, so an id kept by mistake past
//! its user's deletion finds nothing (and is refused everything) rather than a newer user.

pub mod category;
pub mod describe;
pub mod file;
pub mod log;
pub mod selector;
pub mod user;

use std::collections::BTreeMap;

use slab::Slab;

use crate::command::CommandTable;
pub use selector::Denial;
pub use user::User;

/// Why a rule was refused; `message` is Redis's text (ACLSetUserStringError).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    UnknownCommand,
    Syntax,
    KeyPatternAfterAll,
    ChannelPatternAfterAll,
    NoSuchPassword,
    BadHash,
    DuplicateUser,
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::Syntax => "Syntax error",
            RuleError::KeyPatternAfterAll => {
                "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
            }
            RuleError::ChannelPatternAfterAll => {
                "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
            }
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => {
                "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
            }
            RuleError::DuplicateUser => "Duplicate user found. A user can only be defined once in config files",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// What rules are read against: the command table (names, categories, subcommands) and
/// `acl-pubsub-default`, which decides the channels of every new user and selector.
#[derive(Clone, Copy)]
pub struct RuleContext<'a> {
    pub table: &'a CommandTable,
    pub all_channels_by_default: bool,
}

/// A user as a connection refers to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId {
    slot: usize,
    generation: u64,
}

/// The `default` user, which always exists and keeps its id (ACL LOAD copies into it).
pub const DEFAULT_USER: UserId = UserId { slot: 0, generation: 0 };

/// Clients of a changed user whose subscriptions may no longer be allowed: every pattern or
/// channel they subscribed must be in `allowed` (Redis's ACLKillPubsubClientsIfNeeded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedChannels {
    pub user: UserId,
    pub allowed: Vec<Vec<u8>>,
}

struct Slot {
    generation: u64,
    /// The user may run anything: kept up to date with `user` so the per-command check of the
    /// common case (the default user) is one load.
    unrestricted: bool,
    user: User,
}

impl Slot {
    fn new(generation: u64, user: User) -> Slot {
        Slot { generation, unrestricted: user.allows_everything(), user }
    }

    /// Change the user through `f`, keeping `unrestricted` true to it.
    fn update(&mut self, f: impl FnOnce(&mut User)) {
        f(&mut self.user);
        self.unrestricted = self.user.allows_everything();
    }
}

/// Every user, by id and by name.
pub struct Acl {
    slots: Slab<Slot>,
    /// Names in byte order: ACL LIST, ACL USERS and ACL SAVE list users so, as Redis's radix tree.
    by_name: BTreeMap<Vec<u8>, usize>,
    next_generation: u64,
    pub log: log::AclLog,
}

impl Acl {
    /// Only the `default` user, allowing everything without a password.
    pub fn new(table: &CommandTable) -> Acl {
        let mut acl = Acl { slots: Slab::new(), by_name: BTreeMap::new(), next_generation: 0, log: Default::default() };
        let id = acl.insert(User::new_default(table));
        debug_assert_eq!(id, DEFAULT_USER);
        acl
    }

    fn insert(&mut self, user: User) -> UserId {
        let generation = self.next_generation;
        self.next_generation += 1;
        let name = user.name.clone();
        let slot = self.slots.insert(Slot::new(generation, user));
        self.by_name.insert(name, slot);
        UserId { slot, generation }
    }

    pub fn user(&self, id: UserId) -> Option<&User> {
        self.slots.get(id.slot).filter(|s| s.generation == id.generation).map(|s| &s.user)
    }

    /// Whether user `id` may run anything (`None`: no such user), without looking at its rules.
    #[inline]
    pub fn unrestricted(&self, id: UserId) -> Option<bool> {
        self.slots.get(id.slot).filter(|s| s.generation == id.generation).map(|s| s.unrestricted)
    }

    pub fn default_user(&self) -> &User {
        &self.slots[DEFAULT_USER.slot].user
    }

    fn update_default_user(&mut self, f: impl FnOnce(&mut User)) {
        self.slots[DEFAULT_USER.slot].update(f);
    }

    pub fn find(&self, name: &[u8]) -> Option<(UserId, &User)> {
        let &slot = self.by_name.get(name)?;
        let s = self.slots.get(slot)?;
        Some((UserId { slot, generation: s.generation }, &s.user))
    }

    /// Every user in name order.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.by_name.values().filter_map(|&slot| self.slots.get(slot)).map(|s| &s.user)
    }

    /// Whether connections must authenticate: the default user has a password or is off
    /// (Redis's authRequired for a client not authenticated).
    #[inline]
    pub fn default_needs_auth(&self) -> bool {
        let u = self.default_user();
        !u.nopass || !u.enabled
    }

    /// Whether a new (or RESET) connection starts authenticated as the default user.
    pub fn new_connection_authenticated(&self) -> bool {
        !self.default_needs_auth()
    }

    /// `requirepass`: it replaces the default user's passwords, or makes it nopass when empty
    /// (ACLUpdateDefaultUserPassword).
    pub fn set_default_password(&mut self, password: Option<&[u8]>, ctx: &RuleContext) {
        // resetpass, >password and nopass cannot fail.
        self.update_default_user(|u| {
            let _ = u.apply(b"resetpass", ctx);
            match password {
                Some(p) => {
                    let _ = u.apply(&[b">".as_slice(), p].concat(), ctx);
                }
                None => {
                    let _ = u.apply(b"nopass", ctx);
                }
            }
        });
    }

    /// The user `name` if it is enabled and `password` is one of its passwords (or it is nopass).
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Option<UserId> {
        let (id, u) = self.find(name)?;
        (u.enabled && u.password_matches(password)).then_some(id)
    }

    /// ACL SETUSER: apply `ops` to a copy of the user (created when missing) and keep it only if
    /// every rule is valid (ACLStringSetUser). The error is the full reply text. When the change
    /// revokes channels, the caller must disconnect the subscribers it names.
    pub fn set_user(
        &mut self,
        name: &[u8],
        ops: &[&[u8]],
        ctx: &RuleContext,
    ) -> Result<Option<RevokedChannels>, String> {
        let merged = user::merge_selector_args(ops).map_err(|i| {
            format!(
                "ERR Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(ops.get(i).copied().unwrap_or_default())
            )
        })?;
        let existing = self.find(name).map(|(id, u)| (id, u.clone()));
        let mut updated = match &existing {
            Some((_, u)) => u.clone(),
            None => User::new(name, ctx.all_channels_by_default),
        };
        for op in &merged {
            if let Err(e) = updated.apply(op, ctx) {
                return Err(format!(
                    "ERR Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                ));
            }
        }
        let Some((id, original)) = existing else {
            self.insert(updated);
            return Ok(None);
        };
        let revoked = revoked_channels(&original, &updated).map(|allowed| RevokedChannels { user: id, allowed });
        if let Some(slot) = self.slots.get_mut(id.slot) {
            slot.update(|u| *u = updated);
        }
        Ok(revoked)
    }

    /// Add `user`, or give the existing user of that name its rules (keeping its id).
    pub fn put_user(&mut self, user: User) {
        match self.by_name.get(&user.name).and_then(|&slot| self.slots.get_mut(slot)) {
            Some(existing) => existing.update(|u| *u = user),
            None => {
                self.insert(user);
            }
        }
    }

    /// Remove a user (never `default`): its id, for the caller to disconnect its clients.
    pub fn delete_user(&mut self, name: &[u8]) -> Option<UserId> {
        if name == b"default" {
            return None;
        }
        let slot = self.by_name.remove(name)?;
        let removed = self.slots.try_remove(slot)?;
        Some(UserId { slot, generation: removed.generation })
    }

    /// Replace every user with `users` (ACL LOAD), keeping the default user's identity: it takes
    /// the rules of the loaded `default`, or a fresh default's. Returns the ids of the users that
    /// went away (all but the default), whose clients must be disconnected.
    pub fn replace_all(&mut self, users: Vec<User>, table: &CommandTable) -> Vec<UserId> {
        let removed: Vec<UserId> = self
            .by_name
            .iter()
            .filter(|(name, _)| name.as_slice() != b"default")
            .filter_map(|(_, &slot)| self.slots.get(slot).map(|s| UserId { slot, generation: s.generation }))
            .collect();
        for id in &removed {
            self.slots.try_remove(id.slot);
        }
        self.by_name.retain(|name, _| name.as_slice() == b"default");
        let mut new_default = User::new_default(table);
        for u in users {
            if u.name == b"default" {
                new_default = u;
            } else {
                self.insert(u);
            }
        }
        self.update_default_user(|u| u.copy_rules_from(&new_default));
        removed
    }

    /// `user <name> <rules>` for every user, as ACL LIST, ACL SAVE and CONFIG REWRITE write them.
    pub fn describe_all(&self, table: &CommandTable) -> Vec<Vec<u8>> {
        self.users().map(|u| [b"user ".as_slice(), &u.name, b" ", &u.describe(table)].concat()).collect()
    }
}

/// The channel patterns `updated` still allows, when it allows less than `original` did (so some
/// subscriber may have to go); `None` when nothing was taken away.
fn revoked_channels(original: &User, updated: &User) -> Option<Vec<Vec<u8>>> {
    if updated.selectors.iter().any(|s| s.all_channels) {
        return None;
    }
    let allowed: Vec<Vec<u8>> = updated.selectors.iter().flat_map(|s| s.channels.iter().cloned()).collect();
    let kept = original.selectors.iter().all(|s| !s.all_channels && s.channels.iter().all(|c| allowed.contains(c)));
    if kept { None } else { Some(allowed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setuser(
        acl: &mut Acl,
        table: &CommandTable,
        name: &str,
        ops: &[&str],
    ) -> Result<Option<RevokedChannels>, String> {
        let ctx = RuleContext { table, all_channels_by_default: false };
        let ops: Vec<&[u8]> = ops.iter().map(|o| o.as_bytes()).collect();
        acl.set_user(name.as_bytes(), &ops, &ctx)
    }

    #[test]
    fn users_are_created_changed_and_deleted() {
        let table = CommandTable::build();
        let mut acl = Acl::new(&table);
        assert!(!acl.default_needs_auth());
        assert_eq!(acl.authenticate(b"default", b"anything"), Some(DEFAULT_USER));
        setuser(&mut acl, &table, "alice", &[">pw"]).unwrap();
        // New users are off.
        assert_eq!(acl.authenticate(b"alice", b"pw"), None);
        setuser(&mut acl, &table, "alice", &["on"]).unwrap();
        let id = acl.authenticate(b"alice", b"pw").unwrap();
        assert_eq!(acl.authenticate(b"alice", b"nope"), None);
        // A rejected change changes nothing.
        let err = setuser(&mut acl, &table, "alice", &["off", "+nosuchcommand"]).unwrap_err();
        assert_eq!(err, "ERR Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name in ACL");
        assert!(acl.user(id).unwrap().enabled);
        assert_eq!(acl.users().map(|u| u.name.as_slice()).collect::<Vec<_>>(), [&b"alice"[..], b"default"]);
        assert_eq!(acl.delete_user(b"alice"), Some(id));
        assert!(acl.user(id).is_none());
        assert_eq!(acl.delete_user(b"default"), None);
        // A recycled slot is a new user: the old id finds nothing.
        setuser(&mut acl, &table, "bob", &[]).unwrap();
        assert!(acl.user(id).is_none());
    }

    #[test]
    fn requirepass_sets_the_default_password() {
        let table = CommandTable::build();
        let ctx = RuleContext { table: &table, all_channels_by_default: false };
        let mut acl = Acl::new(&table);
        acl.set_default_password(Some(b"secret"), &ctx);
        assert!(acl.default_needs_auth());
        assert_eq!(acl.authenticate(b"default", b"secret"), Some(DEFAULT_USER));
        assert_eq!(acl.authenticate(b"default", b"other"), None);
        acl.set_default_password(None, &ctx);
        assert!(!acl.default_needs_auth());
    }

    #[test]
    fn unmatched_parenthesis() {
        let table = CommandTable::build();
        let mut acl = Acl::new(&table);
        let err = setuser(&mut acl, &table, "x", &["on", "(~a"]).unwrap_err();
        assert_eq!(err, "ERR Unmatched parenthesis in acl selector starting at '(~a'.");
        assert!(acl.find(b"x").is_none());
    }

    #[test]
    fn revoking_channels_is_reported() {
        let table = CommandTable::build();
        let mut acl = Acl::new(&table);
        setuser(&mut acl, &table, "ps", &["&foo:1", "&bar:*"]).unwrap();
        assert_eq!(setuser(&mut acl, &table, "ps", &["&baz"]).unwrap(), None);
        let revoked = setuser(&mut acl, &table, "ps", &["resetchannels", "&foo:1"]).unwrap().unwrap();
        assert_eq!(revoked.allowed, [b"foo:1".to_vec()]);
        assert_eq!(setuser(&mut acl, &table, "ps", &["allchannels"]).unwrap(), None);
        assert!(setuser(&mut acl, &table, "ps", &["resetchannels"]).unwrap().is_some());
    }

    #[test]
    fn loading_replaces_everyone_but_the_default_identity() {
        let table = CommandTable::build();
        let mut acl = Acl::new(&table);
        setuser(&mut acl, &table, "old", &["on", "nopass"]).unwrap();
        let (old, _) = acl.find(b"old").unwrap();
        let mut loaded_default = User::new(b"default", false);
        let ctx = RuleContext { table: &table, all_channels_by_default: false };
        loaded_default.apply(b"on", &ctx).unwrap();
        loaded_default.apply(b">pw", &ctx).unwrap();
        let removed = acl.replace_all(vec![User::new(b"new", false), loaded_default], &table);
        assert_eq!(removed, [old]);
        assert!(acl.find(b"old").is_none() && acl.find(b"new").is_some());
        assert_eq!(acl.authenticate(b"default", b"pw"), Some(DEFAULT_USER));
    }
}
