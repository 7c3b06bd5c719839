//! The client-key layer of a listener's router (`CLIENT_KEYS`, issue 14): every path but
//! `/health` and `/` needs a configured client's key; otherwise 401 `invalid_api_key`, and
//! nothing is forwarded or recorded. The client's name goes into the request's extensions
//! ([`Client`]) for the record and the metrics.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ProxyError;
use super::state::Route;
use crate::telemetry::{self, REQUESTS_TOTAL};
use crate::trust::client_keys::{accepts_x_api_key, authenticate, is_open_path, Verdict};
use crate::trust::Client;

/// The `client` label of requests not made as a configured client: the workflow has no
/// `CLIENT_KEYS`, or the request was refused (status 401). Empty, which Prometheus reads
/// as "no such label"; a client name is never empty.
pub const NO_CLIENT: &str = "";

/// Checks the request's client key against the workflow's settings in force now.
pub(super) async fn client_keys(
    State(route): State<Arc<Route>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if is_open_path(path) {
        return next.run(req).await;
    }
    let x_api_key = accepts_x_api_key(path);
    let workflow = route.settings();
    match authenticate(workflow.client_keys.as_ref(), x_api_key, req.headers_mut()) {
        Verdict::Open => next.run(req).await,
        Verdict::Client(name) => {
            req.extensions_mut().insert(Client(name));
            next.run(req).await
        }
        Verdict::Rejected => {
            let endpoint = telemetry::endpoint_label(req.uri().path());
            tracing::debug!(workflow = %workflow.id, endpoint, "Refused: no valid client key.");
            let response = ProxyError::Unauthorized.into_response();
            if telemetry::enabled() {
                metrics::counter!(
                    REQUESTS_TOTAL,
                    "workflow" => workflow.id.clone(),
                    "endpoint" => endpoint,
                    "status" => response.status().as_u16().to_string(),
                    "client" => NO_CLIENT
                )
                .increment(1);
            }
            response
        }
    }
}
