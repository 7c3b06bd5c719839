//! The `serve` and `check` subcommands: `serve` loads the config, starts the recorder and the
//! [`Supervisor`] (listeners, reloads, stop), then flushes the recorder.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::admin::{self, AdminState, Readiness};
use crate::cli::{CheckArgs, LogFormat, ServeArgs};
use crate::config::{self, Config, ConfigErrors, LoadOptions};
use crate::proxy::Shared;
use crate::recorder::{self, RecorderOptions};
use crate::server::{self, StopSignals};
use crate::supervisor::{self, watcher, BindError, Supervisor};
use crate::upstream::UpstreamClient;
use crate::{logging, telemetry};

pub use crate::supervisor::Control;

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config is missing or invalid.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// Listeners could not be bound (every failure is listed).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Bind(Vec<BindError>),
    /// The admin listener (`--admin-addr`) could not be bound.
    #[error("could not bind the admin listener {addr}: {source}")]
    AdminBind {
        /// `--admin-addr`.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The signal handlers (SIGHUP, SIGTERM, SIGINT) could not be installed.
    #[error("could not listen for signals: {0}")]
    Signals(std::io::Error),
    /// The data folder could not be prepared.
    #[error("could not prepare the data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The metrics recorder was already installed (only one per process).
    #[error("the metrics recorder could not be installed")]
    Metrics,
    /// The HTTP client could not be built.
    #[error("could not build the upstream HTTP client: {0}")]
    Client(#[from] crate::upstream::ClientError),
    /// `--admin-token` is empty or names an unset variable.
    #[error("{0}")]
    AdminToken(#[from] crate::ui::token::TokenError),
    /// The object-storage sink (`--sink`) could not start.
    #[error("{0}")]
    Sink(#[from] crate::sink::SinkError),
}

impl StartError {
    /// Says on stderr why `program` could not start (every config problem, with the example
    /// when the file is missing) and returns the exit code for it: 1.
    pub fn report(&self, program: &str) -> ExitCode {
        match self {
            StartError::Config(errors) => {
                eprintln!("{program}: the config is not valid:\n{}", explain(errors));
            }
            other => eprintln!("{program}: {other}"),
        }
        ExitCode::FAILURE
    }
}

/// Sets up logging and the multi-thread runtime (`--worker-threads`) that `serve` and
/// `demo` run on, runs `service` to its end and shuts the runtime down. `None` (after saying
/// why on stderr) when the runtime could not be built.
pub fn run_service<F: Future>(
    program: &str,
    log_format: LogFormat,
    worker_threads: Option<u16>,
    service: F,
) -> Option<F::Output> {
    logging::init(log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = worker_threads {
        builder.worker_threads(usize::from(threads));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{program}: could not start the async runtime: {error}");
            return None;
        }
    };
    let output = runtime.block_on(service);
    // A write thread stuck in the kernel (frozen filesystem, FIFO without a reader) must not
    // hold the exit: the stop already counted what it holds as lost.
    runtime.shutdown_timeout(crate::stop::RUNTIME_SHUTDOWN);
    Some(output)
}

/// Runs the proxy until a [`Control::Shutdown`] arrives on `control`, then stops within one
/// budget (`--drain-seconds`): drain, then the recorder's flush in what remains, then its last
/// attempt (at most [`recorder::FINAL_ATTEMPT`]); a second Shutdown skips to that attempt.
/// Returns what was lost. `control_tx` is the sending side of the same channel, given to the
/// config watcher; signals (or tests) send into it too.
pub async fn serve(
    args: ServeArgs,
    control_tx: mpsc::Sender<Control>,
    mut control: mpsc::Receiver<Control>,
) -> Result<Stopped, StartError> {
    let options = LoadOptions {
        default_host: args.host,
        require_client_keys: args.require_client_keys,
    };
    let admin_token = args
        .admin_token
        .as_ref()
        .map(crate::ui::token::AdminToken::resolve)
        .transpose()?;
    // Watch first, then read: a save between the two still triggers a reload.
    let watcher = watcher::spawn(args.config.clone(), control_tx);
    let initial = Arc::new(config::load(&args.config, options)?);
    let sink = crate::sink::start(&args.sink, &args.data_dir, args.data_mode)?;
    let (recorder, recorder_task) = recorder::start_with_sink(
        RecorderOptions {
            data_dir: args.data_dir.clone(),
            fsync: args.fsync,
            queue_records: args.queue_records as usize,
            mode: args.data_mode,
        },
        sink.as_ref().map(crate::sink::SinkHandle::spool),
    )
    .map_err(|source| StartError::DataDir {
        path: args.data_dir.display().to_string(),
        source,
    })?;
    let client = UpstreamClient::new();
    // Only a config with an `https://` upstream loads the trust roots at start (idle RSS).
    client.prepare_tls(initial.workflows.values().map(|w| w.api_host.as_str()))?;
    crate::proxy::failure_log::set_interval(Duration::from_secs(args.upstream_log_seconds));
    let (config_tx, config_rx) = supervisor::config_channel();
    let admin_view = AdminView {
        token: admin_token,
        data_dirs: vec![args.data_dir.clone()],
        config: config_rx.clone(),
        sink: args.sink.sink.clone(),
    };
    let shared = Arc::new(
        Shared::new(client, recorder, config_rx, args.max_body_bytes)
            .with_limits(args.max_buffered_bytes, args.listener_limits())
            .with_max_record_bytes(usize::try_from(args.max_record_bytes).unwrap_or(usize::MAX))
            .with_data_dir(args.data_dir.clone(), sink.is_some()),
    );
    let drain = Duration::from_secs(args.drain_seconds);
    let readiness = Arc::new(Readiness::default());
    let admin = match args.admin_addr {
        Some(addr) => Some(
            start_admin(
                addr,
                &readiness,
                shared.limits.timeouts,
                Arc::downgrade(&shared.labels),
                admin_view,
            )
            .await?,
        ),
        None => None,
    };
    let supervisor = Supervisor::new(
        args.config.clone(),
        options,
        config_tx,
        Arc::clone(&shared),
        drain,
        Arc::clone(&readiness),
    )
    .start(initial)
    .map_err(StartError::Bind)?;
    info!(data_dir = %args.data_dir.display(), config = %args.config.display(), "MicroModel is ready.");

    let stopped = supervisor.run(&mut control).await;
    watcher.abort();
    // Every listener is gone: the last senders to the recorder go with `shared`.
    drop(shared);
    // One budget for the whole stop: the recorder flushes in what the drain left.
    let deadline = if stopped.cut_short {
        tokio::time::Instant::now()
    } else {
        stopped.began + drain
    };
    info!(
        remaining_ms = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .as_millis() as u64,
        "Drained; flushing the recorder in what is left of the stop budget."
    );
    let report = recorder_task
        .stop(deadline, second_stop(&mut control))
        .await;
    if let Some(sink) = sink {
        // Every line the recorder wrote is in a segment now: seal and upload in what is left.
        sink.stop(deadline).await;
    }
    if let Some((signals, task)) = admin {
        // Idle scrapers' connections close at once; a scrape in progress gets a moment.
        signals.stop.cancel();
        let _ = task.await;
    }
    let outcome = Stopped {
        lost: report.lost,
        dropped_queue_full: report.dropped_queue_full,
    };
    let took_ms = stopped.began.elapsed().as_millis() as u64;
    if report.lost > 0 {
        error!(
            lost = report.lost,
            dropped_queue_full = report.dropped_queue_full,
            took_ms,
            exit_code = outcome.exit_code(),
            "Stopped; records were lost."
        );
    } else if report.clean {
        info!(
            lost = 0,
            dropped_queue_full = report.dropped_queue_full,
            took_ms,
            "Recorder flushed and synced. Bye."
        );
    } else {
        warn!(
            lost = 0,
            dropped_queue_full = report.dropped_queue_full,
            took_ms,
            "Stopped; every record was written but not every file could be synced."
        );
    }
    Ok(outcome)
}

/// Resolves at the next stop request (a second SIGTERM/SIGINT); reloads are ignored.
async fn second_stop(control: &mut mpsc::Receiver<Control>) {
    loop {
        match control.recv().await {
            Some(Control::Shutdown) => {
                warn!("Second stop request: the recorder makes its last attempt now.");
                return;
            }
            Some(_) => {}
            // Nobody can ask any more: only the deadline ends the wait.
            None => std::future::pending::<()>().await,
        }
    }
}

/// Exit code of `serve` when records accepted for writing were lost at the stop (they were
/// not on disk when the process exited). 1 stays for config and start errors.
pub const EXIT_RECORDS_LOST: u8 = 3;

/// How a `serve` that started ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Records accepted for writing that were not written when the process stopped.
    pub lost: u64,
    /// Records dropped while running because the queue was full (logged when dropped).
    pub dropped_queue_full: u64,
}

impl Stopped {
    /// 0 when nothing was lost at the stop, [`EXIT_RECORDS_LOST`] otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.lost > 0 {
            EXIT_RECORDS_LOST
        } else {
            0
        }
    }
}

/// What the admin listener shows beyond metrics: the token it asks for and the data page's
/// sources.
struct AdminView {
    token: Option<crate::ui::token::AdminToken>,
    data_dirs: Vec<std::path::PathBuf>,
    config: tokio::sync::watch::Receiver<Arc<Config>>,
    /// `--sink`: the bucket the data page can also read.
    sink: Option<String>,
}

/// Binds and starts the admin listener; it serves until the very end (so `/readyz` can say
/// 503 during the drain).
async fn start_admin(
    addr: SocketAddr,
    readiness: &Arc<Readiness>,
    timeouts: server::Timeouts,
    labels: std::sync::Weak<crate::labels::Labels>,
    view: AdminView,
) -> Result<(StopSignals, tokio::task::JoinHandle<usize>), StartError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::AdminBind { addr, source })?;
    let handle = telemetry::install().ok_or(StartError::Metrics)?;
    let state = Arc::new(AdminState {
        metrics: handle,
        readiness: Arc::clone(readiness),
        labels,
        auth: view
            .token
            .map(|token| Arc::new(crate::ui::auth::Auth::new(token))),
        ui: crate::ui::UiState::new(view.data_dirs, Some(view.config)).with_bucket(view.sink),
    });
    if state.auth.is_none() && !addr.ip().is_loopback() {
        warn!(%addr, "The admin listener (metrics, data page, labels) is open to the network: set --admin-token.");
    }
    let signals = StopSignals::default();
    info!(addr = %listener.local_addr().unwrap_or(addr), auth = state.auth.is_some(), "Admin listener: /metrics, /healthz, /readyz, /ui/.");
    let task = tokio::spawn(server::serve(
        listener,
        admin::router(state),
        signals.clone(),
        crate::stop::ADMIN_DRAIN,
        server::Limits::new(timeouts, server::limits::ADMIN_MAX_CONNECTIONS),
    ));
    Ok((signals, task))
}

/// `micromodel check`: prints what would run, or every problem. Returns the exit code.
pub fn check(args: &CheckArgs) -> i32 {
    match config::load(
        &args.config,
        LoadOptions {
            default_host: args.host,
            require_client_keys: args.require_client_keys,
        },
    ) {
        Ok(config) => {
            println!(
                "{}: valid, {} workflow(s)",
                args.config.display(),
                config.workflows.len()
            );
            print!("{}", describe(&config));
            0
        }
        Err(errors) => {
            eprintln!("{}: invalid", args.config.display());
            eprint!("{}", explain(&errors));
            1
        }
    }
}

/// One line per workflow: id, address, upstream, whether a key is set (never the key).
pub fn describe(config: &Config) -> String {
    let mut out = String::new();
    for workflow in config.workflows.values() {
        out.push_str(&format!(
            "  {id}: http://{addr} -> {upstream} (key: {key}, timeout: {timeout}s, {access})\n",
            id = workflow.id,
            addr = workflow.addr,
            upstream = config::Redacted(&workflow.api_host),
            key = if workflow.api_key.is_some() {
                "set"
            } else {
                "none"
            },
            timeout = workflow.timeout.as_secs_f64(),
            access = crate::trust::access(workflow),
        ));
        if let Some(controls) = crate::trust::gate::describe(workflow) {
            out.push_str(&format!("      recording: {controls}\n"));
        }
    }
    out
}

/// Every config problem, one per line, plus the example config when the file is missing.
pub fn explain(errors: &ConfigErrors) -> String {
    let mut out = String::new();
    for error in &errors.errors {
        out.push_str(&format!("  - {error}\n"));
    }
    if errors.is_missing_file() {
        out.push_str("\nCreate it, for example:\n\n");
        out.push_str(config::EXAMPLE);
    }
    out
}
