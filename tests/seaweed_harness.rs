//! The SeaweedFS harness itself (tests/common/seaweed.rs): a real S3 store that answers signed
//! requests, keeps objects across a restart on the same ports, and can be frozen and thawed.
//! The sink and bucket-source tests rely on each of these.

mod common;

use common::seaweed::Seaweed;

#[test]
fn the_store_keeps_objects_across_a_restart_and_a_pause() {
    let Some(mut store) = Seaweed::start("harness") else {
        return;
    };
    store.put("workflow=w/date=2026-12-02/a.jsonl", b"{\"x\":1}\n");
    store.put("workflow=w/date=2026-12-03/b.jsonl", b"{\"x\":2}\n");
    store.put("other/c.jsonl", b"c\n");
    assert_eq!(
        store.keys("workflow=w/"),
        [
            "workflow=w/date=2026-12-02/a.jsonl",
            "workflow=w/date=2026-12-03/b.jsonl"
        ]
    );
    assert_eq!(
        store.get("workflow=w/date=2026-12-02/a.jsonl"),
        b"{\"x\":1}\n"
    );

    store.restart();
    assert_eq!(store.keys("").len(), 3, "objects survive a restart");

    store.pause();
    store.resume();
    assert_eq!(store.get("other/c.jsonl"), b"c\n");
    assert_eq!(store.url_for("p"), "s3://harness/p");
    assert!(store
        .env()
        .iter()
        .any(|(k, v)| *k == "AWS_ENDPOINT_URL" && *v == store.endpoint));
}
