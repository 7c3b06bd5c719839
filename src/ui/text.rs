//! The text of messages: for the search, and the start of the prompt and answer in a row.

use serde_json::Value;

/// Characters of the prompt and answer shown in a row.
const SNIPPET: usize = 160;

/// All text of a message: string content, text parts, tool call arguments, reasoning.
pub fn text_of(message: &Value) -> String {
    let mut out = String::new();
    match message.get("content") {
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Array(parts)) => {
            for part in parts {
                if let Some(text) = part.get("text").and_then(Value::as_str) {
                    out.push_str(text);
                    out.push(' ');
                }
            }
        }
        _ => {}
    }
    for key in ["reasoning_content", "reasoning"] {
        if let Some(text) = message.get(key).and_then(Value::as_str) {
            out.push(' ');
            out.push_str(text);
        }
    }
    if let Some(Value::Array(calls)) = message.get("tool_calls") {
        for call in calls {
            if let Some(f) = call.get("function") {
                for key in ["name", "arguments"] {
                    if let Some(text) = f.get(key).and_then(Value::as_str) {
                        out.push(' ');
                        out.push_str(text);
                    }
                }
            }
        }
    }
    out
}

/// The answer as a row shows it: its text, or its tool calls as `name(arguments)`.
pub fn answer_text(answer: &Value) -> String {
    let text = match answer.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(content @ Value::Array(_)) => text_of(&serde_json::json!({"content": content})),
        _ => String::new(),
    };
    let calls = answer.get("tool_calls").and_then(Value::as_array);
    let calls: Vec<String> = calls
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("function"))
        .map(|f| {
            let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
            let args = f.get("arguments").and_then(Value::as_str).unwrap_or("");
            format!("→ {name}({args})")
        })
        .collect();
    [text, calls.join(" ")]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first characters of `text`, whitespace folded, `…` when cut.
pub fn snippet(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(SNIPPET) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
