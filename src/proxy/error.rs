//! Errors the proxy itself produces, answered in the OpenAI error shape (§3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A proxy-made error. Messages never contain the upstream key.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The body of a recorded endpoint is not a JSON object, or `workflow_id` is bad.
    #[error("{message}")]
    BadRequest {
        /// Human-readable reason.
        message: String,
        /// The offending parameter, when there is one.
        param: Option<&'static str>,
        /// Machine-readable code.
        code: &'static str,
    },
    /// The request body is larger than `--max-body-bytes`.
    #[error("The request body is larger than the limit of {limit} bytes.")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the client.
    #[error("The request body could not be read: {0}")]
    ClientBody(String),
    /// The upstream could not be reached or answered with something broken.
    #[error("The upstream at {host} could not be reached or sent a broken response: {reason}")]
    Upstream {
        /// The upstream base URL (never the key).
        host: String,
        /// What went wrong.
        reason: String,
    },
    /// The upstream did not answer within `TIMEOUT_SECONDS`.
    #[error("The upstream at {host} did not answer within {seconds} seconds.")]
    Timeout {
        /// The upstream base URL.
        host: String,
        /// The configured timeout.
        seconds: f64,
    },
    /// A path this proxy does not serve.
    #[error("Unknown path {0}. MicroModel serves /v1/*, /health and /.")]
    NotFound(String),
    /// Request bodies in memory reached `--max-buffered-bytes`.
    #[error("The server is holding too many request bodies right now (limit {limit} bytes in all); retry shortly.")]
    Overloaded {
        /// The process-wide budget in bytes.
        limit: usize,
    },
    /// The workflow has `CLIENT_KEYS` and the request carries none of its keys.
    #[error("Missing or invalid client key. Send one of this workflow's CLIENT_KEYS as `Authorization: Bearer <key>` (or `x-api-key: <key>` on /v1/messages).")]
    Unauthorized,
    /// The client stopped sending its body for longer than the body read timeout.
    #[error("The client sent no more of its request body for {seconds} seconds.")]
    BodyReadTimeout {
        /// The body read timeout.
        seconds: f64,
    },
}

impl ProxyError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::BadRequest { .. } | ProxyError::ClientBody(_) => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::Upstream { .. } => StatusCode::BAD_GATEWAY,
            ProxyError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::BodyReadTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ProxyError::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }

    /// The OpenAI-shaped body `{"error":{"message","type","param","code"}}`.
    pub fn body(&self) -> ErrorBody {
        let (kind, param, code) = match self {
            ProxyError::BadRequest { param, code, .. } => ("invalid_request_error", *param, *code),
            ProxyError::ClientBody(_) => ("invalid_request_error", None, "body_read_failed"),
            ProxyError::BodyTooLarge { .. } => ("invalid_request_error", None, "request_too_large"),
            ProxyError::Upstream { .. } => ("upstream_error", None, "bad_gateway"),
            ProxyError::Timeout { .. } => ("upstream_error", None, "gateway_timeout"),
            ProxyError::NotFound(_) => ("invalid_request_error", None, "not_found"),
            ProxyError::Overloaded { .. } => ("server_error", None, "server_overloaded"),
            ProxyError::BodyReadTimeout { .. } => {
                ("invalid_request_error", None, "body_read_timeout")
            }
            ProxyError::Unauthorized => ("invalid_request_error", None, "invalid_api_key"),
        };
        ErrorBody {
            error: ErrorDetail {
                message: self.to_string(),
                kind,
                param,
                code,
            },
        }
    }
}

/// `{"error": ...}`
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The OpenAI error object.
#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    /// Human-readable message.
    pub message: String,
    /// Error type, e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The parameter at fault, or null.
    pub param: Option<&'static str>,
    /// A machine-readable code.
    pub code: &'static str,
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        if let ProxyError::Overloaded { .. } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        if let ProxyError::Unauthorized = self {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"MicroModel\""),
            );
        }
        response
    }
}

/// `text` followed by each cause in `error`'s source chain, joined by `: `.
pub(super) fn with_causes(mut text: String, error: &dyn std::error::Error) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
