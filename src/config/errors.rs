//! Validation errors: one [`ConfigError`] per broken rule, collected into [`ConfigErrors`].
//!
//! Messages name the workflow (quoted with `{:?}` so odd ids stay readable) and the field.
//! They never contain an API key: `API_KEY` values are described by type only. They never
//! contain URL credentials either: `ConfigErrors::redacted` (in [`super::error_masking`]) masks
//! every config string they quote (see [`super::redact`]).

use std::fmt;

/// One problem found in a configuration. Each variant is one rule of §1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The config file does not exist (the caller prints [`super::EXAMPLE`]).
    #[error("config file {path} does not exist")]
    MissingFile {
        /// The path that was tried.
        path: String,
    },
    /// The config file exists but cannot be read (permissions, a directory, not UTF-8, ...).
    #[error("config file {path} cannot be read: {reason}")]
    Unreadable {
        /// The path that was tried.
        path: String,
        /// Why reading failed.
        reason: String,
    },
    /// The file is empty or holds only whitespace.
    #[error("config is empty: expected a JSON object mapping workflow ids to settings")]
    EmptyFile,
    /// The text is not valid JSON.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    InvalidJson {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem (0 when at the start of a line).
        column: usize,
        /// serde_json's description, without its position suffix.
        message: String,
    },
    /// The top-level JSON value is not an object.
    #[error("top level must be a JSON object mapping workflow ids to settings, found {found}")]
    TopLevelNotObject {
        /// What was found instead (`an array`, `a string`, ...).
        found: String,
    },
    /// The top-level object has no workflows.
    #[error("no workflows: the top-level object is empty")]
    NoWorkflows,
    /// A workflow id appears more than once in the file.
    #[error("workflow {workflow:?} is defined {count} times; ids must be unique")]
    DuplicateWorkflow {
        /// The repeated id.
        workflow: String,
        /// How many times it appears.
        count: usize,
    },
    /// A workflow id is not usable as a folder name.
    #[error("workflow id {workflow:?} is invalid: {reason}")]
    InvalidWorkflowId {
        /// The offending id.
        workflow: String,
        /// Which part of the rule it breaks.
        reason: String,
    },
    /// A workflow's value is not a JSON object.
    #[error("workflow {workflow:?}: settings must be a JSON object, found {found}")]
    WorkflowNotObject {
        /// The workflow id.
        workflow: String,
        /// What was found instead.
        found: String,
    },
    /// A field appears more than once inside one workflow.
    #[error("workflow {workflow:?}: field {field} appears {count} times")]
    DuplicateField {
        /// The workflow id.
        workflow: String,
        /// The repeated field.
        field: String,
        /// How many times it appears.
        count: usize,
    },
    /// A required field is absent.
    #[error("workflow {workflow:?}: missing required field {field}")]
    MissingField {
        /// The workflow id.
        workflow: String,
        /// The missing field.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("workflow {workflow:?}: field {field} must be {expected}, found {found}")]
    WrongType {
        /// The workflow id.
        workflow: String,
        /// The field.
        field: &'static str,
        /// The expected type (`an integer`, `a string`, ...).
        expected: &'static str,
        /// What was found (with the value, except for `API_KEY`).
        found: String,
    },
    /// `PORT` is an integer outside 1–65535.
    #[error("workflow {workflow:?}: field PORT is {port}, must be between 1 and 65535")]
    PortOutOfRange {
        /// The workflow id.
        workflow: String,
        /// The integer given.
        port: i128,
    },
    /// `OPENAI_API_HOST` is not an absolute `http(s)` URL usable as a base.
    #[error("workflow {workflow:?}: field OPENAI_API_HOST {value:?} is invalid: {reason}")]
    InvalidApiHost {
        /// The workflow id.
        workflow: String,
        /// The value given.
        value: String,
        /// Why it is rejected.
        reason: String,
    },
    /// `API_KEY` is `env:NAME` with an unusable NAME (empty, or containing `=` or NUL).
    #[error(
        "workflow {workflow:?}: field API_KEY: {name:?} is not a valid environment variable name"
    )]
    InvalidEnvName {
        /// The workflow id.
        workflow: String,
        /// The NAME after `env:`.
        name: String,
    },
    /// `API_KEY` is `env:NAME` and NAME is not set.
    #[error("workflow {workflow:?}: field API_KEY: environment variable {var} is not set")]
    EnvVarUnset {
        /// The workflow id.
        workflow: String,
        /// The variable name.
        var: String,
    },
    /// `API_KEY` is `env:NAME` and NAME is set but empty (or only whitespace).
    #[error("workflow {workflow:?}: field API_KEY: environment variable {var} is empty")]
    EnvVarEmpty {
        /// The workflow id.
        workflow: String,
        /// The variable name.
        var: String,
    },
    /// The key contains characters that cannot go into an HTTP header (the key is not shown).
    #[error("workflow {workflow:?}: field API_KEY{source_note}: contains control characters, which cannot be sent in an HTTP header")]
    InvalidApiKey {
        /// The workflow id.
        workflow: String,
        /// ` (from environment variable NAME)` or empty.
        source_note: String,
    },
    /// `HOST` is not an IP address or `localhost`.
    #[error("workflow {workflow:?}: field HOST {value:?} must be an IP address (v4 or v6) or \"localhost\"")]
    InvalidHost {
        /// The workflow id.
        workflow: String,
        /// The value given.
        value: String,
    },
    /// `TIMEOUT_SECONDS` is not a positive, finite number of at most a week.
    #[error("workflow {workflow:?}: field TIMEOUT_SECONDS is {value}, must be greater than 0 and at most {max}")]
    InvalidTimeout {
        /// The workflow id.
        workflow: String,
        /// The number given.
        value: String,
        /// The largest accepted value, in seconds.
        max: u64,
    },
    /// `RECORD` is a string other than `all`/`none`, or a number outside 0.0–1.0.
    #[error("workflow {workflow:?}: field RECORD is {value}, must be \"all\", \"none\" or a number from 0.0 to 1.0 (the fraction recorded)")]
    InvalidRecord {
        /// The workflow id.
        workflow: String,
        /// The value given, described (`the string "some"`, `the number 1.5`).
        value: String,
    },
    /// Two or more workflows share a `PORT`.
    #[error("PORT {port} is used by more than one workflow: {}", quote_all(.workflows))]
    DuplicatePort {
        /// The shared port.
        port: u16,
        /// Every workflow on it, in file order.
        workflows: Vec<String>,
    },
    /// A problem of the `CLIENT_KEYS` list (never quoting a key).
    #[error("workflow {workflow:?}: field CLIENT_KEYS {problem}")]
    ClientKeys {
        /// The workflow id.
        workflow: String,
        /// What is wrong.
        problem: super::client_key_problem::ClientKeyProblem,
    },
    /// `--require-client-keys`, and a workflow on a non-loopback address has no `CLIENT_KEYS`.
    #[error("workflow {workflow:?} listens on {addr}, which is not a loopback address, and has no CLIENT_KEYS (--require-client-keys)")]
    ClientKeysRequired {
        /// The workflow id.
        workflow: String,
        /// Its bind address.
        addr: std::net::SocketAddr,
    },
    /// A field that is not part of §1.
    #[error("workflow {workflow:?}: unknown field {field:?} ({})", suggestion_text(.suggestion))]
    UnknownField {
        /// The workflow id.
        workflow: String,
        /// The unknown field.
        field: String,
        /// The closest known field, if any is close.
        suggestion: Option<&'static str>,
    },
    /// `REDACT` (or one of its entries) is unusable: wrong type, unknown detector, bad rule.
    #[error("workflow {workflow:?}: field REDACT{at}: {problem}")]
    InvalidRedact {
        /// The workflow id.
        workflow: String,
        /// `[i]`: the entry at fault (empty when the field itself is).
        at: String,
        /// What is wrong (quoting the entry's own strings, masked).
        problem: String,
    },
}

fn quote_all(ids: &[String]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
    quoted.join(", ")
}

fn suggestion_text(suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(known) => format!("did you mean {known}?"),
        None => format!("known fields: {}", super::limits::FIELDS.join(", ")),
    }
}

/// Every problem found in a configuration, in file order (duplicate ports last).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// The problems; never empty when returned by [`super::parse`] or [`super::load`].
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    /// True when the file does not exist (the caller then prints [`super::EXAMPLE`]).
    pub fn is_missing_file(&self) -> bool {
        self.errors
            .iter()
            .any(|e| matches!(e, ConfigError::MissingFile { .. }))
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors {
            errors: vec![error],
        }
    }
}

impl fmt::Display for ConfigErrors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
