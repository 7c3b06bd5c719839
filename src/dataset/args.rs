//! Flags of `export`, `stats` and `validate`. `--data-dir` has the `MICROMODEL_DATA_DIR` twin
//! (one folder); repeat the flag to merge several replicas' folders.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, ValueEnum};

use super::format_kind::{Format, Reasoning};
use super::labels::LabelFilter;
use super::scan::parse_day;
use crate::record::EndpointKind;

/// Flags of `export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// A data folder to read; repeat to merge several replicas' folders.
    #[arg(
        long = "data-dir",
        env = "MICROMODEL_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dirs: Vec<PathBuf>,
    /// Only these workflows (repeatable; default: all).
    #[arg(long = "workflow")]
    pub workflows: Vec<String>,
    /// First day to export, `YYYY-MM-DD` (inclusive, the folder's UTC date).
    #[arg(long, value_parser = parse_day)]
    pub since: Option<NaiveDate>,
    /// Last day to export, `YYYY-MM-DD` (inclusive, the folder's UTC date).
    #[arg(long, value_parser = parse_day)]
    pub until: Option<NaiveDate>,
    /// Only records of these models (the request's `model`; repeatable).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Only records of this endpoint.
    #[arg(long, value_enum)]
    pub endpoint: Option<EndpointArg>,
    /// Finish reasons to keep, comma-separated; `none` = null or missing, `any` keeps all.
    #[arg(
        long = "finish-reason",
        value_delimiter = ',',
        default_value = "stop,tool_calls"
    )]
    pub finish_reasons: Vec<String>,
    /// Keep identical conversations (`messages` + `tools`) once; the earliest wins.
    #[arg(long)]
    pub dedupe: bool,
    /// Only records with at least N messages of role `user` or `assistant`.
    #[arg(long, default_value_t = 0)]
    pub min_turns: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Chatml)]
    pub format: Format,
    /// Output file (default: stdout). Written beside, renamed when complete.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Train share, e.g. 0.9: writes FILE.train.EXT and FILE.valid.EXT instead of FILE.
    #[arg(long, requires = "out")]
    pub split: Option<f64>,
    /// Seed of the split: the same seed and data give the same split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A line that does not parse or lacks required fields is an error (exit 1), not a skip.
    #[arg(long)]
    pub strict: bool,
    /// Export `partial` records too (part of their conversation was not captured).
    #[arg(long)]
    pub keep_partial: bool,
    /// Only records whose last label is this (`none`: unlabelled; repeatable: any of them).
    #[arg(long = "label", value_enum)]
    pub labels: Vec<LabelArg>,
    /// Leave out records whose last label is this (repeatable).
    #[arg(long = "exclude-label", value_enum)]
    pub exclude_labels: Vec<LabelArg>,
    /// Only records whose last label has this tag (repeatable: any of them).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Write assistant messages' reasoning as `reasoning_content` (`keep`) or not (`drop`).
    /// Default: `keep` for chatml and hf, `drop` for openai and sharegpt.
    #[arg(long, value_enum)]
    pub reasoning: Option<Reasoning>,
    /// MiB of memory for the Responses turns that later turns continue (`previous_response_id`),
    /// kept while exporting to rebuild each turn's full history.
    #[arg(
        long = "chain-memory",
        env = "MICROMODEL_EXPORT_CHAIN_MEMORY",
        default_value_t = 512
    )]
    pub chain_memory_mib: u64,
}

impl ExportArgs {
    /// `--reasoning`, or the default of `--format`.
    pub fn reasoning(&self) -> Reasoning {
        self.reasoning
            .unwrap_or_else(|| Reasoning::default_for(self.format))
    }
}

/// `--endpoint` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndpointArg {
    /// `/v1/chat/completions`
    Chat,
    /// `/v1/completions`
    Completions,
    /// `/v1/responses` (OpenAI Responses API)
    Responses,
    /// `/v1/messages` (Anthropic Messages)
    Messages,
}

impl EndpointArg {
    /// The recorded endpoint it picks.
    pub fn kind(self) -> EndpointKind {
        match self {
            EndpointArg::Chat => EndpointKind::Chat,
            EndpointArg::Completions => EndpointKind::Completions,
            EndpointArg::Responses => EndpointKind::Responses,
            EndpointArg::Messages => EndpointKind::Messages,
        }
    }

    /// The record's `endpoint` value.
    pub fn path(self) -> &'static str {
        self.kind().path()
    }
}

/// Flags of `stats`.
#[derive(Debug, Clone, Args)]
pub struct StatsArgs {
    /// A data folder to read; repeat to add up several replicas' folders.
    #[arg(
        long = "data-dir",
        env = "MICROMODEL_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dirs: Vec<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// A data folder to check; repeatable.
    #[arg(
        long = "data-dir",
        env = "MICROMODEL_DATA_DIR",
        default_value = "./data"
    )]
    pub data_dirs: Vec<PathBuf>,
    /// Cut a torn last line (no newline) as the recorder does on start. Stop the proxy first.
    #[arg(long)]
    pub repair: bool,
    /// Also report every line in which a built-in REDACT detector still finds something
    /// (`file:line: redact-check: email (2)`); a find makes the exit status 1.
    #[arg(long)]
    pub redact_check: bool,
}

/// A label value on the command line (docs/labels.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelArg {
    /// Labelled good.
    Good,
    /// Labelled bad.
    Bad,
    /// Not labelled (or labelled `none`).
    None,
}

impl From<LabelArg> for crate::labels::Label {
    fn from(arg: LabelArg) -> Self {
        match arg {
            LabelArg::Good => crate::labels::Label::Good,
            LabelArg::Bad => crate::labels::Label::Bad,
            LabelArg::None => crate::labels::Label::None,
        }
    }
}

impl ExportArgs {
    /// The label filters asked for.
    pub fn label_filter(&self) -> LabelFilter {
        LabelFilter {
            want: self.labels.iter().map(|&l| l.into()).collect(),
            exclude: self.exclude_labels.iter().map(|&l| l.into()).collect(),
            tags: self.tags.clone(),
        }
    }
}
