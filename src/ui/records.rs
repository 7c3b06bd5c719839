//! The records list page: filters, rows (start of prompt and answer), newer/older links.

use maud::{html, Markup};

use super::overview::{source_select, urlencode};
use super::page::{label_word, shell, Tab};
use super::query::{Filter, Page, Place};

/// The link to one record's page.
pub fn record_href(place: &Place) -> String {
    let mut href = format!(
        "/ui/record/{}/{}/{}?src={}",
        urlencode(&place.workflow),
        place.date.format("%Y-%m-%d"),
        place.line,
        place.source
    );
    if let Some(object) = &place.object {
        href.push_str(&format!("&source=bucket&object={}", urlencode(object)));
    }
    href
}

fn page_href(filter: &Filter, page: usize) -> String {
    let pairs = [
        ("workflow", filter.workflow.as_str()),
        ("day", &filter.day),
        ("model", &filter.model),
        ("endpoint", &filter.endpoint),
        ("finish", &filter.finish),
        ("label", &filter.label),
        ("q", &filter.q),
        ("source", &filter.source),
    ];
    let mut query: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    query.push(("page", page.to_string()));
    format!(
        "/ui/records?{}",
        serde_urlencoded::to_string(query).unwrap_or_default()
    )
}

/// Renders the list.
pub fn render(filter: &Filter, page: &Page, workflows: &[String], csrf: &str) -> Markup {
    let labels = [
        ("", "any"),
        ("good", "good"),
        ("bad", "bad"),
        ("labelled", "labelled"),
        ("unlabelled", "unlabelled"),
    ];
    let body = html! {
        h1 { "Records" }
        form.filters.card method="get" action="/ui/records" {
            label { "workflow"
                select name="workflow" {
                    option value="" { "all" }
                    @for w in workflows {
                        option value=(w) selected[*w == filter.workflow] { (w) }
                    }
                }
            }
            label { "day" input type="date" name="day" value=(filter.day); }
            label { "model" input name="model" value=(filter.model) size="14"; }
            label { "endpoint"
                select name="endpoint" {
                    option value="" { "all" }
                    @for e in crate::record::EndpointKind::ALL.map(crate::record::EndpointKind::path) {
                        option value=(e) selected[e == filter.endpoint] { (e) }
                    }
                }
            }
            label { "finish reason" input name="finish" value=(filter.finish) size="10"; }
            label { "label"
                select name="label" {
                    @for (value, name) in labels {
                        option value=(value) selected[value == filter.label] { (name) }
                    }
                }
            }
            label { "search" input type="search" name="q" value=(filter.q) placeholder="text in messages" size="22"; }
            (source_select(&filter.source))
            button type="submit" { "Filter" }
            a href="/ui/records" { "clear" }
        }
        div.card {
            @if page.rows.is_empty() {
                p.muted { "No records match." }
            } @else {
                table {
                    colgroup { col style="width:150px"; col style="width:110px"; col; col; col style="width:90px"; col style="width:60px"; }
                    thead { tr { th { "time (UTC)" } th { "workflow / model" } th { "prompt" } th { "answer" } th { "finish" } th { "label" } } }
                    tbody {
                        @for row in &page.rows {
                            tr.row {
                                td { a href=(record_href(&row.place)) { (row.timestamp) } }
                                td { (row.place.workflow) br; span.muted { (row.model) } }
                                td.snip { (row.prompt) }
                                td.snip { (row.answer) }
                                td { (row.finish) }
                                td { (label_word(row.label.as_ref())) }
                            }
                        }
                    }
                }
            }
            div.pager {
                @if filter.page > 0 {
                    a href=(page_href(filter, filter.page - 1)) { "← newer" }
                }
                span.muted { "page " (filter.page + 1) }
                @if page.has_more {
                    a href=(page_href(filter, filter.page + 1)) rel="next" { "older →" }
                }
            }
        }
    };
    shell("Records", Tab::Records, csrf, body)
}
