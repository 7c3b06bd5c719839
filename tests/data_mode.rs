//! `--data-mode` (issue 14, item 5) through the real binary: new data files are created 0640
//! and folders 0750 by default (less what the umask removes), the flag changes both, an
//! existing folder keeps its mode, and a bad value is a clear start-up error.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::upstream::openai_like;
use common::{client, free_port, one_workflow, FakeUpstream, Proxy};
use serde_json::json;

/// This process's umask (Linux `/proc`), which the proxy it starts inherits.
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .expect("a Umask line");
    u32::from_str_radix(line.trim(), 8).expect("octal umask")
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Records one chat answer for workflow `w` and returns the data file's path.
async fn record_one(proxy: &Proxy, port: u16) -> PathBuf {
    let response = client()
        .post(format!("{}/v1/chat/completions", Proxy::url(port)))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    proxy.wait_records("w", 1);
    let days: Vec<PathBuf> = std::fs::read_dir(proxy.data_dir.join("w"))
        .expect("workflow folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(days.len(), 1, "{days:?}");
    days[0].join("data.jsonl")
}

/// Asserts the modes of the data folder, workflow folder, day folder and data file.
fn assert_modes(proxy: &Proxy, file: &Path, file_mode: u32, dir_mode: u32) {
    let mask = umask();
    let day = file.parent().expect("day folder");
    for dir in [proxy.data_dir.as_path(), &proxy.data_dir.join("w"), day] {
        assert_eq!(
            format!("{:04o}", mode_of(dir)),
            format!("{:04o}", dir_mode & !mask),
            "{} (umask {mask:04o})",
            dir.display()
        );
    }
    assert_eq!(
        format!("{:04o}", mode_of(file)),
        format!("{:04o}", file_mode & !mask),
        "{} (umask {mask:04o})",
        file.display()
    );
}

#[tokio::test]
async fn new_files_are_0640_and_folders_0750_by_default() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let proxy = Proxy::start(&one_workflow("w", &upstream.url, port, ""), &[]);
    let file = record_one(&proxy, port).await;
    assert_modes(&proxy, &file, 0o640, 0o750);
    assert_eq!(
        mode_of(&file) & 0o007,
        0,
        "world can read the training data"
    );
}

#[tokio::test]
async fn data_mode_sets_files_and_derives_or_takes_folders() {
    let upstream = FakeUpstream::start(openai_like);
    for (flag, file_mode, dir_mode) in [("0600", 0o600, 0o700), ("0660:0770", 0o660, 0o770)] {
        let port = free_port();
        let config = one_workflow("w", &upstream.url, port, "");
        let proxy = Proxy::start(&config, &["--data-mode", flag]);
        let file = record_one(&proxy, port).await;
        assert_modes(&proxy, &file, file_mode, dir_mode);
    }
    // The environment twin.
    let port = free_port();
    let config = one_workflow("w", &upstream.url, port, "");
    let proxy = Proxy::start_with_env(&config, &[], &[("MICROMODEL_DATA_MODE", "0600")]);
    let file = record_one(&proxy, port).await;
    assert_modes(&proxy, &file, 0o600, 0o700);
}

#[tokio::test]
async fn existing_folders_keep_their_mode() {
    let upstream = FakeUpstream::start(openai_like);
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("w")).expect("mkdir");
    for path in [&data, &data.join("w")] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let config = one_workflow("w", &upstream.url, port, "");
    let proxy = Proxy::start_in(dir, data.clone(), &config, &[], &[]);
    let file = record_one(&proxy, port).await;
    assert_eq!(mode_of(&data), 0o755);
    assert_eq!(mode_of(&data.join("w")), 0o755);
    let day = file.parent().expect("day");
    assert_eq!(
        mode_of(day),
        0o750 & !umask(),
        "the new day folder gets --data-mode"
    );
}

#[test]
fn a_bad_data_mode_is_a_clear_start_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (value, expected) in [
        ("0648", "is not an octal mode such as 0640"),
        ("rw-r-----", "is not an octal mode"),
        ("4750", "set-id or sticky bits"),
        ("0440", "must give the owner read and write"),
        ("0600:0500", "must give the owner read, write and search"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
            .args(["serve", "--config"])
            .arg(dir.path().join("config.json"))
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--data-mode", value])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("--data-mode") && stderr.contains(expected),
            "{value}: {stderr}"
        );
        assert!(!dir.path().join("data").exists(), "{value}: started anyway");
    }
}
