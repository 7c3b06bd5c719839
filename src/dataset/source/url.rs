//! [`BucketUrl`]: a `--data-dir` URL (`s3://bucket/prefix`, `file:///folder`), parsed and
//! printable without credentials.

use std::fmt;

use super::super::error::DatasetError;

/// URL schemes `--data-dir` reads as buckets.
pub const SCHEMES: &[&str] = &["s3", "s3a", "file"];

/// A bucket URL as given to `--data-dir`: `s3://<bucket>[/<prefix>]`. Never holds credentials
/// (a URL with `user:password@` is refused), so it can be printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketUrl {
    pub(super) scheme: String,
    pub(super) bucket: String,
    pub(super) prefix: String,
}

impl BucketUrl {
    /// Parses `<scheme>://<bucket>[/<prefix>]`; a trailing `/` is dropped.
    pub fn parse(text: &str) -> Result<BucketUrl, DatasetError> {
        let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        // What may be printed: never what stands before an `@` (credentials).
        let shown = match authority.rsplit_once('@') {
            Some((_, host)) => format!("{scheme}://<redacted>@{host}/{path}"),
            None => text.to_owned(),
        };
        let bad = |reason: &str| DatasetError::BadUrl {
            url: shown.clone(),
            reason: reason.to_owned(),
        };
        match scheme {
            _ if SCHEMES.contains(&scheme) => {}
            "gs" => {
                return Err(bad(
                    "gs:// is not built in; use Cloud Storage's S3 interoperability: \
                     s3://bucket/prefix with AWS_ENDPOINT_URL=https://storage.googleapis.com and \
                     HMAC keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                ))
            }
            _ => {
                return Err(bad(&format!(
                    "unsupported scheme {scheme:?} (supported: {})",
                    SCHEMES.join(", ")
                )))
            }
        }
        if scheme == "file" {
            // file:///absolute/folder: what `--sink file:///...` writes, same key layout.
            if !authority.is_empty() || path.is_empty() {
                return Err(bad("expected an absolute path: file:///folder"));
            }
            return Ok(BucketUrl {
                scheme: scheme.to_owned(),
                bucket: String::new(),
                prefix: path.trim_end_matches('/').to_owned(),
            });
        }
        if authority.contains('@') {
            return Err(bad(
                "credentials do not go in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
            ));
        }
        if authority.is_empty() {
            return Err(bad("no bucket name"));
        }
        if text.contains(['?', '#']) || authority.contains(':') {
            return Err(bad(
                "expected s3://<bucket>/<prefix> (the endpoint goes in AWS_ENDPOINT_URL)",
            ));
        }
        let prefix = path.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..") || prefix.contains("//") {
            return Err(bad("the prefix has an empty, `.` or `..` part"));
        }
        Ok(BucketUrl {
            scheme: scheme.to_owned(),
            bucket: authority.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The prefix inside the bucket, without leading or trailing `/` (`""` for the whole bucket).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme == "file" {
            return write!(f, "file:///{}", self.prefix);
        }
        write!(f, "{}://{}", self.scheme, self.bucket)?;
        match self.prefix.is_empty() {
            true => Ok(()),
            false => write!(f, "/{}", self.prefix),
        }
    }
}
