//! Issue 11 (5) and (7): no URL credentials in any config error, and `OPENAI_API_HOST`
//! checked as the request URI it becomes.

use super::*;

const SECRET: &str = "sk-PLANTED-SECRET";

/// Every message of `text`'s errors, joined.
fn messages(text: &str) -> String {
    let errors = errors_of(text);
    format!(
        "{} {errors:?}",
        ConfigErrors {
            errors: errors.clone()
        }
    )
}

#[test]
fn credentials_are_masked_in_every_error_that_quotes_the_config() {
    let url = format!("http://user:{SECRET}@127.0.0.1:1");
    let long = format!("http://user:{SECRET}{}@h", "x".repeat(80));
    let texts = [
        // The URL itself, refused for its credentials, with and without other problems.
        one(&format!(r#""OPENAI_API_HOST": "{url}", "PORT": 1"#)),
        one(&format!(r#""OPENAI_API_HOST": "{url}/?q", "PORT": "x""#)),
        one(&format!(
            r#""OPENAI_API_HOST": "user:{SECRET}@h", "PORT": 1"#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "user:{SECRET}@h://x", "PORT": 1"#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "http://u:{SECRET}/x@h", "PORT": 1"#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "http://h/?api-key={SECRET}", "PORT": 1"#
        )),
        // Pasted into other fields, as a field name, as a workflow id.
        one(&format!(
            r#""OPENAI_API_HOST": "http://h", "PORT": "{url}""#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "http://h", "PORT": "{long}""#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "http://h", "PORT": 1, "HOST": "{url}""#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "http://h", "PORT": 1, "{url}": 1"#
        )),
        one(&format!(
            r#""OPENAI_API_HOST": "http://h", "PORT": 1, "API_KEY": "env:{url}""#
        )),
        format!(
            r#"{{"{url}": {{"OPENAI_API_HOST": "http://h", "PORT": 1}}, "b": {{"OPENAI_API_HOST": "http://h", "PORT": 1}}}}"#
        ),
        format!(r#"{{"{url}": 5}}"#),
    ];
    for text in &texts {
        let shown = messages(text);
        assert!(!shown.contains(SECRET), "{text}\n→ {shown}");
        assert!(shown.contains("***"), "{text}\n→ {shown}");
    }
}

#[test]
fn api_host_that_cannot_form_a_uri_is_refused_naming_the_field() {
    // `"`, `{`, `}`, `|`, `\`, `^` and non-ASCII are not valid either, but `http::Uri` (and so every
    // request) takes them: they pass.
    for bad in ['`', '<', '>'] {
        let value = format!("http://h:1/base{bad}x");
        let text = one(&format!(
            r#""OPENAI_API_HOST": {}, "PORT": 1"#,
            serde_json::to_string(&value).expect("json")
        ));
        let errors = errors_of(&text);
        let [ConfigError::InvalidApiHost {
            workflow, reason, ..
        }] = errors.as_slice()
        else {
            panic!("{value}: {errors:?}");
        };
        assert_eq!(workflow, "w");
        assert!(
            reason.contains("cannot be part of a URL"),
            "{value}: {reason}"
        );
        assert!(reason.contains(&format!("{bad:?}")), "{value}: {reason}");
    }
    for bad in ["http://h/a%", "http://h/a%2", "http://h/a%zz"] {
        let text = one(&format!(r#""OPENAI_API_HOST": "{bad}", "PORT": 1"#));
        let errors = errors_of(&text);
        assert!(
            matches!(&errors[..], [ConfigError::InvalidApiHost { reason, .. }] if reason.contains("two hex digits")),
            "{bad}: {errors:?}"
        );
    }
}

#[test]
fn every_accepted_api_host_forms_the_request_uri() {
    for ok in [
        "http://h:1/a%20b",
        "http://h/p-._~!$&'()*+,;=:x",
        "http://h/{\"|\\^}é",
        "https://[::1]:8443/proxy/v1",
    ] {
        let text = one(&format!(
            r#""OPENAI_API_HOST": {}, "PORT": 1"#,
            serde_json::to_string(ok).expect("json")
        ));
        let config = try_parse(&text).unwrap_or_else(|e| panic!("{ok}: {e}"));
        let base = &config.workflows["w"].api_host;
        crate::upstream::upstream_uri(base, "/v1/chat/completions?x=1")
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}
