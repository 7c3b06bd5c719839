//! Labels in a fleet (docs/labels.md, "Fleets"): two instances behind one bucket, each with
//! `--sink`; feedback for a record one of them answered reaches the other, which does not hold
//! it. Unmatched (no `day`): 202, filed under today marked unmatched, applied by `export` and
//! `stats` from the bucket. Placed (`day`, and `workflow_id` on `/api/labels`): 200, filed
//! under that day, found however old the record is. Against a real S3 store (SeaweedFS).

mod common;
mod sink_support;

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::upstream::{chat_completion, json_response};
use common::{client, eventually, free_port, FakeUpstream, Proxy};
use serde_json::{json, Value};
use sink_support::{chat, objects, prompts, Seaweed};

const WAIT: Duration = Duration::from_secs(60);

/// Starts workflow `w` on `port` as instance `instance`, shipping below `prefix`; its
/// upstream answers `<instance>-1`, `<instance>-2`, ...
fn start(
    store: &Seaweed,
    prefix: &str,
    instance: &str,
    extra: &[&str],
) -> (Proxy, u16, FakeUpstream) {
    let count = Arc::new(AtomicU64::new(0));
    let name = instance.to_owned();
    let upstream = FakeUpstream::start(move |_seen| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        let id = format!("chatcmpl-{name}-{n}");
        async move {
            let mut answer = chat_completion("Hi");
            answer["id"] = json!(id);
            json_response(StatusCode::OK, &answer)
        }
    });
    let port = free_port();
    let config = json!({"w": {"OPENAI_API_HOST": upstream.url, "PORT": port}});
    let sink = store.url_for(prefix);
    let mut args = vec!["--sink", sink.as_str(), "--sink-segment-seconds", "1"];
    args.extend_from_slice(&["--instance-id", instance]);
    args.extend_from_slice(extra);
    let env = store.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let proxy = Proxy::start_in(dir, data, &config, &args, &env);
    (proxy, port, upstream)
}

/// Posts a label body; status and JSON answer.
async fn post(url: &str, body: Value) -> (u16, Value) {
    let response = client().post(url).json(&body).send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

/// Waits until below `prefix` there are `records` record lines and `labels` label lines;
/// the label objects (key → lines).
fn wait_bucket(
    store: &Seaweed,
    prefix: &str,
    records: usize,
    labels: usize,
) -> Vec<(String, Vec<String>)> {
    eventually(WAIT, "records and labels in the bucket", || {
        let all = objects(store, prefix);
        let count = |labels: bool| -> usize {
            let of_kind = all
                .iter()
                .filter(|(k, _)| k.starts_with("_labels/") == labels);
            of_kind.map(|(_, v)| v.len()).sum()
        };
        let got = (count(false), count(true));
        if got == (records, labels) {
            Ok(all
                .into_iter()
                .filter(|(k, _)| k.starts_with("_labels/"))
                .collect())
        } else {
            Err(format!(
                "(records, labels) = {got:?}, keys {:?}",
                all.keys()
            ))
        }
    })
}

/// Runs a data tool on the bucket below `prefix`; stdout (it must succeed).
fn tool(store: &Seaweed, prefix: &str, name: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg(name)
        .arg("--data-dir")
        .arg(store.url_for(prefix))
        .args(args)
        .env_remove("MICROMODEL_DATA_DIR")
        .envs(store.env())
        .output()
        .expect("run micromodel");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} {args:?}: {stderr}");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `stats --json`'s totals: (good, bad, unlabelled).
fn label_counts(store: &Seaweed, prefix: &str) -> (Value, Value, Value) {
    let stats: Value =
        serde_json::from_str(&tool(store, prefix, "stats", &["--json"])).expect("stats JSON");
    let t = &stats["total"];
    (
        t["labelled_good"].clone(),
        t["labelled_bad"].clone(),
        t["unlabelled"].clone(),
    )
}

fn today_folder() -> String {
    chrono::Utc::now().format("%d-%m-%Y").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_reaching_the_replica_without_the_record_is_accepted_and_exported() {
    let Some(store) = Seaweed::start("fleet-unmatched") else {
        return;
    };
    let (mut a, port_a, _up_a) = start(&store, "fleet", "mm-a", &[]);
    let (mut b, port_b, _up_b) = start(&store, "fleet", "mm-b", &[]);
    let judged = chat(port_a, "judged").await;
    chat(port_a, "not judged").await;
    chat(port_b, "answered by b").await;

    // The Service sent the app's feedback to B, which never saw the record.
    let feedback_b = format!("{}/feedback", Proxy::url(port_b));
    let (status, answer) = post(&feedback_b, json!({"request_id": judged, "label": "good"})).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (&answer["status"], &answer["matched"]),
        (&json!("accepted"), &json!(false))
    );
    assert_eq!(answer["day"], today_folder(), "{answer}");
    assert_eq!(answer["workflow_id"], "w", "{answer}");

    let labels = wait_bucket(&store, "fleet", 3, 1);
    assert!(labels[0].0.contains("/mm-b-"), "shipped by B: {labels:?}");
    let line: Value = serde_json::from_str(&labels[0].1[0]).expect("label line");
    assert_eq!(
        (&line["request_id"], &line["unmatched"]),
        (&json!(judged), &json!(true))
    );
    let local = b
        .data_dir
        .join("w")
        .join(today_folder())
        .join("labels.jsonl");
    let text = std::fs::read_to_string(&local).expect("B's labels file");
    assert!(
        text.trim_end()
            .ends_with(r#","source":"feedback","unmatched":true}"#),
        "{text}"
    );
    assert!(a.stop().success() && b.stop().success());

    let good = tool(&store, "fleet", "export", &["--label", "good"]);
    assert_eq!(prompts(&good), ["judged"]);
    let unlabelled = tool(&store, "fleet", "export", &["--label", "none"]);
    assert_eq!(prompts(&unlabelled), ["answered by b", "not judged"]);
    assert_eq!(
        label_counts(&store, "fleet"),
        (json!(1), json!(0), json!(2))
    );
}

/// Puts one record of `day` (`YYYY-MM-DD`) with `request_id` into the bucket, as instance
/// `mm-a` would have shipped it (its local day folder long gone).
fn put_old_record(store: &Seaweed, template: &Value, day: &str, request_id: &str, prompt: &str) {
    let mut record = template.clone();
    record["timestamp"] = json!(format!("{day}T10:00:00.000Z"));
    record["request_id"] = json!(request_id);
    record["messages"][0]["content"] = json!(prompt);
    let stamp = day.replace('-', "");
    // One object per record: the sequence number is the id's last digit.
    let seq = request_id.rsplit('-').next().expect("a numbered id");
    let key = format!("fleet/workflow=w/date={day}/mm-a-{stamp}T100000Z-00090{seq}.jsonl");
    store.put(&key, format!("{record}\n").as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_with_the_records_day_is_filed_under_it_however_old() {
    let Some(store) = Seaweed::start("fleet-placed") else {
        return;
    };
    let admin = free_port();
    let admin_addr = format!("127.0.0.1:{admin}");
    let (mut b, port_b, _up_b) = start(&store, "fleet", "mm-b", &["--admin-addr", &admin_addr]);
    chat(port_b, "from b").await;
    let template = b.wait_records("w", 1)[0].clone();
    // Records A shipped 20 days ago: past the window of unmatched labels, so only a label
    // filed under their day reaches them.
    let old = (chrono::Utc::now() - chrono::Duration::days(20)).date_naive();
    let (iso, folder) = (
        old.format("%Y-%m-%d").to_string(),
        old.format("%d-%m-%Y").to_string(),
    );
    put_old_record(&store, &template, &iso, "old-1", "old good");
    put_old_record(&store, &template, &iso, "old-2", "old bad");

    let feedback = format!("{}/feedback", Proxy::url(port_b));
    let body = json!({"request_id": "old-1", "label": "good", "day": iso});
    let (status, answer) = post(&feedback, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["day"], &answer["matched"]),
        (&json!(folder), &json!(false))
    );
    // The data page's button on a bucket record: /api/labels with its day and workflow.
    let api = format!("http://{admin_addr}/api/labels");
    let body = json!({"request_id": "old-2", "label": "bad", "day": folder, "workflow_id": "w"});
    let (status, answer) = post(&api, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["workflow_id"], "w");
    // /api/labels cannot tell the workflow of an id it does not hold without workflow_id.
    let (status, answer) = post(&api, json!({"request_id": "old-3", "label": "good"})).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("unknown_request_id"))
    );
    // /feedback labels its own workflow only: another workflow_id is answered as unknown.
    let body = json!({"request_id": "old-1", "label": "good", "day": iso, "workflow_id": "v"});
    let (status, answer) = post(&feedback, body).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("unknown_request_id"))
    );
    // An invalid day is refused before anything is looked up.
    let body = json!({"request_id": "old-1", "label": "good", "day": "31-02-2026"});
    let (status, answer) = post(&feedback, body).await;
    assert_eq!(status, 400, "{answer}");
    let error = &answer["error"];
    assert_eq!(
        (&error["code"], &error["param"]),
        (&json!("invalid_label"), &json!("day"))
    );
    assert_eq!(error["type"], "invalid_request_error", "{answer}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("31-02-2026")),
        "{answer}"
    );

    let labels = wait_bucket(&store, "fleet", 3, 2);
    for (key, lines) in &labels {
        assert!(
            key.starts_with(&format!("_labels/workflow=w/date={iso}/mm-b-")),
            "{key}"
        );
        assert!(lines.iter().all(|l| !l.contains("unmatched")), "{lines:?}");
    }
    // B created the old day's folder for the labels (nothing else in it).
    let day_dir = b.data_dir.join("w").join(&folder);
    assert!(day_dir.join("labels.jsonl").is_file() && !day_dir.join("data.jsonl").exists());
    assert!(b.stop().success());

    assert_eq!(
        prompts(&tool(&store, "fleet", "export", &["--label", "good"])),
        ["old good"]
    );
    assert_eq!(
        prompts(&tool(&store, "fleet", "export", &["--label", "bad"])),
        ["old bad"]
    );
    assert_eq!(
        label_counts(&store, "fleet"),
        (json!(1), json!(1), json!(1))
    );
}
