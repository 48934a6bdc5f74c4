//! The receiver: bootstrap one partition from peers.
//!
//! ```text
//! bootstrap(partition, peers)
//!   claim the partition's landing (storage::landing); wait for a receive slot
//!   prepare: target must hold no data; leftovers repaired; kept files loaded (resume)
//!   connectivity check (bounded, cached, peers handed out as they answer), one at a time:
//!       attempt (attempt.rs): GET → FILE* (into the landing dir, hashed in-stream) → METADATA → COMPLETE
//!       publish (landing): fsync, RocksDB opens it, metadata + host hook, rename no-replace
//!       success → result with metadata; failure → landing keeps what resume can use, next peer
//!   every peer failed → error listing each peer's cause (the host falls back to Kafka)
//!
//! This file keeps peer order and retries; the network is attempt.rs's, the disk the landing's.
//! ```

mod attempt;
mod direct;
pub mod peers;
mod readahead;
mod reader;
mod sink;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::time::timeout;

use crate::config::Config;
use crate::digest::LaneHasher;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};
use crate::runtime::blocking;
use crate::runtime::until_true;
use crate::storage::landing::resume::{Journaled, Kept, KeptFiles, NoResume};
use crate::storage::landing::{InFlight, Landing, MetadataHook, Spot};
use crate::storage::layout::Layout;
use peers::{ConnectivityCache, Peer};

/// Progress of a running bootstrap, reported as bytes arrive.
#[derive(Clone, Debug)]
pub struct Progress {
    pub peer: String,
    /// The file being received (empty before the first one).
    pub file: String,
    pub files_done: usize,
    /// Bytes of the partition in place: kept from an interrupted attempt, plus received.
    pub bytes_done: u64,
    /// The part of `bytes_done` kept from an interrupted attempt (resume), not received now.
    pub bytes_resumed: u64,
    /// The snapshot's file count and bytes, when the sender announced them (vbt senders do when
    /// asked; Java senders never do): percent and ETA need them.
    pub files_total: Option<usize>,
    pub bytes_total: Option<u64>,
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

pub use crate::discovery::PeerDiscovery;

/// What to bootstrap and from whom.
#[derive(Clone)]
pub struct BootstrapRequest {
    pub id: PartitionId,
    /// The format to ask for; the node's own (`rocksdb.plain.table.format.enabled`) if `None`.
    pub table_format: Option<TableFormat>,
    /// `host[:port]` values; a missing port is the configured client port. Empty: ask the node's
    /// peer discovery.
    pub peers: Vec<String>,
    /// Try peers in the given order instead of shuffling them (Venice's `shouldPreservePeerOrder`).
    pub preserve_order: bool,
    pub progress: Option<ProgressFn>,
}

impl BootstrapRequest {
    pub fn new(id: PartitionId, peers: Vec<String>) -> Self {
        BootstrapRequest { id, table_format: None, peers, preserve_order: false, progress: None }
    }
}

pub use crate::error::PeerFailure;

/// A partition installed and verified, with the metadata the host needs to resume from Kafka.
#[derive(Clone, Debug)]
pub struct BootstrapOutcome {
    pub id: PartitionId,
    pub peer: String,
    pub files: usize,
    /// Bytes that crossed the network in the attempt that succeeded.
    pub bytes: u64,
    /// Bytes of files kept from an earlier, interrupted attempt and not sent again (resume
    /// between vbt nodes: any vbt sender whose manifest lists them): whole files, and the start
    /// of files that were in flight (checked with the rest of their file); 0 otherwise.
    pub resumed_bytes: u64,
    /// `resumed_bytes` by the peer that first sent them (`peer` sent the rest).
    pub reused_from: Vec<(String, u64)>,
    /// Connections the successful attempt used (more than 1 only from a vbt sender, up to
    /// `vbt.receive.streams`).
    pub streams: usize,
    /// From the attempt's start (connect) to the installed partition.
    pub elapsed: Duration,
    /// From sending the request to the first FILE head (the sender's snapshot and checksum wait).
    pub first_byte: Duration,
    /// The checksum every file was verified with: `"MD5"` (Java peers, or
    /// `vbt.checksum.fast=false`) or `"XXH3-128"`.
    pub checksum: &'static str,
    pub partition_dir: PathBuf,
    pub metadata: PartitionMetadata,
    /// Peers that failed before the one that served it.
    pub failed_peers: Vec<PeerFailure>,
}

/// A bootstrap that passed its synchronous checks ([`Receiver::accept`]).
pub(crate) struct Accepted {
    pub req: BootstrapRequest,
    /// Parsed peers; `None`: ask the node's discovery.
    peers: Option<Vec<Peer>>,
    /// The partition's receive directory, claimed here and across processes.
    landing: Landing,
}

fn cancelled(id: &PartitionId) -> Error {
    Error::new(ErrorKind::Cancelled, format!("bootstrap of {} was cancelled", id.replica()))
}

/// How a receiver records what it received, besides the partition itself.
pub(crate) struct Recording {
    /// Record received metadata beside the partition (when vbt owns the base directory).
    pub beside: bool,
    /// The host's hook, called before the partition is published.
    pub hook: Option<MetadataHook>,
}

pub(crate) struct Receiver {
    cfg: Arc<Config>,
    layout: Layout,
    cache: ConnectivityCache,
    in_flight: InFlight,
    slots: Semaphore,
    recording: Recording,
    /// What a landing keeps between attempts: resume on or off.
    kept_files: Arc<dyn KeptFiles>,
    discovery: Option<Arc<dyn PeerDiscovery>>,
    transport: attempt::Transport,
    /// The node's transfers table (`/transfers`) and its metrics.
    transfers: Arc<crate::transfers::Transfers>,
    metrics: Arc<crate::metrics::Metrics>,
}

impl Receiver {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: Arc<Config>,
        layout: Layout,
        recording: Recording,
        discovery: Option<Arc<dyn PeerDiscovery>>,
        tls: Option<Arc<crate::tls::Tls>>,
        read_limit: Arc<crate::throttle::RateLimiter>,
        transfers: Arc<crate::transfers::Transfers>,
    ) -> Self {
        let slots = Semaphore::new(cfg.max_concurrent_receives.min(Semaphore::MAX_PERMITS)); // new() panics above
        let lanes = if cfg.receive_md5_lanes { LaneHasher::detect() } else { None };
        let transport = attempt::Transport { tls, read_limit, lanes };
        let kept_files: Arc<dyn KeptFiles> = if cfg.extensions && cfg.receive_resume {
            Arc::new(Journaled { retention: cfg.snapshot_retention })
        } else {
            Arc::new(NoResume)
        };
        let metrics = transfers.metrics().clone();
        Receiver {
            cfg,
            layout,
            cache: ConnectivityCache::new(),
            in_flight: Default::default(),
            slots,
            recording,
            kept_files,
            discovery,
            transport,
            transfers,
            metrics,
        }
    }

    /// Start-up repair of leftovers in a base directory vbt owns and its state directory (see
    /// [`crate::storage::landing`]).
    pub fn reconcile(&self) -> Result<()> {
        self.layout.prune_ledgers();
        if self.recording.beside {
            for line in crate::storage::landing::reconcile_base(&self.layout, &*self.kept_files)? {
                log::warn!("start-up: {line}");
            }
        }
        Ok(())
    }

    fn parse_peers(&self, peers: &[String]) -> Result<Vec<Peer>> {
        let default_port = self.cfg.client_port.or(self.cfg.server_port);
        peers.iter().map(|p| Peer::parse(p, default_port)).collect()
    }

    /// The synchronous checks of a bootstrap: its peers parse (once), and the partition is
    /// claimed here and across processes. What it returns is all [`Receiver::bootstrap`] needs.
    pub fn accept(&self, req: BootstrapRequest) -> Result<Accepted> {
        let peers = match (&self.discovery, req.peers.is_empty()) {
            (Some(_), true) => None,
            _ => Some(self.parse_peers(&req.peers)?),
        };
        let landing = Landing::claim(&self.layout, &req.id, &self.in_flight, self.kept_files.clone())?;
        Ok(Accepted { req, peers, landing })
    }

    /// Runs an accepted bootstrap to its end; `cancel` turning true stops it and cleans up.
    pub async fn bootstrap(&self, accepted: Accepted, cancel: watch::Receiver<bool>) -> Result<BootstrapOutcome> {
        let (store, started) = (accepted.req.id.store.clone(), Instant::now());
        let result = self.run(accepted, cancel).await;
        self.metrics.bootstrap_ended(&store, result.as_ref().map(|_| started.elapsed()));
        if let Ok(o) = &result {
            self.metrics.bytes_resumed(&store, o.resumed_bytes);
        }
        result
    }

    async fn run(&self, accepted: Accepted, mut cancel: watch::Receiver<bool>) -> Result<BootstrapOutcome> {
        let Accepted { req, peers, mut landing } = accepted;
        let spot = landing.spot();
        let id = req.id.clone();
        let _slot = tokio::select! {
            s = self.slots.acquire() => s.map_err(|_| Error::new(ErrorKind::Shutdown, "receiver is shut down"))?,
            _ = until_true(&mut cancel) => return Err(cancelled(&id)),
        };
        let peers = match peers {
            Some(p) => p,
            None => self.discover(&id).await?,
        };
        if peers.is_empty() {
            return Err(Error::new(ErrorKind::NoPeers, format!("no peers to bootstrap {} from", id.replica())));
        }
        // From here on, whatever ends this bootstrap without a publish (failure, cancel, node
        // shutdown, a panic) has the landing remove what it wrote (its drop).
        let prepared = blocking({
            let (spot, owns) = (spot.clone(), self.recording.beside);
            move || spot.prepare(owns)
        })
        .await?;
        landing.prepared(prepared.version_dir_existed);
        let mut kept = prepared.kept;
        // Zones by peer, for the choice among busy senders (failures name peers without them).
        let zones: std::collections::HashMap<String, String> =
            peers.iter().filter_map(|p| Some((p.to_string(), p.zone.clone()?))).collect();
        // Peers come out of the connectivity check as they answer: the first good one starts
        // the transfer while the rest are still being probed.
        let mut probes = self.cache.probe(peers, &self.cfg, req.preserve_order);
        // The peer whose snapshot the kept files came from goes first: it may let us resume.
        if let Some(p) = kept.as_ref().and_then(|k| Peer::parse(&k.header.peer, None).ok()) {
            probes.prefer(p);
        }
        let metrics = &self.metrics;
        let mut failures: Vec<PeerFailure> = Vec::new();
        // Probe failures first (no transfer was asked of those), then the attempts' own.
        let all_failures = |probes: &mut peers::Probes, attempts: Vec<PeerFailure>| -> Vec<PeerFailure> {
            let probed = probes.failures();
            for (_, e) in &probed {
                metrics.peer_failure(&id.store, e.kind());
            }
            probed.into_iter().map(|(p, e)| PeerFailure { peer: p.to_string(), error: e, probe_only: true }).chain(attempts).collect()
        };
        // Peers to try before the next one the probes give: (peer, is a resume retry, seconds
        // to wait in its line).
        let mut queue: std::collections::VecDeque<(Peer, bool, u32)> = Default::default();
        // Busy vbt senders (429 with retry-after) are asked again once the rest failed.
        let mut busy = BusyWait::default();
        loop {
            let (peer, retry, wait_secs) = match queue.pop_front() {
                Some(next) => next,
                None => match tokio::select! {
                    p = probes.next() => p,
                    _ = until_true(&mut cancel) => return Err(cancelled(&id)),
                } {
                    Some(p) => (p, false, 0),
                    None => match self.wait_for_busy(&id, &failures, &zones, &mut busy, &mut cancel).await? {
                        Some((p, line)) => {
                            queue.push_back((p, false, line));
                            continue;
                        }
                        None => break,
                    },
                },
            };
            // Kept files from another peer or snapshot stay: the attempt asks this peer for its
            // manifest and keeps those it names (a Java peer sends everything: it starts clean).
            let asked = Instant::now();
            let result = self.try_peer(&req, &peer, &spot, kept.as_ref(), wait_secs, &mut cancel).await;
            // A line counts for as long as we stood in it: a sender that refused at once (its
            // line full, or a vbt sender of before the line) leaves the budget for its retry-after.
            if wait_secs > 0 {
                busy.spent += asked.elapsed().min(Duration::from_secs(wait_secs.into()));
            }
            match &result {
                Err(e) if e.kind() == ErrorKind::Cancelled => {}
                Err(e) => {
                    metrics.peer_attempt(&id.store, false);
                    metrics.peer_failure(&id.store, e.kind());
                    // A busy vbt sender's load orders the peers of the next bootstraps.
                    if let Some(b) = e.busy() {
                        self.cache.record_load(&peer, b.active, b.limit);
                    }
                }
                Ok(_) => metrics.peer_attempt(&id.store, true),
            }
            // What the attempt verified is what a next one may resume from (re-read: the
            // attempt may have discarded, kept or extended it).
            kept = None;
            if result.is_err() {
                let spot = spot.clone();
                kept = blocking(move || Ok(spot.reload_kept())).await.unwrap_or(None);
            }
            match result {
                Ok(mut outcome) => {
                    landing.set_published();
                    outcome.failed_peers = all_failures(&mut probes, failures);
                    return Ok(outcome);
                }
                Err(e) if e.kind() == ErrorKind::Cancelled => return Err(e),
                Err(e) => {
                    // Files from this peer were kept: one more try on it continues from them
                    // (a connection cut, a sender restart) before the next peer starts over.
                    // So does a kept start that failed its file's checksum (removed now): that
                    // was this receiver's bytes, and the peer sends the file whole next time,
                    // even when nothing else is kept.
                    let resumable = kept.as_ref().is_some_and(|k| k.header.peer == peer.to_string());
                    if !retry && (resumable || e.is_kept_start_mismatch()) {
                        log::info!("retrying {} from {peer} to resume what arrived: {e}", id.replica());
                        queue.push_front((peer.clone(), true, 0));
                    }
                    failures.push(PeerFailure { peer: peer.to_string(), error: e, probe_only: false });
                }
            }
            if *cancel.borrow() {
                return Err(cancelled(&id));
            }
        }
        let failures = all_failures(&mut probes, failures);
        let list: Vec<String> = failures.iter().map(|f| format!("{}: {}", f.peer, f.error)).collect();
        Err(Error::new(
            ErrorKind::AllPeersFailed,
            format!("Replica {} failed to fetch from any of {} peer(s): {}", id.replica(), failures.len(), list.join("; ")),
        )
        .with_peer_failures(failures))
    }

    /// One peer: fetch within `blob.receive.max.timeout.in.min` (or until cancelled), then
    /// install. A failure cleans up what the attempt wrote before it is returned.
    async fn try_peer(
        &self,
        req: &BootstrapRequest,
        peer: &Peer,
        spot: &Arc<Spot>,
        kept: Option<&Kept>,
        wait_secs: u32,
        cancel: &mut watch::Receiver<bool>,
    ) -> Result<BootstrapOutcome> {
        let (id, started) = (&req.id, Instant::now());
        let format = req.table_format.unwrap_or(self.cfg.table_format);
        let limit = self.cfg.receive_max_timeout;
        // The attempt's row in /transfers, fed by the progress it reports anyway.
        let tracked = Arc::new(self.transfers.begin_receive(id, peer.to_string(), peer.zone.as_deref(), self.cfg.zone.as_deref()));
        let progress: ProgressFn = {
            let (tracked, user) = (tracked.clone(), req.progress.clone());
            Arc::new(move |p: &Progress| {
                tracked.received(p.files_done, p.bytes_done, p.bytes_resumed, p.files_total, p.bytes_total);
                if let Some(user) = &user {
                    user(p);
                }
            })
        };
        let attempt = attempt::Attempt {
            peer,
            id,
            format,
            cfg: &self.cfg,
            transport: &self.transport,
            spot,
            progress: Some(&progress),
            cache: &self.cache,
            kept,
            wait_secs,
        };
        let fetched = tokio::select! {
            r = timeout(limit, attempt.fetch()) => r.map_err(|_| Error::new(
                ErrorKind::Timeout,
                format!("transfer did not finish within {}s (blob.receive.max.timeout.in.min)", limit.as_secs()),
            )).and_then(|r| r),
            _ = until_true(cancel) => Err(cancelled(id)),
        };
        // Once every byte is verified the install runs to its end: a cancel arriving now must
        // not report "cancelled" for a partition that the rename then publishes.
        let installed = match fetched {
            Ok(received) => self.publish(spot, format, &received).await.map(|dir| (received, dir)),
            Err(e) => Err(e),
        };
        match installed {
            Ok((received, partition_dir)) => {
                tracked.set_checksum(received.checksum.name());
                tracked.received(received.files, received.bytes + received.resumed_bytes, received.resumed_bytes, None, None);
                tracked.reused_from(&received.reused_from);
                tracked.finish(Ok(()));
                let elapsed = started.elapsed();
                log::info!(
                    "Replica {} successfully fetched blob from peer {peer} in {:.3} seconds ({} files, {} bytes)",
                    id.replica(),
                    elapsed.as_secs_f64(),
                    received.files,
                    received.bytes
                );
                Ok(BootstrapOutcome {
                    id: id.clone(),
                    peer: peer.to_string(),
                    files: received.files,
                    bytes: received.bytes,
                    resumed_bytes: received.resumed_bytes,
                    reused_from: received.reused_from,
                    streams: received.streams,
                    elapsed,
                    first_byte: received.first_byte,
                    checksum: received.checksum.name(),
                    partition_dir,
                    metadata: received.metadata,
                    failed_peers: Vec::new(),
                })
            }
            Err(e) => {
                tracked.finish(Err(e.to_string()));
                log::warn!("bootstrap of {} from {peer} failed: {e}", id.replica());
                // Venice skips cleanup after 404/412 because nothing was written; settling a
                // landing dir that may not exist costs nothing and guarantees no leftovers.
                let (spot, disk_full) = (spot.clone(), e.is_disk_full());
                if let Err(ce) = blocking(move || spot.after_failure(disk_full)).await {
                    log::error!("cleanup after failed attempt: {ce}");
                }
                Err(e)
            }
        }
    }

    /// When every peer of a round failed and vbt senders were busy (their latest answer a 429
    /// with `retry-after`), picks one of them: of our zone first, then the one whose slot frees
    /// soonest, then the least loaded (Venice's random pick among equals). The first time it is
    /// asked at once to let us wait in its line (`X-Vbt-Wait`, server::admission) for as long as
    /// `vbt.peer.busy.wait.ms` has room (within the reader's idle limit, which must outlast the
    /// silence): a slot that frees there is ours, with no further 429. A sender that refused
    /// even so (its line was full, or the wait ran out) is asked again after its retry-after
    /// plus up to 1 s of jitter (receivers refused together do not come back together). One
    /// sender at a time, so a crowd of receivers does not collect a 429 from every busy sender
    /// on each round. `None`: fall back (Venice's behaviour).
    async fn wait_for_busy(
        &self,
        id: &PartitionId,
        failures: &[PeerFailure],
        zones: &std::collections::HashMap<String, String>,
        state: &mut BusyWait,
        cancel: &mut watch::Receiver<bool>,
    ) -> Result<Option<(Peer, u32)>> {
        // Each peer's latest answer, over every round: one asked alone last time keeps the
        // others' word from the rounds before.
        let mut seen = std::collections::HashSet::new();
        let latest = failures.iter().rev().filter(|f| seen.insert(f.peer.as_str()));
        let busy: Vec<(Peer, crate::protocol::decoder::Busy)> =
            latest.filter_map(|f| Some((Peer::parse(&f.peer, None).ok()?, f.error.busy()?))).collect();
        // Our zone, then soonest free, then least loaded.
        let key = |(p, b): &(Peer, crate::protocol::decoder::Busy)| {
            let other_zone = self.cfg.zone.as_ref().is_some_and(|z| zones.get(&p.to_string()) != Some(z));
            (other_zone, b.retry_after_secs, (u64::from(b.active) * 1000).checked_div(u64::from(b.limit)).unwrap_or(u64::MAX))
        };
        let Some(best) = busy.iter().map(key).min() else { return Ok(None) };
        let (_, retry_after_secs, _) = best;
        let budget = self.cfg.busy_wait;
        // The longest we may wait in a line after `pause`, in whole seconds.
        let line_after = |pause: Duration| -> u32 {
            let left = budget.saturating_sub(state.spent + pause);
            // The line is silent: the reader's idle limit and the attempt's own limit outlast it.
            let quiet = self.cfg.receive_reader_idle.min(self.cfg.receive_max_timeout).saturating_sub(Duration::from_secs(1));
            left.min(quiet).as_secs().min(crate::protocol::ext::MAX_WAIT_SECS.into()) as u32
        };
        let mut pause = Duration::ZERO;
        if state.lined_up || line_after(pause) == 0 {
            pause = Duration::from_secs(retry_after_secs.into()) + Duration::from_millis(fastrand::u64(0..1000));
            if state.spent + pause > budget {
                return Ok(None);
            }
        }
        let line = line_after(pause);
        let tied: Vec<&Peer> = busy.iter().filter(|pb| key(pb) == best).map(|(p, _)| p).collect();
        let next = tied[fastrand::usize(..tied.len())].clone();
        log::info!(
            "{}: {} busy peer(s) answered 429; asking {next} again in {:.1} s, waiting in its line up to {line} s ({} s waited so far, vbt.peer.busy.wait.ms)",
            id.replica(),
            busy.len(),
            pause.as_secs_f64(),
            state.spent.as_secs()
        );
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = until_true(cancel) => return Err(cancelled(id)),
        }
        // The line, as long as it lasts, is counted once the attempt ends (the loop above).
        state.spent += pause;
        state.lined_up |= line > 0;
        Ok(Some((next, line)))
    }

    /// Peers from the node's discovery (the host's callback, which may block).
    async fn discover(&self, id: &PartitionId) -> Result<Vec<Peer>> {
        let d = self.discovery.clone().expect("accept() asks discovery only when there is one");
        let id = id.clone();
        let names = blocking(move || d.discover(&id)).await.map_err(|e| e.context("peer discovery"))?;
        self.parse_peers(&names)
    }

    async fn publish(&self, spot: &Arc<Spot>, format: TableFormat, received: &attempt::Received) -> Result<PathBuf> {
        let (spot, verify, beside, hook) = (spot.clone(), self.cfg.verify_rocksdb, self.recording.beside, self.recording.hook.clone());
        let (dir, metadata) = (received.dir.clone(), received.metadata.clone());
        blocking(move || spot.publish(format, verify, &dir, &metadata, beside, hook.as_ref())).await
    }
}

/// A bootstrap's waiting on busy senders so far (`vbt.peer.busy.wait.ms` bounds `spent`).
#[derive(Default)]
struct BusyWait {
    /// Paused, plus the time spent in lines (each at most what it asked for).
    spent: Duration,
    /// A sender was asked to let us wait in its line.
    lined_up: bool,
}
