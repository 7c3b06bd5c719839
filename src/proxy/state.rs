//! State shared by every listener, and the swappable settings of one listener.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use super::budget::BufferBudget;
use crate::config::{Config, Workflow};
use crate::labels::Labels;
use crate::recorder::Recorder;
use crate::server::Limits;
use crate::upstream::UpstreamClient;

/// The default `--max-buffered-bytes`: 256 MiB.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 * 1024 * 1024;
/// The default of `--max-record-bytes` (32 MiB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 32 * 1024 * 1024;

/// Process-wide state: one upstream client (connection reuse), one recorder, the config in
/// force (for `workflow_id` overrides) and limits. Counters live in the metrics (`telemetry`).
#[derive(Debug)]
pub struct Shared {
    /// Upstream HTTP client, shared so that connections are reused.
    pub client: UpstreamClient,
    /// The one recorder.
    pub recorder: Recorder,
    /// The config in force, as the supervisor publishes it (it holds the one sender): a
    /// reload replaces it for every request that starts afterwards.
    config: watch::Receiver<Arc<Config>>,
    /// `--max-body-bytes`.
    pub max_body_bytes: usize,
    /// `--max-buffered-bytes`: request bodies held in memory, all requests together.
    pub buffered: Arc<BufferBudget>,
    /// Time limits and the connection budget of the workflow listeners.
    pub limits: Limits,
    /// `--max-record-bytes`: the largest SSE line, event or answer captured for the record.
    pub max_record_bytes: usize,
    /// Labels (`/feedback`, `/api/labels`) and the index of recent `request_id`s.
    pub labels: Arc<Labels>,
}

impl Shared {
    /// New shared state.
    pub fn new(
        client: UpstreamClient,
        recorder: Recorder,
        config: watch::Receiver<Arc<Config>>,
        max_body_bytes: usize,
    ) -> Self {
        Shared {
            client,
            labels: Arc::new(Labels::new(recorder.clone(), PathBuf::from("data"))),
            recorder,
            config,
            max_body_bytes,
            buffered: BufferBudget::new(DEFAULT_MAX_BUFFERED_BYTES),
            limits: Limits::default(),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }

    /// The same state with these limits: `--max-buffered-bytes` and the listener limits.
    pub fn with_limits(mut self, max_buffered_bytes: usize, limits: Limits) -> Self {
        self.buffered = BufferBudget::new(max_buffered_bytes);
        self.limits = limits;
        self
    }

    /// Sets `--data-dir` for the label look-ups (the default is `data`, as the flag's), and
    /// whether `--sink` ships the labels (then a label for a record this instance does not
    /// hold is filed anyway, see `labels::unknown`).
    pub fn with_data_dir(mut self, data_dir: PathBuf, shipped: bool) -> Self {
        let labels = Labels::new(self.recorder.clone(), data_dir).shipped(shipped);
        self.labels = Arc::new(labels);
        self
    }

    /// Sets `--max-record-bytes`.
    pub fn with_max_record_bytes(mut self, max_record_bytes: usize) -> Self {
        self.max_record_bytes = max_record_bytes;
        self
    }

    /// The config in force: a cheap `Arc` clone under the channel's short read lock, which
    /// is released before this returns (never held across an await).
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.borrow())
    }
}

/// The state of one listener: its workflow settings, swappable by a reload while the socket
/// stays open. Requests take a snapshot when they start and keep it to the end.
#[derive(Debug)]
pub struct Route {
    /// The workflow settings in force; swapped by a reload.
    settings: RwLock<Arc<Workflow>>,
    /// Process-wide state.
    pub shared: Arc<Shared>,
}

impl Route {
    /// A route serving `workflow`.
    pub fn new(workflow: Arc<Workflow>, shared: Arc<Shared>) -> Self {
        Route {
            settings: RwLock::new(workflow),
            shared,
        }
    }

    /// The settings in force now.
    pub fn settings(&self) -> Arc<Workflow> {
        Arc::clone(&self.settings.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Swaps the settings; requests in flight keep the ones they started with.
    pub fn set_settings(&self, workflow: Arc<Workflow>) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = workflow;
    }
}
