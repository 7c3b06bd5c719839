//! From text to a [`Config`]: JSON syntax, top-level shape, workflow ids, fields, shared ports.
//! Every problem is pushed to one list; nothing stops at the first error.

use super::client_keys;
use super::errors::{ConfigError, ConfigErrors};
use super::fields;
use super::limits::{DEFAULT_TIMEOUT, FIELDS, MAX_ID_LEN};
use super::model::{Config, LoadOptions, Workflow};
use super::node::{repeated_keys, Node};
use super::recording;
use super::suggest::closest_field;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// See [`super::parse`].
pub(crate) fn parse(
    text: &str,
    opts: LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    // A UTF-8 byte-order mark (some Windows editors add one) is not a JSON error worth failing on.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(ConfigError::EmptyFile.into());
    }
    let root: Node = serde_json::from_str(text).map_err(json_error)?;
    let Node::Object(entries) = root else {
        return Err(ConfigError::TopLevelNotObject {
            found: root.kind().to_owned(),
        }
        .into());
    };
    if entries.is_empty() {
        return Err(ConfigError::NoWorkflows.into());
    }

    let mut errors = Vec::new();
    let repeated = repeated_keys(&entries);
    let mut workflows = BTreeMap::new();
    let mut ports = Vec::new();
    for (index, (id, settings)) in entries.iter().enumerate() {
        if let Some((_, count)) = repeated.iter().find(|(k, _)| *k == id.as_str()) {
            // Report a repeated id once, and validate only its first definition.
            if entries[..index].iter().any(|(earlier, _)| earlier == id) {
                continue;
            }
            errors.push(ConfigError::DuplicateWorkflow {
                workflow: id.clone(),
                count: *count,
            });
        }
        let id_ok = match workflow_id_problem(id) {
            Some(reason) => {
                errors.push(ConfigError::InvalidWorkflowId {
                    workflow: id.clone(),
                    reason: reason.to_owned(),
                });
                false
            }
            None => true,
        };
        let checked = workflow(id, settings, opts, env, &mut errors);
        if let Some(port) = checked.port {
            ports.push((id.clone(), port));
        }
        if let (Some(workflow), true) = (checked.workflow, id_ok) {
            workflows.insert(id.clone(), workflow);
        }
    }
    errors.extend(shared_ports(&ports));
    if opts.require_client_keys {
        errors.extend(unprotected(workflows.values()));
    }

    if errors.is_empty() {
        Ok(Config { workflows })
    } else {
        Err(ConfigErrors { errors })
    }
}

/// serde_json's message without its " at line L column C" suffix, plus the position.
fn json_error(error: serde_json::Error) -> ConfigErrors {
    let (line, column) = (error.line(), error.column());
    let full = error.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
    ConfigError::InvalidJson {
        line,
        column,
        message,
    }
    .into()
}

/// Why `id` cannot be a workflow id (it names a folder), or `None` when it is fine. Also
/// checks the `workflow_id` of a label body (`crate::labels::request`).
pub fn workflow_id_problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty")
    } else if id.chars().count() > MAX_ID_LEN {
        Some("it is longer than 64 characters")
    } else if id == "." || id == ".." {
        Some("`.` and `..` are not allowed (ids are folder names)")
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        Some("only letters A-Z a-z, digits, `_`, `.` and `-` are allowed (ids are folder names)")
    } else {
        None
    }
}

/// What [`workflow`] could validate: the whole workflow, and its port on its own (so that a
/// shared port is reported even while another field of the workflow is wrong).
struct Checked {
    workflow: Option<Workflow>,
    port: Option<u16>,
}

/// Validates one workflow's settings, pushing every problem to `errors`.
fn workflow(
    id: &str,
    settings: &Node,
    opts: LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Checked {
    let Node::Object(entries) = settings else {
        errors.push(ConfigError::WorkflowNotObject {
            workflow: id.to_owned(),
            found: settings.kind().to_owned(),
        });
        return Checked {
            workflow: None,
            port: None,
        };
    };
    for (field, count) in repeated_keys(entries) {
        errors.push(ConfigError::DuplicateField {
            workflow: id.to_owned(),
            field: field.to_owned(),
            count,
        });
    }
    // Known fields that a misspelt name points at: a "missing" error would only repeat the hint.
    let mut suggested = Vec::new();
    for (field, _) in entries {
        if !FIELDS.contains(&field.as_str()) {
            let suggestion = closest_field(field);
            suggested.extend(suggestion);
            errors.push(ConfigError::UnknownField {
                workflow: id.to_owned(),
                field: field.clone(),
                suggestion,
            });
        }
    }
    // With a repeated field, the first occurrence is validated (the repeat is already an error).
    let get = |name: &str| entries.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    for name in ["OPENAI_API_HOST", "PORT"] {
        if get(name).is_none() && !suggested.contains(&name) {
            errors.push(ConfigError::MissingField {
                workflow: id.to_owned(),
                field: name,
            });
        }
    }
    let null = Node::Null;
    let optional = |name: &str| get(name).unwrap_or(&null);
    let api_host = get("OPENAI_API_HOST").and_then(|n| keep(errors, fields::api_host(id, n)));
    let port = get("PORT").and_then(|n| keep(errors, fields::port(id, n)));
    let api_key = keep(errors, fields::api_key(id, optional("API_KEY"), env));
    let host = keep(
        errors,
        fields::host(id, optional("HOST"), opts.default_host),
    );
    let timeout = keep(
        errors,
        fields::timeout(id, optional("TIMEOUT_SECONDS"), DEFAULT_TIMEOUT),
    );
    let client_keys = client_keys::parse(id, optional("CLIENT_KEYS"), env, errors).ok();
    let record = keep(errors, recording::record(id, optional("RECORD")));
    let respect_store = keep(
        errors,
        recording::respect_store(id, optional("RESPECT_STORE")),
    );
    let redact = super::redact_field::redact(id, optional("REDACT"), errors);
    let workflow = match (api_host, api_key, host, port, timeout, client_keys) {
        (
            Some(api_host),
            Some(api_key),
            Some(host),
            Some(port),
            Some(timeout),
            Some(client_keys),
        ) => match (record, respect_store, redact) {
            (Some(record), Some(respect_store), Some(redact)) => Some(Workflow {
                id: id.to_owned(),
                api_host,
                api_key,
                addr: SocketAddr::new(host, port),
                timeout,
                client_keys,
                record,
                respect_store,
                redact,
            }),
            _ => None,
        },
        _ => None,
    };
    Checked { workflow, port }
}

/// The value, or `None` after recording the error.
fn keep<T>(errors: &mut Vec<ConfigError>, result: Result<T, ConfigError>) -> Option<T> {
    result.map_err(|error| errors.push(error)).ok()
}

/// One error per port used by two or more workflows (whatever their `HOST`), in file order.
fn shared_ports(ports: &[(String, u16)]) -> Vec<ConfigError> {
    let mut by_port: Vec<(u16, Vec<String>)> = Vec::new();
    for (id, port) in ports {
        match by_port.iter_mut().find(|(p, _)| p == port) {
            Some((_, ids)) => ids.push(id.clone()),
            None => by_port.push((*port, vec![id.clone()])),
        }
    }
    by_port
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(port, workflows)| ConfigError::DuplicatePort { port, workflows })
        .collect()
}

/// `--require-client-keys`: one error per workflow bound to a non-loopback address (an
/// unspecified one such as `0.0.0.0` included) without `CLIENT_KEYS`.
fn unprotected<'a>(workflows: impl Iterator<Item = &'a Workflow>) -> Vec<ConfigError> {
    workflows
        .filter(|w| w.client_keys.is_none() && !w.addr.ip().to_canonical().is_loopback())
        .map(|w| ConfigError::ClientKeysRequired {
            workflow: w.id.clone(),
            addr: w.addr,
        })
        .collect()
}
