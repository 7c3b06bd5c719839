//! A non-streamed Responses answer (the response object) → the assistant message, and the
//! mapping of a response's status to a finish reason that the stream shares.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::items::{parse_item, AssistantTurn, Item};
use crate::record::answer::{Answer, Choice};
use crate::record::dialect::common::error_message;
use crate::record::dialect::json;
use crate::record::dialect::types::{DialectAnswer, DialectAnswerError};

/// The parts of a response object a record needs; `output` items stay raw until mapped.
#[derive(Deserialize)]
pub struct ResponseBody<'a> {
    /// `id` (becomes `request_id`).
    #[serde(default)]
    pub id: Option<String>,
    /// `status`: `completed`, `incomplete`, `failed`, `cancelled`, `in_progress`, `queued`.
    #[serde(default)]
    pub status: Option<String>,
    /// `incomplete_details`, for the finish reason of an incomplete response.
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    /// `output` items.
    #[serde(default, borrow)]
    pub output: Option<Vec<&'a RawValue>>,
    /// `usage`, as given.
    #[serde(default, borrow)]
    pub usage: Option<&'a RawValue>,
    /// `error` (non-null on a failed response, or an error body).
    #[serde(default, borrow)]
    pub error: Option<&'a RawValue>,
}

/// `incomplete_details`.
#[derive(Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Parses a non-streamed 2xx body.
pub fn parse_answer(body: &[u8]) -> Result<DialectAnswer, DialectAnswerError> {
    let response: ResponseBody<'_> = serde_json::from_slice(body)?;
    let items = response
        .output
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|raw| parse_item(raw))
        .collect();
    build_answer(&response, items)
}

/// The answer from a response's head (`id`, `status`, `usage`, ...) and its output items.
pub fn build_answer(
    response: &ResponseBody<'_>,
    items: Vec<Item>,
) -> Result<DialectAnswer, DialectAnswerError> {
    // A body without `status` (servers that leave it out) counts as completed, unless it is an
    // error body.
    let status = match (response.status.as_deref(), response.error) {
        (Some(status), _) => status,
        (None, Some(error)) => return Err(DialectAnswerError::UpstreamError(error_message(error))),
        (None, None) => "completed",
    };
    let mut turn = AssistantTurn::default();
    for item in items {
        turn.add(item);
    }
    let finish_reason = match status {
        "completed" if turn.has_tool_calls() => "tool_calls",
        "completed" => "stop",
        "incomplete" => incomplete_reason(response.incomplete_details.as_ref()),
        other => {
            return Err(DialectAnswerError::NotRecorded {
                status: other.to_owned(),
            })
        }
    };
    let partial = turn.partial;
    Ok(DialectAnswer {
        answer: Answer {
            id: response.id.clone(),
            choices: vec![Choice {
                index: 0,
                message: turn.into_message(),
                finish_reason: Some(finish_reason.to_owned()),
            }],
            usage: response
                .usage
                .filter(|u| u.get() != "null")
                .map(|u| json::into_raw(json::minified(u))),
        },
        partial,
    })
}

/// `incomplete_details.reason` → `content_filter`, or `length` (`max_output_tokens`, and any
/// other or missing reason).
fn incomplete_reason(details: Option<&IncompleteDetails>) -> &'static str {
    match details.and_then(|d| d.reason.as_deref()) {
        Some("content_filter") => "content_filter",
        _ => "length",
    }
}
