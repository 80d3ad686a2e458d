//! `ferrodis-server [CONFIG_PATH] [--directive value ...]`: started exactly like redis-server.
//!
//! Reads the configuration, opens the listeners, logs Redis's startup lines (tools and Redis's own test
//! suite wait for ` PID: ` and `Ready to accept connections`), then hands over to the event loop.

use ferrodis::config::{CommandLine, Config};
use ferrodis::server::{Server, shutdown};

fn usage() {
    eprintln!(
        "Usage: ./ferrodis-server [/path/to/redis.conf] [options] [-]\n       ./ferrodis-server - (read config from stdin)\n       ./ferrodis-server -v or --version\n       ./ferrodis-server -h or --help\n\nExamples:\n       ./ferrodis-server (run the server with default conf)\n       ./ferrodis-server /etc/redis/6379.conf\n       ./ferrodis-server --port 7777\n       ./ferrodis-server --port 7777 --replicaof 127.0.0.1 8888\n       ./ferrodis-server /etc/myredis.conf --loglevel verbose -\n       ./ferrodis-server /etc/myredis.conf --loglevel verbose"
    );
}

fn version_line() -> String {
    format!(
        "Redis server v={} sha=00000000:0 malloc=libc bits=64 build=ferrodis-{}",
        ferrodis::REDIS_VERSION,
        env!("CARGO_PKG_VERSION")
    )
}

/// The startup banner: Redis prints an ASCII logo that carries ` PID: <pid>`; ours carries the same
/// facts in plain lines.
fn logo(port: u16) -> String {
    format!(
        "\n                ferrodis {} (Redis {} compatible) 64 bit\n\n                Running in standalone mode\n                Port: {}\n                PID: {}\n\n                https://redis.io\n",
        env!("CARGO_PKG_VERSION"),
        ferrodis::REDIS_VERSION,
        port,
        std::process::id()
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(first) = args.first() {
        let mut opts = getopts::Options::new();
        opts.optflag("v", "version", "print the version and exit");
        opts.optflag("h", "help", "print usage and exit");
        opts.optflag("", "test-memory", "accepted for compatibility");
        if matches!(first.as_str(), "-v" | "--version" | "-h" | "--help") {
            match opts.parse(&args[..1]) {
                Ok(m) if m.opt_present("v") => {
                    println!("{}", version_line());
                    return;
                }
                _ => {
                    usage();
                    return;
                }
            }
        }
    }
    let cmdline = CommandLine::parse(&args);
    let config = match Config::load_sources(cmdline.config_file.as_deref(), cmdline.from_stdin, &cmdline.overrides) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            std::process::exit(1);
        }
    };
    if config.daemonize() {
        shutdown::daemonize();
    }
    if let Err(e) = ferrodis::log::init(config.loglevel(), config.logfile()) {
        eprintln!("{e}");
        std::process::exit(1);
    }
    log::warn!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    log::warn!(
        "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
        ferrodis::REDIS_VERSION,
        std::process::id()
    );
    if cmdline.config_file.is_none() && !cmdline.from_stdin {
        log::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use {} /path/to/redis.conf",
            std::env::args().next().unwrap_or_else(|| "ferrodis-server".to_string())
        );
    } else {
        log::warn!("Configuration loaded");
    }
    let unsupported = config.unsupported();
    if !unsupported.is_empty() {
        log::warn!("Accepted for compatibility but not acted on yet by ferrodis: {}", unsupported.join(", "));
    }
    let executable = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
    let port = config.port();
    let mut server = match Server::new(config, executable) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("Failed creating the event loop. Error message: '{e}'");
            std::process::exit(1);
        }
    };
    match server.acl_load_at_startup() {
        Ok(()) => {}
        Err(ferrodis::acl::file::StartupError::Config(e)) => {
            eprint!("{e}");
            std::process::exit(1);
        }
        Err(ferrodis::acl::file::StartupError::Load(lines)) => {
            for line in lines {
                log::warn!("{line}");
            }
            std::process::exit(1);
        }
    }
    if let Err(e) = server.listen() {
        log::warn!("{e}");
        log::warn!("Failed listening on port {port} (TCP), aborting.");
        std::process::exit(1);
    }
    shutdown::install_signal_handlers();
    // SAFETY: isatty only inspects file descriptor 1.
    let stdout_is_tty = unsafe { libc::isatty(1) } == 1;
    let show_logo = server.config.always_show_logo() || (server.config.logfile().is_empty() && stdout_is_tty);
    if show_logo {
        log::info!(target: "raw", "{}", logo(port));
    } else {
        log::info!("Running mode=standalone, port={port}.");
    }
    log::info!("Server initialized");
    server.update_proc_title(None);
    server.load_data_from_disk();
    server.aof_open_on_server_start();
    server.repl_init_at_startup();
    if let Some(pidfile) = server.config.pidfile()
        && !pidfile.is_empty()
    {
        shutdown::write_pidfile(pidfile);
    }
    log::info!("Ready to accept connections");
    let code = server.run();
    std::process::exit(code);
}
