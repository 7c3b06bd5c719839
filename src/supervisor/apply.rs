//! The one path that puts a config in force, for the start (a diff from the empty config, as
//! Vector's `ConfigDiff::initial`) and for every reload: bind every new address first (any
//! failure closes them and changes nothing); then, infallibly, publish the config, swap the
//! settings of kept addresses, stop and drain removed ones, start new ones.

use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::info;

use super::diff::Diff;
use super::error::BindError;
use super::state::{Running, Supervisor};
use crate::config::{Config, Redacted, Workflow};
use crate::proxy::{self, Route};
use crate::server::{self, StopSignals};

impl Supervisor {
    /// Puts `new` in force (all or nothing) and returns what changed. On a bind error nothing
    /// changed: the config in force, its listeners and the generation stay as they were.
    pub(super) fn apply(&mut self, new: Arc<Config>) -> Result<Diff, Vec<BindError>> {
        let diff = Diff::between(&self.config.borrow(), &new);
        // Fallible preparation: bind every new address before anything changes.
        let bound = bind_all(diff.added.iter())?;
        // Infallible swap.
        self.config.send_replace(new);
        for workflow in &diff.changed {
            if let Some(running) = self.listeners.get(&workflow.addr) {
                running.route.set_settings(Arc::new(workflow.clone()));
            }
        }
        for addr in &diff.removed {
            if let Some(running) = self.listeners.remove(addr) {
                self.drain_listener(*addr, running);
            }
        }
        for (workflow, listener) in bound {
            self.launch(workflow, listener);
        }
        self.generation += 1;
        Ok(diff)
    }

    /// Serves `workflow` on `listener`, its drain cut by the supervisor's `force` token.
    fn launch(&mut self, workflow: Workflow, listener: TcpListener) {
        let addr = listener.local_addr().unwrap_or(workflow.addr);
        info!(workflow = %workflow.id, %addr, upstream = %Redacted(&workflow.api_host), "Workflow listening.");
        let route = Arc::new(Route::new(Arc::new(workflow), Arc::clone(&self.shared)));
        let signals = StopSignals::under(&self.force);
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
}

/// Binds every address; on any failure, closes what was bound and returns every error.
fn bind_all<'a>(
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

/// `[id@addr, …]`, for the log line of a reload.
pub(super) fn describe<'a>(workflows: impl Iterator<Item = &'a Workflow>) -> String {
    let parts: Vec<String> = workflows.map(|w| format!("{}@{}", w.id, w.addr)).collect();
    format!("[{}]", parts.join(", "))
}
