//! MIGRATE (Redis's cluster.c, as it behaves outside cluster mode): sends keys to another server
//! as RESTORE commands over a cached connection, and deletes each one here once the target
//! acknowledged it (unless COPY), propagated as one DEL of the acknowledged keys.
//!
//! Like Redis, the transfer is synchronous: MIGRATE blocks the event loop for at most its
//! `timeout` per connect, write or reply, and nothing else in ferrodis does blocking network I/O.
//! `MigrateSockets` owns the cached connections (one per host:port, at most 64) and drops any
//! idle for more than 10 seconds from the cron; it never reads a socket outside a MIGRATE.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::flags::*;
use super::{Args, CommandSpec, NO_KEYS, READS_WRITES};
use crate::acl::category as cat;
use crate::client::Client;
use crate::db::NO_EXPIRE;
use crate::error::{self, CmdError, CmdResult};
use crate::persistence::rdb;
use crate::server::propagation::{encode_command, int_arg};
use crate::server::{Server, unix_ms};

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new("migrate", -6, WRITE, NO_KEYS, "generic", migrate)
    .with_getkeys(migrate_keys)
    .acl(cat::KEYSPACE | cat::DANGEROUS)
    .access(READS_WRITES)];

/// Connections kept at most; a new one beyond it replaces one at random.
const CACHE_ITEMS: usize = 64;
/// Seconds a cached connection may stay unused.
const CACHE_TTL_SECS: u64 = 10;
/// Bytes written per call, as Redis does (a slow target times out per chunk, not per payload).
const WRITE_CHUNK: usize = 64 * 1024;
/// The longest reply line read from the target.
const MAX_REPLY_LINE: u64 = 1024;

struct CachedSocket {
    conn: BufReader<TcpStream>,
    /// The db the target has selected on this connection, when known.
    last_dbid: Option<i64>,
    last_use_secs: u64,
}

/// MIGRATE's connections to target servers, by "host:port".
#[derive(Default)]
pub struct MigrateSockets {
    cached: HashMap<Vec<u8>, CachedSocket>,
}

impl MigrateSockets {
    /// INFO migrate_cached_sockets.
    pub fn len(&self) -> usize {
        self.cached.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cached.is_empty()
    }

    /// Close connections unused for longer than the cache TTL (from the cron, once a second).
    pub fn close_idle(&mut self, now_secs: u64) {
        self.cached.retain(|_, cs| now_secs.saturating_sub(cs.last_use_secs) <= CACHE_TTL_SECS);
    }
}

/// MIGRATE's keys: the key argument, or everything after KEYS when the key argument is empty
/// (Redis's migrateGetKeys, which skips AUTH and AUTH2 arguments while looking for KEYS).
fn migrate_keys(args: &Args) -> Vec<usize> {
    if args.len() > 3 && args.get(3).is_empty() {
        let mut j = 6;
        while j < args.len() {
            if args.is(j, "auth") {
                j += 1;
            } else if args.is(j, "auth2") {
                j += 2;
            } else if args.is(j, "keys") {
                return (j + 1..args.len()).collect();
            }
            j += 1;
        }
    }
    vec![3]
}

/// MIGRATE's options after the timeout.
struct Options<'a> {
    copy: bool,
    replace: bool,
    username: Option<&'a [u8]>,
    password: Option<&'a [u8]>,
    first_key: usize,
}

fn parse_options<'a>(args: &'a Args) -> Result<Options<'a>, CmdError> {
    let mut o = Options { copy: false, replace: false, username: None, password: None, first_key: 3 };
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args.is(j, "copy") {
            o.copy = true;
        } else if args.is(j, "replace") {
            o.replace = true;
        } else if args.is(j, "auth") {
            if more < 1 {
                return Err(error::SYNTAX.into());
            }
            j += 1;
            o.password = Some(args.get(j));
        } else if args.is(j, "auth2") {
            if more < 2 {
                return Err(error::SYNTAX.into());
            }
            o.username = Some(args.get(j + 1));
            o.password = Some(args.get(j + 2));
            j += 2;
        } else if args.is(j, "keys") {
            if !args.get(3).is_empty() {
                return Err(CmdError::err(
                    "When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            o.first_key = j + 1;
            break;
        } else {
            return Err(error::SYNTAX.into());
        }
        j += 1;
    }
    Ok(o)
}

/// How a transfer attempt failed on the socket.
struct SocketFailure {
    writing: bool,
    timed_out: bool,
}

impl SocketFailure {
    fn of(e: &io::Error, writing: bool) -> Self {
        SocketFailure { writing, timed_out: matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) }
    }
}

/// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw | AUTH2 user pw] [KEYS key ...]
fn migrate(srv: &mut Server, c: &mut Client, args: &Args) -> CmdResult {
    let opts = parse_options(args)?;
    let timeout_ms = args.i64(5)?;
    let dbid = args.i64(4)?;
    let timeout = Duration::from_millis(if timeout_ms <= 0 { 1000 } else { timeout_ms as u64 });
    let key_args: Vec<&[u8]> = if opts.first_key == 3 {
        vec![args.get(3)]
    } else {
        (opts.first_key..args.len()).map(|j| args.get(j)).collect()
    };
    // Keys missing (or expired) are left out; with none left there is nothing to do.
    let keys: Vec<&[u8]> = key_args.into_iter().filter(|k| srv.lookup_read(c.db, k).is_some()).collect();
    if keys.is_empty() {
        c.reply.simple(b"NOKEY");
        return Ok(());
    }

    let (restores, sent) = restore_commands(srv, c.db, &keys, opts.replace);
    let host = args.get(1);
    let port = args.get(2);
    let mut name = host.to_vec();
    name.push(b':');
    name.extend_from_slice(port);

    let mut may_retry = true;
    loop {
        let mut cs = match srv.migrate_sockets.cached.remove(&name) {
            Some(cs) => cs,
            None => match connect(host, port, timeout) {
                Ok(conn) => CachedSocket { conn: BufReader::new(conn), last_dbid: None, last_use_secs: 0 },
                Err(_) => return Err(CmdError::from("IOERR error or timeout connecting to the client")),
            },
        };
        cs.last_use_secs = unix_ms() / 1000;
        let select = cs.last_dbid != Some(dbid);
        let mut out = Vec::with_capacity(restores.len() + 64);
        if let Some(password) = opts.password {
            let mut argv: Vec<&[u8]> = vec![b"AUTH"];
            argv.extend(opts.username);
            argv.push(password);
            encode_command(&mut out, argv.len(), argv.into_iter());
        }
        if select {
            let db = int_arg(dbid);
            encode_command(&mut out, 2, [&b"SELECT"[..], &db].into_iter());
        }
        out.extend_from_slice(&restores);

        let outcome = exchange(&mut cs, &out, opts.password.is_some(), select, sent.len());
        let Exchanged { prefix_error, replies, timed_out: read_timed_out } = match outcome {
            Ok(r) => r,
            Err(failure) => {
                // A cached connection the target closed meanwhile is common: reconnect once.
                if may_retry && !failure.timed_out {
                    may_retry = false;
                    continue;
                }
                return Err(io_error(failure.writing));
            }
        };
        let socket_error = replies.len() < sent.len();
        // Nothing was processed yet: safe to reconnect and send it all again.
        if prefix_error.is_none() && replies.is_empty() && socket_error && may_retry && !read_timed_out {
            may_retry = false;
            continue;
        }

        // A failed AUTH or SELECT fails every key: the RESTOREs ran as another user or in another db.
        let prefix_failed = prefix_error.is_some();
        let mut target_error: Option<Vec<u8>> = prefix_error;
        let mut acked: Vec<&[u8]> = Vec::new();
        for (key, reply) in sent.iter().zip(&replies) {
            if prefix_failed || reply.first() == Some(&b'-') {
                target_error.get_or_insert_with(|| reply[1..].to_vec());
            } else if !opts.copy {
                srv.delete_key_notify(c.db, key);
                acked.push(key);
            }
        }
        if !opts.copy && !acked.is_empty() {
            let mut argv: Vec<&[u8]> = vec![b"DEL"];
            argv.extend(acked.iter().copied());
            srv.propagate_as(&argv);
        }
        if let Some(e) = target_error {
            // The target's state is unknown after an error: SELECT again next time.
            cs.last_dbid = None;
            if !socket_error {
                srv.migrate_sockets.keep(name, cs);
            }
            let mut text = b"ERR Target instance replied with error: ".to_vec();
            text.extend_from_slice(&e);
            return Err(CmdError::from(text));
        }
        if socket_error {
            return Err(io_error(false));
        }
        cs.last_dbid = Some(dbid);
        srv.migrate_sockets.keep(name, cs);
        c.reply.ok();
        return Ok(());
    }
}

fn io_error(writing: bool) -> CmdError {
    CmdError::from(format!("IOERR error or timeout {} to target instance", if writing { "writing" } else { "reading" }))
}

/// One RESTORE per key still alive, with its remaining TTL and a DUMP payload; also the keys sent.
fn restore_commands<'a>(srv: &Server, db: usize, keys: &[&'a [u8]], replace: bool) -> (Vec<u8>, Vec<&'a [u8]>) {
    let compression = srv.config.rdbcompression();
    let now = unix_ms() as i64;
    let mut out = Vec::new();
    let mut sent = Vec::new();
    for &key in keys {
        let Some(obj) = srv.dbs[db].get(key) else { continue };
        let when = srv.dbs[db].expire_of(key);
        let ttl = if when == NO_EXPIRE {
            0
        } else if when < now {
            continue;
        } else {
            (when - now).max(1)
        };
        let ttl = int_arg(ttl);
        let payload = rdb::dump_payload(&obj.value, compression);
        let mut argv: Vec<&[u8]> = vec![b"RESTORE", key, &ttl, &payload];
        if replace {
            argv.push(b"REPLACE");
        }
        encode_command(&mut out, argv.len(), argv.into_iter());
        sent.push(key);
    }
    (out, sent)
}

impl MigrateSockets {
    fn keep(&mut self, name: Vec<u8>, cs: CachedSocket) {
        if self.cached.len() >= CACHE_ITEMS
            && let Some(victim) = self.cached.keys().next().cloned()
        {
            self.cached.remove(&victim);
        }
        self.cached.insert(name, cs);
    }
}

fn connect(host: &[u8], port: &[u8], timeout: Duration) -> io::Result<TcpStream> {
    let bad = || io::Error::new(io::ErrorKind::InvalidInput, "bad address");
    let host = std::str::from_utf8(host).map_err(|_| bad())?;
    let port: u16 = std::str::from_utf8(port).ok().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let addr = (host, port).to_socket_addrs()?.next().ok_or_else(bad)?;
    let conn = TcpStream::connect_timeout(&addr, timeout)?;
    conn.set_nodelay(true)?;
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))?;
    Ok(conn)
}

/// What the target answered to one request.
struct Exchanged {
    /// The first error among the AUTH and SELECT replies (without its '-').
    prefix_error: Option<Vec<u8>>,
    /// The RESTORE replies, fewer than sent when the socket failed midway.
    replies: Vec<Vec<u8>>,
    /// That failure was a timeout.
    timed_out: bool,
}

/// Write the whole request, then read the AUTH and SELECT replies (the first error among them
/// returned), up to `restores` RESTORE replies (fewer when the socket failed midway) and whether
/// that failure was a timeout.
fn exchange(
    cs: &mut CachedSocket,
    request: &[u8],
    auth: bool,
    select: bool,
    restores: usize,
) -> Result<Exchanged, SocketFailure> {
    for chunk in request.chunks(WRITE_CHUNK) {
        cs.conn.get_mut().write_all(chunk).map_err(|e| SocketFailure::of(&e, true))?;
    }
    let mut prefix_error = None;
    for _ in 0..(usize::from(auth) + usize::from(select)) {
        let line = read_line(&mut cs.conn).map_err(|e| SocketFailure::of(&e, false))?;
        if prefix_error.is_none() && line.first() == Some(&b'-') {
            prefix_error = Some(line[1..].to_vec());
        }
    }
    let mut replies = Vec::with_capacity(restores);
    let mut timed_out = false;
    for _ in 0..restores {
        match read_line(&mut cs.conn) {
            Ok(line) => replies.push(line),
            Err(e) => {
                timed_out = SocketFailure::of(&e, false).timed_out;
                break;
            }
        }
    }
    Ok(Exchanged { prefix_error, replies, timed_out })
}

/// One reply line without its CRLF; an empty line or a closed connection is an error.
fn read_line(conn: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut line = Vec::new();
    conn.by_ref().take(MAX_REPLY_LINE).read_until(b'\n', &mut line)?;
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    if line.is_empty() {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    Ok(line)
}
