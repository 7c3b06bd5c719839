//! Masking URL credentials before a URL (or a config string that may be one) is shown in a
//! log line, an error, `check` output or a response.
//!
//! The one rule, used everywhere: everything between the scheme's `://` (or the start, when
//! there is no scheme or an `@` comes before it) and the **last** `@` is userinfo and is shown as `***`; when a scheme is
//! present, everything after the first `?` (a query may carry an `api-key=`) is shown as `***`
//! too. Taking the last `@` also masks passwords written with an unencoded `/` or `@`; the
//! price is that a path holding `@` is masked from the host on, which only loses detail.

use std::borrow::Cow;
use std::fmt;

/// What masked parts are shown as.
const MASK: &str = "***";

/// `text` with URL userinfo (and, for a URL with a scheme, its query) masked; borrowed
/// unchanged when there is nothing to mask.
///
/// `http://user:pw@h:1/p` → `http://***@h:1/p`; `user:pw@h` → `***@h`;
/// `https://h/?api-key=k` → `https://h/?***`.
pub fn redact_userinfo(text: &str) -> Cow<'_, str> {
    let last_at = text.rfind('@');
    // The authority starts after `://`, unless an `@` comes first (`user:pw@host://...` is
    // not a URL, but its start is still credentials).
    let (start, has_scheme) = match text.find("://") {
        Some(i) if last_at.map_or(true, |at| at > i) => (i + 3, true),
        _ => (0, false),
    };
    let query = if has_scheme {
        text[start..].find('?').map(|i| start + i)
    } else {
        None
    };
    let userinfo = last_at.filter(|&at| at > start);
    let query = query.filter(|&q| q + 1 < text.len());
    if userinfo.is_none() && query.is_none() {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len());
    shown.push_str(&text[..start]);
    let rest_start = match userinfo {
        Some(at) => {
            shown.push_str(MASK);
            at
        }
        None => start,
    };
    match query {
        // The query starts after the userinfo: keep what lies between, mask the query.
        Some(q) if q >= rest_start => {
            shown.push_str(&text[rest_start..=q]);
            shown.push_str(MASK);
        }
        // A `?` inside the masked userinfo (a password holding `?`): already masked.
        _ => shown.push_str(&text[rest_start..]),
    }
    Cow::Owned(shown)
}

/// A URL for `Display` (`%` in tracing fields, `{}` in messages) with its userinfo masked,
/// see [`redact_userinfo`].
#[derive(Debug, Clone, Copy)]
pub struct Redacted<'a>(pub &'a str);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_userinfo(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_userinfo_and_query_only() {
        let cases = [
            ("http://user:pw@h:1/p", "http://***@h:1/p"),
            ("http://user@h", "http://***@h"),
            ("HTTPS://u:p@[::1]:8/v1", "HTTPS://***@[::1]:8/v1"),
            ("http://u:p/w@h/x", "http://***@h/x"),
            ("http://u:p@w@h", "http://***@h"),
            ("http://u:p?x@h", "http://***@h"),
            ("user:pw@h", "***@h"),
            ("user:pw@h://x", "***@h://x"),
            ("https://h/?api-key=k", "https://h/?***"),
            ("http://u:p@h/a?k=v", "http://***@h/a?***"),
            ("http://h:1/proxy", "http://h:1/proxy"),
            ("http://h?", "http://h?"),
            ("http://@h", "http://@h"),
            ("", ""),
            ("default", "default"),
        ];
        for (input, shown) in cases {
            assert_eq!(redact_userinfo(input), shown, "{input}");
            assert_eq!(Redacted(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn nothing_to_mask_borrows() {
        assert!(matches!(
            redact_userinfo("http://localhost:11434"),
            Cow::Borrowed(_)
        ));
    }
}
