//! Start-up failures of `serve` that come from binding: every workflow address that is taken
//! is named and nothing serves (exit 1); a taken `--admin-addr` is named as the admin listener.

use std::net::TcpListener;
use std::process::{Command, Output};

fn serve(config: &str, extra: &[&str]) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    std::fs::write(&path, config).expect("write config");
    let data = dir.path().join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(&data)
        .args(extra)
        .env_remove("MICROMODEL_CONFIG")
        .env_remove("MICROMODEL_ADMIN_ADDR")
        .output()
        .expect("run micromodel");
    (dir, output)
}

/// A port held by this test process for as long as the listener lives.
fn held() -> (TcpListener, u16) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("hold a port");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

#[test]
fn every_taken_workflow_port_is_named_and_the_start_fails() {
    let (_a, a) = held();
    let (_b, b) = held();
    let free = TcpListener::bind(("127.0.0.1", 0)).expect("probe");
    let c = free.local_addr().expect("addr").port();
    drop(free);
    let config = format!(
        r#"{{"a":{{"OPENAI_API_HOST":"http://127.0.0.1:9","PORT":{a}}},
            "b":{{"OPENAI_API_HOST":"http://127.0.0.1:9","PORT":{b}}},
            "c":{{"OPENAI_API_HOST":"http://127.0.0.1:9","PORT":{c}}}}}"#
    );
    let (_dir, out) = serve(&config, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("could not bind 127.0.0.1:{a} (workflow a)")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("could not bind 127.0.0.1:{b} (workflow b)")),
        "{stderr}"
    );
    assert!(!stderr.contains("(workflow c)"), "{stderr}");
    assert!(
        !stderr.contains("Workflow listening."),
        "all or nothing: {stderr}"
    );
}

#[test]
fn a_taken_admin_address_is_named_as_the_admin_listener() {
    let (_admin, admin) = held();
    let free = TcpListener::bind(("127.0.0.1", 0)).expect("probe");
    let port = free.local_addr().expect("addr").port();
    drop(free);
    let config = format!(r#"{{"a":{{"OPENAI_API_HOST":"http://127.0.0.1:9","PORT":{port}}}}}"#);
    let admin_addr = format!("127.0.0.1:{admin}");
    let (_dir, out) = serve(&config, &["--admin-addr", &admin_addr]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("could not bind the admin listener {admin_addr}")),
        "{stderr}"
    );
    assert!(!stderr.contains("(admin)"), "{stderr}");
}
