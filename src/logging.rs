//! `tracing` set-up: `RUST_LOG` filters (default `info`), text or JSON lines on stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber. Safe to call once per process.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let filter = quiet_file_watcher(filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into files or journald.
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(error) = result {
        eprintln!("logging was already set up: {error}");
    }
}

/// The file-watching crate logs every event of the config's folder at `trace`, before the
/// watcher can ignore the ones for other files; with the log file in that folder, each line
/// would cause the next (issue 11 (9)). Its target is kept at `info` unless `RUST_LOG` names
/// it explicitly.
fn quiet_file_watcher(filter: EnvFilter) -> EnvFilter {
    let named = std::env::var("RUST_LOG").is_ok_and(|spec| spec.contains("notify"));
    if named {
        return filter;
    }
    match "notify=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}
