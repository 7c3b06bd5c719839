//! `CLIENT_KEYS`: the callers a workflow lets in, as `[{"name": "...", "key": "..."}]`.
//!
//! A `key` is a literal, `"env:NAME"` (read at load, like `API_KEY`) or `"sha256:<64 hex>"`
//! (so the config can live in git without secrets). Only the SHA-256 digest of each key is
//! kept: [`ClientKeys`] never holds a key, and its `Debug` shows names only. The check of a
//! presented key lives in `crate::trust`.
//!
//! Validation collects every problem of the list; messages name the entry (by its name when
//! it has one) and never quote a key.

use std::fmt;

use sha2::{Digest, Sha256};

pub use super::client_key_problem::ClientKeyProblem;

use super::errors::ConfigError;
use super::node::{repeated_keys, Node};

/// The prefix of a key given as its SHA-256 digest.
pub const SHA256_PREFIX: &str = "sha256:";
/// Longest accepted client name, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// The SHA-256 digest of `key`.
pub fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// `sha256:<lower-case hex>` of `key`: what `micromodel hash-key` prints.
pub fn hashed_form(key: &[u8]) -> String {
    let mut out = String::with_capacity(SHA256_PREFIX.len() + 64);
    out.push_str(SHA256_PREFIX);
    for byte in digest(key) {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// One client allowed on a workflow: its name and the digest of its key.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// The name records and metrics carry (`client`).
    name: String,
    /// SHA-256 of the key.
    digest: [u8; 32],
}

impl ClientKey {
    /// The client's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SHA-256 digest of the client's key.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// The validated `CLIENT_KEYS` of a workflow: never empty, names and keys unique.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientKeys(Vec<ClientKey>);

impl ClientKeys {
    /// The clients, in file order.
    pub fn clients(&self) -> &[ClientKey] {
        &self.0
    }

    /// How many clients.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false for a validated list (kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for ClientKeys {
    /// Names only: digests (and keys) are never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientKeys")
            .field(&self.0.iter().map(|c| c.name.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Debug for ClientKey {
    /// The name only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Validates `CLIENT_KEYS`: `null`/absent → `None` (the workflow is open). Every problem is
/// pushed to `errors` (as [`ConfigError::ClientKeys`]); `Err(())` when there was any.
pub(crate) fn parse(
    workflow: &str,
    node: &Node,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Vec<ConfigError>,
) -> Result<Option<ClientKeys>, ()> {
    let mut problems = Vec::new();
    let keys = parse_list(node, env, &mut problems);
    if problems.is_empty() {
        return Ok(keys);
    }
    errors.extend(problems.into_iter().map(|problem| ConfigError::ClientKeys {
        workflow: workflow.to_owned(),
        problem,
    }));
    Err(())
}

fn parse_list(
    node: &Node,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ClientKeyProblem>,
) -> Option<ClientKeys> {
    let items = match node {
        Node::Null => return None,
        Node::Array(items) => items,
        other => {
            problems.push(ClientKeyProblem::NotAList {
                found: other.kind(),
            });
            return None;
        }
    };
    if items.is_empty() {
        problems.push(ClientKeyProblem::Empty);
        return None;
    }
    let mut clients: Vec<ClientKey> = Vec::new();
    let mut names: Vec<(String, ())> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let Some((name, digest)) = entry(index + 1, item, env, problems) else {
            continue;
        };
        if let Some(name) = &name {
            names.push((name.clone(), ()));
        }
        let (Some(name), Some(digest)) = (name, digest) else {
            continue;
        };
        match clients.iter().find(|c| c.digest == digest) {
            Some(first) => problems.push(ClientKeyProblem::DuplicateKey {
                first: first.name.clone(),
                second: name,
            }),
            None => clients.push(ClientKey { name, digest }),
        }
    }
    for (name, count) in repeated_keys(&names) {
        problems.push(ClientKeyProblem::DuplicateName {
            name: name.to_owned(),
            count,
        });
    }
    Some(ClientKeys(clients))
}

/// One entry: its valid name (if any) and its key's digest (if valid). `None` when the
/// entry is not an object.
fn entry(
    index: usize,
    item: &Node,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ClientKeyProblem>,
) -> Option<(Option<String>, Option<[u8; 32]>)> {
    let numbered = format!("entry {index}");
    let Node::Object(members) = item else {
        problems.push(ClientKeyProblem::EntryNotObject {
            who: numbered,
            found: item.kind(),
        });
        return None;
    };
    let get = |m: &str| members.iter().find(|(k, _)| k == m).map(|(_, v)| v);
    let name = match get("name") {
        None => {
            problems.push(ClientKeyProblem::MissingMember {
                who: numbered.clone(),
                member: "name",
            });
            None
        }
        Some(node) => name(&numbered, node, problems),
    };
    let who = name
        .as_ref()
        .map_or_else(|| numbered.clone(), |n| format!("client {n:?}"));
    // Each unknown or repeated member once, in file order.
    let repeated = repeated_keys(members);
    for (position, (member, _)) in members.iter().enumerate() {
        let first = members[..position].iter().all(|(k, _)| k != member);
        let known = member == "name" || member == "key";
        let twice = repeated.iter().any(|(k, _)| *k == member.as_str());
        if first && (!known || twice) {
            problems.push(ClientKeyProblem::BadMember {
                who: who.clone(),
                member: member.clone(),
            });
        }
    }
    let digest = match get("key") {
        None => {
            problems.push(ClientKeyProblem::MissingMember {
                who: who.clone(),
                member: "key",
            });
            None
        }
        Some(node) => key(&who, node, env).map_err(|p| problems.push(p)).ok(),
    };
    Some((name, digest))
}

fn name(who: &str, node: &Node, problems: &mut Vec<ClientKeyProblem>) -> Option<String> {
    let Node::String(name) = node else {
        problems.push(ClientKeyProblem::NameNotString {
            who: who.to_owned(),
            found: node.describe(),
        });
        return None;
    };
    let reason = if name.is_empty() {
        Some("is empty")
    } else if name.chars().count() > MAX_NAME_LEN {
        Some("is longer than 64 characters")
    } else if name.chars().any(char::is_control) {
        Some("contains control characters")
    } else {
        None
    };
    match reason {
        Some(reason) => {
            problems.push(ClientKeyProblem::InvalidName {
                who: who.to_owned(),
                reason,
            });
            None
        }
        None => Some(name.clone()),
    }
}

/// The digest of an entry's key: literal, `env:NAME` or `sha256:<hex>`.
fn key(
    who: &str,
    node: &Node,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<[u8; 32], ClientKeyProblem> {
    let who = || who.to_owned();
    let Node::String(value) = node else {
        return Err(ClientKeyProblem::KeyNotString {
            who: who(),
            found: node.kind(),
        });
    };
    if value.is_empty() {
        return Err(ClientKeyProblem::EmptyKey { who: who() });
    }
    if let Some(hex) = value.strip_prefix(SHA256_PREFIX) {
        return parse_hex(hex).map_err(|reason| ClientKeyProblem::BadDigest { who: who(), reason });
    }
    let Some(var) = value.strip_prefix("env:") else {
        return literal(who(), value, String::new());
    };
    if var.is_empty() || var.contains('=') || var.contains('\0') {
        return Err(ClientKeyProblem::InvalidEnvName {
            who: who(),
            name: var.to_owned(),
        });
    }
    let Some(secret) = env(var) else {
        return Err(ClientKeyProblem::EnvVarUnset {
            who: who(),
            var: var.to_owned(),
        });
    };
    // Trimmed as `API_KEY` is: the newline of `echo key > file`-style secrets.
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(ClientKeyProblem::EnvVarEmpty {
            who: who(),
            var: var.to_owned(),
        });
    }
    literal(who(), secret, format!(" (from environment variable {var})"))
}

fn literal(who: String, key: &str, source_note: String) -> Result<[u8; 32], ClientKeyProblem> {
    if key.chars().any(char::is_control) || key.trim() != key {
        return Err(ClientKeyProblem::UnusableKey { who, source_note });
    }
    Ok(digest(key.as_bytes()))
}

/// 64 hex digits (either case) → 32 bytes; the reason names the problem, not the value.
fn parse_hex(hex: &str) -> Result<[u8; 32], String> {
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("it contains a character that is not a hex digit".into());
    }
    if hex.len() != 64 {
        return Err(format!("it has {} digits", hex.len()));
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| "it contains a character that is not a hex digit".to_owned())?;
    }
    Ok(out)
}
