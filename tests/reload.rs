//! §5 live reload through the real binary: real files, real sockets, real signals.

mod common;
mod reload_support;

use std::time::Duration;

use common::{client, free_port, Proxy};
use reload_support::{
    applied_exactly, chat, config_n, finish_stream, gated_upstream, start_stream, workflow,
};
use serde_json::{json, Value};
use tokio::sync::watch;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_and_removing_workflows_while_a_stream_drains() {
    let (gate_tx, gate) = watch::channel(false);
    let upstream = gated_upstream("up", gate);
    let (a, b) = (free_port(), free_port());
    let proxy = Proxy::start(&json!({"keep": workflow(&upstream.url, a)}), &[]);
    let in_flight = start_stream(a).await;

    // Add `b`, remove `keep` (whose stream is in flight) in one save.
    proxy.write_config(&json!({"added": workflow(&upstream.url, b)}));
    proxy.wait_log("Config reloaded.", 1);
    assert_eq!(
        chat(b, "to the new one")
            .await
            .expect("new port answers")
            .status(),
        200
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", a)).is_err(),
        "removed port refuses new connections"
    );
    gate_tx.send(true).expect("open gate");
    let text = finish_stream(in_flight).await;
    assert!(
        text.contains("part two") && text.contains("[DONE]"),
        "{text}"
    );
    let kept = proxy.wait_records("keep", 1);
    assert_eq!(kept[0]["messages"][1]["content"], "up part one, part two");
    assert_eq!(kept[0]["stream"], true);
    proxy.wait_records("added", 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_and_key_change_mid_stream_apply_to_the_next_request() {
    let (gate_tx, gate) = watch::channel(false);
    let old = gated_upstream("old", gate.clone());
    let new = gated_upstream("new", gate);
    let port = free_port();
    let mut first = json!({"w": workflow(&old.url, port)});
    first["w"]["API_KEY"] = json!("key-old");
    let proxy = Proxy::start(&first, &[]);
    let in_flight = start_stream(port).await;

    let mut second = json!({"w": workflow(&new.url, port)});
    second["w"]["API_KEY"] = json!("key-new");
    proxy.write_config(&second);
    proxy.wait_log("Config reloaded.", 1);
    let response = chat(port, "next").await.expect("send");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["choices"][0]["message"]["content"], "new");
    assert_eq!(new.seen()[0].headers["authorization"], "Bearer key-new");

    gate_tx.send(true).expect("open gate");
    let text = finish_stream(in_flight).await;
    assert!(
        text.contains("chatcmpl-old") && text.contains("part two"),
        "{text}"
    );
    assert_eq!(old.seen().len(), 1, "the stream stayed on the old upstream");
    assert_eq!(old.seen()[0].headers["authorization"], "Bearer key-old");
    let records = proxy.wait_records("w", 2);
    assert!(records
        .iter()
        .any(|r| r["messages"][1]["content"] == "old part one, part two"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_ports_and_renaming_in_one_save() {
    let (_gate_tx, gate) = watch::channel(true);
    let up_a = gated_upstream("A", gate.clone());
    let up_b = gated_upstream("B", gate);
    let (p1, p2) = (free_port(), free_port());
    let proxy = Proxy::start(
        &json!({"alpha": workflow(&up_a.url, p1), "beta": workflow(&up_b.url, p2)}),
        &[],
    );
    // alpha moves to p2, beta is renamed gamma and moves to p1.
    proxy
        .write_config(&json!({"alpha": workflow(&up_a.url, p2), "gamma": workflow(&up_b.url, p1)}));
    proxy.wait_log("Config reloaded.", 1);
    let on_p1: Value = chat(p1, "p1")
        .await
        .expect("p1")
        .json()
        .await
        .expect("json");
    let on_p2: Value = chat(p2, "p2")
        .await
        .expect("p2")
        .json()
        .await
        .expect("json");
    assert_eq!(on_p1["choices"][0]["message"]["content"], "B");
    assert_eq!(on_p2["choices"][0]["message"]["content"], "A");
    let gamma = proxy.wait_records("gamma", 1);
    assert_eq!(gamma[0]["messages"][0]["content"], "p1");
    let alpha = proxy.wait_records("alpha", 1);
    assert_eq!(alpha[0]["messages"][0]["content"], "p2");
    assert!(proxy.records("beta").is_empty());
    let health: Value = client()
        .get(format!("{}/health", Proxy::url(p1)))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["workflow_id"], "gamma");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_held_by_another_process_rolls_the_reload_back() {
    let (_gate_tx, gate) = watch::channel(true);
    let upstream = gated_upstream("up", gate);
    let (a, b) = (free_port(), free_port());
    let holder = std::net::TcpListener::bind(("127.0.0.1", b)).expect("hold port");
    let proxy = Proxy::start(&json!({"one": workflow(&upstream.url, a)}), &[]);
    // Valid config, but `b` is taken; `one` would also move its upstream.
    proxy.write_config(
        &json!({"one": workflow("http://127.0.0.1:1", a), "two": workflow(&upstream.url, b)}),
    );
    proxy.wait_log("Reload rolled back", 1);
    let response = chat(a, "still old").await.expect("old listener answers");
    assert_eq!(
        response.status(),
        200,
        "old settings untouched (upstream not swapped)"
    );
    drop(holder);
    // Once the port is free, the next trigger applies the config.
    proxy.signal(libc::SIGHUP);
    proxy.wait_log("Config reloaded.", 1);
    assert_eq!(chat(b, "two").await.expect("two answers").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_empty_duplicate_and_deleted_configs_change_nothing() {
    let (_gate_tx, gate) = watch::channel(true);
    let upstream = gated_upstream("up", gate);
    let (a, b) = (free_port(), free_port());
    let proxy = Proxy::start(&json!({"one": workflow(&upstream.url, a)}), &[]);
    let path = proxy.config_path.clone();

    std::fs::write(&path, "{ not json").expect("write");
    proxy.wait_log("Reload rejected", 1);
    std::fs::write(
        &path,
        serde_json::to_vec(
            &json!({"one": workflow(&upstream.url, a), "two": workflow(&upstream.url, a)}),
        )
        .expect("json"),
    )
    .expect("write");
    proxy.wait_log("Reload rejected", 2);
    assert!(
        proxy.logs().contains("PORT"),
        "every validation message is logged"
    );

    // Truncate, pause, then write: the empty file is rejected, the full one applied.
    std::fs::File::create(&path).expect("truncate");
    proxy.wait_log("Reload rejected", 3);
    assert_eq!(chat(a, "during").await.expect("send").status(), 200);

    std::fs::remove_file(&path).expect("delete");
    proxy.wait_log("Reload rejected", 4);
    assert_eq!(chat(a, "deleted").await.expect("send").status(), 200);

    std::fs::write(
        &path,
        serde_json::to_vec(
            &json!({"one": workflow(&upstream.url, a), "two": workflow(&upstream.url, b)}),
        )
        .expect("json"),
    )
    .expect("write");
    proxy.wait_log("Config reloaded.", 1);
    assert_eq!(chat(b, "after").await.expect("send").status(), 200);
    assert_eq!(proxy.logs().matches("Config reloaded.").count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saves_in_place_by_rename_and_by_sed_each_apply_once() {
    let (_gate_tx, gate) = watch::channel(true);
    let upstream = gated_upstream("up", gate);
    let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
    let proxy = Proxy::start(
        &serde_json::from_slice(&config_n(&upstream.url, &ports, 1)).expect("json"),
        &[],
    );
    let path = proxy.config_path.clone();

    // In place.
    std::fs::write(&path, config_n(&upstream.url, &ports, 2)).expect("write");
    applied_exactly(&proxy, 1);
    assert_eq!(chat(ports[1], "w1").await.expect("send").status(), 200);

    // Write a temporary file, then rename it over config.json (vim, most editors).
    let temp = path.with_file_name(".config.json.swp");
    std::fs::write(&temp, config_n(&upstream.url, &ports, 3)).expect("write");
    std::fs::rename(&temp, &path).expect("rename");
    applied_exactly(&proxy, 2);
    assert_eq!(chat(ports[2], "w2").await.expect("send").status(), 200);

    // sed -i (its own temp file and rename).
    let status = std::process::Command::new("sed")
        .arg("-i")
        .arg(r#"s/"w2"/"renamed"/"#)
        .arg(&path)
        .status()
        .expect("sed");
    assert!(status.success());
    applied_exactly(&proxy, 3);
    chat(ports[2], "renamed now").await.expect("send");
    proxy.wait_records("renamed", 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubernetes_configmap_symlink_swap_applies_once() {
    let (_gate_tx, gate) = watch::channel(true);
    let upstream = gated_upstream("up", gate);
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    // config.json -> ..data/config.json, ..data -> ..v1, as the kubelet lays out a ConfigMap.
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("configmap");
    std::fs::create_dir_all(root.join("..v1")).expect("mkdir");
    std::fs::write(
        root.join("..v1/config.json"),
        config_n(&upstream.url, &ports, 1),
    )
    .expect("write");
    std::os::unix::fs::symlink("..v1", root.join("..data")).expect("symlink");
    std::os::unix::fs::symlink("..data/config.json", root.join("config.json")).expect("symlink");
    let data_dir = dir.path().join("data");
    let proxy = Proxy::launch(
        dir,
        root.join("config.json"),
        data_dir,
        &ports[..1],
        &[],
        &[],
    );

    // The kubelet's update: new folder, new symlink renamed over ..data, old folder deleted.
    std::fs::create_dir_all(root.join("..v2")).expect("mkdir");
    std::fs::write(
        root.join("..v2/config.json"),
        config_n(&upstream.url, &ports, 2),
    )
    .expect("write");
    std::os::unix::fs::symlink("..v2", root.join("..data_tmp")).expect("symlink");
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).expect("swap");
    std::fs::remove_dir_all(root.join("..v1")).expect("remove old");
    applied_exactly(&proxy, 1);
    assert_eq!(chat(ports[1], "w1").await.expect("send").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_change_the_watcher_did_not_see() {
    let (_gate_tx, gate) = watch::channel(true);
    let upstream = gated_upstream("up", gate);
    let ports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let proxy = Proxy::start(
        &serde_json::from_slice(&config_n(&upstream.url, &ports, 1)).expect("json"),
        &[],
    );
    // A hard link in another folder: writing through it changes config.json's content
    // without any event in the watched folder.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let link = elsewhere.path().join("link.json");
    std::fs::hard_link(&proxy.config_path, &link).expect("hard link");
    // Linking changes config.json's link count (an attribute event the watcher does see);
    // let that reload find the config unchanged before writing.
    std::thread::sleep(common::upstream::SETTLE);
    {
        use std::io::{Seek, Write};
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .open(&link)
            .expect("open");
        let text = config_n(&upstream.url, &ports, 2);
        file.set_len(0).expect("truncate");
        file.rewind().expect("rewind");
        file.write_all(&text).expect("write");
    }
    std::thread::sleep(common::upstream::SETTLE);
    assert_eq!(
        proxy.logs().matches("Config reloaded.").count(),
        0,
        "the watcher saw nothing: {}",
        proxy.logs()
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", ports[1])).is_err());
    // Reading config.json must not itself count as a change (no reload loop): at most the
    // one reload that the link's attribute change triggered.
    assert!(
        proxy.logs().matches("Config unchanged").count() <= 1,
        "{}",
        proxy.logs()
    );
    proxy.signal(libc::SIGHUP);
    applied_exactly(&proxy, 1);
    assert_eq!(chat(ports[1], "w1").await.expect("send").status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_skips_the_drain_but_still_flushes() {
    let (_gate_tx, gate) = watch::channel(false);
    let upstream = gated_upstream("up", gate);
    let port = free_port();
    let mut proxy = Proxy::start(
        &json!({"w": workflow(&upstream.url, port)}),
        &["--drain-seconds", "600"],
    );
    assert_eq!(
        chat(port, "done before the stop")
            .await
            .expect("send")
            .status(),
        200
    );
    // A stream that will never finish on its own.
    let stuck = start_stream(port).await;
    proxy.signal(libc::SIGTERM);
    proxy.wait_log("draining", 1);
    proxy.signal(libc::SIGTERM);
    // Well inside the 600 s drain limit: the second signal cut the drain.
    let status = proxy.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0));
    drop(stuck);
    let records = proxy.records("w");
    assert_eq!(
        records.len(),
        1,
        "the finished answer was flushed; the cut stream was not recorded"
    );
    assert!(proxy.logs().contains("skipping the drain"));
}
