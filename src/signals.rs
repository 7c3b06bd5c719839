//! Unix signals turned into [`Control`] messages: SIGHUP → reload, SIGTERM/SIGINT → stop.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::app::Control;

/// Starts forwarding signals; the receiver feeds `app::serve`.
pub fn spawn() -> std::io::Result<mpsc::Receiver<Control>> {
    let (tx, rx) = mpsc::channel(16);
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        loop {
            let control = tokio::select! {
                Some(()) = hup.recv() => Control::Reload,
                Some(()) = term.recv() => Control::Shutdown,
                Some(()) = int.recv() => Control::Shutdown,
                else => break,
            };
            if tx.send(control).await.is_err() {
                break;
            }
        }
    });
    Ok(rx)
}
