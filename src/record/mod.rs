//! Turning a request and its upstream answer into record lines (§4).

pub mod answer;

/// The two recorded endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointKind {
    /// `POST /v1/chat/completions`
    Chat,
    /// `POST /v1/completions`
    Completions,
}

impl EndpointKind {
    /// The path, as written in the record's `endpoint` field.
    pub fn path(self) -> &'static str {
        match self {
            EndpointKind::Chat => "/v1/chat/completions",
            EndpointKind::Completions => "/v1/completions",
        }
    }
}
