//! The supervisor (§5): owns the config in force and the running listeners, and handles
//! every trigger (file watcher, SIGHUP, SIGTERM/SIGINT) as one [`Control`] in one loop.
//!
//! The start is a reload from the empty config (as Vector's `ConfigDiff::initial`): an empty
//! [`Supervisor`] applies the first config through the same path ([`apply`]) as every later
//! reload, which is read → validate → [`diff::Diff`] → apply, all or nothing.
//!
//! The config in force has one owner: the supervisor holds the sending side of a `watch`
//! channel, [`Shared`] the receiving side (a request's `borrow()` is a short read lock, never
//! held across an await).

mod apply;
pub mod diff;
mod error;
mod state;
pub mod watcher;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::admin::Readiness;
use crate::config::{self, Config, LoadOptions};
use crate::proxy::Shared;
use crate::sdnotify;
use crate::telemetry::{CONFIG_GENERATION, CONFIG_LAST_RELOAD_OK, CONFIG_RELOADS, WORKFLOWS};
pub use error::{BindError, ReloadError};
use state::Running;
pub use state::Supervisor;

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

/// How a reload that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reloaded {
    /// The new config is in force.
    Applied,
    /// The file reads as the config in force: nothing was done.
    Unchanged,
}

/// The channel of the config in force, holding the empty config until
/// [`Supervisor::start`]: the sender goes to [`Supervisor::new`], the receiver to [`Shared`].
pub fn config_channel() -> (watch::Sender<Arc<Config>>, watch::Receiver<Arc<Config>>) {
    watch::channel(empty())
}

/// The config before the start: no workflow.
fn empty() -> Arc<Config> {
    Arc::new(Config {
        workflows: BTreeMap::new(),
    })
}

impl Supervisor {
    /// The empty supervisor: no workflow, no listener, generation 0. `config` is the sending
    /// side of the channel whose receiver [`Shared`] reads (see [`config_channel`]); it is
    /// reset to the empty config, from which [`Supervisor::start`] applies the first one.
    pub fn new(
        config_path: PathBuf,
        options: LoadOptions,
        config: watch::Sender<Arc<Config>>,
        shared: Arc<Shared>,
        drain: Duration,
        readiness: Arc<Readiness>,
    ) -> Supervisor {
        config.send_replace(empty());
        Supervisor {
            config_path,
            options,
            shared,
            config,
            generation: 0,
            listeners: BTreeMap::new(),
            draining: JoinSet::new(),
            force: CancellationToken::new(),
            drain,
            readiness,
        }
    }

    /// Applies `initial` to the empty supervisor (all or nothing: every bind error is
    /// returned) and marks the process ready.
    pub fn start(mut self, initial: Arc<Config>) -> Result<Supervisor, Vec<BindError>> {
        self.apply(initial)?;
        self.publish_gauges();
        metrics::gauge!(CONFIG_LAST_RELOAD_OK).set(1.0);
        self.readiness.set(true);
        sdnotify::notify("READY=1");
        Ok(self)
    }

    /// Handles control messages until a shutdown; then drains and returns how the stop went.
    pub async fn run(mut self, control: &mut mpsc::Receiver<Control>) -> Stopped {
        loop {
            tokio::select! {
                message = control.recv() => match message {
                    Some(Control::ConfigChanged) => self.reload("file changed"),
                    Some(Control::Reload) => self.reload("SIGHUP"),
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
    /// systemd (`RELOADING=1` … `READY=1`), logs and counts the result.
    pub fn reload(&mut self, trigger: &'static str) {
        sdnotify::notify("RELOADING=1");
        let result = self.try_reload(trigger);
        let label = match &result {
            Ok(Reloaded::Applied) => "applied",
            Ok(Reloaded::Unchanged) => "unchanged",
            Err(error) => error.label(),
        };
        match &result {
            Ok(_) => {}
            Err(error @ ReloadError::Invalid(_)) => warn!(
                trigger,
                generation = self.generation,
                errors = %error.details(),
                "Reload rejected; the running config stays in force."
            ),
            Err(error @ ReloadError::Bind(_)) => error!(
                trigger,
                generation = self.generation,
                errors = %error.details(),
                "Reload rolled back: a new address could not be bound; the running config stays in force."
            ),
        }
        metrics::counter!(CONFIG_RELOADS, "result" => label).increment(1);
        metrics::gauge!(CONFIG_LAST_RELOAD_OK).set(if result.is_ok() { 1.0 } else { 0.0 });
        self.publish_gauges();
        sdnotify::notify("READY=1");
    }

    fn publish_gauges(&self) {
        metrics::gauge!(CONFIG_GENERATION).set(self.generation as f64);
        metrics::gauge!(WORKFLOWS).set(self.config.borrow().workflows.len() as f64);
    }

    /// One reload: read and validate config.json, then [`apply`] it unless it is unchanged.
    fn try_reload(&mut self, trigger: &'static str) -> Result<Reloaded, ReloadError> {
        let new = config::load(&self.config_path, self.options).map_err(ReloadError::Invalid)?;
        if new == **self.config.borrow() {
            info!(
                trigger,
                generation = self.generation,
                "Config unchanged; nothing to do."
            );
            return Ok(Reloaded::Unchanged);
        }
        // A reload that adds the first `https://` upstream sets TLS up here, not on a request.
        if let Err(error) =
            (self.shared.client).prepare_tls(new.workflows.values().map(|w| w.api_host.as_str()))
        {
            warn!(%error, "TLS could not be set up; https:// upstreams will fail.");
        }
        let diff = self.apply(Arc::new(new)).map_err(ReloadError::Bind)?;
        info!(
            trigger,
            generation = self.generation,
            added = %apply::describe(diff.added.iter()),
            removed = ?diff.removed,
            changed = %apply::describe(diff.changed.iter()),
            "Config reloaded."
        );
        Ok(Reloaded::Applied)
    }

    /// Stops `running` accepting and lets it drain in [`Supervisor::draining`].
    fn drain_listener(&mut self, addr: SocketAddr, running: Running) {
        running.signals.stop.cancel();
        let task = running.task;
        self.draining
            .spawn(async move { (addr, task.await.unwrap_or(0)) });
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
        for (addr, running) in std::mem::take(&mut self.listeners) {
            self.drain_listener(addr, running);
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
                        self.force.cancel();
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
