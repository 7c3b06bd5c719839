//! Property checks shared by the cargo-fuzz targets (`fuzz/`) and the proptest suite
//! (`tests/fuzz_props.rs`). Not part of the service: hidden from the docs, and kept `pub` so
//! that the targets keep building when the library's other modules become private.
//!
//! Each `check_*` function panics when its property does not hold, so a fuzzer reports the
//! input as a crash and a proptest shrinks it. Each `fuzz_*` function decodes one fuzzer
//! input (plain bytes) into the arguments of its `check_*` function; the byte layouts are
//! described in `docs/fuzzing.md`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;

use crate::config::{self, Config, ConfigErrors, LoadOptions, MAX_ID_LEN, MAX_TIMEOUT_SECONDS};
use crate::record::line::RecordContext;
use crate::record::request::RequestView;
use crate::record::StreamCapture;
use crate::record::{parse_answer, Answer, EndpointKind, Incomplete, SseEvent, SseParser};

/// The secret every `env:NAME` of a fuzzed config resolves to; it must never be shown.
pub const FUZZ_SECRET: &str = "sk-fuzz-secret-0123456789";

/// The endpoint that bit 0 of a fuzz input's flag byte selects.
pub fn endpoint_from_flag(flag: u8) -> EndpointKind {
    if flag & 1 == 0 {
        EndpointKind::Chat
    } else {
        EndpointKind::Completions
    }
}

/// Target `sse_stream`: byte 0 = endpoint (bit 0) and number of cuts (bits 1–3); then two
/// bytes (little-endian) per cut; the rest is the stream.
pub fn fuzz_stream(data: &[u8]) {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let cut_len = (usize::from((flag >> 1) & 7) * 2).min(rest.len());
    let (cut_bytes, stream) = rest.split_at(cut_len);
    let cuts: Vec<usize> = cut_bytes
        .chunks_exact(2)
        .map(|pair| usize::from(u16::from_le_bytes([pair[0], pair[1]])))
        .collect();
    check_stream_split(endpoint_from_flag(flag), stream, &cuts);
}

/// Splitting a stream anywhere changes nothing: the parser dispatches the same events and
/// the capture assembles the same answer (or the same reason for none) as for the unsplit
/// stream. `cuts` are taken modulo the stream's length + 1, in any order; streams of up to
/// 512 bytes are also fed one byte at a time.
pub fn check_stream_split(kind: EndpointKind, stream: &[u8], cuts: &[usize]) {
    let chunks = split_at(stream, cuts);
    let whole_events = sse_events(&[stream]);
    assert_eq!(
        sse_events(&chunks),
        whole_events,
        "split SSE events differ from unsplit ones"
    );
    let whole = capture(kind, &[stream]);
    assert_eq!(
        capture(kind, &chunks),
        whole,
        "split capture differs from unsplit one"
    );
    if stream.len() <= 512 {
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(sse_events(&bytes), whole_events, "byte-wise SSE events");
        assert_eq!(capture(kind, &bytes), whole, "byte-wise capture");
    }
}

/// `stream` cut at every position of `cuts` (modulo its length + 1, sorted).
fn split_at<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for end in at {
        chunks.push(&stream[start..end]);
        start = end;
    }
    chunks.push(&stream[start..]);
    chunks
}

/// Every event the parser dispatches for `chunks`, as owned `(event, data)` pairs.
fn sse_events(chunks: &[&[u8]]) -> Vec<(Option<String>, String)> {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    let mut push = |e: SseEvent<'_>| out.push((e.event.map(str::to_owned), e.data.to_owned()));
    for chunk in chunks {
        parser.feed(chunk, &mut push);
    }
    parser.finish(&mut push);
    out
}

/// Everything a [`StreamCapture`] tells about a stream, for comparing two feeds of it.
#[derive(Debug, PartialEq)]
struct Captured {
    /// `upstream_id()` before `finish`.
    upstream_id: Option<String>,
    /// `malformed_events()` before `finish`.
    malformed_events: u64,
    /// `is_done()` before `finish`.
    done: bool,
    /// What `finish` gave.
    result: Result<Answer, Incomplete>,
}

/// Feeds `chunks` to a new capture and finishes it.
fn capture(kind: EndpointKind, chunks: &[&[u8]]) -> Captured {
    let mut capture = StreamCapture::new(kind);
    for chunk in chunks {
        capture.feed(chunk);
    }
    Captured {
        upstream_id: capture.upstream_id().map(str::to_owned),
        malformed_events: capture.malformed_events(),
        done: capture.is_done(),
        result: capture.finish(),
    }
}

/// Target `config`: the whole input is the file `config.json`.
pub fn fuzz_config(data: &[u8]) {
    check_config(data);
}

/// Loading any bytes as `config.json` never panics; a failure carries at least one error;
/// no message (nor a loaded config's `Debug`) shows a key resolved from `env:NAME`; a loaded
/// config keeps its documented invariants; validating is deterministic.
pub fn check_config(bytes: &[u8]) {
    let result = load_config(bytes);
    // An input that holds the secret itself may echo it legitimately (as an id, say).
    let planted = !contains(bytes, FUZZ_SECRET.as_bytes());
    match &result {
        Ok(config) => {
            check_config_invariants(config);
            if planted {
                assert!(!format!("{config:?}").contains(FUZZ_SECRET), "key in Debug");
            }
        }
        Err(errors) => check_config_errors(errors, planted),
    }
    if std::str::from_utf8(bytes).is_ok() {
        // (The not-UTF-8 path names its temporary file, which differs from call to call.)
        assert_eq!(load_config(bytes), result, "validating is deterministic");
    }
}

/// [`config::parse`] for UTF-8 text (keys from [`fuzz_env`]), else [`config::load`] of a
/// temporary file holding the bytes (the not-UTF-8 path).
fn load_config(bytes: &[u8]) -> Result<Config, ConfigErrors> {
    let opts = LoadOptions::default();
    if let Ok(text) = std::str::from_utf8(bytes) {
        return config::parse(text, opts, &fuzz_env);
    }
    let path = TempFile::new();
    std::fs::write(&path.0, bytes).expect("temporary config file can be written");
    config::load(&path.0, opts)
}

/// The environment of a fuzzed config: [`FUZZ_SECRET`] for every name except empty ones and
/// names containing `UNSET` (so that both the resolved and the missing paths are reached).
pub fn fuzz_env(name: &str) -> Option<String> {
    (!name.is_empty() && !name.contains("UNSET")).then(|| FUZZ_SECRET.to_owned())
}

/// What `Ok` promises (see [`config::Workflow`]).
fn check_config_invariants(config: &Config) {
    assert!(!config.workflows.is_empty(), "a config has workflows");
    let mut ports = Vec::new();
    for (id, workflow) in &config.workflows {
        assert_eq!(id, &workflow.id);
        assert!(
            !id.is_empty() && id.chars().count() <= MAX_ID_LEN,
            "id length: {id:?}"
        );
        assert!(id != "." && id != "..", "dot id");
        assert!(
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')),
            "id characters: {id:?}"
        );
        let host = &workflow.api_host;
        assert!(
            host.starts_with("http://") || host.starts_with("https://"),
            "api_host scheme: {host:?}"
        );
        assert!(!host.ends_with('/'), "api_host trailing slash: {host:?}");
        assert!(workflow.timeout.as_secs() <= MAX_TIMEOUT_SECONDS);
        ports.push(workflow.addr.port());
    }
    ports.sort_unstable();
    assert!(ports.windows(2).all(|w| w[0] != w[1]), "ports are unique");
}

/// Errors are collected (never an empty list) and show no resolved key.
fn check_config_errors(errors: &ConfigErrors, planted: bool) {
    assert!(
        !errors.errors.is_empty(),
        "an Err carries at least one error"
    );
    let shown = errors.to_string();
    assert!(!shown.is_empty());
    for error in &errors.errors {
        assert!(!error.to_string().is_empty(), "empty message for {error:?}");
    }
    if planted {
        assert!(!shown.contains(FUZZ_SECRET), "key in errors: {shown}");
        assert!(!format!("{errors:?}").contains(FUZZ_SECRET), "key in Debug");
    }
}

/// A file path unique to this process and call, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("micromodel-fuzz-{}-{n}.json", std::process::id());
        TempFile(std::env::temp_dir().join(name))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Target `record`: byte 0 = endpoint (bit 0); then the request body up to the first `0xFF`
/// byte (never part of UTF-8 text) and the answer body after it.
pub fn fuzz_record(data: &[u8]) {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let (request, answer) = match rest.iter().position(|&b| b == 0xFF) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    check_record(endpoint_from_flag(flag), request, answer);
}

/// The request/record path never panics: any request body either is refused or gives a
/// forwardable JSON object without `workflow_id`; any answer body, read as a non-streamed
/// answer and as a stream, gives either no record or one line per choice, each a JSON object
/// on one line.
///
/// "JSON" here is the grammar of RFC 8259 (serde_json's `IgnoredAny`: no depth limit, any
/// `\uXXXX` escape). Whether `micromodel validate` accepts every such line (lone surrogate
/// escapes, deep nesting) is a separate rule of the dataset tools.
pub fn check_record(kind: EndpointKind, request: &[u8], answer: &[u8]) {
    let body = Bytes::copy_from_slice(request);
    let Ok(view) = RequestView::parse(&body) else {
        return;
    };
    let forwarded = view.body_without_workflow_id();
    let again = RequestView::parse(&forwarded).expect("the forwarded body parses");
    assert!(again.workflow_id.is_none(), "workflow_id is stripped");
    let workflow_id = view
        .workflow_id
        .clone()
        .unwrap_or_else(|| "fuzz".to_owned());
    let ctx = RecordContext::new(kind, workflow_id, &view, &body);
    if let Ok(answer) = parse_answer(kind, answer) {
        check_lines(&ctx, &answer);
    }
    let mut stream = StreamCapture::new(kind);
    stream.feed(answer);
    if let Ok(answer) = stream.finish() {
        check_lines(&ctx, &answer);
    }
}

/// One line per choice; each is one line of JSON text holding an object that starts with
/// `messages`.
fn check_lines(ctx: &RecordContext, answer: &Answer) {
    let finished = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("a valid instant");
    let lines = ctx.lines(answer, finished, 7);
    assert_eq!(lines.len(), answer.choices.len(), "one line per choice");
    for line in &lines {
        assert!(!line.contains(['\n', '\r']), "line break in {line:?}");
        assert!(line.starts_with("{\"messages\":["), "line start: {line:?}");
        if let Err(error) = serde_json::from_str::<IgnoredAny>(line) {
            panic!("record line is not JSON ({error}): {line:?}");
        }
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
