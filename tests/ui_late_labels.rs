//! The data page shows the labels `export` applies (docs/ui.md, "Labels filed later"): in a
//! fleet, feedback for a record another replica shipped reaches this one, which files it
//! under today marked unmatched (`POST /feedback`, the real server path). The bucket's record
//! of three days ago then shows labelled on the page; one of ten days ago, past the window of
//! unmatched labels, does not (as `export` does not label it). Against a real S3 store
//! (SeaweedFS).

mod common;
mod sink_support;
#[path = "ui_support/sink_start.rs"]
mod ui_sink;
mod ui_support;

use std::time::Duration;

use common::{eventually, Proxy};
use serde_json::{json, Value};
use sink_support::{chat, Seaweed};
use ui_sink::Started;
use ui_support::{links, page};

const WAIT: Duration = Duration::from_secs(60);

/// Workflow `w` as instance `mm-b`, with `--sink` below `prefix` and an admin listener; its
/// workflow port and admin URL.
fn start(store: &Seaweed, prefix: &str) -> Started {
    ui_sink::start(store, prefix, None, "mm-b", &[])
}

/// Puts one record `days_ago` days old into the bucket below `prefix`, as instance `mm-a`
/// shipped it (its folder is not this instance's); its `request_id`.
fn put_old_record(store: &Seaweed, prefix: &str, template: &Value, days_ago: i64) -> String {
    let day = (chrono::Utc::now() - chrono::Duration::days(days_ago)).date_naive();
    let iso = day.format("%Y-%m-%d").to_string();
    let id = format!("chatcmpl-old-{days_ago}");
    let mut record = template.clone();
    record["timestamp"] = json!(format!("{iso}T10:00:00.000Z"));
    record["request_id"] = json!(id);
    record["messages"][0]["content"] = json!(format!("asked {days_ago} days ago"));
    let stamp = iso.replace('-', "");
    let key = format!("{prefix}/workflow=w/date={iso}/mm-a-{stamp}T100000Z-000901.jsonl");
    store.put(&key, format!("{record}\n").as_bytes());
    id
}

/// What the record page of the list's only hit for `q` shows as the current label.
fn shown_label(admin: &str, q: &str) -> String {
    let (status, list) = page(&format!("{admin}/ui/records?source=bucket&q={q}"));
    assert_eq!(status, 200, "{list}");
    let hits = links(&list);
    assert_eq!(hits.len(), 1, "one record asks {q}: {list}");
    let (status, record) = page(&format!("{admin}{}", hits[0]));
    assert_eq!(status, 200, "{record}");
    assert!(record.contains(&q.replace('+', " ")), "{record}");
    let current = record
        .split("id=\"label-current\">")
        .nth(1)
        .expect("the current label");
    current[..current.find("</span>").expect("its end")].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_filed_later_without_its_record_shows_within_the_window_only() {
    let Some(store) = Seaweed::start("ui-late-labels") else {
        return;
    };
    let (mut proxy, _upstream, port, admin) = start(&store, "late");
    chat(port, "today").await;
    let template = proxy.wait_records("w", 1)[0].clone();
    let within = put_old_record(&store, "late", &template, 3);
    let past = put_old_record(&store, "late", &template, 10);

    // The application's feedback, without the records' day: this instance does not hold them.
    let feedback = format!("{}/feedback", Proxy::url(port));
    for id in [&within, &past] {
        let body = json!({"request_id": id, "label": "good"});
        let response = common::client()
            .post(&feedback)
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 202, "{id}: filed without its record");
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["matched"], false, "{answer}");
    }
    let today = chrono::Utc::now().format("%d-%m-%Y").to_string();
    let filed = proxy.data_dir.join("w").join(&today).join("labels.jsonl");
    eventually(WAIT, "both labels filed under today, unmatched", || {
        let text = std::fs::read_to_string(&filed).map_err(|e| e.to_string())?;
        let unmatched = text.lines().filter(|l| l.contains("\"unmatched\":true"));
        match unmatched.count() {
            2 => Ok(()),
            _ => Err(text),
        }
    });

    assert_eq!(
        shown_label(&admin, "asked+3+days+ago"),
        "<span class=\"label-good\">good",
        "within the window: labelled, as export labels it"
    );
    assert_eq!(
        shown_label(&admin, "asked+10+days+ago"),
        "<span class=\"muted\">–",
        "past the window: unlabelled, as export leaves it"
    );
    let (_, good) = page(&format!("{admin}/ui/records?source=bucket&label=good"));
    let good = links(&good);
    assert_eq!(good.len(), 1, "the label filter agrees");
    let (_, record) = page(&format!("{admin}{}", good[0]));
    assert!(record.contains(&within), "{record}");
    assert!(proxy.stop().success());
}
