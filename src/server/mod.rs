//! Listeners: one accept loop per bind address, each connection in its own task under the
//! listener's [`Limits`], and a graceful stop that drains in-flight requests (streams too)
//! for a limited time.
//!
//! - [`limits`]: the time limits and the connection budget.
//! - [`connection`]: serving one connection under them.
//! - [`activity`]: what a connection is doing (requests in flight, deadlines).
//! - [`eviction`]: the connections of a listener group, oldest first, for making room.
//! - [`body`]: the request body read timeout and the in-flight guard on responses.

pub mod activity;
pub mod body;
pub mod connection;
pub mod eviction;
pub mod limits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use body::RequestBodyError;
pub use limits::{Limits, Timeouts};

use crate::telemetry::CONNECTION_LIMIT_REACHED;

/// Pending connections the kernel queues per listener. tokio's default (128) overflows when a
/// thousand clients connect at once, and every dropped SYN costs its client a 1 s retry.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for serving: `SO_REUSEADDR` (as tokio's `bind`) and a deep accept queue.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How a listener is told to stop.
#[derive(Debug, Clone, Default)]
pub struct StopSignals {
    /// Stop accepting and let in-flight requests finish (up to the drain limit).
    pub stop: CancellationToken,
    /// Cut whatever is still running now (a second signal, or the drain limit of a caller).
    pub force: CancellationToken,
}

impl StopSignals {
    /// Signals whose `force` is a child of `force`: cancelling that parent cuts this
    /// listener's drain too (and every other listener's under it). A child token leaves its
    /// parent when dropped, so listeners that came and went leave nothing behind.
    pub fn under(force: &CancellationToken) -> StopSignals {
        StopSignals {
            stop: CancellationToken::new(),
            force: force.child_token(),
        }
    }
}

/// Serves `app` on `listener` under `limits` until `signals.stop`, then drains for at most
/// `drain`. Returns how many connections were still open and had to be cut.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    signals: StopSignals,
    drain: Duration,
    limits: Limits,
) -> usize {
    let addr = listener.local_addr().ok();
    let mut connections = JoinSet::new();
    let builder = Builder::new(TokioExecutor::new());
    let mut full_logged: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            () = signals.stop.cancelled() => break,
            accepted = listener.accept() => accepted,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        match accepted {
            Ok((stream, peer)) => {
                // At the cap this one connection waits for a slot; the ones after it wait in
                // the kernel's backlog, holding no file descriptor.
                let slot = tokio::select! {
                    biased;
                    () = signals.stop.cancelled() => break,
                    slot = take_slot(&limits, addr, &mut full_logged) => slot,
                };
                let _ = stream.set_nodelay(true);
                // Registered here, not in its task, so that "oldest" is the accept order.
                let activity = Arc::new(activity::Activity::new(limits.timeouts));
                let registration = limits.slots.tenants().register(Arc::clone(&activity) as _);
                connections.spawn(connection::serve(connection::Connection {
                    stream,
                    peer,
                    app: app.clone(),
                    builder: builder.clone(),
                    limits: limits.clone(),
                    stop: signals.stop.clone(),
                    slot,
                    activity,
                    registration,
                }));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                warn!(?addr, %error, "Accept failed.");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // Reap finished connection tasks without waiting.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let in_flight = connections.len();
    if in_flight == 0 {
        return 0;
    }
    info!(?addr, in_flight, "Listener closed; draining connections.");
    let drained = tokio::select! {
        biased;
        () = async { while connections.join_next().await.is_some() {} } => true,
        () = signals.force.cancelled() => false,
        () = tokio::time::sleep(drain) => false,
    };
    if drained {
        return 0;
    }
    let cut = connections.len();
    if signals.force.is_cancelled() {
        info!(
            ?addr,
            still_running = cut,
            "Cutting the remaining connections as asked."
        );
    } else {
        warn!(
            ?addr,
            still_running = cut,
            "Drain limit reached; cutting the remaining connections."
        );
    }
    connections.shutdown().await;
    cut
}

/// A connection slot; when none is free, counts and logs it (at most once a minute per
/// listener) and waits while idle connections (keep-alive or silent) make room. Connections that end
/// meanwhile are reaped by their slot's release, not by the listener: nothing else to do.
async fn take_slot(
    limits: &Limits,
    addr: Option<SocketAddr>,
    full_logged: &mut Option<Instant>,
) -> OwnedSemaphorePermit {
    if let Some(slot) = limits.slots.try_take() {
        return slot;
    }
    metrics::counter!(CONNECTION_LIMIT_REACHED).increment(1);
    if full_logged.map_or(true, |at| at.elapsed() >= Duration::from_secs(60)) {
        *full_logged = Some(Instant::now());
        warn!(
            ?addr,
            max_connections = limits.slots.max(),
            "Connection limit reached; new connections wait in the backlog."
        );
    }
    limits.slots.take().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_force_token_cuts_every_listener_under_it_and_only_them() {
        let force = CancellationToken::new();
        let first = StopSignals::under(&force);
        let second = StopSignals::under(&force);
        let other = StopSignals::default();
        first.stop.cancel();
        assert!(!first.force.is_cancelled(), "a stop alone does not force");
        force.cancel();
        assert!(first.force.is_cancelled() && second.force.is_cancelled());
        assert!(
            !second.stop.is_cancelled(),
            "forcing does not stop accepting"
        );
        assert!(!other.force.is_cancelled());
    }
}
