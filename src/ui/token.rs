//! The admin token (`--admin-token`): a literal or `env:NAME`, resolved once at start, kept only
//! as its SHA-256 digest and compared in constant time. It never appears in `Debug` output or
//! logs.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The value of `--admin-token` as given: its `Debug` hides it, so printing the flags (clap
/// errors, `{:?}` of the arguments) never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminTokenArg(String);

impl fmt::Debug for AdminTokenArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminTokenArg(<hidden>)")
    }
}

impl FromStr for AdminTokenArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(AdminTokenArg(text.to_owned()))
    }
}

/// Why `--admin-token` cannot be used (a start error).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// The flag (or the variable it names) is empty.
    #[error("--admin-token is empty")]
    Empty,
    /// `env:NAME` names a variable that is not set.
    #[error("--admin-token names the environment variable {0}, which is not set")]
    MissingEnv(String),
    /// `env:` without a name.
    #[error("--admin-token \"env:\" names no environment variable")]
    NoEnvName,
}

/// The resolved admin token, held only as a digest.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<hidden>)")
    }
}

impl AdminToken {
    /// Resolves the flag: a literal, or `env:NAME` read from the environment now. Empty values
    /// and unset variables are errors.
    pub fn resolve(arg: &AdminTokenArg) -> Result<AdminToken, TokenError> {
        let secret = match arg.0.strip_prefix("env:") {
            Some("") => return Err(TokenError::NoEnvName),
            Some(name) => {
                std::env::var(name).map_err(|_| TokenError::MissingEnv(name.to_owned()))?
            }
            None => arg.0.clone(),
        };
        if secret.is_empty() {
            return Err(TokenError::Empty);
        }
        Ok(AdminToken {
            digest: digest(secret.as_bytes()),
        })
    }

    /// Whether `candidate` is the token: compares digests in constant time (no early exit on
    /// the first differing byte, and the length of the token is not revealed).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        bool::from(self.digest.ct_eq(&digest(candidate)))
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// 32 random bytes from the OS, hex-encoded: session ids and CSRF tokens.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not recoverable for a secret; fall back to a digest of
    // time and address entropy rather than panic (still unguessable in practice, and logged).
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("The OS random source failed; session ids use a weaker fallback.");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        bytes = digest(format!("{now}{:p}", &bytes).as_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two public-length strings (session ids, CSRF tokens) in constant time.
pub fn same(a: &str, b: &str) -> bool {
    bool::from(digest(a.as_bytes()).ct_eq(&digest(b.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_env() {
        let token = AdminToken::resolve(&AdminTokenArg("s3cret".into())).unwrap();
        assert!(token.matches(b"s3cret"));
        assert!(!token.matches(b"s3cre"));
        assert!(!token.matches(b""));
        assert_eq!(
            AdminToken::resolve(&AdminTokenArg(String::new())).unwrap_err(),
            TokenError::Empty
        );
        assert_eq!(
            AdminToken::resolve(&AdminTokenArg("env:".into())).unwrap_err(),
            TokenError::NoEnvName
        );
        assert_eq!(
            AdminToken::resolve(&AdminTokenArg("env:MICROMODEL_TEST_SURELY_UNSET".into()))
                .unwrap_err(),
            TokenError::MissingEnv("MICROMODEL_TEST_SURELY_UNSET".into())
        );
        assert!(!format!("{:?}", AdminTokenArg("s3cret".into())).contains("s3cret"));
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[test]
    fn random_is_random() {
        let (a, b) = (random_hex(), random_hex());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
    }
}
