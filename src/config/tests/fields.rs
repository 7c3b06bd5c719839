//! `PORT`, `API_KEY`, `HOST`, `TIMEOUT_SECONDS` and unknown fields.

use super::*;
use crate::config::suggest::{closest_field, edit_distance};
use std::time::Duration;

/// The single error, or the workflow, of `{"w": {"OPENAI_API_HOST": "http://h", <fields>}}`.
fn with(fields: &str) -> Result<Workflow, ConfigError> {
    let text = one(&format!(r#""OPENAI_API_HOST": "http://h", {fields}"#));
    match try_parse(&text) {
        Ok(config) => Ok(config.workflows["w"].clone()),
        Err(e) => {
            assert_eq!(e.errors.len(), 1, "{e:?}");
            Err(e.errors[0].clone())
        }
    }
}

fn wrong_type(field: &'static str, expected: &'static str, found: &str) -> ConfigError {
    ConfigError::WrongType {
        workflow: w("w"),
        field,
        expected,
        found: w(found),
    }
}

#[test]
fn port_must_be_an_integer_in_range() {
    assert_eq!(with(r#""PORT": 1"#).unwrap().addr.port(), 1);
    assert_eq!(with(r#""PORT": 65535"#).unwrap().addr.port(), 65535);
    assert_eq!(
        with(r#""PORT": "3001""#),
        Err(wrong_type("PORT", "an integer", r#"the string "3001""#))
    );
    assert_eq!(
        with(r#""PORT": 3001.0"#),
        Err(wrong_type("PORT", "an integer", "the number 3001.0"))
    );
    assert_eq!(
        with(r#""PORT": 3e3"#),
        Err(wrong_type("PORT", "an integer", "the number 3000.0"))
    );
    assert_eq!(
        with(r#""PORT": null"#),
        Err(wrong_type("PORT", "an integer", "null"))
    );
    for (given, port) in [
        ("-1", -1),
        ("0", 0),
        ("70000", 70000),
        ("18446744073709551615", 18446744073709551615),
    ] {
        assert_eq!(
            with(&format!(r#""PORT": {given}"#)),
            Err(ConfigError::PortOutOfRange {
                workflow: w("w"),
                port
            }),
            "{given}"
        );
    }
    let shown = with(r#""PORT": 70000"#).unwrap_err().to_string();
    assert_eq!(
        shown,
        r#"workflow "w": field PORT is 70000, must be between 1 and 65535"#
    );
}

#[test]
fn api_key_literal_empty_absent_null() {
    let key = |fields: &str| with(&format!(r#""PORT": 1, {fields}"#));
    assert_eq!(
        key(r#""API_KEY": "sk-1""#).unwrap().api_key,
        Some(ApiKey::new(w("sk-1")))
    );
    assert_eq!(key(r#""API_KEY": """#).unwrap().api_key, None);
    assert_eq!(key(r#""API_KEY": null"#).unwrap().api_key, None);
    assert_eq!(with(r#""PORT": 1"#).unwrap().api_key, None);
    // A number key: the type is named, the value never shown.
    let err = key(r#""API_KEY": 12345"#).unwrap_err();
    assert_eq!(err, wrong_type("API_KEY", "a string", "a number"));
    assert!(!err.to_string().contains("12345"));
    let err = key(r#""API_KEY": "sk-\nsecret""#).unwrap_err();
    assert!(matches!(err, ConfigError::InvalidApiKey { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"));
}

#[test]
fn api_key_from_environment() {
    let key = |v: &str| with(&format!(r#""PORT": 1, "API_KEY": {v:?}"#));
    assert_eq!(
        key("env:SECRET").unwrap().api_key.unwrap().expose(),
        "sk-from-env"
    );
    assert_eq!(
        key("env:NEWLINE").unwrap().api_key.unwrap().expose(),
        "sk-nl"
    );
    assert_eq!(
        key("env:UNSET_VAR"),
        Err(ConfigError::EnvVarUnset {
            workflow: w("w"),
            var: w("UNSET_VAR"),
        })
    );
    assert_eq!(
        key("env:EMPTY"),
        Err(ConfigError::EnvVarEmpty {
            workflow: w("w"),
            var: w("EMPTY"),
        })
    );
    assert_eq!(
        key("env:"),
        Err(ConfigError::InvalidEnvName {
            workflow: w("w"),
            name: w(""),
        })
    );
    let shown = key("env:UNSET_VAR").unwrap_err().to_string();
    assert_eq!(
        shown,
        r#"workflow "w": field API_KEY: environment variable UNSET_VAR is not set"#
    );
}

#[test]
fn host_is_an_ip_or_localhost() {
    let addr = |v: &str| with(&format!(r#""PORT": 9, "HOST": {v:?}"#)).map(|w| w.addr);
    assert_eq!(addr("0.0.0.0"), Ok("0.0.0.0:9".parse().unwrap()));
    assert_eq!(addr("::"), Ok("[::]:9".parse().unwrap()));
    assert_eq!(addr("[::1]"), Ok("[::1]:9".parse().unwrap()));
    assert_eq!(addr("localhost"), Ok("127.0.0.1:9".parse().unwrap()));
    assert_eq!(addr(""), Ok("127.0.0.1:9".parse().unwrap()));
    assert_eq!(
        addr("example.com"),
        Err(ConfigError::InvalidHost {
            workflow: w("w"),
            value: w("example.com"),
        })
    );
    assert_eq!(
        with(r#""PORT": 9, "HOST": 127"#),
        Err(wrong_type("HOST", "a string", "the number 127"))
    );
}

#[test]
fn timeout_is_a_positive_number_up_to_a_week() {
    let timeout =
        |v: &str| with(&format!(r#""PORT": 9, "TIMEOUT_SECONDS": {v}"#)).map(|w| w.timeout);
    assert_eq!(with(r#""PORT": 9"#).unwrap().timeout, DEFAULT_TIMEOUT);
    assert_eq!(timeout("30"), Ok(Duration::from_secs(30)));
    assert_eq!(timeout("0.5"), Ok(Duration::from_millis(500)));
    assert_eq!(timeout("604800"), Ok(Duration::from_secs(604_800)));
    for bad in ["0", "-1", "604801", "1e300", "1e-300"] {
        assert!(
            matches!(timeout(bad), Err(ConfigError::InvalidTimeout { .. })),
            "{bad}: {:?}",
            timeout(bad)
        );
    }
    assert_eq!(
        timeout(r#""600""#),
        Err(wrong_type(
            "TIMEOUT_SECONDS",
            "a number",
            r#"the string "600""#
        ))
    );
}

#[test]
fn unknown_fields_name_the_closest_known_one() {
    for (unknown, known) in [
        ("APIKEY", Some("API_KEY")),
        ("api_key", Some("API_KEY")),
        ("OPENAI_API_KEY", Some("API_KEY")),
        ("TIMEOUT", Some("TIMEOUT_SECONDS")),
        ("PROT", Some("PORT")),
        ("api-host", Some("OPENAI_API_HOST")),
        ("OPENAI_API_HOTS", Some("OPENAI_API_HOST")),
        ("BASE_URL", Some("OPENAI_API_HOST")),
        ("PORT_NUMBER", Some("PORT")),
        ("MODEL", None),
    ] {
        assert_eq!(
            single_error(&format!(r#"{unknown:?}: 1"#)),
            ConfigError::UnknownField {
                workflow: w("w"),
                field: w(unknown),
                suggestion: known,
            },
            "{unknown}"
        );
    }
    let shown = single_error(r#""APIKEY": "x""#).to_string();
    assert_eq!(
        shown,
        r#"workflow "w": unknown field "APIKEY" (did you mean API_KEY?)"#
    );
    let shown = single_error(r#""MODEL": "x""#).to_string();
    assert!(
        shown.contains("known fields: OPENAI_API_HOST, PORT"),
        "{shown}"
    );
}

#[test]
fn misspelt_required_field_is_not_also_reported_missing() {
    let errors = errors_of(&one(r#""OPENAI_API_HOST": "http://h", "port": 3001"#));
    assert_eq!(
        errors,
        vec![ConfigError::UnknownField {
            workflow: w("w"),
            field: w("port"),
            suggestion: Some("PORT"),
        }]
    );
}

#[test]
fn edit_distance_basics() {
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("PORT", "PORT"), 0);
    assert_eq!(edit_distance("PROT", "PORT"), 1);
    assert_eq!(edit_distance("APIKEY", "API_KEY"), 1);
    assert_eq!(closest_field(""), None);
}
