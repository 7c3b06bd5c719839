//! Making room at the connection cap: the connections of a listener group, oldest first, so
//! that a connection waiting for a slot can ask the oldest one with no request in flight (a
//! keep-alive connection between requests, or one that has not sent a byte yet) to close.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// What the registry needs to know of a connection.
pub trait Idle: Send + Sync {
    /// No request in flight and none begun: closing it loses nothing a client sent.
    fn is_idle(&self) -> bool;
}

/// One registered connection.
pub struct Tenant {
    /// What it is doing.
    idle: Arc<dyn Idle>,
    /// A waiter has asked it to close and it has not answered yet (not asked twice).
    asked: AtomicBool,
    /// Wakes the connection to close (a stored wake-up counts).
    evict: Notify,
}

impl Tenant {
    /// Resolves when a waiting connection asks this one to close.
    pub async fn asked_to_close(&self) {
        self.evict.notified().await;
    }
}

/// The connections of a listener group, by accept order.
#[derive(Default)]
pub struct Tenants {
    /// Registered connections, the oldest first (keys grow with each registration).
    by_age: Mutex<BTreeMap<u64, Arc<Tenant>>>,
    /// The key of the next registration.
    next: AtomicU64,
    /// Woken when a waiter should look again: a connection fell idle, registered, or
    /// declined to close because a request began meanwhile.
    rescan: Notify,
}

impl std::fmt::Debug for Tenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenants")
            .field("registered", &self.lock().len())
            .finish()
    }
}

impl Tenants {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Tenant>>> {
        self.by_age.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a connection until the returned guard is dropped.
    pub fn register(self: &Arc<Self>, idle: Arc<dyn Idle>) -> Registration {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let tenant = Arc::new(Tenant {
            idle,
            asked: AtomicBool::new(false),
            evict: Notify::new(),
        });
        self.lock().insert(key, Arc::clone(&tenant));
        self.nudge();
        Registration {
            tenants: Arc::clone(self),
            key,
            tenant,
        }
    }

    /// Asks the oldest idle connection not asked yet to close. False when there is none.
    pub fn evict_oldest_idle(&self) -> bool {
        let by_age = self.lock();
        let oldest = by_age
            .values()
            .find(|t| !t.asked.load(Ordering::Acquire) && t.idle.is_idle());
        match oldest {
            Some(tenant) => {
                tenant.asked.store(true, Ordering::Release);
                tenant.evict.notify_one();
                true
            }
            None => false,
        }
    }

    /// Tells waiters to look again.
    pub fn nudge(&self) {
        self.rescan.notify_waiters();
    }

    /// Resolves at the next [`Tenants::nudge`].
    pub fn rescan(&self) -> tokio::sync::futures::Notified<'_> {
        self.rescan.notified()
    }
}

/// A connection's place in [`Tenants`]; leaves it when dropped.
pub struct Registration {
    /// The registry.
    tenants: Arc<Tenants>,
    /// Its key there.
    key: u64,
    /// The entry.
    tenant: Arc<Tenant>,
}

impl Registration {
    /// The entry, to wait for [`Tenant::asked_to_close`].
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The connection was asked to close but a request began meanwhile: it stays, and
    /// waiters look for another one.
    pub fn decline(&self) {
        self.tenant.asked.store(false, Ordering::Release);
        self.tenants.nudge();
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.tenants.lock().remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(AtomicBool);

    impl Idle for Fixed {
        fn is_idle(&self) -> bool {
            self.0.load(Ordering::Acquire)
        }
    }

    #[test]
    fn the_oldest_idle_connection_is_asked_first_and_only_once() {
        let tenants = Arc::new(Tenants::default());
        let busy = tenants.register(Arc::new(Fixed(AtomicBool::new(false))));
        let old = tenants.register(Arc::new(Fixed(AtomicBool::new(true))));
        let young = tenants.register(Arc::new(Fixed(AtomicBool::new(true))));
        assert!(tenants.evict_oldest_idle());
        assert!(old.tenant.asked.load(Ordering::Acquire));
        assert!(!busy.tenant.asked.load(Ordering::Acquire));
        assert!(!young.tenant.asked.load(Ordering::Acquire));
        assert!(tenants.evict_oldest_idle());
        assert!(young.tenant.asked.load(Ordering::Acquire));
        assert!(!tenants.evict_oldest_idle(), "nobody left to ask");
        old.decline();
        assert!(
            tenants.evict_oldest_idle(),
            "a declined one may be asked again"
        );
        drop(old);
        drop(young);
        assert_eq!(tenants.lock().len(), 1);
    }
}
