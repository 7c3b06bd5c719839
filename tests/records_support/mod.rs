//! Records made by the real record code and written by the real recorder, for the data-tool
//! tests (`dataset_export`, `dataset_chain`, `export_hf`): one copy of "what the proxy would
//! write for this request and answer".

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use micromodel::record::capture::parse_for;
use micromodel::record::line::RecordContext;
use micromodel::record::request::RequestView;
use micromodel::record::EndpointKind;
use micromodel::recorder::{start, FsyncPolicy, RecordLine, RecorderOptions};

/// The record lines the proxy would write for this raw request and (non-streamed) answer of
/// `kind`, filed under `workflow`, finished at `at` (RFC 3339).
pub fn lines(
    kind: EndpointKind,
    workflow: &str,
    request: &str,
    answer: &str,
    at: &str,
) -> Vec<RecordLine> {
    let body = Bytes::from(request.to_owned());
    let view = RequestView::parse(&body).expect("request parses");
    let mut context = RecordContext::new(kind, workflow.to_owned(), &view, &body);
    let parsed = parse_for(kind, answer.as_bytes(), u32::MAX).expect("answer parses");
    if parsed.partial {
        context.mark_partial();
    }
    let answer = parsed.answer;
    let finished = DateTime::parse_from_rfc3339(at)
        .expect("valid timestamp")
        .with_timezone(&Utc);
    context
        .lines(&answer, finished, 5)
        .into_iter()
        .map(|json| RecordLine {
            workflow_id: workflow.to_owned(),
            timestamp: finished,
            json,
        })
        .collect()
}

/// Writes `lines` with the recorder into `<root>/data` and returns that folder.
pub fn write(root: &Path, lines: Vec<RecordLine>) -> PathBuf {
    let dir = root.join("data");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let (recorder, handle) = start(RecorderOptions {
            data_dir: dir.clone(),
            fsync: FsyncPolicy::Never,
            queue_records: 64,
            mode: Default::default(),
        })
        .expect("recorder starts");
        for line in lines {
            recorder.submit(line);
        }
        drop(recorder);
        assert!(handle.finish(Duration::from_secs(10)).await, "drained");
    });
    dir
}
