//! The built-in upstream: an OpenAI-compatible HTTP server on `127.0.0.1:<any port>`, in the
//! demo's own process. It answers `POST /v1/chat/completions` and `POST /v1/completions`
//! (whole or streamed, see [`answers`](super::answers)), `POST /v1/responses` and
//! `POST /v1/messages` (see [`dialects`](super::dialects)), `GET /v1/models` and
//! `GET /v1/models/{id}`; anything else is a `404` in the OpenAI error shape.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::answers::{self, Answer, BadRequest};
use super::dialects::{self, Dialect};
use super::openai::{self, Envelope, Shape};
use crate::record::EndpointKind;

/// The model `GET /v1/models` lists (any other name is accepted and echoed too).
pub(crate) const MODEL: &str = "demo";

/// The running built-in upstream; it serves until [`BuiltInUpstream::stop`].
#[derive(Debug)]
pub(crate) struct BuiltInUpstream {
    /// `http://127.0.0.1:<port>`, for `OPENAI_API_HOST`.
    pub url: String,
    /// The server task.
    task: JoinHandle<()>,
}

impl BuiltInUpstream {
    /// Binds `127.0.0.1:0` and starts serving.
    pub(crate) async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router()).await {
                tracing::error!(%error, "The built-in demo upstream stopped.");
            }
        });
        Ok(BuiltInUpstream {
            url: format!("http://{addr}"),
            task,
        })
    }

    /// Stops serving (call once MicroModel has drained: in-flight answers need it).
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

/// The routes of the built-in upstream.
pub(crate) fn router() -> Router {
    Router::new()
        .route(EndpointKind::Chat.path(), post(chat))
        .route(EndpointKind::Completions.path(), post(completions))
        .route(EndpointKind::Responses.path(), post(responses))
        .route(EndpointKind::Messages.path(), post(messages))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .fallback(not_found)
}

async fn chat(body: Bytes) -> Response {
    answer(
        Render::OpenAi(Shape::Chat),
        "chatcmpl",
        &body,
        answers::chat,
    )
}

async fn completions(body: Bytes) -> Response {
    let shape = Render::OpenAi(Shape::Completions);
    answer(shape, "cmpl", &body, answers::completions)
}

async fn responses(body: Bytes) -> Response {
    answer(
        Render::Dialect(Dialect::Responses),
        "resp",
        &body,
        |request| answers::chat(&dialects::as_chat_request(Dialect::Responses, request)),
    )
}

async fn messages(body: Bytes) -> Response {
    answer(
        Render::Dialect(Dialect::Messages),
        "msg",
        &body,
        |request| answers::chat(&dialects::as_chat_request(Dialect::Messages, request)),
    )
}

/// Which published shape an answer is given.
#[derive(Clone, Copy)]
enum Render {
    /// Chat completions or completions.
    OpenAi(Shape),
    /// The Responses API or Anthropic Messages.
    Dialect(Dialect),
}

fn answer(
    render: Render,
    prefix: &str,
    body: &[u8],
    build: fn(&Value) -> Result<Answer, BadRequest>,
) -> Response {
    let request: Value = match serde_json::from_slice(body) {
        Ok(request @ Value::Object(_)) => request,
        Ok(_) | Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "The body must be a JSON object.",
                None,
                "invalid_body",
            )
        }
    };
    let answer = match build(&request) {
        Ok(answer) => answer,
        Err(bad) => {
            return error(
                StatusCode::BAD_REQUEST,
                &bad.message,
                Some(bad.param),
                "invalid_request",
            )
        }
    };
    let envelope = Envelope {
        id: next_id(prefix),
        created: chrono::Utc::now().timestamp(),
    };
    if !answer.stream {
        return Json(match render {
            Render::OpenAi(shape) => openai::whole(shape, &answer, &envelope),
            Render::Dialect(dialect) => dialects::whole(dialect, &answer, &envelope),
        })
        .into_response();
    }
    let events = match render {
        Render::OpenAi(shape) => openai::events(shape, &answer, &envelope),
        Render::Dialect(dialect) => dialects::events(dialect, &answer, &envelope),
    };
    let stream = futures_util::stream::iter(events.into_iter().map(Ok::<_, Infallible>));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `<prefix>-demo-<start>-<n>`: unique within the process and, by the start time, across
/// restarts (`stats` counts `usage` once per `request_id` and day).
fn next_id(prefix: &str) -> String {
    static STARTED_MS: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = *STARTED_MS.get_or_init(|| chrono::Utc::now().timestamp_millis());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-demo-{started:x}-{n}")
}

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 0, "owned_by": "micromodel-demo"})
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [model_object(MODEL)]}))
}

async fn model(Path(id): Path<String>) -> Json<Value> {
    Json(model_object(&id))
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        &format!(
            "The built-in demo upstream does not serve {method} {}.",
            uri.path()
        ),
        None,
        "not_found",
    )
}

/// `{"error":{"message","type","param","code"}}`
fn error(status: StatusCode, message: &str, param: Option<&str>, code: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "invalid_request_error",
                                "param": param, "code": code}});
    (status, Json(body)).into_response()
}
