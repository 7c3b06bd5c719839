//! `CLIENT_KEYS` and `--require-client-keys`.

use super::*;
use crate::config::client_keys::{digest, hashed_form, ClientKeyProblem as P};

fn problems(list: &str) -> Vec<P> {
    let text = one(&format!(
        r#""OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": {list}"#
    ));
    errors_of(&text)
        .into_iter()
        .map(|e| match e {
            ConfigError::ClientKeys { workflow, problem } => {
                assert_eq!(workflow, "w");
                problem
            }
            other => panic!("not a CLIENT_KEYS error: {other:?}"),
        })
        .collect()
}

#[test]
fn valid_keys_keep_names_and_digests_only() {
    let hashed = hashed_form(b"k3");
    let text = one(&format!(
        r#""OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": [
            {{"name": "a", "key": "k1"}}, {{"name": "b", "key": "env:SECRET"}},
            {{"name": "c", "key": "{}"}}]"#,
        hashed.to_uppercase().replace("SHA256:", "sha256:")
    ));
    let config = try_parse(&text).expect("valid");
    let keys = config.workflows["w"].client_keys.clone().expect("keys");
    let names: Vec<&str> = keys.clients().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert_eq!(keys.clients()[1].digest(), &digest(b"sk-from-env"));
    assert_eq!(keys.clients()[2].digest(), &digest(b"k3"));
    assert!(!format!("{config:?}").contains("k1"));
}

#[test]
fn absent_or_null_is_open() {
    let text = one(r#""OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": null"#);
    assert!(try_parse(&text).unwrap().workflows["w"]
        .client_keys
        .is_none());
}

#[test]
fn every_problem_is_reported_at_once_without_a_key() {
    let found = problems(
        r#"[{"name": "", "key": "secret-1"}, {"name": "a", "key": "secret-2"},
            {"name": "a", "key": "secret-3"}, {"name": "b", "key": "secret-2"},
            {"name": "c", "key": "sha256:abc"}, {"name": "d", "key": "sha256:zz"},
            {"name": "e", "key": "env:UNSET"}, {"name": "f", "key": "env:EMPTY"},
            {"name": "g", "key": 12345}, {"key": "secret-4"}, {"name": "h"},
            {"name": 7, "key": "secret-5"}, "x", {"name": "i", "key": " secret-6"},
            {"name": "j", "key": "secret-7", "extra": 1}, {"name": "k", "key": ""}]"#,
    );
    let c = |n: &str| format!("client {n:?}");
    let expected = vec![
        P::InvalidName {
            who: "entry 1".into(),
            reason: "is empty",
        },
        P::DuplicateKey {
            first: "a".into(),
            second: "b".into(),
        },
        P::BadDigest {
            who: c("c"),
            reason: "it has 3 digits".into(),
        },
        P::BadDigest {
            who: c("d"),
            reason: "it contains a character that is not a hex digit".into(),
        },
        P::EnvVarUnset {
            who: c("e"),
            var: "UNSET".into(),
        },
        P::EnvVarEmpty {
            who: c("f"),
            var: "EMPTY".into(),
        },
        P::KeyNotString {
            who: c("g"),
            found: "a number",
        },
        P::MissingMember {
            who: "entry 10".into(),
            member: "name",
        },
        P::MissingMember {
            who: c("h"),
            member: "key",
        },
        P::NameNotString {
            who: "entry 12".into(),
            found: "the number 7".into(),
        },
        P::EntryNotObject {
            who: "entry 13".into(),
            found: "a string",
        },
        P::UnusableKey {
            who: c("i"),
            source_note: String::new(),
        },
        P::BadMember {
            who: c("j"),
            member: "extra".into(),
        },
        P::EmptyKey { who: c("k") },
        P::DuplicateName {
            name: "a".into(),
            count: 2,
        },
    ];
    assert_eq!(found, expected);
    let text = one(
        r#""OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": [{"name": "a", "key": "secret-1"}, {"name": "b", "key": "secret-1"}, {"name": "c", "key": 1234567}]"#,
    );
    let shown = try_parse(&text).unwrap_err().to_string();
    assert!(
        shown.contains("workflow \"w\": field CLIENT_KEYS"),
        "{shown}"
    );
    assert!(
        !shown.contains("secret") && !shown.contains("1234567"),
        "{shown}"
    );
}

#[test]
fn the_field_must_be_a_non_empty_list() {
    assert_eq!(problems(r#""k""#), vec![P::NotAList { found: "a string" }]);
    assert_eq!(problems("[]"), vec![P::Empty]);
}

#[test]
fn require_client_keys_refuses_open_non_loopback_workflows() {
    let text = r#"{
        "local": {"OPENAI_API_HOST": "http://h", "PORT": 1},
        "mapped": {"OPENAI_API_HOST": "http://h", "PORT": 2, "HOST": "::ffff:127.0.0.1"},
        "shared": {"OPENAI_API_HOST": "http://h", "PORT": 3, "HOST": "0.0.0.0"},
        "guarded": {"OPENAI_API_HOST": "http://h", "PORT": 4, "HOST": "0.0.0.0",
                    "CLIENT_KEYS": [{"name": "a", "key": "k"}]}}"#;
    let strict = LoadOptions {
        require_client_keys: true,
        ..LoadOptions::default()
    };
    assert!(parse(text, LoadOptions::default(), &fake_env).is_ok());
    let errors = parse(text, strict, &fake_env).unwrap_err().errors;
    assert_eq!(
        errors,
        vec![ConfigError::ClientKeysRequired {
            workflow: "shared".into(),
            addr: "0.0.0.0:3".parse().unwrap(),
        }]
    );
}
