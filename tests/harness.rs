//! The test harness's own helpers: `eventually` returns what it waited for, and fails (rather
//! than hangs) naming what it waited for and what it saw last.

mod common;

use std::time::Duration;

use common::{check, eventually, eventually_async};

#[test]
fn eventually_returns_the_value_once_the_check_passes() {
    let mut tries = 0;
    let value = eventually(Duration::from_secs(10), "the third try", || {
        tries += 1;
        if tries == 3 {
            Ok(tries)
        } else {
            Err(format!("try {tries}"))
        }
    });
    assert_eq!(value, 3);
}

#[test]
#[should_panic(expected = "waiting for the answer 42; last seen: 41")]
fn eventually_fails_at_the_deadline_naming_what_it_waited_for() {
    eventually(Duration::from_millis(50), "the answer 42", || {
        Err::<(), _>(41)
    });
}

#[tokio::test]
async fn eventually_async_yields_between_checks() {
    let (tx, rx) = tokio::sync::watch::channel(0);
    // On this current-thread runtime, the task only runs while the check waits.
    tokio::spawn(async move {
        for n in 1..=3 {
            tx.send(n).expect("receiver alive");
            tokio::task::yield_now().await;
        }
    });
    eventually_async(Duration::from_secs(10), "the counter to reach 3", || {
        let n = *rx.borrow();
        async move { check(n == 3, || format!("counter at {n}")) }
    })
    .await;
}

#[tokio::test]
#[should_panic(expected = "waiting for a flag; last seen: still down")]
async fn eventually_async_fails_at_the_deadline_naming_what_it_waited_for() {
    eventually_async(Duration::from_millis(50), "a flag", || async {
        check(false, || "still down".to_owned())
    })
    .await;
}

#[test]
fn a_lazy_state_is_described_once_at_the_deadline() {
    let described = std::cell::Cell::new(0);
    let tries = std::cell::Cell::new(0);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eventually(Duration::from_millis(50), "nothing", || {
            tries.set(tries.get() + 1);
            Err::<(), _>(common::lazily(|| {
                described.set(described.get() + 1);
                "the whole log".to_owned()
            }))
        })
    }));
    let message = *outcome
        .expect_err("timed out")
        .downcast::<String>()
        .expect("a formatted panic message");
    assert!(message.ends_with("last seen: the whole log"), "{message}");
    assert!(tries.get() > 1, "checked more than once");
    assert_eq!(described.get(), 1);
}
