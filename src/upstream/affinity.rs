//! Connection affinity: an HTTP/1.1 client connection keeps one upstream connection of its
//! own, driven by the same task as the client connection.
//!
//! Through the shared pool, every request hands off twice between tasks (to the pooled
//! connection's task and back), and each hand-off may wake another worker thread; the
//! benchmark's bare proxy costs ~60 % more CPU per request that way (`bench/RESULTS.md`).
//! Here the request is written and its answer read by the task already running.
//!
//! Used only where it is safe and simple: plain `http://` upstreams that no proxy intercepts,
//! and HTTP/1.x client connections (one request at a time). Everything else uses the pool.
//! The upstream connection closes with the client connection, or when a request for another
//! upstream (a reload) replaces it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::Poll;

use futures_util::stream::{FuturesUnordered, StreamExt};
use http::uri::{Authority, PathAndQuery};
use http::{header, HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::mpsc;
use tower::Service;

use super::{SendError, UpstreamBody};

type Driven = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The upstream connection of one client connection (shared by its requests through the
/// request extensions).
#[derive(Debug)]
pub struct Affinity {
    /// The connection not in use right now, and the upstream it goes to.
    held: Mutex<Option<(Authority, http1::SendRequest<UpstreamBody>)>>,
    /// Hands new upstream connections to the [`Driver`] of the client connection's task.
    driver: mpsc::UnboundedSender<Driven>,
}

/// Drives the upstream connections of one client connection; poll it in the same task as
/// the client connection. Never completes.
pub struct Driver {
    incoming: mpsc::UnboundedReceiver<Driven>,
    connections: FuturesUnordered<Driven>,
}

impl Affinity {
    /// A new, empty affinity and its driver.
    pub fn new() -> (Affinity, Driver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let affinity = Affinity {
            held: Mutex::new(None),
            driver: tx,
        };
        let driver = Driver {
            incoming: rx,
            connections: FuturesUnordered::new(),
        };
        (affinity, driver)
    }

    /// Sends `request` (absolute `http://` URI) on this client connection's upstream
    /// connection, opening one if there is none (or it is for another upstream, or closed).
    pub(super) async fn send(
        &self,
        http: &HttpConnector,
        mut request: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, SendError> {
        let uri = request.uri().clone();
        let authority = uri.authority().cloned().ok_or(SendError::NoHost)?;
        to_origin_form(&mut request, &uri, &authority);
        if let Some(mut sender) = self.take(&authority) {
            if ready(&mut sender).await {
                match sender.try_send_request(request).await {
                    Ok(response) => {
                        self.put(authority, sender);
                        return Ok(response);
                    }
                    Err(mut error) => match error.take_message() {
                        // Never written (the connection closed meanwhile): a new one below.
                        Some(unsent) => request = unsent,
                        None => return Err(SendError::Http(error.into_error())),
                    },
                }
            }
        }
        let io = http
            .clone()
            .call(uri)
            .await
            .map_err(|e| SendError::Connect(e.into()))?;
        let (mut sender, connection) = http1::handshake(io).await.map_err(SendError::Http)?;
        let driven: Driven = Box::pin(async move {
            let _ = connection.await;
        });
        if self.driver.send(driven).is_err() {
            // The client connection is ending: nothing would drive the upstream one.
            return Err(SendError::ClientGone);
        }
        let response = sender
            .try_send_request(request)
            .await
            .map_err(|e| SendError::Http(e.into_error()))?;
        self.put(authority, sender);
        Ok(response)
    }

    fn take(&self, authority: &Authority) -> Option<http1::SendRequest<UpstreamBody>> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.take() {
            Some((to, sender)) if to == *authority && !sender.is_closed() => Some(sender),
            // Another upstream (a reload) or closed: dropping it closes it once idle.
            _ => None,
        }
    }

    fn put(&self, authority: Authority, sender: http1::SendRequest<UpstreamBody>) {
        *self.held.lock().unwrap_or_else(|e| e.into_inner()) = Some((authority, sender));
    }
}

/// Whether the connection can take the next request. The previous answer of this client
/// connection has been passed on, so its end is processed at the latest after a yield or two
/// of this task (which drives the connection too); if not, a new connection is cheaper than
/// waiting.
async fn ready(sender: &mut http1::SendRequest<UpstreamBody>) -> bool {
    for _ in 0..3 {
        let state = std::future::poll_fn(|cx| Poll::Ready(sender.poll_ready(cx))).await;
        match state {
            Poll::Ready(Ok(())) => return true,
            Poll::Ready(Err(_)) => return false,
            Poll::Pending => tokio::task::yield_now().await,
        }
    }
    false
}

/// What the pooled client does before writing a request to an origin server: the path (and
/// query) as the request target, and `Host` from the URI.
fn to_origin_form(request: &mut Request<UpstreamBody>, uri: &Uri, authority: &Authority) {
    if !request.headers().contains_key(header::HOST) {
        let host = match uri.port_u16() {
            Some(80) | None => HeaderValue::from_str(authority.host()),
            Some(_) => HeaderValue::from_str(authority.as_str()),
        };
        if let Ok(host) = host {
            request.headers_mut().insert(header::HOST, host);
        }
    }
    let path = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    *request.uri_mut() = Uri::from(path);
}

impl Driver {
    /// Drives the connections until the task is dropped.
    pub async fn run(mut self) {
        let mut open = true;
        loop {
            tokio::select! {
                next = self.incoming.recv(), if open => match next {
                    Some(connection) => self.connections.push(connection),
                    None => open = false,
                },
                Some(()) = self.connections.next(), if !self.connections.is_empty() => {}
                else => std::future::pending::<()>().await,
            }
        }
    }
}
