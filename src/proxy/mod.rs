//! The HTTP service of one listener (§2): recorded endpoints, pass-through, `/health`, `/`.
//!
//! - [`state`]: process-wide [`Shared`] state and the per-listener swappable [`Route`].
//! - [`forward`]: forwarding of recorded and pass-through requests.
//! - [`body`]: the response body tee (bytes passed on and to the record, idle timeout).
//! - [`request_id`] (and `first_id`): the `x-micromodel-request-id` header of recorded answers.
//! - [`recording`]: an answer being recorded, and what becomes of it when it ends.
//! - [`budget`]: the process-wide budget for request bodies held in memory.
//! - [`headers`]: hop-by-hop filtering.
//! - [`path`]: refusing `..` segments, literal or percent-encoded.
//! - `not_recorded`: counting and logging what is kept out of the data (capture limits,
//!   record checks, answers that did not complete).
//! - `redaction`: which `REDACT` rules a record gets (the port's and the target workflow's).
//! - [`error`]: proxy-made errors in the OpenAI shape.
//! - `guard`: the `CLIENT_KEYS` layer over every path but `/health` and `/`.
//! - [`failure_log`]: upstream failures logged once, rate-limited per workflow and kind.
//! - [`feedback`]: `POST /feedback` (and the admin listener's `POST /api/labels`): labels.

pub mod body;
pub mod budget;
pub mod error;
pub mod failure_log;
pub mod feedback;
mod first_id;
pub mod forward;
mod guard;
pub mod headers;
mod not_recorded;
pub mod path;
pub mod recording;
mod redaction;
pub mod request_id;
pub mod state;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub use error::ProxyError;
pub use state::{Route, Shared};

use crate::record::EndpointKind;
use crate::telemetry::{self, REQUESTS_TOTAL, REQUEST_DURATION};

/// The service name reported by `/health` and `/`.
pub const SERVICE: &str = "MicroModel";

/// The router of one listener. The client-key layer goes last, over every route above it
/// (it lets `/health` and `/` through itself).
pub fn router(route: Arc<Route>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/", get(info))
        .route("/feedback", post(feedback::feedback))
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&route),
            guard::client_keys,
        ))
        .with_state(route)
}

async fn dispatch(State(route): State<Arc<Route>>, req: Request) -> Response {
    if !telemetry::enabled() {
        return proxy_request(route, req).await;
    }
    let started = Instant::now();
    let workflow = route.settings().id.clone();
    let endpoint = telemetry::endpoint_label(req.uri().path());
    let client = req
        .extensions()
        .get::<crate::trust::Client>()
        .map_or_else(|| guard::NO_CLIENT.to_owned(), |c| c.0.clone());
    let response = proxy_request(route, req).await;
    metrics::counter!(
        REQUESTS_TOTAL,
        "workflow" => workflow.clone(),
        "endpoint" => endpoint,
        "status" => response.status().as_u16().to_string(),
        "client" => client
    )
    .increment(1);
    metrics::histogram!(REQUEST_DURATION, "workflow" => workflow, "endpoint" => endpoint)
        .record(started.elapsed().as_secs_f64());
    response
}

async fn proxy_request(route: Arc<Route>, req: Request) -> Response {
    let path = req.uri().path();
    let recorded = EndpointKind::from_path(path).filter(|_| req.method() == Method::POST);
    let result = if let Some(kind) = recorded {
        forward::recorded(route, kind, req).await
    } else if (path == "/v1" || path.starts_with("/v1/")) && !path::has_dot_dot_segment(path) {
        forward::pass_through(route, req).await
    } else {
        Err(ProxyError::NotFound(path.to_owned()))
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn health(State(route): State<Arc<Route>>) -> Json<serde_json::Value> {
    let workflow = route.settings();
    Json(json!({
        "status": "OK",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "service": SERVICE,
        "workflow_id": workflow.id,
        "api_host": crate::config::redact_userinfo(&workflow.api_host),
        "port": workflow.addr.port(),
    }))
}

async fn info(State(route): State<Arc<Route>>) -> Json<serde_json::Value> {
    let workflow = route.settings();
    let mut endpoints = serde_json::Map::new();
    for kind in EndpointKind::ALL {
        let text = format!("POST {} (recorded)", kind.path());
        endpoints.insert(kind.info_key().to_owned(), text.into());
    }
    for (key, text) in [
        ("other", "/v1/* (passed through, not recorded)"),
        ("feedback", "POST /feedback (labels a record)"),
        ("health", "GET /health"),
        ("info", "GET /"),
    ] {
        endpoints.insert(key.to_owned(), text.into());
    }
    Json(json!({
        "name": SERVICE,
        "version": env!("CARGO_PKG_VERSION"),
        "description": "OpenAI-compatible proxy that records every completion as ChatML fine-tuning data",
        "workflow_id": workflow.id,
        "api_host": crate::config::redact_userinfo(&workflow.api_host),
        "port": workflow.addr.port(),
        "endpoints": endpoints,
    }))
}
