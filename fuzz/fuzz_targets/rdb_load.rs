//! Fuzz the RDB loader and the RESTORE payload decoder: any bytes must load or be refused with an
//! offset, never panic or allocate without bound; whatever loads must save and load back the same.
#![no_main]

use ferrodis::db::hash::Limits as HashLimits;
use ferrodis::db::list::ListLimits;
use ferrodis::db::zset::ZSetLimits;
use ferrodis::persistence::rdb::{self, LoadLimits};
use ferrodis::persistence::rdb_load;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = LoadLimits {
        list: ListLimits::default(),
        hash: HashLimits { max_entries: 128, max_value: 64 },
        set_max_intset: 512,
        zset: ZSetLimits { max_entries: 128, max_value: 64 },
    };
    // A whole file (the fuzzer finds the magic quickly from the seed corpus).
    let mut keys = 0usize;
    let _ = rdb_load::load(data, &limits, |_| {
        keys += 1;
        Ok(())
    });
    // A RESTORE payload: checksum checking off, so the decoder itself is exercised.
    if rdb::verify_dump_payload(data, true)
        && let Ok(value) = rdb::load_dump_payload(data, &limits)
    {
        let again = rdb::dump_payload(&value, true);
        let back = rdb::load_dump_payload(&again, &limits).expect("our own payload loads");
        assert_eq!(value.digest(None, false), back.digest(None, false));
    }
});
