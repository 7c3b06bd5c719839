//! The data page over the sink's bucket (`?source=bucket` with `serve --sink`), against a real
//! S3 store (SeaweedFS): traffic recorded and uploaded, the local day folders deleted, then the
//! overview, the list (filters, paging) and one record read from the bucket's objects; a label
//! object in the bucket's `_labels/`; the good button of a bucket record after a restart (filed
//! under the record's day); a store that is down or frozen shows an error or the
//! progress page, never a hang, and the proxy keeps answering.

mod common;
mod sink_support;
#[path = "ui_support/sink_start.rs"]
mod ui_sink;
mod ui_support;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{eventually, free_port, Proxy};
use serde_json::{json, Value};
use sink_support::{lines_of, load, local_lines, objects, Seaweed};
use ui_sink::Started;
use ui_support::{get, links, page};

const WAIT: Duration = Duration::from_secs(60);

/// The proxy for workflow `w` with `--sink` on the store and an admin listener.
fn start(store: &Seaweed, prefix: &str, data: &std::path::Path) -> Started {
    let more = ["--sink-segment-bytes", "8192"];
    ui_sink::start(store, prefix, Some(data.to_path_buf()), "inst-a", &more)
}

/// Today's day folder name, `DD-MM-YYYY`.
fn today_folder() -> String {
    chrono::Utc::now().format("%d-%m-%Y").to_string()
}

/// The number in `data-stat="<stat>"` of the card of workflow `w`.
fn stat(html: &str, stat: &str) -> u64 {
    let card = html.split("data-workflow=\"w\"").nth(1).expect("w's card");
    let at = card
        .split(&format!("data-stat=\"{stat}\">"))
        .nth(1)
        .expect(stat);
    let digits: String = at
        .chars()
        .take_while(|c| *c != '<')
        .filter(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a number")
}

#[test]
fn the_pages_read_the_bucket_when_the_local_days_are_gone() {
    let Some(store) = Seaweed::start("records") else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let (mut proxy, _upstream, port, admin) = start(&store, "ui", data.path());
    assert_eq!(load(port, 60), 60);
    let local: Vec<Value> = eventually(WAIT, "every line uploaded", || {
        let local = local_lines(data.path());
        let remote = lines_of(&objects(&store, "ui"));
        match remote == local && local.len() == 60 {
            true => Ok(local),
            false => Err(format!(
                "{} local, {} in the bucket",
                local.len(),
                remote.len()
            )),
        }
    })
    .iter()
    .map(|l| serde_json::from_str(l).expect("json"))
    .collect();
    let keys = store.keys("ui");
    assert!(keys.len() > 1, "several segments: {keys:?}");
    // A label object in the bucket, as the sink uploads them.
    let labelled = local[7]["request_id"].as_str().expect("an id").to_owned();
    let today = chrono::Utc::now().format("%Y-%m-%d");
    let label = json!({"timestamp": "2026-01-01T00:00:00.000Z", "request_id": labelled,
        "choice": 0, "label": "good", "source": "api"});
    store.put(
        &format!("ui/_labels/workflow=w/date={today}/inst-a-20260101T000000Z-000001.jsonl"),
        format!("{label}\n").as_bytes(),
    );
    std::fs::remove_dir_all(data.path().join("w")).expect("delete the local days");

    let (status, local_page) = get(&format!("{admin}/ui/"));
    assert_eq!(status, 200);
    assert!(
        local_page.contains("No records in this range."),
        "{local_page}"
    );

    let (status, overview) = page(&format!("{admin}/ui/?source=bucket"));
    assert_eq!(status, 200, "{overview}");
    assert_eq!(stat(&overview, "records"), 60);
    let tokens: u64 = local
        .iter()
        .map(|r| r["usage"]["prompt_tokens"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(stat(&overview, "prompt_tokens"), tokens);
    assert!(overview.contains("option value=\"bucket\" selected"));

    let (status, first) = page(&format!("{admin}/ui/records?source=bucket"));
    assert_eq!(status, 200, "{first}");
    let first_links = links(&first);
    assert_eq!(first_links.len(), 50);
    assert!(first.contains("rel=\"next\""));
    assert!(first_links
        .iter()
        .all(|l| l.contains("source=bucket&object=inst-a-")));
    let (_, second) = page(&format!("{admin}/ui/records?source=bucket&page=1"));
    let mut all = first_links.clone();
    all.extend(links(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60, "every record once over the two pages");

    // "hello 42": no other prompt contains it.
    let prompt = "hello 42";
    assert!(local.iter().any(|r| r["messages"][0]["content"] == prompt));
    let (_, found) = page(&format!(
        "{admin}/ui/records?source=bucket&q={}",
        prompt.replace(' ', "+")
    ));
    let hit = links(&found);
    assert_eq!(hit.len(), 1, "{found}");
    let (status, record) = page(&format!("{admin}{}", hit[0]));
    assert_eq!(status, 200, "{record}");
    assert!(record.contains(prompt), "{record}");

    let (_, good) = page(&format!("{admin}/ui/records?source=bucket&label=good"));
    let good_links = links(&good);
    assert_eq!(good_links.len(), 1, "the bucket's label is read: {good}");
    let (_, judged) = page(&format!("{admin}{}", good_links[0]));
    assert!(judged.contains(&labelled), "the labelled record");

    let (status, missing) = get(&format!(
        "{admin}/ui/record/w/{today}/1?source=bucket&object=nope.jsonl.gz"
    ));
    assert_eq!(status, 404, "{missing}");

    // The record's good button, its local day gone, on a fresh start (the index of recent ids
    // is empty): the form carries the record's day and workflow, and the label is filed under
    // them (posted as ui.js does).
    assert!(proxy.stop().success());
    let (mut proxy, _upstream, _port, admin) = start(&store, "ui", data.path());
    let (status, record) = page(&format!("{admin}{}", hit[0]));
    assert_eq!(status, 200, "{record}");
    let form = |name: &str| {
        let at = record.split(&format!("{name}=\"")).nth(1).expect(name);
        at[..at.find('"').expect("end")].to_owned()
    };
    let (day, workflow) = (form("data-day"), form("data-workflow-id"));
    assert_eq!((day.as_str(), workflow.as_str()), (&*today_folder(), "w"));
    let body = json!({"request_id": form("data-request-id"), "choice": 0, "label": "good",
        "day": day, "workflow_id": workflow});
    let out = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "30",
            "-H",
            "content-type: application/json",
        ])
        .args(["-H", &format!("x-csrf-token: {}", form("data-csrf"))])
        .args(["-d", &body.to_string(), &format!("{admin}/api/labels")])
        .output()
        .expect("curl");
    let answer: Value = serde_json::from_slice(&out.stdout).expect("a JSON answer");
    assert_eq!(answer["matched"], false, "{answer}");
    let placed = data.path().join("w").join(&day).join("labels.jsonl");
    eventually(WAIT, "the label in the record's day folder", || {
        std::fs::read_to_string(&placed).map_err(|e| e.to_string())
    });
    eventually(WAIT, "two good records", || {
        let (_, good) = page(&format!("{admin}/ui/records?source=bucket&label=good"));
        match links(&good).len() {
            2 => Ok(()),
            n => Err(format!("{n} good")),
        }
    });
    assert!(proxy.stop().success());
}

#[test]
fn a_store_that_is_down_or_frozen_never_hangs_the_page_or_the_proxy() {
    let Some(mut store) = Seaweed::start("records") else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let (mut proxy, _upstream, port, admin) = start(&store, "down", data.path());
    assert_eq!(load(port, 5), 5);
    store.pause();
    let asked = Instant::now();
    let (status, body) = get(&format!("{admin}/ui/?source=bucket"));
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "answered at once"
    );
    assert_eq!(status, 202, "the progress page: {body}");
    assert!(body.contains("Reading the bucket"), "{body}");
    assert_eq!(
        load(port, 5),
        5,
        "the proxy answers while the store is frozen"
    );
    store.resume();
    store.stop();
    let (status, body) = eventually(WAIT, "an error page", || {
        match get(&format!("{admin}/ui/records?source=bucket")) {
            (202, _) => Err("still reading"),
            other => Ok(other),
        }
    });
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("cannot read bucket"), "{body}");
    assert_eq!(
        load(port, 5),
        5,
        "the proxy answers while the store is down"
    );
    assert!(proxy.stop().success());
}

#[test]
fn without_a_sink_the_bucket_source_says_so() {
    let data = tempfile::tempdir().expect("tempdir");
    let (port, admin) = (free_port(), free_port());
    let config = json!({"w": {"OPENAI_API_HOST": "http://127.0.0.1:9", "PORT": port}});
    let admin_addr = format!("127.0.0.1:{admin}");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut proxy = Proxy::start_in(
        dir,
        data.path().to_path_buf(),
        &config,
        &["--admin-addr", &admin_addr],
        &[],
    );
    let (status, body) = eventually(WAIT, "the admin listener", || {
        match get(&format!("http://{admin_addr}/ui/?source=bucket")) {
            (0, _) => Err("not yet"),
            other => Ok(other),
        }
    });
    assert_eq!(status, 404);
    assert!(body.contains("without --sink"), "{body}");
    assert!(proxy.stop().success());
}
