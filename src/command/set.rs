//! Set commands (Redis 7.0's t_set.c): SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SPOP,
//! SRANDMEMBER, SMOVE, SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.
//!
//! Replies, events and encodings follow Redis exactly, including its sampling strategies for SPOP and
//! SRANDMEMBER with a count and its two SDIFF algorithms, so results and `OBJECT ENCODING` match for
//! the same data. The encodings themselves live in `db::set`; this module never reaches into them.

use std::collections::HashSet;

use super::flags::*;
use super::keys::parse_scan_cursor;
use super::{
    Args, CommandSpec, KEY1, KEY1_2, KEYS_ALL, KeyAccess, KeyPerm, METADATA_ONLY, NO_KEYS, READS, READS_WRITES, WRITES,
};
use crate::acl::category as cat;
use crate::client::{Client, flags as cflags};
use crate::db::set::{IntText, Member, Picked, SetValue, intset_limit};
use crate::db::{CompactBytes, NO_EXPIRE, Object, Value};
use crate::error::{self, CmdError, CmdResult};
use crate::glob::string_match;
use crate::numeric::parse_i64;
use crate::resp::reply::Aggregate;
use crate::server::Server;
use crate::server::keyspace::{EVENT_GENERIC, EVENT_SET};

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sadd", -3, WRITE | DENYOOM | FAST, KEY1, "set", sadd).acl(cat::SET).access(WRITES),
    CommandSpec::new("srem", -3, WRITE | FAST, KEY1, "set", srem).acl(cat::SET).access(WRITES),
    CommandSpec::new("scard", 2, READONLY | FAST, KEY1, "set", scard).acl(cat::SET).access(METADATA_ONLY),
    CommandSpec::new("sismember", 3, READONLY | FAST, KEY1, "set", sismember).acl(cat::SET).access(METADATA_ONLY),
    CommandSpec::new("smismember", -3, READONLY | FAST, KEY1, "set", smismember).acl(cat::SET).access(READS),
    CommandSpec::new("smembers", 2, READONLY, KEY1, "set", smembers).acl(cat::SET).access(READS),
    CommandSpec::new("spop", -2, WRITE | FAST, KEY1, "set", spop).acl(cat::SET).access(READS_WRITES),
    CommandSpec::new("srandmember", -2, READONLY, KEY1, "set", srandmember).acl(cat::SET).access(READS),
    CommandSpec::new("smove", 4, WRITE | FAST, KEY1_2, "set", smove)
        .acl(cat::SET)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::WRITE)),
    CommandSpec::new("sinter", -2, READONLY, KEYS_ALL, "set", sinter).acl(cat::SET).access(READS),
    // Its keys follow a count (movablekeys), which the legacy first/last/step cannot describe.
    CommandSpec::new("sintercard", -3, READONLY, NO_KEYS, "set", sintercard)
        .with_getkeys(|a| super::numkeys_positions(a, 1, &[]))
        .acl(cat::SET)
        .access(READS),
    CommandSpec::new("sinterstore", -3, WRITE | DENYOOM, KEYS_ALL, "set", sinterstore)
        .acl(cat::SET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("sunion", -2, READONLY, KEYS_ALL, "set", sunion).acl(cat::SET).access(READS),
    CommandSpec::new("sunionstore", -3, WRITE | DENYOOM, KEYS_ALL, "set", sunionstore)
        .acl(cat::SET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("sdiff", -2, READONLY, KEYS_ALL, "set", sdiff).acl(cat::SET).access(READS),
    CommandSpec::new("sdiffstore", -3, WRITE | DENYOOM, KEYS_ALL, "set", sdiffstore)
        .acl(cat::SET)
        .access(KeyAccess::FirstThen(KeyPerm::WRITE, KeyPerm::READ)),
    CommandSpec::new("sscan", -3, READONLY, KEY1, "set", sscan).acl(cat::SET).access(READS),
];

/// SPOP with a count rebuilds the set from the survivors once it would return more than this many
/// times the number of survivors (Redis's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;
/// SRANDMEMBER with a count copies the set and drops members when it wants more than a third of it
/// (Redis's SRANDMEMBER_SUB_STRATEGY_MUL).
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;
/// Random members written between output-buffer limit checks of SRANDMEMBER with a negative count.
const RANDOM_REPLY_CHUNK: u64 = 1024;

fn reply_member(c: &mut Client, m: Member) {
    match m {
        Member::Int(v) => c.reply.bulk_i64(v),
        Member::Bytes(b) => c.reply.bulk(b),
    }
}

fn reply_picked(c: &mut Client, p: Picked, scratch: &[u8]) {
    match p {
        Picked::Int(v) => c.reply.bulk_i64(v),
        Picked::Scratch => c.reply.bulk(scratch),
    }
}

/// The set stored at `key`, already looked up (and type-checked) by the caller.
fn set_mut<'a>(srv: &'a mut Server, db: usize, key: &[u8]) -> Option<&'a mut SetValue> {
    srv.dbs[db].get_mut(key).and_then(|o| o.value.as_set_mut().ok())
}

/// SADD key member [member ...]
fn sadd(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key) = (c.db, args.get(1));
    let max = srv.config.set_max_intset_entries();
    let added = match srv.lookup_write(db, key) {
        Some(o) => {
            let set = o.value.as_set_mut()?;
            args.iter().skip(2).filter(|m| set.add(m, max)).count()
        }
        None => {
            let mut set = SetValue::new_for(args.get(2));
            let added = args.iter().skip(2).filter(|m| set.add(m, max)).count();
            let lru = srv.clocks.fresh();
            srv.dbs[db].add_object(key, Object::new(Value::Set(set), lru), NO_EXPIRE);
            srv.key_created(db, key);
            added
        }
    };
    if added > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_SET, "sadd", key, db);
    }
    srv.dirty += added as u64;
    c.reply.int(added as i64);
    Ok(())
}

/// SREM key member [member ...]
fn srem(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, key) = (c.db, args.get(1));
    let Some(o) = srv.lookup_write(db, key) else {
        c.reply.int(0);
        return Ok(());
    };
    let set = o.value.as_set_mut()?;
    let mut deleted = 0;
    let mut emptied = false;
    for m in args.iter().skip(2) {
        if set.remove(m) {
            deleted += 1;
            if set.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        srv.dbs[db].remove(key);
    }
    if deleted > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_SET, "srem", key, db);
        if emptied {
            srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        }
        srv.dirty += deleted;
    }
    c.reply.int(deleted as i64);
    Ok(())
}

/// SCARD key
fn scard(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let n = match srv.lookup_read(c.db, args.get(1)) {
        Some(o) => o.value.as_set()?.len(),
        None => 0,
    };
    c.reply.int(n as i64);
    Ok(())
}

/// SISMEMBER key member
fn sismember(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let found = match srv.lookup_read(c.db, args.get(1)) {
        Some(o) => o.value.as_set()?.contains(args.get(2)),
        None => false,
    };
    c.reply.int(i64::from(found));
    Ok(())
}

/// SMISMEMBER key member [member ...]
fn smismember(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let set = match srv.lookup_read(c.db, args.get(1)) {
        Some(o) => Some(o.value.as_set()?),
        None => None,
    };
    c.reply.array(args.len() - 2);
    for m in args.iter().skip(2) {
        c.reply.int(i64::from(set.is_some_and(|s| s.contains(m))));
    }
    Ok(())
}

/// SMEMBERS key
fn smembers(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.set(0);
        return Ok(());
    };
    let set = o.value.as_set()?;
    c.reply.set(set.len());
    for m in set.iter() {
        reply_member(c, m);
    }
    Ok(())
}

/// SPOP key [count]
fn spop(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return spop_with_count(srv, c, args),
        _ => return Err(error::SYNTAX.into()),
    }
    let (db, key) = (c.db, args.get(1));
    let mut rand = srv.sampling_rng();
    let mut scratch = Vec::new();
    let Some(o) = srv.lookup_write(db, key) else {
        c.reply.null();
        return Ok(());
    };
    let set = o.value.as_set_mut()?;
    let Some(picked) = set.random(&mut rand, &mut scratch) else {
        c.reply.null();
        return Ok(());
    };
    match picked {
        Picked::Int(v) => set.remove_int(v),
        Picked::Scratch => set.remove(&scratch),
    };
    let emptied = set.is_empty();
    srv.notify_keyspace_event(EVENT_SET, "spop", key, db);
    reply_picked(c, picked, &scratch);
    let member = picked_bytes(picked, &scratch);
    srv.propagate_as(&[b"SREM", key, &member]);
    if emptied {
        srv.dbs[db].remove(key);
        srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
    }
    srv.signal_modified_key(db, key);
    srv.dirty += 1;
    Ok(())
}

/// SPOP key count: small counts pop members one by one; counts close to the size instead draw the
/// survivors into a new set that replaces the old one, whose remaining members are the reply.
fn spop_with_count(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let count = parse_i64(args.get(2))
        .filter(|&n| n >= 0)
        .ok_or_else(|| CmdError::err("value is out of range, must be positive"))? as u64;
    let (db, key) = (c.db, args.get(1));
    let max = srv.config.set_max_intset_entries();
    let mut rand = srv.sampling_rng();
    let size = match srv.lookup_write(db, key) {
        Some(o) => o.value.as_set()?.len() as u64,
        None => {
            c.reply.set(0);
            return Ok(());
        }
    };
    if count == 0 {
        c.reply.set(0);
        return Ok(());
    }
    srv.notify_keyspace_event(EVENT_SET, "spop", key, db);
    srv.dirty += count.min(size);

    if count >= size {
        if let Some((obj, _)) = srv.dbs[db].remove(key)
            && let Value::Set(set) = &obj.value
        {
            reply_as_union(c, set, max);
        }
        srv.notify_keyspace_event(EVENT_GENERIC, "del", key, db);
        srv.signal_modified_key(db, key);
        srv.propagate_as(&[b"DEL", key]);
        return Ok(());
    }

    c.reply.set(count as usize);
    let remaining = size - count;
    let mut scratch = Vec::new();
    // Each popped member goes out as its own SREM (Redis 7.0 does not batch them).
    let propagate = srv.should_propagate(crate::server::propagation::target::ALL);
    let mut popped: Vec<Vec<u8>> = Vec::new();
    let Some(set) = set_mut(srv, db, key) else { return Ok(()) };
    if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > count {
        for _ in 0..count {
            let Some(picked) = set.random(&mut rand, &mut scratch) else { break };
            reply_picked(c, picked, &scratch);
            if propagate {
                popped.push(picked_bytes(picked, &scratch));
            }
            match picked {
                Picked::Int(v) => set.remove_int(v),
                Picked::Scratch => set.remove(&scratch),
            };
        }
    } else {
        let mut survivors: Option<SetValue> = None;
        for _ in 0..remaining {
            let Some(picked) = set.random(&mut rand, &mut scratch) else { break };
            match picked {
                Picked::Int(v) => {
                    survivors.get_or_insert_with(SetValue::default).add_int(v, max);
                    set.remove_int(v);
                }
                Picked::Scratch => {
                    survivors.get_or_insert_with(|| SetValue::new_for(&scratch)).add(&scratch, max);
                    set.remove(&scratch);
                }
            }
        }
        for m in set.iter() {
            reply_member(c, m);
            if propagate {
                popped.push(match m {
                    Member::Int(v) => crate::server::propagation::int_arg(v),
                    Member::Bytes(b) => b.to_vec(),
                });
            }
        }
        if let Some(survivors) = survivors {
            *set = survivors;
        }
    }
    srv.signal_modified_key(db, key);
    for member in &popped {
        srv.also_propagate(db, &[b"SREM", key, member]);
    }
    srv.prevent_propagation();
    Ok(())
}

/// A picked member's bytes (integers formatted).
fn picked_bytes(picked: Picked, scratch: &[u8]) -> Vec<u8> {
    match picked {
        Picked::Int(v) => crate::server::propagation::int_arg(v),
        Picked::Scratch => scratch.to_vec(),
    }
}

/// Replies a whole set in the order Redis's SUNION of that one set would: Redis rebuilds it, and a
/// hash table holding only integers (few enough) comes out as an intset, in ascending order.
fn reply_as_union(c: &mut Client, set: &SetValue, max_intset: usize) {
    c.reply.set(set.len());
    if let SetValue::Hashtable(_) = set
        && set.len() <= intset_limit(max_intset)
    {
        let ints: Option<Vec<i64>> = set
            .iter()
            .map(|m| match m {
                Member::Int(v) => Some(v),
                Member::Bytes(b) => parse_i64(b),
            })
            .collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            ints.into_iter().for_each(|v| c.reply.bulk_i64(v));
            return;
        }
    }
    for m in set.iter() {
        reply_member(c, m);
    }
}

/// SRANDMEMBER key [count]
fn srandmember(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return srandmember_with_count(srv, c, args),
        _ => return Err(error::SYNTAX.into()),
    }
    let mut rand = srv.sampling_rng();
    let mut scratch = Vec::new();
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.null();
        return Ok(());
    };
    // Redis's fair random pick samples 15 entries, rehashing a step for each.
    o.value.as_set_mut()?.rehash_steps(15);
    match o.value.as_set()?.random(&mut rand, &mut scratch) {
        Some(p) => reply_picked(c, p, &scratch),
        None => c.reply.null(),
    }
    Ok(())
}

/// A member copied out of a set, for SRANDMEMBER's unique sampling.
#[derive(PartialEq, Eq, Hash)]
enum OwnedMember {
    Int(i64),
    Bytes(CompactBytes),
}

/// SRANDMEMBER key count: a negative count samples with repetition; a positive one returns distinct
/// members, by the strategy Redis picks for the ratio of count to size.
fn srandmember_with_count(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let l = args.i64(2)?;
    if l == i64::MIN {
        return Err(CmdError::err(format!("value is out of range, value must between {} and {}", -i64::MAX, i64::MAX)));
    }
    let (count, unique) = (l.unsigned_abs(), l >= 0);
    let (db, key) = (c.db, args.get(1));
    let mut rand = srv.sampling_rng();
    let mut scratch = Vec::new();
    let Some(o) = srv.lookup_read(db, key) else {
        c.reply.array(0);
        return Ok(());
    };
    o.value.as_set_mut()?.rehash_steps(count.clamp(15, 100) as usize);
    let size = o.value.as_set()?.len() as u64;
    if count == 0 {
        c.reply.array(0);
        return Ok(());
    }

    if !unique || count == 1 {
        c.reply.array(count as usize);
        let mut left = count;
        while left > 0 {
            let Some(set) = srv.dbs[db].get(key).and_then(|o| o.value.as_set().ok()) else { break };
            let chunk = left.min(RANDOM_REPLY_CHUNK);
            for _ in 0..chunk {
                if let Some(p) = set.random(&mut rand, &mut scratch) {
                    reply_picked(c, p, &scratch);
                }
            }
            left -= chunk;
            // A huge count must not grow the reply past the client's output limit unchecked.
            if left > 0 {
                srv.check_output_buffer_limits(c);
                if c.has(cflags::CLOSE_ASAP) {
                    break;
                }
            }
        }
        return Ok(());
    }

    let Some(set) = srv.dbs[db].get(key).and_then(|o| o.value.as_set().ok()) else { return Ok(()) };
    if count >= size {
        c.reply.array(size as usize);
        for m in set.iter() {
            reply_member(c, m);
        }
        return Ok(());
    }

    c.reply.array(count as usize);
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size {
        let mut members: Vec<Member> = set.iter().collect();
        while members.len() as u64 > count {
            let i = (rand() % members.len() as u64) as usize;
            members.swap_remove(i);
        }
        members.into_iter().for_each(|m| reply_member(c, m));
    } else {
        let mut picked: HashSet<OwnedMember> = HashSet::with_capacity(count as usize);
        while (picked.len() as u64) < count {
            let Some(p) = set.random(&mut rand, &mut scratch) else { break };
            picked.insert(match p {
                Picked::Int(v) => OwnedMember::Int(v),
                Picked::Scratch => OwnedMember::Bytes(CompactBytes::from(scratch.as_slice())),
            });
        }
        for m in &picked {
            match m {
                OwnedMember::Int(v) => c.reply.bulk_i64(*v),
                OwnedMember::Bytes(b) => c.reply.bulk(b),
            }
        }
    }
    Ok(())
}

/// SMOVE source destination member
fn smove(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let (db, src, dst, ele) = (c.db, args.get(1), args.get(2), args.get(3));
    let src_type = srv.lookup_write(db, src).map(|o| o.value.as_set().map(|_| ()));
    let dst_type = srv.lookup_write(db, dst).map(|o| o.value.as_set().map(|_| ()));
    let Some(src_type) = src_type else {
        c.reply.int(0);
        return Ok(());
    };
    src_type?;
    let dst_exists = match dst_type {
        Some(t) => t.map(|_| true)?,
        None => false,
    };
    if src == dst {
        let member = srv.dbs[db].get(src).and_then(|o| o.value.as_set().ok()).is_some_and(|s| s.contains(ele));
        c.reply.int(i64::from(member));
        return Ok(());
    }
    let Some(set) = set_mut(srv, db, src) else { return Ok(()) };
    if !set.remove(ele) {
        c.reply.int(0);
        return Ok(());
    }
    let emptied = set.is_empty();
    srv.notify_keyspace_event(EVENT_SET, "srem", src, db);
    if emptied {
        srv.dbs[db].remove(src);
        srv.notify_keyspace_event(EVENT_GENERIC, "del", src, db);
    }
    if !dst_exists {
        let lru = srv.clocks.fresh();
        srv.dbs[db].add_object(dst, Object::new(Value::Set(SetValue::new_for(ele)), lru), NO_EXPIRE);
        srv.key_created(db, dst);
    }
    srv.signal_modified_key(db, src);
    srv.dirty += 1;
    let max = srv.config.set_max_intset_entries();
    let added = set_mut(srv, db, dst).is_some_and(|s| s.add(ele, max));
    if added {
        srv.dirty += 1;
        srv.signal_modified_key(db, dst);
        srv.notify_keyspace_event(EVENT_SET, "sadd", dst, db);
    }
    c.reply.int(1);
    Ok(())
}

/// Looks every key up for reading (lazy expiry, hit/miss stats) and checks that each existing one holds
/// a set: the first of another type fails the command, even after a missing key.
fn check_sets(srv: &mut Server, db: usize, keys: &[&[u8]]) -> CmdResult {
    for key in keys {
        if let Some(o) = srv.lookup_read(db, key) {
            o.value.as_set()?;
        }
    }
    Ok(())
}

/// The sets behind `keys` (None for a missing key), after `check_sets`.
fn get_sets<'a>(srv: &'a Server, db: usize, keys: &[&[u8]]) -> Vec<Option<&'a SetValue>> {
    keys.iter().map(|k| srv.dbs[db].get(k).and_then(|o| o.value.as_set().ok())).collect()
}

/// Stores a SINTERSTORE/SUNIONSTORE/SDIFFSTORE result, or deletes the destination for an empty one.
fn store_result(srv: &mut Server, c: &mut Client, db: usize, dst: &[u8], set: SetValue, event: &str) {
    if set.is_empty() {
        c.reply.int(0);
        srv.delete_key_notify(db, dst);
        return;
    }
    let n = set.len();
    // An expired destination is deleted first, so that storing it counts as a creation.
    srv.expire_if_needed_for_write(db, dst);
    srv.set_key(db, dst, Value::Set(set), false);
    c.reply.int(n as i64);
    srv.notify_keyspace_event(EVENT_SET, event, dst, db);
    srv.dirty += 1;
}

/// What SINTER-like commands produce.
#[derive(Clone, Copy)]
enum InterOut<'a> {
    Reply,
    Store(&'a [u8]),
    /// SINTERCARD, stopping at a non-zero limit.
    Card(u64),
}

/// SINTER / SINTERSTORE / SINTERCARD: walk the smallest set and keep what every other set holds.
fn sinter_generic(srv: &mut Server, c: &mut Client, keys: &[&[u8]], out: InterOut) -> CmdResult {
    let db = c.db;
    check_sets(srv, db, keys)?;
    let max = srv.config.set_max_intset_entries();
    let sets: Option<Vec<&SetValue>> = get_sets(srv, db, keys).into_iter().collect();
    let Some(mut sets) = sets.filter(|s| !s.is_empty()) else {
        match out {
            InterOut::Store(dst) => {
                srv.delete_key_notify(db, dst);
                c.reply.int(0);
            }
            InterOut::Card(_) => c.reply.int(0),
            InterOut::Reply => c.reply.set(0),
        }
        return Ok(());
    };
    sets.sort_by_key(|s| s.len());
    let (first, rest) = (sets[0], &sets[1..]);
    let mut result = SetValue::default();
    let deferred = matches!(out, InterOut::Reply).then(|| c.reply.begin_deferred());
    let mut n = 0u64;
    for m in first.iter() {
        if !rest.iter().all(|s| std::ptr::eq(*s, first) || s.contains_member(m)) {
            continue;
        }
        n += 1;
        match out {
            InterOut::Card(limit) if limit > 0 && n >= limit => break,
            InterOut::Card(_) => {}
            InterOut::Store(_) => {
                result.add_member(m, max);
            }
            InterOut::Reply => reply_member(c, m),
        }
    }
    match out {
        InterOut::Card(_) => c.reply.int(n as i64),
        InterOut::Store(dst) => store_result(srv, c, db, dst, result, "sinterstore"),
        InterOut::Reply => {
            if let Some(at) = deferred {
                c.reply.end_deferred(at, Aggregate::Set, n as usize);
            }
        }
    }
    Ok(())
}

/// SINTER key [key ...]
fn sinter(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    sinter_generic(srv, c, &keys, InterOut::Reply)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let numkeys =
        parse_i64(args.get(1)).filter(|&n| n >= 1).ok_or_else(|| CmdError::err("numkeys should be greater than 0"))?;
    if numkeys > args.len() as i64 - 2 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if args.is(j, "limit") && j + 1 < args.len() {
            j += 1;
            limit = parse_i64(args.get(j))
                .filter(|&l| l >= 0)
                .ok_or_else(|| CmdError::err("LIMIT can't be negative"))? as u64;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    let keys: Vec<&[u8]> = (2..2 + numkeys).map(|i| args.get(i)).collect();
    sinter_generic(srv, c, &keys, InterOut::Card(limit))
}

/// SINTERSTORE destination key [key ...]
fn sinterstore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    sinter_generic(srv, c, &keys, InterOut::Store(args.get(1)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// SUNION / SDIFF and their STORE forms. The result is built as a set exactly as Redis builds it (an
/// intset first, converted as members require), so its encoding and reply order match.
fn sunion_diff_generic(srv: &mut Server, c: &mut Client, keys: &[&[u8]], dst: Option<&[u8]>, op: SetOp) -> CmdResult {
    let db = c.db;
    check_sets(srv, db, keys)?;
    let max = srv.config.set_max_intset_entries();
    let mut sets = get_sets(srv, db, keys);
    let first = sets.first().copied().flatten();
    let same_set = first.is_some_and(|f| sets.iter().skip(1).flatten().any(|s| std::ptr::eq(*s, f)));

    let mut result = SetValue::default();
    match (op, first) {
        (SetOp::Union, _) => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.add_member(m, max);
                }
            }
        }
        // A key given again after the first one subtracts everything.
        (SetOp::Diff, _) if same_set => {}
        (SetOp::Diff, None) => {}
        (SetOp::Diff, Some(first)) => {
            // Redis's choice: walking the first set costs |first| per set; subtracting costs the sum of
            // all sizes. The walk gets a factor-two advantage for its cheaper steps.
            let walk: u64 = sets.iter().flatten().map(|_| first.len() as u64).sum::<u64>() / 2;
            let subtract: u64 = sets.iter().flatten().map(|s| s.len() as u64).sum();
            if walk <= subtract {
                // Largest sets first: a member is more likely to be found, and rejected, early.
                sets[1..].sort_by_key(|s| std::cmp::Reverse(s.map_or(0, |s| s.len())));
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains_member(m)) {
                        result.add_member(m, max);
                    }
                }
            } else {
                for (j, s) in sets.iter().enumerate() {
                    let Some(s) = s else { continue };
                    for m in s.iter() {
                        if j == 0 {
                            result.add_member(m, max);
                        } else {
                            result.remove_member(m);
                        }
                    }
                    if result.is_empty() {
                        break;
                    }
                }
            }
        }
    }

    match dst {
        None => {
            c.reply.set(result.len());
            for m in result.iter() {
                reply_member(c, m);
            }
        }
        Some(dst) => {
            let event = if op == SetOp::Union { "sunionstore" } else { "sdiffstore" };
            store_result(srv, c, db, dst, result, event);
        }
    }
    Ok(())
}

/// SUNION key [key ...]
fn sunion(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    sunion_diff_generic(srv, c, &keys, None, SetOp::Union)
}

/// SUNIONSTORE destination key [key ...]
fn sunionstore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    sunion_diff_generic(srv, c, &keys, Some(args.get(1)), SetOp::Union)
}

/// SDIFF key [key ...]
fn sdiff(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(1).collect();
    sunion_diff_generic(srv, c, &keys, None, SetOp::Diff)
}

/// SDIFFSTORE destination key [key ...]
fn sdiffstore(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter().skip(2).collect();
    sunion_diff_generic(srv, c, &keys, Some(args.get(1)), SetOp::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let cursor = parse_scan_cursor(args.get(2))?;
    // Options are checked only once the key is known to be a set, as Redis does.
    let options = super::keys::parse_scan_options(args, 3, false);
    let Some(o) = srv.lookup_read(c.db, args.get(1)) else {
        c.reply.array(2);
        c.reply.bulk(b"0");
        c.reply.array(0);
        return Ok(());
    };
    let set = o.value.as_set()?;
    let super::keys::ScanOptions { count, pattern, .. } = options?;
    // Matching members are packed into one buffer rather than allocated one by one.
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    let next = set.scan(cursor, count, |m| {
        let text;
        let bytes = match m {
            Member::Int(v) => {
                text = IntText::new(v);
                text.as_bytes()
            }
            Member::Bytes(b) => b,
        };
        if pattern.is_none_or(|p| string_match(p, bytes, false)) {
            buf.extend_from_slice(bytes);
            ends.push(buf.len());
        }
    });
    c.reply.array(2);
    c.reply.bulk(next.to_string().as_bytes());
    c.reply.array(ends.len());
    let mut start = 0;
    for end in ends {
        c.reply.bulk(&buf[start..end]);
        start = end;
    }
    Ok(())
}
