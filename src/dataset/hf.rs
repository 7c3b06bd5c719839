//! The `hf` format: one fixed column set that Hugging Face `datasets` loads from any mix of
//! exported files, whose `messages` TRL recognises as conversational.
//!
//! `datasets.load_dataset("json", data_files=[...])` infers each file's Arrow schema and
//! casts every later file to the first one's, so every column here has one type in every
//! line: never null (a column that is null throughout the first file is typed `null`, and
//! no later value casts to it), never an object whose keys vary (`usage`, tool schemas), and
//! never a list that may be empty throughout a file (typed `list<null>`). Hence: strings
//! are `""` when absent, token counts `-1` when not reported, and `usage`, `tools` and each
//! message's `tool_calls` are JSON text, which a trainer `json.loads`: `""` when absent, except
//! `tools`, which is `null` then — TRL's trainers (0.29 and later) `json.loads` a string
//! `tools` of every row, and `""` is not JSON.
//! Content is always a string (text parts joined); a message with non-text content (images,
//! audio) makes the record not expressible: skipped and counted, as in `sharegpt`.
//! The column set is documented in docs/data-tools.md.

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::Value;

use super::format_kind::Reasoning;
use super::message_parts::{role, text, tool_calls};
use super::reasoning::reasoning_text;
use super::record::Record;

/// One line of the `hf` format; every field is present in every line.
#[derive(Serialize)]
pub(super) struct HfLine<'a> {
    /// The conversation, the answer last.
    messages: Vec<HfMessage<'a>>,
    /// JSON text of the chat-shaped tool definitions (`[{"type":"function","function":{...}}]`),
    /// `null` (the JSON text) when the request had none.
    tools: String,
    /// The record's `model`.
    model: &'a str,
    /// The record's `workflow_id`.
    workflow_id: &'a str,
    /// The record's `endpoint`, the path it was sent to (`/v1/chat/completions`, ...).
    endpoint: &'a str,
    /// When the answer completed, RFC 3339 with milliseconds, UTC.
    timestamp: String,
    /// The record's `finish_reason`, `""` when none.
    finish_reason: &'a str,
    /// The record's `request_id`, `""` when none.
    request_id: &'a str,
    /// `usage.prompt_tokens` (or `input_tokens`), `-1` when not reported.
    prompt_tokens: i64,
    /// `usage.completion_tokens` (or `output_tokens`), `-1` when not reported.
    completion_tokens: i64,
    /// `usage.total_tokens`, else the sum of the two above when both are known, else `-1`.
    total_tokens: i64,
    /// JSON text of the upstream's `usage` object as recorded, `""` when none.
    usage: String,
}

/// One message of the `hf` format; every field is present in every message.
#[derive(Serialize)]
struct HfMessage<'a> {
    /// `system` (also for `developer`), `user`, `assistant` or `tool` (also for `function`).
    role: &'static str,
    /// The text: a string, or the text parts joined; `""` for null.
    content: String,
    /// The message's `name`, `""` when none.
    name: &'a str,
    /// A tool message's `tool_call_id`, `""` otherwise.
    tool_call_id: &'a str,
    /// JSON text of an assistant's tool calls (`[{"id","type","function":{"name","arguments"}}]`),
    /// `""` when it made none.
    tool_calls: String,
    /// An assistant's reasoning with `--reasoning keep`, `""` otherwise.
    reasoning_content: &'a str,
}

/// The `hf` line of `record`; an error says why the format cannot express it.
pub(super) fn line(record: &Record, reasoning: Reasoning) -> Result<HfLine<'_>, String> {
    let mut messages = Vec::with_capacity(record.messages().len());
    for message in record.messages() {
        let role = match role(message) {
            "developer" | "system" => "system",
            "user" => "user",
            "assistant" => "assistant",
            "tool" | "function" => "tool",
            other => return Err(format!("role {other:?}")),
        };
        let assistant = role == "assistant";
        let calls = if assistant {
            tool_calls(message)?
        } else {
            Vec::new()
        };
        let str_of = |key: &str| message.get(key).and_then(Value::as_str).unwrap_or("");
        messages.push(HfMessage {
            role,
            content: text(message)?,
            name: str_of("name"),
            tool_call_id: if role == "tool" {
                str_of("tool_call_id")
            } else {
                ""
            },
            tool_calls: if calls.is_empty() {
                String::new()
            } else {
                json_text(&calls)?
            },
            reasoning_content: match reasoning {
                Reasoning::Keep if assistant => reasoning_text(message).unwrap_or(""),
                _ => "",
            },
        });
    }
    let tools = match record.tools().and_then(Value::as_array) {
        Some(tools) if !tools.is_empty() => json_text(tools)?,
        _ => "null".to_owned(),
    };
    let count = |keys: [&str; 2]| keys.iter().find_map(|k| record.usage_tokens(k));
    let prompt = count(["prompt_tokens", "input_tokens"]);
    let completion = count(["completion_tokens", "output_tokens"]);
    let total = record
        .usage_tokens("total_tokens")
        .or_else(|| Some(prompt? + completion?));
    Ok(HfLine {
        messages,
        tools,
        model: record.model(),
        workflow_id: record.workflow_id(),
        endpoint: record.endpoint(),
        timestamp: record
            .timestamp()
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        finish_reason: record.finish_reason().unwrap_or(""),
        request_id: record.request_id().unwrap_or(""),
        prompt_tokens: signed(prompt),
        completion_tokens: signed(completion),
        total_tokens: signed(total),
        usage: match record.usage() {
            Some(usage) => json_text(usage)?,
            None => String::new(),
        },
    })
}

/// A token count as a column value: `-1` when unknown (or beyond `i64`).
fn signed(count: Option<u64>) -> i64 {
    count.and_then(|c| i64::try_from(c).ok()).unwrap_or(-1)
}

fn json_text<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}
