//! Loading the AOF at startup and on DEBUG LOADAOF (Redis's loadAppendOnlyFiles): the manifest,
//! the upgrade of a Redis 6 single-file AOF into the directory layout, then the base (RDB or
//! commands) and every incr file, replayed through a client that has no socket.
//!
//! A torn tail of the last file is cut off when `aof-load-truncated` is on (the file is truncated at
//! the last complete command, as Redis does); anything else wrong stops the server with Redis's log
//! lines and leaves the files untouched. Loading never propagates: `Server::loading` is set.

use std::time::Instant;

use crate::client::{Client, Stream};
use crate::command::{Args, Lookup};
use crate::persistence::aof::{self, CommandReader, Manifest, ReadError};
use crate::server::Server;

/// CLIENT ID of the client that replays the AOF (Redis's CLIENT_ID_AOF).
pub const AOF_CLIENT_ID: u64 = u64::MAX;

/// How loading one file (or all of them) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AofLoad {
    Ok,
    NotExist,
    Empty,
    /// Loaded after cutting a torn tail.
    Truncated,
    Failed,
    OpenErr,
}

impl Server {
    /// Read the manifest of the AOF directory, if there is one. A bad manifest stops the server.
    pub fn aof_load_manifest_from_disk(&mut self) {
        self.aof.manifest = Manifest::default();
        let dir = self.aof_dir();
        if !dir.is_dir() {
            log::debug!("The AOF directory {} doesn't exist", dir.display());
            return;
        }
        let name = aof::manifest_name(self.config.appendfilename());
        let path = dir.join(&name);
        if !path.exists() {
            log::debug!("The AOF manifest file {name} doesn't exist");
            return;
        }
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => {
                log::warn!("Fatal error: can't open the AOF manifest file {} for reading: {e}", path.display());
                std::process::exit(1);
            }
        };
        match Manifest::parse(&text) {
            Ok(m) => self.aof.manifest = m,
            Err(e) => {
                log::warn!("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
                if let Some((n, line)) = &e.line {
                    log::warn!("Reading the manifest file, at line {n}\n");
                    log::warn!(">>> '{line}'\n");
                }
                log::warn!("{}\n", e.reason);
                std::process::exit(1);
            }
        }
    }

    /// Startup with `appendonly yes`: only the AOF is read, never the RDB file.
    pub fn aof_load_at_startup(&mut self) {
        self.aof_load_manifest_from_disk();
        let start = Instant::now();
        let ret = self.aof_load_files();
        if matches!(ret, AofLoad::Failed | AofLoad::OpenErr) {
            std::process::exit(1);
        }
        if ret != AofLoad::NotExist {
            log::info!("DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64());
        }
    }

    /// Upgrade a single-file AOF when found, then load base and incr files in order.
    pub fn aof_load_files(&mut self) -> AofLoad {
        let prefix = self.config.appendfilename().to_string();
        if std::path::Path::new(&prefix).is_file() {
            let m = &self.aof.manifest;
            let upgrade = !self.aof_dir().is_dir()
                || (m.base.is_none() && m.incr.is_empty())
                || (m.incr.is_empty()
                    && m.base.as_ref().is_some_and(|b| b.name == prefix)
                    && !self.aof_path(&prefix).exists());
            if upgrade {
                self.aof_upgrade_prepare(&prefix);
            }
        }
        let files: Vec<(String, bool)> = {
            let m = &self.aof.manifest;
            m.files_to_load().map(|f| (f.name.clone(), f.kind == aof::FileKind::Base)).collect()
        };
        if files.is_empty() {
            return AofLoad::NotExist;
        }
        let mut total = 0u64;
        for (name, _) in &files {
            match std::fs::metadata(self.aof_path(name)) {
                Ok(meta) => total += meta.len(),
                Err(e) => {
                    log::warn!("Unable to obtain the AOF file {name} length. stat: {e}");
                    return AofLoad::Failed;
                }
            }
        }
        if total == 0 {
            return AofLoad::Empty;
        }
        self.loading = true;
        let mut ret = AofLoad::Ok;
        let mut base_size = 0;
        let count = files.len();
        for (i, (name, is_base)) in files.iter().enumerate() {
            let last = i + 1 == count;
            if *is_base {
                base_size = std::fs::metadata(self.aof_path(name)).map(|m| m.len()).unwrap_or(0);
            }
            let start = Instant::now();
            ret = self.aof_load_one(name, &prefix);
            if ret == AofLoad::Ok || (ret == AofLoad::Truncated && last) {
                let kind = if *is_base { "base" } else { "incr" };
                log::info!("DB loaded from {kind} file {name}: {:.3} seconds", start.elapsed().as_secs_f64());
            }
            if ret == AofLoad::Empty && !is_base {
                ret = AofLoad::Ok;
            }
            if ret == AofLoad::Truncated && !last {
                ret = AofLoad::Failed;
                log::warn!("Fatal error: the truncated file is not the last file");
            }
            if matches!(ret, AofLoad::OpenErr | AofLoad::Failed) {
                break;
            }
        }
        self.loading = false;
        if !matches!(ret, AofLoad::OpenErr | AofLoad::Failed) {
            self.aof.current_size = total;
            self.aof.rewrite_base_size = base_size;
        }
        ret
    }

    /// A Redis 6 `appendonly.aof` in `dir`: move it into the AOF directory as the base of a new
    /// manifest. Safe to redo if interrupted.
    fn aof_upgrade_prepare(&mut self, prefix: &str) {
        let dir = self.aof_dir();
        if let Err(e) = std::fs::create_dir_all(&dir) {
            log::warn!("Can't open or create append-only dir {}: {e}", dir.display());
            std::process::exit(1);
        }
        let mut m = self.aof.manifest.clone();
        m.base = Some(aof::AofFile { name: prefix.to_string(), seq: 1, kind: aof::FileKind::Base });
        m.base_seq = 1;
        if self.aof_persist_manifest(&m).is_err() {
            std::process::exit(1);
        }
        self.aof.manifest = m;
        if let Err(e) = std::fs::rename(prefix, self.aof_path(prefix)) {
            log::warn!("Error trying to move the old AOF file {prefix} into dir {}: {e}", dir.display());
            std::process::exit(1);
        }
        log::info!(
            "Successfully migrated an old-style AOF file ({prefix}) into the AOF directory ({}).",
            self.config.appenddirname()
        );
    }

    /// Replay one file: an RDB part first when it starts with `REDIS`, then commands.
    fn aof_load_one(&mut self, name: &str, prefix: &str) -> AofLoad {
        let path = self.aof_path(name);
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                log::warn!("The append log file {name} doesn't exist: {e}");
                return AofLoad::NotExist;
            }
            Err(e) => {
                log::warn!("Fatal error: can't open the append log file {name} for reading: {e}");
                return AofLoad::OpenErr;
            }
        };
        if data.is_empty() {
            return AofLoad::Empty;
        }
        let mut start = 0;
        if data.starts_with(b"REDIS") {
            let old_style = name == prefix;
            if old_style {
                log::info!("Reading RDB preamble from AOF file...");
            } else {
                log::info!("Reading RDB base file on AOF loading...");
            }
            match self.rdb_load_bytes(&data, true, true) {
                Ok(stats) => start = stats.end_offset,
                Err(e) => {
                    if old_style {
                        log::warn!("Error reading the RDB preamble of the AOF file {name}, AOF loading aborted");
                    } else {
                        log::warn!("Error reading the RDB base file {name}, AOF loading aborted");
                    }
                    log::warn!("Internal error in RDB reading offset {} of {name} -> {}", e.offset, e.reason);
                    return AofLoad::Failed;
                }
            }
            if old_style {
                log::info!("Reading the remaining AOF tail...");
            }
        }
        let load_truncated = self.config.aof_load_truncated();
        let mut fake = Client::new(AOF_CLIENT_ID, usize::MAX, Stream::Detached, String::new(), String::new(), 0);
        fake.authenticated = true;
        fake.user = None;
        let mut reader = CommandReader::new(&data, start);
        // Redis only tracks offsets from the command part on, so a torn first command after an RDB
        // part truncates to 0 (kept for byte-identical behaviour).
        let mut valid_up_to = 0usize;
        let mut valid_before_multi = 0usize;
        let outcome = loop {
            match reader.next_command() {
                Ok(false) => break Ok(()),
                Err(e) => break Err(e),
                Ok(true) => {}
            }
            let args = Args::new(&data, &reader.ranges);
            let id = match self.commands.lookup(&args) {
                Lookup::Found(cmd) => cmd.id,
                _ => {
                    log::warn!(
                        "Unknown command '{}' reading the append only file {name}",
                        String::from_utf8_lossy(args.get(0))
                    );
                    return AofLoad::Failed;
                }
            };
            let cmd_name = self.commands.commands[id].spec.name;
            if cmd_name == "multi" {
                valid_before_multi = valid_up_to;
            }
            if fake.in_multi() && cmd_name != "exec" {
                let (buf, ranges) = args.to_owned_parts();
                fake.multi.push(crate::client::QueuedCommand { buf, ranges });
            } else {
                self.call(&mut fake, id, &args);
            }
            fake.reply.buf.clear();
            if load_truncated {
                valid_up_to = reader.position();
            }
        };
        let eof = match outcome {
            Ok(()) if fake.in_multi() => {
                log::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                valid_up_to = valid_before_multi;
                true
            }
            Ok(()) => false,
            Err(ReadError::UnexpectedEof) => true,
            Err(ReadError::BadFormat) => {
                log::warn!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                );
                return AofLoad::Failed;
            }
        };
        if !eof {
            return AofLoad::Ok;
        }
        if load_truncated {
            log::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
            log::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
            let truncated =
                std::fs::OpenOptions::new().write(true).open(&path).and_then(|f| f.set_len(valid_up_to as u64));
            match truncated {
                Ok(()) => {
                    log::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                    return AofLoad::Truncated;
                }
                Err(e) => log::warn!("Error truncating the AOF file {name}: {e}"),
            }
        }
        log::warn!(
            "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
        );
        AofLoad::Failed
    }
}
