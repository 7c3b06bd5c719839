//! [`EndpointKind`]: the recorded endpoints and the one place their paths are spelled.

/// The two recorded endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// `POST /v1/chat/completions`
    Chat,
    /// `POST /v1/completions`
    Completions,
}

impl EndpointKind {
    /// Every recorded endpoint, in the order the service info lists them.
    pub const ALL: [EndpointKind; 2] = [EndpointKind::Chat, EndpointKind::Completions];

    /// The path, as routed by the proxy and written in the record's `endpoint` field.
    pub const fn path(self) -> &'static str {
        match self {
            EndpointKind::Chat => "/v1/chat/completions",
            EndpointKind::Completions => "/v1/completions",
        }
    }

    /// The recorded endpoint whose path is exactly `path` (no query, no trailing slash).
    pub fn from_path(path: &str) -> Option<EndpointKind> {
        EndpointKind::ALL
            .into_iter()
            .find(|kind| kind.path() == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for kind in EndpointKind::ALL {
            assert_eq!(EndpointKind::from_path(kind.path()), Some(kind));
        }
        assert_eq!(
            EndpointKind::from_path("/v1/chat/completions"),
            Some(EndpointKind::Chat)
        );
        assert_eq!(
            EndpointKind::from_path("/v1/completions"),
            Some(EndpointKind::Completions)
        );
        assert_eq!(EndpointKind::from_path("/v1/chat/completions/"), None);
        assert_eq!(EndpointKind::from_path("/v1/models"), None);
    }
}
