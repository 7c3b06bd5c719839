//! The `secrets` detector's patterns: a curated subset of the rules of gitleaks
//! (<https://github.com/gitleaks/gitleaks>, `cmd/generate/config/rules/`, MIT License,
//! Copyright (c) 2019 Zachary Rice), adapted to the Rust `regex` crate.
//!
//! Changes from the originals: gitleaks' `GenerateUniqueTokenRegex` context groups (the
//! characters allowed around a token in source files, `\\n` escapes included) are replaced by
//! ASCII word boundaries, because MicroModel matches decoded JSON strings; `\w` is spelt
//! `[0-9A-Za-z_]` (ASCII); the OpenAI project-key rule also accepts key bodies of any length
//! of 20 or more around the `T3BlbkFJ` marker, and the private-key rule also accepts a
//! block cut off before its `-----END` line when 40 or more characters of key follow, since
//! a pasted key may be truncated; the Slack app-token rule is case-sensitive for its
//! `xapp-` prefix and the JWT rule wants `eyJ` / `eyA` (a JSON header, `{"` or `{ "`, in
//! base64) rather than any `ey`, so that each has a literal prefilter.

/// `(gitleaks rule id, pattern)`, in the order they are tried.
pub const PATTERNS: [(&str, &str); 17] = [
    (
        "private-key",
        r"-----BEGIN[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----|-----BEGIN[ A-Z0-9_\-]{0,100}PRIVATE KEY(?: BLOCK)?-----\s*[A-Za-z0-9+/=\s]{40,}",
    ),
    (
        "aws-access-token",
        r"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?-u:\b)",
    ),
    (
        "anthropic-api-key / anthropic-admin-api-key",
        r"(?-u:\b)sk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{93}AA(?-u:\b)",
    ),
    (
        "anthropic-oauth-token / anthropic-oauth-refresh-token",
        r"(?-u:\b)sk-ant-(?:oat|ort)01-[A-Za-z0-9_\-]{40,}",
    ),
    (
        "openai-api-key",
        r"(?-u:\b)sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}T3BlbkFJ[A-Za-z0-9_\-]{20,}",
    ),
    (
        "openai-api-key (legacy)",
        r"(?-u:\b)sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}(?-u:\b)",
    ),
    (
        "github-pat / github-oauth / github-app-token / github-refresh-token",
        r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr)_[0-9A-Za-z]{36}(?-u:\b)",
    ),
    (
        "github-fine-grained-pat",
        r"(?-u:\b)github_pat_[0-9A-Za-z_]{82}(?-u:\b)",
    ),
    (
        "slack-bot-token",
        r"xoxb-[0-9]{10,13}-[0-9]{10,13}[A-Za-z0-9\-]*",
    ),
    (
        "slack-user-token",
        r"xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9\-]{28,34}",
    ),
    (
        "slack-legacy-bot-token",
        r"xoxb-[0-9]{8,14}-[A-Za-z0-9]{18,26}",
    ),
    (
        "slack-app-token",
        r"xapp-[0-9]-[A-Za-z0-9]+-[0-9]+-[A-Za-z0-9]+",
    ),
    (
        "slack-webhook-url",
        r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,56}",
    ),
    (
        "stripe-access-token",
        r"(?-u:\b)(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{10,99}(?-u:\b)",
    ),
    ("gcp-api-key", r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}"),
    (
        "jwt",
        r"(?-u:\b)ey[JA][A-Za-z0-9]{16,}\.ey[A-Za-z0-9/_\-]{17,}\.(?:[A-Za-z0-9/_\-]{10,}={0,2})?",
    ),
    (
        "slack-legacy-workspace-token",
        r"(?-u:\b)xox[ar]-(?:[0-9]-)?[0-9A-Za-z]{8,48}",
    ),
];
