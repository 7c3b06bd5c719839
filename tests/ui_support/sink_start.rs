//! The proxy of the data page's bucket tests: workflow `w` with `--sink` on a SeaweedFS store
//! and an admin listener. Included with `#[path]` by the tests that also have `sink_support`
//! (the rest of `ui_support` does without the store).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::common::{eventually, free_port, FakeUpstream, Proxy};
use crate::sink_support::Seaweed;

/// How long the admin listener may take to come up.
const WAIT: Duration = Duration::from_secs(60);

/// A running proxy with its upstream, workflow port and admin URL.
pub type Started = (Proxy, FakeUpstream, u16, String);

/// Workflow `w` as instance `instance`, with `--sink` below `prefix`, segments sealed every
/// second, an admin listener and `more` flags; its data folder is `data` (a fresh one when
/// `None`).
pub fn start(
    store: &Seaweed,
    prefix: &str,
    data: Option<PathBuf>,
    instance: &str,
    more: &[&str],
) -> Started {
    let (port, admin) = (free_port(), free_port());
    let upstream = FakeUpstream::start(crate::ui_support::varied);
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let sink = store.url_for(prefix);
    let admin_addr = format!("127.0.0.1:{admin}");
    let mut args = vec![
        "--sink",
        sink.as_str(),
        "--instance-id",
        instance,
        "--sink-segment-seconds",
        "1",
        "--admin-addr",
        admin_addr.as_str(),
    ];
    args.extend_from_slice(more);
    let env = store.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data.unwrap_or_else(|| dir.path().join("data"));
    let proxy = Proxy::start_in(dir, data, &config, &args, &env);
    eventually(WAIT, "the admin listener", || {
        std::net::TcpStream::connect(("127.0.0.1", admin)).map(|_| ())
    });
    (proxy, upstream, port, format!("http://{admin_addr}"))
}
