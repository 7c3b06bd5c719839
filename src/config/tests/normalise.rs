//! `OPENAI_API_HOST` normalisation and rejection.

use super::*;

fn host_of(value: &str) -> Result<String, ConfigError> {
    let text = one(&format!(r#""OPENAI_API_HOST": {value:?}, "PORT": 1"#));
    match try_parse(&text) {
        Ok(config) => Ok(config.workflows["w"].api_host.clone()),
        Err(e) => {
            assert_eq!(e.errors.len(), 1, "{e:?}");
            Err(e.errors[0].clone())
        }
    }
}

#[test]
fn trailing_slash_and_v1_are_normalised() {
    for (given, expected) in [
        ("http://h:1/v1/", "http://h:1"),
        ("http://h:1/v1", "http://h:1"),
        ("http://h:1/", "http://h:1"),
        ("http://h:1//", "http://h:1"),
        ("http://h:1", "http://h:1"),
        ("https://api.openai.com/v1", "https://api.openai.com"),
        ("http://h/proxy/v1", "http://h/proxy"),
        ("http://h/proxy/v1/", "http://h/proxy"),
        ("http://h/proxy/", "http://h/proxy"),
        ("http://h/v1/v1", "http://h/v1"),
        ("http://h/apiv1", "http://h/apiv1"),
        ("http://h/v2", "http://h/v2"),
        ("HTTPS://Example.com/V1", "https://Example.com/V1"),
        ("http://[::1]:8080/v1", "http://[::1]:8080"),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
        (
            "http://ollama_host.local.:11434",
            "http://ollama_host.local.:11434",
        ),
    ] {
        assert_eq!(host_of(given), Ok(expected.to_owned()), "{given}");
    }
}

#[test]
fn bad_urls_are_rejected_with_a_reason() {
    for (given, reason_part) in [
        ("", "empty"),
        ("localhost:11434", "http:// or https://"),
        ("ftp://h", "scheme"),
        ("http://", "no host"),
        ("http:///v1", "no host"),
        ("http://:80", "no host"),
        ("http://h?x=1", "query"),
        ("http://h/v1#frag", "fragment"),
        ("http://user:pw@h", "credentials"),
        ("http://h:0", "port"),
        ("http://h:70000", "port"),
        ("http://h:", "port"),
        ("http://h:8a", "port"),
        ("http://::1", "brackets"),
        ("http://[::1", "closing"),
        ("http://[zz]", "IPv6"),
        ("http://[::1]x", "after"),
        ("http://a..b", "empty label"),
        ("http://ex ample.com", "whitespace"),
        (" http://h", "whitespace"),
        ("http://bücher.de", "punycode"),
        ("http://h!x", "invalid character"),
    ] {
        match host_of(given) {
            Err(ConfigError::InvalidApiHost {
                workflow,
                value,
                reason,
            }) => {
                assert_eq!(workflow, "w");
                assert_eq!(value, crate::config::redact_userinfo(given), "{given}");
                assert!(reason.contains(reason_part), "{given}: {reason}");
            }
            other => panic!("{given}: {other:?}"),
        }
    }
}

#[test]
fn api_host_must_be_a_string() {
    let errors = errors_of(&one(r#""OPENAI_API_HOST": 5, "PORT": 1"#));
    assert_eq!(
        errors,
        vec![ConfigError::WrongType {
            workflow: w("w"),
            field: "OPENAI_API_HOST",
            expected: "a string",
            found: w("the number 5"),
        }]
    );
}
