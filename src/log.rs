//! Redis's log line format on top of `log` + `env_logger`:
//! `<pid>:<role> DD Mon YYYY HH:MM:SS.mmm <level> <message>`.
//!
//! Role letters: `M` master, `S` replica, `C` forked child. Level characters: `.` debug, `-` verbose,
//! `*` notice, `#` warning. Redis's levels map onto `log`'s as debug→Trace, verbose→Debug,
//! notice→Info, warning→Warn. Messages logged with target `raw` are written without any prefix (the logo).
//! Logging never fails the caller: a broken log file loses lines, not the server.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

use log::{Level, LevelFilter};

use crate::config::LogLevel;

static ROLE: AtomicU8 = AtomicU8::new(b'M');

/// Set the role letter shown on every following line.
pub fn set_role(letter: u8) {
    ROLE.store(letter, Ordering::Relaxed);
}

/// The `log` filter for a Redis `loglevel`.
pub fn level_filter(loglevel: LogLevel) -> LevelFilter {
    match loglevel {
        LogLevel::Debug => LevelFilter::Trace,
        LogLevel::Verbose => LevelFilter::Debug,
        LogLevel::Notice => LevelFilter::Info,
        LogLevel::Warning => LevelFilter::Warn,
    }
}

/// Change the level at run time (CONFIG SET loglevel).
pub fn set_level(loglevel: LogLevel) {
    log::set_max_level(level_filter(loglevel));
}

fn level_char(level: Level) -> char {
    match level {
        Level::Trace => '.',
        Level::Debug => '-',
        Level::Info => '*',
        Level::Warn | Level::Error => '#',
    }
}

/// `DD Mon YYYY HH:MM:SS.mmm` in local time.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r only writes into the tm we pass.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MONTHS.get(tm.tm_mon as usize).unwrap_or(&"Jan"),
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

/// Install the logger. `logfile` empty means stdout. Returns an error text when the file cannot be opened.
pub fn init(loglevel: LogLevel, logfile: &str) -> Result<(), String> {
    let target = if logfile.is_empty() {
        env_logger::Target::Stdout
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)
            .map_err(|e| format!("Can't open the log file: {e}"))?;
        env_logger::Target::Pipe(Box::new(f))
    };
    let pid = std::process::id();
    let mut builder = env_logger::Builder::new();
    builder.target(target).filter_level(LevelFilter::Trace).format(move |buf, record| {
        if record.target() == "raw" {
            return writeln!(buf, "{}", record.args());
        }
        let role = ROLE.load(Ordering::Relaxed) as char;
        writeln!(buf, "{pid}:{role} {} {} {}", timestamp(), level_char(record.level()), record.args())
    });
    // A second init (tests, re-exec) keeps the first logger.
    let _ = builder.try_init();
    log::set_max_level(level_filter(loglevel));
    Ok(())
}
