//! The parts of a stop that may run past `--drain-seconds`, and their sum: the worst case a
//! supervisor's grace period must cover (docs/stop-and-durability.md, deploy/).
//!
//! A stop runs: the drain and the recorder's flush within the budget; then, if the recorder
//! is not done, its last attempt ([`crate::recorder::FINAL_ATTEMPT`]); then the sink's tasks
//! get [`SINK_GIVE_UP`] to notice the end (`--sink` only); then the admin listener lets a
//! scrape in progress finish for at most [`ADMIN_DRAIN`] (`--admin-addr` only); then the
//! runtime waits at most [`RUNTIME_SHUTDOWN`] for its blocking threads.

use std::time::Duration;

/// How long the runtime's shutdown waits for its blocking threads before the process exits
/// without them (a write stuck in the kernel must not hold the exit).
pub const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(500);

/// How long the admin listener waits for a scrape in progress at the very end of a stop.
pub const ADMIN_DRAIN: Duration = Duration::from_secs(1);

/// What the sink's stop may take past the budget: its sealer and its uploader each get half
/// a second (`GIVE_UP_GRACE` in `src/sink/mod.rs`) to notice the end of the budget.
pub const SINK_GIVE_UP: Duration = Duration::from_millis(2 * 500);

/// The most a stop can take beyond the budget (`--drain-seconds`), from the first signal to
/// the exit: the recorder's last attempt and the runtime's shutdown always; the sink's and the
/// admin listener's ends when they run. 2.5 s bare, 3.5 s with one of them, 4.5 s with both.
pub fn worst_case_grace(admin: bool, sink: bool) -> Duration {
    let mut grace = crate::recorder::FINAL_ATTEMPT + RUNTIME_SHUTDOWN;
    if sink {
        grace += SINK_GIVE_UP;
    }
    if admin {
        grace += ADMIN_DRAIN;
    }
    grace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_worst_cases_are_the_sums_of_the_parts() {
        assert_eq!(worst_case_grace(false, false), Duration::from_millis(2500));
        assert_eq!(worst_case_grace(true, false), Duration::from_millis(3500));
        assert_eq!(worst_case_grace(false, true), Duration::from_millis(3500));
        assert_eq!(worst_case_grace(true, true), Duration::from_millis(4500));
    }
}
