//! What the admin endpoints and the data page read: [`AdminState`] and the [`Readiness`] flag.
//!
//! Its own file so that the pages ([`crate::ui`]) depend on the state, not on the admin
//! router that merges them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

/// Readiness, shared by the supervisor (which flips it) and the admin listener.
#[derive(Debug, Default)]
pub struct Readiness(AtomicBool);

impl Readiness {
    /// Marks the process ready (true) or draining / not started (false).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Whether `/readyz` answers 200.
    pub fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What the admin endpoints read.
pub struct AdminState {
    /// Renders the metrics.
    pub metrics: PrometheusHandle,
    /// Readiness flag.
    pub readiness: Arc<Readiness>,
    /// The admin token's check and logins (`--admin-token`); `None`: everything open.
    pub auth: Option<Arc<crate::ui::auth::Auth>>,
    /// What the data page reads: data folders, config in force, summary cache.
    pub ui: crate::ui::state::UiState,
    /// Labels, for `POST /api/labels`. Weak: it holds a recorder handle, and the recorder
    /// drains only once the proxy's state (its owner) is gone, while this listener serves
    /// to the very end.
    pub labels: std::sync::Weak<crate::labels::Labels>,
}
