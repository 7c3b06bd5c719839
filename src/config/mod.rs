//! `config.json`: the workflows to run (§1).
//!
//! [`load`] reads and validates a file; [`parse`] validates text. Validation never stops at
//! the first problem: every error is collected into [`ConfigErrors`], each naming the
//! workflow and the field.

mod client_key_problem;
pub mod client_keys;
mod error_masking;
mod errors;
mod fields;
mod limits;
mod model;
mod node;
mod recording;
pub mod redact;
mod redact_field;
mod suggest;
mod upstream;
mod validate;

#[cfg(test)]
mod tests;

pub use client_keys::{ClientKey, ClientKeyProblem, ClientKeys};
pub use errors::{ConfigError, ConfigErrors};
pub use limits::{DEFAULT_TIMEOUT, FIELDS, MAX_ID_LEN, MAX_TIMEOUT_SECONDS};
pub use model::{ApiKey, Config, LoadOptions, RecordMode, Workflow};
pub use recording::SampleRate;
pub use redact::{redact_userinfo, Redacted};
pub use validate::workflow_id_problem;

use std::path::Path;

/// The seed's two-workflow example, printed when the config file is missing.
pub const EXAMPLE: &str = include_str!("../../config.json.example");

/// Validates config text. `env` looks up environment variables for `API_KEY: "env:NAME"`
/// (pass `&|name| std::env::var(name).ok()` for the real environment).
///
/// On failure, every problem found is returned at once, with URL credentials masked in every
/// string quoted from the config.
pub fn parse(
    text: &str,
    opts: LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    validate::parse(text, opts, env).map_err(ConfigErrors::redacted)
}

/// Reads and validates a config file, resolving `env:NAME` keys from the process environment.
///
/// A missing file gives [`ConfigError::MissingFile`] (see [`ConfigErrors::is_missing_file`]);
/// any other read failure, including text that is not UTF-8, gives [`ConfigError::Unreadable`].
pub fn load(path: &Path, opts: LoadOptions) -> Result<Config, ConfigErrors> {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::MissingFile { path: shown }.into());
        }
        Err(e) => {
            return Err(ConfigError::Unreadable {
                path: shown,
                reason: e.to_string(),
            }
            .into());
        }
    };
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Unreadable {
        path: shown,
        reason: format!(
            "not valid UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse(&text, opts, &|name| std::env::var(name).ok())
}
