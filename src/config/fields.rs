//! One validator per workflow field (§1). Each returns the typed value or one [`ConfigError`].

use super::errors::ConfigError;
use super::limits::MAX_TIMEOUT_SECONDS;
use super::model::ApiKey;
use super::node::Node;
use super::upstream::normalise_api_host;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn wrong_type(
    workflow: &str,
    field: &'static str,
    expected: &'static str,
    found: String,
) -> ConfigError {
    ConfigError::WrongType {
        workflow: workflow.to_owned(),
        field,
        expected,
        found,
    }
}

/// `OPENAI_API_HOST`: a string holding an absolute `http(s)` URL; returned normalised.
pub(crate) fn api_host(workflow: &str, node: &Node) -> Result<String, ConfigError> {
    let Node::String(value) = node else {
        return Err(wrong_type(
            workflow,
            "OPENAI_API_HOST",
            "a string",
            node.describe(),
        ));
    };
    normalise_api_host(value).map_err(|reason| ConfigError::InvalidApiHost {
        workflow: workflow.to_owned(),
        value: value.clone(),
        reason,
    })
}

/// `PORT`: a JSON integer 1–65535 (not a float such as `3001.0`, not a string).
pub(crate) fn port(workflow: &str, node: &Node) -> Result<u16, ConfigError> {
    let Node::Number(number) = node else {
        return Err(wrong_type(workflow, "PORT", "an integer", node.describe()));
    };
    let value = match (number.as_i64(), number.as_u64()) {
        (Some(i), _) => i128::from(i),
        (None, Some(u)) => i128::from(u),
        (None, None) => {
            return Err(wrong_type(workflow, "PORT", "an integer", node.describe()));
        }
    };
    match u16::try_from(value) {
        Ok(port) if port != 0 => Ok(port),
        _ => Err(ConfigError::PortOutOfRange {
            workflow: workflow.to_owned(),
            port: value,
        }),
    }
}

/// `API_KEY`: `""` → no key; `"env:NAME"` → the variable's value; anything else is the key.
///
/// A variable that is set but empty (or only whitespace) is an error, not "no key": with
/// `env:` the operator clearly meant a key, and silently forwarding unauthenticated requests
/// would hide a broken deployment. Surrounding whitespace of a variable's value (the newline of
/// `echo key > file`-style secrets) is trimmed. Keys with control characters are refused
/// because they cannot be sent in a header. No message ever contains the key.
pub(crate) fn api_key(
    workflow: &str,
    node: &Node,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ApiKey>, ConfigError> {
    let secret = match node {
        Node::Null => return Ok(None),
        Node::String(s) => s,
        // The value may be a key typed without quotes: describe the type only.
        other => {
            return Err(wrong_type(
                workflow,
                "API_KEY",
                "a string",
                other.kind().into(),
            ))
        }
    };
    if secret.is_empty() {
        return Ok(None);
    }
    let Some(name) = secret.strip_prefix("env:") else {
        return checked_key(workflow, secret.clone(), String::new());
    };
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err(ConfigError::InvalidEnvName {
            workflow: workflow.to_owned(),
            name: name.to_owned(),
        });
    }
    let Some(value) = env(name) else {
        return Err(ConfigError::EnvVarUnset {
            workflow: workflow.to_owned(),
            var: name.to_owned(),
        });
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(ConfigError::EnvVarEmpty {
            workflow: workflow.to_owned(),
            var: name.to_owned(),
        });
    }
    checked_key(
        workflow,
        value.to_owned(),
        format!(" (from environment variable {name})"),
    )
}

fn checked_key(
    workflow: &str,
    secret: String,
    source_note: String,
) -> Result<Option<ApiKey>, ConfigError> {
    if secret.chars().any(char::is_control) {
        return Err(ConfigError::InvalidApiKey {
            workflow: workflow.to_owned(),
            source_note,
        });
    }
    Ok(Some(ApiKey::new(secret)))
}

/// `HOST`: an IPv4 or IPv6 address (brackets optional), or `localhost` (= 127.0.0.1).
/// Absent, `null` or `""` → `default`.
pub(crate) fn host(workflow: &str, node: &Node, default: IpAddr) -> Result<IpAddr, ConfigError> {
    let value = match node {
        Node::Null => return Ok(default),
        Node::String(s) => s,
        other => return Err(wrong_type(workflow, "HOST", "a string", other.describe())),
    };
    if value.is_empty() {
        return Ok(default);
    }
    if value.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let bare = value
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(value);
    bare.parse::<IpAddr>()
        .map_err(|_| ConfigError::InvalidHost {
            workflow: workflow.to_owned(),
            value: value.clone(),
        })
}

/// `TIMEOUT_SECONDS`: a number > 0 (fractions allowed) and at most a week. `null` → default.
pub(crate) fn timeout(
    workflow: &str,
    node: &Node,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let number = match node {
        Node::Null => return Ok(default),
        Node::Number(n) => n,
        other => {
            return Err(wrong_type(
                workflow,
                "TIMEOUT_SECONDS",
                "a number",
                other.describe(),
            ))
        }
    };
    let invalid = || ConfigError::InvalidTimeout {
        workflow: workflow.to_owned(),
        value: number.to_string(),
        max: MAX_TIMEOUT_SECONDS,
    };
    let seconds = number.as_f64().ok_or_else(invalid)?;
    // `MAX_TIMEOUT_SECONDS` is small enough to be exact as an f64.
    if !seconds.is_finite() || seconds <= 0.0 || seconds > MAX_TIMEOUT_SECONDS as f64 {
        return Err(invalid());
    }
    let duration = Duration::try_from_secs_f64(seconds).map_err(|_| invalid())?;
    if duration.is_zero() {
        return Err(invalid());
    }
    Ok(duration)
}
