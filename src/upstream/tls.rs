//! TLS to `https://` upstreams, set up on first need: the rustls config (bundled Mozilla roots
//! plus the system store) is built the first time it is wanted, not at start.
//!
//! Loading the system store reads and parses every certificate under `/etc/ssl/certs`
//! (~300 files on Debian); with rustls' code that is ~1 MiB of a process that otherwise idles
//! at ~9 MiB, for a proxy whose upstreams may all be plain `http://` (a local model server).
//! `serve` still builds it at start when the config names an `https://` upstream
//! ([`LazyHttps::prepare`]), and after a reload that adds one, so its warnings and its cost
//! stay where they were for those configs; a connection that finds it missing builds it itself.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use http::uri::Scheme;
use http::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use rustls::RootCertStore;
use tower::Service;
use tracing::{debug, warn};

use super::connector::{ProxyConnector, UpstreamConn};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the first TLS set-up produced, kept for every later connection.
type Prepared = Result<HttpsConnector<ProxyConnector>, rustls::Error>;

/// `hyper_rustls`' connector (`https_or_http`, ALPN h2 and http/1.1) whose TLS half is built
/// on first need; plain `http://` goes straight to the TCP connector, as it did through it.
#[derive(Clone, Debug)]
pub struct LazyHttps {
    /// Direct or through the environment's proxy.
    tcp: ProxyConnector,
    /// The TLS connector, once built (shared by every clone).
    https: Arc<OnceLock<Prepared>>,
}

impl LazyHttps {
    /// A connector over `tcp` with no TLS set up yet.
    pub fn new(tcp: ProxyConnector) -> Self {
        LazyHttps {
            tcp,
            https: Arc::new(OnceLock::new()),
        }
    }

    /// Builds the TLS half now unless it is built (blocking: it reads the system store).
    pub fn prepare(&self) -> Result<&HttpsConnector<ProxyConnector>, rustls::Error> {
        self.https
            .get_or_init(|| build(self.tcp.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Service<Uri> for LazyHttps {
    type Response = MaybeHttpsStream<UpstreamConn>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        if dst.scheme() == Some(&Scheme::HTTPS) {
            return match self.prepare() {
                Ok(https) => https.clone().call(dst),
                Err(error) => Box::pin(async move { Err(error.into()) }),
            };
        }
        // Not TLS: the same answers `HttpsConnector::https_or_http` gives.
        match dst.scheme() {
            Some(scheme) if scheme == &Scheme::HTTP => {
                let future = self.tcp.call(dst);
                Box::pin(async move { Ok(MaybeHttpsStream::Http(future.await?)) })
            }
            Some(scheme) => {
                let message = format!("unsupported scheme {scheme}");
                Box::pin(async move { Err(io::Error::other(message).into()) })
            }
            None => Box::pin(async move { Err(io::Error::other("missing scheme").into()) }),
        }
    }
}

/// The TLS connector: ring's provider, safe default versions, the roots of [`trust_roots`],
/// HTTP/2 offered by ALPN.
fn build(tcp: ProxyConnector) -> Prepared {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(trust_roots())
        .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp))
}

/// The bundled Mozilla roots plus whatever the system store holds.
fn trust_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        warn!(%error, "A system certificate could not be loaded; it is not trusted.");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    debug!(added, ignored, "System trust roots loaded.");
    roots
}
