//! Which request paths may be forwarded: none with a `..` segment, literal or
//! percent-encoded (issue 11 (7)).
//!
//! Each `/`-separated segment is percent-decoded once (`%2e` → `.`, `%2f` → `/`, `%5c` → `\`),
//! then split again on `/` and `\`: if any piece is `..`, the path is refused. So `..`,
//! `%2e%2e`, `%2E%2e`, `.%2e`, `%2e.`, `..%2f` and `%2e%2e%5c` are all refused, while an
//! encoded slash without dot segments (`/v1/models/org%2Fmodel`, a model id holding `/`) is
//! forwarded as sent. Decoding is done once, as a server does: `%252e` is forwarded (it is
//! the literal text `%2e`, not a dot).

/// True when `path` has a `..` segment before or after one percent-decoding.
pub fn has_dot_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        if segment == ".." {
            return true;
        }
        if !segment.contains('%') {
            return false;
        }
        let decoded = percent_decode(segment.as_bytes());
        decoded
            .split(|&b| b == b'/' || b == b'\\')
            .any(|piece| piece == b"..")
    })
}

/// `%XX` (hex) → the byte; anything else (including a bad escape) is kept as is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex(hi).zip(hex(lo)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

fn hex(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_encoded_dot_segments_are_found() {
        for path in [
            "/v1/../admin",
            "/v1/..",
            "/v1/%2e%2e/admin",
            "/v1/%2E%2e/admin",
            "/v1/%2E%2E",
            "/v1/.%2e/admin",
            "/v1/%2e./admin",
            "/v1/..%2fadmin",
            "/v1/..%2Fadmin",
            "/v1/x%2f..%2fadmin",
            "/v1/%2e%2e%2fadmin",
            "/v1/..%5cadmin",
            "/v1/%2e%2e%5cadmin",
        ] {
            assert!(has_dot_dot_segment(path), "{path}");
        }
    }

    #[test]
    fn other_paths_pass() {
        for path in [
            "/v1/models",
            "/v1/models/org%2Fmodel",
            "/v1/a..b",
            "/v1/...",
            "/v1/%2e",
            "/v1/./models",
            "/v1/%252e%252e/x",
            "/v1/%2e%2",
            "/v1/%zz..",
            "/v1/%",
        ] {
            assert!(!has_dot_dot_segment(path), "{path}");
        }
    }
}
