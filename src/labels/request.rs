//! The body of `POST /feedback` and `POST /api/labels`, checked (docs/labels.md).

use chrono::{Days, NaiveDate, Utc};
use serde::Deserialize;

use super::line::Label;
use crate::layout;

/// The largest label body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A checked label request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRequest {
    /// The record's `request_id` (the `x-micromodel-request-id` of its answer).
    pub request_id: String,
    /// Which record of the request (its choice), 0 by default.
    pub choice: u32,
    /// `good`, `bad` or `none`.
    pub label: Label,
    /// An optional note.
    pub note: Option<String>,
    /// Optional free-form tags.
    pub tags: Vec<String>,
    /// The record's UTC day, when the client knows it: where to file the label when the
    /// record is not in this instance's folder (with the sink on; docs/labels.md).
    pub day: Option<NaiveDate>,
    /// The record's workflow, when the client knows it (needed by `/api/labels` to file a
    /// label for a record it does not hold; `/feedback` files under its own workflow).
    pub workflow_id: Option<String>,
}

/// The body as sent, before `day` and `workflow_id` are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    /// The record's `request_id` (the `x-micromodel-request-id` of its answer).
    request_id: String,
    /// Which record of the request (its choice), 0 by default.
    #[serde(default)]
    choice: u32,
    /// `good`, `bad` or `none`.
    label: Label,
    /// An optional note.
    #[serde(default)]
    note: Option<String>,
    /// Optional free-form tags.
    #[serde(default)]
    tags: Vec<String>,
    /// `DD-MM-YYYY` or `YYYY-MM-DD`.
    #[serde(default)]
    day: Option<String>,
    /// A workflow id.
    #[serde(default)]
    workflow_id: Option<String>,
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
    /// `day` is not a date in `DD-MM-YYYY` or `YYYY-MM-DD`.
    #[error("day must be a date DD-MM-YYYY (as the day folders) or YYYY-MM-DD, got {0:?}.")]
    BadDay(String),
    /// `day` is later than tomorrow (UTC): no record can be filed there yet.
    #[error("day {0:?} is in the future: no record can be filed under it yet.")]
    FutureDay(String),
    /// `workflow_id` cannot be a workflow id.
    #[error("workflow_id {id:?} is not a workflow id: {why}.")]
    BadWorkflowId {
        /// The id given.
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl BadLabel {
    /// The parameter at fault, when one is known.
    pub fn param(&self) -> Option<&'static str> {
        match self {
            BadLabel::EmptyRequestId => Some("request_id"),
            BadLabel::EmptyTag => Some("tags"),
            BadLabel::BadDay(_) | BadLabel::FutureDay(_) => Some("day"),
            BadLabel::BadWorkflowId { .. } => Some("workflow_id"),
            BadLabel::Shape(_) | BadLabel::TooLarge => None,
        }
    }
}

impl LabelRequest {
    /// Parses and checks a body (a `day` may be at most tomorrow, UTC: clocks of replicas
    /// differ a little around midnight).
    pub fn parse(body: &[u8]) -> Result<LabelRequest, BadLabel> {
        Self::parse_on(body, Utc::now().date_naive())
    }

    /// [`LabelRequest::parse`] as if today (UTC) were `today`.
    pub fn parse_on(body: &[u8], today: NaiveDate) -> Result<LabelRequest, BadLabel> {
        if body.len() > MAX_BODY_BYTES {
            return Err(BadLabel::TooLarge);
        }
        let body: Body =
            serde_json::from_slice(body).map_err(|e| BadLabel::Shape(e.to_string()))?;
        if body.request_id.is_empty() {
            return Err(BadLabel::EmptyRequestId);
        }
        if body.tags.iter().any(|t| t.trim().is_empty()) {
            return Err(BadLabel::EmptyTag);
        }
        let day = match body.day {
            None => None,
            Some(text) => {
                let day = layout::parse_day_name(&text).ok_or(BadLabel::BadDay(text.clone()))?;
                if today
                    .checked_add_days(Days::new(1))
                    .is_some_and(|t| day > t)
                {
                    return Err(BadLabel::FutureDay(text));
                }
                Some(day)
            }
        };
        if let Some(id) = &body.workflow_id {
            if let Some(why) = crate::config::workflow_id_problem(id) {
                return Err(BadLabel::BadWorkflowId {
                    id: id.clone(),
                    why,
                });
            }
        }
        Ok(LabelRequest {
            request_id: body.request_id,
            choice: body.choice,
            label: body.label,
            note: body.note,
            tags: body.tags,
            day,
            workflow_id: body.workflow_id,
        })
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

    #[test]
    fn day_and_workflow_id() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let parse = |body: &str| LabelRequest::parse_on(body.as_bytes(), today);
        let day = |text: &str| {
            let body = format!(r#"{{"request_id":"a","label":"good","day":"{text}"}}"#);
            parse(&body).map(|r| r.day)
        };
        let first = NaiveDate::from_ymd_opt(2026, 12, 1);
        assert_eq!(day("01-12-2026"), Ok(first));
        assert_eq!(day("2026-12-01"), Ok(first));
        assert_eq!(day("03-12-2026"), Ok(NaiveDate::from_ymd_opt(2026, 12, 3)));
        assert_eq!(
            day("04-12-2026"),
            Err(BadLabel::FutureDay("04-12-2026".into()))
        );
        let bad = day("1-12-2026");
        assert_eq!(bad, Err(BadLabel::BadDay("1-12-2026".into())));
        assert_eq!(bad.map_err(|e| e.param()), Err(Some("day")));
        assert!(parse(r#"{"request_id":"a","label":"good","day":1}"#).is_err());
        let wf = parse(r#"{"request_id":"a","label":"good","workflow_id":"w-1"}"#);
        assert_eq!(wf.map(|r| r.workflow_id), Ok(Some("w-1".into())));
        let escape = parse(r#"{"request_id":"a","label":"good","workflow_id":"../x"}"#);
        assert!(
            matches!(escape, Err(BadLabel::BadWorkflowId { .. })),
            "{escape:?}"
        );
    }
}
