//! Serving one accepted connection under its limits: the header read and idle timeouts,
//! the body read timeout on request bodies, and giving way (when idle) to a connection that
//! waits for a slot.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tracing::debug;

use super::activity::{Activity, Expired, TrackedIo};
use super::body::{GuardedBody, TimedBody};
use super::eviction::Registration;
use super::limits::Limits;
use crate::telemetry::{CONNECTIONS_CLOSED, CONNECTIONS_OPEN};

/// The service of one connection: the router, with each request counted in flight until
/// its response body is done, and its body under the body read timeout.
#[derive(Clone)]
struct TrackedService {
    /// The listener's router.
    app: Router,
    /// The connection's activity.
    activity: Arc<Activity>,
    /// The body read timeout.
    body_read: Duration,
}

type ServiceFuture =
    Pin<Box<dyn Future<Output = Result<hyper::Response<GuardedBody<Body>>, Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<Incoming>> for TrackedService {
    type Response = hyper::Response<GuardedBody<Body>>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, req: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.request_started();
        let body_read = self.body_read;
        let req = req.map(|body| Body::new(TimedBody::new(body, body_read)));
        let app = self.app.clone();
        Box::pin(async move {
            let response = app.oneshot(req).await?;
            Ok(response.map(|body| GuardedBody::new(body, in_flight)))
        })
    }
}

/// Everything one connection task needs.
pub struct Connection {
    /// The accepted socket.
    pub stream: TcpStream,
    /// Who is on the other side (for logs).
    pub peer: SocketAddr,
    /// The listener's router.
    pub app: Router,
    /// The HTTP/1 + HTTP/2 server settings.
    pub builder: Builder<TokioExecutor>,
    /// The listener's limits.
    pub limits: Limits,
    /// The listener is stopping: finish what is in flight, then close.
    pub stop: CancellationToken,
    /// This connection's slot in the connection budget, given back when it ends.
    pub slot: OwnedSemaphorePermit,
    /// What it is doing (its deadlines run from the accept).
    pub activity: Arc<Activity>,
    /// Its place, by accept order, among the connections a waiter may ask to make room.
    pub registration: Registration,
}

/// Serves the connection until it ends, a limit closes it, or the listener stops.
pub async fn serve(connection: Connection) {
    let Connection {
        stream,
        peer,
        app,
        builder,
        limits,
        stop,
        slot,
        activity,
        registration,
    } = connection;
    let _open = OpenGauge::new();
    let service = TrackedService {
        app,
        activity: Arc::clone(&activity),
        body_read: limits.timeouts.body_read,
    };
    let io = TokioIo::new(TrackedIo::new(stream, Arc::clone(&activity)));
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        let deadline = activity.next_deadline();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    debug!(%peer, %error, "Connection ended with an error.");
                }
                break;
            }
            // In-flight requests finish; the time limits keep applying while they do.
            () = stop.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            // A request ended: if a connection waits for a slot, it may want this one's.
            () = activity.changed() => {
                if activity.is_idle() && limits.slots.is_wanted() {
                    limits.slots.tenants().nudge();
                }
            }
            // A waiting connection asks the oldest idle one to make room.
            () = registration.tenant().asked_to_close() => {
                // Both may be ready at once: bytes of a next request waiting in the socket
                // and the request to make room. Poll the connection once first, so that a
                // request the client has begun counts before the connection is judged idle.
                let ended = tokio::select! {
                    biased;
                    result = conn.as_mut() => Some(result),
                    () = std::future::ready(()) => None,
                };
                if let Some(result) = ended {
                    if let Err(error) = result {
                        debug!(%peer, %error, "Connection ended with an error.");
                    }
                    break;
                }
                if activity.is_idle() {
                    evicted(peer);
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                    break;
                }
                registration.decline();
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                match activity.expired(tokio::time::Instant::now()) {
                    Some(Expired::HeaderRead) => {
                        closed(Expired::HeaderRead.label());
                        debug!(%peer, "Request headers not complete within the header read timeout; connection closed.");
                        break;
                    }
                    Some(Expired::Idle) => {
                        closed(Expired::Idle.label());
                        debug!(%peer, "Connection idle past the idle timeout; closed.");
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.as_mut().await;
                        break;
                    }
                    None => {}
                }
            }
        }
    }
    drop(registration);
    drop(slot);
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline).await;
    }
}

/// A connection with no request in flight (idle keep-alive, or silent since the accept) is
/// closed to give its slot to a waiting one.
fn evicted(peer: SocketAddr) {
    closed("evicted");
    debug!(%peer, "Idle connection closed to make room: connection limit reached.");
}

fn closed(reason: &'static str) {
    metrics::counter!(CONNECTIONS_CLOSED, "reason" => reason).increment(1);
}

/// Counts the connection in `micromodel_connections_open` while it lives.
struct OpenGauge;

impl OpenGauge {
    fn new() -> Self {
        metrics::gauge!(CONNECTIONS_OPEN).increment(1.0);
        OpenGauge
    }
}

impl Drop for OpenGauge {
    fn drop(&mut self) {
        metrics::gauge!(CONNECTIONS_OPEN).decrement(1.0);
    }
}
