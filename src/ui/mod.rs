//! The data page at `/ui/` on the admin listener (see `docs/ui.md`): server-rendered HTML
//! (maud: compiled templates, escaping by default), one small script for the label buttons,
//! CSS inline; nothing loaded from elsewhere.
//!
//! - [`token`]: `--admin-token` (literal or `env:NAME`), kept as a digest, constant-time check.
//! - [`auth`]: the layer over the whole admin router: Bearer, Basic, session cookie, CSRF.
//! - [`login`]: the login form and logout.
//! - [`summary`]: per-file summaries cached by `(path, size, mtime)`; [`labels`]: a day's
//!   `labels.jsonl` and a record's labels over the window `export` uses; [`text`]: message text for search and rows; [`overview_data`]: the overview's sums; [`query`]: the list and one record.
//! - [`page`], [`overview`], [`records`], [`chat`], [`live`]: the pages.
//! - [`lines`]: a data file's parsed lines; [`source`]: local folders or the bucket
//!   ([`bucket`], `?source=bucket` with `serve --sink`), read as jobs ([`jobs`],
//!   [`bucket_pages`]) that show their progress when slow.
//!
//! Data is read on blocking threads, one read at a time ([`UiState::reads`]), so a big scan
//! never holds a runtime worker of the proxy and two open tabs do not scan twice at once.

pub mod auth;
pub mod background;
pub mod bucket;
pub mod bucket_pages;
pub mod chat;
pub mod jobs;
pub mod labels;
pub mod lines;
pub mod live;
pub mod login;
pub mod overview;
pub mod overview_data;
pub mod page;
pub mod query;
pub mod records;
pub mod source;
pub mod state;
pub mod summary;
pub mod text;
pub mod token;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};

use crate::admin::state::AdminState;
use crate::dataset::DatasetError;
use auth::Csrf;
pub use state::UiState;
use summary::SummaryCache;

/// The bucket pages' reading, when `source` is `bucket`; `Err`: no bucket configured.
fn bucket_reading(ui: &UiState, source: &str) -> Option<Result<bucket_pages::Reading, Response>> {
    if source != "bucket" {
        return None;
    }
    Some(match &ui.bucket {
        Some(view) => Ok(bucket_pages::Reading {
            view: Arc::clone(view),
            reads: Arc::clone(&ui.reads),
            local: ui.data_dirs.clone(),
            cache: Arc::clone(&ui.cache),
        }),
        None => Err(page::error_page(
            StatusCode::NOT_FOUND,
            "no bucket: serve runs without --sink",
        )),
    })
}

/// The `/ui` routes (merged into the admin router, behind its auth layer).
pub fn router() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(overview_page))
        .route("/ui/records", get(records_page))
        .route("/ui/record/{workflow}/{day}/{line}", get(record_page))
        .route("/ui/live", get(live_page))
        .route("/ui/ui.js", get(script))
        .route("/ui/login", get(login::show).post(login::submit))
        .route("/ui/logout", axum::routing::post(login::logout))
}

/// Runs `read` on a low-priority thread ([`background`]), after the previous read finished.
async fn read<T, F>(state: &Arc<AdminState>, read: F) -> Result<T, Response>
where
    T: Send + 'static,
    F: FnOnce(&[PathBuf], &SummaryCache) -> Result<T, DatasetError> + Send + 'static,
{
    let permit = Arc::clone(&state.ui.reads)
        .acquire_owned()
        .await
        .map_err(|_| page::error_page(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let (dirs, cache) = (state.ui.data_dirs.clone(), Arc::clone(&state.ui.cache));
    let joined = background::run(move || {
        let _permit = permit;
        read(&dirs, &cache)
    })
    .await;
    match joined {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            tracing::warn!(%error, "The data page could not read the data folder.");
            Err(page::error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                &error.to_string(),
            ))
        }
        Err(_) => Err(page::error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the read failed",
        )),
    }
}

fn csrf(extension: Option<Extension<Csrf>>) -> String {
    extension.map(|Extension(Csrf(c))| c).unwrap_or_default()
}

async fn overview_page(
    State(state): State<Arc<AdminState>>,
    csrf_token: Option<Extension<Csrf>>,
    Query(range): Query<overview::Range>,
) -> Response {
    let (since, until) = range.days();
    match bucket_reading(&state.ui, &range.source) {
        Some(Ok(reading)) => return reading.overview(since, until, &csrf(csrf_token)).await,
        Some(Err(response)) => return response,
        None => {}
    }
    match read(&state, move |dirs, cache| {
        overview_data::build(&source::Local { dirs, cache }, since, until)
    })
    .await
    {
        Ok(data) => page::respond(StatusCode::OK, overview::render(&data, &csrf(csrf_token))),
        Err(response) => response,
    }
}

async fn records_page(
    State(state): State<Arc<AdminState>>,
    csrf_token: Option<Extension<Csrf>>,
    Query(filter): Query<query::Filter>,
) -> Response {
    match bucket_reading(&state.ui, &filter.source) {
        Some(Ok(reading)) => return reading.list(filter, &csrf(csrf_token)).await,
        Some(Err(response)) => return response,
        None => {}
    }
    let wanted = filter.clone();
    let listed = read(&state, move |dirs, cache| {
        let page = query::list(&source::Local { dirs, cache }, &wanted)?;
        let scanned = crate::dataset::scan::scan(dirs, &Default::default())?;
        let mut workflows: Vec<String> = scanned.files.into_iter().map(|f| f.workflow).collect();
        workflows.sort();
        workflows.dedup();
        Ok((page, workflows))
    })
    .await;
    match listed {
        Ok((page, workflows)) => page::respond(
            StatusCode::OK,
            records::render(&filter, &page, &workflows, &csrf(csrf_token)),
        ),
        Err(response) => response,
    }
}

/// `?src=` of a record link: the data folder's index; `?source=bucket&object=`: a bucket's.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct At {
    src: usize,
    source: String,
    object: String,
}

async fn record_page(
    State(state): State<Arc<AdminState>>,
    csrf_token: Option<Extension<Csrf>>,
    Path((workflow, day, line)): Path<(String, String, u64)>,
    Query(at): Query<At>,
) -> Response {
    let Ok(date) = crate::dataset::scan::parse_day(&day) else {
        return page::error_page(StatusCode::NOT_FOUND, "no such day");
    };
    let place = query::Place {
        workflow,
        date,
        source: at.src,
        object: (at.source == "bucket").then_some(at.object),
        line,
    };
    match bucket_reading(&state.ui, &at.source) {
        Some(Ok(reading)) => return reading.record(place, &csrf(csrf_token)).await,
        Some(Err(response)) => return response,
        None => {}
    }
    let wanted = place.clone();
    let find = move |dirs: &[PathBuf], cache: &SummaryCache| {
        query::find(&source::Local { dirs, cache }, &wanted)
    };
    match read(&state, find).await {
        Ok(Some(found)) => page::respond(
            StatusCode::OK,
            chat::render(&found, &place, &csrf(csrf_token)),
        ),
        Ok(None) => page::error_page(StatusCode::NOT_FOUND, "no such record"),
        Err(response) => response,
    }
}

async fn live_page(
    State(state): State<Arc<AdminState>>,
    csrf_token: Option<Extension<Csrf>>,
) -> Response {
    state.metrics.run_upkeep();
    let text = state.metrics.render();
    let config = state.ui.config.as_ref().map(|rx| Arc::clone(&rx.borrow()));
    page::respond(
        StatusCode::OK,
        live::render(
            &text,
            config.as_ref(),
            &state.ui.data_dirs,
            &csrf(csrf_token),
        ),
    )
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("assets/ui.js"),
    )
        .into_response()
}
