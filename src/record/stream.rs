//! What every stream capture shares, whichever the dialect: the limits it is bounded by
//! ([`CaptureLimits`]) and why a stream makes no record ([`Incomplete`]). Each dialect's
//! assembler lives in [`dialect`](super::dialect) (chat completions and completions:
//! [`StreamCapture`](super::dialect::chat::stream::StreamCapture)).

/// Why a stream does not make a record. Carries the upstream's `id` (when one was seen) for
/// logging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incomplete {
    /// No choice was seen, or a choice has no finish reason (client gone, upstream cut).
    #[error("stream ended without a finish reason (upstream id: {})", id.as_deref().unwrap_or("none"))]
    NoFinishReason {
        /// The upstream's `id`, when a chunk carried one.
        id: Option<String>,
    },
    /// The upstream sent an error event mid-stream.
    #[error("upstream sent an error mid-stream (upstream id: {}): {message}", id.as_deref().unwrap_or("none"))]
    UpstreamError {
        /// The upstream's `id`, when a chunk carried one.
        id: Option<String>,
        /// The error's `message`, or its JSON text.
        message: String,
    },
    /// A line, an event or the assembled answer went past `--max-record-bytes`.
    #[error("stream capture stopped: larger than {limit} bytes (upstream id: {})", id.as_deref().unwrap_or("none"))]
    TooLarge {
        /// The upstream's `id`, when a chunk carried one.
        id: Option<String>,
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Incomplete {
    /// The upstream's `id`, when a chunk carried one.
    pub fn upstream_id(&self) -> Option<&str> {
        match self {
            Incomplete::NoFinishReason { id }
            | Incomplete::UpstreamError { id, .. }
            | Incomplete::TooLarge { id, .. } => id.as_deref(),
        }
    }
}

/// What one capture may hold and record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureLimits {
    /// The largest line, event or assembled answer, in bytes (`--max-record-bytes`).
    pub max_bytes: usize,
    /// Choices with an `index` at or above this are not recorded (the request's `n` × prompts).
    pub max_choices: u32,
}

impl Default for CaptureLimits {
    /// No limits.
    fn default() -> Self {
        CaptureLimits {
            max_bytes: usize::MAX,
            max_choices: u32::MAX,
        }
    }
}
