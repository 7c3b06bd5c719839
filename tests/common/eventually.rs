//! Waiting for something to happen, with a deadline: the one polling loop of the tests.
//!
//! A check returns `Ok(value)` when what it waits for has happened, or `Err(state)` with what
//! it saw instead. The helpers retry every [`POLL`] until the deadline, then panic with what
//! was awaited and the last state seen, so a failure fails the test instead of hanging CI.
//! The deadline is a limit on waiting, never a performance threshold.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How long the helpers wait between two checks.
pub const POLL: Duration = Duration::from_millis(20);

/// Runs `check` until it gives `Ok`, at most `within`, sleeping the thread between checks.
/// For synchronous code (the harness's process and file helpers). Panics naming `what`.
pub fn eventually<T, S: Display>(
    within: Duration,
    what: impl Display,
    mut check: impl FnMut() -> Result<T, S>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check() {
            Ok(value) => return value,
            Err(state) if Instant::now() >= deadline => timed_out(within, &what, &state),
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Like [`eventually`], for async tests: the check is a future and the wait between checks
/// yields to the runtime (the code under test may run on the same runtime).
pub async fn eventually_async<T, S: Display, F: Future<Output = Result<T, S>>>(
    within: Duration,
    what: impl Display,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(state) if Instant::now() >= deadline => timed_out(within, &what, &state),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// `Ok(())` when `done`, else `Err(state())`: turns a condition into a check.
pub fn check(done: bool, state: impl FnOnce() -> String) -> Result<(), String> {
    if done {
        Ok(())
    } else {
        Err(state())
    }
}

/// A state described only if the wait times out (e.g. one that includes the whole log), so
/// that a check that runs every 20 ms does not build it each time.
pub fn lazily<F: Fn() -> String>(describe: F) -> impl Display {
    struct Lazily<F>(F);
    impl<F: Fn() -> String> Display for Lazily<F> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&(self.0)())
        }
    }
    Lazily(describe)
}

fn timed_out(within: Duration, what: &dyn Display, state: &dyn Display) -> ! {
    panic!("timed out after {within:?} waiting for {what}; last seen: {state}")
}
