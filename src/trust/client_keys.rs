//! The client-key check of one request (`CLIENT_KEYS`).
//!
//! The presented key is hashed with SHA-256 and compared with every configured digest in
//! constant time (`subtle`), without stopping at a match, so the time taken says nothing
//! about which digest (or how much of one) matched. Only digests are ever held.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::config::client_keys::digest;
use crate::config::{ClientKeys, Workflow};

/// Anthropic's key header, accepted on `/v1/messages` and below.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The client a request was authenticated as, put into the request's extensions by the
/// guard: the name its record and metrics carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client(pub String);

/// What the check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The workflow has no `CLIENT_KEYS`: everyone is let in, headers untouched.
    Open,
    /// A configured client: its credentials were removed from the headers.
    Client(String),
    /// No key, or a key no client of this workflow has: answer 401, forward nothing.
    Rejected,
}

/// Paths open to everyone whatever the keys: `/health` and `/`.
pub fn is_open_path(path: &str) -> bool {
    path == "/health" || path == "/"
}

/// `/v1/messages` and below (Anthropic's API), where `x-api-key` is accepted too.
pub fn accepts_x_api_key(path: &str) -> bool {
    path.strip_prefix(crate::record::EndpointKind::Messages.path())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Checks the request's credentials against `keys`. With keys, the client's
/// `Authorization` and `x-api-key` headers are removed whatever the verdict: they are never
/// forwarded (the workflow's `API_KEY`, or nothing, goes upstream).
pub fn authenticate(
    keys: Option<&ClientKeys>,
    x_api_key: bool,
    headers: &mut HeaderMap,
) -> Verdict {
    let Some(keys) = keys else {
        return Verdict::Open;
    };
    let bearer = headers.get(header::AUTHORIZATION).and_then(bearer_token);
    let anthropic = headers
        .get(X_API_KEY)
        .filter(|_| x_api_key)
        .map(HeaderValue::as_bytes);
    let found = [bearer, anthropic]
        .into_iter()
        .flatten()
        .find_map(|presented| identify(keys, presented))
        .map(str::to_owned);
    headers.remove(header::AUTHORIZATION);
    headers.remove(X_API_KEY);
    found.map_or(Verdict::Rejected, Verdict::Client)
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750).
fn bearer_token(value: &HeaderValue) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer ";
    let bytes = value.as_bytes();
    if bytes.len() <= SCHEME.len() || !bytes[..SCHEME.len()].eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let token = bytes[SCHEME.len()..].trim_ascii();
    (!token.is_empty()).then_some(token)
}

/// The name of the client whose key `presented` is: its digest is compared with every
/// client's, each comparison in constant time, all of them always.
fn identify<'k>(keys: &'k ClientKeys, presented: &[u8]) -> Option<&'k str> {
    let presented = digest(presented);
    let mut found = subtle::Choice::from(0);
    let mut index = 0u64;
    for (i, client) in keys.clients().iter().enumerate() {
        let same = client.digest()[..].ct_eq(&presented[..]);
        index.conditional_assign(&(i as u64), same);
        found |= same;
    }
    let index = usize::try_from(index).ok()?;
    bool::from(found)
        .then(|| keys.clients().get(index).map(|c| c.name()))
        .flatten()
}

/// `open` or `protected (N client keys)`, for `micromodel check`.
pub fn access(workflow: &Workflow) -> String {
    match &workflow.client_keys {
        None => "open: no CLIENT_KEYS".to_owned(),
        Some(keys) if keys.len() == 1 => "protected: 1 client key".to_owned(),
        Some(keys) => format!("protected: {} client keys", keys.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse, LoadOptions};

    fn keys(list: &str) -> ClientKeys {
        let text = format!(
            r#"{{"w": {{"OPENAI_API_HOST": "http://h", "PORT": 1, "CLIENT_KEYS": {list}}}}}"#
        );
        let config = parse(&text, LoadOptions::default(), &|_| Some("from-env".into()))
            .expect("valid config");
        config.workflows["w"].client_keys.clone().expect("keys")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).expect("value"));
        }
        h
    }

    #[test]
    fn every_form_of_key_identifies_its_client() {
        let hashed = crate::config::client_keys::hashed_form(b"hashed-key");
        let keys = keys(&format!(
            r#"[{{"name": "a", "key": "lit"}}, {{"name": "b", "key": "env:X"}}, {{"name": "c", "key": "{hashed}"}}]"#
        ));
        for (key, name) in [("lit", "a"), ("from-env", "b"), ("hashed-key", "c")] {
            let mut h = headers(&[("authorization", &format!("bearer {key}"))]);
            assert_eq!(
                authenticate(Some(&keys), false, &mut h),
                Verdict::Client(name.into())
            );
            assert!(h.get("authorization").is_none());
        }
    }

    #[test]
    fn wrong_missing_and_misplaced_keys_are_rejected_and_consumed() {
        let keys = keys(r#"[{"name": "a", "key": "lit"}]"#);
        let cases: [(&[(&'static str, &str)], bool); 5] = [
            (&[], false),
            (&[("authorization", "Bearer other")], false),
            (&[("authorization", "Basic lit")], false),
            (&[("authorization", "Bearer ")], false),
            (&[("x-api-key", "lit")], false),
        ];
        for (pairs, messages) in cases {
            let mut h = headers(pairs);
            assert_eq!(
                authenticate(Some(&keys), messages, &mut h),
                Verdict::Rejected
            );
            assert!(h.is_empty(), "{pairs:?} consumed");
        }
        let mut h = headers(&[("x-api-key", "lit"), ("authorization", "Bearer nope")]);
        assert_eq!(
            authenticate(Some(&keys), true, &mut h),
            Verdict::Client("a".into())
        );
        assert!(h.is_empty());
    }

    #[test]
    fn open_workflows_keep_the_headers() {
        let mut h = headers(&[("authorization", "Bearer x")]);
        assert_eq!(authenticate(None, false, &mut h), Verdict::Open);
        assert_eq!(h["authorization"], "Bearer x");
    }

    #[test]
    fn debug_shows_names_only() {
        let keys = keys(r#"[{"name": "alice", "key": "secret-literal"}]"#);
        let shown = format!("{keys:?}");
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
        let hex = crate::config::client_keys::hashed_form(b"secret-literal");
        assert!(!shown.contains(&hex[7..15]), "{shown}");
    }
}
