//! The body of `POST /feedback` and `POST /api/labels`, checked (docs/labels.md).

use serde::Deserialize;

use super::line::Label;

/// The largest label body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A checked label request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRequest {
    /// The record's `request_id` (the `x-micromodel-request-id` of its answer).
    pub request_id: String,
    /// Which record of the request (its choice), 0 by default.
    #[serde(default)]
    pub choice: u32,
    /// `good`, `bad` or `none`.
    pub label: Label,
    /// An optional note.
    #[serde(default)]
    pub note: Option<String>,
    /// Optional free-form tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Why a label body is refused (answered 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadLabel {
    /// Not JSON, not an object, a missing field, a wrong type or an unknown label value.
    #[error("The label body is not valid: {0}. Expected {{\"request_id\": \"...\", \"label\": \"good\"|\"bad\"|\"none\", \"choice\": 0, \"note\": \"...\", \"tags\": [\"...\"]}}.")]
    Shape(String),
    /// `request_id` is empty.
    #[error("request_id must not be empty.")]
    EmptyRequestId,
    /// A tag is empty.
    #[error("tags must be non-empty strings.")]
    EmptyTag,
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("The label body is larger than {MAX_BODY_BYTES} bytes.")]
    TooLarge,
}

impl BadLabel {
    /// The parameter at fault, when one is known.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            BadLabel::EmptyRequestId => Some("request_id"),
            BadLabel::EmptyTag => Some("tags"),
            BadLabel::Shape(_) | BadLabel::TooLarge => None,
        }
    }
}

impl LabelRequest {
    /// Parses and checks a body.
    pub fn parse(body: &[u8]) -> Result<LabelRequest, BadLabel> {
        if body.len() > MAX_BODY_BYTES {
            return Err(BadLabel::TooLarge);
        }
        let request: LabelRequest =
            serde_json::from_slice(body).map_err(|e| BadLabel::Shape(e.to_string()))?;
        if request.request_id.is_empty() {
            return Err(BadLabel::EmptyRequestId);
        }
        if request.tags.iter().any(|t| t.trim().is_empty()) {
            return Err(BadLabel::EmptyTag);
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_error(body: &str) -> String {
        match LabelRequest::parse(body.as_bytes()) {
            Err(BadLabel::Shape(why)) => why,
            other => panic!("{body}: expected a shape error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_refusals() {
        let ok = LabelRequest::parse(br#"{"request_id":"a","label":"bad"}"#).expect("valid");
        assert_eq!(ok.choice, 0);
        assert_eq!(ok.label, Label::Bad);
        assert!(ok.note.is_none() && ok.tags.is_empty());
        assert!(shape_error(r#"{"request_id":"a","label":"meh"}"#).contains("unknown variant"));
        assert!(shape_error(r#"{"label":"good"}"#).contains("request_id"));
        assert!(shape_error(r#"{"request_id":5,"label":"good"}"#).contains("invalid type"));
        assert!(
            shape_error(r#"{"request_id":"a","label":"good","choice":-1}"#)
                .contains("invalid value")
        );
        assert!(
            shape_error(r#"{"request_id":"a","label":"good","lable":1}"#).contains("unknown field")
        );
        assert!(shape_error("[1]").contains("invalid type"));
        assert_eq!(
            LabelRequest::parse(br#"{"request_id":"","label":"good"}"#),
            Err(BadLabel::EmptyRequestId)
        );
        assert_eq!(
            LabelRequest::parse(br#"{"request_id":"a","label":"good","tags":[" "]}"#),
            Err(BadLabel::EmptyTag)
        );
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(LabelRequest::parse(&big), Err(BadLabel::TooLarge));
    }
}
