//! The `serve` and `check` subcommands: load the config, start the recorder, bind every
//! listener, then handle [`Control`] messages (signals) in one loop until a stop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::cli::{CheckArgs, ServeArgs};
use crate::config::{self, Config, ConfigErrors, LoadOptions};
use crate::proxy::{self, Route, Shared};
use crate::recorder::{self, RecorderOptions};
use crate::server::{self, StopSignals};

/// Everything that can ask the supervisor to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Re-read config.json (SIGHUP, file watcher).
    Reload,
    /// Stop: drain, flush, exit (SIGTERM/SIGINT; a second one skips the drain).
    Shutdown,
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The config is missing or invalid.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// A listener could not be bound.
    #[error("could not bind {addr} (workflow {workflow}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The workflow that wanted it.
        workflow: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data folder could not be prepared.
    #[error("could not prepare the data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The HTTP client could not be built.
    #[error("could not build the upstream HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// One running listener.
struct Running {
    route: Arc<Route>,
    signals: StopSignals,
    task: JoinHandle<usize>,
}

/// Runs the proxy until a [`Control::Shutdown`] arrives (and everything is drained and
/// flushed). `control` carries the signals; tests send messages into it directly.
pub async fn serve(
    args: ServeArgs,
    mut control: mpsc::Receiver<Control>,
) -> Result<(), StartError> {
    let options = LoadOptions {
        default_host: args.host,
    };
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
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()?;
    let shared = Arc::new(Shared::new(
        client,
        recorder,
        Arc::clone(&config),
        args.max_body_bytes,
    ));
    let drain = Duration::from_secs(args.drain_seconds);

    let mut bound = Vec::new();
    for workflow in config.workflows.values() {
        let listener =
            TcpListener::bind(workflow.addr)
                .await
                .map_err(|source| StartError::Bind {
                    addr: workflow.addr,
                    workflow: workflow.id.clone(),
                    source,
                })?;
        bound.push((Arc::new(workflow.clone()), listener));
    }
    let mut running: BTreeMap<SocketAddr, Running> = BTreeMap::new();
    for (workflow, listener) in bound {
        let addr = listener.local_addr().unwrap_or(workflow.addr);
        info!(workflow = %workflow.id, %addr, upstream = %workflow.api_host, "Workflow listening.");
        let route = Arc::new(Route::new(workflow, Arc::clone(&shared)));
        let signals = StopSignals::default();
        let task = tokio::spawn(server::serve(
            listener,
            proxy::router(Arc::clone(&route)),
            signals.clone(),
            drain,
        ));
        running.insert(
            addr,
            Running {
                route,
                signals,
                task,
            },
        );
    }
    info!(workflows = running.len(), data_dir = %args.data_dir.display(), "MicroModel is ready.");

    while let Some(message) = control.recv().await {
        match message {
            Control::Reload => {
                warn!("Reload requested; live reload is not available in this version yet.");
            }
            Control::Shutdown => {
                info!(
                    drain_seconds = args.drain_seconds,
                    "Stopping: no new connections, draining in-flight requests."
                );
                break;
            }
        }
    }
    // A second stop request while draining skips the drain.
    let force: Vec<StopSignals> = running.values().map(|r| r.signals.clone()).collect();
    let mut drains = Vec::new();
    for (addr, listener) in std::mem::take(&mut running) {
        listener.signals.stop.cancel();
        drop(listener.route);
        drains.push((addr, listener.task));
    }
    let wait_all = async {
        for (addr, task) in drains {
            match task.await {
                Ok(0) => {}
                Ok(cut) => warn!(%addr, cut, "Connections cut at the drain limit."),
                Err(join_error) => error!(%addr, %join_error, "Listener task failed."),
            }
        }
    };
    tokio::pin!(wait_all);
    loop {
        tokio::select! {
            () = &mut wait_all => break,
            message = control.recv() => {
                if message == Some(Control::Shutdown) {
                    warn!("Second stop request: skipping the drain.");
                    for signals in &force {
                        signals.force.cancel();
                    }
                } else if message.is_none() {
                    // Nobody can send any more; just wait for the drain.
                    (&mut wait_all).await;
                    break;
                }
            }
        }
    }
    drop(shared);
    let flush_limit = drain.max(Duration::from_secs(10));
    if recorder_task.finish(flush_limit).await {
        info!("Recorder flushed and synced. Bye.");
    } else {
        error!("Recorder could not flush everything before the limit.");
    }
    Ok(())
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
