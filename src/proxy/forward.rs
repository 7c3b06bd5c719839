//! Forwarding (§3): the recorded endpoints (body parsed once, `workflow_id` checked and
//! stripped, answer captured) and transparent pass-through of every other `/v1/*` request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::{Frame, Incoming};

use super::body::{Capture, JsonBody, Recording, TeeBody};
use super::error::ProxyError;
use super::headers::{request_headers, response_headers};
use super::state::Route;
use crate::config::Workflow;
use crate::record::line::RecordContext;
use crate::record::request::{RequestError, RequestView};
use crate::record::stream::{CaptureLimits, StreamCapture};
use crate::record::EndpointKind;
use crate::telemetry::UPSTREAM_ERRORS;
use crate::upstream::{full_body, upstream_uri, UpstreamBody};

/// `POST /v1/chat/completions` and `POST /v1/completions`.
pub async fn recorded(
    route: Arc<Route>,
    kind: EndpointKind,
    req: Request,
) -> Result<Response, ProxyError> {
    let started = Instant::now();
    let workflow = route.settings();
    let shared = &route.shared;
    let (parts, body) = req.into_parts();
    check_declared_length(&parts.headers, shared.max_body_bytes)?;
    let bytes = read_limited(body, shared.max_body_bytes).await?;

    let view = RequestView::parse(&bytes).map_err(bad_request)?;
    let workflow_id = match &view.workflow_id {
        None => workflow.id.clone(),
        Some(id) => {
            let config = shared.config();
            if !config.workflows.contains_key(id) {
                let known: Vec<&str> = config.workflows.keys().map(String::as_str).collect();
                return Err(ProxyError::BadRequest {
                    message: format!(
                        "Unknown workflow_id {id:?}. The workflows of this config are: {}.",
                        known.join(", ")
                    ),
                    param: Some("workflow_id"),
                    code: "unknown_workflow_id",
                });
            }
            id.clone()
        }
    };
    let ctx = RecordContext::new(kind, workflow_id, &view, &bytes);
    let upstream_body = if view.workflow_id.is_some() {
        Bytes::from(view.body_without_workflow_id())
    } else {
        bytes.clone()
    };
    drop(view);

    let mut headers = request_headers(&parts.headers);
    // The record needs the answer's bytes as they are: no compression.
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    apply_key(&mut headers, &workflow);
    let waiting = ClientGone {
        workflow_id: &ctx.workflow_id,
    };
    let upstream = send(
        &route,
        &workflow,
        parts.method,
        parts.uri.path_and_query().map_or("/", |pq| pq.as_str()),
        headers,
        full_body(upstream_body),
    )
    .await;
    std::mem::forget(waiting);
    let upstream = upstream?;

    let status = upstream.status();
    let sse = is_sse(upstream.headers());
    let capture = match (status.is_success(), sse, ctx.stream) {
        (true, true, _) => Some(Capture::Stream(Box::new(StreamCapture::with_limits(
            kind,
            CaptureLimits {
                max_bytes: shared.max_record_bytes,
                max_choices: ctx.max_choices(),
            },
        )))),
        (true, false, false) => Some(Capture::Json(JsonBody::default())),
        // A non-2xx answer, or `stream: true` answered without SSE: passed on, not recorded.
        _ => None,
    };
    let recording = capture.map(|capture| Recording {
        ctx,
        capture,
        started,
        shared: Arc::clone(shared),
    });
    Ok(respond(upstream, &workflow, recording, sse))
}

/// Counts and logs a recorded request dropped (its client gone) while waiting for the
/// upstream's headers, as [`TeeBody`] does once the answer has started. Forgotten (not
/// dropped) once the headers arrived.
struct ClientGone<'a> {
    workflow_id: &'a str,
}

impl Drop for ClientGone<'_> {
    fn drop(&mut self) {
        metrics::counter!(crate::telemetry::RECORDS_DROPPED, "reason" => "incomplete").increment(1);
        tracing::warn!(
            workflow = %self.workflow_id,
            upstream_id = "-",
            reason = "client disconnected",
            "Answer did not complete; not recorded."
        );
    }
}

/// Any other `/v1/*` request: streamed both ways, not recorded.
pub async fn pass_through(route: Arc<Route>, req: Request) -> Result<Response, ProxyError> {
    let workflow = route.settings();
    let limit = route.shared.max_body_bytes;
    let (parts, body) = req.into_parts();
    let declared = check_declared_length(&parts.headers, limit)?;
    let mut headers = request_headers(&parts.headers);
    apply_key(&mut headers, &workflow);

    let over_limit = Arc::new(AtomicBool::new(false));
    // From the framing, not the headers: an HTTP/2 request may carry a body without either
    // Content-Length or Transfer-Encoding.
    let has_body = !http_body::Body::is_end_stream(&body);
    let upstream_body = if has_body {
        if let Some(n) = declared {
            // Same body, same length: keep the framing instead of switching to chunked.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        let flag = Arc::clone(&over_limit);
        let mut seen = 0usize;
        let stream = body.into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            seen += chunk.len();
            if seen > limit {
                flag.store(true, Ordering::Relaxed);
                return Err(std::io::Error::other("request body over the limit"));
            }
            Ok::<_, std::io::Error>(Frame::data(chunk))
        });
        BodyExt::boxed_unsync(StreamBody::new(stream))
    } else {
        full_body(Bytes::new())
    };
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let result = send(
        &route,
        &workflow,
        parts.method,
        path,
        headers,
        upstream_body,
    )
    .await;
    if over_limit.load(Ordering::Relaxed) {
        return Err(ProxyError::BodyTooLarge { limit });
    }
    let upstream = result?;
    let sse = is_sse(upstream.headers());
    Ok(respond(upstream, &workflow, None, sse))
}

fn bad_request(error: RequestError) -> ProxyError {
    let (param, code) = match error {
        RequestError::WorkflowIdNotString => (Some("workflow_id"), "invalid_workflow_id"),
        RequestError::InvalidJson(_) => (None, "invalid_json"),
        RequestError::NotAnObject => (None, "invalid_body"),
    };
    ProxyError::BadRequest {
        message: error.to_string(),
        param,
        code,
    }
}

/// Rejects a declared `Content-Length` over the limit before reading anything.
fn check_declared_length(headers: &HeaderMap, limit: usize) -> Result<Option<u64>, ProxyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(ProxyError::BodyTooLarge { limit }),
        other => Ok(other),
    }
}

async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(ProxyError::BodyTooLarge { limit })
        }
        Err(error) => Err(ProxyError::ClientBody(error.to_string())),
    }
}

fn apply_key(headers: &mut HeaderMap, workflow: &Workflow) {
    if let Some(key) = &workflow.api_key {
        match HeaderValue::try_from(format!("Bearer {}", key.expose())) {
            Ok(mut value) => {
                value.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, value);
            }
            // Config validation keeps keys printable; never log the key itself.
            Err(_) => {
                tracing::error!(workflow = %workflow.id, "API_KEY is not a valid header value.")
            }
        }
    }
}

fn is_sse(headers: &HeaderMap) -> bool {
    const SSE: &[u8] = b"text/event-stream";
    headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes().trim_ascii_start();
        v.len() >= SSE.len() && v[..SSE.len()].eq_ignore_ascii_case(SSE)
    })
}

/// Sends the request upstream, waiting at most `TIMEOUT_SECONDS` for the response headers.
async fn send(
    route: &Route,
    workflow: &Workflow,
    method: Method,
    path_and_query: &str,
    headers: HeaderMap,
    body: UpstreamBody,
) -> Result<hyper::Response<Incoming>, ProxyError> {
    let uri = upstream_uri(&workflow.api_host, path_and_query).map_err(|error| {
        upstream_error(&workflow.id, "invalid");
        ProxyError::Upstream {
            host: workflow.api_host.clone(),
            reason: format!("the upstream URL is invalid: {error}"),
        }
    })?;
    let mut request = hyper::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let sent = route.shared.client.send(request);
    let result = match tokio::time::timeout(workflow.timeout, sent).await {
        Err(_) => Err(ProxyError::Timeout {
            host: workflow.api_host.clone(),
            seconds: workflow.timeout.as_secs_f64(),
        }),
        Ok(Err(error)) => Err(ProxyError::Upstream {
            host: workflow.api_host.clone(),
            reason: describe(&error),
        }),
        Ok(Ok(response)) => Ok(response),
    };
    if let Err(error) = &result {
        let kind = if matches!(error, ProxyError::Timeout { .. }) {
            "timeout"
        } else {
            "connect"
        };
        upstream_error(&workflow.id, kind);
    }
    result
}

/// Counts an upstream failure: `connect`, `timeout` or `invalid`.
pub fn upstream_error(workflow: &str, kind: &'static str) {
    metrics::counter!(UPSTREAM_ERRORS, "workflow" => workflow.to_owned(), "kind" => kind)
        .increment(1);
}

/// The error and its causes (hyper's errors never contain the URL or the key).
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut text = if error.is_connect() {
        "connection failed".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn respond(
    upstream: hyper::Response<Incoming>,
    workflow: &Arc<Workflow>,
    recording: Option<Recording>,
    sse: bool,
) -> Response {
    let (parts, body) = upstream.into_parts();
    let headers = response_headers(&parts.headers);
    let expected_len = http_body::Body::size_hint(&body).exact();
    let body = TeeBody::new(body, Arc::clone(workflow), recording, sse, expected_len);
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = parts.status;
    *response.headers_mut() = headers;
    response
}
