//! What the sink's integration tests share: reading a bucket back (every object, decompressed,
//! by key), the local records to compare it with, and a load of chat requests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use futures_util::StreamExt;

pub use crate::common::seaweed::Seaweed;

/// Every object below `prefix`: key (without the prefix) → its lines, decompressed. Read with
/// the harness's signed curl requests, not through the code under test.
pub fn objects(store: &Seaweed, prefix: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for key in store.keys(prefix) {
        let raw = store.get(&key);
        let rel = key
            .strip_prefix(prefix)
            .map(|k| k.trim_start_matches('/').to_owned())
            .unwrap_or(key.clone());
        out.insert(rel, decompress(&key, &raw));
    }
    out
}

/// Every line of every object, sorted.
pub fn lines_of(objects: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = objects.values().flatten().cloned().collect();
    all.sort();
    all
}

fn decompress(key: &str, raw: &[u8]) -> Vec<String> {
    let mut text = String::new();
    if key.ends_with(".gz") {
        flate2::read::GzDecoder::new(raw)
            .read_to_string(&mut text)
            .expect("gunzip an object");
    } else if key.ends_with(".zst") {
        zstd::stream::read::Decoder::new(raw)
            .expect("zstd")
            .read_to_string(&mut text)
            .expect("unzstd an object");
    } else {
        text = String::from_utf8(raw.to_vec()).expect("utf-8 object");
    }
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{key} ends in a torn line"
    );
    text.lines().map(str::to_owned).collect()
}

/// Every record line of the local day files under `data_dir` (the spool excluded), sorted.
pub fn local_lines(data_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(workflows) = std::fs::read_dir(data_dir) else {
        return out;
    };
    for wf in workflows.flatten() {
        if wf.file_name() == "@spool" || !wf.path().is_dir() {
            continue;
        }
        for day in std::fs::read_dir(wf.path()).expect("list").flatten() {
            if let Ok(text) = std::fs::read_to_string(day.path().join("data.jsonl")) {
                out.extend(text.lines().map(str::to_owned));
            }
        }
    }
    out.sort();
    out
}

/// Files in `<data_dir>/@spool/<stage>` (`open` or `sealed`).
pub fn spool_files(data_dir: &Path, stage: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    walk(&e.path(), out);
                } else {
                    out.push(e.path());
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&data_dir.join("@spool").join(stage), &mut out);
    out
}

/// Duplicates among sorted lines (each record line is unique: it holds a request id).
pub fn duplicates(sorted: &[String]) -> Vec<&String> {
    sorted
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect()
}

/// Sends `n` non-streamed chats to `port`, reading every answer whole; returns how many were
/// answered 2xx.
pub fn load(port: u16, n: usize) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let url = format!("http://127.0.0.1:{port}/v1/chat/completions");
        let mut ok = 0;
        let answers = futures_util::stream::iter(0..n)
            .map(|i| {
                let client = client.clone();
                let url = url.clone();
                async move {
                    let body = serde_json::json!({
                        "model": "m",
                        "messages": [{"role": "user", "content": format!("hello {i}")}]
                    });
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    }
                }
            })
            .buffer_unordered(8);
        let mut answers = std::pin::pin!(answers);
        while let Some(good) = answers.next().await {
            ok += usize::from(good);
        }
        ok
    })
}

/// Sends a chat whose prompt is `content`; the answer's id.
pub async fn chat(port: u16, content: &str) -> String {
    let body =
        serde_json::json!({"model": "m", "messages": [{"role": "user", "content": content}]});
    let response = crate::common::client()
        .post(format!(
            "{}/v1/chat/completions",
            crate::common::Proxy::url(port)
        ))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let answer: serde_json::Value = response.json().await.expect("json");
    answer["id"].as_str().expect("id").to_owned()
}

/// The user prompts of the exported lines, sorted.
pub fn prompts(export: &str) -> Vec<String> {
    let mut out: Vec<String> = export
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("exported JSON");
            let messages = v["messages"].as_array().expect("messages");
            let user = messages.iter().find(|m| m["role"] == "user").expect("user");
            user["content"].as_str().expect("text").to_owned()
        })
        .collect();
    out.sort();
    out
}
