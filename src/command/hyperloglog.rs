//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE and the PFDEBUG /
//! PFSELFTEST tools. The sketch itself lives in `db::hyperloglog`; this file only finds keys,
//! checks that a string really is a sketch, and signals and propagates changes as Redis does
//! (a PFCOUNT that refreshes the cached cardinality dirties the key and is propagated).

use super::flags::*;
use super::{Args, CommandSpec, KEY1, KEYS_ALL, KeyAccess, KeyPerm, READS, WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::hyperloglog::{self as hll, Encoding};
use crate::db::{Object, RawMut, StrValue, Value};
use crate::error::{CmdError, CmdResult};
use crate::server::Server;
use crate::server::keyspace::EVENT_STRING;

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec::new("pfadd", -2, WRITE | DENYOOM | FAST, KEY1, "hyperloglog", pfadd)
        .acl(cat::HYPERLOGLOG)
        .access(WRITES),
    CommandSpec::new("pfcount", -2, READONLY | MAY_REPLICATE, KEYS_ALL, "hyperloglog", pfcount)
        .acl(cat::HYPERLOGLOG)
        .access(READS),
    CommandSpec::new("pfmerge", -2, WRITE | DENYOOM, KEYS_ALL, "hyperloglog", pfmerge)
        .acl(cat::HYPERLOGLOG)
        .access(KeyAccess::FirstThen(KeyPerm::READ_WRITE, KeyPerm::READ)),
    CommandSpec::new("pfdebug", 3, WRITE | DENYOOM | ADMIN, PFDEBUG_KEY, "hyperloglog", pfdebug)
        .acl(cat::HYPERLOGLOG)
        .access(READS),
    CommandSpec::new("pfselftest", 1, ADMIN, super::NO_KEYS, "hyperloglog", pfselftest).acl(cat::HYPERLOGLOG),
];

const PFDEBUG_KEY: super::KeySpec = super::KeySpec { first: 2, last: 2, step: 1 };

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

impl From<hll::Corrupt> for CmdError {
    fn from(_: hll::Corrupt) -> Self {
        CmdError::from(CORRUPT)
    }
}

/// The sketch bytes of a key, for editing: WRONGTYPE for another type, the HLL WRONGTYPE for a
/// string that is not a sketch.
fn sketch_mut(o: &mut Object) -> Result<RawMut<'_>, CmdError> {
    let s = o.value.as_str_mut()?;
    // An integer-encoded string can never be a sketch; do not turn it raw just to find that out.
    if matches!(s, StrValue::Int(_)) {
        return Err(NOT_HLL.into());
    }
    let bytes = s.make_raw();
    if hll::is_valid(&bytes) { Ok(bytes) } else { Err(NOT_HLL.into()) }
}

fn new_sketch_value() -> Value {
    Value::Str(StrValue::Raw(hll::new_sparse().into_boxed_slice()))
}

/// PFADD key [element ...]
fn pfadd(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let key = args.get(1);
    let sparse_max = srv.config.hll_sparse_max_bytes();
    let mut updated = 0;
    if srv.lookup_write(db, key).is_none() {
        srv.dbs[db].set(key, new_sketch_value(), false, srv.clocks.fresh());
        srv.key_created(db, key);
        updated += 1;
    }
    let Some(o) = srv.dbs[db].get_mut(key) else { return Ok(()) };
    {
        let mut sketch = sketch_mut(o)?;
        for ele in args.iter().skip(2) {
            if hll::add(&mut sketch, ele, sparse_max)? {
                updated += 1;
            }
        }
        if updated > 0 {
            hll::invalidate_cache(&mut sketch);
        }
    }
    if updated > 0 {
        srv.signal_modified_key(db, key);
        srv.notify_keyspace_event(EVENT_STRING, "pfadd", key, db);
        srv.dirty += updated;
    }
    c.reply.int(i64::from(updated > 0));
    Ok(())
}

/// PFCOUNT key [key ...]: one key answers from (and refreshes) the cached cardinality; several keys
/// count their union without touching them.
fn pfcount(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    if args.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for key in args.iter().skip(1) {
            let Some(o) = srv.lookup_read(db, key) else { continue };
            hll::merge_into(&mut max, &sketch_mut(o)?)?;
        }
        c.reply.int(hll::count_registers(&max) as i64);
        return Ok(());
    }
    let key = args.get(1);
    let Some(o) = srv.lookup_read(db, key) else {
        c.reply.int(0);
        return Ok(());
    };
    let (card, refreshed) = {
        let mut sketch = sketch_mut(o)?;
        match hll::cached_cardinality(&sketch) {
            Some(card) => (card, false),
            None => {
                let card = hll::count(&sketch)?;
                hll::set_cached_cardinality(&mut sketch, card);
                (card, true)
            }
        }
    };
    if refreshed {
        // The cache is part of the string value: replicas and the AOF must see it change.
        srv.signal_modified_key(db, key);
        srv.dirty += 1;
    }
    c.reply.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]: the destination turns dense when any input is dense.
fn pfmerge(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let mut max = vec![0u8; hll::REGISTERS];
    let mut use_dense = false;
    for key in args.iter().skip(1) {
        let Some(o) = srv.lookup_read(db, key) else { continue };
        let sketch = sketch_mut(o)?;
        use_dense |= hll::encoding(&sketch) == Encoding::Dense;
        hll::merge_into(&mut max, &sketch)?;
    }
    let dest = args.get(1);
    if srv.lookup_write(db, dest).is_none() {
        srv.dbs[db].set(dest, new_sketch_value(), false, srv.clocks.fresh());
        srv.key_created(db, dest);
    }
    let sparse_max = srv.config.hll_sparse_max_bytes();
    let Some(o) = srv.dbs[db].get_mut(dest) else { return Ok(()) };
    {
        let mut sketch = sketch_mut(o)?;
        if use_dense {
            hll::to_dense(&mut sketch)?;
        }
        hll::raise_registers(&mut sketch, &max, sparse_max)?;
        hll::invalidate_cache(&mut sketch);
    }
    srv.signal_modified_key(db, dest);
    // A merge is a mass add: Redis reports it as a pfadd event.
    srv.notify_keyspace_event(EVENT_STRING, "pfadd", dest, db);
    srv.dirty += 1;
    c.reply.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key
fn pfdebug(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let db = c.db;
    let sub = args.get(1);
    let Some(o) = srv.lookup_write(db, args.get(2)) else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let mut guard = sketch_mut(o)?;
    let sketch: &mut Vec<u8> = &mut guard;
    // An encoding change must reach replicas and the AOF.
    let mut converted_to_dense = false;
    match sub.to_ascii_lowercase().as_slice() {
        b"getreg" => {
            let converted = hll::encoding(sketch) == Encoding::Sparse;
            hll::to_dense(sketch)?;
            let regs = hll::registers(sketch);
            converted_to_dense = converted;
            c.reply.array(regs.len());
            for r in regs {
                c.reply.int(i64::from(r));
            }
        }
        b"decode" => {
            if hll::encoding(sketch) != Encoding::Sparse {
                return Err(CmdError::err("HLL encoding is not sparse"));
            }
            c.reply.bulk(hll::decode_sparse(sketch).as_bytes());
        }
        b"encoding" => c.reply.simple(match hll::encoding(sketch) {
            Encoding::Dense => b"dense",
            Encoding::Sparse => b"sparse",
        }),
        b"todense" => {
            let converted = hll::encoding(sketch) == Encoding::Sparse;
            hll::to_dense(sketch)?;
            converted_to_dense = converted;
            c.reply.int(i64::from(converted));
        }
        _ => {
            return Err(CmdError::err(format!("Unknown PFDEBUG subcommand '{}'", String::from_utf8_lossy(sub))));
        }
    }
    drop(guard);
    if converted_to_dense {
        srv.dirty += 1;
    }
    Ok(())
}

/// PFSELFTEST
fn pfselftest(srv: &mut Server, c: &mut Client, _args: &Args) -> CmdResult {
    let sparse_max = srv.config.hll_sparse_max_bytes();
    hll::self_test(|| srv.random(), sparse_max).map_err(CmdError::from)?;
    c.reply.ok();
    Ok(())
}
