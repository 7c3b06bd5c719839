//! [`SinkError`]: why the sink could not start. A leaf: `mod.rs` and `target.rs` both use it.

/// Why the sink could not start (a start error of `serve`).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// `--sink` is not a usable URL. `url` is already masked (no userinfo, no query values).
    #[error("--sink {url}: {reason}")]
    BadUrl {
        /// The URL as given, with credentials masked (`config::redact_userinfo`).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--instance-id` (or the hostname it defaults to) cannot be part of an object key.
    #[error("--instance-id {id:?}: {reason}")]
    BadInstanceId {
        /// The id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The spool folder could not be prepared.
    #[error("could not prepare the sink's spool {path}: {source}")]
    Spool {
        /// The folder.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}
