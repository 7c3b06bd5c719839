//! The pages over the sink's bucket (`?source=bucket`): each read is a background job
//! ([`super::jobs`]); a request answers with the page when its read finishes within
//! [`super::jobs::ANSWER_WITHIN`], else with the read's progress (202, refreshing itself),
//! and with an error page when the store fails (502) or stops answering (504).

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use maud::html;
use tokio::sync::Semaphore;

use super::bucket::{BucketLabels, BucketRead, BucketView, NoLabels};
use super::jobs::{Answer, Jobs, Progress, ANSWER_WITHIN};
use super::overview_data::Overview;
use super::page::{count, error_page, respond, shell, Tab};
use super::query::{Filter, Found, Page, Place};
use super::summary::SummaryCache;
use crate::dataset::scan::Selection;
use crate::dataset::DatasetError;

/// What a bucket page reads with.
#[derive(Clone)]
pub struct Reading {
    /// The bucket and its jobs.
    pub view: Arc<BucketView>,
    /// One read at a time (shared with the local pages).
    pub reads: Arc<Semaphore>,
    /// The local data folders (their labels).
    pub local: Vec<PathBuf>,
    /// Summaries.
    pub cache: Arc<SummaryCache>,
}

impl Reading {
    /// Runs `read` over the bucket as the job `key` of `jobs`; the page `render`s its value.
    async fn run<T, F, R>(
        &self,
        jobs: impl Fn(&BucketView) -> &Jobs<T>,
        key: String,
        read: F,
        csrf: &str,
        render: R,
    ) -> Response
    where
        T: Send + Sync + 'static,
        F: FnOnce(&BucketRead<'_>) -> Result<T, DatasetError> + Send + 'static,
        R: FnOnce(&T) -> Response,
    {
        let this = self.clone();
        let job = move |progress: &Progress| {
            let (bucket, labels) = this.view.open().map_err(|e| e.to_string())?;
            let labels: &dyn BucketLabels = match &labels {
                Some(labels) => &**labels,
                None => &NoLabels,
            };
            let source = BucketRead {
                bucket,
                labels,
                local: &this.local,
                cache: &this.cache,
                progress,
                label_days: Default::default(),
            };
            read(&source).map_err(|e| e.to_string())
        };
        let answer = jobs(&self.view)
            .answer(key, &self.reads, ANSWER_WITHIN, job)
            .await;
        let url = &self.view.url;
        match answer {
            Answer::Done(outcome) => match &*outcome {
                Ok(value) => render(value),
                Err(error) => {
                    tracing::warn!(%error, bucket = %url, "The data page could not read the bucket.");
                    error_page(StatusCode::BAD_GATEWAY, error)
                }
            },
            Answer::Running(progress) => progress_page(url, &progress, csrf),
            Answer::Stalled(progress) => {
                let message = format!(
                    "the bucket {url} has not answered for {} s (the read goes on; reload to see it)",
                    progress.idle().as_secs()
                );
                error_page(StatusCode::GATEWAY_TIMEOUT, &message)
            }
        }
    }

    /// The overview of the range.
    pub async fn overview(
        &self,
        since: Option<chrono::NaiveDate>,
        until: Option<chrono::NaiveDate>,
        csrf: &str,
    ) -> Response {
        let key = format!("{since:?}..{until:?}");
        self.run(
            |v| &v.overviews,
            key,
            move |source| super::overview_data::build(source, since, until),
            csrf,
            |data: &Overview| respond(StatusCode::OK, super::overview::render(data, csrf)),
        )
        .await
    }

    /// A page of the list.
    pub async fn list(&self, filter: Filter, csrf: &str) -> Response {
        let key = serde_urlencoded::to_string([
            ("w", &filter.workflow),
            ("d", &filter.day),
            ("m", &filter.model),
            ("e", &filter.endpoint),
            ("f", &filter.finish),
            ("l", &filter.label),
            ("q", &filter.q),
            ("p", &filter.page.to_string()),
        ])
        .unwrap_or_default();
        let wanted = filter.clone();
        self.run(
            |v| &v.lists,
            key,
            move |source| {
                let page = super::query::list(source, &wanted)?;
                let day = crate::dataset::scan::parse_day(&wanted.day).ok();
                let selection = Selection {
                    since: day,
                    until: day,
                    ..Selection::default()
                };
                let mut workflows: Vec<String> = super::source::Source::files(source, &selection)?
                    .into_iter()
                    .map(|f| f.workflow)
                    .collect();
                workflows.sort();
                workflows.dedup();
                Ok((page, workflows))
            },
            csrf,
            |(page, workflows): &(Page, Vec<String>)| {
                respond(
                    StatusCode::OK,
                    super::records::render(&filter, page, workflows, csrf),
                )
            },
        )
        .await
    }

    /// One record.
    pub async fn record(&self, place: Place, csrf: &str) -> Response {
        let key = format!(
            "{}/{}/{}/{}",
            place.workflow,
            place.date,
            place.object.as_deref().unwrap_or(""),
            place.line
        );
        let wanted = place.clone();
        self.run(
            |v| &v.records,
            key,
            move |source| super::query::find(source, &wanted),
            csrf,
            |found: &Option<Found>| match found {
                Some(found) => respond(StatusCode::OK, super::chat::render(found, &place, csrf)),
                None => error_page(StatusCode::NOT_FOUND, "no such record"),
            },
        )
        .await
    }
}

/// The page shown while a read goes on: what it did so far; it reloads itself.
fn progress_page(url: &str, p: &Progress, csrf: &str) -> Response {
    let (done, total) = (
        Progress::get(&p.objects_done),
        Progress::get(&p.objects_total),
    );
    let body = html! {
        h1 { "Reading the bucket" }
        div.card #progress data-objects-done=(done) data-objects-total=(total) {
            p { (url) }
            p {
                (count(Progress::get(&p.listings))) " listings, "
                (count(done)) " of " (count(total)) " objects ("
                (count(Progress::get(&p.bytes_done))) " of " (count(Progress::get(&p.bytes_total)))
                " bytes, compressed) read in " (p.elapsed().as_secs()) " s."
            }
            p.muted { "This page reloads itself; the proxy is not held up by this read." }
        }
    };
    let mut response = respond(
        StatusCode::ACCEPTED,
        shell("Reading the bucket", Tab::Overview, csrf, body),
    );
    response
        .headers_mut()
        .insert(header::REFRESH, HeaderValue::from_static("2"));
    response
}
