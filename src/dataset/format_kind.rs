//! The values of `export --format` and `--reasoning`, and the `--reasoning` default of each
//! format: a leaf that the flags ([`super::args`]), the formats and the reasoning
//! normalisation ([`super::reasoning`]) all read, so none of them imports another for it.

use clap::ValueEnum;

/// Output formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The record lines as captured.
    Chatml,
    /// OpenAI chat fine-tuning lines: `{"messages":[...],"tools":[...]}`.
    Openai,
    /// ShareGPT as LLaMA-Factory reads it: `{"conversations":[...],"system":"","tools":""}`.
    Sharegpt,
    /// Fixed columns for Hugging Face `datasets` / TRL: see docs/data-tools.md.
    Hf,
}

/// `--reasoning` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Reasoning {
    /// Write assistant messages' reasoning as `reasoning_content`.
    Keep,
    /// Leave reasoning out.
    Drop,
}

impl Reasoning {
    /// What `--reasoning` means when not given, for `format`.
    pub fn default_for(format: Format) -> Reasoning {
        match format {
            Format::Chatml | Format::Hf => Reasoning::Keep,
            Format::Openai | Format::Sharegpt => Reasoning::Drop,
        }
    }
}
