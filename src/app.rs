//! The `serve` and `check` subcommands: `serve` loads the config, starts the recorder and the
//! [`Supervisor`] (listeners, reloads, stop), then flushes the recorder.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{error, info};

use crate::admin::{self, AdminState, Readiness};
use crate::cli::{CheckArgs, ServeArgs};
use crate::config::{self, Config, ConfigErrors, LoadOptions};
use crate::proxy::Shared;
use crate::recorder::{self, RecorderOptions};
use crate::server::{self, StopSignals};
use crate::supervisor::{watcher, BindError, Supervisor};
use crate::telemetry;
use crate::upstream::UpstreamClient;

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
}

/// Runs the proxy until a [`Control::Shutdown`] arrives on `control` (and everything is
/// drained and flushed). `control_tx` is the sending side of the same channel, given to the
/// config watcher; signals (or tests) send into it too.
pub async fn serve(
    args: ServeArgs,
    control_tx: mpsc::Sender<Control>,
    mut control: mpsc::Receiver<Control>,
) -> Result<(), StartError> {
    let options = LoadOptions {
        default_host: args.host,
    };
    // Watch first, then read: a save between the two still triggers a reload.
    let watcher = watcher::spawn(args.config.clone(), control_tx);
    let config = Arc::new(config::load(&args.config, options)?);
    let (recorder, recorder_task) = recorder::start(RecorderOptions {
        data_dir: args.data_dir.clone(),
        fsync: args.fsync,
        queue_records: args.queue_records as usize,
    })
    .map_err(|source| StartError::DataDir {
        path: args.data_dir.display().to_string(),
        source,
    })?;
    let client = UpstreamClient::new()?;
    let shared = Arc::new(
        Shared::new(client, recorder, Arc::clone(&config), args.max_body_bytes)
            .with_max_record_bytes(usize::try_from(args.max_record_bytes).unwrap_or(usize::MAX)),
    );
    let drain = Duration::from_secs(args.drain_seconds);
    let readiness = Arc::new(Readiness::default());
    let admin = match args.admin_addr {
        Some(addr) => Some(start_admin(addr, &readiness).await?),
        None => None,
    };
    let supervisor = Supervisor::start(
        args.config.clone(),
        options,
        config,
        Arc::clone(&shared),
        drain,
        Arc::clone(&readiness),
    )
    .await
    .map_err(StartError::Bind)?;
    info!(data_dir = %args.data_dir.display(), config = %args.config.display(), "MicroModel is ready.");

    supervisor.run(&mut control).await;
    watcher.abort();
    // Every listener is gone: the last senders to the recorder go with `shared`.
    drop(shared);
    let flush_limit = drain.max(Duration::from_secs(10));
    if recorder_task.finish(flush_limit).await {
        info!("Recorder flushed and synced. Bye.");
    } else {
        error!("Recorder could not flush everything before the limit.");
    }
    if let Some((signals, task)) = admin {
        signals.stop.cancel();
        signals.force.cancel();
        let _ = task.await;
    }
    Ok(())
}

/// Binds and starts the admin listener; it serves until the very end (so `/readyz` can say
/// 503 during the drain).
async fn start_admin(
    addr: std::net::SocketAddr,
    readiness: &Arc<Readiness>,
) -> Result<(StopSignals, tokio::task::JoinHandle<usize>), StartError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| {
            StartError::Bind(vec![BindError {
                addr,
                workflow: "(admin)".to_owned(),
                source,
            }])
        })?;
    let handle = telemetry::install().ok_or(StartError::Metrics)?;
    let state = Arc::new(AdminState {
        metrics: handle,
        readiness: Arc::clone(readiness),
    });
    let signals = StopSignals::default();
    info!(addr = %listener.local_addr().unwrap_or(addr), "Admin listener: /metrics, /healthz, /readyz.");
    let task = tokio::spawn(server::serve(
        listener,
        admin::router(state),
        signals.clone(),
        Duration::ZERO,
    ));
    Ok((signals, task))
}

/// `micromodel check`: prints what would run, or every problem. Returns the exit code.
pub fn check(args: &CheckArgs) -> i32 {
    match config::load(
        &args.config,
        LoadOptions {
            default_host: args.host,
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
            "  {id}: http://{addr} -> {upstream} (key: {key}, timeout: {timeout}s)\n",
            id = workflow.id,
            addr = workflow.addr,
            upstream = workflow.api_host,
            key = if workflow.api_key.is_some() {
                "set"
            } else {
                "none"
            },
            timeout = workflow.timeout.as_secs_f64(),
        ));
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
