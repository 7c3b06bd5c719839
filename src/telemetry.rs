//! Metric names (one place, so code and README agree) and the Prometheus recorder behind
//! `GET /metrics` on the admin listener. Without `--admin-addr` no recorder is installed
//! and every `metrics::counter!` call is a no-op.

use std::sync::atomic::{AtomicBool, Ordering};

use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// `micromodel_requests_total{workflow,endpoint,status,client}`; `client` is the
/// `CLIENT_KEYS` name, empty when the workflow has none or the request was refused (401)
pub const REQUESTS_TOTAL: &str = "micromodel_requests_total";
/// `micromodel_request_duration_seconds{workflow,endpoint}` (to response headers)
pub const REQUEST_DURATION: &str = "micromodel_request_duration_seconds";
/// `micromodel_upstream_errors_total{workflow,kind}`; kind: connect, timeout, invalid
pub const UPSTREAM_ERRORS: &str = "micromodel_upstream_errors_total";
/// `micromodel_streams_active{workflow}`
pub const STREAMS_ACTIVE: &str = "micromodel_streams_active";
/// `micromodel_records_written_total{workflow}`
pub const RECORDS_WRITTEN: &str = "micromodel_records_written_total";
/// `micromodel_labels_written_total{workflow}`: label lines appended to `labels.jsonl` files.
pub const LABELS_WRITTEN: &str = "micromodel_labels_written_total";
/// `micromodel_records_dropped_total{reason}`; reason: queue_full, recorder_stopped,
/// incomplete (an answer that ended without a finish reason), unparsable, too_large (an SSE
/// line, event or answer past `--max-record-bytes`), unexpected_choice (one per choice whose
/// `index` is not below the request's `n` × prompts), unrecordable (a line the data tools
/// could not read back, see `record::recordable`)
pub const RECORDS_DROPPED: &str = "micromodel_records_dropped_total";
/// `micromodel_records_skipped_total{workflow,reason}`: requests forwarded but, by choice,
/// not recorded; reason: record_none (`RECORD: "none"`), opt_out (`X-MicroModel-Record:
/// off`), store_false (`RESPECT_STORE` and `"store": false`), sampled_out (`RECORD` fraction)
pub const RECORDS_SKIPPED: &str = "micromodel_records_skipped_total";
/// `micromodel_recorder_queue_depth`
pub const QUEUE_DEPTH: &str = "micromodel_recorder_queue_depth";
/// `micromodel_config_reloads_total{result}`; result: applied, unchanged, rejected, rolled_back
pub const CONFIG_RELOADS: &str = "micromodel_config_reloads_total";
/// `micromodel_config_last_reload_successful` (1 or 0)
pub const CONFIG_LAST_RELOAD_OK: &str = "micromodel_config_last_reload_successful";
/// `micromodel_config_generation`
pub const CONFIG_GENERATION: &str = "micromodel_config_generation";
/// `micromodel_workflows`
pub const WORKFLOWS: &str = "micromodel_workflows";

/// `micromodel_connections_open`: client connections being served (all listeners).
pub const CONNECTIONS_OPEN: &str = "micromodel_connections_open";
/// `micromodel_connections_closed_total{reason}` by a limit; reason: header_timeout,
/// idle_timeout, evicted (no request in flight: idle keep-alive or silent since the
/// accept; closed to make room at the connection cap)
pub const CONNECTIONS_CLOSED: &str = "micromodel_connections_closed_total";
/// `micromodel_connection_limit_reached_total`: times a listener had to wait for a slot
pub const CONNECTION_LIMIT_REACHED: &str = "micromodel_connection_limit_reached_total";
/// `micromodel_requests_rejected_total{reason}`; reason: buffered_bytes (503),
/// body_read_timeout (408), body_read_failed (400)
pub const REQUESTS_REJECTED: &str = "micromodel_requests_rejected_total";
/// `micromodel_buffered_request_bytes`: request body bytes held in memory now
pub const BUFFERED_BYTES: &str = "micromodel_buffered_request_bytes";
/// `micromodel_redactions_total{workflow,detector}`: finds replaced in records by `REDACT`
/// (detector: a built-in's name or a custom rule's `name`)
pub const REDACTIONS: &str = "micromodel_redactions_total";
/// `micromodel_request_id_header_missing_total{workflow,reason}`: recorded answers whose head
/// went out without `x-micromodel-request-id`; reason: stream_hold_expired,
/// no_id_in_first_event, no_id_in_answer, held_bytes_limit, body_ended, body_failed,
/// id_not_header_safe (`proxy::request_id::Missing`)
pub const HEADS_WITHOUT_REQUEST_ID: &str = "micromodel_request_id_header_missing_total";

/// `micromodel_sink_objects_uploaded_total`: segments uploaded to the sink's store.
pub const SINK_OBJECTS_UPLOADED: &str = "micromodel_sink_objects_uploaded_total";
/// `micromodel_sink_bytes_uploaded_total`: bytes (compressed) uploaded to the sink's store.
pub const SINK_BYTES_UPLOADED: &str = "micromodel_sink_bytes_uploaded_total";
/// `micromodel_sink_upload_failures_total{kind}`; kind: auth (401/403), not_found (no such
/// bucket), store (network, timeouts, 5xx after the client's retries), local_io
pub const SINK_UPLOAD_FAILURES: &str = "micromodel_sink_upload_failures_total";
/// `micromodel_sink_spool_bytes`: bytes in the spool (open and sealed segments)
pub const SINK_SPOOL_BYTES: &str = "micromodel_sink_spool_bytes";
/// `micromodel_sink_spool_segments`: sealed segments waiting for their upload
pub const SINK_SPOOL_SEGMENTS: &str = "micromodel_sink_spool_segments";
/// `micromodel_sink_oldest_pending_seconds`: age of the oldest sealed segment not uploaded yet
/// (0 when none waits)
pub const SINK_OLDEST_PENDING: &str = "micromodel_sink_oldest_pending_seconds";
/// `micromodel_sink_records_not_spooled_total{reason}`; reason: spool_full, spool_error —
/// records in the local day files only
pub const SINK_RECORDS_NOT_SPOOLED: &str = "micromodel_sink_records_not_spooled_total";

/// Counts an upstream failure in [`UPSTREAM_ERRORS`]: `connect`, `timeout` or `invalid`.
pub fn upstream_error(workflow: &str, kind: &'static str) {
    metrics::counter!(UPSTREAM_ERRORS, "workflow" => workflow.to_owned(), "kind" => kind)
        .increment(1);
}

/// Request duration buckets, in seconds: sub-millisecond proxy errors up to long generations.
const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

/// Installs the global Prometheus recorder. `None` when one is already installed.
pub fn install() -> Option<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&DURATION_BUCKETS)
        .ok()?
        .install_recorder()
        .ok()?;
    describe();
    ENABLED.store(true, Ordering::Relaxed);
    Some(handle)
}

/// Set once a recorder is installed. The per-request metrics of the proxy are skipped
/// without one: their labels cost allocations even when the calls are no-ops.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether metrics are being collected (`--admin-addr` given).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn describe() {
    describe_counter!(
        REQUESTS_TOTAL,
        "Requests answered, by workflow, endpoint and status."
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Time from request to response headers."
    );
    describe_counter!(
        UPSTREAM_ERRORS,
        "Upstream failures: connect, timeout, invalid."
    );
    describe_gauge!(STREAMS_ACTIVE, "Streamed answers being passed through now.");
    describe_counter!(RECORDS_WRITTEN, "Record lines appended to data files.");
    describe_counter!(LABELS_WRITTEN, "Label lines appended to labels files.");
    describe_counter!(RECORDS_DROPPED, "Records not written, by reason.");
    describe_counter!(
        RECORDS_SKIPPED,
        "Requests forwarded but not recorded by choice: record_none, opt_out, store_false, sampled_out."
    );
    describe_gauge!(QUEUE_DEPTH, "Records waiting for the disk.");
    describe_counter!(CONFIG_RELOADS, "Config reloads, by result.");
    describe_gauge!(
        CONFIG_LAST_RELOAD_OK,
        "1 when the last reload was applied or unchanged."
    );
    describe_gauge!(CONFIG_GENERATION, "Generation of the config in force.");
    describe_gauge!(WORKFLOWS, "Workflows in the config in force.");
    describe_counter!(
        REDACTIONS,
        "Finds replaced in records by REDACT, by workflow and detector."
    );
    describe_counter!(
        HEADS_WITHOUT_REQUEST_ID,
        "Recorded answers whose head went out without x-micromodel-request-id, by workflow and reason."
    );
    describe_limits();
    describe_sink();
}

fn describe_sink() {
    describe_counter!(
        SINK_OBJECTS_UPLOADED,
        "Segments uploaded to the sink's store."
    );
    describe_counter!(
        SINK_BYTES_UPLOADED,
        Unit::Bytes,
        "Bytes (compressed) uploaded to the sink's store."
    );
    describe_counter!(
        SINK_UPLOAD_FAILURES,
        "Failed segment uploads (each retry counts): auth, not_found, store, local_io."
    );
    describe_gauge!(
        SINK_SPOOL_BYTES,
        Unit::Bytes,
        "Bytes in the sink's spool (open and sealed segments)."
    );
    describe_gauge!(
        SINK_SPOOL_SEGMENTS,
        "Sealed segments waiting for their upload."
    );
    describe_gauge!(
        SINK_OLDEST_PENDING,
        Unit::Seconds,
        "Age of the oldest sealed segment not uploaded yet."
    );
    describe_counter!(
        SINK_RECORDS_NOT_SPOOLED,
        "Records written locally but not to the sink's spool: spool_full, spool_error."
    );
}

fn describe_limits() {
    describe_gauge!(CONNECTIONS_OPEN, "Client connections being served.");
    describe_counter!(
        CONNECTIONS_CLOSED,
        "Connections closed by a limit: header_timeout, idle_timeout, evicted."
    );
    describe_counter!(
        CONNECTION_LIMIT_REACHED,
        "Times a listener waited for a slot at --max-connections."
    );
    describe_counter!(
        REQUESTS_REJECTED,
        "Requests refused for their body: buffered_bytes, body_read_timeout, body_read_failed."
    );
    describe_gauge!(
        BUFFERED_BYTES,
        Unit::Bytes,
        "Request body bytes held in memory now."
    );
}

/// The `endpoint` label of a request path: bounded, whatever clients send.
pub fn endpoint_label(path: &str) -> &'static str {
    if let Some(kind) = crate::record::EndpointKind::from_path(path) {
        return kind.path();
    }
    match path {
        "/v1/models" => "/v1/models",
        "/v1/embeddings" => "/v1/embeddings",
        "/health" => "/health",
        "/" => "/",
        p if p.starts_with("/v1/") || p == "/v1" => "/v1/other",
        _ => "other",
    }
}
