//! Benchmark reference: the smallest HTTP proxy built from the same parts as MicroModel
//! (hyper's server, hyper-util's pooled client, tokio's multi-thread runtime) that forwards
//! every request to one upstream and streams the answer back, with no parsing, no recording,
//! no metrics. The gap between it and MicroModel is what MicroModel's own work costs; the gap
//! between it and `bench_tcp_relay` is what HTTP in the middle costs.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_bare_proxy -- --port 28474 --to http://127.0.0.1:28471
//! ```
//!
//! `--affinity` measures an architecture instead of MicroModel's stack: each downstream
//! connection gets its own upstream HTTP/1.1 connection, and both are driven by the same task
//! (hyper's `conn` API, no pool), so a request never hands off to another task or thread.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn main() {
    let mut port: u16 = 28474;
    let mut to = "http://127.0.0.1:28471".to_owned();
    let mut affinity = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--affinity" {
            affinity = true;
            continue;
        }
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
    if affinity {
        runtime.block_on(serve_with_affinity(port, to));
        return;
    }
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

/// One task per downstream connection, driving it and its own upstream connection together.
async fn serve_with_affinity(port: u16, to: String) {
    let upstream: SocketAddr = to
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|_| fail("--to must be http://IP:PORT with --affinity"));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| fail(&format!("bind 127.0.0.1:{port}: {e}")));
    println!(
        "listening on {} (affinity)",
        listener.local_addr().expect("bound address")
    );
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = inbound.set_nodelay(true);
            let Ok(outbound) = tokio::net::TcpStream::connect(upstream).await else {
                return;
            };
            let _ = outbound.set_nodelay(true);
            let Ok((sender, client_conn)) = hyper::client::conn::http1::handshake::<
                _,
                hyper::body::Incoming,
            >(hyper_util::rt::TokioIo::new(outbound))
            .await
            else {
                return;
            };
            let sender = Arc::new(tokio::sync::Mutex::new(sender));
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let sender = Arc::clone(&sender);
                async move {
                    let mut sender = sender.lock().await;
                    if sender.ready().await.is_err() {
                        return Ok::<_, Infallible>(status(502));
                    }
                    let sent = sender.send_request(req);
                    drop(sender);
                    Ok(match sent.await {
                        Ok(response) => response.map(Body::new),
                        Err(_) => status(502),
                    })
                }
            });
            let server_conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(inbound), service);
            // Both in this task: the upstream connection ends when the downstream one does.
            tokio::pin!(server_conn);
            tokio::select! {
                _ = &mut server_conn => {}
                _ = client_conn => { let _ = server_conn.await; }
            }
        });
    }
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
