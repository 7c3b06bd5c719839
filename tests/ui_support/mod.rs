//! Shared by the data page's tests: the real binary with an admin listener and token, a fake
//! upstream whose answers vary with the prompt (plain text with reasoning, a tool call), and
//! recorded traffic.

#![allow(dead_code)]

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::upstream::json_response;
use crate::common::{free_port, one_workflow, FakeUpstream, Proxy, Seen};

/// The admin token the tests use.
pub const TOKEN: &str = "ui-test-token-3f9a";

/// A proxy with its admin listener.
pub struct Running {
    /// The fake upstream (kept alive).
    pub upstream: FakeUpstream,
    /// The binary.
    pub proxy: Proxy,
    /// The workflow's port.
    pub port: u16,
    /// `http://127.0.0.1:<admin port>`.
    pub admin: String,
}

/// Answers by prompt: "weather" → a tool call; anything else → text with reasoning.
pub async fn varied(seen: Seen) -> axum::response::Response {
    let body = seen.json();
    let last = body["messages"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_owned();
    let id = format!("chatcmpl-{:x}", xxhash(&last));
    let message = if last.contains("weather") {
        json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"celsius\"}"}
        }]})
    } else {
        json!({"role": "assistant", "content": format!("You said: {last}"),
               "reasoning_content": "The user wants an echo; I echo."})
    };
    let finish = if last.contains("weather") {
        "tool_calls"
    } else {
        "stop"
    };
    json_response(
        StatusCode::OK,
        &json!({
            "id": id, "object": "chat.completion", "created": 1_700_000_000, "model": "fake-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }),
    )
}

fn xxhash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3)
    })
}

/// Starts upstream and proxy with `--admin-addr` and (when `token`) `--admin-token`.
pub fn start(token: Option<&str>) -> Running {
    let upstream = FakeUpstream::start(varied);
    let port = free_port();
    let admin_port = free_port();
    let admin_addr = format!("127.0.0.1:{admin_port}");
    let mut args = vec!["--admin-addr", admin_addr.as_str()];
    if let Some(token) = token {
        args.extend(["--admin-token", token]);
    }
    let config = one_workflow("chat", &upstream.url, port, "sk-test");
    let proxy = Proxy::start(&config, &args);
    let admin = format!("http://127.0.0.1:{admin_port}");
    crate::common::eventually(
        std::time::Duration::from_secs(20),
        "the admin listener to open",
        || std::net::TcpStream::connect(("127.0.0.1", admin_port)).map(|_| ()),
    );
    Running {
        upstream,
        proxy,
        port,
        admin,
    }
}

/// The prompts sent by [`send_traffic`].
pub const PROMPTS: [&str; 4] = [
    "Hello <script>window.__xss=1</script> there",
    "What is the weather in Paris today?",
    "Write a haiku about autumn",
    "Summarise the plot of Hamlet",
];

/// Sends one chat request per prompt and waits for their records.
pub async fn send_traffic(running: &Running) -> Vec<Value> {
    let client = crate::common::client();
    for prompt in PROMPTS {
        let body = json!({"model": "fake-model", "messages": [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": prompt}
        ], "tools": [{"type": "function", "function": {"name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "temperature": 0.3});
        let response = client
            .post(format!("{}/v1/chat/completions", Proxy::url(running.port)))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("read the whole answer");
    }
    running.proxy.wait_records("chat", PROMPTS.len())
}

/// `GET url`: (status, body), with a 30 s limit.
pub fn get(url: &str) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "30", "-w", "\n%{http_code}", url])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

/// `GET url` until it is not the progress page (202), for up to 60 s.
pub fn page(url: &str) -> (u16, String) {
    crate::common::eventually(
        std::time::Duration::from_secs(60),
        "the read to finish",
        || match get(url) {
            (202, body) => Err(body),
            done => Ok(done),
        },
    )
}

/// The record links of a list page.
pub fn links(html: &str) -> Vec<String> {
    html.split("<a href=\"/ui/record/")
        .skip(1)
        .map(|s| format!("/ui/record/{}", &s[..s.find('"').expect("end")]).replace("&amp;", "&"))
        .collect()
}
