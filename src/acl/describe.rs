//! A selector's command permissions written back as rules (ACLDescribeSelectorCommandRules), the
//! `commands` field of ACL GETUSER and the command part of ACL LIST, ACL SAVE and CONFIG REWRITE.
//!
//! Redis's approach, kept exactly so the text is the same: start from `+@all` (when the reserved
//! "future commands" bit is set) or `-@all`, then greedily add the category that best fits the
//! bitmap while it fits more commands than it misses, then name single commands (and first
//! arguments) for what is left. The rules are replayed on a scratch selector as they are emitted,
//! so the result provably rebuilds the same bitmap.

use super::category;
use super::selector::Selector;
use crate::command::CommandTable;

/// The command rules that rebuild `selector`'s command bitmap, e.g. `+@all -@string +incr`.
pub fn command_rules(selector: &Selector, table: &CommandTable) -> String {
    let additive = !selector.allowed.allows_future_commands();
    let mut rules = String::new();
    // What the rules emitted so far grant.
    let mut replayed = Selector::new(false, false);
    // What is still to be explained: categories applied so far are taken out of it.
    let mut remaining = Selector::new(false, false);
    remaining.allowed = selector.allowed.clone();
    if additive {
        rules.push_str("-@all ");
    } else {
        rules.push_str("+@all ");
        replayed.apply(b"+@all", table).ok();
    }

    let mut applied = [false; category::ALL.len()];
    loop {
        let mut best: Option<usize> = None;
        let (mut min_diff, mut max_same) = (usize::MAX, 0);
        for (j, &(_, cat)) in category::ALL.iter().enumerate() {
            if applied[j] {
                continue;
            }
            let (on, off) = remaining.count_category(cat, table);
            let (diff, same) = if additive { (off, on) } else { (on, off) };
            if same > diff && (diff < min_diff || (diff == min_diff && same > max_same)) {
                best = Some(j);
                min_diff = diff;
                max_same = same;
            }
        }
        let Some(j) = best else { break };
        let (name, cat) = category::ALL[j];
        replayed.set_category(cat, additive, table);
        remaining.set_category(cat, !additive, table);
        rules.push_str(if additive { "+@" } else { "-@" });
        rules.push_str(name);
        rules.push(' ');
        applied[j] = true;
    }

    for cmd in table.top_level() {
        for c in std::iter::once(cmd).chain(table.children(cmd)) {
            let user_bit = selector.allowed.get(c.id);
            if user_bit != replayed.allowed.get(c.id) {
                rules.push(if user_bit { '+' } else { '-' });
                rules.push_str(&c.full_name);
                rules.push(' ');
                replayed.change_command(c, user_bit, table);
            }
        }
        if selector.allowed.get(cmd.id) {
            continue;
        }
        if let Some((_, first_args)) = selector.first_args.iter().find(|(id, _)| *id == cmd.id) {
            for arg in first_args {
                rules.push('+');
                rules.push_str(&cmd.full_name);
                rules.push('|');
                rules.push_str(&String::from_utf8_lossy(arg));
                rules.push(' ');
            }
        }
    }
    rules.pop();

    // Redis aborts rather than describe rules that would not rebuild the user: a wrong description
    // saved to a file is a security hole. Never reachable unless the above has a bug; we log it.
    if replayed.allowed != selector.allowed {
        log::warn!("CRITICAL ERROR: User ACLs don't match final bitmap: '{rules}'");
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    fn describe(rules: &[&str]) -> String {
        let table = CommandTable::build();
        let mut s = Selector::new(true, false);
        for r in rules {
            s.apply(r.as_bytes(), &table).unwrap();
        }
        command_rules(&s, &table)
    }

    #[test]
    fn simple_forms() {
        assert_eq!(describe(&[]), "-@all");
        assert_eq!(describe(&["+@all"]), "+@all");
        assert_eq!(describe(&["+@all", "-client|kill"]), "+@all -client|kill");
        assert_eq!(describe(&["+memory|usage"]), "-@all +memory|usage");
        assert_eq!(describe(&["+memory|usage", "+memory"]), "-@all +memory");
        assert_eq!(describe(&["+@all", "+client|id"]), "+@all");
        assert_eq!(describe(&["+@all", "-memory"]), "+@all -memory");
        assert_eq!(describe(&["+select|0"]), "-@all +select|0");
    }

    #[test]
    fn every_category_alone_is_described_as_itself() {
        let table = CommandTable::build();
        for &(name, cat) in category::ALL {
            // A category with no command here (@geo: ferrodis has no GEO commands) has nothing to say.
            if !table.commands.iter().any(|c| c.acl_categories & cat != 0) {
                continue;
            }
            assert_eq!(describe(&["+@all", &format!("-@{name}")]), format!("+@all -@{name}"));
            assert_eq!(describe(&[&format!("+@{name}")]), format!("-@all +@{name}"));
        }
    }

    #[test]
    fn mixed_rules_round_trip() {
        let table = CommandTable::build();
        for rules in [
            &["+@all", "-@string", "+incr", "-debug", "+debug|digest"][..],
            &["+@string", "-incr", "+ping", "+debug|digest", "+debug|segfault"],
            &["+@read", "-@hash", "+config|get", "-@fast", "+ping"],
        ] {
            let mut s = Selector::new(true, false);
            for r in rules {
                s.apply(r.as_bytes(), &table).unwrap();
            }
            let text = command_rules(&s, &table);
            let mut again = Selector::new(true, false);
            for r in text.split(' ') {
                again.apply(r.as_bytes(), &table).unwrap();
            }
            assert_eq!(again.allowed, s.allowed, "{text}");
        }
    }
}
