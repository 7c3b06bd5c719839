use super::*;

fn all() -> Redactor {
    Redactor::builtins()
}

fn custom(pattern: &str, replace: &str) -> Rule {
    Rule::Custom(CustomRule {
        pattern: pattern.to_owned(),
        replace: replace.to_owned(),
        name: CUSTOM.to_owned(),
    })
}

#[test]
fn each_builtin_replaces_with_its_placeholder_and_counts() {
    let mut counts = Counts::default();
    let text = "mail bob@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111, \
                key AKIAIOSFODNN7EXAMPLE, host 192.168.1.20 or 2001:db8::8a2e:370:7334";
    let out = all().redact(text, &mut counts).unwrap();
    assert_eq!(
        out,
        "mail [EMAIL], call [PHONE], card [CARD], key [SECRET], host [IP] or [IP]"
    );
    for name in ["email", "phone", "credit_card", "secrets", "ipv4", "ipv6"] {
        assert_eq!(counts.get(name), 1, "{name}: {counts:?}");
    }
}

#[test]
fn nothing_found_is_none_and_counts_nothing() {
    let mut counts = Counts::default();
    let text = "Order ORD-2024-000123 shipped on 2024-01-15 10:30:45, version 1.2.3";
    assert_eq!(all().redact(text, &mut counts), None);
    assert!(counts.is_empty());
}

#[test]
fn only_the_configured_detectors_run() {
    let email_only = Redactor::new(vec![Rule::Builtin(Detector::Email)]).unwrap();
    let mut counts = Counts::default();
    let out = email_only.redact("a@b.example 10.0.0.1", &mut counts);
    assert_eq!(out.as_deref(), Some("[EMAIL] 10.0.0.1"));
    assert_eq!(counts.get("ipv4"), 0);
}

#[test]
fn a_card_failing_luhn_is_kept() {
    let mut counts = Counts::default();
    assert_eq!(all().redact("4111 1111 1111 1112", &mut counts), None);
}

#[test]
fn custom_rules_run_first_and_expand_groups() {
    let rules = vec![
        custom(r"EMP-(\d{4})\d{2}", "EMP-${1}xx"),
        Rule::Builtin(Detector::Email),
    ];
    let redactor = Redactor::new(rules).unwrap();
    let mut counts = Counts::default();
    let out = redactor.redact("EMP-123456 is emp123456@corp.example", &mut counts);
    assert_eq!(out.as_deref(), Some("EMP-1234xx is [EMAIL]"));
    assert_eq!(counts.get(CUSTOM), 1);
    assert_eq!(counts.get("email"), 1);
}

#[test]
fn bad_custom_rules_are_reported_by_index() {
    let rules = vec![
        Rule::Builtin(Detector::Email),
        custom("(unclosed", "x"),
        custom("a*", "x"),
    ];
    let errors = Redactor::new(rules).unwrap_err();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0].0, 1);
    assert!(
        matches!(&errors[0].1, RuleError::InvalidPattern { reason, .. } if !reason.contains('\n'))
    );
    assert_eq!(errors[1].0, 2);
    assert!(matches!(errors[1].1, RuleError::MatchesEmpty { .. }));
}

#[test]
fn json_values_are_redacted_through_escapes_and_counted() {
    let mut counts = Counts::default();
    let text = r#"[{"role":"user","content":"write to a\u0040b.example\nor c@d.example"}]"#;
    let out = all().redact_json(text, &mut counts).unwrap();
    assert_eq!(
        out,
        r#"[{"role":"user","content":"write to [EMAIL]\nor [EMAIL]"}]"#
    );
    assert_eq!(counts.get("email"), 2);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(parsed.is_array());
}

#[test]
fn counts_serialise_in_name_order() {
    let mut counts = Counts::default();
    counts.add(Cow::Borrowed("phone"), 1);
    counts.add(Cow::Borrowed("email"), 2);
    assert_eq!(
        serde_json::to_string(&counts).unwrap(),
        r#"{"email":2,"phone":1}"#
    );
}

#[test]
fn equal_rules_make_equal_redactors() {
    let a = Redactor::new(vec![Rule::Builtin(Detector::Phone)]).unwrap();
    let b = Redactor::new(vec![Rule::Builtin(Detector::Phone)]).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, all());
}

#[test]
fn each_prefilter_matches_wherever_its_pattern_does() {
    let samples = [
        "bob@example.com",
        "+44 20 7946 0958",
        "(030)12345678",
        "555-123-4567",
        "4111111111111111",
        "4111 1111 1111 1111",
        "AKIAIOSFODNN7EXAMPLE",
        "-----BEGIN PRIVATE KEY-----",
        "10.0.0.1",
        "::1",
        "fe80::1",
    ];
    for detector in ALL {
        let full = regex::Regex::new(&detector.pattern()).unwrap();
        let pre = regex::Regex::new(detector.prefilter()).unwrap();
        for sample in samples {
            for found in full.find_iter(sample) {
                assert!(
                    pre.is_match(found.as_str()),
                    "{detector:?}: prefilter misses {:?}",
                    found.as_str()
                );
            }
        }
    }
}
