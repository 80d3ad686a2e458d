//! Users from files: the ACL file (`aclfile`, ACL LOAD and ACL SAVE) and `user` directives in
//! redis.conf, with Redis's validation and error texts.
//!
//! # Format
//! One user per line, `user <name> <rule> <rule> ...`, split on single spaces (no quoting, unlike
//! redis.conf); blank lines are allowed, comments are not (ACL SAVE would lose them). A file with
//! any error loads nothing.

use std::path::Path;

use super::user::{User, merge_selector_args};
use super::{Acl, RuleContext, RuleError, selector::has_spaces};
use crate::config::{ConfigError, Directive};

/// Parse the ACL file at `path` into users (ACLLoadFromFile), or every error found, in Redis's
/// single-line form. `shown_name` is how errors name the file (the `aclfile` setting).
pub fn load(path: &Path, shown_name: &str, ctx: &RuleContext) -> Result<Vec<User>, String> {
    let content = std::fs::read(path).map_err(|e| {
        format!("Error loading ACLs, opening file '{}': {}", path.display(), crate::config::parse::strerror(&e))
    })?;
    let mut users: Vec<User> = Vec::new();
    let mut errors = String::new();
    for (i, raw_line) in content.split(|&b| b == b'\n').enumerate() {
        let linenum = i + 1;
        let line = trim(raw_line, b" \t\r\n");
        if line.is_empty() {
            continue;
        }
        let argv: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        if argv[0] != b"user" || argv.len() < 2 {
            errors
                .push_str(&format!("{shown_name}:{linenum} should start with user keyword followed by the username. "));
            continue;
        }
        let name = argv[1];
        if has_spaces(name) {
            errors.push_str(&format!(
                "'{shown_name}:{linenum}: username '{}' contains invalid characters. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        if users.iter().any(|u| u.name == name) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{}' found on line {linenum}. ",
                String::from_utf8_lossy(name)
            ));
            continue;
        }
        let mut user = User::new(name, ctx.all_channels_by_default);
        let Ok(rules) = merge_selector_args(&argv[2..]) else {
            errors.push_str(&format!("{shown_name}:{linenum}: Unmatched parenthesis in selector definition."));
            continue;
        };
        let mut syntax_error = false;
        for rule in &rules {
            let rule = trim(rule, b"\t\r\n");
            match user.apply(rule, ctx) {
                Ok(()) => {}
                // Unknown commands are named in full: the name is no secret.
                Err(RuleError::UnknownCommand) => errors.push_str(&format!(
                    "{shown_name}:{linenum}: Error in applying operation '{}': {}. ",
                    String::from_utf8_lossy(rule),
                    RuleError::UnknownCommand.message()
                )),
                // Other errors may follow from the first (and a rule may hold a password).
                Err(e) if !syntax_error => {
                    errors.push_str(&format!("{shown_name}:{linenum}: {}. ", e.message()));
                    syntax_error = true;
                }
                Err(_) => {}
            }
        }
        users.push(user);
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str("WARNING: ACL errors detected, no change to the previously active ACL rules was performed");
        Err(errors)
    }
}

/// Write every user to `path` (ACL SAVE): a temporary file beside it, fsynced, renamed over it.
pub fn save(acl: &Acl, path: &Path, ctx: &RuleContext) -> std::io::Result<()> {
    let mut content = Vec::new();
    for line in acl.describe_all(ctx.table) {
        content.extend_from_slice(&line);
        content.push(b'\n');
    }
    crate::config::overwrite_atomically(path, &content)
}

fn trim<'a>(s: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = s.iter().position(|b| !set.contains(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !set.contains(b)).map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

/// Why the users of redis.conf could not be loaded at startup.
#[derive(Debug)]
pub enum StartupError {
    /// A `user` line Redis refuses while reading the config file: printed as a fatal config error.
    Config(ConfigError),
    /// Found when the users are created: log lines, then exit.
    Load(Vec<String>),
}

/// Load the `user` directives of redis.conf, then the ACL file if `aclfile` is set
/// (ACLLoadUsersAtStartup). Lines are checked first as Redis does while reading the config
/// (unknown commands excepted), then applied in order; a `user default` line resets the default
/// user (and so drops `requirepass`).
pub fn load_at_startup(
    acl: &mut Acl,
    directives: &[Directive],
    aclfile: Option<&str>,
    ctx: &RuleContext,
) -> Result<(), StartupError> {
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut parsed: Vec<(&Directive, Vec<Vec<u8>>)> = Vec::new();
    for d in directives {
        let name = d.args.get(1).map(Vec::as_slice).unwrap_or_default();
        let declaration_error = |arg: &[u8], e: RuleError| {
            let reason = format!("Error in user declaration '{}': {}", String::from_utf8_lossy(arg), e.message());
            StartupError::Config(d.error(&reason))
        };
        if seen.contains(&name) {
            return Err(declaration_error(name, RuleError::DuplicateUser));
        }
        seen.push(name);
        let ops: Vec<&[u8]> = d.args.iter().skip(2).map(Vec::as_slice).collect();
        let rules = merge_selector_args(&ops).map_err(|i| declaration_error(ops[i], RuleError::Syntax))?;
        let mut scratch = User::new(b"", ctx.all_channels_by_default);
        for rule in &rules {
            match scratch.apply(rule, ctx) {
                Ok(()) | Err(RuleError::UnknownCommand) => {}
                Err(e) => return Err(declaration_error(rule, e)),
            }
        }
        parsed.push((d, rules));
    }
    if aclfile.is_some() && !parsed.is_empty() {
        return Err(StartupError::Load(vec![
            "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".to_string(),
        ]));
    }
    for (d, rules) in parsed {
        let name = d.args.get(1).map(Vec::as_slice).unwrap_or_default();
        if has_spaces(name) {
            return Err(StartupError::Load(vec![
                "Spaces not allowed in ACL usernames".to_string(),
                "Critical error while loading ACLs. Exiting.".to_string(),
            ]));
        }
        let mut user = if name == b"default" {
            let mut u = acl.default_user().clone();
            let _ = u.apply(b"reset", ctx);
            u
        } else {
            User::new(name, ctx.all_channels_by_default)
        };
        for rule in &rules {
            if let Err(e) = user.apply(rule, ctx) {
                return Err(StartupError::Load(vec![
                    format!(
                        "Error loading ACL rule '{}' for the user named '{}': {}",
                        String::from_utf8_lossy(rule),
                        String::from_utf8_lossy(name),
                        e.message()
                    ),
                    "Critical error while loading ACLs. Exiting.".to_string(),
                ]));
            }
        }
        if !user.enabled {
            log::info!(
                "The user '{}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.",
                String::from_utf8_lossy(name)
            );
        }
        acl.put_user(user);
    }
    if let Some(file) = aclfile {
        let users = load(Path::new(file), file, ctx).map_err(|errors| {
            StartupError::Load(vec![format!("Aborting Redis startup because of ACL errors: {errors}")])
        })?;
        acl.replace_all(users, ctx.table);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandTable;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ferrodis-acl-file-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.acl");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_valid_file_loads_and_saves_back() {
        let table = CommandTable::build();
        let ctx = RuleContext { table: &table, all_channels_by_default: false };
        let path = write(
            "valid",
            "user alice on allcommands allkeys &* >alice\n\n  user bob on -@all +@set ~set* &* >bob \r\n",
        );
        let users = load(&path, "users.acl", &ctx).unwrap();
        assert_eq!(users.len(), 2);
        let mut acl = Acl::new(&table);
        acl.replace_all(users, &table);
        assert!(acl.authenticate(b"bob", b"bob").is_some());
        save(&acl, &path, &ctx).unwrap();
        let saved = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        assert!(saved.starts_with("user alice on #"), "{saved}");
        assert!(saved.ends_with("user default on nopass ~* &* +@all\n"), "{saved}");
        assert_eq!(load(&path, "users.acl", &ctx).unwrap().len(), 3);
    }

    #[test]
    fn errors_are_collected_and_nothing_loads() {
        let table = CommandTable::build();
        let ctx = RuleContext { table: &table, all_channels_by_default: false };
        let path = write("bad", "# comment\nuser alice on +nosuch\nuser alice on\nuser bob bogus (~x\n");
        let err = load(&path, "users.acl", &ctx).unwrap_err();
        assert_eq!(
            err,
            "users.acl:1 should start with user keyword followed by the username. \
             users.acl:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             WARNING: Duplicate user 'alice' found on line 3. \
             users.acl:4: Unmatched parenthesis in selector definition.\
             WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        );
        let missing = load(Path::new("/nonexistent/x.acl"), "x.acl", &ctx).unwrap_err();
        assert_eq!(missing, "Error loading ACLs, opening file '/nonexistent/x.acl': No such file or directory");
    }

    #[test]
    fn config_users_are_checked_then_applied() {
        let table = CommandTable::build();
        let ctx = RuleContext { table: &table, all_channels_by_default: false };
        let line = |text: &str| Directive {
            args: text.split(' ').map(|s| s.as_bytes().to_vec()).collect(),
            line: 1,
            text: text.to_string(),
        };
        let mut acl = Acl::new(&table);
        let dup = [line("user foo on"), line("user foo off")];
        match load_at_startup(&mut acl, &dup, None, &ctx) {
            Err(StartupError::Config(e)) => assert!(e.to_string().contains("Duplicate user"), "{e}"),
            other => panic!("{other:?}"),
        }
        let bad = [line("user foo on ~a%b badrule")];
        assert!(matches!(load_at_startup(&mut acl, &bad, None, &ctx), Err(StartupError::Config(_))));
        let unknown = [line("user foo on +nosuch")];
        assert!(matches!(load_at_startup(&mut acl, &unknown, None, &ctx), Err(StartupError::Load(_))));
        let good = [line("user default on nopass ~* +@all -flushdb"), line("user foo on >pw")];
        load_at_startup(&mut acl, &good, None, &ctx).unwrap();
        assert!(acl.authenticate(b"foo", b"pw").is_some());
        assert_eq!(
            String::from_utf8(acl.default_user().describe(&table)).unwrap(),
            "on nopass sanitize-payload ~* resetchannels +@all -flushdb"
        );
    }
}
