//! The demo's config file (`--config`, default `./demo-config.json`): written at every start
//! so that the workflow `demo` points at this run's built-in upstream, then watched and
//! reloaded as `serve` does.
//!
//! A file that is already there is kept but for the `demo` workflow's `OPENAI_API_HOST` and
//! `PORT` (workflows added to it survive a restart). A file that is not a demo config (no
//! `demo` workflow, or not a JSON object) is never overwritten: `--config ./config.json` by
//! mistake must not destroy a real config.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// The workflow the demo runs.
pub(crate) const WORKFLOW: &str = "demo";

/// Why the demo config could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The existing file could not be read.
    #[error("could not read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The existing file is not a demo config.
    #[error(
        "{} exists and is not a demo config (a JSON object with a \"{WORKFLOW}\" workflow); \
         it is left alone: remove it or give another --config",
        .path.display()
    )]
    NotDemo {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be written.
    #[error("could not write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Writes (or updates) the demo config at `path`: workflow `demo` → `upstream` on `port`.
pub(crate) fn write(path: &Path, upstream: &str, port: u16) -> Result<(), ConfigFileError> {
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ConfigFileError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let config =
        updated(existing.as_deref(), upstream, port).ok_or_else(|| ConfigFileError::NotDemo {
            path: path.to_owned(),
        })?;
    let mut text = serde_json::to_string_pretty(&config).expect("a JSON value serialises");
    text.push('\n');
    let write_error = |source| ConfigFileError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    std::fs::write(path, text).map_err(write_error)
}

/// The config to write: a new one, or `existing` with the demo workflow updated; `None` when
/// `existing` is not a demo config.
fn updated(existing: Option<&[u8]>, upstream: &str, port: u16) -> Option<Value> {
    let mut config = match existing {
        None => Map::new(),
        Some(bytes) => match serde_json::from_slice(bytes).ok()? {
            Value::Object(map) if map.get(WORKFLOW).is_some_and(Value::is_object) => map,
            _ => return None,
        },
    };
    let demo = config
        .entry(WORKFLOW)
        .or_insert_with(|| json!({}))
        .as_object_mut()?;
    demo.insert("OPENAI_API_HOST".to_owned(), json!(upstream));
    demo.insert("PORT".to_owned(), json!(port));
    Some(Value::Object(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_config_has_the_demo_workflow_only() {
        let config = updated(None, "http://127.0.0.1:5", 3001).expect("new");
        assert_eq!(
            config,
            json!({"demo": {"OPENAI_API_HOST": "http://127.0.0.1:5", "PORT": 3001}})
        );
    }

    #[test]
    fn existing_demo_config_keeps_other_workflows_and_fields() {
        let old =
            br#"{"demo":{"OPENAI_API_HOST":"http://127.0.0.1:1","PORT":3001,"TIMEOUT_SECONDS":5},
                      "ollama":{"OPENAI_API_HOST":"http://localhost:11434","PORT":3002}}"#;
        let config = updated(Some(old), "http://127.0.0.1:9", 4000).expect("updated");
        assert_eq!(config["demo"]["OPENAI_API_HOST"], "http://127.0.0.1:9");
        assert_eq!(config["demo"]["PORT"], 4000);
        assert_eq!(config["demo"]["TIMEOUT_SECONDS"], 5);
        assert_eq!(config["ollama"]["PORT"], 3002);
    }

    #[test]
    fn other_files_are_not_demo_configs() {
        for text in [
            &br#"{"default":{"OPENAI_API_HOST":"http://x","PORT":1}}"#[..],
            b"[1]",
            b"{\"demo\": 3}",
            b"not json",
        ] {
            assert_eq!(updated(Some(text), "http://h", 1), None, "{text:?}");
        }
    }
}
