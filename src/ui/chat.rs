//! One record's page: the conversation as chat bubbles (system / user / assistant / tool),
//! tool calls with pretty-printed arguments, reasoning collapsed, images shown for data URLs
//! and linked otherwise; `params`, `usage` and tools in a side panel; the good / bad buttons.

use maud::{html, Markup};
use serde_json::Value;

use super::page::{label_word, shell, Tab};
use super::query::{Found, Place};

/// Renders the page.
pub fn render(found: &Found, place: &Place, csrf: &str) -> Markup {
    let record = &found.record;
    let body = html! {
        h1 { "Record " span.muted { (place.workflow) " · " (record.timestamp().format("%Y-%m-%d %H:%M:%S UTC")) } }
        div.record {
            div.card.conversation {
                @for message in record.messages() { (bubble(message)) }
            }
            div.side {
                (labeller(found, place.object.is_some().then_some(place), csrf))
                div.card {
                    h2 { "Record" }
                    dl {
                        dt { "workflow" } dd { (record.workflow_id()) }
                        dt { "model" } dd { (record.model()) }
                        dt { "endpoint" } dd { (record.endpoint()) }
                        dt { "finish" } dd { (record.finish_reason().unwrap_or("none")) }
                        dt { "stream" } dd { (record.stream()) }
                        @if let Some(ms) = record.map().get("latency_ms") { dt { "latency" } dd { (ms) " ms" } }
                        @if let Some(id) = record.request_id() { dt { "request id" } dd { code { (id) } } }
                        dt { "choice" } dd { (found.choice) }
                        @if record.partial() { dt { "partial" } dd { "yes" } }
                        dt { "file" } dd.muted { (place.date.format("%Y-%m-%d")) " line " (place.line) }
                    }
                }
                @if let Some(usage) = record.usage() {
                    div.card { h2 { "Usage" } (key_values(usage)) }
                }
                @if let Some(params) = record.params() {
                    @if !params.is_empty() {
                        div.card { h2 { "Params" } (key_values(&Value::Object(params.clone()))) }
                    }
                }
                @if let Some(Value::Array(tools)) = record.tools() {
                    div.card {
                        h2 { "Tools (" (tools.len()) ")" }
                        @for tool in tools {
                            @let f = tool.get("function").unwrap_or(tool);
                            details {
                                summary { code { (f.get("name").and_then(Value::as_str).unwrap_or("?")) } }
                                @if let Some(d) = f.get("description").and_then(Value::as_str) { p { (d) } }
                                pre { (pretty(tool)) }
                            }
                        }
                    }
                }
            }
        }
    };
    shell("Record", Tab::Records, csrf, body)
}

/// The label form. `bucket` is the place of a bucket record: its day and workflow go with
/// the label, so that it is filed under them when no local folder holds the record any more.
fn labeller(found: &Found, bucket: Option<&Place>, csrf: &str) -> Markup {
    let Some(request_id) = found.record.request_id() else {
        return html! { div.card { h2 { "Label" } p.muted { "This record has no request_id: it cannot be labelled." } } };
    };
    let note = found.label.as_ref().map(|l| l.note.as_str()).unwrap_or("");
    // The current tags, comma-separated as they are typed (ui.js splits them again).
    let tags = found
        .label
        .as_ref()
        .map(|l| l.tags.join(", "))
        .unwrap_or_default();
    html! {
        div.card #labeller data-request-id=(request_id) data-choice=(found.choice) data-csrf=(csrf)
            data-day=[bucket.map(|p| crate::layout::day_folder_name(p.date))]
            data-workflow-id=[bucket.map(|p| p.workflow.as_str())] {
            h2 { "Label: " span #label-current { (label_word(found.label.as_ref())) } }
            textarea #label-note rows="2" style="width:100%" placeholder="note (optional)" { (note) }
            label.tags for="label-tags" {
                "tags"
                input #label-tags type="text" value=(tags) placeholder="comma-separated (optional)" autocomplete="off";
            }
            p {
                button.good type="button" data-label="good" { "good" } " "
                button.bad type="button" data-label="bad" { "bad" } " "
                button type="button" data-label="none" { "clear" }
                " " span #label-status.muted {}
            }
        }
    }
}

fn role_class(role: &str) -> &'static str {
    match role {
        "system" | "developer" => "system",
        "user" => "user",
        "assistant" => "assistant",
        "tool" | "function" => "tool",
        _ => "system",
    }
}

fn bubble(message: &Value) -> Markup {
    let role = message.get("role").and_then(Value::as_str).unwrap_or("?");
    html! {
        div class=(format!("bubble {}", role_class(role))) data-role=(role) {
            div.role {
                (role)
                @if let Some(name) = message.get("name").and_then(Value::as_str) { " · " (name) }
                @if let Some(id) = message.get("tool_call_id").and_then(Value::as_str) { " · " code { (id) } }
            }
            @for key in ["reasoning_content", "reasoning"] {
                @if let Some(text) = message.get(key).and_then(Value::as_str) {
                    @if !text.is_empty() {
                        details.reasoning { summary { "reasoning" } div.text { (text) } }
                    }
                }
            }
            (content(message.get("content").unwrap_or(&Value::Null), role))
            @if let Some(Value::Array(calls)) = message.get("tool_calls") {
                @for call in calls { (tool_call(call)) }
            }
        }
    }
}

fn content(value: &Value, role: &str) -> Markup {
    match value {
        Value::Null => html! {},
        Value::String(text) if role == "tool" => text_or_json(text),
        Value::String(text) => html! { div.text { (text) } },
        Value::Array(parts) => html! { @for part in parts { (part_markup(part)) } },
        other => html! { pre { (pretty(other)) } },
    }
}

/// A tool result: pretty JSON when it is JSON, text otherwise.
fn text_or_json(text: &str) -> Markup {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => html! { pre { (pretty(&v)) } },
        _ => html! { div.text { (text) } },
    }
}

fn part_markup(part: &Value) -> Markup {
    let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(text) = part.get("text").and_then(Value::as_str) {
        return html! { div.text { (text) } };
    }
    let url = match kind {
        "image_url" => part
            .get("image_url")
            .and_then(|i| i.get("url").or(Some(i)))
            .and_then(Value::as_str)
            .map(str::to_owned),
        "input_image" => part
            .get("image_url")
            .and_then(Value::as_str)
            .map(str::to_owned),
        "image" => part.get("source").and_then(|s| {
            let data = s.get("data").and_then(Value::as_str)?;
            let media = s
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or("image/png");
            Some(format!("data:{media};base64,{data}"))
        }),
        _ => None,
    };
    match url {
        // Only data URLs of images are loaded: a remote URL would make the browser fetch it.
        Some(url) if url.starts_with("data:image/") => html! { img src=(url) alt="image"; },
        Some(url) => {
            html! { p { "image: " a href=(url) rel="noreferrer noopener" target="_blank" { (url) } } }
        }
        None => {
            html! { details { summary { (if kind.is_empty() { "part" } else { kind }) } pre { (pretty(part)) } } }
        }
    }
}

fn tool_call(call: &Value) -> Markup {
    let f = call.get("function").unwrap_or(call);
    let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
    let args = match f.get("arguments") {
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v) => pretty(&v),
            Err(_) => s.clone(),
        },
        Some(other) => pretty(other),
        None => String::new(),
    };
    html! {
        div.call {
            span.muted { "calls " } span.fn { (name) }
            @if let Some(id) = call.get("id").and_then(Value::as_str) { " " span.muted { code { (id) } } }
            pre { (args) }
        }
    }
}

/// Scalars as a definition list; nested values pretty-printed.
fn key_values(value: &Value) -> Markup {
    let Value::Object(map) = value else {
        return html! { pre { (pretty(value)) } };
    };
    html! {
        dl {
            @for (k, v) in map {
                dt { (k) }
                dd {
                    @match v {
                        Value::String(s) => (s),
                        Value::Object(_) | Value::Array(_) => pre { (pretty(v)) },
                        other => (other),
                    }
                }
            }
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::Record;
    use crate::ui::labels::Label;

    #[test]
    fn the_label_form_shows_the_current_tags_escaped() {
        let record = Record::parse(
            br#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}],"request_id":"chatcmpl-1","timestamp":"2026-12-02T10:00:00.000Z","workflow_id":"w","endpoint":"/v1/chat/completions","model":"m"}"#,
        )
        .expect("record");
        let found = Found {
            record,
            choice: 0,
            label: Some(Label {
                label: "good".into(),
                note: "n".into(),
                tags: vec!["tone".into(), "<script>x</script>\"q".into()],
            }),
        };
        let html = labeller(&found, None, "csrf").into_string();
        assert!(
            html.contains(r#"value="tone, &lt;script&gt;x&lt;/script&gt;&quot;q""#),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        let bare = Found {
            label: None,
            ..found
        };
        assert!(labeller(&bare, None, "csrf")
            .into_string()
            .contains(r#"id="label-tags" type="text" value="""#));
        assert!(!html.contains("data-day"), "{html}");
        let place = Place {
            workflow: "w".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            source: 1,
            object: Some("inst-20261201T100000Z-000001.jsonl.gz".into()),
            line: 1,
        };
        let in_bucket = labeller(&bare, Some(&place), "csrf").into_string();
        assert!(
            in_bucket.contains(r#"data-day="01-12-2026" data-workflow-id="w""#),
            "{in_bucket}"
        );
    }
}
