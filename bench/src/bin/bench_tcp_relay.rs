//! Benchmark floor: a plain TCP relay (no HTTP parsing, no recording) between the load
//! generator and the fake upstream, to measure what two extra loopback hops cost on the
//! machine by themselves.
//!
//! ```text
//! cargo run --release -p micromodel-bench --bin bench_tcp_relay -- --port 28473 --to 127.0.0.1:28471
//! ```
//!
//! Each accepted connection gets its own upstream connection; bytes are copied both ways
//! until either side closes. Prints `listening on ADDR` once bound.

use std::net::SocketAddr;

fn main() {
    let mut port: u16 = 28473;
    let mut to: SocketAddr = "127.0.0.1:28471".parse().expect("default address");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| fail("--port: a number")),
            "--to" => to = value.parse().unwrap_or_else(|_| fail("--to: HOST:PORT")),
            other => fail(&format!("unknown flag {other}")),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| fail(&format!("bind 127.0.0.1:{port}: {e}")));
        println!(
            "listening on {}",
            listener.local_addr().expect("bound address")
        );
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = inbound.set_nodelay(true);
                let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                let _ = outbound.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
}

fn fail(message: &str) -> ! {
    eprintln!("bench_tcp_relay: {message}");
    std::process::exit(2)
}
