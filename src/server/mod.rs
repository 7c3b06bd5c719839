//! Listeners: one accept loop per bind address, each connection in its own task, and a
//! graceful stop that drains in-flight requests (streams too) for a limited time.

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

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

/// Serves `app` on `listener` until `signals.stop`, then drains for at most `drain`.
/// Returns how many connections were still open and had to be cut.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    signals: StopSignals,
    drain: Duration,
) -> usize {
    let addr = listener.local_addr().ok();
    let mut connections = JoinSet::new();
    let builder = Builder::new(TokioExecutor::new());
    loop {
        tokio::select! {
            biased;
            () = signals.stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let service = TowerToHyperService::new(app.clone());
                    let builder = builder.clone();
                    let stop = signals.stop.clone();
                    connections.spawn(async move {
                        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        tokio::pin!(conn);
                        tokio::select! {
                            result = conn.as_mut() => {
                                if let Err(error) = result {
                                    debug!(%peer, %error, "Connection ended with an error.");
                                }
                            }
                            () = stop.cancelled() => {
                                conn.as_mut().graceful_shutdown();
                                if let Err(error) = conn.await {
                                    debug!(%peer, %error, "Connection ended with an error while draining.");
                                }
                            }
                        }
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    warn!(?addr, %error, "Accept failed.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let in_flight = connections.len();
    if in_flight > 0 {
        info!(?addr, in_flight, "Listener closed; draining connections.");
    }
    let drained = tokio::select! {
        () = async { while connections.join_next().await.is_some() {} } => true,
        () = tokio::time::sleep(drain) => false,
        () = signals.force.cancelled() => false,
    };
    if drained {
        return 0;
    }
    let cut = connections.len();
    warn!(
        ?addr,
        still_running = cut,
        "Drain limit reached; cutting the remaining connections."
    );
    connections.shutdown().await;
    cut
}
