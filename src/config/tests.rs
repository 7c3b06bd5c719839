//! Unit tests for §1: one test (at least) per rule, with the exact error variant.

mod client_keys;
mod fields;
mod normalise;
mod safety;

use super::*;
use std::net::{IpAddr, Ipv4Addr};

/// An environment with `SECRET=sk-from-env`, `EMPTY=""`, `NEWLINE="sk-nl\n"`.
pub(super) fn fake_env(name: &str) -> Option<String> {
    match name {
        "SECRET" => Some("sk-from-env".into()),
        "EMPTY" => Some(String::new()),
        "NEWLINE" => Some("sk-nl\n".into()),
        _ => None,
    }
}

pub(super) fn try_parse(text: &str) -> Result<Config, ConfigErrors> {
    parse(text, LoadOptions::default(), &fake_env)
}

pub(super) fn errors_of(text: &str) -> Vec<ConfigError> {
    match try_parse(text) {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(e) => e.errors,
    }
}

/// A one-workflow config `{"w": {<fields>}}`.
pub(super) fn one(fields: &str) -> String {
    format!(r#"{{"w": {{{fields}}}}}"#)
}

/// The single error of a one-workflow config with a valid host and port plus `extra`.
pub(super) fn single_error(extra: &str) -> ConfigError {
    let text = one(&format!(
        r#""OPENAI_API_HOST": "http://h", "PORT": 3001, {extra}"#
    ));
    let mut errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

pub(super) fn w(s: &str) -> String {
    s.to_owned()
}

#[test]
fn seed_example_parses_into_two_workflows() {
    let config = try_parse(EXAMPLE).expect("example is valid");
    assert_eq!(config.workflows.len(), 2);
    let default = &config.workflows["default"];
    assert_eq!(default.id, "default");
    assert_eq!(default.api_host, "http://localhost:11434");
    assert_eq!(default.api_key, None);
    assert_eq!(default.addr, "127.0.0.1:3001".parse().unwrap());
    assert_eq!(default.timeout, DEFAULT_TIMEOUT);
    let custom = &config.workflows["custom_workflow"];
    assert_eq!(custom.api_key.as_ref().map(ApiKey::expose), Some("12345"));
    assert_eq!(custom.addr.port(), 3002);
}

#[test]
fn default_host_comes_from_options() {
    let opts = LoadOptions {
        default_host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ..LoadOptions::default()
    };
    let config = parse(EXAMPLE, opts, &fake_env).unwrap();
    assert_eq!(
        config.workflows["default"].addr,
        "0.0.0.0:3001".parse().unwrap()
    );
}

#[test]
fn debug_of_config_never_shows_the_key() {
    let text = r#"{"a": {"OPENAI_API_HOST": "http://h", "PORT": 1, "API_KEY": "sk-literal-123"},
                   "b": {"OPENAI_API_HOST": "http://h", "PORT": 2, "API_KEY": "env:SECRET"}}"#;
    let config = try_parse(text).unwrap();
    let debug = format!("{config:?} {config:#?}");
    assert!(!debug.contains("sk-literal-123"), "{debug}");
    assert!(!debug.contains("sk-from-env"), "{debug}");
    assert!(debug.contains("ApiKey(***)"));
    assert_eq!(
        config.workflows["b"].api_key.as_ref().unwrap().expose(),
        "sk-from-env"
    );
}

#[test]
fn missing_file_is_its_own_variant() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&dir.path().join("nope.json"), LoadOptions::default()).unwrap_err();
    assert!(err.is_missing_file());
    assert!(matches!(err.errors[..], [ConfigError::MissingFile { .. }]));
}

#[test]
fn unreadable_file_is_reported_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    // A directory cannot be read as a file.
    let err = load(dir.path(), LoadOptions::default()).unwrap_err();
    assert!(!err.is_missing_file());
    assert!(matches!(err.errors[..], [ConfigError::Unreadable { .. }]));

    let file = dir.path().join("latin1.json");
    std::fs::write(&file, b"{\"caf\xe9\": 1}").unwrap();
    let err = load(&file, LoadOptions::default()).unwrap_err();
    assert!(
        matches!(&err.errors[..], [ConfigError::Unreadable { reason, .. }] if reason.contains("UTF-8"))
    );
}

#[test]
fn load_reads_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, EXAMPLE).unwrap();
    assert_eq!(
        load(&file, LoadOptions::default()).unwrap().workflows.len(),
        2
    );
}

#[test]
fn invalid_json_has_line_and_column() {
    let errors = errors_of("{\n  \"w\": {\"PORT\": 1,}\n}");
    let [ConfigError::InvalidJson {
        line,
        column,
        message,
    }] = &errors[..]
    else {
        panic!("{errors:?}");
    };
    assert_eq!((*line, *column), (2, 19));
    assert!(!message.contains("at line"), "{message}");
    assert_eq!(
        errors[0].to_string(),
        format!("invalid JSON at line 2, column 19: {message}")
    );
}

#[test]
fn trailing_garbage_is_invalid_json() {
    assert!(matches!(
        errors_of(r#"{"w": {}} x"#)[..],
        [ConfigError::InvalidJson { line: 1, .. }]
    ));
}

#[test]
fn empty_text_top_level_not_object_and_empty_object() {
    assert_eq!(errors_of("  \n"), vec![ConfigError::EmptyFile]);
    assert_eq!(
        errors_of("[1, 2]"),
        vec![ConfigError::TopLevelNotObject {
            found: w("an array")
        }]
    );
    assert_eq!(
        errors_of("\"x\""),
        vec![ConfigError::TopLevelNotObject {
            found: w("a string")
        }]
    );
    assert_eq!(errors_of("{}"), vec![ConfigError::NoWorkflows]);
}

#[test]
fn byte_order_mark_is_ignored() {
    let text = format!("\u{feff}{EXAMPLE}");
    assert_eq!(try_parse(&text).unwrap().workflows.len(), 2);
}

#[test]
fn workflow_not_an_object() {
    assert_eq!(
        errors_of(r#"{"w": [1]}"#),
        vec![ConfigError::WorkflowNotObject {
            workflow: w("w"),
            found: w("an array"),
        }]
    );
}

#[test]
fn missing_required_fields() {
    assert_eq!(
        errors_of(&one("")),
        vec![
            ConfigError::MissingField {
                workflow: w("w"),
                field: "OPENAI_API_HOST",
            },
            ConfigError::MissingField {
                workflow: w("w"),
                field: "PORT",
            },
        ]
    );
}

#[test]
fn invalid_workflow_ids() {
    let long = "a".repeat(65);
    for id in [
        "",
        ".",
        "..",
        "../escaped",
        "a/b",
        "a b",
        "é",
        long.as_str(),
    ] {
        let text = format!(r#"{{{id:?}: {{"OPENAI_API_HOST": "http://h", "PORT": 1}}}}"#);
        let errors = errors_of(&text);
        assert!(
            matches!(&errors[..], [ConfigError::InvalidWorkflowId { workflow, .. }] if workflow == id),
            "{id:?}: {errors:?}"
        );
    }
    let ok = "a".repeat(64);
    let text = format!(
        r#"{{"{ok}": {{"OPENAI_API_HOST": "http://h", "PORT": 1}}, "A-z_0.9": {{"OPENAI_API_HOST": "http://h", "PORT": 2}}}}"#
    );
    assert_eq!(try_parse(&text).unwrap().workflows.len(), 2);
}

#[test]
fn duplicate_workflow_id_is_detected() {
    let text = r#"{"w": {"OPENAI_API_HOST": "http://h", "PORT": 1},
                   "w": {"OPENAI_API_HOST": "http://h", "PORT": 2}}"#;
    assert_eq!(
        errors_of(text),
        vec![ConfigError::DuplicateWorkflow {
            workflow: w("w"),
            count: 2,
        }]
    );
}

#[test]
fn duplicate_field_is_detected() {
    assert_eq!(
        single_error(r#""PORT": 3002"#),
        ConfigError::DuplicateField {
            workflow: w("w"),
            field: w("PORT"),
            count: 2,
        }
    );
}

#[test]
fn shared_port_names_all_workflows_regardless_of_host() {
    let text = r#"{"a": {"OPENAI_API_HOST": "http://h", "PORT": 4000, "HOST": "127.0.0.1"},
                   "b": {"OPENAI_API_HOST": "http://h", "PORT": 4000, "HOST": "0.0.0.0"},
                   "c": {"OPENAI_API_HOST": "http://h", "PORT": 4001},
                   "d": {"OPENAI_API_HOST": "ftp://h", "PORT": 4000}}"#;
    let errors = errors_of(text);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        errors[1],
        ConfigError::DuplicatePort {
            port: 4000,
            workflows: vec![w("a"), w("b"), w("d")],
        }
    );
    assert_eq!(
        errors[1].to_string(),
        r#"PORT 4000 is used by more than one workflow: "a", "b", "d""#
    );
}

#[test]
fn three_problems_are_all_reported() {
    let text = r#"{"ok": {"OPENAI_API_HOST": "http://h", "PORT": 1},
                   "bad": {"OPENAI_API_HOST": "h", "PORT": "3001", "APIKEY": "x"}}"#;
    let errors = errors_of(text);
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(matches!(
        &errors[0],
        ConfigError::UnknownField {
            suggestion: Some("API_KEY"),
            ..
        }
    ));
    assert!(
        matches!(&errors[1], ConfigError::InvalidApiHost { workflow, .. } if workflow == "bad")
    );
    assert!(matches!(
        &errors[2],
        ConfigError::WrongType { field: "PORT", .. }
    ));
    let shown = ConfigErrors { errors }.to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
    assert!(shown.lines().all(|l| l.contains("\"bad\"")), "{shown}");
}

#[test]
fn errors_display_names_workflow_and_field() {
    let e = single_error(r#""TIMEOUT_SECONDS": 0"#);
    let shown = e.to_string();
    assert!(
        shown.contains("\"w\"") && shown.contains("TIMEOUT_SECONDS"),
        "{shown}"
    );
    let e = ConfigError::MissingField {
        workflow: w("w"),
        field: "PORT",
    };
    assert_eq!(
        e.to_string(),
        r#"workflow "w": missing required field PORT"#
    );
}
