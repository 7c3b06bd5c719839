//! The supervisor's state: the config in force and its listeners. Its own file so that
//! [`super::apply`] (the one path every start and reload takes) and the control loop in
//! [`super`] both build on it without importing each other.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::admin::Readiness;
use crate::config::{Config, LoadOptions};
use crate::proxy::{Route, Shared};
use crate::server::StopSignals;

/// One running listener.
pub(super) struct Running {
    /// Its workflow settings, swapped in place when a reload changes them.
    pub(super) route: Arc<Route>,
    /// Stops it (and, through its `force` child token, cuts its drain).
    pub(super) signals: StopSignals,
    /// Its accept loop; yields how many connections the drain had to cut.
    pub(super) task: JoinHandle<usize>,
}

/// The config in force and its listeners.
pub struct Supervisor {
    /// config.json, read again at every reload.
    pub(super) config_path: PathBuf,
    /// How config.json is read (`--host`).
    pub(super) options: LoadOptions,
    /// Process-wide state that every listener's [`Route`] points at.
    pub(super) shared: Arc<Shared>,
    /// The config in force, the one copy: [`Shared`] reads it through the receiving side.
    pub(super) config: watch::Sender<Arc<Config>>,
    /// Configs applied so far (0 for the empty one, 1 after the start, +1 per applied reload):
    /// logged with every reload and published as `micromodel_config_generation`.
    pub(super) generation: u64,
    /// The serving listeners, by bind address (what [`diff::Diff`] keys on).
    pub(super) listeners: BTreeMap<SocketAddr, Running>,
    /// Listeners removed by a reload (or stopped by the shutdown), still draining.
    pub(super) draining: JoinSet<(SocketAddr, usize)>,
    /// Parent of every listener's `force` token: cancelling it (a second stop request) cuts
    /// every drain at once, including those of listeners removed by earlier reloads.
    pub(super) force: CancellationToken,
    /// `--drain-seconds`: how long a stopped listener lets in-flight requests finish.
    pub(super) drain: Duration,
    /// `/readyz`: true while serving, false from the start of a stop.
    pub(super) readiness: Arc<Readiness>,
}
