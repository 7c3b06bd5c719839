//! The overview page: per workflow, records per day (inline SVG bars), tokens, models, finish
//! reasons, streamed and labelled shares, over a selectable range.

use chrono::NaiveDate;
use maud::{html, Markup};

use super::overview_data::{Overview, WorkflowOverview};
use super::page::{count, share, shell, tags, Tab};

/// The range form's query (`?since=YYYY-MM-DD&until=YYYY-MM-DD`).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Range {
    /// First day, inclusive.
    pub since: String,
    /// Last day, inclusive.
    pub until: String,
    /// `bucket`: the sink's bucket; anything else: the local data folders.
    pub source: String,
}

impl Range {
    /// The parsed days (an empty or malformed field: not given).
    pub fn days(&self) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let parse = |s: &str| crate::dataset::scan::parse_day(s).ok();
        (parse(&self.since), parse(&self.until))
    }
}

/// Renders the page.
pub fn render(overview: &Overview, csrf: &str) -> Markup {
    let day = |d: Option<NaiveDate>| {
        d.map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let body = html! {
        h1 { "Overview" }
        form.filters.card method="get" action="/ui/" {
            label { "since" input type="date" name="since" value=(day(overview.since)); }
            label { "until" input type="date" name="until" value=(day(overview.until)); }
            (source_select(overview.source))
            button type="submit" { "Show" }
            span.muted {
                (overview.files) " data files, " (count(overview.bytes)) " bytes in range"
                @if let (Some(first), Some(last)) = (overview.first_day, overview.last_day) {
                    "; data from " (first.format("%Y-%m-%d")) " to " (last.format("%Y-%m-%d"))
                }
            }
        }
        @if overview.workflows.is_empty() {
            div.card { p.muted { "No records in this range." } }
        }
        @for (name, workflow) in &overview.workflows {
            (workflow_card(name, workflow, overview))
        }
    };
    shell("Overview", Tab::Overview, csrf, body)
}

fn workflow_card(name: &str, w: &WorkflowOverview, overview: &Overview) -> Markup {
    let t = &w.total;
    let mut list = format!("/ui/records?workflow={}", urlencode(name));
    if !overview.source.is_empty() {
        list.push_str(&format!("&source={}", urlencode(overview.source)));
    }
    html! {
        div.card data-workflow=(name) {
            h2 { a href=(list) { (name) } }
            div.grid {
                div { div.muted { "records" } div.num data-stat="records" { (count(t.records)) } }
                div { div.muted { "prompt tokens" } div.num data-stat="prompt_tokens" { (count(t.prompt_tokens)) } }
                div { div.muted { "completion tokens" } div.num data-stat="completion_tokens" { (count(t.completion_tokens)) } }
                div { div.muted { "streamed" } div.num data-stat="streamed" { (share(t.streamed, t.records)) } }
                div { div.muted { "labelled" } div.num data-stat="labelled" { (share(w.labelled, t.records)) } }
                div { div.muted { "good / bad" } div.num { (count(w.good)) " / " (count(w.bad)) } }
                @if t.invalid > 0 {
                    div { div.muted { "invalid lines" } div.num { (count(t.invalid)) } }
                }
            }
            (chart(w, overview.since, overview.until))
            p { span.muted { "models: " } (tags(&t.models)) }
            p { span.muted { "finish reasons: " } (tags(&t.finish_reasons)) }
            p { span.muted { "endpoints: " } (tags(&t.endpoints)) }
        }
    }
}

/// Most day bars drawn; a longer range shows its last days.
const MAX_BARS: i64 = 120;

/// Records per day as bars, one per day of the range (empty days included).
fn chart(w: &WorkflowOverview, since: Option<NaiveDate>, until: Option<NaiveDate>) -> Markup {
    let (Some(mut start), Some(end)) = (since, until) else {
        return html! {};
    };
    if (end - start).num_days() >= MAX_BARS {
        start = end - chrono::Duration::days(MAX_BARS - 1);
    }
    let days: Vec<NaiveDate> = start.iter_days().take_while(|d| *d <= end).collect();
    let max = days
        .iter()
        .map(|d| w.per_day.get(d).copied().unwrap_or(0))
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, bottom) = (960.0_f64, 140.0_f64, 18.0_f64);
    let slot = width / days.len().max(1) as f64;
    let every = (days.len() / 10).max(1);
    html! {
        svg.chart viewBox=(format!("0 0 {width} {}", height + bottom)) role="img"
            aria-label="records per day" {
            @for (i, d) in days.iter().enumerate() {
                @let n = w.per_day.get(d).copied().unwrap_or(0);
                @let h = height * n as f64 / max as f64;
                rect.bar x=(format!("{:.1}", i as f64 * slot + 1.0)) y=(format!("{:.1}", height - h))
                    width=(format!("{:.1}", (slot - 2.0).max(1.0))) height=(format!("{h:.1}")) {
                    title { (d.format("%Y-%m-%d")) ": " (n) " records" }
                }
                @if i % every == 0 {
                    text x=(format!("{:.1}", i as f64 * slot + 1.0)) y=(format!("{:.1}", height + 13.0)) {
                        (d.format("%m-%d"))
                    }
                }
            }
            text x="2" y="10" { "max " (max) "/day" }
        }
    }
}

/// The `source` field of the filter forms: the local data folders or the sink's bucket.
pub fn source_select(source: &str) -> Markup {
    html! {
        label { "source"
            select name="source" {
                option value="" selected[source != "bucket"] { "local" }
                option value="bucket" selected[source == "bucket"] { "bucket" }
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)])
        .map(|s| s.trim_start_matches("v=").to_owned())
        .unwrap_or_default()
}
