//! MicroModel: an OpenAI-compatible proxy that records every completion as ChatML
//! fine-tuning data (see the README and `docs/`; §N refers to the sections of the product
//! contract that `docs/` describes).
//!
//! # Module map
//!
//! Public are only the modules that the binary (`main.rs`), the integration tests, the
//! benchmark programs (`bench/`) and the fuzz targets (`fuzz/`, through [`fuzzing`]) call;
//! everything else is `pub(crate)`, so the compiler reports dead code. `unsafe` is forbidden
//! crate-wide (`[lints]` in `Cargo.toml`).
//!
//! - [`cli`]: command-line flags (each with a `MICROMODEL_*` environment twin).
//! - [`config`]: `config.json` parsing and validation (§1), collecting every error.
//! - [`record`]: turning a request and its upstream answer into record lines (§4):
//!   request view, answer normalisation, stream capture.
//! - [`recorder`]: the one shared writer task: bounded queue, batching, retries, fsync,
//!   torn-line repair (§4).
//! - [`proxy`]: the per-workflow HTTP service: endpoints (§2), forwarding and errors (§3).
//! - [`upstream`]: the shared upstream client (hyper, pooled, rustls with system roots).
//! - [`server`]: one listener's accept loop and graceful drain.
//! - [`supervisor`]: the config in force and its listeners keyed by bind address; live
//!   reload (file watcher, SIGHUP) applied all or nothing; the stop.
//! - [`app`]: `serve` and `check`: wires config, recorder and listeners and waits for signals.
//! - [`stop`]: what a stop may take past `--drain-seconds` (the grace deploy/ must give).
//! - [`signals`]: Unix signals turned into [`app::Control`] messages.
//! - [`dataset`]: the data tools `export`, `stats` and `validate` over recorded folders.
//! - [`logging`]: `tracing` subscriber set-up.
//! - [`admin`]: the optional admin listener: `/metrics`, `/healthz`, `/readyz`.
//! - [`ui`]: the data page `/ui/` on the admin listener and `--admin-token`'s check.
//! - [`telemetry`]: metric names and the Prometheus recorder.
//! - [`trust`]: client keys (`CLIENT_KEYS`): who may use a workflow's port; `hash-key`; the
//!   recording gate (opt-out, `RECORD` sampling, `RESPECT_STORE`); `REDACT` of the stored copy.
//! - [`sdnotify`]: systemd `READY=1` / `RELOADING=1` / `STOPPING=1`.
//! - [`demo`]: `micromodel demo`, with its built-in OpenAI-compatible upstream.
//! - [`labels`]: `good` / `bad` / `none` labels of records (`labels.jsonl`), the index of
//!   recent `request_id`s and the scan that finds a record's folder.
//! - [`sink`]: `--sink`: records also shipped to object storage as sealed, compressed
//!   segments through a spool in the data folder.
//! - [`layout`]: the one owner of the on-disk naming,
//!   `<data_dir>/<workflow>/<DD-MM-YYYY>/data.jsonl` (day folder format, file name, path
//!   building); the recorder, the data tools and the demo build paths through it.

pub(crate) mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod dataset;
pub mod demo;
pub(crate) mod labels;
pub(crate) mod layout;
pub(crate) mod logging;
pub(crate) mod proxy;
pub mod record;
pub mod recorder;
pub(crate) mod sdnotify;
pub(crate) mod server;
pub mod signals;
pub mod sink;
pub mod stop;
pub(crate) mod supervisor;
pub(crate) mod telemetry;
pub mod trust;
pub(crate) mod ui;
pub(crate) mod upstream;

#[doc(hidden)]
pub mod fuzzing;
