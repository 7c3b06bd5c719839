//! The fake upstream of the dialect tests (`tests/dialects.rs`, `tests/dialect_wiring.rs`):
//! it answers with the fixtures of `tests/fixtures/dialects/`, written from the public API
//! references, and the proxy started in front of it.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::upstream::{openai_like, sse_response, Seen};
use super::{client, free_port, one_workflow, FakeUpstream, Proxy};

/// A fixture's bytes, as the upstream sends them.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/dialects/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fixture named by the request's `x-fixture` header (`<name>.sse` when the body asks
/// for a stream, `<name>.json` otherwise). A stream goes out in 37-byte chunks, so events
/// are split across reads; `x-cut-before` cuts it before that text (an upstream gone
/// before the end). Chat and completions get `openai_like`'s answers.
pub async fn dialect_upstream(seen: Seen) -> Response {
    let name = seen.headers.get("x-fixture").and_then(|v| v.to_str().ok());
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return openai_like(seen).await;
    };
    if seen.json()["stream"] != json!(true) {
        return Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(Body::from(fixture(&format!("{name}.json"))))
            .expect("response");
    }
    let mut bytes = fixture(&format!("{name}.sse"));
    if let Some(cut) = seen.headers.get("x-cut-before") {
        let text = String::from_utf8(bytes).expect("utf8 fixture");
        let at = text.find(cut.to_str().expect("ascii")).expect("cut point");
        bytes = text.as_bytes()[..at].to_vec();
    }
    let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(37)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    sse_response(Body::from_stream(futures_util::stream::iter(chunks)))
}

pub fn start(key: &str, admin: Option<u16>) -> (FakeUpstream, Proxy, u16) {
    let upstream = FakeUpstream::start(dialect_upstream);
    let port = free_port();
    let admin_arg = admin.map(|a| format!("127.0.0.1:{a}"));
    let args: Vec<&str> = match &admin_arg {
        Some(addr) => vec!["--admin-addr", addr],
        None => vec![],
    };
    let proxy = Proxy::start(&one_workflow("w", &upstream.url, port, key), &args);
    (upstream, proxy, port)
}

/// Posts `body` (a JSON object's text, sent as written, with `"stream"` appended) to `path`
/// with the fixture header; the answer's bytes.
pub async fn post(port: u16, path: &str, name: &str, body: &str, stream: bool) -> Vec<u8> {
    let open = body.strip_suffix('}').expect("a JSON object");
    let body = format!("{open},\"stream\":{stream}}}");
    let response = client()
        .post(format!("{}{path}", Proxy::url(port)))
        .header("x-fixture", name)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("body").to_vec()
}
