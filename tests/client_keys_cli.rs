//! `CLIENT_KEYS` at the command line: `hash-key`, `check`, and `serve --require-client-keys`
//! refusing to start.

mod client_keys_support;
mod common;

use client_keys_support::micromodel;
use common::free_port;
use serde_json::json;

#[test]
fn hash_key_prints_the_sha256_form_and_refuses_nothing_or_junk() {
    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    let abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    for input in [&b"abc"[..], b"abc\n", b"abc\r\n"] {
        let out = micromodel(&["hash-key"], input);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), abc);
    }
    for input in [&b""[..], b"\n", b" abc", b"a\x01c"] {
        let out = micromodel(&["hash-key"], input);
        assert_eq!(out.status.code(), Some(1), "{input:?}: {out:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains("micromodel hash-key:"));
    }
}

#[test]
fn check_says_which_workflows_are_open_and_reports_every_key_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let text = json!({
        "a": {"OPENAI_API_HOST": "http://h", "PORT": 1, "HOST": "0.0.0.0",
              "CLIENT_KEYS": [{"name": "x", "key": "k-1"}, {"name": "y", "key": "k-2"}]},
        "b": {"OPENAI_API_HOST": "http://h", "PORT": 2, "HOST": "0.0.0.0"},
        "c": {"OPENAI_API_HOST": "http://h", "PORT": 3},
    });
    std::fs::write(&path, text.to_string()).expect("write");
    let config = path.to_str().unwrap();
    let out = micromodel(&["check", "--config", config], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let line = |id: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id}:")))
            .unwrap()
            .to_owned()
    };
    assert!(line("a").contains("protected: 2 client keys"), "{stdout}");
    assert!(line("b").contains("open"), "{stdout}");
    assert!(line("c").contains("open"), "{stdout}");

    let out = micromodel(&["check", "--require-client-keys", "--config", config], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr.contains(r#"workflow "b" listens on 0.0.0.0:2"#),
        "{stderr}"
    );
    assert!(
        !stderr.contains(r#"workflow "a""#) && !stderr.contains(r#"workflow "c""#),
        "{stderr}"
    );

    let text = json!({"a": {"OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": [
        {"name": "x", "key": "secret-k1"}, {"name": "x", "key": "secret-k2"},
        {"name": "y", "key": "secret-k1"}, {"name": "z", "key": "sha256:12"},
        {"name": "w", "key": "env:MICROMODEL_TEST_UNSET_KEY"}]}});
    std::fs::write(&path, text.to_string()).expect("write");
    let out = micromodel(&["check", "--config", config], b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    for expected in [
        r#"the name "x" is used by 2 clients"#,
        r#"clients "x" and "y" have the same key"#,
        r#"client "z": a "sha256:" key must be followed by 64 hex digits"#,
        "MICROMODEL_TEST_UNSET_KEY is not set",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert_eq!(stderr.matches("field CLIENT_KEYS").count(), 4, "{stderr}");
    assert!(!stderr.contains("secret-k"), "{stderr}");
}

#[test]
fn require_client_keys_refuses_to_start_an_open_shared_port() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.json");
    let port = free_port();
    let text = json!({"w": {"OPENAI_API_HOST": "http://h", "PORT": port, "HOST": "0.0.0.0"}});
    std::fs::write(&path, text.to_string()).expect("write");
    let data = dir.path().join("data");
    let args = [
        "serve",
        "--require-client-keys",
        "--config",
        path.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let out = micromodel(&args, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("is not a loopback address, and has no CLIENT_KEYS"),
        "{stderr}"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
