//! Issue 14 (3): `REDACT` validation, every problem at once.

use super::*;

const BASE: &str = r#""OPENAI_API_HOST": "http://h", "PORT": 3001"#;

fn workflow_with(redact: &str) -> Workflow {
    let config = try_parse(&one(&format!(r#"{BASE}, "REDACT": {redact}"#))).unwrap();
    config.workflows["w"].clone()
}

fn messages(redact: &str) -> Vec<String> {
    errors_of(&one(&format!(r#"{BASE}, "REDACT": {redact}"#)))
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn absent_null_and_empty_redact_nothing() {
    assert_eq!(try_parse(&one(BASE)).unwrap().workflows["w"].redact, None);
    assert_eq!(workflow_with("null").redact, None);
    assert_eq!(workflow_with("[]").redact, None);
}

#[test]
fn names_all_and_custom_rules_compile() {
    let redactor = workflow_with(
        r#"["email", "phone", {"pattern": "EMP-\\d+", "replace": "[EMP]", "name": "employee"}]"#,
    )
    .redact
    .unwrap();
    assert_eq!(redactor.rules().len(), 3);
    let all = workflow_with(r#"["all", "email"]"#).redact.unwrap();
    assert_eq!(all.rules().len(), 6, "\"all\" is every built-in, each once");
}

#[test]
fn every_problem_is_reported_with_its_entry() {
    let found = messages(
        r#"["emial", 3, {"pattern": "(", "replace": "x"}, {"replace": "x"},
           {"pattern": "a", "replace": 1, "extra": true}, {"pattern": "b*", "replace": ""},
           {"pattern": "c", "replace": "", "name": "bad name"}]"#,
    );
    let expected = [
        r#"workflow "w": field REDACT[0]: unknown detector "emial" (did you mean email?)"#,
        "workflow \"w\": field REDACT[1]: must be a detector name or a {\"pattern\", \"replace\"} object, found the number 3",
        r#"workflow "w": field REDACT[3]: missing "pattern" (a string)"#,
        r#"workflow "w": field REDACT[4]: unknown key "extra" (a rule has "pattern", "replace" and an optional "name"); "replace" must be a string, found the number 1"#,
        r#"workflow "w": field REDACT[6]: "name" "bad name" must be 1-32 letters, digits, `_` or `-`"#,
        r#"workflow "w": field REDACT[2]: pattern "(" is not a valid regex: unclosed group"#,
        r#"workflow "w": field REDACT[5]: pattern "b*" matches the empty string"#,
    ];
    assert_eq!(found, expected);
}

#[test]
fn redact_of_the_wrong_type_and_a_misspelt_field() {
    assert_eq!(
        messages(r#""email""#),
        ["workflow \"w\": field REDACT: must be an array of detector names and {\"pattern\", \"replace\"} rules, found the string \"email\""]
    );
    let error = single_error(r#""REDACTION": ["email"]"#);
    assert!(
        matches!(
            &error,
            ConfigError::UnknownField {
                suggestion: Some("REDACT"),
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn an_unknown_name_far_from_any_lists_the_known_ones() {
    assert_eq!(
        messages(r#"["zzzzzzzz"]"#),
        [
            r#"workflow "w": field REDACT[0]: unknown detector "zzzzzzzz" (known: email, phone, credit_card, secrets, ipv4, ipv6, all)"#
        ]
    );
}
