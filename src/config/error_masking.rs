//! Masking URL credentials in validation errors: every config string a [`ConfigError`] quotes
//! (ids, field names, values, reasons) goes through [`redact_userinfo`] before it is shown.

use super::errors::{ConfigError, ConfigErrors};
use super::redact::redact_userinfo;

impl ConfigErrors {
    /// The same errors with URL userinfo masked in every string taken from the config
    /// (ids, field names, values, reasons). Applied by [`super::parse`] to everything it returns.
    pub(crate) fn redacted(self) -> ConfigErrors {
        ConfigErrors {
            errors: self.errors.into_iter().map(ConfigError::redacted).collect(),
        }
    }
}

/// `s` with URL userinfo masked.
fn mask(s: String) -> String {
    match redact_userinfo(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        std::borrow::Cow::Owned(shown) => shown,
    }
}

impl ConfigError {
    /// See [`ConfigErrors::redacted`]. Reasons are our own words (an `OPENAI_API_HOST` reason
    /// quotes only parts after the credentials check). File paths, OS reasons and serde_json's syntax messages
    /// come from outside the config's values and are kept; `found` descriptions are already
    /// masked by `Node::describe` (before it shortens them).
    fn redacted(self) -> ConfigError {
        use ConfigError as E;
        match self {
            E::MissingFile { .. }
            | E::Unreadable { .. }
            | E::EmptyFile
            | E::InvalidJson { .. }
            | E::TopLevelNotObject { .. }
            | E::NoWorkflows => self,
            E::DuplicateWorkflow { workflow, count } => E::DuplicateWorkflow {
                workflow: mask(workflow),
                count,
            },
            E::InvalidWorkflowId { workflow, reason } => E::InvalidWorkflowId {
                workflow: mask(workflow),
                reason,
            },
            E::WorkflowNotObject { workflow, found } => E::WorkflowNotObject {
                workflow: mask(workflow),
                found,
            },
            E::DuplicateField {
                workflow,
                field,
                count,
            } => E::DuplicateField {
                workflow: mask(workflow),
                field: mask(field),
                count,
            },
            E::MissingField { workflow, field } => E::MissingField {
                workflow: mask(workflow),
                field,
            },
            E::WrongType {
                workflow,
                field,
                expected,
                found,
            } => E::WrongType {
                workflow: mask(workflow),
                field,
                expected,
                found,
            },
            E::PortOutOfRange { workflow, port } => E::PortOutOfRange {
                workflow: mask(workflow),
                port,
            },
            E::InvalidApiHost {
                workflow,
                value,
                reason,
            } => E::InvalidApiHost {
                workflow: mask(workflow),
                value: mask(value),
                reason,
            },
            E::InvalidEnvName { workflow, name } => E::InvalidEnvName {
                workflow: mask(workflow),
                name: mask(name),
            },
            E::EnvVarUnset { workflow, var } => E::EnvVarUnset {
                workflow: mask(workflow),
                var: mask(var),
            },
            E::EnvVarEmpty { workflow, var } => E::EnvVarEmpty {
                workflow: mask(workflow),
                var: mask(var),
            },
            E::InvalidApiKey {
                workflow,
                source_note,
            } => E::InvalidApiKey {
                workflow: mask(workflow),
                source_note: mask(source_note),
            },
            E::InvalidHost { workflow, value } => E::InvalidHost {
                workflow: mask(workflow),
                value: mask(value),
            },
            E::InvalidTimeout {
                workflow,
                value,
                max,
            } => E::InvalidTimeout {
                workflow: mask(workflow),
                value,
                max,
            },
            E::InvalidRecord { workflow, value } => E::InvalidRecord {
                workflow: mask(workflow),
                value,
            },
            E::DuplicatePort { port, workflows } => E::DuplicatePort {
                port,
                workflows: workflows.into_iter().map(mask).collect(),
            },
            E::ClientKeys { workflow, problem } => E::ClientKeys {
                workflow: mask(workflow),
                problem,
            },
            E::ClientKeysRequired { workflow, addr } => E::ClientKeysRequired {
                workflow: mask(workflow),
                addr,
            },
            E::UnknownField {
                workflow,
                field,
                suggestion,
            } => E::UnknownField {
                workflow: mask(workflow),
                field: mask(field),
                suggestion,
            },
            E::InvalidRedact {
                workflow,
                at,
                problem,
            } => E::InvalidRedact {
                workflow: mask(workflow),
                at,
                problem: mask(problem),
            },
        }
    }
}
