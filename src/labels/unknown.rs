//! A label for a `request_id` this instance does not hold (docs/labels.md, "Fleets"). In a
//! fleet behind one Service with the sink on, an application's `POST /feedback` reaches a
//! replica at random, and the record may be in another replica's folder (or only in the
//! bucket). The label is then filed without its record, and shipped like any label:
//!
//! - with the record's `day` given: in that day's folder of the workflow (created), where
//!   `export` and `stats` read the labels of that day's records anyway ([`Filed::Placed`]);
//! - without: in today's folder, marked `"unmatched": true`; the data tools apply it to a
//!   record of that day or of the days before, within a window ([`Filed::Unmatched`]).
//!
//! Without the sink, nothing is filed: the records of a single instance are all in its folder,
//! so an unknown id is unknown (404, as before).

use std::sync::Arc;

use chrono::NaiveDate;

use super::index::Location;
use super::request::LabelRequest;
use super::Scope;

/// How the folder of a label was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    /// The record was found (index or scan): its own day folder.
    Found,
    /// Not found; filed under the `day` the request gave.
    Placed,
    /// Not found and no `day`: filed under today, marked unmatched.
    Unmatched,
}

/// Where to file a label whose record was not found, or `None` (answered 404): the sink is
/// off (`shipped` false), or no workflow is known (`/api/labels` without `workflow_id`).
/// `today` is the UTC day the recorder would file a record under now. The choice cannot be
/// checked without the record: the location admits the one asked for.
pub fn place(
    request: &LabelRequest,
    scope: Scope<'_>,
    shipped: bool,
    today: NaiveDate,
) -> Option<(Location, Filed)> {
    if !shipped {
        return None;
    }
    let workflow = match scope {
        Scope::Workflow(id) => id,
        Scope::Any => request.workflow_id.as_deref()?,
    };
    let (day, filed) = match request.day {
        Some(day) => (day, Filed::Placed),
        None => (today, Filed::Unmatched),
    };
    let location = Location {
        workflow_id: Arc::from(workflow),
        day,
        records: request.choice.saturating_add(1),
    };
    Some((location, filed))
}

/// Whether a `/feedback` body names a workflow other than its port's: such a request is
/// answered as unknown, whatever this instance holds (a port labels its own workflow only).
pub fn other_workflow(request: &LabelRequest, scope: Scope<'_>) -> bool {
    match (scope, request.workflow_id.as_deref()) {
        (Scope::Workflow(port), Some(named)) => port != named,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::Label;

    fn request(day: Option<NaiveDate>, workflow_id: Option<&str>) -> LabelRequest {
        LabelRequest {
            request_id: "x".into(),
            choice: 2,
            label: Label::Good,
            note: None,
            tags: Vec::new(),
            day,
            workflow_id: workflow_id.map(str::to_owned),
        }
    }

    #[test]
    fn placed_unmatched_or_unknown() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("date");
        let then = NaiveDate::from_ymd_opt(2026, 11, 30).expect("date");
        let port = Scope::Workflow("w");
        assert_eq!(place(&request(Some(then), None), port, false, today), None);
        let (at, filed) = place(&request(Some(then), None), port, true, today).expect("placed");
        assert_eq!((&*at.workflow_id, at.day, at.records), ("w", then, 3));
        assert_eq!(filed, Filed::Placed);
        let (at, filed) = place(&request(None, None), port, true, today).expect("unmatched");
        assert_eq!((at.day, filed), (today, Filed::Unmatched));
        assert_eq!(place(&request(None, None), Scope::Any, true, today), None);
        let (at, _) = place(&request(None, Some("v")), Scope::Any, true, today).expect("named");
        assert_eq!(&*at.workflow_id, "v");
        assert!(other_workflow(&request(None, Some("v")), port));
        assert!(!other_workflow(&request(None, Some("w")), port));
        assert!(!other_workflow(&request(None, Some("v")), Scope::Any));
    }
}
