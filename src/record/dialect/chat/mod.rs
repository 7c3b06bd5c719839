//! `POST /v1/chat/completions`, and the `choices` format it shares with `/v1/completions`.
//!
//! - [`keep_request`]: what a record keeps of a chat request (its `messages` and `tools`, as
//!   slices of the body: no copy).
//! - [`answer`]: a non-streamed 2xx body → [`Answer`](crate::record::Answer) (chat or
//!   completions, by the endpoint's kind).
//! - [`stream`]: [`StreamCapture`](stream::StreamCapture), a streamed answer → the same
//!   [`Answer`](crate::record::Answer), as it passes through.
//! - `choice_acc`, `chunk`: one streamed choice being assembled; the JSON of one chunk.

pub mod answer;
mod choice_acc;
mod chunk;
pub mod stream;

use bytes::Bytes;
use serde_json::value::RawValue;

use super::types::KeptRequest;
use crate::record::recordable;
use crate::record::request::RequestView;

/// What a record keeps of a chat completions request.
pub fn keep_request(view: &RequestView<'_>, body: &Bytes) -> KeptRequest {
    let slice = |raw: &RawValue| body.slice_ref(raw.get().as_bytes());
    let messages = view.get_non_null("messages");
    let tools = view.get_non_null("tools");
    let refused = messages
        .and_then(|m| recordable::check_messages(m).err())
        .or_else(|| tools.and_then(|t| recordable::check_tools(t).err()));
    KeptRequest {
        messages: messages.map(slice),
        prompt: None,
        tools: tools.map(slice),
        partial: false,
        previous_response_id: None,
        n: view.n(),
        prompts: 1,
        refused,
    }
}
