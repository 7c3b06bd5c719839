//! Why a start or a reload did not apply: typed, so that callers (the start's exit message,
//! the reload's log line, the result metric) decide how to say it.

use std::net::SocketAddr;

use crate::config::ConfigErrors;

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

/// Why a reload left the running config in force.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// config.json could not be read or is not valid: nothing was tried.
    #[error("the new config is not valid: {}", join(.0.errors.iter()))]
    Invalid(ConfigErrors),
    /// A new address could not be bound: whatever was bound for it was closed again.
    #[error("a new address could not be bound: {}", join(.0.iter()))]
    Bind(Vec<BindError>),
}

impl ReloadError {
    /// The `result` label of `micromodel_config_reloads_total`.
    pub fn label(&self) -> &'static str {
        match self {
            ReloadError::Invalid(_) => "rejected",
            ReloadError::Bind(_) => "rolled_back",
        }
    }

    /// Every problem, `; `-separated, for the log line.
    pub fn details(&self) -> String {
        match self {
            ReloadError::Invalid(errors) => join(errors.errors.iter()),
            ReloadError::Bind(errors) => join(errors.iter()),
        }
    }
}

/// `a; b; c`.
fn join<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items
        .map(|item| item.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}
