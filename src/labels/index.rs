//! The in-memory, bounded index of recently recorded `request_id`s: where each record was
//! filed (workflow and day) and how many records its request has. Filled by the proxy as it
//! hands records to the recorder, so a label that follows an answer finds its record without
//! a scan; the oldest entries are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

/// Entries kept by default (about 10 MiB for typical ids).
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Where a record is filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The workflow folder it is filed under (after any `workflow_id` re-routing).
    pub workflow_id: Arc<str>,
    /// Its UTC day (the day folder).
    pub day: NaiveDate,
    /// How many records (choices) of that request are in that day's `data.jsonl`.
    pub records: u32,
}

/// The bounded index; cheap to share (one short lock per look-up or insert).
#[derive(Debug)]
pub struct RecentIds {
    /// The map and its insertion order.
    inner: Mutex<Inner>,
    /// At most this many entries.
    capacity: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// request_id → (insertion number, where).
    map: HashMap<Arc<str>, (u64, Location)>,
    /// Insertion order: (request_id, insertion number). An entry whose number no longer
    /// matches the map's was replaced by a newer insertion and is skipped on eviction.
    order: VecDeque<(Arc<str>, u64)>,
    /// The next insertion number.
    next: u64,
}

impl RecentIds {
    /// An empty index of at most `capacity` entries (at least 1).
    pub fn new(capacity: usize) -> Self {
        RecentIds {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    /// Notes where the records of `request_id` are; replaces an earlier entry of that id.
    pub fn insert(&self, request_id: &str, location: Location) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let id: Arc<str> = Arc::from(request_id);
        let n = inner.next;
        inner.next += 1;
        inner.map.insert(Arc::clone(&id), (n, location));
        inner.order.push_back((id, n));
        while inner.map.len() > self.capacity || inner.order.len() > 2 * self.capacity {
            let Some((old, number)) = inner.order.pop_front() else {
                break;
            };
            if inner.map.get(&old).is_some_and(|(m, _)| *m == number) {
                inner.map.remove(&old);
            }
        }
    }

    /// Where the records of `request_id` are, if it is still in the index.
    pub fn get(&self, request_id: &str) -> Option<Location> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.map.get(request_id).map(|(_, l)| l.clone())
    }

    /// Entries held now (for the tests: nothing else needs the count).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> Location {
        Location {
            workflow_id: Arc::from("wf"),
            day: NaiveDate::from_ymd_opt(2026, 1, day).expect("date"),
            records: 1,
        }
    }

    #[test]
    fn bounded_oldest_first_and_replaced() {
        let index = RecentIds::new(2);
        index.insert("a", at(1));
        index.insert("b", at(2));
        index.insert("a", at(3));
        // "b" is now the oldest live entry.
        index.insert("c", at(4));
        assert_eq!(index.get("a"), Some(at(3)));
        assert_eq!(index.get("b"), None);
        assert_eq!(index.get("c"), Some(at(4)));
        assert_eq!(index.len(), 2);
        for i in 0..100 {
            index.insert("a", at(1 + i % 28));
        }
        assert!(index.len() <= 2);
        let inner = index.inner.lock().expect("lock");
        assert!(inner.order.len() <= 4, "the order queue is bounded too");
    }
}
