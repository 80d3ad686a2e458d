//! Reading a dataset in the RDB format, one record at a time: from a whole file (`load`) or from a
//! replication transfer still arriving (`RdbLoader::step` on the bytes received so far), so a
//! replica can apply keys as they come instead of holding the whole payload first.
//!
//! Never touches the server: records are handed to the caller as `LoadEvent`s. Never panics on
//! corrupt input; errors carry the offset of the problem from the start of the RDB.

use super::crc64::crc64;
use super::rdb::{LoadLimits, LoadStats, read_object};
use super::rdb_io::{RdbError, RdbReader, opcode, rdb_type};
use crate::db::{NO_EXPIRE, Value};

/// What the loader hands to its caller besides keys: RESIZEDB's counts for the current db.
pub enum LoadEvent {
    Key(LoadedKey),
    /// A FUNCTION library's code (`#!lua name=...` and its body).
    Function(Vec<u8>),
    /// A db's expected key and expiry counts, before its keys.
    Resize {
        db: usize,
        keys: u64,
        expires: u64,
    },
}

/// Everything a key record needs from the file.
pub struct LoadedKey {
    pub db: usize,
    pub key: Vec<u8>,
    pub value: Value,
    pub expire_ms: i64,
    pub idle_secs: Option<u64>,
    /// The LFU access counter the file recorded.
    pub freq: Option<u8>,
}

/// What one step found.
pub enum Step {
    /// A record for the caller; `step` again for the next.
    Event(LoadEvent),
    /// A record with nothing for the caller (an aux field, an expiry prefix, an empty key).
    Skipped,
    /// The bytes at hand end inside the next record: call again with more.
    NeedMore,
    /// The RDB ended (EOF opcode and checksum read).
    Done,
}

/// The state between records: where the stream is, and what the next key inherits (its db, and
/// the expiry and idle time prefixes that precede it).
pub struct RdbLoader {
    started: bool,
    finished: bool,
    /// Bytes consumed so far: error offsets and `end_offset` count from the RDB's start.
    consumed: usize,
    crc: u64,
    db: usize,
    expire_ms: i64,
    idle: Option<u64>,
    freq: Option<u8>,
    stats: LoadStats,
}

impl Default for RdbLoader {
    fn default() -> Self {
        Self::new()
    }
}

impl RdbLoader {
    pub fn new() -> Self {
        RdbLoader {
            started: false,
            finished: false,
            consumed: 0,
            crc: 0,
            db: 0,
            expire_ms: NO_EXPIRE,
            idle: None,
            freq: None,
            stats: LoadStats::default(),
        }
    }

    /// What was learnt so far (aux fields, counts); complete once `step` returned `Done`.
    pub fn stats(&self) -> &LoadStats {
        &self.stats
    }

    pub fn into_stats(self) -> LoadStats {
        self.stats
    }

    /// Bytes of the RDB consumed so far.
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// Parse one record from `data`, which starts right after what earlier steps consumed.
    /// `complete` says no more bytes will follow `data`; otherwise a record cut short is
    /// `NeedMore`. Returns the step and how many bytes of `data` it consumed (0 for `NeedMore`).
    pub fn step(&mut self, data: &[u8], complete: bool, limits: &LoadLimits) -> Result<(Step, usize), RdbError> {
        if self.finished {
            return Ok((Step::Done, 0));
        }
        let mut r = if complete { RdbReader::new(data) } else { RdbReader::new_partial(data) };
        let result = self.record(&mut r, limits);
        let result = match result {
            Err(e) if !complete && e.is_end_of_data() => return Ok((Step::NeedMore, 0)),
            Err(e) => Err(RdbError { offset: self.consumed + e.offset, reason: e.reason }),
            Ok(step) => Ok(step),
        };
        let used = r.position();
        let step = result?;
        if let Step::Done = step {
            // The trailer was not part of what it checks.
            self.finished = true;
        } else {
            self.crc = crc64(self.crc, &data[..used]);
        }
        self.consumed += used;
        if self.finished {
            self.stats.end_offset = self.consumed;
        }
        Ok((step, used))
    }

    fn record(&mut self, r: &mut RdbReader<'_>, limits: &LoadLimits) -> Result<Step, RdbError> {
        if !self.started {
            self.stats.version = r.read_magic()?;
            self.started = true;
            return Ok(Step::Skipped);
        }
        let op = r.read_u8()?;
        match op {
            opcode::EXPIRETIME => self.expire_ms = r.read_seconds_time()? as i64 * 1000,
            opcode::EXPIRETIME_MS => self.expire_ms = r.read_ms_time()?,
            opcode::FREQ => self.freq = Some(r.read_u8()?),
            opcode::IDLE => self.idle = Some(r.read_plain_len()?),
            opcode::EOF => return self.trailer(r),
            opcode::SELECTDB => {
                let id = r.read_plain_len()?;
                self.db = usize::try_from(id).map_err(|_| r.error("bad db number"))?;
            }
            opcode::RESIZEDB => {
                let keys = r.read_plain_len()?;
                let expires = r.read_plain_len()?;
                return Ok(Step::Event(LoadEvent::Resize { db: self.db, keys, expires }));
            }
            opcode::AUX => {
                let key = r.read_string()?;
                let value = r.read_string()?;
                self.aux(&key, &value);
            }
            opcode::SLOT_INFO => {
                for _ in 0..3 {
                    r.read_plain_len()?;
                }
            }
            opcode::MODULE_AUX => return Err(r.error("module data (this server has no modules)")),
            opcode::FUNCTION2 => return Ok(Step::Event(LoadEvent::Function(r.read_string()?))),
            opcode::FUNCTION => {
                // The 7.0 release candidates' form, rebuilt as the library code 7.0 keeps.
                let name = r.read_string()?;
                let engine = r.read_string()?;
                if r.read_plain_len()? != 0 {
                    r.read_string()?;
                }
                let body = r.read_string()?;
                let mut code =
                    format!("#!{} name={}\n", String::from_utf8_lossy(&engine), String::from_utf8_lossy(&name))
                        .into_bytes();
                code.extend_from_slice(&body);
                return Ok(Step::Event(LoadEvent::Function(code)));
            }
            ty => {
                if !rdb_type::is_object_type(ty) {
                    return Err(r.error("unknown RDB opcode"));
                }
                let key = r.read_string()?;
                let value = read_object(r, ty, limits)?;
                let (expire_ms, idle_secs, freq) = (self.expire_ms, self.idle.take(), self.freq.take());
                self.expire_ms = NO_EXPIRE;
                return Ok(match value {
                    None => {
                        self.stats.empty_keys_skipped += 1;
                        Step::Skipped
                    }
                    Some(value) => {
                        self.stats.keys_loaded += 1;
                        Step::Event(LoadEvent::Key(LoadedKey { db: self.db, key, value, expire_ms, idle_secs, freq }))
                    }
                });
            }
        }
        Ok(Step::Skipped)
    }

    /// After the EOF opcode: version 5+ files end with a CRC64 of everything before it (zero
    /// means it was not computed).
    fn trailer(&mut self, r: &mut RdbReader<'_>) -> Result<Step, RdbError> {
        if self.stats.version < 5 {
            return Ok(Step::Done);
        }
        let at = r.position();
        let trailer = u64::from_le_bytes(r.read_array::<8>()?);
        // Everything up to and including the EOF opcode.
        let expected = crc64(self.crc, r.consumed().get(..at).unwrap_or_default());
        if trailer == 0 {
            log::warn!("RDB file was saved with checksum disabled: no check performed.");
        } else if trailer != expected {
            log::warn!("Wrong RDB checksum expected: ({expected:x}) but got ({trailer:x}). Aborting now.");
            return Err(RdbError { offset: at, reason: "RDB CRC error" });
        }
        Ok(Step::Done)
    }

    /// Aux fields: Redis logs what it learns of the file as it goes; tools and people read these
    /// lines.
    fn aux(&mut self, key: &[u8], value: &[u8]) {
        match key {
            b"redis-ver" => log::info!("Loading RDB produced by version {}", String::from_utf8_lossy(value)),
            b"ctime" => {
                let ctime = crate::numeric::parse_i64(value).unwrap_or(0);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                log::info!("RDB age {} seconds", now.saturating_sub(ctime).max(0));
            }
            b"used-mem" => {
                let bytes = crate::numeric::parse_i64(value).unwrap_or(0);
                log::info!("RDB memory usage when created {:.2} Mb", bytes as f64 / (1024.0 * 1024.0));
            }
            b"repl-stream-db" => self.stats.repl_stream_db = crate::numeric::parse_i64(value),
            b"repl-id" => self.stats.repl_id = Some(String::from_utf8_lossy(value).into_owned()),
            b"repl-offset" => self.stats.repl_offset = crate::numeric::parse_i64(value),
            b"aof-base" => {
                self.stats.aof_base = value == b"1";
                if self.stats.aof_base {
                    log::info!("RDB is base AOF");
                }
            }
            _ => {}
        }
    }
}

/// Parse a whole RDB file, calling `on_event` for every record in order. Stops at the first
/// problem with its offset; the caller has not applied anything it did not see.
pub fn load(
    data: &[u8],
    limits: &LoadLimits,
    mut on_event: impl FnMut(LoadEvent) -> Result<(), RdbError>,
) -> Result<LoadStats, RdbError> {
    let mut loader = RdbLoader::new();
    let mut pos = 0;
    loop {
        let (step, used) = loader.step(data.get(pos..).unwrap_or_default(), true, limits)?;
        pos += used;
        match step {
            Step::Event(e) => on_event(e)?,
            Step::Skipped => {}
            Step::Done => return Ok(loader.into_stats()),
            // A complete input never asks for more: its end is an error.
            Step::NeedMore => return Err(RdbError { offset: pos, reason: "unexpected EOF" }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{Db, StrValue};
    use crate::persistence::rdb::{SaveInfo, SaveOptions, save};

    fn limits() -> LoadLimits {
        LoadLimits {
            list: crate::db::list::ListLimits { fill: -2, packed_threshold: 1 << 30 },
            hash: crate::db::hash::Limits { max_entries: 128, max_value: 64 },
            set_max_intset: 512,
            zset: crate::db::zset::ZSetLimits { max_entries: 128, max_value: 64 },
        }
    }

    fn sample_rdb() -> Vec<u8> {
        let mut db = Db::default();
        for i in 0..200 {
            let v = if i % 3 == 0 { vec![b'x'; 300 + i] } else { format!("v{i}").into_bytes() };
            db.add_object(
                format!("k{i}").as_bytes(),
                crate::persistence::rdb::object_for(
                    Value::Str(StrValue::from_bytes(&v)),
                    &Default::default(),
                    None,
                    None,
                ),
                if i % 5 == 0 { 4_000_000_000_000 } else { NO_EXPIRE },
            );
        }
        let mut out = Vec::new();
        save(&[db], &SaveInfo::default(), SaveOptions { compression: true, checksum: true }, 0, &mut out)
            .expect("save to memory");
        out
    }

    #[test]
    fn byte_by_byte_arrival_gives_the_same_records_as_a_whole_load() {
        let rdb = sample_rdb();
        let mut whole = Vec::new();
        load(&rdb, &limits(), |e| {
            if let LoadEvent::Key(k) = e {
                whole.push((k.key, k.expire_ms));
            }
            Ok(())
        })
        .expect("whole load");
        assert_eq!(whole.len(), 200);

        // Feed a growing prefix, a few bytes more each time, draining what was consumed.
        let mut loader = RdbLoader::new();
        let (mut buf, mut fed, mut streamed) = (Vec::new(), 0, Vec::new());
        loop {
            match loader.step(&buf, false, &limits()).expect("stream load") {
                (Step::NeedMore, _) => {
                    assert!(fed < rdb.len(), "asked for more after everything arrived");
                    let next = (fed + 7).min(rdb.len());
                    buf.extend_from_slice(&rdb[fed..next]);
                    fed = next;
                }
                (step, used) => {
                    buf.drain(..used);
                    match step {
                        Step::Event(LoadEvent::Key(k)) => streamed.push((k.key, k.expire_ms)),
                        Step::Done => break,
                        _ => {}
                    }
                }
            }
        }
        assert_eq!(streamed, whole);
        assert_eq!(loader.consumed(), rdb.len());
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum_even_when_streamed() {
        let clean = sample_rdb();
        // Every few bytes (the dict's order, hence each byte's role, changes with its seed): a
        // flip must never load to the end. It fails, or (a length grown past the data) waits
        // for bytes that never come, which a transfer of known size reports as truncated.
        for at in (0..clean.len()).step_by(37) {
            let mut rdb = clean.clone();
            rdb[at] ^= 0x01;
            let mut loader = RdbLoader::new();
            let mut pos = 0;
            let completed = loop {
                match loader.step(&rdb[pos..], false, &limits()) {
                    Err(_) | Ok((Step::NeedMore, _)) => break false,
                    Ok((Step::Done, _)) => break true,
                    Ok((_, used)) => pos += used,
                }
            };
            assert!(!completed, "corruption at byte {at} went unnoticed");
        }
    }
}
