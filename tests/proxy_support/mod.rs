//! What the forwarding and error-table tests share: the upstream key they configure (and check
//! never leaks), a two-workflow config, and the check of an OpenAI-shaped error body.

#![allow(dead_code)]

use serde_json::{json, Value};

/// The upstream API key the tests configure; it must never reach a client, log or record.
pub const SECRET: &str = "sk-very-secret-key-0123456789";

/// `default` on port `a` (no key) and `custom_workflow` on port `b` (upstream given as
/// `<upstream>/v1/`, key [`SECRET`]).
pub fn two_workflows(upstream: &str, a: u16, b: u16) -> Value {
    json!({
        "default": {"OPENAI_API_HOST": upstream, "API_KEY": "", "PORT": a},
        "custom_workflow": {"OPENAI_API_HOST": format!("{upstream}/v1/"), "API_KEY": SECRET, "PORT": b}
    })
}

/// Asserts `body` is an OpenAI error object (message, type, param) with this `code`.
pub fn assert_openai_error(body: &Value, code: &str) {
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(error["type"].is_string(), "{body}");
    assert!(error.get("param").is_some(), "{body}");
    assert_eq!(error["code"], code, "{body}");
}
