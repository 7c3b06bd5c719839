//! Unix signals turned into [`Control`] messages: SIGHUP → reload, SIGTERM/SIGINT → stop.

use futures_util::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;
use tokio::sync::mpsc;

use crate::app::Control;

/// Starts forwarding signals into `control`. Must be called inside the runtime.
pub fn spawn(control: mpsc::Sender<Control>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGHUP, SIGTERM, SIGINT])?;
    tokio::spawn(async move {
        while let Some(signal) = signals.next().await {
            let message = if signal == SIGHUP {
                Control::Reload
            } else {
                Control::Shutdown
            };
            if control.send(message).await.is_err() {
                break;
            }
        }
    });
    Ok(())
}
