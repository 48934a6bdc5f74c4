//! The JSON the commands print: a bootstrap's result, a failed bootstrap, and the rounding of
//! seconds and rates.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use venice_blob_transfer::{BootstrapOutcome, Error, PartitionId, PeerFailure};

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn mb_per_s(bytes: u64, secs: f64) -> f64 {
    round3(bytes as f64 / 1e6 / secs.max(1e-9))
}

pub fn result_json(o: &BootstrapOutcome) -> serde_json::Value {
    serde_json::json!({
        "partition": o.id.replica(),
        "peer": o.peer,
        "files": o.files,
        "bytes": o.bytes,
        "resumed_bytes": o.resumed_bytes,
        "reused_from": o.reused_from.iter().map(|(peer, bytes)| serde_json::json!({ "peer": peer, "bytes": bytes })).collect::<Vec<_>>(),
        "streams": o.streams,
        "seconds": round3(o.elapsed.as_secs_f64()),
        "first_byte_seconds": (o.first_byte.as_secs_f64() * 1e6).round() / 1e6,
        "mb_per_s": mb_per_s(o.bytes, o.elapsed.as_secs_f64()),
        "checksum": o.checksum,
        "partition_dir": o.partition_dir.display().to_string(),
        "offset_record": STANDARD.encode(&o.metadata.offset_record),
        "store_version_state": STANDARD.encode(&o.metadata.store_version_state),
        "failed_peers": failed_peers_json(&o.failed_peers),
    })
}

/// Each failed peer: `peer`, `code` (the error kind's name, as C's `VBT_<code>` and Java's
/// `Code`), `code_number`, `error` (the message) and `probe_only` (it failed the connectivity
/// check, so no transfer was attempted from it).
fn failed_peers_json(failed: &[PeerFailure]) -> Vec<serde_json::Value> {
    failed
        .iter()
        .map(|f| {
            serde_json::json!({"peer": f.peer, "code": f.error.kind().constant_name(), "code_number": f.error.kind().code(),
                "error": f.error.message(), "probe_only": f.probe_only})
        })
        .collect()
}

/// A failed bootstrap: the error's code and message, the failed peers, and Venice's
/// `fallback_reason` (`no_candidates` or `all_hosts_failed`; null for failures that are not a
/// fallback to Kafka, such as a partition that already exists).
pub fn error_json(id: &PartitionId, e: &Error) -> serde_json::Value {
    serde_json::json!({
        "partition": id.replica(),
        "error": e.message(),
        "code": e.kind().constant_name(),
        "code_number": e.kind().code(),
        "fallback_reason": e.fallback_reason(),
        "failed_peers": failed_peers_json(e.peer_failures()),
    })
}
