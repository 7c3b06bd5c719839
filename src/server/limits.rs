//! What a client may make a listener hold: how long a connection may take to send its
//! headers, sit idle between requests, or stall its body, and how many connections are served
//! at once (process-wide, so that file descriptors are never the first thing to run out).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::eviction::Tenants;

/// File descriptors kept out of the connection budget: listeners, data files, the config
/// watcher, the log, DNS and TLS roots.
pub const FD_RESERVE: u64 = 64;

/// Fallback when the file descriptor limit cannot be read (or is unlimited).
const FALLBACK_NOFILE: u64 = 1024;

/// Connections the admin listener serves at once (scrapers and probes; its own budget, so a
/// flood on a workflow port never blinds monitoring).
pub const ADMIN_MAX_CONNECTIONS: usize = 64;

/// The time limits of one listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// A request's headers must arrive within this, from the first byte of the request (or
    /// from the accept, for a connection's first request). Past it: closed, no answer.
    pub header_read: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle: Duration,
    /// The longest the proxy waits for the next piece of a request body it is reading.
    pub body_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(30),
            idle: Duration::from_secs(120),
            body_read: Duration::from_secs(30),
        }
    }
}

/// The connections a group of listeners may hold at once. When all slots are taken the
/// listeners stop accepting (new connections wait in the kernel's backlog) and connections
/// with no request in flight (idle keep-alive, or silent since the accept) are asked to
/// close, oldest first, so that waiting clients get a turn.
#[derive(Debug)]
pub struct ConnectionSlots {
    /// One permit per connection being served.
    slots: Arc<Semaphore>,
    /// The cap, for logs.
    max: usize,
    /// The connections holding slots, oldest first: the ones a waiter asks to make room.
    tenants: Arc<Tenants>,
    /// Accepted connections waiting for a slot now.
    waiting: AtomicUsize,
}

impl ConnectionSlots {
    /// At most `max` connections at once (at least 1).
    pub fn new(max: usize) -> Self {
        let max = max.max(1);
        ConnectionSlots {
            slots: Arc::new(Semaphore::new(max)),
            max,
            tenants: Arc::new(Tenants::default()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// The cap.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A slot now, if one is free.
    pub fn try_take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).try_acquire_owned().ok()
    }

    /// Waits for a slot, asking the oldest idle connection to make room each time one is
    /// (or may have become) available.
    pub async fn take(&self) -> OwnedSemaphorePermit {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        let acquire = Arc::clone(&self.slots).acquire_owned();
        tokio::pin!(acquire);
        loop {
            let rescan = self.tenants.rescan();
            tokio::pin!(rescan);
            rescan.as_mut().enable();
            // One at a time: the asked connection either closes (its slot comes here) or
            // declines (a request began), and then this looks again.
            self.tenants.evict_oldest_idle();
            tokio::select! {
                slot = acquire.as_mut() => {
                    return slot.expect("the connection semaphore is never closed");
                }
                () = rescan => {}
            }
        }
    }

    /// The connections of the group, for a connection to register in.
    pub fn tenants(&self) -> &Arc<Tenants> {
        &self.tenants
    }

    /// Whether an accepted connection is waiting for a slot: a connection that falls idle
    /// now should close rather than keep it.
    pub fn is_wanted(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }
}

/// Counts a waiter while it waits (also when its wait is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Everything a listener needs to know about its limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Time limits per connection.
    pub timeouts: Timeouts,
    /// The connection budget, shared by every listener of the group.
    pub slots: Arc<ConnectionSlots>,
}

impl Limits {
    /// Limits with the given timeouts and a budget of `max_connections`.
    pub fn new(timeouts: Timeouts, max_connections: usize) -> Self {
        Limits {
            timeouts,
            slots: Arc::new(ConnectionSlots::new(max_connections)),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(Timeouts::default(), default_max_connections())
    }
}

/// The default `--max-connections`: `(soft RLIMIT_NOFILE - 64) / 2`. Each client connection
/// may hold one upstream connection, and 64 descriptors stay free for listeners, files and
/// the rest, so the descriptor limit is never reached before the connection cap.
pub fn default_max_connections() -> usize {
    max_connections_for(soft_nofile())
}

/// `(nofile - FD_RESERVE) / 2`, at least 1.
pub fn max_connections_for(nofile: u64) -> usize {
    let budget = nofile.saturating_sub(FD_RESERVE) / 2;
    usize::try_from(budget).unwrap_or(usize::MAX).max(1)
}

/// The soft limit on open files (1024 when unknown or unlimited).
fn soft_nofile() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(FALLBACK_NOFILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_leaves_room_for_upstream_connections_and_files() {
        assert_eq!(max_connections_for(1024), 480);
        assert_eq!(max_connections_for(65_536), 32_736);
        assert_eq!(max_connections_for(10), 1);
        assert!(default_max_connections() >= 1);
    }

    #[tokio::test]
    async fn slots_are_given_back_when_a_connection_ends() {
        let slots = ConnectionSlots::new(1);
        let first = slots.try_take().expect("a free slot");
        assert!(slots.try_take().is_none());
        drop(first);
        let _second = slots.take().await;
    }
}
