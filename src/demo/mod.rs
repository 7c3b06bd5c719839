//! `micromodel demo`: MicroModel with a built-in, in-process OpenAI-compatible upstream, so
//! that the main job (proxy and record) runs on any machine with nothing else installed.
//!
//! The demo starts the built-in upstream on `127.0.0.1:<any port>`, writes a config with one
//! workflow `demo` pointing at it (`config_file`), and runs `serve` on that config with the
//! same flags: reload, admin listener, data folder and data tools all work as in `serve`.
//! Once the workflow answers `/health`, it prints what to try (`banner`).
//!
//! - [`answers`]: the deterministic answers (endpoint-neutral); [`openai`]: their OpenAI
//!   shapes; [`upstream`]: the HTTP server. New endpoints add a renderer beside `openai`
//!   and a route in `upstream`.

mod answers;
mod banner;
pub mod config_file;
mod dialects;
mod openai;
mod upstream;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use crate::app::{self, StartError};
use crate::cli::DemoArgs;
use crate::signals;
use banner::Banner;
use config_file::ConfigFileError;
use upstream::BuiltInUpstream;

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The built-in upstream could not bind `127.0.0.1:0`.
    #[error("could not start the built-in upstream: {0}")]
    Upstream(std::io::Error),
    /// `--port 0`: no free port could be found.
    #[error("could not find a free port on {host}: {source}")]
    Port {
        /// `--host`.
        host: IpAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The demo config could not be written.
    #[error(transparent)]
    ConfigFile(#[from] ConfigFileError),
    /// `serve` failed.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// How often the demo asks its workflow's `/health` whether it is up yet.
const READY_POLL: Duration = Duration::from_millis(20);
/// How long one `/health` probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs `micromodel demo` to the end (on the runtime `serve` uses); the exit code says how
/// it went.
pub fn run(args: DemoArgs) -> ExitCode {
    const PROGRAM: &str = "micromodel demo";
    let (log_format, worker_threads) = (args.serve.log_format, args.serve.worker_threads);
    match app::run_service(PROGRAM, log_format, worker_threads, demo(args)) {
        None => ExitCode::FAILURE,
        Some(Ok(stopped)) => ExitCode::from(stopped.exit_code()),
        Some(Err(DemoError::Start(error))) => error.report(PROGRAM),
        Some(Err(error)) => {
            eprintln!("{PROGRAM}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Starts the built-in upstream, writes the config, serves until a stop.
pub async fn demo(args: DemoArgs) -> Result<app::Stopped, DemoError> {
    let upstream = BuiltInUpstream::start()
        .await
        .map_err(DemoError::Upstream)?;
    let result = serve(args, &upstream).await;
    // Only now: answers still draining during the stop needed it.
    upstream.stop();
    result
}

async fn serve(args: DemoArgs, upstream: &BuiltInUpstream) -> Result<app::Stopped, DemoError> {
    let host = args.serve.host;
    let port = match args.port {
        0 => free_port(host).map_err(|source| DemoError::Port { host, source })?,
        port => port,
    };
    config_file::write(&args.serve.config, &upstream.url, port)?;
    let (control_tx, control) = mpsc::channel(16);
    signals::spawn(control_tx.clone()).map_err(StartError::Signals)?;
    let serve_args = args.serve.clone();
    let serving = app::serve(serve_args, control_tx, control);
    tokio::pin!(serving);
    let addr = SocketAddr::new(reachable(host), port);
    tokio::select! {
        result = &mut serving => return result.map_err(DemoError::from),
        () = wait_ready(addr, &upstream.url) => {}
    }
    let record_file = crate::layout::record_path(
        &args.serve.data_dir,
        config_file::WORKFLOW,
        chrono::Utc::now(),
    );
    let program = std::env::args()
        .next()
        .unwrap_or_else(|| "micromodel".into());
    let banner = Banner {
        base: format!("http://{addr}"),
        upstream: &upstream.url,
        record_file: &record_file,
        data_dir: &args.serve.data_dir,
        config: &args.serve.config,
        program: &program,
    };
    print!("{}", banner.render());
    serving.await.map_err(DemoError::from)
}

/// A port that is free on `host` now (bound, then released: the config needs a number).
fn free_port(host: IpAddr) -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind((host, 0))?.local_addr()?.port())
}

/// Where a client on this machine reaches a listener bound to `host`.
fn reachable(host: IpAddr) -> IpAddr {
    match host {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

/// Returns once `addr` is MicroModel serving the demo workflow for `upstream` (not merely
/// some process on that port).
async fn wait_ready(addr: SocketAddr, upstream: &str) {
    loop {
        if let Ok(Some(health)) = tokio::time::timeout(PROBE_TIMEOUT, health(addr)).await {
            if health["workflow_id"] == config_file::WORKFLOW && health["api_host"] == upstream {
                return;
            }
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// `GET /health` on `addr`, over a plain connection (no proxy from the environment).
async fn health(addr: SocketAddr) -> Option<serde_json::Value> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(connection);
    let request = hyper::Request::get("/health")
        .header(hyper::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let body = response.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice(&body).ok()
}
