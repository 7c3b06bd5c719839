//! The data page in a real browser: headless Chromium over WebDriver (`chromedriver`, Debian's
//! `chromium` + `chromium-driver`, installed by `.ci/run`). Logs in, checks the overview's
//! numbers against the records, searches, opens a record, clicks **good** with a note and tags,
//! and finds the label in `labels.jsonl`, in `micromodel export --label good` and `--tag T`, and
//! back in the page. A screenshot of each page goes to `target/ui-screenshots/`. Skips (saying
//! so) only when Chromium or its driver is missing.

mod common;
mod ui_support;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use ui_support::{send_traffic, start, TOKEN};

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The WebDriver process; killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots_dir() -> PathBuf {
    // target/debug/micromodel -> target/ui-screenshots
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_micromodel"));
    let target = bin
        .parent()
        .and_then(|p| p.parent())
        .expect("target folder");
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    let path = screenshots_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    eprintln!("screenshot: {}", path.display());
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Days before today that get seeded records, so the chart has more than one bar.
fn seed_earlier_days(data_dir: &std::path::Path) -> usize {
    let today = chrono::Utc::now().date_naive();
    let mut seeded = 0;
    for (back, n) in [(1_i64, 3_usize), (2, 1), (4, 2)] {
        let date = today - chrono::Duration::days(back);
        let dir = data_dir
            .join("chat")
            .join(date.format("%d-%m-%Y").to_string());
        std::fs::create_dir_all(&dir).expect("day folder");
        let mut text = String::new();
        for i in 0..n {
            let line = json!({"messages": [
                {"role": "user", "content": format!("Earlier question {back}-{i}")},
                {"role": "assistant", "content": "An earlier answer."}],
                "timestamp": format!("{}T10:0{i}:00.000Z", date.format("%Y-%m-%d")),
                "endpoint": "/v1/chat/completions", "model": "older-model", "workflow_id": "chat",
                "finish_reason": "length", "usage": {"prompt_tokens": 1, "completion_tokens": 2},
                "stream": true, "request_id": format!("chatcmpl-old-{back}-{i}")});
            text.push_str(&line.to_string());
            text.push('\n');
        }
        std::fs::write(dir.join("data.jsonl"), text).expect("seed records");
        seeded += n;
    }
    seeded
}

#[tokio::test]
async fn the_data_page_in_a_real_browser() {
    let (Some(driver_bin), Some(chromium)) = (
        on_path(&["chromedriver"]),
        on_path(&["chromium", "chromium-browser", "google-chrome"]),
    ) else {
        eprintln!(
            "SKIPPED the_data_page_in_a_real_browser: chromium and chromedriver were not found \
             on PATH (Debian: apt-get install -y chromium chromium-driver; .ci/run does it)"
        );
        return;
    };
    // Two rustls providers are linked (ring, and aws-lc through the WebDriver client): pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let running = start(Some(TOKEN));
    let live = send_traffic(&running).await;
    let seeded = seed_earlier_days(&running.proxy.data_dir);
    let total = live.len() + seeded;

    let port = common::free_port();
    let _driver = Driver(
        Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    common::eventually(Duration::from_secs(20), "chromedriver to listen", || {
        TcpStream::connect(("127.0.0.1", port)).map(|_| ())
    });
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": ["--headless=new", "--no-sandbox",
            "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,1000"]}),
    );
    let client = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    let admin = running.admin.clone();

    // Not logged in: the login form.
    client.goto(&format!("{admin}/ui/")).await.unwrap();
    assert!(client
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/ui/login"));
    shot(&client, "1-login").await;
    let field = client
        .find(Locator::Css("input[name=token]"))
        .await
        .unwrap();
    field.send_keys(TOKEN).await.unwrap();
    client
        .find(Locator::Css("form[action='/ui/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    common::eventually_async(
        Duration::from_secs(10),
        "the overview after the login",
        || async {
            let url = client.current_url().await.map_err(|e| e.to_string())?;
            let source = client.source().await.map_err(|e| e.to_string())?;
            common::check(
                url.path() == "/ui/" && source.contains("data-workflow"),
                || format!("{url}: {source}"),
            )
        },
    )
    .await;

    // The overview, numbers checked against the records.
    let records = text_of(&client, "[data-workflow=chat] [data-stat=records]").await;
    assert_eq!(records, total.to_string());
    let prompt_tokens = text_of(&client, "[data-workflow=chat] [data-stat=prompt_tokens]").await;
    assert_eq!(prompt_tokens, (10 * live.len() + seeded).to_string());
    let streamed = text_of(&client, "[data-workflow=chat] [data-stat=streamed]").await;
    assert_eq!(
        streamed,
        format!("{:.1} %", 100.0 * seeded as f64 / total as f64)
    );
    let bars = client
        .find_all(Locator::Css("svg.chart rect.bar"))
        .await
        .unwrap();
    assert_eq!(bars.len(), 30, "one bar per day of the default range");
    shot(&client, "2-overview").await;

    // Search, then open the record.
    client.goto(&format!("{admin}/ui/records")).await.unwrap();
    let rows = client.find_all(Locator::Css("tr.row")).await.unwrap();
    assert_eq!(rows.len(), total);
    shot(&client, "3-records").await;
    let search = client.find(Locator::Css("input[name=q]")).await.unwrap();
    search.send_keys("weather in paris").await.unwrap();
    search.send_keys("\u{E007}").await.unwrap(); // Enter
    common::eventually_async(Duration::from_secs(10), "the search result", || async {
        let rows = client
            .find_all(Locator::Css("tr.row"))
            .await
            .map_err(|e| e.to_string())?;
        common::check(rows.len() == 1, || format!("{} rows", rows.len()))
    })
    .await;
    shot(&client, "4-search").await;
    client
        .find(Locator::Css("tr.row td a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let roles: Vec<String> = {
        let mut out = Vec::new();
        for bubble in client.find_all(Locator::Css(".bubble")).await.unwrap() {
            out.push(bubble.attr("data-role").await.unwrap().unwrap_or_default());
        }
        out
    };
    assert_eq!(roles, ["system", "user", "assistant"]);
    let call = text_of(&client, ".bubble.assistant .call").await;
    assert!(
        call.contains("get_weather") && call.contains("\"city\": \"Paris\""),
        "{call}"
    );
    shot(&client, "5-record-tool-call").await;

    // The record with <script> renders it as text and runs nothing.
    client
        .goto(&format!("{admin}/ui/records?q=__xss"))
        .await
        .unwrap();
    client
        .find(Locator::Css("tr.row td a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let user = text_of(&client, ".bubble.user .text").await;
    assert!(user.contains("<script>window.__xss=1</script>"), "{user}");
    let ran = client
        .execute("return window.__xss === 1;", vec![])
        .await
        .unwrap();
    assert_eq!(ran, Value::Bool(false), "a recorded script must not run");
    assert!(client.find(Locator::Css("details.reasoning")).await.is_ok());
    shot(&client, "6-record-chat").await;

    // good, with a note and tags: reaches labels.jsonl, export --label good and --tag.
    client
        .find(Locator::Css("#label-note"))
        .await
        .unwrap()
        .send_keys("escaped nicely")
        .await
        .unwrap();
    let tags_field = client.find(Locator::Css("#label-tags")).await.unwrap();
    assert_eq!(
        tags_field.prop("value").await.unwrap().as_deref(),
        Some(""),
        "no tags yet"
    );
    tags_field
        .send_keys(" tone, <i>odd</i>,, tone")
        .await
        .unwrap();
    client
        .find(Locator::Css("button.good"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    common::eventually_async(Duration::from_secs(10), "the label to be saved", || async {
        let status = text_of(&client, "#label-status").await;
        common::check(status == "saved", || status.clone())
    })
    .await;
    shot(&client, "7-labelled").await;
    let request_id = live[0]["request_id"].as_str().unwrap().to_owned();
    let labels_file = std::fs::read_dir(running.proxy.data_dir.join("chat"))
        .unwrap()
        .map(|d| d.unwrap().path().join("labels.jsonl"))
        .find(|p| p.is_file())
        .expect("a labels.jsonl");
    let labels = std::fs::read_to_string(&labels_file).unwrap();
    let line: Value = serde_json::from_str(labels.lines().last().expect("a label line"))
        .unwrap_or_else(|e| panic!("{e}: {labels}"));
    assert_eq!(line["request_id"], request_id.as_str(), "{labels}");
    assert_eq!(line["label"], "good");
    assert_eq!(line["note"], "escaped nicely");
    assert_eq!(
        line["tags"],
        json!(["tone", "<i>odd</i>"]),
        "trimmed, no empty ones, each once"
    );
    let data_dir = &running.proxy.data_dir;
    for filter in [
        ["--label", "good"],
        ["--tag", "tone"],
        ["--tag", "<i>odd</i>"],
    ] {
        let exported = export(data_dir, &filter);
        assert_eq!(exported.lines().count(), 1, "{filter:?}: {exported}");
        assert!(exported.contains("__xss"), "{filter:?}: {exported}");
    }
    assert_eq!(
        export(data_dir, &["--tag", "odd"]),
        "",
        "a tag is matched whole"
    );
    // Reloaded, the page shows the label and its tags, as text.
    client.refresh().await.unwrap();
    assert_eq!(text_of(&client, "#label-current").await, "good");
    let tags_field = client.find(Locator::Css("#label-tags")).await.unwrap();
    assert_eq!(
        tags_field.prop("value").await.unwrap().as_deref(),
        Some("tone, <i>odd</i>")
    );
    assert!(
        client
            .find_all(Locator::Css("#labeller i"))
            .await
            .unwrap()
            .is_empty(),
        "a tag is text, not markup"
    );
    shot(&client, "7b-labelled-reloaded").await;

    client.goto(&format!("{admin}/ui/live")).await.unwrap();
    assert_eq!(text_of(&client, "#generation").await, "1");
    shot(&client, "8-live").await;
    client.close().await.unwrap();
}

/// What `micromodel export --format openai` with `filter` writes for `data_dir`.
fn export(data_dir: &std::path::Path, filter: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("export")
        .args(filter)
        .args(["--format", "openai", "--data-dir"])
        .arg(data_dir)
        .output()
        .expect("run micromodel export");
    assert!(
        out.status.success(),
        "{filter:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}
