//! ACL command categories (`@read`, `@string`, `@dangerous`, ...): their bits, their names in
//! Redis's order, and the categories a command's flags imply.
//!
//! A command's categories are the ones its table entry declares (Redis's `acl_categories` in the
//! command JSON files) plus the ones its flags imply (`server.c`'s `setImplicitACLCategories`); the
//! command table computes them once, with [`with_implied`], so nothing else can drift from it.

use crate::command::flags;

pub const KEYSPACE: u64 = 1 << 0;
pub const READ: u64 = 1 << 1;
pub const WRITE: u64 = 1 << 2;
pub const SET: u64 = 1 << 3;
pub const SORTEDSET: u64 = 1 << 4;
pub const LIST: u64 = 1 << 5;
pub const HASH: u64 = 1 << 6;
pub const STRING: u64 = 1 << 7;
pub const BITMAP: u64 = 1 << 8;
pub const HYPERLOGLOG: u64 = 1 << 9;
pub const GEO: u64 = 1 << 10;
pub const STREAM: u64 = 1 << 11;
pub const PUBSUB: u64 = 1 << 12;
pub const ADMIN: u64 = 1 << 13;
pub const FAST: u64 = 1 << 14;
pub const SLOW: u64 = 1 << 15;
pub const BLOCKING: u64 = 1 << 16;
pub const DANGEROUS: u64 = 1 << 17;
pub const CONNECTION: u64 = 1 << 18;
pub const TRANSACTION: u64 = 1 << 19;
pub const SCRIPTING: u64 = 1 << 20;

/// Every category with its name, in Redis's order: ACL CAT lists them so, COMMAND INFO prints a
/// command's categories so, and ACL GETUSER's rule description tries them so.
pub const ALL: &[(&str, u64)] = &[
    ("keyspace", KEYSPACE),
    ("read", READ),
    ("write", WRITE),
    ("set", SET),
    ("sortedset", SORTEDSET),
    ("list", LIST),
    ("hash", HASH),
    ("string", STRING),
    ("bitmap", BITMAP),
    ("hyperloglog", HYPERLOGLOG),
    ("geo", GEO),
    ("stream", STREAM),
    ("pubsub", PUBSUB),
    ("admin", ADMIN),
    ("fast", FAST),
    ("slow", SLOW),
    ("blocking", BLOCKING),
    ("dangerous", DANGEROUS),
    ("connection", CONNECTION),
    ("transaction", TRANSACTION),
    ("scripting", SCRIPTING),
];

/// The category named `name` (ASCII case ignored, as Redis's strcasecmp), without the `@`.
pub fn by_name(name: &[u8]) -> Option<u64> {
    ALL.iter().find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name)).map(|&(_, bit)| bit)
}

/// A command's full category set: the declared ones plus those its flags imply, exactly as
/// `setImplicitACLCategories`: write → @write, readonly → @read (except scripting commands, which
/// only read through the script's own calls), admin → @admin @dangerous, pubsub → @pubsub, fast →
/// @fast and otherwise @slow, blocking → @blocking.
pub const fn with_implied(declared: u64, command_flags: u32) -> u64 {
    let mut cats = declared;
    if command_flags & flags::WRITE != 0 {
        cats |= WRITE;
    }
    if command_flags & flags::READONLY != 0 && cats & SCRIPTING == 0 {
        cats |= READ;
    }
    if command_flags & flags::ADMIN != 0 {
        cats |= ADMIN | DANGEROUS;
    }
    if command_flags & flags::PUBSUB != 0 {
        cats |= PUBSUB;
    }
    if command_flags & flags::FAST != 0 {
        cats |= FAST;
    }
    if command_flags & flags::BLOCKING != 0 {
        cats |= BLOCKING;
    }
    if cats & FAST == 0 {
        cats |= SLOW;
    }
    cats
}

/// The names of the categories in `cats`, in Redis's order.
pub fn names(cats: u64) -> impl Iterator<Item = &'static str> {
    ALL.iter().filter(move |(_, bit)| cats & bit != 0).map(|&(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_found_ignoring_case() {
        assert_eq!(by_name(b"String"), Some(STRING));
        assert_eq!(by_name(b"SORTEDSET"), Some(SORTEDSET));
        assert_eq!(by_name(b"all"), None);
        assert_eq!(by_name(b""), None);
    }

    #[test]
    fn flags_imply_categories() {
        assert_eq!(with_implied(STRING, flags::READONLY | flags::FAST), STRING | READ | FAST);
        assert_eq!(with_implied(0, flags::ADMIN), ADMIN | DANGEROUS | SLOW);
        // A read-only script command is not @read: what it reads is decided by the script.
        assert_eq!(with_implied(SCRIPTING, flags::READONLY), SCRIPTING | SLOW);
        assert_eq!(with_implied(LIST, flags::WRITE | flags::BLOCKING), LIST | WRITE | BLOCKING | SLOW);
    }

    #[test]
    fn every_bit_has_one_name() {
        let all = ALL.iter().fold(0, |acc, (_, bit)| acc | bit);
        assert_eq!(all.count_ones() as usize, ALL.len());
        assert_eq!(names(READ | ADMIN).collect::<Vec<_>>(), ["read", "admin"]);
    }
}
