//! Command-line interface. Every flag has a `MICROMODEL_*` environment twin.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::recorder::FsyncPolicy;

/// MicroModel: an OpenAI-compatible proxy that records every completion as fine-tuning data.
#[derive(Debug, Parser)]
#[command(
    name = "micromodel",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of `serve`, accepted without the subcommand too.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The subcommand to run, `serve` by default.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy (the default).
    Serve(ServeArgs),
    /// Validate a config file and print what would run; exit 0 when valid, 1 when not.
    Check(CheckArgs),
    /// Export records as a fine-tuning file (chatml, openai or sharegpt), filtered and merged.
    Export(crate::dataset::ExportArgs),
    /// Count records per workflow and day: models, finish reasons, streams, tools, tokens.
    Stats(crate::dataset::StatsArgs),
    /// Check every line of every data file against the record format; exit 1 on problems.
    Validate(crate::dataset::ValidateArgs),
    /// Run with a built-in upstream: one workflow `demo` on 127.0.0.1:3001, nothing else needed.
    Demo(DemoArgs),
}

/// Flags of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The config file (watched and re-applied live).
    #[arg(long, env = "MICROMODEL_CONFIG", default_value = "./config.json")]
    pub config: PathBuf,
    /// Where records are written: <data-dir>/<workflow>/<DD-MM-YYYY>/data.jsonl.
    #[arg(long, env = "MICROMODEL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Bind address of workflows that set no HOST.
    #[arg(long, env = "MICROMODEL_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Durability of records: `interval` (at most 1 s at risk), `always` or `never`.
    #[arg(long, env = "MICROMODEL_FSYNC", value_enum, default_value_t = FsyncPolicy::Interval)]
    pub fsync: FsyncPolicy,
    /// Records that may wait for the disk before new ones are dropped.
    #[arg(long, env = "MICROMODEL_QUEUE_RECORDS", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_records: u32,
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, env = "MICROMODEL_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Stop budget, in seconds: a stop drains in-flight requests, then flushes the recorder,
    /// all within this; then the recorder's last attempt (at most 2 s) and exit. Also how long
    /// a listener removed by a reload drains.
    #[arg(long, env = "MICROMODEL_DRAIN_SECONDS", default_value_t = 30)]
    pub drain_seconds: u64,
    /// Runtime worker threads (default: one per CPU). On a small machine shared with its
    /// clients and upstream, 1 costs less CPU per request (see bench/RESULTS.md).
    #[arg(long, env = "MICROMODEL_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    pub worker_threads: Option<u16>,
    /// Admin listener for `/metrics`, `/healthz` and `/readyz` (off when not given).
    #[arg(long, env = "MICROMODEL_ADMIN_ADDR")]
    pub admin_addr: Option<std::net::SocketAddr>,
    /// Log format: `text` for people, `json` for log shippers. `RUST_LOG` filters.
    #[arg(long, env = "MICROMODEL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Least time between two log lines for the same upstream failure (workflow and kind);
    /// the failures in between are counted in the next line's `suppressed`.
    #[arg(long, env = "MICROMODEL_UPSTREAM_LOG_SECONDS", default_value_t = 10)]
    pub upstream_log_seconds: u64,
    /// Seconds a client has to send a request's headers (from its first byte, or from the
    /// accept for a connection's first request); past it the connection is closed.
    #[arg(long, env = "MICROMODEL_HEADER_READ_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_seconds: u64,
    /// Seconds a connection may stay open with no request in flight before it is closed.
    #[arg(long, env = "MICROMODEL_IDLE_TIMEOUT_SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub idle_timeout_seconds: u64,
    /// Seconds the proxy waits for the next piece of a request body before answering 408.
    #[arg(long, env = "MICROMODEL_BODY_READ_TIMEOUT_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_read_timeout_seconds: u64,
    /// Client connections served at once, all workflow listeners together; more wait in the
    /// backlog. Default: (soft RLIMIT_NOFILE - 64) / 2.
    #[arg(long, env = "MICROMODEL_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,
    /// Request body bytes held in memory at once, all requests together (over it: 503).
    #[arg(long, env = "MICROMODEL_MAX_BUFFERED_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub max_buffered_bytes: usize,
    /// Largest SSE line, SSE event or non-streamed answer captured for the record, in bytes;
    /// past it the answer still reaches the client but is not recorded (`too_large`).
    #[arg(long, env = "MICROMODEL_MAX_RECORD_BYTES", default_value_t = 32 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_record_bytes: u64,
    /// Flags of the object-storage sink (`--sink`, docs/object-storage.md).
    #[command(flatten)]
    pub sink: crate::sink::SinkArgs,
}

impl ServeArgs {
    /// The listener limits these flags ask for.
    pub fn listener_limits(&self) -> crate::server::Limits {
        use std::time::Duration;
        let timeouts = crate::server::Timeouts {
            header_read: Duration::from_secs(self.header_read_timeout_seconds),
            idle: Duration::from_secs(self.idle_timeout_seconds),
            body_read: Duration::from_secs(self.body_read_timeout_seconds),
        };
        let max = self
            .max_connections
            .map_or_else(crate::server::limits::default_max_connections, |n| {
                n as usize
            });
        crate::server::Limits::new(timeouts, max)
    }
}

/// Flags of `check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The config file to validate.
    #[arg(long, env = "MICROMODEL_CONFIG", default_value = "./config.json")]
    pub config: PathBuf,
    /// Bind address of workflows that set no HOST.
    #[arg(long, env = "MICROMODEL_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Flags of `demo`: every flag of `serve`, plus `--port`. `--config` names the config file the
/// demo writes (and then watches, as `serve` does).
#[derive(Debug, Clone, Args)]
#[command(mut_arg("config", |arg| arg
    .env("MICROMODEL_DEMO_CONFIG")
    .default_value("./demo-config.json")
    .help("The config file the demo writes at start (workflow `demo` -> the built-in upstream; \
           other workflows in it are kept) and then watches, as `serve` does")))]
pub struct DemoArgs {
    /// Flags shared with `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Port of the `demo` workflow; 0 picks a free one (printed at start).
    #[arg(long, env = "MICROMODEL_DEMO_PORT", default_value_t = 3001)]
    pub port: u16,
}
