//! Building record lines (§4) from what was kept of the request and the normalised answer.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use super::answer::{Answer, Choice};
use super::dialect::types::KeptRequest;
use super::dialect::Dialect;
use super::endpoint::EndpointKind;
use super::recordable::{self, Unrecordable};
use super::request::{minify_json, RequestView};
use super::request_members::{minified, params_text, raw_value};
use crate::trust::redact::{redact_json_all, Counts, Redactor};

/// What a record needs from the request, kept as slices of the original body (no copy).
#[derive(Debug, Clone)]
pub struct RecordContext {
    /// Which recorded endpoint.
    pub endpoint: EndpointKind,
    /// The workflow the record is filed under (after any `workflow_id` override).
    pub workflow_id: String,
    /// The request's `model`, `"unknown"` when absent.
    pub model: String,
    /// The request asked for a stream.
    pub stream: bool,
    /// The request's other top-level members as one JSON object text (`params`), `None`
    /// when there are none.
    params: Option<String>,
    /// What the dialect keeps of the request: its conversation, `tools`, `n`, ...
    kept: KeptRequest,
    /// The `CLIENT_KEYS` name the request was made as (`client` in the record).
    client: Option<String>,
    /// `REDACT` of the workflow(s) concerned, applied to the record's messages, `tools` and
    /// `params` (never to what is forwarded); empty when nothing is redacted.
    redact: Vec<Arc<Redactor>>,
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
        let kept = Dialect::of(endpoint).keep_request(view, body);
        RecordContext {
            endpoint,
            workflow_id,
            model,
            stream,
            params,
            kept,
            client: None,
            redact: Vec::new(),
        }
    }

    /// The same context, made as `client` (a `CLIENT_KEYS` name): the record gets `client`.
    pub fn with_client(mut self, client: Option<String>) -> Self {
        self.client = client;
        self
    }

    /// Redacts the record with these rules (see [`crate::trust::redact`]); the line gets
    /// `"redacted"` counts when something was replaced.
    pub fn set_redaction(&mut self, redactors: Vec<Arc<Redactor>>) {
        self.redact = redactors;
    }

    /// The answer had parts with no ChatML form: the record gets `"partial": true`.
    pub fn mark_partial(&mut self) {
        self.kept.partial = true;
    }

    /// Choices with an `index` at or above this answer nothing that was asked: `n` × the
    /// number of prompts.
    pub fn max_choices(&self) -> u32 {
        self.kept.n.saturating_mul(self.kept.prompts)
    }

    /// The lines to write, one per choice of `answer`: each as [`lines`](Self::lines) builds
    /// it, checked and repaired by [`recordable`], or why it is not recordable.
    pub fn record_lines(
        &self,
        answer: &Answer,
        finished: DateTime<Utc>,
        latency_ms: u64,
    ) -> Vec<Result<String, Unrecordable>> {
        if let Some(why) = &self.kept.refused {
            return answer.choices.iter().map(|_| Err(why.clone())).collect();
        }
        answer
            .choices
            .iter()
            .zip(self.redacted_lines(answer, finished, latency_ms))
            .map(|(choice, (line, counts))| {
                recordable::check_answer(&choice.message)?;
                let line = recordable::check_line(line)?;
                counts.count_metrics(&self.workflow_id);
                Ok(line)
            })
            .collect()
    }

    /// One JSON line (without newline) per choice of `answer`.
    pub fn lines(&self, answer: &Answer, finished: DateTime<Utc>, latency_ms: u64) -> Vec<String> {
        let lines = self.redacted_lines(answer, finished, latency_ms);
        lines.into_iter().map(|(line, _)| line).collect()
    }

    /// [`lines`](Self::lines), each with what was redacted in it.
    fn redacted_lines(
        &self,
        answer: &Answer,
        finished: DateTime<Utc>,
        latency_ms: u64,
    ) -> Vec<(String, Counts)> {
        let timestamp = finished.to_rfc3339_opts(SecondsFormat::Millis, true);
        // Redacted once, shared by every choice's line.
        let mut shared = Counts::default();
        let mut redact =
            |text: Cow<'_, str>| redact_json_all(&self.redact, text, &mut shared).into_owned();
        let tools_text = self
            .kept
            .tools
            .as_ref()
            .map(|t| redact(Cow::Owned(minified(t))));
        // Minified and validated once, shared by every choice's line.
        let tools = tools_text.as_deref().and_then(raw_value);
        let params_text = self.params.as_deref().map(|p| redact(Cow::Borrowed(p)));
        let params = params_text.as_deref().and_then(raw_value);
        let history = self
            .kept
            .messages
            .as_ref()
            .map(|m| redact(Cow::Owned(minified(m))));
        answer
            .choices
            .iter()
            .map(|choice| {
                let mut counts = shared.clone();
                let mut out = String::with_capacity(512);
                out.push_str("{\"messages\":");
                self.write_messages(history.as_deref(), choice, &mut counts, &mut out);
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
                    previous_response_id: self.kept.previous_response_id.as_deref(),
                    partial: (self.kept.partial || self.kept.previous_response_id.is_some())
                        .then_some(true),
                    rebuildable: (!self.kept.partial && self.kept.previous_response_id.is_some())
                        .then_some(true),
                    redacted: (!counts.is_empty()).then_some(&counts),
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
                (out, counts)
            })
            .collect()
    }

    /// `history`: the request's `messages`, already minified (and redacted); the choice's
    /// own text is redacted here, counted into `counts`.
    fn write_messages(
        &self,
        history: Option<&str>,
        choice: &Choice,
        counts: &mut Counts,
        out: &mut String,
    ) {
        out.push('[');
        Dialect::of(self.endpoint).write_history(
            history,
            self.kept.prompt.as_ref(),
            self.kept.n,
            choice.index,
            &self.redact,
            counts,
            out,
        );
        let message = serde_json::to_string(&choice.message).expect("assistant message serialises");
        out.push_str(&redact_json_all(&self.redact, Cow::Owned(message), counts));
        out.push(']');
    }
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
    /// What `REDACT` replaced in this line, per detector; last, and absent when nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    redacted: Option<&'a Counts>,
}
