//! The problems a `CLIENT_KEYS` list can have; none of them holds a key.

/// One problem of a `CLIENT_KEYS` list. `who` is `client "<name>"` or, for an entry without
/// a usable name, `entry <n>` (1-based). No variant holds a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientKeyProblem {
    /// The field is not an array.
    #[error("must be a list of {{\"name\": ..., \"key\": ...}} objects, found {found}")]
    NotAList {
        /// The JSON type found.
        found: &'static str,
    },
    /// The list is empty.
    #[error("is an empty list: remove the field to leave the workflow open, or add a client")]
    Empty,
    /// An entry is not an object.
    #[error("{who} must be an object with \"name\" and \"key\", found {found}")]
    EntryNotObject {
        /// Which entry.
        who: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// An entry lacks `name` or `key`.
    #[error("{who} has no {member:?}")]
    MissingMember {
        /// Which entry.
        who: String,
        /// `name` or `key`.
        member: &'static str,
    },
    /// An entry has a member other than `name` and `key`, or one of them twice.
    #[error("{who}: member {member:?} is unknown or repeated (an entry has \"name\" and \"key\", once each)")]
    BadMember {
        /// Which entry.
        who: String,
        /// The member.
        member: String,
    },
    /// `name` is not a string.
    #[error("{who}: \"name\" must be a string, found {found}")]
    NameNotString {
        /// Which entry.
        who: String,
        /// What was found.
        found: String,
    },
    /// `name` is empty, too long or holds control characters.
    #[error("{who}: the name {reason}")]
    InvalidName {
        /// Which entry.
        who: String,
        /// Why.
        reason: &'static str,
    },
    /// Two entries share a name.
    #[error("the name {name:?} is used by {count} clients; names must be unique")]
    DuplicateName {
        /// The name.
        name: String,
        /// How many entries use it.
        count: usize,
    },
    /// `key` is not a string (described by type only: it may be a key without quotes).
    #[error("{who}: \"key\" must be a string, found {found}")]
    KeyNotString {
        /// Which entry.
        who: String,
        /// The JSON type found.
        found: &'static str,
    },
    /// The key is empty.
    #[error("{who}: the key is empty")]
    EmptyKey {
        /// Which entry.
        who: String,
    },
    /// The key cannot arrive in a header: control characters, or whitespace around it.
    #[error("{who}: the key{source_note} has control characters or whitespace around it, which cannot arrive in an HTTP header")]
    UnusableKey {
        /// Which entry.
        who: String,
        /// ` (from environment variable NAME)` or empty.
        source_note: String,
    },
    /// `sha256:` not followed by exactly 64 hex digits.
    #[error("{who}: a \"sha256:\" key must be followed by 64 hex digits ({reason}); `micromodel hash-key` prints one")]
    BadDigest {
        /// Which entry.
        who: String,
        /// What is wrong with it (never the value).
        reason: String,
    },
    /// `env:NAME` with an unusable NAME.
    #[error("{who}: {name:?} is not a valid environment variable name")]
    InvalidEnvName {
        /// Which entry.
        who: String,
        /// The NAME after `env:`.
        name: String,
    },
    /// `env:NAME` and NAME is not set.
    #[error("{who}: environment variable {var} is not set")]
    EnvVarUnset {
        /// Which entry.
        who: String,
        /// The variable.
        var: String,
    },
    /// `env:NAME` and NAME is empty (or only whitespace).
    #[error("{who}: environment variable {var} is empty")]
    EnvVarEmpty {
        /// Which entry.
        who: String,
        /// The variable.
        var: String,
    },
    /// Two clients have the same key (after hashing).
    #[error("clients {first:?} and {second:?} have the same key; each client needs its own")]
    DuplicateKey {
        /// The first client with it.
        first: String,
        /// The later one.
        second: String,
    },
}
