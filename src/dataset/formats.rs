//! Output formats of `export`, one JSON line per record.
//!
//! - `chatml`: the record line as captured, byte for byte (unless `--reasoning` has to rename
//!   or remove an assistant's reasoning key: see [`super::reasoning`]).
//! - `openai`: `{"messages":[...]}` plus `"tools"` and `"parallel_tool_calls"` (from `params`)
//!   as OpenAI's chat fine-tuning format takes them: see `openai.rs` for its rules.
//! - `sharegpt`: `{"conversations":[{"from","value"}...],"system":"...","tools":"..."}` as
//!   LLaMA-Factory reads it (`formatting: sharegpt`). `user` → `human`, `assistant` → `gpt`,
//!   an assistant message with tool calls → `function_call` whose value is the JSON text of
//!   `{"name","arguments"}` (a list of them for parallel calls; `arguments` parsed into a JSON
//!   object when it is one; any text beside the calls is dropped), consecutive `tool` messages
//!   → one `observation` (joined with `</tool_response><tool_response>` as LLaMA-Factory's own
//!   OpenAI converter does). `system`/`developer` messages go to the top-level `system`
//!   (joined by blank lines); `tools` is the JSON text of the function definitions. Both are
//!   always present (`""` when empty) so every line has the same columns. Turns must
//!   alternate human/observation then gpt/function_call, as LLaMA-Factory requires;
//!   consecutive user messages are joined by a blank line, anything else that breaks the
//!   alternation, or content that is not text, makes the record not expressible (skipped,
//!   counted). `--reasoning keep` puts a `gpt` turn's reasoning before its text as
//!   `<think>\n...\n</think>\n\n`.
//! - `hf`: fixed, never-null columns for Hugging Face `datasets`: see `hf.rs`.

use serde::Serialize;
use serde_json::Value;

use super::format_kind::{Format, Reasoning};
use super::message_parts::{role, text};
use super::openai::openai;
use super::reasoning::{chatml_line, reasoning_text};
use super::record::Record;

/// Appends `record` (whose line is `raw`) in `format` to `out`, with a trailing newline.
/// An error says why the format cannot express the record; `out` is then unchanged.
pub fn write_line(
    format: Format,
    reasoning: Reasoning,
    raw: &[u8],
    record: &Record,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let start = out.len();
    let result = match format {
        Format::Chatml => chatml_line(raw, reasoning).map(|line| match line {
            Some(line) => out.extend_from_slice(&line),
            None => out.extend_from_slice(raw),
        }),
        Format::Openai => openai(record, reasoning).and_then(|line| to_writer(out, &line)),
        Format::Sharegpt => sharegpt(record, reasoning).and_then(|line| to_writer(out, &line)),
        Format::Hf => super::hf::line(record, reasoning).and_then(|line| to_writer(out, &line)),
    };
    match result {
        Ok(()) => {
            out.push(b'\n');
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

fn to_writer<T: Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    serde_json::to_writer(out, value).map_err(|e| e.to_string())
}

#[derive(Serialize)]
struct ShareGptLine {
    conversations: Vec<Turn>,
    system: String,
    tools: String,
}

#[derive(Serialize)]
struct Turn {
    from: &'static str,
    value: String,
}

#[derive(Serialize)]
struct ShareGptCall<'a> {
    name: &'a str,
    arguments: Value,
}

fn sharegpt(record: &Record, reasoning: Reasoning) -> Result<ShareGptLine, String> {
    let mut system: Vec<String> = Vec::new();
    let mut turns: Vec<Turn> = Vec::new();
    let mut observations: Vec<String> = Vec::new();
    for message in record.messages() {
        let role = role(message);
        if !matches!(role, "tool" | "function") && !observations.is_empty() {
            turns.push(observation(&mut observations));
        }
        match role {
            "system" | "developer" => system.push(text(message)?),
            "user" => match turns.last_mut() {
                Some(last) if last.from == "human" => {
                    last.value.push_str("\n\n");
                    last.value.push_str(&text(message)?);
                }
                _ => turns.push(Turn {
                    from: "human",
                    value: text(message)?,
                }),
            },
            "assistant" => turns.push(assistant_turn(message, reasoning)?),
            "tool" | "function" => observations.push(text(message)?),
            other => return Err(format!("role {other:?}")),
        }
    }
    if !observations.is_empty() {
        turns.push(observation(&mut observations));
    }
    let alternates = turns.len() % 2 == 0
        && turns.iter().enumerate().all(|(i, t)| match i % 2 {
            0 => matches!(t.from, "human" | "observation"),
            _ => matches!(t.from, "gpt" | "function_call"),
        });
    if !alternates {
        return Err("turns do not alternate user/assistant".to_owned());
    }
    let tools = match record.tools().and_then(Value::as_array) {
        Some(tools) if !tools.is_empty() => {
            let functions: Vec<&Value> = tools
                .iter()
                .map(
                    |t| match (t.get("type").and_then(Value::as_str), t.get("function")) {
                        (Some("function"), Some(f)) => f,
                        _ => t,
                    },
                )
                .collect();
            serde_json::to_string(&functions).map_err(|e| e.to_string())?
        }
        _ => String::new(),
    };
    Ok(ShareGptLine {
        conversations: turns,
        system: system.join("\n\n"),
        tools,
    })
}

fn observation(pending: &mut Vec<String>) -> Turn {
    let value = pending.join("\n</tool_response>\n<tool_response>\n");
    pending.clear();
    Turn {
        from: "observation",
        value,
    }
}

fn assistant_turn(message: &Value, reasoning: Reasoning) -> Result<Turn, String> {
    let calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty());
    let Some(calls) = calls else {
        let value = match reasoning_text(message).filter(|r| !r.is_empty()) {
            Some(thought) if reasoning == Reasoning::Keep => {
                format!("<think>\n{thought}\n</think>\n\n{}", text(message)?)
            }
            _ => text(message)?,
        };
        return Ok(Turn { from: "gpt", value });
    };
    let mut out = Vec::with_capacity(calls.len());
    for call in calls {
        let function = call.get("function");
        let Some(name) = function.and_then(|f| f.get("name")).and_then(Value::as_str) else {
            return Err("a tool call without function name".to_owned());
        };
        let arguments = match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(parsed @ Value::Object(_)) => parsed,
                _ => Value::String(s.clone()),
            },
            Some(other) => other.clone(),
            None => Value::Object(Default::default()),
        };
        out.push(ShareGptCall { name, arguments });
    }
    let value = match out.as_slice() {
        [one] => serde_json::to_string(one),
        many => serde_json::to_string(many),
    }
    .map_err(|e| e.to_string())?;
    Ok(Turn {
        from: "function_call",
        value,
    })
}
