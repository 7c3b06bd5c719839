//! [`EndpointKind`]: the recorded endpoints and the one place their paths are spelled.

/// The recorded endpoints. Adding one: a variant here (its path, info key, key header) and a
/// [`Dialect`](super::dialect::Dialect) that maps it (`Dialect::of`); the proxy, the service
/// info, the UI's endpoint filter and the key checks all read [`EndpointKind::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// `POST /v1/chat/completions`
    Chat,
    /// `POST /v1/completions`
    Completions,
    /// `POST /v1/responses` (OpenAI Responses API)
    Responses,
    /// `POST /v1/messages` (Anthropic Messages)
    Messages,
}

/// How an endpoint's upstream wants the workflow's `API_KEY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Authorization: Bearer <key>` (OpenAI and compatible servers).
    Bearer,
    /// `x-api-key: <key>`, replacing the client's `x-api-key` and `Authorization` (Anthropic).
    XApiKey,
}

impl EndpointKind {
    /// Every recorded endpoint, in the order the service info lists them.
    pub const ALL: [EndpointKind; 4] = [
        EndpointKind::Chat,
        EndpointKind::Completions,
        EndpointKind::Responses,
        EndpointKind::Messages,
    ];

    /// The path, as routed by the proxy and written in the record's `endpoint` field.
    pub const fn path(self) -> &'static str {
        match self {
            EndpointKind::Chat => "/v1/chat/completions",
            EndpointKind::Completions => "/v1/completions",
            EndpointKind::Responses => "/v1/responses",
            EndpointKind::Messages => "/v1/messages",
        }
    }

    /// The endpoint's key in the service info's `endpoints` object (`GET /`).
    pub const fn info_key(self) -> &'static str {
        match self {
            EndpointKind::Chat => "chat_completions",
            EndpointKind::Completions => "completions",
            EndpointKind::Responses => "responses",
            EndpointKind::Messages => "messages",
        }
    }

    /// How the workflow's `API_KEY` is sent upstream for this endpoint.
    pub const fn key_header(self) -> KeyHeader {
        match self {
            EndpointKind::Messages => KeyHeader::XApiKey,
            EndpointKind::Chat | EndpointKind::Completions | EndpointKind::Responses => {
                KeyHeader::Bearer
            }
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
        assert_eq!(
            EndpointKind::from_path("/v1/responses"),
            Some(EndpointKind::Responses)
        );
        assert_eq!(
            EndpointKind::from_path("/v1/messages"),
            Some(EndpointKind::Messages)
        );
        assert_eq!(EndpointKind::from_path("/v1/messages/count_tokens"), None);
        assert_eq!(EndpointKind::from_path("/v1/chat/completions/"), None);
        assert_eq!(EndpointKind::from_path("/v1/models"), None);
    }
}
