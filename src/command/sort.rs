//! SORT and SORT_RO (Redis's sort.c): sort the elements of a list, set or sorted set numerically
//! or lexicographically, optionally by the values of other keys (BY pattern, `*` replaced by the
//! element, `key->field` reading a hash field), with LIMIT, GET patterns and STORE into a list.
//!
//! Elements are copied out before sorting, so the BY/GET lookups are free to read any key. It only
//! reads the keyspace, except for STORE, which replaces the destination as Redis's setKey does.

use std::cmp::Ordering;

use super::flags::*;
use super::{Args, CommandSpec, KEY1, KeyAccess, KeyPerm, READS};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::Value;
use crate::db::list::End;
use crate::db::list::ListValue;
use crate::error::{self, CmdError, CmdResult};
use crate::server::Server;
use crate::server::keyspace::EVENT_LIST;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("sort", -2, WRITE | DENYOOM, KEY1, "generic", sort)
        .with_getkeys(sort_keys)
        .acl(cat::SET | cat::SORTEDSET | cat::LIST | cat::DANGEROUS)
        .access(KeyAccess::FirstThen(KeyPerm::READ, KeyPerm::WRITE)),
    CommandSpec::new("sort_ro", -2, READONLY, KEY1, "generic", sort_ro)
        .acl(cat::SET | cat::SORTEDSET | cat::LIST | cat::DANGEROUS)
        .access(READS),
];

/// SORT's keys: the sorted key and, when given, the last STORE destination (Redis's sortGetKeys,
/// which skips over the arguments of LIMIT, GET and BY).
fn sort_keys(args: &Args) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut j = 2;
    while j < args.len() {
        let skip = if args.is(j, "limit") {
            2
        } else if args.is(j, "get") || args.is(j, "by") {
            1
        } else if args.is(j, "store") {
            if j + 1 < args.len() {
                store = Some(j + 1);
            }
            1
        } else {
            0
        };
        j += 1 + skip;
    }
    keys.extend(store);
    keys
}

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dest]
fn sort(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    sort_generic(srv, c, args, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
fn sort_ro(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    sort_generic(srv, c, args, true)
}

struct SortOpts<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    /// BY given without a `*`: keep the stored order.
    dont_sort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

fn parse_opts<'a>(args: &Args<'a>, readonly: bool, full_key_access: bool) -> Result<SortOpts<'a>, CmdError> {
    let mut o =
        SortOpts { desc: false, alpha: false, limit: None, by: None, dont_sort: false, gets: Vec::new(), store: None };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        if args.is(j, "asc") {
            o.desc = false;
        } else if args.is(j, "desc") {
            o.desc = true;
        } else if args.is(j, "alpha") {
            o.alpha = true;
        } else if args.is(j, "limit") && left >= 2 {
            o.limit = Some((args.i64(j + 1)?, args.i64(j + 2)?));
            j += 2;
        } else if !readonly && args.is(j, "store") && left >= 1 {
            o.store = Some(args.get(j + 1));
            j += 1;
        } else if args.is(j, "by") && left >= 1 {
            let pattern = args.get(j + 1);
            o.dont_sort = !pattern.contains(&b'*');
            if !o.dont_sort && !full_key_access {
                return Err(CmdError::err("BY option of SORT denied due to insufficient ACL permissions."));
            }
            o.by = Some(pattern);
            j += 1;
        } else if args.is(j, "get") && left >= 1 {
            if !full_key_access {
                return Err(CmdError::err("GET option of SORT denied due to insufficient ACL permissions."));
            }
            o.gets.push(args.get(j + 1));
            j += 1;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    Ok(o)
}

/// The value a BY or GET pattern names for `element` (Redis's lookupKeyByPattern): `#` is the
/// element itself; otherwise the first `*` is replaced by the element and the resulting key's
/// string value is read, or with `->field` that hash field.
fn lookup_by_pattern(srv: &mut Server, db: usize, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let (postfix, field) = match after.windows(2).position(|w| w == b"->") {
        Some(f) if f + 2 < after.len() => (&after[..f], Some(&after[f + 2..])),
        _ => (after, None),
    };
    let mut key = Vec::with_capacity(star + element.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    let o = srv.lookup_read(db, &key)?;
    match (field, &o.value) {
        (None, Value::Str(s)) => Some(s.to_vec()),
        (Some(f), Value::Hash(h)) => h.get(f).map(|v| v.to_vec()),
        _ => None,
    }
}

/// C's strtod as SORT uses it: leading blanks skipped, the whole rest must be a number; an empty
/// string is 0. Overflow and NaN are errors.
fn sort_score(s: &[u8]) -> Option<f64> {
    let start = s.iter().position(|b| !b" \t\n\x0b\x0c\r".contains(b)).unwrap_or(s.len());
    let rest = std::str::from_utf8(&s[start..]).ok()?;
    if rest.is_empty() {
        return Some(0.0);
    }
    let v: f64 = rest.parse().ok()?;
    let lower = rest.trim_start_matches(['+', '-']).to_ascii_lowercase();
    let literal_inf = lower == "inf" || lower == "infinity";
    if v.is_nan() || (v.is_infinite() && !literal_inf) {
        return None;
    }
    Some(v)
}

/// One element being sorted with its sort key.
struct Item {
    element: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

fn sort_generic(srv: &mut Server, c: &mut Client, args: &Args, readonly: bool) -> CmdResult {
    // BY and GET patterns reach keys no argument names: only a user who may read any key can use
    // them.
    let full_key_access =
        srv.commands.get(args.get(0)).is_some_and(|cmd| srv.acl_unrestricted_keys(c, cmd.id, args, KeyPerm::READ));
    let mut o = parse_opts(args, readonly, full_key_access)?;
    let db = c.db;
    let key = args.get(1);
    let elements = match srv.lookup_read(db, key) {
        None => Vec::new(),
        Some(obj) => match &obj.value {
            Value::List(_) | Value::Set(_) | Value::ZSet(_) => {
                // A set has no order of its own: with STORE the result must be deterministic.
                let is_set = matches!(obj.value, Value::Set(_));
                if o.dont_sort && is_set && o.store.is_some() {
                    o.dont_sort = false;
                    o.alpha = true;
                    o.by = None;
                }
                collect_elements(&obj.value, o.dont_sort, o.desc)
            }
            _ => return Err(error::WRONGTYPE.into()),
        },
    };
    let total = elements.len() as i64;
    let (limit_start, limit_count) = o.limit.unwrap_or((0, -1));
    let mut start = limit_start.clamp(0, total);
    let count = limit_count.clamp(-1, total);
    let mut end = if count < 0 { total - 1 } else { start + count - 1 };
    if start >= total {
        start = total - 1;
        end = total - 2;
    }
    end = end.min(total - 1);

    let mut items: Vec<Item> = elements.into_iter().map(|e| Item { element: e, score: 0.0, cmp: None }).collect();
    if !o.dont_sort {
        let mut conversion_error = false;
        for it in items.iter_mut() {
            let by_value = match o.by {
                Some(p) => match lookup_by_pattern(srv, db, p, &it.element) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.element.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = Some(by_value);
                }
            } else {
                match sort_score(&by_value) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        if conversion_error {
            return Err(CmdError::err("One or more scores can't be converted into double"));
        }
        let by_pattern = o.by.is_some();
        items.sort_by(|a, b| {
            let ord = if !o.alpha {
                a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal).then_with(|| a.element.cmp(&b.element))
            } else if by_pattern {
                a.cmp.cmp(&b.cmp)
            } else {
                a.element.cmp(&b.element)
            };
            if o.desc { ord.reverse() } else { ord }
        });
    }
    let range: Vec<&Item> =
        if end >= start && start >= 0 { items[start as usize..=end as usize].iter().collect() } else { Vec::new() };
    let output_len = if o.gets.is_empty() { range.len() } else { range.len() * o.gets.len() };

    let Some(dest) = o.store else {
        c.reply.array(output_len);
        for it in range {
            if o.gets.is_empty() {
                c.reply.bulk(&it.element);
            }
            for p in &o.gets {
                match lookup_by_pattern(srv, db, p, &it.element) {
                    Some(v) => c.reply.bulk(&v),
                    None => c.reply.null(),
                }
            }
        }
        return Ok(());
    };
    let limits = srv.list_limits();
    let mut list = ListValue::new();
    for it in range {
        if o.gets.is_empty() {
            list.push(End::Tail, &it.element, &limits);
        }
        for p in &o.gets {
            let v = lookup_by_pattern(srv, db, p, &it.element).unwrap_or_default();
            list.push(End::Tail, &v, &limits);
        }
    }
    if output_len > 0 {
        srv.set_key(db, dest, Value::List(Box::new(list)), false);
        srv.notify_keyspace_event(EVENT_LIST, "sortstore", dest, db);
        srv.dirty += output_len as u64;
    } else {
        srv.delete_key_notify(db, dest);
    }
    c.reply.int(output_len as i64);
    Ok(())
}

/// The elements to sort, in the value's own order (for BY nosort, a sorted set is walked in score
/// order, backwards for DESC, as Redis does).
fn collect_elements(value: &Value, dont_sort: bool, desc: bool) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = match value {
        Value::List(l) => l.iter().map(|v| v.to_vec()).collect(),
        Value::Set(s) => s
            .iter()
            .map(|m| match m {
                crate::db::set::Member::Int(n) => n.to_string().into_bytes(),
                crate::db::set::Member::Bytes(b) => b.to_vec(),
            })
            .collect(),
        Value::ZSet(z) => z.iter().map(|(m, _)| m.to_vec()).collect(),
        _ => Vec::new(),
    };
    if dont_sort && desc && !matches!(value, Value::Set(_)) {
        out.reverse();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sort_score;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b"  12"), Some(12.0));
        assert_eq!(sort_score(b"1.5e3"), Some(1500.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b"12 "), None);
        assert_eq!(sort_score(b"abc"), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"1e400"), None);
    }
}
