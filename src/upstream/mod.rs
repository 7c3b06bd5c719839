//! The upstream HTTP client: hyper's pooled client over plain TCP or rustls, shared by every
//! workflow so that upstream connections are reused.
//!
//! It is hyper-util's client used directly (no `reqwest` layers: no redirect or retry
//! policy, no URL re-parsing per request). HTTPS trusts the bundled Mozilla roots
//! (`webpki-roots`) and the system's store, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`
//! (a private CA for a self-hosted upstream). HTTP/2 is used when the upstream offers it
//! over TLS (ALPN); plain `http://` upstreams get HTTP/1.1. Proxies from the environment are
//! honoured (`connector`). The TLS half is set up on first need (`tls`): a process whose
//! upstreams are all `http://` never loads the trust roots.

mod connector;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::InvalidUri;
use http::{Request, Response, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use connector::{proxy_authorization, ProxyConnector};
use tls::LazyHttps;

/// The body of a request sent upstream.
pub type UpstreamBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// Time allowed to open a TCP connection to the upstream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections are closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// TCP keepalive on upstream connections, so long silent streams survive middleboxes.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// rustls refused the protocol versions of its own provider (a build problem).
    #[error("TLS set-up failed: {0}")]
    Tls(#[from] rustls::Error),
}

/// The shared upstream client. Cloning is cheap (one pool).
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    inner: Client<LazyHttps, UpstreamBody>,
    /// The pool's connector (a clone sharing its TLS set-up), to prepare TLS ahead of need.
    connector: LazyHttps,
    /// `HTTP(S)_PROXY` / `NO_PROXY`, read once at start.
    proxies: Arc<Matcher>,
}

impl Default for UpstreamClient {
    fn default() -> Self {
        UpstreamClient::new()
    }
}

impl UpstreamClient {
    /// A client with the trust roots described in the module docs, loaded on first need (or
    /// by [`UpstreamClient::prepare_tls`]).
    pub fn new() -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_keepalive(Some(TCP_KEEPALIVE));
        let proxies = Arc::new(Matcher::from_env());
        let connector = LazyHttps::new(ProxyConnector::new(http, Arc::clone(&proxies)));
        let inner = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector.clone());
        UpstreamClient {
            inner,
            connector,
            proxies,
        }
    }

    /// Sets TLS up now if one of `api_hosts` (the workflows' normalised upstream bases) is
    /// `https://` and it is not set up yet (blocking: it reads the system's trust store), so
    /// that its cost and warnings come at start or reload rather than on a request.
    pub fn prepare_tls<'a>(
        &self,
        api_hosts: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ClientError> {
        if api_hosts
            .into_iter()
            .any(|host| host.starts_with("https://"))
        {
            self.connector.prepare()?;
        }
        Ok(())
    }

    /// Sends a request (its URI absolute) and resolves with the response headers.
    pub async fn send(
        &self,
        mut request: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        if let Some(auth) = proxy_authorization(&self.proxies, request.uri()) {
            request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, auth);
        }
        self.inner.request(request).await
    }
}

/// A whole body, known up front (sent with `Content-Length`).
pub fn full_body(bytes: Bytes) -> UpstreamBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The upstream URI: the workflow's normalised base (`http(s)://host[:port][/path]`) followed
/// by the request's path and query. Config validation guarantees a valid base.
pub fn upstream_uri(api_host: &str, path_and_query: &str) -> Result<Uri, InvalidUri> {
    let mut uri = String::with_capacity(api_host.len() + path_and_query.len());
    uri.push_str(api_host);
    uri.push_str(path_and_query);
    Uri::try_from(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_is_base_then_path() {
        let uri = upstream_uri("https://h.example:8443/proxy", "/v1/models?x=1").unwrap();
        assert_eq!(
            uri.to_string(),
            "https://h.example:8443/proxy/v1/models?x=1"
        );
        assert_eq!(uri.host(), Some("h.example"));
        assert!(upstream_uri("http://h", "/a b").is_err());
    }
}
