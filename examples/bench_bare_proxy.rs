//! Benchmark reference: the smallest HTTP proxy built from the same parts as MicroModel
//! (hyper's server, hyper-util's pooled client, tokio's multi-thread runtime) that forwards
//! every request to one upstream and streams the answer back, with no parsing, no recording,
//! no metrics. The gap between it and MicroModel is what MicroModel's own work costs; the gap
//! between it and `bench_tcp_relay` is what HTTP in the middle costs.
//!
//! ```text
//! cargo run --release --example bench_bare_proxy -- --port 28474 --to http://127.0.0.1:28471
//! ```

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn main() {
    let mut port: u16 = 28474;
    let mut to = "http://127.0.0.1:28471".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| fail("--port: a number")),
            "--to" => to = value,
            other => fail(&format!("unknown flag {other}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build(http);
        let app = axum::Router::new().fallback(move |req: Request| {
            let client = client.clone();
            let to = to.clone();
            async move {
                let (mut parts, body) = req.into_parts();
                let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                parts.uri = match format!("{to}{path}").parse() {
                    Ok(uri) => uri,
                    Err(_) => return Ok::<_, Infallible>(status(400)),
                };
                parts.headers.remove(axum::http::header::HOST);
                match client.request(Request::from_parts(parts, body)).await {
                    Ok(response) => Ok(response.map(Body::new)),
                    Err(_) => Ok(status(502)),
                }
            }
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| fail(&format!("bind 127.0.0.1:{port}: {e}")));
        println!(
            "listening on {}",
            listener.local_addr().expect("bound address")
        );
        axum::serve(listener, app).await.expect("serve");
    });
}

fn status(code: u16) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = axum::http::StatusCode::from_u16(code).expect("valid status");
    response
}

fn fail(message: &str) -> ! {
    eprintln!("bench_bare_proxy: {message}");
    std::process::exit(2)
}
