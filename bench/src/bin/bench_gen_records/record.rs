//! One generated record line per workflow shape: `support` (multi-turn chat), `coding` (tool
//! calls), `summaries` (long prompts, some cut at `length`), `agent` (Responses API, reasoning),
//! with usage, params, latency, `stream` and a unique `request_id`, as the proxy writes them.

use serde_json::{json, Value};

use crate::text::{Rng, WORDS};

/// The `request_id` prefix of `workflow`'s records (`resp` for the Responses API).
pub fn prefix(workflow: &str) -> &'static str {
    if workflow == "agent" {
        "resp"
    } else {
        "chatcmpl"
    }
}

/// One record line of `workflow`'s shape.
pub fn record(workflow: &str, timestamp: &str, id: u64, rng: &mut Rng) -> Value {
    let mut user = rng.text_in(40, 400);
    if rng.below(2000) == 0 {
        user.push_str(" Is the zanzibar office open?");
    }
    let (endpoint, model, mut messages, finish, tools) = match workflow {
        "support" => {
            let mut m = vec![json!({"role": "system", "content": rng.text(300)})];
            for _ in 0..rng.range(0, 2) {
                m.push(json!({"role": "user", "content": rng.text_in(40, 300)}));
                m.push(json!({"role": "assistant", "content": rng.text_in(100, 600)}));
            }
            m.push(json!({"role": "user", "content": user}));
            m.push(json!({"role": "assistant", "content": rng.text_in(200, 1500)}));
            let finish = if rng.chance(6) { "length" } else { "stop" };
            ("/v1/chat/completions", "gpt-4.1-mini", m, finish, None)
        }
        "coding" => {
            let tools = json!([{"type": "function", "function": {"name": "run_tests",
                "description": "Runs the test suite", "parameters": {"type": "object",
                "properties": {"path": {"type": "string"}}}}}]);
            let mut m = vec![
                json!({"role": "system", "content": "You are a careful coding assistant."}),
                json!({"role": "user", "content": user}),
            ];
            let finish = if rng.chance(40) {
                m.push(
                    json!({"role": "assistant", "content": null, "tool_calls": [{"id":
                    format!("call_{id}"), "type": "function", "function": {"name": "run_tests",
                    "arguments": format!("{{\"path\":\"src/{}.rs\"}}", rng.pick(WORDS))}}]}),
                );
                "tool_calls"
            } else {
                m.push(
                    json!({"role": "assistant", "content": format!("```rust\n{}\n```\n{}",
                    rng.text_in(200, 900), rng.text(200))}),
                );
                "stop"
            };
            ("/v1/chat/completions", "gpt-4.1", m, finish, Some(tools))
        }
        "summaries" => {
            let m = vec![
                json!({"role": "user", "content": format!("Summarise: {}", rng.text_in(1500, 5000))}),
                json!({"role": "assistant", "content": rng.text_in(200, 500)}),
            ];
            let finish = if rng.chance(10) { "length" } else { "stop" };
            ("/v1/chat/completions", "gpt-4.1-nano", m, finish, None)
        }
        _ => {
            let m = vec![
                json!({"role": "developer", "content": "Plan, then answer briefly."}),
                json!({"role": "user", "content": user}),
                json!({"role": "assistant", "content": rng.text_in(100, 800),
                       "reasoning_content": rng.text_in(100, 600)}),
            ];
            ("/v1/responses", "o4-mini", m, "stop", None)
        }
    };
    if messages.is_empty() {
        messages.push(json!({"role": "user", "content": "hi"}));
    }
    let prompt_tokens = rng.range(20, 2000);
    let completion_tokens = rng.range(10, 800);
    let mut line = json!({
        "messages": messages,
        "timestamp": timestamp,
        "endpoint": endpoint,
        "model": model,
        "workflow_id": workflow,
    });
    if let Some(tools) = tools {
        line["tools"] = tools;
    }
    line["params"] = json!({"temperature": rng.range(0, 10) as f64 / 10.0, "max_tokens": 1024});
    line["finish_reason"] = json!(finish);
    line["usage"] = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                           "total_tokens": prompt_tokens + completion_tokens});
    line["stream"] = json!(rng.chance(40));
    line["latency_ms"] = json!(rng.range(150, 9000));
    line["request_id"] = json!(format!("{}-{id:010}", prefix(workflow)));
    line
}
