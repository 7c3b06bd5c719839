//! The optional admin listener (`--admin-addr`): Prometheus `/metrics`, liveness `/healthz`,
//! readiness `/readyz` (200 once the config is loaded and listeners are bound; 503 while
//! draining on shutdown, so that Kubernetes stops sending traffic first), labels
//! `POST /api/labels` (docs/labels.md), and the data page `/ui/` ([`crate::ui`]). With
//! `--admin-token`, one layer over the whole router ([`crate::ui::auth::require`]) asks for
//! the token on every route but `/healthz` and `/readyz`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub mod state;

pub use state::{AdminState, Readiness};

/// The admin router.
pub fn router(state: Arc<AdminState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::proxy::feedback::admin_routes(state.labels.clone()))
        .merge(crate::ui::router())
        // Keep this layer last: it covers every route above it (and the 404 fallback).
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            crate::ui::auth::require,
        ))
        .with_state(state)
}

async fn metrics(State(state): State<Arc<AdminState>>) -> Response {
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<AdminState>>) -> Response {
    if state.readiness.get() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}
