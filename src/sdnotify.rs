//! systemd readiness notifications (`sd_notify`): `READY=1`, `RELOADING=1`, `STOPPING=1`.
//! A no-op when `NOTIFY_SOCKET` is not set (not under systemd with `Type=notify`).

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `"READY=1"`) to systemd, if it is listening. Failures are logged at
/// debug level only: notifications are advisory.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let result = UnixDatagram::unbound().and_then(|sock| {
        let path = socket.as_encoded_bytes();
        if let Some(name) = path.strip_prefix(b"@") {
            // An abstract socket (Linux).
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(state.as_bytes(), &addr)
        } else {
            sock.send_to(state.as_bytes(), &socket)
        }
    });
    if let Err(error) = result {
        tracing::debug!(%error, state, "sd_notify failed.");
    }
}
