//! The node's metrics: one registry per node (no global state, so two nodes in one process stay
//! apart), typed families from `prometheus-client`.
//!
//! Venice's OpenTelemetry names (`BlobTransferOtelMetricEntity`) are kept, with dots as
//! underscores as OpenTelemetry's Prometheus exporter writes them, so dashboards built on a Java
//! node's metrics read a vbt node's too:
//!
//! | Venice (OTel) | here | recorded |
//! |---|---|---|
//! | `ingestion.blob_transfer.request.count` | `ingestion_blob_transfer_request_count_total` | receiver, per peer attempt (success/fail) |
//! | `ingestion.blob_transfer.response.count` | `ingestion_blob_transfer_response_count_total` | receiver, per bootstrap (success/fail) |
//! | `ingestion.blob_transfer.version_topic_fallback.count` | `…_version_topic_fallback_count_total` | receiver, a bootstrap that leaves the host to Kafka |
//! | `ingestion.blob_transfer.time` | `ingestion_blob_transfer_time` (histogram, s) | receiver, per successful bootstrap |
//! | `ingestion.blob_transfer.bytes.received` | `…_bytes_received_total` | receiver, per piece |
//! | `ingestion.blob_transfer.bytes.sent` | `…_bytes_sent_total` | sender, per file written (as Venice) |
//!
//! Counters get `_total` as OpenMetrics requires and as OpenTelemetry's exporter adds. The `vbt_*`
//! families are what an operator of vbt needs besides (see the README).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::error::ErrorKind;
use crate::throttle::{Adaptive, RateLimiter};

/// What a node fetches from, when the host says (`vbt.node.role`): Venice's
/// `venice.blob_transfer.sender_source`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum SenderSource {
    davinci_peer,
    venice_server,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Status {
    success,
    fail,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum FallbackReason {
    no_candidates,
    all_hosts_failed,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Direction {
    send,
    receive,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum SnapshotEvent {
    created,
    reused,
}

// Label names are Venice's OTel dimension names with dots as underscores.

/// Labels present only when the host configured them.
type Extra = Vec<(&'static str, String)>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    venice_store_name: String,
    /// `venice_cluster_name` when `cluster.name` is set; omitted otherwise (an empty value
    /// would mean the same to Prometheus but reads as a cluster named "").
    #[prometheus(flatten)]
    cluster: Extra,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    venice_store_name: String,
    /// `venice_cluster_name` when `cluster.name` is set; omitted otherwise (an empty value
    /// would mean the same to Prometheus but reads as a cluster named "").
    #[prometheus(flatten)]
    cluster: Extra,
    /// `venice_blob_transfer_sender_source` when `vbt.node.role` says.
    #[prometheus(flatten)]
    source: Extra,
    venice_response_status_code_category: Status,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResponseLabels {
    venice_store_name: String,
    /// `venice_cluster_name` when `cluster.name` is set; omitted otherwise (an empty value
    /// would mean the same to Prometheus but reads as a cluster named "").
    #[prometheus(flatten)]
    cluster: Extra,
    venice_response_status_code_category: Status,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FallbackLabels {
    venice_store_name: String,
    /// `venice_cluster_name` when `cluster.name` is set; omitted otherwise (an empty value
    /// would mean the same to Prometheus but reads as a cluster named "").
    #[prometheus(flatten)]
    cluster: Extra,
    venice_blob_transfer_fallback_reason: FallbackReason,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: Direction,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChecksumLabels {
    direction: Direction,
    algorithm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SnapshotLabels {
    venice_store_name: String,
    event: SnapshotEvent,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneLabels {
    /// The sending peer's zone; `unknown` when it has none.
    peer_zone: String,
    /// `true`/`false` against `vbt.zone`; `unknown` when either zone is.
    same_zone: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    venice_store_name: String,
    cause: String,
}

fn time_buckets() -> Histogram {
    // 50 ms .. ~3.6 h: a small partition on loopback up to a large one at a throttled rate.
    Histogram::new(exponential_buckets(0.05, 2.0, 18))
}

/// What the gauges read at scrape time (the limiters change at run time).
struct Limits {
    write: Arc<RateLimiter>,
    read: Arc<RateLimiter>,
    adaptive: Option<Arc<Adaptive>>,
}

/// One node's metrics.
pub struct Metrics {
    registry: Registry,
    cluster: Option<String>,
    source: Option<SenderSource>,
    request: Family<RequestLabels, Counter>,
    response: Family<ResponseLabels, Counter>,
    fallback: Family<FallbackLabels, Counter>,
    time: Family<StoreLabels, Histogram, fn() -> Histogram>,
    bytes_received: Family<StoreLabels, Counter>,
    bytes_by_zone: Family<ZoneLabels, Counter>,
    bytes_sent: Family<StoreLabels, Counter>,
    bytes_resumed: Family<StoreLabels, Counter>,
    in_flight: Family<DirectionLabels, Gauge>,
    refused: Counter,
    queued: Counter,
    snapshots: Family<SnapshotLabels, Counter>,
    checksums: Family<ChecksumLabels, Counter>,
    limit: Family<DirectionLabels, Gauge>,
    adaptive_factor: Gauge,
    peer_failures: Family<FailureLabels, Counter>,
    limits: OnceLock<Limits>,
    /// Set when the node starts stopping: `/health` answers 503 from then on.
    stopping: AtomicBool,
}

impl Metrics {
    pub fn new(cfg: &Config) -> Arc<Metrics> {
        let mut registry = Registry::default();
        let m = Metrics {
            cluster: cfg.cluster_name.clone(),
            source: cfg.node_role.map(|r| match r {
                crate::config::NodeRole::DaVinci => SenderSource::davinci_peer,
                crate::config::NodeRole::Server => SenderSource::venice_server,
            }),
            request: Family::default(),
            response: Family::default(),
            fallback: Family::default(),
            time: Family::new_with_constructor(time_buckets),
            bytes_received: Family::default(),
            bytes_by_zone: Family::default(),
            bytes_sent: Family::default(),
            bytes_resumed: Family::default(),
            in_flight: Family::default(),
            refused: Counter::default(),
            queued: Counter::default(),
            snapshots: Family::default(),
            checksums: Family::default(),
            limit: Family::default(),
            adaptive_factor: Gauge::default(),
            peer_failures: Family::default(),
            limits: OnceLock::new(),
            stopping: AtomicBool::new(false),
            registry: Registry::default(),
        };
        let r = &mut registry;
        r.register(
            "ingestion_blob_transfer_request_count",
            "Blob transfer attempts on one peer, by the peer's kind and outcome (Venice: ingestion.blob_transfer.request.count)",
            m.request.clone(),
        );
        r.register(
            "ingestion_blob_transfer_response_count",
            "Bootstraps ended, by outcome; cancelled ones and ones without peers are not counted (Venice: ingestion.blob_transfer.response.count)",
            m.response.clone(),
        );
        r.register(
            "ingestion_blob_transfer_version_topic_fallback_count",
            "Bootstraps that left the partition to Kafka, by reason (Venice: ingestion.blob_transfer.version_topic_fallback.count)",
            m.fallback.clone(),
        );
        r.register(
            "ingestion_blob_transfer_time",
            "Seconds from the start of a successful bootstrap to its installed partition (Venice: ingestion.blob_transfer.time)",
            m.time.clone(),
        );
        r.register(
            "ingestion_blob_transfer_bytes_received",
            "Bytes received, counted as they arrive (Venice: ingestion.blob_transfer.bytes.received)",
            m.bytes_received.clone(),
        );
        r.register(
            "vbt_bytes_received_by_zone",
            "Bytes received, by the sending peer's zone and whether it is this node's (vbt.zone); kept bytes are in vbt_bytes_resumed",
            m.bytes_by_zone.clone(),
        );
        r.register(
            "ingestion_blob_transfer_bytes_sent",
            "Bytes sent, counted per file written (Venice: ingestion.blob_transfer.bytes.sent)",
            m.bytes_sent.clone(),
        );
        r.register(
            "vbt_bytes_resumed",
            "Bytes of files kept from an interrupted attempt and not fetched again (resume between vbt nodes)",
            m.bytes_resumed.clone(),
        );
        r.register("vbt_transfers_in_flight", "Transfers running now, by direction", m.in_flight.clone());
        r.register(
            "vbt_admissions_refused",
            "Requests answered 429: blob.transfer.max.concurrent.snapshot.user transfers were already being served",
            m.refused.clone(),
        );
        r.register(
            "vbt_admissions_queued",
            "Requests of vbt receivers that found every slot taken and waited in line (X-Vbt-Wait; admitted later or refused)",
            m.queued.clone(),
        );
        r.register("vbt_snapshots", "Snapshots served, created anew or reused within the retention time", m.snapshots.clone());
        r.register("vbt_transfers_by_checksum", "Transfers started, by direction and checksum algorithm", m.checksums.clone());
        r.register(
            "vbt_throttle_limit_bytes_per_second",
            "Global rate limit in force (after the adaptive factor), by direction; 0 = unlimited",
            m.limit.clone(),
        );
        r.register(
            "vbt_throttle_adaptive_factor_percent",
            "Adaptive throttling factor (20..200; 100 when adaptive throttling is off)",
            m.adaptive_factor.clone(),
        );
        r.register("vbt_peer_failures", "Failed peers (attempts and connectivity probes), by cause (ErrorKind)", m.peer_failures.clone());
        // The in-flight gauges exist from the start, so a scraper sees 0 rather than nothing.
        for d in [Direction::send, Direction::receive] {
            let _ = m.in_flight.get_or_create(&DirectionLabels { direction: d });
        }
        Arc::new(Metrics { registry, ..m })
    }

    /// The limiters the throttle gauges read at each scrape.
    pub(crate) fn watch_limits(&self, write: Arc<RateLimiter>, read: Arc<RateLimiter>, adaptive: Option<Arc<Adaptive>>) {
        let _ = self.limits.set(Limits { write, read, adaptive });
    }

    fn cluster(&self) -> Extra {
        self.cluster.iter().map(|c| ("venice_cluster_name", c.clone())).collect()
    }

    fn store(&self, store: &str) -> StoreLabels {
        StoreLabels { venice_store_name: store.to_string(), cluster: self.cluster() }
    }

    /// One attempt on one peer ended (cancellations are not counted, as in Venice).
    pub fn peer_attempt(&self, store: &str, ok: bool) {
        self.request
            .get_or_create(&RequestLabels {
                venice_store_name: store.to_string(),
                cluster: self.cluster(),
                source: self.source.map(|s| ("venice_blob_transfer_sender_source", label(s))).into_iter().collect(),
                venice_response_status_code_category: if ok { Status::success } else { Status::fail },
            })
            .inc();
    }

    pub fn peer_failure(&self, store: &str, kind: ErrorKind) {
        let cause = kind.constant_name().to_ascii_lowercase();
        self.peer_failures.get_or_create(&FailureLabels { venice_store_name: store.to_string(), cause }).inc();
    }

    /// A bootstrap ended: success with its duration, or a failure. Venice counts neither a
    /// cancelled bootstrap nor one that found no peers as a response. The fallback reason is
    /// the error's own ([`crate::Error::fallback_reason`]), so the metric and the host's result
    /// (`vbt fetch` JSON, C, Java) always say the same.
    pub fn bootstrap_ended(&self, store: &str, result: Result<std::time::Duration, &crate::Error>) {
        let status = match result {
            Ok(took) => {
                self.time.get_or_create(&self.store(store)).observe(took.as_secs_f64());
                Status::success
            }
            Err(e) if matches!(e.kind(), ErrorKind::Cancelled | ErrorKind::Shutdown) => return,
            Err(e) => {
                let kind = e.kind();
                let reason = match e.fallback_reason() {
                    Some("no_candidates") => Some(FallbackReason::no_candidates),
                    Some("all_hosts_failed") => Some(FallbackReason::all_hosts_failed),
                    _ => None,
                };
                if let Some(reason) = reason {
                    self.fallback
                        .get_or_create(&FallbackLabels {
                            venice_store_name: store.to_string(),
                            cluster: self.cluster(),
                            venice_blob_transfer_fallback_reason: reason,
                        })
                        .inc();
                }
                if kind == ErrorKind::NoPeers {
                    return;
                }
                Status::fail
            }
        };
        self.response
            .get_or_create(&ResponseLabels {
                venice_store_name: store.to_string(),
                cluster: self.cluster(),
                venice_response_status_code_category: status,
            })
            .inc();
    }

    pub fn bytes_received(&self, store: &str, n: u64) {
        self.bytes_received.get_or_create(&self.store(store)).inc_by(n);
    }

    /// Received bytes by where they came from: the peer's zone, and whether it is ours.
    pub fn bytes_received_by_zone(&self, zone: Option<&str>, same: Option<bool>, n: u64) {
        let same_zone = match same {
            Some(true) => "true",
            Some(false) => "false",
            None => "unknown",
        };
        // No zone is the empty label (Prometheus reads it as absent): a zone name is never empty,
        // so no zone can be counted as "no zone".
        let labels = ZoneLabels { peer_zone: zone.unwrap_or("").to_string(), same_zone };
        self.bytes_by_zone.get_or_create(&labels).inc_by(n);
    }

    /// Bytes a bootstrap did not fetch again because an interrupted attempt had kept them.
    pub fn bytes_resumed(&self, store: &str, n: u64) {
        self.bytes_resumed.get_or_create(&self.store(store)).inc_by(n);
    }

    pub fn bytes_sent(&self, store: &str, n: u64) {
        self.bytes_sent.get_or_create(&self.store(store)).inc_by(n);
    }

    pub fn admission_refused(&self) {
        self.refused.inc();
    }

    pub fn admission_queued(&self) {
        self.queued.inc();
    }

    pub fn snapshot(&self, store: &str, event: SnapshotEvent) {
        self.snapshots.get_or_create(&SnapshotLabels { venice_store_name: store.to_string(), event }).inc();
    }

    pub fn checksum_used(&self, direction: Direction, algorithm: &str) {
        self.checksums.get_or_create(&ChecksumLabels { direction, algorithm: algorithm.to_string() }).inc();
    }

    pub(crate) fn in_flight(&self, direction: Direction, delta: i64) {
        self.in_flight.get_or_create(&DirectionLabels { direction }).inc_by(delta);
    }

    pub fn set_stopping(&self, stopping: bool) {
        self.stopping.store(stopping, Ordering::SeqCst);
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    fn refresh(&self) {
        if let Some(l) = self.limits.get() {
            self.limit.get_or_create(&DirectionLabels { direction: Direction::send }).set(clamp(l.write.effective()));
            self.limit.get_or_create(&DirectionLabels { direction: Direction::receive }).set(clamp(l.read.effective()));
            self.adaptive_factor.set(l.adaptive.as_ref().map_or(100, |a| a.factor() as i64));
        }
    }

    /// OpenMetrics text, as `prometheus-client` writes it (what a Prometheus server asks for).
    pub fn openmetrics(&self) -> String {
        self.refresh();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }

    /// Prometheus text format 0.0.4, for scrapers that do not ask for OpenMetrics (`curl`,
    /// `promtool check metrics`). The two differ only in how a counter family is named: in
    /// 0.0.4 its HELP and TYPE lines carry the sample name (with `_total`); there is no UNIT
    /// and no EOF line.
    pub fn prometheus_text(&self) -> String {
        to_text_004(&self.openmetrics())
    }
}

fn label(s: SenderSource) -> String {
    match s {
        SenderSource::davinci_peer => "davinci_peer",
        SenderSource::venice_server => "venice_server",
    }
    .to_string()
}

fn clamp(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

fn to_text_004(om: &str) -> String {
    let counters: std::collections::HashSet<&str> =
        om.lines().filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter")).collect();
    let mut out = String::with_capacity(om.len() + 64);
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_families_are_named_by_their_samples_in_text_004() {
        let om =
            "# HELP a_count Things.\n# TYPE a_count counter\na_count_total{x=\"1\"} 2\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n# EOF\n";
        assert_eq!(
            to_text_004(om),
            "# HELP a_count_total Things.\n# TYPE a_count_total counter\na_count_total{x=\"1\"} 2\n# HELP g A gauge.\n# TYPE g gauge\ng 1\n"
        );
    }

    #[test]
    fn venice_names_and_dimensions() {
        let cfg = Config::from_pairs([("cluster.name", "venice-1"), ("vbt.node.role", "davinci")]).unwrap();
        let m = Metrics::new(&cfg);
        m.peer_attempt("s", true);
        m.bootstrap_ended("s", Err(&crate::Error::new(ErrorKind::NoPeers, "none")));
        m.bootstrap_ended("s", Err(&crate::Error::new(ErrorKind::Cancelled, "cancelled")));
        let text = m.prometheus_text();
        assert!(
            text.contains(
                "ingestion_blob_transfer_request_count_total{venice_store_name=\"s\",venice_cluster_name=\"venice-1\",\
             venice_blob_transfer_sender_source=\"davinci_peer\",venice_response_status_code_category=\"success\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("venice_blob_transfer_fallback_reason=\"no_candidates\"} 1"), "{text}");
        assert!(!text.contains("ingestion_blob_transfer_response_count_total{"), "no peers and cancel are no responses: {text}");
        // Without a role the sender_source label is left out, as Venice does for finders that
        // cannot tell.
        let m = Metrics::new(&Config::default());
        m.peer_attempt("s", false);
        let text = m.prometheus_text();
        assert!(
            text.contains(
                "ingestion_blob_transfer_request_count_total{venice_store_name=\"s\",venice_response_status_code_category=\"fail\"} 1"
            ),
            "{text}"
        );
    }

    /// Every peer failing the connectivity check is Venice's "no candidates", as the result says
    /// (issue #18: the metric said all_hosts_failed).
    #[test]
    fn fallback_reason_follows_the_result() {
        use crate::error::PeerFailure;
        let failed = |probe_only: bool| PeerFailure { peer: "h:1".into(), error: crate::Error::new(ErrorKind::Io, "refused"), probe_only };
        let all = |f: Vec<PeerFailure>| crate::Error::new(ErrorKind::AllPeersFailed, "all failed").with_peer_failures(f);
        let m = Metrics::new(&Config::default());
        let probes_only = all(vec![failed(true), failed(true)]);
        assert_eq!(probes_only.fallback_reason(), Some("no_candidates"));
        m.bootstrap_ended("a", Err(&probes_only));
        m.bootstrap_ended("b", Err(&all(vec![failed(true), failed(false)])));
        let text = m.prometheus_text();
        let reason = |store: &str| {
            text.lines()
                .find(|l| {
                    l.starts_with("ingestion_blob_transfer_version_topic_fallback_count_total{")
                        && l.contains(&format!("venice_store_name=\"{store}\""))
                })
                .unwrap_or_else(|| panic!("no fallback row for {store}: {text}"))
                .to_string()
        };
        assert!(reason("a").contains("fallback_reason=\"no_candidates\"} 1"), "{text}");
        assert!(reason("b").contains("fallback_reason=\"all_hosts_failed\"} 1"), "{text}");
    }
}
