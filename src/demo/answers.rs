//! What the built-in upstream answers: deterministic replies to chat and completions
//! requests, built from the request alone (same request, same content).
//!
//! An [`Answer`] is endpoint-neutral (choices with text or tool calls, usage); `openai`
//! renders it as an OpenAI answer, whole or as stream chunks. Later endpoints (Responses,
//! Messages) render the same [`Answer`] in their own shapes.
//!
//! "Tokens" are whitespace-separated words: a stand-in that is cheap, deterministic and
//! good enough for `usage`, `max_tokens` and the `length` finish reason.

use serde_json::{json, Map, Value};

/// Most choices one request may ask for (`n`, times the prompts of a completions request).
pub(crate) const MAX_CHOICES: u64 = 16;
/// Longest quote of the request kept in an answer, in characters.
const QUOTE_CHARS: usize = 200;

/// A request the built-in upstream refuses: answered `400` in the OpenAI error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct BadRequest {
    /// Human-readable reason.
    pub message: String,
    /// The request field at fault.
    pub param: &'static str,
}

fn bad(param: &'static str, message: impl Into<String>) -> BadRequest {
    BadRequest {
        message: message.into(),
        param,
    }
}

/// One tool call of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolCall {
    /// `call_demo_<n>`, deterministic.
    pub id: String,
    /// The function's name, from the request's tools.
    pub name: String,
    /// The arguments, a JSON object text built from the tool's schema.
    pub arguments: String,
}

/// What one choice says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A text answer.
    Text(String),
    /// Tool calls only (`content` is null).
    Tools(Vec<ToolCall>),
}

/// One choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Choice {
    /// Its `index`.
    pub index: u64,
    /// Its content.
    pub reply: Reply,
    /// `stop`, `length` or `tool_calls`.
    pub finish_reason: &'static str,
}

/// An answer, before it is given an endpoint's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The request's `model` (`demo` when absent), echoed.
    pub model: String,
    /// The choices, by index.
    pub choices: Vec<Choice>,
    /// Words of the request's messages or prompts.
    pub prompt_tokens: u64,
    /// Words of the choices.
    pub completion_tokens: u64,
    /// The request asked for a stream (`stream: true`).
    pub stream: bool,
    /// A stream should end with a usage chunk (`stream_options.include_usage`).
    pub stream_usage: bool,
}

/// `POST /v1/chat/completions`.
pub(crate) fn chat(request: &Value) -> Result<Answer, BadRequest> {
    let messages = request
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| bad("messages", "`messages` must be a non-empty array."))?;
    let n = choice_count(request, 1)?;
    let last = messages.last().unwrap_or(&Value::Null);
    let tool = if last["role"] == "tool" {
        None
    } else {
        tool_to_call(request)?
    };
    let limit = request
        .get("max_completion_tokens")
        .or_else(|| request.get("max_tokens"))
        .and_then(Value::as_u64);
    let reply = match tool {
        Some((name, arguments)) => (
            Reply::Tools(vec![ToolCall {
                id: "call_demo_0".to_owned(),
                name,
                arguments,
            }]),
            "tool_calls",
        ),
        None if last["role"] == "tool" => {
            let said = quote(&text_of(&last["content"]));
            truncate(format!("The tool answered: {said}"), limit)
        }
        None => {
            let user = messages.iter().rev().find(|m| m["role"] == "user");
            let said = quote(&user.map(|m| text_of(&m["content"])).unwrap_or_default());
            truncate(
                format!("Hello! This is MicroModel's built-in demo upstream. You said: {said}"),
                limit,
            )
        }
    };
    let prompt_tokens = messages
        .iter()
        .map(|m| words(&text_of(&m["content"])))
        .sum();
    Ok(answer(request, prompt_tokens, vec![reply; n as usize]))
}

/// `POST /v1/completions`: one choice per prompt and `n` (choice `i` answers prompt `i / n`).
pub(crate) fn completions(request: &Value) -> Result<Answer, BadRequest> {
    let prompts: Vec<String> = match request.get("prompt") {
        None | Some(Value::Null) => vec![String::new()],
        Some(Value::String(prompt)) => vec![prompt.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|p| p.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                bad(
                    "prompt",
                    "`prompt` must be a string or an array of strings (the demo upstream does \
                     not read token ids).",
                )
            })?,
        Some(_) => {
            return Err(bad(
                "prompt",
                "`prompt` must be a string or a non-empty array of strings.",
            ))
        }
    };
    let n = choice_count(request, prompts.len() as u64)?;
    let limit = request.get("max_tokens").and_then(Value::as_u64);
    let echo = request.get("echo").and_then(Value::as_bool) == Some(true);
    let mut replies = Vec::new();
    for prompt in &prompts {
        let (reply, finish) = truncate(
            format!(" is how the demo upstream continues {}", quote(prompt)),
            limit,
        );
        let reply = match reply {
            Reply::Text(text) if echo => Reply::Text(format!("{prompt}{text}")),
            other => other,
        };
        replies.extend(std::iter::repeat((reply, finish)).take(n as usize));
    }
    let prompt_tokens = prompts.iter().map(|p| words(p)).sum();
    Ok(answer(request, prompt_tokens, replies))
}

fn answer(request: &Value, prompt_tokens: u64, replies: Vec<(Reply, &'static str)>) -> Answer {
    let choices: Vec<Choice> = replies
        .into_iter()
        .zip(0..)
        .map(|((reply, finish_reason), index)| Choice {
            index,
            reply,
            finish_reason,
        })
        .collect();
    let completion_tokens = choices.iter().map(|c| reply_tokens(&c.reply)).sum();
    Answer {
        model: request
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("demo")
            .to_owned(),
        choices,
        prompt_tokens,
        completion_tokens,
        stream: request.get("stream").and_then(Value::as_bool) == Some(true),
        stream_usage: request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true),
    }
}

/// `n` (default 1), checked so that `n × per_n` stays within [`MAX_CHOICES`].
fn choice_count(request: &Value, per_n: u64) -> Result<u64, BadRequest> {
    let n = match request.get("n") {
        None | Some(Value::Null) => 1,
        Some(value) => value
            .as_u64()
            .filter(|n| *n >= 1)
            .ok_or_else(|| bad("n", "`n` must be a positive integer."))?,
    };
    if n.saturating_mul(per_n) > MAX_CHOICES {
        return Err(bad(
            "n",
            format!("The demo upstream answers at most {MAX_CHOICES} choices per request."),
        ));
    }
    Ok(n)
}

/// The tool to call and its arguments: none when the request has no tools or says
/// `tool_choice: "none"`; the named one for `{"type":"function","function":{"name":…}}`;
/// else the first.
fn tool_to_call(request: &Value) -> Result<Option<(String, String)>, BadRequest> {
    let tools = match request.get("tools") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(tools)) if tools.is_empty() => return Ok(None),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(bad("tools", "`tools` must be an array.")),
    };
    let choice = request.get("tool_choice").unwrap_or(&Value::Null);
    if choice == "none" {
        return Ok(None);
    }
    let wanted = choice.pointer("/function/name").and_then(Value::as_str);
    let tool = match wanted {
        Some(name) => tools
            .iter()
            .find(|t| t.pointer("/function/name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| bad("tool_choice", format!("No tool is named {name:?}.")))?,
        None => &tools[0],
    };
    let name = tool
        .pointer("/function/name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("tools", "Each tool needs `function.name`."))?;
    let schema = tool.pointer("/function/parameters").unwrap_or(&Value::Null);
    Ok(Some((name.to_owned(), example_of(schema).to_string())))
}

/// A value that satisfies a JSON schema's `type` and `required` (enough for the demo): an
/// object with its required properties, the first `enum` value, `"demo"`, `1`, `true`, `[]`.
fn example_of(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::Array(types)) => types.first().and_then(Value::as_str),
        Some(kind) => kind.as_str(),
        None => None,
    };
    match kind {
        Some("string") => json!("demo"),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("null") => Value::Null,
        _ => {
            let mut object = Map::new();
            let required = schema.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                let property = schema.pointer(&format!("/properties/{}", pointer_escape(name)));
                object.insert(
                    name.to_owned(),
                    example_of(property.unwrap_or(&Value::Null)),
                );
            }
            Value::Object(object)
        }
    }
}

fn pointer_escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// The text of a message's `content`: a string, or the `text` of its parts.
fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// `"…"` around the first [`QUOTE_CHARS`] characters of `text`.
fn quote(text: &str) -> String {
    let mut kept: String = text.chars().take(QUOTE_CHARS).collect();
    if kept.len() < text.len() {
        kept.push('…');
    }
    format!("\"{kept}\"")
}

/// Cuts `text` to `limit` words (finish reason `length`), or keeps it whole (`stop`).
fn truncate(text: String, limit: Option<u64>) -> (Reply, &'static str) {
    match limit {
        Some(limit) if words(&text) > limit => {
            let mut cut = String::new();
            for word in pieces(&text).take(limit as usize) {
                cut.push_str(word);
            }
            (Reply::Text(cut), "length")
        }
        _ => (Reply::Text(text), "stop"),
    }
}

/// Whitespace-separated words: the demo's tokens.
pub(crate) fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// `text` in stream-sized pieces: each word with the whitespace before it, so the pieces
/// joined give `text` back.
pub(crate) fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let start = rest.len() - rest.trim_start().len();
        let end = rest[start..]
            .find(char::is_whitespace)
            .map_or(rest.len(), |i| start + i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

fn reply_tokens(reply: &Reply) -> u64 {
    match reply {
        Reply::Text(text) => words(text),
        Reply::Tools(calls) => calls.iter().map(|c| 1 + words(&c.arguments)).sum(),
    }
}

#[cfg(test)]
#[path = "answers_tests.rs"]
mod tests;
