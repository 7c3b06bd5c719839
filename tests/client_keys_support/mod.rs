//! Helpers of the client-key tests (`tests/client_keys*.rs`): the keys, the binary run with
//! stdin, and one request with headers.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use crate::common::{client, Proxy};

pub const ALICE: &str = "alice-literal-key-0001";
pub const BOB: &str = "bob-env-key-0002";
pub const CAROL: &str = "carol-hashed-key-0003";
pub const DAVE: &str = "dave-other-workflow-key-0004";
pub const UPSTREAM_KEY: &str = "sk-upstream-operator-key";

/// Runs the binary with `stdin`; its output.
pub fn micromodel(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .env_remove("MICROMODEL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run micromodel");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("output")
}

/// `sha256:<hex>` of `key`, as `micromodel hash-key` prints it.
pub fn hash_key(key: &str) -> String {
    let out = micromodel(&["hash-key"], format!("{key}\n").as_bytes());
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned()
}

/// `guarded` (alice: literal, bob: env, carol: hashed by `hash-key`; with an upstream key),
/// `keyless` (dave; no API_KEY), `open` (no CLIENT_KEYS).
pub fn chat_body() -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
}

/// A request to `path` on `port` with `headers`; status and body.
pub async fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = client().request(method, format!("{}{path}", Proxy::url(port)));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// Request headers a test sends.
pub type Headers = Vec<(&'static str, String)>;

pub fn bearer(key: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {key}"))
}
