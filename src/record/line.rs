//! Building record lines (§4) from what was kept of the request and the normalised answer.

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use super::answer::{Answer, AssistantMessage, Choice};
use super::dialect::Dialect;
use super::endpoint::EndpointKind;
use super::recordable::{self, Unrecordable};
use super::request::{minify_json, RequestView};

/// What a record needs from the request, kept as slices of the original body (no copy).
#[derive(Debug, Clone)]
pub struct RecordContext {
    /// Which recorded endpoint.
    pub endpoint: EndpointKind,
    /// The workflow the record is filed under (after any `workflow_id` override).
    pub workflow_id: String,
    /// The request's `model`, `"unknown"` when absent.
    pub model: String,
    /// Chat: the request's `messages` array (raw text); another dialect: its request's
    /// conversation mapped to ChatML messages (a JSON array text).
    messages: Option<Bytes>,
    /// Completions: the request's `prompt` (raw text).
    prompt: Option<Bytes>,
    /// The request's `tools` (raw text; another dialect's mapped to the chat shape), when
    /// present and not null.
    tools: Option<Bytes>,
    /// The request's other top-level members as one JSON object text (`params`), `None`
    /// when there are none.
    params: Option<String>,
    /// Something of the conversation has no ChatML form or lives where export cannot follow
    /// it: the record gets `"partial": true` (and no `rebuildable`).
    partial: bool,
    /// Responses: the `previous_response_id` this turn continues.
    previous_response_id: Option<String>,
    /// The request's `n` (default 1).
    n: u32,
    /// The request asked for a stream.
    pub stream: bool,
    /// Completions: how many prompts the request has (1 for chat).
    prompts: u32,
    /// Why the request's side cannot be recorded (checked once for every choice).
    refused: Option<Unrecordable>,
    /// The `CLIENT_KEYS` name the request was made as (`client` in the record).
    client: Option<String>,
}

impl RecordContext {
    /// Keeps what the record needs. `body` must be the bytes `view` was parsed from.
    pub fn new(
        endpoint: EndpointKind,
        workflow_id: String,
        view: &RequestView<'_>,
        body: &Bytes,
    ) -> Self {
        let model = view.model().unwrap_or_else(|| "unknown".to_owned());
        let params = params_text(view);
        let stream = view.is_stream();
        if let Some(dialect) = Dialect::of(endpoint) {
            let mapped = dialect.map_request(view);
            let messages = mapped.messages_json();
            let tools = mapped.tools_json();
            let refused = raw_value(&messages)
                .and_then(|m| recordable::check_messages(m).err())
                .or_else(|| {
                    tools
                        .as_deref()
                        .and_then(raw_value)
                        .and_then(|t| recordable::check_tools(t).err())
                });
            return RecordContext {
                endpoint,
                workflow_id,
                model,
                messages: Some(Bytes::from(messages)),
                prompt: None,
                tools: tools.map(Bytes::from),
                params,
                partial: mapped.partial,
                previous_response_id: mapped.previous_response_id,
                // One record per answer: these APIs have no `n`.
                n: 1,
                stream,
                prompts: 1,
                refused,
                client: None,
            };
        }
        let slice = |raw: &RawValue| body.slice_ref(raw.get().as_bytes());
        let completions = endpoint == EndpointKind::Completions;
        let messages = view.get_non_null("messages").filter(|_| !completions);
        let tools = view.get_non_null("tools");
        let refused = messages
            .and_then(|m| recordable::check_messages(m).err())
            .or_else(|| tools.and_then(|t| recordable::check_tools(t).err()));
        let prompt = view.get_non_null("prompt").filter(|_| completions);
        RecordContext {
            endpoint,
            workflow_id,
            model,
            messages: messages.map(slice),
            prompt: prompt.map(slice),
            tools: tools.map(slice),
            params,
            partial: false,
            previous_response_id: None,
            n: view.n(),
            stream,
            prompts: prompt.map_or(1, prompt_count),
            refused,
            client: None,
        }
    }

    /// The same context, made as `client` (a `CLIENT_KEYS` name): the record gets `client`.
    pub fn with_client(mut self, client: Option<String>) -> Self {
        self.client = client;
        self
    }

    /// The answer had parts with no ChatML form: the record gets `"partial": true`.
    pub fn mark_partial(&mut self) {
        self.partial = true;
    }

    /// Choices with an `index` at or above this answer nothing that was asked: `n` × the
    /// number of prompts.
    pub fn max_choices(&self) -> u32 {
        self.n.saturating_mul(self.prompts)
    }

    /// The lines to write, one per choice of `answer`: each as [`lines`](Self::lines) builds
    /// it, checked and repaired by [`recordable`], or why it is not recordable.
    pub fn record_lines(
        &self,
        answer: &Answer,
        finished: DateTime<Utc>,
        latency_ms: u64,
    ) -> Vec<Result<String, Unrecordable>> {
        if let Some(why) = &self.refused {
            return answer.choices.iter().map(|_| Err(why.clone())).collect();
        }
        answer
            .choices
            .iter()
            .zip(self.lines(answer, finished, latency_ms))
            .map(|(choice, line)| {
                recordable::check_answer(&choice.message)?;
                recordable::check_line(line)
            })
            .collect()
    }

    /// One JSON line (without newline) per choice of `answer`.
    pub fn lines(&self, answer: &Answer, finished: DateTime<Utc>, latency_ms: u64) -> Vec<String> {
        let timestamp = finished.to_rfc3339_opts(SecondsFormat::Millis, true);
        let tools_text = self.tools.as_ref().map(minified);
        // Minified and validated once, shared by every choice's line.
        let tools = tools_text.as_deref().and_then(raw_value);
        let params = self.params.as_deref().and_then(raw_value);
        let history = self.messages.as_ref().map(minified);
        answer
            .choices
            .iter()
            .map(|choice| {
                let mut out = String::with_capacity(512);
                out.push_str("{\"messages\":");
                self.write_messages(history.as_deref(), choice, &mut out);
                let tail = Tail {
                    timestamp: &timestamp,
                    endpoint: self.endpoint.path(),
                    model: &self.model,
                    workflow_id: &self.workflow_id,
                    client: self.client.as_deref(),
                    tools,
                    params,
                    finish_reason: choice.finish_reason.as_deref(),
                    // The record format wants an object; anything else is left out.
                    usage: answer.usage.as_deref().filter(|u| u.get().starts_with('{')),
                    stream: self.stream,
                    latency_ms,
                    request_id: answer.id.as_deref(),
                    previous_response_id: self.previous_response_id.as_deref(),
                    partial: (self.partial || self.previous_response_id.is_some()).then_some(true),
                    rebuildable: (!self.partial && self.previous_response_id.is_some())
                        .then_some(true),
                };
                let tail = serde_json::to_string(&tail).expect("record tail serialises");
                out.push(',');
                out.push_str(&tail[1..]);
                // Raw parts copied from a pretty-printed upstream answer (`usage`, extra
                // message fields) may hold newlines; outside strings they are insignificant.
                if out.contains(['\n', '\r']) {
                    let mut one_line = String::with_capacity(out.len());
                    minify_json(&out, &mut one_line);
                    out = one_line;
                }
                out
            })
            .collect()
    }

    /// `history`: the request's `messages`, already minified.
    fn write_messages(&self, history: Option<&str>, choice: &Choice, out: &mut String) {
        out.push('[');
        match self.endpoint {
            EndpointKind::Completions => {
                out.push_str("{\"role\":\"user\",\"content\":");
                out.push_str(&self.prompt_for(choice.index));
                out.push_str("},");
            }
            // Chat, and the other dialects' mapped conversation.
            _ => {
                if let Some(text) = history {
                    let inner = text
                        .strip_prefix('[')
                        .and_then(|t| t.strip_suffix(']'))
                        .unwrap_or("");
                    if !inner.is_empty() {
                        out.push_str(inner);
                        out.push(',');
                    }
                }
            }
        }
        push_message(&choice.message, out);
        out.push(']');
    }

    /// The prompt a completions choice answers: the prompt itself, or for an array of
    /// prompts the element `index / n`.
    fn prompt_for(&self, index: u32) -> String {
        let Some(prompt) = &self.prompt else {
            return "\"\"".to_owned();
        };
        let text = minified(prompt);
        if text.starts_with('[') {
            if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(&text) {
                // An array of strings is several prompts; an array of token ids is one prompt.
                if items.first().is_some_and(|i| i.get().starts_with('"')) {
                    let pick = (index / self.n.max(1)) as usize;
                    return items
                        .get(pick)
                        .map_or_else(|| "\"\"".to_owned(), |i| i.get().to_owned());
                }
            }
        }
        text
    }
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

/// The top-level members a record does not hold elsewhere: `params` keeps them.
const HELD_ELSEWHERE: [&str; 11] = [
    "model",
    "messages",
    "prompt",
    "input",
    "instructions",
    "system",
    "tools",
    "stream",
    "stream_options",
    "workflow_id",
    "previous_response_id",
];

/// `params`: the request's other top-level members, in request order, values minified (a
/// repeated key is kept once, with its last value, as JSON parsers read it); `None` when
/// there are none.
fn params_text(view: &RequestView<'_>) -> Option<String> {
    let members: Vec<(&str, &RawValue)> = view.members().collect();
    let mut out = String::new();
    for (position, (key, value)) in members.iter().enumerate() {
        let repeated_later = members[position + 1..].iter().any(|(k, _)| k == key);
        if HELD_ELSEWHERE.contains(key) || repeated_later {
            continue;
        }
        out.push(if out.is_empty() { '{' } else { ',' });
        out.push_str(&serde_json::to_string(key).expect("a string key serialises"));
        out.push(':');
        minify_json(value.get(), &mut out);
    }
    (!out.is_empty()).then(|| {
        out.push('}');
        out
    })
}

fn push_message(message: &AssistantMessage, out: &mut String) {
    let json = serde_json::to_string(message).expect("assistant message serialises");
    out.push_str(&json);
}

fn minified(raw: &Bytes) -> String {
    let text = std::str::from_utf8(raw).expect("slices of a parsed JSON body are UTF-8");
    let mut out = String::with_capacity(text.len());
    minify_json(text, &mut out);
    out
}

fn raw_value(text: &str) -> Option<&RawValue> {
    serde_json::from_str(text).ok()
}

/// The keys after `messages`, in the spec's order.
#[derive(Serialize)]
struct Tail<'a> {
    timestamp: &'a str,
    endpoint: &'static str,
    model: &'a str,
    workflow_id: &'a str,
    /// The `CLIENT_KEYS` name the request was made as.
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
    finish_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a RawValue>,
    stream: bool,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    previous_response_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partial: Option<bool>,
    /// `true` when the record is partial only because its history is the record that
    /// `previous_response_id` names: export rebuilds it by following the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    rebuildable: Option<bool>,
}
