//! Forwarding (§3): the recorded endpoints (body parsed once, `workflow_id` checked and
//! stripped, answer captured) and transparent pass-through of every other `/v1/*` request.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};

use super::body::TeeBody;
use super::budget;
use super::error::{with_causes, ProxyError};
use super::failure_log::{upstream_failed, FailureKind};
use super::headers::{request_headers, response_headers};
use super::recording::{Capture, ClientGone, JsonBody, Recording};
use super::state::Route;
use crate::config::{Config, Workflow};
use crate::record::capture::AnswerStream;
use crate::record::line::RecordContext;
use crate::record::request::{RequestError, RequestView};
use crate::record::stream::CaptureLimits;
use crate::record::{EndpointKind, KeyHeader};
use crate::telemetry::upstream_error;
use crate::trust::gate;
use crate::trust::Client;
use crate::upstream::{full_body, upstream_uri, UpstreamBody};

/// A recorded endpoint (`POST` to an [`EndpointKind`] path).
pub async fn recorded(
    route: Arc<Route>,
    kind: EndpointKind,
    req: Request,
) -> Result<Response, ProxyError> {
    let started = Instant::now();
    let workflow = route.settings();
    let shared = &route.shared;
    let (parts, body) = req.into_parts();
    let client = parts.extensions.get::<Client>().map(|c| c.0.clone());
    let declared = check_declared_length(&parts.headers, shared.max_body_bytes)?;
    let (bytes, held) =
        budget::read_body(body, shared.max_body_bytes, declared, &shared.buffered).await?;

    let view = RequestView::parse(&bytes).map_err(bad_request)?;
    let workflow_id = match &view.workflow_id {
        None => workflow.id.clone(),
        Some(id) => {
            let config = shared.config();
            if !config.workflows.contains_key(id) {
                return Err(unknown_workflow_id(id, &config, client.is_some()));
            }
            id.clone()
        }
    };
    // Decided before anything is sent: a skipped request gets no record context, no capture.
    let skip = gate::Policy::of(&workflow, &shared.config(), &workflow_id)
        .skip(&parts.headers, &view, &bytes)
        .map_err(bad_record_header)?;
    if let Some(skip) = skip {
        gate::skipped(&workflow_id, kind, skip);
    }
    let ctx = skip.is_none().then(|| {
        let mut ctx = RecordContext::new(kind, workflow_id, &view, &bytes).with_client(client);
        ctx.set_redaction(super::redaction::for_record(
            &workflow,
            shared,
            &ctx.workflow_id,
        ));
        ctx
    });
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
    apply_key(&mut headers, &workflow, kind.key_header());
    let waiting = ClientGone::arm(ctx.as_ref().map(|ctx| ctx.workflow_id.as_str()));
    let upstream = send(
        &route,
        &workflow,
        parts.method,
        parts.uri.path_and_query().map_or("/", |pq| pq.as_str()),
        headers,
        full_body(upstream_body),
    )
    .await
    .map_err(|failed| failed.count(&workflow));
    waiting.disarm();
    let upstream = upstream?;

    let status = upstream.status();
    let sse = is_sse(upstream.headers());
    let Some(ctx) = ctx else {
        return Ok(respond(upstream, &workflow, None, sse));
    };
    let capture = match (status.is_success(), sse, ctx.stream) {
        (true, true, _) => Some(Capture::Stream(Box::new(AnswerStream::new(
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
        held,
    });
    let recorded = recording.as_ref().map(|r| r.ctx.workflow_id.clone());
    let response = respond(upstream, &workflow, recording, sse);
    Ok(match recorded {
        Some(id) => super::request_id::with_request_id(response, sse, &id).await,
        None => response,
    })
}

/// Any other `/v1/*` request: streamed both ways, not recorded.
pub async fn pass_through(route: Arc<Route>, req: Request) -> Result<Response, ProxyError> {
    let workflow = route.settings();
    let limit = route.shared.max_body_bytes;
    let (parts, body) = req.into_parts();
    let declared = check_declared_length(&parts.headers, limit)?;
    let mut headers = request_headers(&parts.headers);
    apply_key(&mut headers, &workflow, KeyHeader::Bearer);

    // Set when the client's own body fails (over the limit, stalled, broken): that, not the
    // upstream, is then what the client hears about.
    let client_fault: Arc<Mutex<Option<ProxyError>>> = Arc::default();
    // From the framing, not the headers: an HTTP/2 request may carry a body without either
    // Content-Length or Transfer-Encoding.
    let has_body = !http_body::Body::is_end_stream(&body);
    let upstream_body = if has_body {
        if let Some(n) = declared {
            // Same body, same length: keep the framing instead of switching to chunked.
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        let fault = Arc::clone(&client_fault);
        let mut seen = 0usize;
        let stream = body.into_data_stream().map(move |chunk| {
            let error = match chunk {
                Ok(chunk) if seen + chunk.len() <= limit => {
                    seen += chunk.len();
                    return Ok(Frame::data(chunk));
                }
                Ok(_) => ProxyError::BodyTooLarge { limit },
                Err(error) => budget::client_body_error(error),
            };
            let message = error.to_string();
            *fault.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
            Err(std::io::Error::other(message))
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
    if let Some(error) = client_fault
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        return Err(error);
    }
    let upstream = result.map_err(|failed| failed.count(&workflow))?;
    let sse = is_sse(upstream.headers());
    Ok(respond(upstream, &workflow, None, sse))
}

/// `unknown_workflow_id`: the ids of the config are listed only to an authenticated client,
/// or when no workflow has `CLIENT_KEYS` (nobody is kept out, so they are no secret).
fn unknown_workflow_id(id: &str, config: &Config, authenticated: bool) -> ProxyError {
    let open = config.workflows.values().all(|w| w.client_keys.is_none());
    let message = if authenticated || open {
        let known: Vec<&str> = config.workflows.keys().map(String::as_str).collect();
        format!(
            "Unknown workflow_id {id:?}. The workflows of this config are: {}.",
            known.join(", ")
        )
    } else {
        format!("Unknown workflow_id {id:?}.")
    };
    ProxyError::BadRequest {
        message,
        param: Some("workflow_id"),
        code: "unknown_workflow_id",
    }
}

fn bad_record_header(error: gate::BadRecordHeader) -> ProxyError {
    ProxyError::BadRequest {
        message: error.to_string(),
        param: None,
        code: "invalid_record_header",
    }
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

/// With an `API_KEY`, replaces the client's credentials with the workflow's, in the header
/// the endpoint's upstream reads (`Authorization: Bearer`, or Anthropic's `x-api-key`).
fn apply_key(headers: &mut HeaderMap, workflow: &Workflow, how: KeyHeader) {
    if let Some(key) = &workflow.api_key {
        let (name, value) = match how {
            KeyHeader::Bearer => (header::AUTHORIZATION, format!("Bearer {}", key.expose())),
            KeyHeader::XApiKey => (X_API_KEY, key.expose().to_owned()),
        };
        match HeaderValue::try_from(value) {
            Ok(mut value) => {
                value.set_sensitive(true);
                if how == KeyHeader::XApiKey {
                    headers.remove(header::AUTHORIZATION);
                }
                headers.insert(name, value);
            }
            // Config validation keeps keys printable; never log the key itself.
            Err(_) => {
                tracing::error!(workflow = %workflow.id, "API_KEY is not a valid header value.")
            }
        }
    }
}

/// Anthropic's key header.
const X_API_KEY: header::HeaderName = header::HeaderName::from_static("x-api-key");

fn is_sse(headers: &HeaderMap) -> bool {
    const SSE: &[u8] = b"text/event-stream";
    headers.get(header::CONTENT_TYPE).is_some_and(|v| {
        let v = v.as_bytes().trim_ascii_start();
        v.len() >= SSE.len() && v[..SSE.len()].eq_ignore_ascii_case(SSE)
    })
}

/// A failed send, what it counts as, and its cause, once the caller knows it was the
/// upstream's fault (not the client's body).
struct SendFailed {
    /// The error for the client.
    error: ProxyError,
    /// `micromodel_upstream_errors_total` kind: `connect`, `timeout` or `invalid`.
    kind: &'static str,
    /// The finer kind the failure log names.
    failure: FailureKind,
    /// What went wrong, for the log line.
    cause: String,
}

impl SendFailed {
    /// Counts and logs it as an upstream failure and gives the error.
    fn count(self, workflow: &Workflow) -> ProxyError {
        upstream_error(&workflow.id, self.kind);
        upstream_failed(workflow, self.failure, self.error.status(), &self.cause);
        self.error
    }
}

/// Sends the request upstream, waiting at most `TIMEOUT_SECONDS` for the response headers.
/// A failure is not counted yet: the caller knows whether it was the upstream's
/// ([`SendFailed::count`]) or the client's body.
async fn send(
    route: &Route,
    workflow: &Workflow,
    method: Method,
    path_and_query: &str,
    headers: HeaderMap,
    body: UpstreamBody,
) -> Result<hyper::Response<Incoming>, SendFailed> {
    let host = || crate::config::redact_userinfo(&workflow.api_host).into_owned();
    let uri = upstream_uri(&workflow.api_host, path_and_query).map_err(|error| {
        let reason = format!("the upstream URL is invalid: {error}");
        SendFailed {
            error: ProxyError::Upstream {
                host: host(),
                reason: reason.clone(),
            },
            kind: "invalid",
            failure: FailureKind::InvalidUrl,
            cause: reason,
        }
    })?;
    let mut request = hyper::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.headers_mut() = headers;
    let sent = route.shared.client.send(request);
    match tokio::time::timeout(workflow.timeout, sent).await {
        Ok(Ok(response)) => Ok(response),
        Err(_) => Err(SendFailed {
            error: ProxyError::Timeout {
                host: host(),
                seconds: workflow.timeout.as_secs_f64(),
            },
            kind: "timeout",
            failure: FailureKind::Timeout,
            cause: format!(
                "no response headers within {} seconds",
                workflow.timeout.as_secs_f64()
            ),
        }),
        Ok(Err(error)) => {
            let reason = describe(&error);
            Err(SendFailed {
                error: ProxyError::Upstream {
                    host: host(),
                    reason: reason.clone(),
                },
                kind: "connect",
                failure: FailureKind::of(&error),
                cause: reason,
            })
        }
    }
}

/// The error and its causes (hyper's errors never contain the URL or the key).
fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let what = if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    with_causes(what.to_owned(), error)
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
    let body = TeeBody::new(body, Arc::clone(workflow), recording, sse, expected_len)
        .with_status(parts.status);
    let mut response = Response::new(Body::new(body));
    *response.status_mut() = parts.status;
    *response.headers_mut() = headers;
    response
}
