//! The server's side of ACLs: the permission check every command passes (dispatch, EXEC, script
//! calls), authentication, the ACL log entries with the client's details, and disconnecting the
//! clients of deleted users or of users that lost channels. What a user may do is
//! `crate::acl`'s to decide; this file only acts on the answers.

use crate::acl::log::{Context, Entry, Reason};
use crate::acl::{DEFAULT_USER, Denial, RevokedChannels, RuleContext, UserId};
use crate::client::{Client, flags as cflags};
use crate::command::{Args, CommandTable, KeyPerm};
use crate::config::Config;
use crate::error::{self, CmdError};
use crate::server::{Server, unix_ms};

/// What ACL rules are read against. A free function over the two parts, so the ACL can be changed
/// while the command table is borrowed.
pub fn rule_context<'a>(commands: &'a CommandTable, config: &Config) -> RuleContext<'a> {
    RuleContext { table: commands, all_channels_by_default: config.acl_pubsub_default_all() }
}

impl Server {
    /// Whether `c` must authenticate before running commands (Redis's authRequired): it has not,
    /// and the default user has a password or is off.
    #[inline]
    pub fn auth_required(&self, c: &Client) -> bool {
        !c.authenticated && self.acl.default_needs_auth()
    }

    /// Back to the default user, authenticated only if it needs no password (a new connection,
    /// RESET, a deleted user's client).
    pub fn set_default_auth(&self, c: &mut Client) {
        c.user = Some(DEFAULT_USER);
        c.authenticated = self.acl.new_connection_authenticated();
    }

    /// Whether `c`'s user may run command `cmd_id` with `args` (ACLCheckAllPerm). Runs for every
    /// command: a user allowed everything answers from one flag.
    #[inline]
    pub fn acl_check(&self, c: &Client, cmd_id: usize, args: &Args) -> Result<(), Denial> {
        let Some(id) = c.user else { return Ok(()) };
        match self.acl.unrestricted(id) {
            Some(true) => Ok(()),
            Some(false) => self.acl_check_rules(id, cmd_id, args),
            // A user that no longer exists may do nothing (its clients are being closed).
            None => Err(Denial::Command),
        }
    }

    fn acl_check_rules(&self, id: UserId, cmd_id: usize, args: &Args) -> Result<(), Denial> {
        let user = self.acl.user(id).ok_or(Denial::Command)?;
        user.check(&self.commands.commands[cmd_id], args)
    }

    /// Whether `c`'s user may run `cmd_id` and read (or write) any key at all: SORT's BY and GET
    /// patterns reach keys no argument names.
    pub fn acl_unrestricted_keys(&self, c: &Client, cmd_id: usize, args: &Args, needed: KeyPerm) -> bool {
        let Some(id) = c.user else { return true };
        self.acl.user(id).is_some_and(|u| u.check_with_unrestricted_keys(&self.commands.commands[cmd_id], args, needed))
    }

    /// The NOPERM reply for a command refused outside a transaction's EXEC.
    pub fn noperm_error(&self, denial: Denial, cmd_id: usize) -> CmdError {
        match denial {
            Denial::Command => error::noperm_command(&self.commands.commands[cmd_id].full_name),
            Denial::Key(_) => error::NOPERM_KEYS.into(),
            Denial::Channel(_) => error::NOPERM_CHANNELS.into(),
        }
    }

    /// Record a refused command in ACL LOG: the command's full name, or the key or channel refused.
    /// `caller` is whose details the entry shows (a script's caller rather than the script client).
    pub fn acl_log_denial(
        &mut self,
        c: &Client,
        caller: &Client,
        denial: Denial,
        cmd_id: usize,
        args: &Args,
        context: Context,
    ) {
        let (reason, object) = match denial {
            Denial::Command => (Reason::Command, self.commands.commands[cmd_id].full_name.as_bytes().to_vec()),
            Denial::Key(i) => (Reason::Key, args.get(i).to_vec()),
            Denial::Channel(i) => (Reason::Channel, args.get(i).to_vec()),
        };
        let username = c.user.and_then(|id| self.acl.user(id)).map(|u| u.name.clone()).unwrap_or_default();
        self.acl_log_add(caller, reason, context, object, username);
    }

    fn acl_log_add(&mut self, caller: &Client, reason: Reason, context: Context, object: Vec<u8>, username: Vec<u8>) {
        let entry = Entry {
            count: 1,
            reason,
            context,
            object,
            username,
            ctime_ms: unix_ms(),
            client_info: crate::command::client_cmd::client_info(self, caller),
        };
        let max_len = self.config.acllog_max_len();
        self.acl.log.add(entry, max_len);
    }

    /// AUTH and HELLO AUTH: make `c` the user `name` when `password` is right and the user is on.
    /// A failure is logged with `command` (the word the client sent) as its object.
    pub fn acl_authenticate(&mut self, c: &mut Client, name: &[u8], password: &[u8], command: &[u8]) -> bool {
        match self.acl.authenticate(name, password) {
            Some(id) => {
                c.user = Some(id);
                c.authenticated = true;
                true
            }
            None => {
                let context = if c.in_multi() { Context::Multi } else { Context::Toplevel };
                self.acl_log_add(c, Reason::Auth, context, command.to_vec(), name.to_vec());
                false
            }
        }
    }

    /// Disconnect every client authenticated as one of the `gone` users (ACL DELUSER, ACL LOAD).
    /// Each first falls back to the default user, unauthenticated, so nothing it still sends runs
    /// as the deleted user; the running client `c` is closed once its reply is out.
    pub fn acl_disconnect_users(&mut self, c: &mut Client, gone: &[UserId]) {
        if gone.is_empty() {
            return;
        }
        let victims: Vec<usize> = self
            .clients
            .iter()
            .filter_map(|(slot, x)| x.as_ref().filter(|x| x.user.is_some_and(|u| gone.contains(&u))).map(|_| slot))
            .collect();
        for slot in victims {
            if let Some(Some(x)) = self.clients.get_mut(slot) {
                x.user = Some(DEFAULT_USER);
                x.authenticated = false;
            }
            self.kill_client_slot(slot);
        }
        if c.user.is_some_and(|u| gone.contains(&u)) {
            c.user = Some(DEFAULT_USER);
            c.authenticated = false;
            c.flags |= cflags::CLOSE_AFTER_REPLY;
        }
    }

    /// After a user lost channels, disconnect its subscribers holding a subscription it no longer
    /// allows (patterns must be allowed literally).
    pub fn acl_kill_revoked_subscribers(&mut self, c: &mut Client, revoked: &RevokedChannels) {
        let offends = |x: &Client| {
            x.user == Some(revoked.user)
                && x.has(cflags::PUBSUB)
                && x.subs.as_ref().is_some_and(|s| {
                    let allowed = |name: &[u8], pattern: bool| {
                        crate::acl::selector::channel_in_list(&revoked.allowed, name, pattern)
                    };
                    s.patterns.iter().any(|p| !allowed(p, true))
                        || s.channels.iter().any(|ch| !allowed(ch, false))
                        || s.shard_channels.iter().any(|ch| !allowed(ch, false))
                })
        };
        let victims: Vec<usize> =
            self.clients.iter().filter_map(|(slot, x)| x.as_ref().filter(|x| offends(x)).map(|_| slot)).collect();
        for slot in victims {
            self.kill_client_slot(slot);
        }
        if offends(c) {
            c.flags |= cflags::CLOSE_AFTER_REPLY;
        }
    }

    /// Users from redis.conf and the ACL file, once at startup (after `requirepass`).
    pub fn acl_load_at_startup(&mut self) -> Result<(), crate::acl::file::StartupError> {
        let ctx = rule_context(&self.commands, &self.config);
        crate::acl::file::load_at_startup(
            &mut self.acl,
            self.config.user_directives(),
            self.config.acl_filename(),
            &ctx,
        )
    }
}
