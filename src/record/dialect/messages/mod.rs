//! Anthropic Messages (`POST /v1/messages`) mapped to ChatML.
//!
//! - [`blocks`]: content blocks and the assistant message they make.
//! - [`request`]: `system`, `messages`, `tools`.
//! - [`answer`]: a non-streamed message, and the `stop_reason` mapping.
//! - [`stream`]: `message_start` … `message_stop`, assembled.

pub mod answer;
pub mod blocks;
pub mod request;
pub mod stream;

#[cfg(test)]
mod tests;
