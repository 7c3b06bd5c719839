//! The page shell (head, inline CSS, navigation) and small rendering helpers shared by the
//! pages. Every recorded string goes through maud's escaping; `PreEscaped` is used only for
//! the CSS shipped in the binary.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::auth::CSRF_FIELD;

const CSS: &str = include_str!("assets/ui.css");

/// Which tab is highlighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Overview.
    Overview,
    /// Records list and one record.
    Records,
    /// Live state.
    Live,
    /// Login (no navigation).
    Login,
}

/// A whole page. `csrf` is the token the logout form carries (empty: no login to end).
pub fn shell(title: &str, tab: Tab, csrf: &str, body: Markup) -> Markup {
    let link = |href: &str, name: &str, this: Tab| {
        html! { a href=(href) class=[(tab == this).then_some("on")] { (name) } }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · MicroModel" }
                style { (PreEscaped(CSS)) }
                @if tab == Tab::Records { script src="/ui/ui.js" defer {} }
            }
            body {
                header {
                    span.brand { "MicroModel" }
                    @if tab != Tab::Login {
                        (link("/ui/", "Overview", Tab::Overview))
                        (link("/ui/records", "Records", Tab::Records))
                        (link("/ui/live", "Live", Tab::Live))
                        @if !csrf.is_empty() {
                            form method="post" action="/ui/logout" {
                                input type="hidden" name=(CSRF_FIELD) value=(csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A rendered page as a response.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// An error page.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    respond(
        status,
        shell(
            "Error",
            Tab::Overview,
            "",
            html! { div.card { h1 { (status.as_str()) } p.error { (message) } } },
        ),
    )
}

/// `n / total` as a percentage, `–` when total is 0.
pub fn share(n: u64, total: u64) -> String {
    if total == 0 {
        "–".to_owned()
    } else {
        format!("{:.1} %", 100.0 * n as f64 / total as f64)
    }
}

/// A count with thin thousands separators.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A map of counts as small tags, largest first.
pub fn tags(map: &std::collections::BTreeMap<String, u64>) -> Markup {
    let mut items: Vec<_> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    html! {
        span.tags {
            @for (name, n) in items {
                span { (if name.is_empty() { "(none)" } else { name }) " " (count(*n)) }
            }
        }
    }
}

/// The label as a coloured word.
pub fn label_word(label: Option<&super::labels::Label>) -> Markup {
    match label {
        Some(l) => html! { span class=(format!("label-{}", l.label)) { (l.label) } },
        None => html! { span.muted { "–" } },
    }
}
