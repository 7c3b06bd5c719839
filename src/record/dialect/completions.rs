//! `POST /v1/completions`: what a record keeps of the request (its `prompt` and `tools`, as
//! slices of the body) and the `user` message each record starts with: the prompt its choice
//! answers. Answers and streams have chat completions' `choices` format and are read by
//! [`chat`](super::chat) with this endpoint's kind (a choice's `text` is its content).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::value::RawValue;

use super::types::KeptRequest;
use crate::record::recordable;
use crate::record::request::RequestView;
use crate::record::request_members::minified;
use crate::trust::redact::{redact_json_all, Counts, Redactor};

/// What a record keeps of a completions request.
pub fn keep_request(view: &RequestView<'_>, body: &Bytes) -> KeptRequest {
    let slice = |raw: &RawValue| body.slice_ref(raw.get().as_bytes());
    let tools = view.get_non_null("tools");
    let refused = tools.and_then(|t| recordable::check_tools(t).err());
    let prompt = view.get_non_null("prompt");
    KeptRequest {
        messages: None,
        prompt: prompt.map(slice),
        tools: tools.map(slice),
        partial: false,
        previous_response_id: None,
        n: view.n(),
        prompts: prompt.map_or(1, prompt_count),
        refused,
    }
}

/// Writes the `user` message of the prompt choice `index` answers, and a `,` (redacted with
/// `redact`, counted into `counts`).
pub(super) fn write_prompt(
    prompt: Option<&Bytes>,
    n: u32,
    index: u32,
    redact: &[Arc<Redactor>],
    counts: &mut Counts,
    out: &mut String,
) {
    out.push_str("{\"role\":\"user\",\"content\":");
    let prompt = Cow::Owned(prompt_for(prompt, n, index));
    out.push_str(&redact_json_all(redact, prompt, counts));
    out.push_str("},");
}

/// The prompt a completions choice answers: the prompt itself, or for an array of prompts the
/// element `index / n`.
fn prompt_for(prompt: Option<&Bytes>, n: u32, index: u32) -> String {
    let Some(prompt) = prompt else {
        return "\"\"".to_owned();
    };
    let text = minified(prompt);
    if text.starts_with('[') {
        if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(&text) {
            // An array of strings is several prompts; an array of token ids is one prompt.
            if items.first().is_some_and(|i| i.get().starts_with('"')) {
                let pick = (index / n.max(1)) as usize;
                return items
                    .get(pick)
                    .map_or_else(|| "\"\"".to_owned(), |i| i.get().to_owned());
            }
        }
    }
    text
}

/// How many prompts a completions `prompt` holds: the length of an array of strings or of
/// token arrays; 1 otherwise (a string, or one array of token ids).
fn prompt_count(prompt: &RawValue) -> u32 {
    let text = prompt.get();
    if !text.starts_with('[') {
        return 1;
    }
    match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(items)
            if items
                .first()
                .is_some_and(|i| i.get().starts_with(['"', '['])) =>
        {
            u32::try_from(items.len()).unwrap_or(u32::MAX).max(1)
        }
        _ => 1,
    }
}
