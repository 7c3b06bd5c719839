//! A fake upstream: a real axum server on 127.0.0.1:0, on its own runtime thread, that
//! remembers every request it sees and answers with a handler the test provides.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, Version};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: Method,
    /// HTTP version the request came with.
    pub version: Version,
    /// Path and query.
    pub path_and_query: String,
    /// The request target as sent: origin form (`/v1/...`) or, to a proxy, absolute form.
    pub target: String,
    /// Headers as received.
    pub headers: HeaderMap,
    /// Body bytes as received.
    pub body: Bytes,
}

impl Seen {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("upstream got JSON")
    }
}

type Handler = Arc<dyn Fn(Seen) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

/// The running fake upstream. Stops when dropped.
pub struct FakeUpstream {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    /// Its port.
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeUpstream {
    /// Starts a fake upstream answering with `handler`.
    pub fn start<F, Fut>(handler: F) -> FakeUpstream
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        Self::start_with(handler, None)
    }

    /// Starts a fake upstream over TLS (ALPN `h2` and `http/1.1`) with the test
    /// certificate of `tests/fixtures/tls` (`localhost`, `127.0.0.1`).
    pub fn start_tls<F, Fut>(handler: F) -> FakeUpstream
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let mut upstream = Self::start_with(handler, Some(tls::acceptor()));
        upstream.url = format!("https://localhost:{}", upstream.port);
        upstream
    }

    fn start_with<F, Fut>(handler: F, tls: Option<tokio_rustls::TlsAcceptor>) -> FakeUpstream
    where
        F: Fn(Seen) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |seen| Box::pin(handler(seen)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind upstream");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let port = std_listener.local_addr().expect("addr").port();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let seen_for_server = Arc::clone(&seen);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("upstream runtime");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
                let app = axum::Router::new().fallback(move |req: Request| {
                    let handler = Arc::clone(&handler);
                    let seen = Arc::clone(&seen_for_server);
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let request = Seen {
                            method: parts.method,
                            version: parts.version,
                            path_and_query: parts
                                .uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default(),
                            target: parts.uri.to_string(),
                            headers: parts.headers,
                            body,
                        };
                        seen.lock().expect("seen lock").push(request.clone());
                        handler(request).await
                    }
                });
                match tls {
                    None => axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop_rx.await;
                        })
                        .await
                        .expect("upstream serve"),
                    Some(acceptor) => tls::serve(listener, acceptor, app, stop_rx).await,
                }
            });
        });
        FakeUpstream {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Streams held open by a test may keep the server alive; don't wait for them.
        drop(self.thread.take());
    }
}

pub mod tls {
    use std::sync::Arc;

    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto;
    use hyper_util::service::TowerToHyperService;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::TlsAcceptor;

    fn fixture(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name)
    }

    /// The CA that signed the test certificate (for `SSL_CERT_FILE`).
    pub fn ca_file() -> std::path::PathBuf {
        fixture("ca.pem")
    }

    pub fn acceptor() -> TlsAcceptor {
        let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
            .expect("server.pem")
            .collect::<Result<Vec<_>, _>>()
            .expect("server.pem parses");
        let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("server.key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        TlsAcceptor::from(Arc::new(config))
    }

    /// Accepts TLS connections until `stop`; each is served with HTTP/1.1 or HTTP/2.
    pub async fn serve(
        listener: tokio::net::TcpListener,
        acceptor: TlsAcceptor,
        app: axum::Router,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) {
        loop {
            let stream = tokio::select! {
                _ = &mut stop => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
            };
            let acceptor = acceptor.clone();
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                // A client that refuses our certificate just goes away.
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(value).expect("json")))
        .expect("response")
}

/// A canned OpenAI chat completion answering with `content`.
pub fn chat_completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "fake-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}
    })
}

/// A handler that answers every chat request with `chat_completion("Hello from upstream")`,
/// completions with a text completion, and `/v1/models` with a model list.
pub async fn openai_like(seen: Seen) -> Response {
    match seen.path_and_query.split('?').next().unwrap_or("") {
        "/v1/chat/completions" => {
            json_response(StatusCode::OK, &chat_completion("Hello from upstream"))
        }
        "/v1/completions" => json_response(
            StatusCode::OK,
            &json!({
                "id": "cmpl-test1",
                "object": "text_completion",
                "created": 1_700_000_000,
                "model": "fake-model",
                "choices": [{"index": 0, "text": " a completion", "finish_reason": "length", "logprobs": null}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
            }),
        ),
        "/v1/models" => json_response(
            StatusCode::OK,
            &json!({"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 1_700_000_000, "owned_by": "test"}]}),
        ),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": {"message": "no such path"}}),
        ),
    }
}

/// Long enough for a debounced watcher (300 ms) to have acted, for "nothing more happened"
/// checks. Not a performance threshold.
pub const SETTLE: std::time::Duration = std::time::Duration::from_millis(1200);
/// Fires when dropped. Put one inside a response body stream (or a handler future) to observe
/// that the proxy let go of it: the connection to the upstream was closed.
pub struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl DropSignal {
    /// A signal and the receiver that resolves when the signal is dropped.
    pub fn new() -> (DropSignal, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (DropSignal(Some(tx)), rx)
    }
}

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// One chunk of a body the test writes: bytes, or an error that aborts the body.
pub type BodyChunk = Result<Bytes, std::io::Error>;

/// A body fed from a channel, one frame per message, that holds `guard` until hyper drops it.
pub fn channel_body(
    rx: tokio::sync::mpsc::UnboundedReceiver<BodyChunk>,
    guard: DropSignal,
) -> Body {
    let stream = futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|chunk| (chunk, (rx, guard)))
    });
    Body::from_stream(stream)
}

/// A `text/event-stream` response with the given body.
pub fn sse_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .header("x-upstream-marker", "fake-sse")
        .body(body)
        .expect("response")
}

/// `data: <json>\n\n` for each chunk, then `data: [DONE]\n\n`: one string per event.
pub fn sse_events(chunks: &[Value]) -> Vec<String> {
    chunks
        .iter()
        .map(|c| format!("data: {}\n\n", serde_json::to_string(c).expect("json")))
        .chain(std::iter::once("data: [DONE]\n\n".to_owned()))
        .collect()
}

/// The upstream's side of one streamed answer that the test writes piece by piece.
pub struct StreamHandle {
    /// The request as the upstream received it.
    pub request: Seen,
    chunks: Option<tokio::sync::mpsc::UnboundedSender<BodyChunk>>,
    closed: tokio::sync::oneshot::Receiver<()>,
}

impl StreamHandle {
    /// Sends the next piece of the body. False when the body is already gone.
    pub fn send(&self, bytes: impl Into<Bytes>) -> bool {
        self.chunks
            .as_ref()
            .is_some_and(|tx| tx.send(Ok(bytes.into())).is_ok())
    }

    /// Aborts the body with an error (the upstream connection is cut mid-answer).
    pub fn fail(&self) {
        if let Some(tx) = &self.chunks {
            let _ = tx.send(Err(std::io::Error::other("upstream cut")));
        }
    }

    /// Ends the body normally.
    pub fn end(&mut self) {
        self.chunks = None;
    }

    /// Waits (at most `limit`) until the body stream was dropped by the server: the proxy
    /// closed the connection, or the body ended. Panics when it does not happen in time.
    pub async fn wait_closed(&mut self, limit: std::time::Duration) {
        tokio::time::timeout(limit, &mut self.closed)
            .await
            .expect("the upstream never saw its connection closed")
            .ok();
    }
}

/// A fake upstream that answers every request with an SSE stream written by the test: each
/// request gives the test a [`StreamHandle`] through the returned receiver. The response
/// headers go out at once; the body has nothing until the test sends it.
pub fn controlled_sse() -> (
    FakeUpstream,
    tokio::sync::mpsc::UnboundedReceiver<StreamHandle>,
) {
    let (handles_tx, handles_rx) = tokio::sync::mpsc::unbounded_channel();
    let upstream = FakeUpstream::start(move |request: Seen| {
        let handles_tx = handles_tx.clone();
        async move {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let (guard, closed) = DropSignal::new();
            let _ = handles_tx.send(StreamHandle {
                request,
                chunks: Some(tx),
                closed,
            });
            sse_response(channel_body(rx, guard))
        }
    });
    (upstream, handles_rx)
}
