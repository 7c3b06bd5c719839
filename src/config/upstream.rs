//! `OPENAI_API_HOST`: a small, strict parser for `http(s)://host[:port][/path]` base URLs.
//!
//! The proxy builds upstream URLs as `format!("{api_host}{path_and_query}")`, so the base must
//! have no query, fragment or trailing `/`, and must not end in `/v1` (clients already send
//! `/v1/...`). Credentials in the URL are refused: they belong in `API_KEY`. The result is
//! checked the way requests will use it (`http::Uri` of the base plus a request path), so a
//! base that `check` accepts never makes every request fail.

use std::net::Ipv6Addr;

/// Validates and normalises an upstream base URL; `Err` holds the reason, for the message.
///
/// Normalisation: the scheme is lower-cased; trailing `/`s are removed, then one trailing
/// `/v1`, then any `/`s before it (`http://h:1/v1/` → `http://h:1`, `http://h/proxy/v1` →
/// `http://h/proxy`). Host and path are otherwise kept as written.
pub(crate) fn normalise_api_host(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("it is empty".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains whitespace or control characters".into());
    }
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err("it must start with http:// or https://".into());
    };
    let scheme = scheme.to_ascii_lowercase();
    if !scheme
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        // Not a scheme at all (maybe `user:pw@host://...`): don't quote it.
        return Err("it must start with http:// or https://".into());
    }
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "scheme {scheme:?} is not supported, use http or https"
        ));
    }
    if rest.contains('?') {
        return Err(
            "it must not contain a query string (`?...`): request paths are appended to it".into(),
        );
    }
    if rest.contains('#') {
        return Err(
            "it must not contain a fragment (`#...`): request paths are appended to it".into(),
        );
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    check_authority(authority)?;

    check_path(path)?;

    let path = path.trim_end_matches('/');
    let path = path
        .strip_suffix("/v1")
        .unwrap_or(path)
        .trim_end_matches('/');
    let base = format!("{scheme}://{authority}{path}");
    // What every request will do with it (see `upstream::upstream_uri`).
    if let Err(error) = http::Uri::try_from(format!("{base}{SAMPLE_REQUEST_PATH}")) {
        return Err(format!("it cannot form a request URI: {error}"));
    }
    Ok(base)
}

/// A request path appended to the base when checking that the two form a URI.
const SAMPLE_REQUEST_PATH: &str = crate::record::EndpointKind::Chat.path();

/// The base path: only characters a URI path may hold (`http::Uri` is the judge, per
/// character, so the message can name the first bad one), and `%` only as `%XX`.
fn check_path(path: &str) -> Result<(), String> {
    if let Some(bad) = path
        .chars()
        .find(|&c| c != '%' && http::Uri::try_from(format!("http://h/{c}")).is_err())
    {
        return Err(format!(
            "the path contains {bad:?}, which cannot be part of a URL (percent-encode it)"
        ));
    }
    let bytes = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        let hex = bytes.get(i + 1..i + 3);
        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            return Err("the path has a `%` that is not followed by two hex digits".into());
        }
    }
    Ok(())
}

/// Checks `host[:port]` or `[ipv6][:port]`.
fn check_authority(authority: &str) -> Result<(), String> {
    if authority.is_empty() {
        return Err("it has no host".into());
    }
    if authority.contains('@') {
        return Err(
            "it must not contain credentials (`user@`); put the key in API_KEY instead".into(),
        );
    }
    let port = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inner, after)) = bracketed.split_once(']') else {
            return Err("the IPv6 address has no closing `]`".into());
        };
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err("the address in brackets is not a valid IPv6 address".into());
        }
        match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err("unexpected characters after the IPv6 address".into()),
            },
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if port.is_some_and(|p| p.contains(':')) {
            return Err("IPv6 addresses must be in brackets, e.g. http://[::1]:8080".into());
        }
        check_host_name(host)?;
        port
    };
    match port {
        None => Ok(()),
        Some(port) => check_port(port),
    }
}

/// A DNS name or IPv4 address: ASCII letters, digits, `-`, `_`, `.`, with no empty label
/// (one trailing `.` is allowed).
fn check_host_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("it has no host".into());
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(if bad.is_ascii() {
            format!("the host contains the invalid character {bad:?}")
        } else {
            "non-ASCII host names must be written in punycode (xn--...)".into()
        });
    }
    let labels = host.strip_suffix('.').unwrap_or(host);
    if labels.split('.').any(str::is_empty) {
        return Err("the host has an empty label (`..` or a leading `.`)".into());
    }
    Ok(())
}

/// The explicit port: digits only, 1–65535.
fn check_port(port: &str) -> Result<(), String> {
    let valid = !port.is_empty()
        && port.chars().all(|c| c.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if valid {
        Ok(())
    } else {
        // Not quoted: with a password holding `/` (`http://u:pw/x@h`), this "port" is the
        // password.
        Err("the port must be a number between 1 and 65535".into())
    }
}
