//! The TCP side of the upstream client: direct, or through the HTTP proxy that the
//! environment names (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, as curl reads
//! them). `https://` upstreams go through a `CONNECT` tunnel (TLS stays end to end);
//! `http://` upstreams send absolute-form requests to the proxy.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects to the upstream, or to the proxy the environment says to use for it.
#[derive(Clone, Debug)]
pub struct ProxyConnector {
    http: HttpConnector,
    proxies: Arc<Matcher>,
}

impl ProxyConnector {
    /// A connector with the proxies of the environment.
    pub fn new(http: HttpConnector, proxies: Arc<Matcher>) -> Self {
        ProxyConnector { http, proxies }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = UpstreamConn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<UpstreamConn, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut http = self.http.clone();
        let Some(proxy) = self.proxies.intercept(&dst) else {
            return Box::pin(async move {
                let io = http.call(dst).await?;
                Ok(UpstreamConn { io, proxied: false })
            });
        };
        let proxy_uri = proxy.uri().clone();
        if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let mut tunnel = Tunnel::new(proxy_uri, http);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            Box::pin(async move {
                let io = tunnel.call(dst).await?;
                Ok(UpstreamConn { io, proxied: false })
            })
        } else {
            Box::pin(async move {
                let io = http.call(proxy_uri).await?;
                Ok(UpstreamConn { io, proxied: true })
            })
        }
    }
}

/// The `Proxy-Authorization` to send with a plain-HTTP request that goes through a proxy
/// (`https://` requests carry it on the `CONNECT` instead).
pub fn proxy_authorization(proxies: &Matcher, dst: &Uri) -> Option<HeaderValue> {
    if dst.scheme() != Some(&http::uri::Scheme::HTTP) {
        return None;
    }
    proxies.intercept(dst)?.basic_auth().cloned()
}

/// One upstream TCP connection; `proxied` when requests on it go to an HTTP proxy (and so
/// must be sent in absolute form).
#[derive(Debug)]
pub struct UpstreamConn {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for UpstreamConn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for UpstreamConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for UpstreamConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}
