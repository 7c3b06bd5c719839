//! The data page's reads run on a thread of their own at the lowest CPU priority (nice 19),
//! so a scan of a large data folder or bucket takes only the CPU the proxy leaves: on a busy
//! machine the page is slower, the proxy's answers are not (docs/ui.md, "Reading").

use tokio::sync::oneshot;

/// The nice value of a page read's thread (Linux: per thread; 19 is the lowest priority).
const READ_NICE: i32 = 19;

/// The read's thread ended without a result (it panicked, or could not be started).
#[derive(Debug, thiserror::Error)]
#[error("the read failed")]
pub struct ReadFailed;

/// Runs `read` on a new low-priority thread and waits for its result.
pub async fn run<T, F>(read: F) -> Result<T, ReadFailed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let started = std::thread::Builder::new()
        .name("micromodel-ui-read".into())
        .spawn(move || {
            // Linux applies PRIO_PROCESS with pid 0 to the calling thread only. When the
            // system refuses, the read still runs, at normal priority.
            if let Err(error) = rustix::process::setpriority_process(None, READ_NICE) {
                tracing::debug!(%error, "The data page's read keeps its normal priority.");
            }
            let _ = tx.send(read());
        });
    if started.is_err() {
        return Err(ReadFailed);
    }
    rx.await.map_err(|_| ReadFailed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_read_runs_at_the_lowest_priority_and_returns_its_value() {
        let nice = run(|| rustix::process::getpriority_process(None))
            .await
            .expect("the thread ran");
        assert_eq!(nice.expect("getpriority works on Linux"), READ_NICE);
        // The caller's own thread is untouched.
        assert_eq!(
            rustix::process::getpriority_process(None).expect("getpriority"),
            0
        );
    }

    #[tokio::test]
    async fn a_panicking_read_is_an_error_not_a_hang() {
        let outcome: Result<(), ReadFailed> = run(|| panic!("boom")).await;
        assert!(outcome.is_err());
    }
}
