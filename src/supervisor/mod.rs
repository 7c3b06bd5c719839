//! The supervisor (§5): owns the config in force and the running listeners, and handles
//! every trigger (file watcher, SIGHUP, SIGTERM/SIGINT) as one [`Control`] in one loop.
//!
//! A reload is read → validate → [`diff::Diff`] → apply, all or nothing: new addresses are
//! bound first (any failure closes them and changes nothing); then, infallibly, kept
//! addresses swap their settings, removed ones stop accepting and drain, new ones start.

pub mod diff;
pub mod watcher;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

use crate::admin::Readiness;
use crate::config::{self, Config, LoadOptions, Workflow};
use crate::proxy::{self, Route, Shared};
use crate::sdnotify;
use crate::server::{self, StopSignals};
use crate::telemetry::{CONFIG_GENERATION, CONFIG_LAST_RELOAD_OK, CONFIG_RELOADS, WORKFLOWS};
use diff::Diff;

/// Everything that can ask the supervisor to act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// The watcher saw config.json change (debounced).
    ConfigChanged,
    /// SIGHUP: reload even if the watcher saw nothing.
    Reload,
    /// SIGTERM/SIGINT: stop, drain, flush; a second one skips the drain.
    Shutdown,
}

/// How the listeners' part of a stop went ([`Supervisor::run`]).
#[derive(Debug, Clone, Copy)]
pub struct Stopped {
    /// When the first stop request arrived: the stop budget counts from here.
    pub began: tokio::time::Instant,
    /// A second stop request came during the drain: skip straight to the recorder's last
    /// attempt.
    pub cut_short: bool,
}

/// Why a bind failed during start or reload.
#[derive(Debug, thiserror::Error)]
#[error("could not bind {addr} (workflow {workflow}): {source}")]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// The workflow that wanted it.
    pub workflow: String,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

/// How a reload ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReloadResult {
    Applied,
    Unchanged,
    Rejected,
    RolledBack,
}

impl ReloadResult {
    fn label(self) -> &'static str {
        match self {
            ReloadResult::Applied => "applied",
            ReloadResult::Unchanged => "unchanged",
            ReloadResult::Rejected => "rejected",
            ReloadResult::RolledBack => "rolled_back",
        }
    }
}

/// One running listener.
struct Running {
    route: Arc<Route>,
    signals: StopSignals,
    task: JoinHandle<usize>,
}

/// The config in force and its listeners.
pub struct Supervisor {
    config_path: PathBuf,
    options: LoadOptions,
    shared: Arc<Shared>,
    config: Arc<Config>,
    generation: u64,
    listeners: BTreeMap<SocketAddr, Running>,
    /// Listeners removed by a reload, still draining.
    draining: JoinSet<(SocketAddr, usize)>,
    /// Their stop signals, so that a second SIGTERM can cut them too.
    draining_signals: Vec<StopSignals>,
    drain: Duration,
    /// `/readyz`: true while serving, false from the start of a stop.
    readiness: Arc<Readiness>,
}

impl Supervisor {
    /// Binds every workflow of `config` (all or nothing) and starts serving.
    pub async fn start(
        config_path: PathBuf,
        options: LoadOptions,
        config: Arc<Config>,
        shared: Arc<Shared>,
        drain: Duration,
        readiness: Arc<Readiness>,
    ) -> Result<Supervisor, Vec<BindError>> {
        let bound = bind_all(config.workflows.values()).await?;
        let mut supervisor = Supervisor {
            config_path,
            options,
            shared,
            config,
            generation: 1,
            listeners: BTreeMap::new(),
            draining: JoinSet::new(),
            draining_signals: Vec::new(),
            drain,
            readiness,
        };
        for (workflow, listener) in bound {
            supervisor.launch(workflow, listener);
        }
        supervisor.publish_gauges();
        metrics::gauge!(CONFIG_LAST_RELOAD_OK).set(1.0);
        supervisor.readiness.set(true);
        sdnotify::notify("READY=1");
        Ok(supervisor)
    }

    /// The generation of the config in force (1 at start, +1 per applied reload).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Handles control messages until a shutdown; then drains and returns how the stop went.
    pub async fn run(mut self, control: &mut mpsc::Receiver<Control>) -> Stopped {
        loop {
            tokio::select! {
                message = control.recv() => match message {
                    Some(Control::ConfigChanged) => self.reload("file changed").await,
                    Some(Control::Reload) => self.reload("SIGHUP").await,
                    Some(Control::Shutdown) | None => break,
                },
                Some(done) = self.draining.join_next(), if !self.draining.is_empty() => {
                    match done {
                        Ok((addr, 0)) => info!(%addr, "Removed listener drained."),
                        Ok((addr, cut)) => warn!(%addr, cut, "Removed listener cut at the drain limit."),
                        Err(error) => error!(%error, "Draining listener task failed."),
                    }
                }
            }
        }
        self.shutdown(control).await
    }

    /// Reads, validates and applies config.json; on any failure nothing changes. Tells
    /// systemd (`RELOADING=1` … `READY=1`) and counts the result.
    pub async fn reload(&mut self, trigger: &'static str) {
        sdnotify::notify("RELOADING=1");
        let result = self.try_reload(trigger).await;
        metrics::counter!(CONFIG_RELOADS, "result" => result.label()).increment(1);
        let ok = matches!(result, ReloadResult::Applied | ReloadResult::Unchanged);
        metrics::gauge!(CONFIG_LAST_RELOAD_OK).set(if ok { 1.0 } else { 0.0 });
        self.publish_gauges();
        sdnotify::notify("READY=1");
    }

    fn publish_gauges(&self) {
        metrics::gauge!(CONFIG_GENERATION).set(self.generation as f64);
        metrics::gauge!(WORKFLOWS).set(self.config.workflows.len() as f64);
    }

    async fn try_reload(&mut self, trigger: &'static str) -> ReloadResult {
        let new = match config::load(&self.config_path, self.options) {
            Ok(new) => Arc::new(new),
            Err(errors) => {
                let messages: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
                warn!(
                    trigger,
                    generation = self.generation,
                    errors = %messages.join("; "),
                    "Reload rejected; the running config stays in force."
                );
                return ReloadResult::Rejected;
            }
        };
        if *new == *self.config {
            info!(
                trigger,
                generation = self.generation,
                "Config unchanged; nothing to do."
            );
            return ReloadResult::Unchanged;
        }
        let diff = Diff::between(&self.config, &new);
        // Fallible preparation: bind every new address before anything changes.
        let bound = match bind_all(diff.added.iter()).await {
            Ok(bound) => bound,
            Err(errors) => {
                let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
                error!(
                    trigger,
                    generation = self.generation,
                    errors = %messages.join("; "),
                    "Reload rolled back: a new address could not be bound; the running config stays in force."
                );
                return ReloadResult::RolledBack;
            }
        };
        // Infallible swap.
        self.shared.set_config(Arc::clone(&new));
        for workflow in &diff.changed {
            if let Some(running) = self.listeners.get(&workflow.addr) {
                running.route.set_settings(Arc::new(workflow.clone()));
            }
        }
        for addr in &diff.removed {
            if let Some(running) = self.listeners.remove(addr) {
                running.signals.stop.cancel();
                self.draining_signals.push(running.signals.clone());
                let addr = *addr;
                let task = running.task;
                self.draining
                    .spawn(async move { (addr, task.await.unwrap_or(0)) });
            }
        }
        for (workflow, listener) in bound {
            self.launch(workflow, listener);
        }
        self.config = new;
        self.generation += 1;
        info!(
            trigger,
            generation = self.generation,
            added = %describe(diff.added.iter()),
            removed = ?diff.removed,
            changed = %describe(diff.changed.iter()),
            "Config reloaded."
        );
        ReloadResult::Applied
    }

    fn launch(&mut self, workflow: Workflow, listener: TcpListener) {
        let addr = listener.local_addr().unwrap_or(workflow.addr);
        info!(workflow = %workflow.id, %addr, upstream = %crate::config::Redacted(&workflow.api_host), "Workflow listening.");
        let route = Arc::new(Route::new(Arc::new(workflow), Arc::clone(&self.shared)));
        let signals = StopSignals::default();
        let task = tokio::spawn(server::serve(
            listener,
            proxy::router(Arc::clone(&route)),
            signals.clone(),
            self.drain,
            self.shared.limits.clone(),
        ));
        self.listeners.insert(
            addr,
            Running {
                route,
                signals,
                task,
            },
        );
    }

    /// Stops accepting everywhere and drains (a second Shutdown skips the drain).
    async fn shutdown(mut self, control: &mut mpsc::Receiver<Control>) -> Stopped {
        let began = tokio::time::Instant::now();
        let mut cut_short = false;
        self.readiness.set(false);
        sdnotify::notify("STOPPING=1");
        info!(
            drain_seconds = self.drain.as_secs(),
            "Stopping: no new connections, draining in-flight requests."
        );
        let mut all_signals = std::mem::take(&mut self.draining_signals);
        for (addr, running) in std::mem::take(&mut self.listeners) {
            running.signals.stop.cancel();
            all_signals.push(running.signals.clone());
            let task = running.task;
            self.draining
                .spawn(async move { (addr, task.await.unwrap_or(0)) });
        }
        loop {
            tokio::select! {
                done = self.draining.join_next() => match done {
                    None => break,
                    Some(Ok((addr, cut))) if cut > 0 => warn!(%addr, cut, "Connections cut at the drain limit."),
                    Some(Ok(_)) => {}
                    Some(Err(error)) => error!(%error, "Listener task failed."),
                },
                message = control.recv() => match message {
                    Some(Control::Shutdown) => {
                        warn!("Second stop request: skipping the drain.");
                        cut_short = true;
                        for signals in &all_signals {
                            signals.force.cancel();
                        }
                    }
                    Some(_) => debug!("Ignoring a reload while stopping."),
                    // Nobody can send any more: wait for the drain alone.
                    None => {
                        while let Some(done) = self.draining.join_next().await {
                            if let Err(error) = done {
                                error!(%error, "Listener task failed.");
                            }
                        }
                        break;
                    }
                },
            }
        }
        Stopped { began, cut_short }
    }
}

/// Binds every address; on any failure, closes what was bound and returns every error.
async fn bind_all<'a>(
    workflows: impl Iterator<Item = &'a Workflow>,
) -> Result<Vec<(Workflow, TcpListener)>, Vec<BindError>> {
    let mut bound = Vec::new();
    let mut errors = Vec::new();
    for workflow in workflows {
        match server::bind(workflow.addr) {
            Ok(listener) => bound.push((workflow.clone(), listener)),
            Err(source) => errors.push(BindError {
                addr: workflow.addr,
                workflow: workflow.id.clone(),
                source,
            }),
        }
    }
    if errors.is_empty() {
        Ok(bound)
    } else {
        Err(errors)
    }
}

fn describe<'a>(workflows: impl Iterator<Item = &'a Workflow>) -> String {
    let parts: Vec<String> = workflows.map(|w| format!("{}@{}", w.id, w.addr)).collect();
    format!("[{}]", parts.join(", "))
}
