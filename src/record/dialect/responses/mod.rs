//! The OpenAI Responses API (`POST /v1/responses`) mapped to ChatML.
//!
//! - [`items`]: input and output items (they share one shape) and the assistant turn they make.
//! - [`request`]: `instructions`, `input`, `tools`, `previous_response_id`, `conversation`.
//! - [`answer`]: a non-streamed response object.
//! - [`stream`]: the typed SSE events, assembled.

pub mod answer;
pub mod items;
pub mod request;
pub mod stream;

#[cfg(test)]
mod tests;
