//! The sink's flags of `serve` (flattened into [`crate::cli::ServeArgs`]).

use clap::Args;

use crate::layout::Compression;

/// Flags of the object-storage sink (docs/object-storage.md).
#[derive(Debug, Clone, Args)]
pub struct SinkArgs {
    /// Also ship records to object storage: s3://bucket/prefix (AWS and S3-compatible stores,
    /// configured by the AWS_* environment) or file:///folder. Off when not given.
    #[arg(long, env = "MICROMODEL_SINK", value_name = "URL")]
    pub sink: Option<String>,
    /// This instance's name in object keys (letters, digits, `.`, `_`, `-`); default: the
    /// hostname (the pod name on Kubernetes). Must differ between instances sharing a bucket.
    #[arg(long, env = "MICROMODEL_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// A segment is sealed and uploaded once it holds this many (uncompressed) bytes.
    #[arg(long, env = "MICROMODEL_SINK_SEGMENT_BYTES", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub sink_segment_bytes: u64,
    /// A segment is sealed and uploaded at the latest this many seconds after it was opened.
    #[arg(long, env = "MICROMODEL_SINK_SEGMENT_SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub sink_segment_seconds: u64,
    /// Compression of uploaded segments: `gzip` (.jsonl.gz), `zstd` (.jsonl.zst) or `none`.
    #[arg(long, env = "MICROMODEL_SINK_COMPRESSION", value_enum, default_value_t = Compression::Gzip)]
    pub sink_compression: Compression,
    /// Most bytes the spool (segments not yet uploaded) may hold on disk; past it, records are
    /// written to the local day files only (counted and logged).
    #[arg(long, env = "MICROMODEL_SINK_SPOOL_BYTES", default_value_t = 10 * 1024 * 1024 * 1024)]
    pub sink_spool_bytes: u64,
    /// Delete local day folders older than this many days once the sink shipped all of them
    /// (never one with records still in the spool or refused by it). Needs --sink.
    #[arg(long, env = "MICROMODEL_LOCAL_RETENTION_DAYS", requires = "sink", value_parser = clap::value_parser!(u32).range(1..))]
    pub local_retention_days: Option<u32>,
}
