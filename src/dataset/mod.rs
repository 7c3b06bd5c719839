//! Data tools over recorded folders (`<data-dir>/<workflow>/<DD-MM-YYYY>/data.jsonl`, §4):
//! `export`, `stats` and `validate`.
//!
//! Nothing here ever writes into a data folder, except `validate --repair`, which cuts a torn
//! last line exactly as the recorder does on start.
//!
//! - [`args`]: the flags of the three subcommands.
//! - `error`: [`DatasetError`], the errors of the data tools.
//! - [`scan`]: finding the data files of one or several data folders (replicas) through
//!   [`crate::layout`]; the `YYYY-MM-DD` days of `--since`/`--until`.
//! - [`source`]: local folders and buckets (`s3://...`) as data sources: bucket listing pruned
//!   by the partition names, objects streamed and decompressed.
//! - [`reader`]: reading a data file line by line in bounded memory, spotting a torn last line.
//! - [`record`]: one parsed record line: shape checks (what `validate` reports and `export`
//!   skips) and the content hashes used by `--dedupe` and `--split`.
//! - [`filter`]: `export`'s record filters; `skip`: the reasons a line was not written.
//! - `format_kind`: the `--format` and `--reasoning` values ([`Format`], [`Reasoning`]).
//! - [`formats`]: the output formats `chatml` and `sharegpt`, and the dispatch to `openai`
//!   (OpenAI's chat fine-tuning lines and their rules) and `hf`; `message_parts`: a message's
//!   role, text and tool calls as the formats read them.
//! - `hf`: the `hf` format, fixed columns that Hugging Face `datasets` loads from any mix
//!   of files.
//! - [`labels`]: the `labels.jsonl` of a day joined to its records; `--label`, `--exclude-label`, `--tag`.
//!   `bucket_labels`: a bucket's label segments of a day (`_labels/`), for the same join.
//! - [`reasoning`]: `--reasoning keep|drop` and the normalisation to `reasoning_content`.
//! - [`merge`]: one day's files of every workflow and replica merged by timestamp.
//! - [`output`]: the output file(s): written beside the target and renamed when complete.
//! - `redact_check`: `validate --redact-check`, the built-in `REDACT` detectors' finds in
//!   recorded lines.
//! - [`export`], [`stats`], [`validate`]: the subcommands.

pub mod args;
mod bucket_labels;
mod chain;
mod error;
pub mod export;
pub mod filter;
mod format_kind;
pub mod formats;
mod hf;
pub mod label_days;
#[cfg(test)]
mod label_days_tests;
pub mod labels;
pub mod merge;
mod message_parts;
mod openai;
pub mod output;
mod progress;
pub mod reader;
pub mod reasoning;
pub mod record;
mod redact_check;
pub mod scan;
mod skip;
pub mod source;
pub mod stats;
pub mod validate;

pub use args::{EndpointArg, ExportArgs, StatsArgs, ValidateArgs};
pub use error::DatasetError;
pub use format_kind::{Format, Reasoning};
