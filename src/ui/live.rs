//! The live state page: the config in force (generation, workflows and their addresses) and
//! what `/metrics` says about reloads, the recorder's queue and drops, for people.

use std::sync::Arc;

use maud::{html, Markup};

use super::page::{shell, Tab};
use crate::config::Config;
use crate::telemetry;

/// One sample of the metrics text: name, labels (as written), value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name.
    pub name: String,
    /// `{...}` labels without the braces (may be empty).
    pub labels: String,
    /// The value as written.
    pub value: String,
}

/// The samples of Prometheus text whose name is in `names`.
pub fn samples(text: &str, names: &[&str]) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if names.contains(&name) {
            out.push(Sample {
                name: name.to_owned(),
                labels: labels.to_owned(),
                value: value.to_owned(),
            });
        }
    }
    out
}

fn value_of(samples: &[Sample], name: &str) -> String {
    samples
        .iter()
        .find(|s| s.name == name && s.labels.is_empty())
        .map_or_else(|| "–".to_owned(), |s| s.value.clone())
}

/// Renders the page from the metrics text and the config in force.
pub fn render(
    metrics: &str,
    config: Option<&Arc<Config>>,
    data_dirs: &[std::path::PathBuf],
    csrf: &str,
) -> Markup {
    let names = [
        telemetry::CONFIG_GENERATION,
        telemetry::CONFIG_LAST_RELOAD_OK,
        telemetry::CONFIG_RELOADS,
        telemetry::QUEUE_DEPTH,
        telemetry::RECORDS_DROPPED,
        telemetry::RECORDS_WRITTEN,
        telemetry::STREAMS_ACTIVE,
        telemetry::CONNECTIONS_OPEN,
        telemetry::WORKFLOWS,
    ];
    let all = samples(metrics, &names);
    let reload_ok = match value_of(&all, telemetry::CONFIG_LAST_RELOAD_OK).as_str() {
        "1" => "applied",
        "0" => "rejected (the previous config stays in force; see the log)",
        _ => "no reload yet",
    };
    let by = |name: &str| {
        all.iter()
            .filter(|s| s.name == name && !s.labels.is_empty())
            .cloned()
            .collect::<Vec<_>>()
    };
    let body = html! {
        h1 { "Live state" }
        div.card {
            div.grid {
                div { div.muted { "config generation" } div.num #generation { (value_of(&all, telemetry::CONFIG_GENERATION)) } }
                div { div.muted { "last reload" } div.num { (reload_ok) } }
                div { div.muted { "recorder queue" } div.num #queue { (value_of(&all, telemetry::QUEUE_DEPTH)) } }
                div { div.muted { "connections open" } div.num { (value_of(&all, telemetry::CONNECTIONS_OPEN)) } }
            }
            p.muted { "data folder: " @for d in data_dirs { code { (d.display()) } " " } }
        }
        div.card {
            h2 { "Workflows" }
            @match config {
                Some(config) => table {
                    thead { tr { th { "id" } th { "address" } th { "upstream" } th { "timeout" } } }
                    tbody {
                        @for w in config.workflows.values() {
                            tr { td { (w.id) } td { code { "http://" (w.addr) } } td { (crate::config::Redacted(&w.api_host).to_string()) } td { (w.timeout.as_secs_f64()) " s" } }
                        }
                    }
                },
                None => p.muted { "not known" },
            }
        }
        div.card {
            h2 { "Counters" }
            table {
                thead { tr { th { "metric" } th { "labels" } th { "value" } } }
                tbody {
                    @for s in by(telemetry::CONFIG_RELOADS).iter().chain(&by(telemetry::RECORDS_DROPPED)).chain(&by(telemetry::RECORDS_WRITTEN)).chain(&by(telemetry::STREAMS_ACTIVE)) {
                        tr { td { code { (s.name) } } td { (s.labels) } td { (s.value) } }
                    }
                }
            }
        }
    };
    shell("Live", Tab::Live, csrf, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_samples() {
        let text = "# HELP x\nmicromodel_config_generation 3\nmicromodel_records_dropped_total{reason=\"queue_full\"} 2\nother 1\n";
        let s = samples(
            text,
            &[telemetry::CONFIG_GENERATION, telemetry::RECORDS_DROPPED],
        );
        assert_eq!(s.len(), 2);
        assert_eq!(value_of(&s, telemetry::CONFIG_GENERATION), "3");
        assert_eq!(s[1].labels, "reason=\"queue_full\"");
    }
}
