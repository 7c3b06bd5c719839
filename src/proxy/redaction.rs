//! Which `REDACT` rules a record gets: the port's workflow's, and when the request files
//! the record under another workflow (`workflow_id`), that workflow's too, so neither an
//! operator's port policy nor a data folder's policy can be bypassed by the other.

use std::sync::Arc;

use super::state::Shared;
use crate::config::Workflow;
use crate::trust::redact::Redactor;

/// The redactors for a record of `target` received on `port`'s listener.
pub(super) fn for_record(port: &Workflow, shared: &Shared, target: &str) -> Vec<Arc<Redactor>> {
    let mut redactors: Vec<Arc<Redactor>> = port.redact.iter().cloned().collect();
    if target != port.id {
        let config = shared.config();
        let other = config.workflows.get(target).and_then(|w| w.redact.as_ref());
        if let Some(other) = other {
            if redactors.iter().all(|r| **r != **other) {
                redactors.push(Arc::clone(other));
            }
        }
    }
    redactors
}
