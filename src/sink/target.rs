//! `--sink URL`: which object store, and the prefix below which segments are written.
//!
//! - `s3://bucket[/prefix]`: AWS S3 and every S3-compatible store. Settings come from the
//!   standard environment through `object_store`'s `AmazonS3Builder::from_env`
//!   (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
//!   `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` for a self-hosted store, `AWS_ALLOW_HTTP=true`
//!   for plain HTTP, web identity / IRSA through `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`,
//!   ECS / instance credentials otherwise).
//! - `file:///absolute/folder`: a local (or mounted) folder, same key layout.
//! - `gs://` and `az://` are refused with a pointer to the S3 interop endpoints (see
//!   docs/object-storage.md for why they are not built in).
//!
//! Credentials never go in the URL: one with userinfo (`s3://key:secret@bucket`) or a query
//! (`?X-Amz-Security-Token=...`) is refused, and the URL is only ever shown masked
//! ([`crate::config::redact_userinfo`]): in the start error, in [`Target::display`] and so in
//! every log line of the sink.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use super::error::SinkError;

/// Where segments go: the store and the prefix of every key.
#[derive(Clone)]
pub struct Target {
    /// The object store client.
    pub store: Arc<dyn ObjectStore>,
    /// Key prefix (may be empty): objects are `<prefix>/workflow=.../...`.
    pub prefix: String,
    /// The URL for logs and errors, masked ([`crate::config::redact_userinfo`]; a URL that
    /// would need masking is refused anyway).
    pub display: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.display)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Target {
    /// The store path of a key below the prefix.
    pub fn object_path(&self, key: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(key)
        } else {
            StorePath::from(format!("{}/{key}", self.prefix))
        }
    }
}

/// How long one request (a whole PUT) may take before it counts as failed.
const REQUEST_TIMEOUT: &str = "120s";
/// How long connecting may take.
const CONNECT_TIMEOUT: &str = "5s";

/// The client's own retries stay short: the uploader retries without limit around them, and a
/// failure should show in the metrics and the log while the store is down.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 2,
        retry_timeout: Duration::from_secs(30),
    }
}

/// Parses `--sink` and builds the store client (no request is made).
pub fn parse(url: &str) -> Result<Target, SinkError> {
    let shown = masked(url);
    let bad = |reason: String| SinkError::BadUrl {
        url: shown.clone(),
        reason,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected s3://bucket/prefix (or file:///folder)".into()))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') || url.contains('?') || url.contains('#') {
        return Err(bad(
            "credentials, queries and fragments do not go in the URL; set AWS_ACCESS_KEY_ID / \
             AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment"
                .into(),
        ));
    }
    match scheme {
        "s3" | "s3a" => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("the bucket name is missing: s3://bucket/prefix".into()));
            }
            let prefix = clean_prefix(prefix).map_err(bad)?;
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(retry_config())
                // Through `with_config`: `with_client_options` would replace the options read
                // from the environment (`AWS_ALLOW_HTTP` among them).
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                    REQUEST_TIMEOUT,
                )
                .with_config(
                    AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                    CONNECT_TIMEOUT,
                )
                .build()
                .map_err(|e| bad(format!("cannot configure the S3 client: {e}")))?;
            Ok(Target {
                store: Arc::new(store),
                prefix,
                display: shown.clone(),
            })
        }
        "file" => {
            if !rest.starts_with('/') {
                return Err(bad("expected an absolute path: file:///folder".into()));
            }
            std::fs::create_dir_all(rest)
                .map_err(|e| bad(format!("cannot create the folder {rest}: {e}")))?;
            let store = LocalFileSystem::new_with_prefix(rest)
                .map_err(|e| bad(format!("cannot use the folder {rest}: {e}")))?;
            Ok(Target {
                store: Arc::new(store),
                prefix: String::new(),
                display: shown.clone(),
            })
        }
        "gs" => Err(bad(
            "gs:// is not built in; use Cloud Storage's S3 interoperability: \
             --sink s3://bucket/prefix with AWS_ENDPOINT_URL=https://storage.googleapis.com \
             and HMAC keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY"
                .into(),
        )),
        "az" | "abfs" | "abfss" | "azure" => Err(bad(
            "az:// is not built in; use an S3-compatible gateway in front of Azure Blob \
             Storage, or ship the spool's segments with azcopy"
                .into(),
        )),
        other => Err(bad(format!(
            "unknown scheme {other}://; supported: s3://bucket/prefix, file:///folder"
        ))),
    }
}

/// `url` for messages: userinfo and query masked ([`crate::config::redact_userinfo`]), and a
/// fragment too.
fn masked(url: &str) -> String {
    let mut shown = crate::config::redact_userinfo(url).into_owned();
    if let Some(at) = shown.find('#') {
        shown.truncate(at);
        shown.push_str("#***");
    }
    shown
}

/// The prefix without surrounding `/`; refuses empty parts (`a//b`) and `.` / `..` parts.
fn clean_prefix(prefix: &str) -> Result<String, String> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(format!(
                "the prefix {prefix:?} has an empty, `.` or `..` part"
            ));
        }
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(url: &str) -> String {
        match parse(url) {
            Ok(t) => panic!("{url} accepted: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn s3_urls() {
        let t = parse("s3://bucket/some/prefix/").expect("valid");
        assert_eq!(t.prefix, "some/prefix");
        assert_eq!(
            t.object_path("workflow=a/date=2025-08-04/x.jsonl.gz")
                .as_ref(),
            "some/prefix/workflow=a/date=2025-08-04/x.jsonl.gz"
        );
        let t = parse("s3://bucket").expect("valid");
        assert_eq!(t.prefix, "");
        assert_eq!(t.object_path("workflow=a/b").as_ref(), "workflow=a/b");
    }

    #[test]
    fn bad_urls_say_why() {
        assert!(error_of("bucket/prefix").contains("expected s3://"));
        assert!(error_of("s3:///prefix").contains("bucket name is missing"));
        assert!(error_of("s3://b/a//c").contains("empty"));
        assert!(error_of("s3://b/../c").contains("`..`"));
        assert!(error_of("gs://b/p").contains("interoperability"));
        assert!(error_of("az://b/p").contains("not built in"));
        assert!(error_of("ftp://b/p").contains("unknown scheme ftp://"));
        assert!(error_of("file://relative").contains("absolute"));
    }

    #[test]
    fn credentials_in_the_url_are_refused_and_never_shown() {
        for url in [
            "s3://AKIDPLANTED:SECRETPLANTED@bucket/p",
            "s3://bucket/p?X-Amz-Security-Token=SECRETPLANTED",
            "file:///tmp/x?token=SECRETPLANTED",
            "ftp://u:SECRETPLANTED@host/p",
            "gs://u:SECRETPLANTED@b/p",
            "s3://bucket/p#SECRETPLANTED",
        ] {
            let error = error_of(url);
            assert!(!error.contains("SECRETPLANTED"), "{url}: {error}");
            assert!(error.starts_with("--sink "), "{error}");
        }
        assert!(error_of("s3://k:SECRETPLANTED@b/p").contains("s3://***@b/p"));
        assert_eq!(
            parse("s3://bucket/team@x/p")
                .expect("an @ in the prefix is no userinfo")
                .prefix,
            "team@x/p"
        );
    }
}
