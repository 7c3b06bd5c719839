//! The field names and limits the validation checks against: a leaf, so that the error
//! messages ([`super::errors`]) can list the fields without depending on the model.

use std::time::Duration;

/// Default `TIMEOUT_SECONDS`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Every field a workflow may have, required ones first.
pub const FIELDS: [&str; 9] = [
    "OPENAI_API_HOST",
    "PORT",
    "API_KEY",
    "HOST",
    "TIMEOUT_SECONDS",
    "CLIENT_KEYS",
    "RECORD",
    "RESPECT_STORE",
    "REDACT",
];

/// Longest accepted workflow id, in characters.
pub const MAX_ID_LEN: usize = 64;

/// Largest accepted `TIMEOUT_SECONDS` (one week).
pub const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 60 * 60;
