//! The node's table of transfers, for `/transfers` (modelled on Elasticsearch's `_cat/recovery`):
//! every transfer in flight, sent or received, and the last N finished. A transfer is tracked by
//! a guard: ending it (or dropping it, when its task is ended) moves it to the finished list and
//! updates the in-flight gauge, on every path.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::metrics::{Direction, Metrics};
use crate::protocol::PartitionId;

/// A total not (yet) known.
const UNKNOWN: u64 = u64::MAX;

/// One transfer as `/transfers` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TransferView {
    pub id: u64,
    /// `send` or `receive`.
    pub direction: &'static str,
    pub store: String,
    pub version: i32,
    pub partition: i32,
    pub peer: String,
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub files_done: u64,
    pub files_total: Option<u64>,
    pub bytes_done: u64,
    pub bytes_total: Option<u64>,
    /// Of `bytes_total`, when known.
    pub percent: Option<f64>,
    pub elapsed_seconds: f64,
    pub rate_bytes_per_second: f64,
    /// At the average rate so far, when the total is known.
    pub eta_seconds: Option<f64>,
    /// `MD5` or `XXH3-128`; for a receive, known from the first file on.
    pub checksum: Option<&'static str>,
    /// Receive: of `bytes_done`, the bytes of files kept from earlier attempts (not fetched
    /// again; resume between vbt nodes).
    pub bytes_reused: u64,
    /// Receive, once done: the peers those kept files first came from, with their bytes
    /// (`peer` sent the rest).
    pub reused_from: Vec<ReusedFrom>,
    /// Receive: the peer's zone, when known (`host:port@zone`, Helix `DOMAIN`).
    pub peer_zone: Option<String>,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub started_ms: u64,
    pub error: Option<String>,
}

/// Kept bytes by the peer that first sent them.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ReusedFrom {
    pub peer: String,
    pub bytes: u64,
}

struct Live {
    id: u64,
    direction: Direction,
    partition: PartitionId,
    peer: String,
    started: Instant,
    started_ms: u64,
    files_done: AtomicU64,
    files_total: AtomicU64,
    bytes_done: AtomicU64,
    /// Received over the network (bytes_done less what a resume kept): what the metrics count.
    bytes_received: AtomicU64,
    bytes_total: AtomicU64,
    checksum: Mutex<Option<&'static str>>,
    bytes_reused: AtomicU64,
    reused_from: Mutex<Vec<ReusedFrom>>,
    /// The peer's zone, and whether it is ours (None: either is unknown).
    zone: Option<String>,
    same_zone: Option<bool>,
}

fn known(v: u64) -> Option<u64> {
    (v != UNKNOWN).then_some(v)
}

impl Live {
    fn view(&self, state: &'static str, error: Option<String>) -> TransferView {
        let elapsed = self.started.elapsed().as_secs_f64();
        let bytes_done = self.bytes_done.load(Ordering::Relaxed);
        let bytes_total = known(self.bytes_total.load(Ordering::Relaxed));
        let rate = if elapsed > 0.0 { bytes_done as f64 / elapsed } else { 0.0 };
        let percent = bytes_total.map(|t| if t == 0 { 100.0 } else { (bytes_done as f64 * 100.0 / t as f64).min(100.0) });
        let eta = match (state, bytes_total) {
            ("running", Some(t)) if rate > 0.0 => Some(t.saturating_sub(bytes_done) as f64 / rate),
            _ => None,
        };
        let dir = match self.direction {
            Direction::send => "send",
            Direction::receive => "receive",
        };
        TransferView {
            id: self.id,
            direction: dir,
            store: self.partition.store.clone(),
            version: self.partition.version,
            partition: self.partition.partition,
            peer: self.peer.clone(),
            state,
            files_done: self.files_done.load(Ordering::Relaxed),
            files_total: known(self.files_total.load(Ordering::Relaxed)),
            bytes_done,
            bytes_total,
            percent: percent.map(round1),
            elapsed_seconds: round3(elapsed),
            rate_bytes_per_second: rate.round(),
            eta_seconds: eta.map(round1),
            checksum: *self.checksum.lock().unwrap(),
            bytes_reused: self.bytes_reused.load(Ordering::Relaxed),
            reused_from: self.reused_from.lock().unwrap().clone(),
            peer_zone: self.zone.clone(),
            started_ms: self.started_ms,
            error,
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The table: transfers in flight and the last `keep` finished ones.
/// The host's listener for files sent: `(partition, peer, bytes)`, once per whole file written
/// (Venice records bytes sent the same way). The node delivers it on its callback thread.
pub type FileSentFn = Arc<dyn Fn(&PartitionId, &str, u64) + Send + Sync>;

pub struct Transfers {
    metrics: Arc<Metrics>,
    on_file_sent: Option<FileSentFn>,
    next: AtomicU64,
    live: Mutex<BTreeMap<u64, Arc<Live>>>,
    finished: Mutex<VecDeque<TransferView>>,
    keep: usize,
}

impl Transfers {
    /// The table, telling `on_file_sent` (if any) of every whole file a send writes.
    pub fn new(metrics: Arc<Metrics>, keep: usize, on_file_sent: Option<FileSentFn>) -> Arc<Transfers> {
        Arc::new(Transfers { metrics, on_file_sent, next: AtomicU64::new(1), live: Mutex::default(), finished: Mutex::default(), keep })
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    fn begin(
        self: &Arc<Self>,
        direction: Direction,
        partition: &PartitionId,
        peer: String,
        zones: (Option<String>, Option<bool>),
    ) -> Tracked {
        let started_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let live = Arc::new(Live {
            id: self.next.fetch_add(1, Ordering::Relaxed),
            direction,
            partition: partition.clone(),
            peer,
            started: Instant::now(),
            started_ms,
            files_done: AtomicU64::new(0),
            files_total: AtomicU64::new(UNKNOWN),
            bytes_done: AtomicU64::new(0),
            bytes_received: AtomicU64::new(0),
            bytes_total: AtomicU64::new(UNKNOWN),
            checksum: Mutex::new(None),
            bytes_reused: AtomicU64::new(0),
            reused_from: Mutex::default(),
            zone: zones.0,
            same_zone: zones.1,
        });
        self.live.lock().unwrap().insert(live.id, live.clone());
        self.metrics.in_flight(direction, 1);
        Tracked { table: self.clone(), live, ended: AtomicBool::new(false) }
    }

    /// A transfer this node's sender starts serving: its snapshot's totals and checksum are known.
    pub(crate) fn begin_send(
        self: &Arc<Self>,
        partition: &PartitionId,
        peer: SocketAddr,
        files: usize,
        bytes: u64,
        checksum: &'static str,
    ) -> Tracked {
        let t = self.begin(Direction::send, partition, peer.to_string(), (None, None));
        t.live.files_total.store(files as u64, Ordering::Relaxed);
        t.live.bytes_total.store(bytes, Ordering::Relaxed);
        t.set_checksum(checksum);
        t
    }

    /// One attempt of this node's receiver on one peer, of `zone` (if known); `ours` is the
    /// receiver's own zone (`vbt.zone`).
    pub(crate) fn begin_receive(
        self: &Arc<Self>,
        partition: &PartitionId,
        peer: String,
        zone: Option<&str>,
        ours: Option<&str>,
    ) -> Tracked {
        let same = zone.zip(ours).map(|(z, o)| z == o);
        self.begin(Direction::receive, partition, peer, (zone.map(str::to_string), same))
    }

    /// In flight (oldest first), then finished (newest first).
    pub fn list(&self) -> (Vec<TransferView>, Vec<TransferView>) {
        let live = self.live.lock().unwrap().values().map(|l| l.view("running", None)).collect();
        let done = self.finished.lock().unwrap().iter().rev().cloned().collect();
        (live, done)
    }

    /// Seconds until the first send in flight is expected to end (its rate so far), if any has an
    /// estimate: when a busy sender is likely to have a slot again.
    pub fn soonest_send_end(&self) -> Option<f64> {
        let live = self.live.lock().unwrap();
        live.values()
            .filter(|l| matches!(l.direction, Direction::send))
            .filter_map(|l| l.view("running", None).eta_seconds)
            .min_by(|a, b| a.total_cmp(b))
    }

    pub fn in_flight(&self) -> usize {
        self.live.lock().unwrap().len()
    }

    fn end(&self, live: &Live, error: Option<String>) {
        let view = live.view(if error.is_none() { "done" } else { "failed" }, error);
        self.live.lock().unwrap().remove(&live.id);
        self.metrics.in_flight(live.direction, -1);
        if self.keep > 0 {
            let mut f = self.finished.lock().unwrap();
            if f.len() == self.keep {
                f.pop_front();
            }
            f.push_back(view);
        }
    }
}

/// A transfer in the table; dropped without [`Tracked::finish`] it counts as failed.
pub struct Tracked {
    table: Arc<Transfers>,
    live: Arc<Live>,
    ended: AtomicBool,
}

impl Tracked {
    pub fn set_checksum(&self, algorithm: &'static str) {
        let mut c = self.live.checksum.lock().unwrap();
        if c.is_none() {
            *c = Some(algorithm);
            self.table.metrics.checksum_used(self.live.direction, algorithm);
        }
    }

    /// Receiver progress (cumulative within the attempt; `bytes_done` includes `resumed`, the
    /// bytes kept from an interrupted attempt); bytes that crossed the network count toward
    /// `ingestion.blob_transfer.bytes.received` as they arrive.
    pub fn received(&self, files_done: usize, bytes_done: u64, resumed: u64, files_total: Option<usize>, bytes_total: Option<u64>) {
        let l = &self.live;
        l.files_done.store(files_done as u64, Ordering::Relaxed);
        l.bytes_done.fetch_max(bytes_done, Ordering::Relaxed);
        let net = bytes_done.saturating_sub(resumed);
        l.bytes_reused.fetch_max(resumed, Ordering::Relaxed);
        let before = l.bytes_received.fetch_max(net, Ordering::Relaxed);
        if net > before {
            self.table.metrics.bytes_received(&l.partition.store, net - before);
            self.table.metrics.bytes_received_by_zone(l.zone.as_deref(), l.same_zone, net - before);
        }
        if let Some(t) = files_total {
            l.files_total.store(t as u64, Ordering::Relaxed);
        }
        if let Some(t) = bytes_total {
            l.bytes_total.store(t, Ordering::Relaxed);
        }
    }

    /// Receiver, at the end of an attempt: where its kept bytes came from.
    pub fn reused_from(&self, from: &[(String, u64)]) {
        *self.live.reused_from.lock().unwrap() =
            from.iter().map(|(peer, bytes)| ReusedFrom { peer: peer.clone(), bytes: *bytes }).collect();
    }

    /// Sender: a piece of a file written (the row's progress moves within a large file).
    pub fn sending(&self, n: u64) {
        self.live.bytes_done.fetch_add(n, Ordering::Relaxed);
    }

    /// Sender: one whole file written. Its bytes count toward
    /// `ingestion.blob_transfer.bytes.sent` now, per file, as Venice counts them.
    pub fn file_sent(&self, len: u64) {
        self.live.files_done.fetch_add(1, Ordering::Relaxed);
        self.table.metrics.bytes_sent(&self.live.partition.store, len);
        if let Some(f) = &self.table.on_file_sent {
            f(&self.live.partition, &self.live.peer, len);
        }
    }

    /// Ends the transfer (once; later calls do nothing): `Ok` done, `Err` failed with the cause.
    pub fn finish(&self, result: Result<(), String>) {
        if !self.ended.swap(true, Ordering::SeqCst) {
            self.table.end(&self.live, result.err());
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.finish(Err("ended before it finished (timed out, cancelled or stopped)".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_then_finished_with_a_bounded_history() {
        let m = Metrics::new(&crate::config::Config::default());
        let t = Transfers::new(m, 2, None);
        let id = PartitionId::new("s", 1, 0).unwrap();
        let a = t.begin_receive(&id, "peer-a:1".into(), Some("z2"), Some("z1"));
        a.received(1, 500, 200, Some(4), Some(1000));
        a.reused_from(&[("peer-c:1".into(), 200)]);
        let (live, done) = t.list();
        assert_eq!((live.len(), done.len()), (1, 0));
        assert_eq!((live[0].percent, live[0].files_total, live[0].state), (Some(50.0), Some(4), "running"));
        assert_eq!((live[0].bytes_reused, live[0].reused_from.clone()), (200, vec![ReusedFrom { peer: "peer-c:1".into(), bytes: 200 }]));
        let text = t.metrics().prometheus_text();
        assert!(text.contains("vbt_bytes_received_by_zone_total{peer_zone=\"z2\",same_zone=\"false\"} 300"), "{text}");
        a.finish(Ok(()));
        let b = t.begin_receive(&id, "peer-b:1".into(), None, Some("z1"));
        b.received(1, 40, 0, Some(4), Some(1000));
        // No zone is the empty label: never the same series as a zone of any name.
        let text = t.metrics().prometheus_text();
        assert!(text.contains("vbt_bytes_received_by_zone_total{peer_zone=\"\",same_zone=\"unknown\"} 40"), "{text}");
        drop(b);
        t.begin_send(&id, "127.0.0.1:9".parse().unwrap(), 2, 10, "MD5").finish(Err("broken pipe".into()));
        let (live, done) = t.list();
        assert!(live.is_empty());
        let states: Vec<_> = done.iter().map(|v| (v.peer.as_str(), v.state)).collect();
        assert_eq!(states, [("127.0.0.1:9", "failed"), ("peer-b:1", "failed")], "newest first, two kept");
        assert_eq!(t.in_flight(), 0);
        assert!(t.metrics().prometheus_text().contains("vbt_transfers_in_flight{direction=\"receive\"} 0"));
    }
}
