//! The HTTP side of labels (docs/labels.md): `POST /feedback` on every workflow port (records
//! filed under that workflow) and `POST /api/labels` on the admin listener (any record).
//! Errors use the OpenAI error shape.

use std::sync::{Arc, Weak};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use super::error::{ErrorBody, ErrorDetail};
use super::state::Route;
use crate::labels::{BadLabel, Filed, LabelError, LabelRequest, Labelled, Labels, Scope, Source};

/// `POST /feedback` on a workflow port: labels a record filed under this port's workflow.
pub(super) async fn feedback(State(route): State<Arc<Route>>, body: Bytes) -> Response {
    let workflow = route.settings();
    label(
        &route.shared.labels,
        &body,
        Scope::Workflow(&workflow.id),
        Source::Feedback,
    )
    .await
}

/// The admin listener's `POST /api/labels` route, with its own state, to merge into the
/// admin router. Once the proxy's state is gone (the end of a stop), it answers 503.
pub fn admin_routes<S>(labels: Weak<Labels>) -> Router<S> {
    Router::new()
        .route("/api/labels", post(api_labels))
        .with_state(labels)
}

async fn api_labels(State(labels): State<Weak<Labels>>, body: Bytes) -> Response {
    match labels.upgrade() {
        Some(labels) => label(&labels, &body, Scope::Any, Source::Api).await,
        None => label_error(&LabelError::Busy),
    }
}

/// Parses, labels and answers.
async fn label(labels: &Labels, body: &[u8], scope: Scope<'_>, source: Source) -> Response {
    let request = match LabelRequest::parse(body) {
        Ok(request) => request,
        Err(bad) => return bad_label(&bad),
    };
    match labels.label(request, scope, source).await {
        Ok(labelled) => ok(&labelled),
        Err(error) => label_error(&error),
    }
}

/// 200 for a found record (and, with `"matched": false`, for one filed under the `day` the
/// request gave); 202 for a label filed unmatched under today (docs/labels.md).
fn ok(labelled: &Labelled) -> Response {
    let line = &labelled.line;
    let mut body = json!({
        "ok": true,
        "request_id": line.request_id,
        "choice": line.choice,
        "label": line.label,
        "workflow_id": &*labelled.location.workflow_id,
        "day": crate::layout::day_folder_name(labelled.location.day),
    });
    let status = match labelled.filed {
        Filed::Found => StatusCode::OK,
        Filed::Placed => {
            body["matched"] = json!(false);
            StatusCode::OK
        }
        Filed::Unmatched => {
            body["status"] = json!("accepted");
            body["matched"] = json!(false);
            StatusCode::ACCEPTED
        }
    };
    (status, Json(body)).into_response()
}

fn bad_label(bad: &BadLabel) -> Response {
    let code = match bad {
        BadLabel::TooLarge => "request_too_large",
        _ => "invalid_label",
    };
    let status = match bad {
        BadLabel::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    error(
        status,
        bad.to_string(),
        "invalid_request_error",
        bad.param(),
        code,
    )
}

fn label_error(failed: &LabelError) -> Response {
    let (status, kind, param, code) = match failed {
        LabelError::UnknownRequestId(_) => (
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("request_id"),
            "unknown_request_id",
        ),
        LabelError::UnknownChoice { .. } => (
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("choice"),
            "unknown_choice",
        ),
        LabelError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            None,
            "server_overloaded",
        ),
        LabelError::Scan(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            None,
            "scan_failed",
        ),
    };
    error(status, failed.to_string(), kind, param, code)
}

fn error(
    status: StatusCode,
    message: String,
    kind: &'static str,
    param: Option<&'static str>,
    code: &'static str,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            message,
            kind,
            param,
            code,
        },
    };
    (status, Json(body)).into_response()
}
