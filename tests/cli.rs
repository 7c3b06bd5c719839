//! The `check` subcommand and start-up failures of `serve`, through the real binary.

use std::process::{Command, Output};

fn micromodel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(args)
        .env_remove("MICROMODEL_CONFIG")
        .output()
        .expect("run micromodel")
}

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("config.json");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn check_accepts_the_example_and_prints_what_would_run() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config.json.example");
    let out = micromodel(&["check", "--config", example]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("default") && stdout.contains("127.0.0.1:3001"),
        "{stdout}"
    );
    assert!(
        stdout.contains("custom_workflow") && stdout.contains("127.0.0.1:3002"),
        "{stdout}"
    );
    assert!(stdout.contains("http://localhost:11434"), "{stdout}");
    assert!(
        !stdout.contains("12345"),
        "the key is never printed: {stdout}"
    );
}

#[test]
fn check_reports_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        r#"{"a": {"OPENAI_API_HOST": "http://x", "PORT": "3001"},
            "b": {"OPENAI_API_HOST": "ftp://x", "PORT": 3002, "APIKEY": "k"}}"#,
    );
    let out = micromodel(&["check", "--config", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PORT"), "{stderr}");
    assert!(stderr.contains("OPENAI_API_HOST"), "{stderr}");
    assert!(
        stderr.contains("APIKEY") && stderr.contains("API_KEY"),
        "typo named with a suggestion: {stderr}"
    );
    assert!(
        stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("- "))
            .count()
            >= 3,
        "{stderr}"
    );
}

#[test]
fn check_reports_json_syntax_with_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "{\n  \"a\": {\"PORT\": 1,}\n}");
    let out = micromodel(&["check", "--config", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn serve_with_a_missing_config_fails_and_prints_the_example() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.json").display().to_string();
    let data = dir.path().join("data").display().to_string();
    let out = micromodel(&["--config", &missing, "--data-dir", &data]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nope.json"), "{stderr}");
    assert!(
        stderr.contains("\"OPENAI_API_HOST\": \"http://localhost:11434\""),
        "example printed: {stderr}"
    );
    let out = micromodel(&["check", "--config", &missing]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn serve_with_an_invalid_config_fails_with_the_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        r#"{"../escaped": {"OPENAI_API_HOST": "http://x", "PORT": 70000}}"#,
    );
    let data = dir.path().join("data").display().to_string();
    let out = micromodel(&["serve", "--config", &path, "--data-dir", &data]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("../escaped") && stderr.contains("70000"),
        "{stderr}"
    );
}

#[test]
fn flags_have_environment_twins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        r#"{"a": {"OPENAI_API_HOST": "http://x", "PORT": 3001}}"#,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_micromodel"))
        .args(["check"])
        .env("MICROMODEL_CONFIG", &path)
        .env("MICROMODEL_HOST", "0.0.0.0")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("0.0.0.0:3001"), "{stdout}");
}
