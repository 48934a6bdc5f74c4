//! The receiver: bootstrap one partition from peers.
//!
//! ```text
//! bootstrap(partition, peers)
//!   refuse if this partition is already in flight here; wait for a receive slot
//!   prepare: target must hold no data; remove a leftover temp dir
//!   connectivity check (parallel, cached) → shuffle → for each peer, one at a time:
//!       attempt: GET → FILE* (into temp, hashed in-stream) → METADATA → COMPLETE
//!       install: fsync, rename no-replace, fsync parent, RocksDB opens it
//!       success → result with metadata; failure → clean temp, next peer
//!   every peer failed → error listing each peer's cause (the host falls back to Kafka)
//! ```

mod attempt;
mod install;
pub mod peers;
mod reader;
mod sink;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{watch, Semaphore};
use tokio::time::timeout;

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};
use crate::runtime::until_true;
use peers::{ConnectivityCache, Peer};

/// Progress of a running bootstrap, reported as bytes arrive.
#[derive(Clone, Debug)]
pub struct Progress {
    pub peer: String,
    pub file: String,
    pub files_done: usize,
    pub bytes_done: u64,
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Where peers come from when a request names none (the host's list or its discovery service).
/// Called off the async workers; it may block.
pub trait PeerDiscovery: Send + Sync + 'static {
    /// `host[:port]` values of peers that have the partition.
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>>;
}

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

/// A peer that was tried (or probed) and failed, with the reason.
#[derive(Clone, Debug)]
pub struct PeerFailure {
    pub peer: String,
    pub error: Error,
}

/// A partition installed and verified, with the metadata the host needs to resume from Kafka.
#[derive(Clone, Debug)]
pub struct BootstrapOutcome {
    pub id: PartitionId,
    pub peer: String,
    pub files: usize,
    pub bytes: u64,
    pub seconds: f64,
    /// From sending the request to the first FILE head (the sender's snapshot and checksum wait).
    pub first_byte_seconds: f64,
    pub partition_dir: PathBuf,
    pub metadata: PartitionMetadata,
    /// Peers that failed before the one that served it.
    pub failed_peers: Vec<PeerFailure>,
}

pub(crate) struct Receiver {
    cfg: Arc<Config>,
    base: PathBuf,
    cache: ConnectivityCache,
    in_flight: Arc<Mutex<HashSet<PartitionId>>>,
    slots: Semaphore,
    /// Record received metadata beside the partition (when vbt owns the base directory).
    persist_metadata: bool,
    discovery: Option<Arc<dyn PeerDiscovery>>,
    transport: attempt::Transport,
}

/// Marks a partition as being received, in this process and (by its lock) in every process
/// sharing the base directory; released on drop, on every path.
pub struct InFlight {
    set: Arc<Mutex<HashSet<PartitionId>>>,
    id: PartitionId,
    _lock: install::PartitionLock,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.set.lock().unwrap().remove(&self.id);
    }
}

impl Receiver {
    pub fn new(
        cfg: Arc<Config>,
        base: PathBuf,
        persist_metadata: bool,
        discovery: Option<Arc<dyn PeerDiscovery>>,
        tls: Option<Arc<crate::tls::Tls>>,
        read_limit: Arc<crate::throttle::RateLimiter>,
    ) -> Self {
        let slots = Semaphore::new(cfg.max_concurrent_receives.min(Semaphore::MAX_PERMITS)); // new() panics above
        let transport = attempt::Transport { tls, read_limit };
        Receiver { cfg, base, cache: ConnectivityCache::new(), in_flight: Default::default(), slots, persist_metadata, discovery, transport }
    }

    /// The request's peers, or the discovery's when it names none.
    async fn peers(&self, req: &BootstrapRequest) -> Result<Vec<Peer>> {
        let names = match (&self.discovery, req.peers.is_empty()) {
            (Some(d), true) => {
                let (d, id) = (d.clone(), req.id.clone());
                self.blocking(move || d.discover(&id)).await.map_err(|e| e.context("peer discovery"))?
            }
            _ => req.peers.clone(),
        };
        self.parse_peers(&names)
    }

    /// Claims the partition for one bootstrap; a second one while it runs is refused, whether
    /// it comes from this node or from another process using the same base directory.
    pub fn claim(&self, id: &PartitionId) -> Result<InFlight> {
        if !self.in_flight.lock().unwrap().insert(id.clone()) {
            return Err(Error::new(
                ErrorKind::AlreadyInProgress,
                format!("a bootstrap of {} is already in flight on this node", id.replica()),
            ));
        }
        match install::lock(&self.base, id) {
            Ok(lock) => Ok(InFlight { set: self.in_flight.clone(), id: id.clone(), _lock: lock }),
            Err(e) => {
                self.in_flight.lock().unwrap().remove(id);
                Err(e)
            }
        }
    }

    /// Start-up repair of leftovers in a base directory vbt owns (see [`install`]).
    pub fn reconcile(&self) -> Result<()> {
        if self.persist_metadata {
            for line in install::reconcile_base(&self.base)? {
                log::warn!("start-up: {line}");
            }
        }
        Ok(())
    }

    pub fn parse_peers(&self, peers: &[String]) -> Result<Vec<Peer>> {
        let default_port = self.cfg.client_port.or(self.cfg.server_port);
        peers.iter().map(|p| Peer::parse(p, default_port)).collect()
    }

    /// Runs a claimed bootstrap to its end; `cancel` turning true stops it and cleans up.
    pub async fn bootstrap(
        &self,
        req: BootstrapRequest,
        _claim: InFlight,
        mut cancel: watch::Receiver<bool>,
    ) -> Result<BootstrapOutcome> {
        let id = req.id.clone();
        let cancelled = || Error::new(ErrorKind::Cancelled, format!("bootstrap of {} was cancelled", id.replica()));
        let _slot = tokio::select! {
            s = self.slots.acquire() => s.map_err(|_| Error::new(ErrorKind::Shutdown, "receiver is shut down"))?,
            _ = until_true(&mut cancel) => return Err(cancelled()),
        };
        let peers = self.peers(&req).await?;
        if peers.is_empty() {
            return Err(Error::new(ErrorKind::NoPeers, format!("no peers to bootstrap {} from", id.replica())));
        }
        let prepared = self
            .blocking({
                let (base, id, owns) = (self.base.clone(), id.clone(), self.persist_metadata);
                move || install::prepare(&base, &id, owns)
            })
            .await?;
        // From here on, whatever ends this bootstrap without an install (failure, cancel, node
        // shutdown, a panic) removes what it wrote.
        let mut scratch = install::Scratch {
            base: self.base.clone(),
            id: id.clone(),
            version_dir_existed: prepared.version_dir_existed,
            installed: false,
        };
        let format = req.table_format.unwrap_or(self.cfg.table_format);
        let (mut candidates, probe_failures) = tokio::select! {
            r = self.cache.connectable(peers, &self.cfg) => r,
            _ = until_true(&mut cancel) => return Err(cancelled()),
        };
        let mut failures: Vec<PeerFailure> =
            probe_failures.into_iter().map(|(p, e)| PeerFailure { peer: p.to_string(), error: e }).collect();
        if !req.preserve_order {
            fastrand::shuffle(&mut candidates);
        }
        for peer in candidates {
            let started = Instant::now();
            let temp = id.temp_dir(&self.base);
            let limit = self.cfg.receive_max_timeout;
            let attempt = attempt::Attempt {
                peer: &peer,
                id: &id,
                format,
                cfg: &self.cfg,
                transport: &self.transport,
                temp: &temp,
                progress: req.progress.as_ref(),
                cache: &self.cache,
            };
            let fetch = timeout(limit, attempt.fetch());
            let fetched = tokio::select! {
                r = fetch => r.map_err(|_| Error::new(
                    ErrorKind::Timeout,
                    format!("transfer did not finish within {}s (blob.receive.max.timeout.in.min)", limit.as_secs()),
                )).and_then(|r| r),
                _ = until_true(&mut cancel) => Err(cancelled()),
            };
            // Once every byte is verified the install runs to its end: a cancel arriving now must
            // not report "cancelled" for a partition that the rename then publishes.
            let result = match fetched {
                Ok(received) => self.install(&id, format, &received).await.map(|dir| (received, dir)),
                Err(e) => Err(e),
            };
            match result {
                Ok((received, partition_dir)) => {
                    scratch.installed = true;
                    let seconds = started.elapsed().as_secs_f64();
                    log::info!(
                        "Replica {} successfully fetched blob from peer {peer} in {seconds:.3} seconds ({} files, {} bytes)",
                        id.replica(),
                        received.files,
                        received.bytes
                    );
                    return Ok(BootstrapOutcome {
                        id: id.clone(),
                        peer: peer.to_string(),
                        files: received.files,
                        bytes: received.bytes,
                        seconds,
                        first_byte_seconds: received.first_byte.as_secs_f64(),
                        partition_dir,
                        metadata: received.metadata,
                        failed_peers: failures,
                    });
                }
                Err(e) => {
                    log::warn!("bootstrap of {} from {peer} failed: {e}", id.replica());
                    // Venice skips cleanup after 404/412 because nothing was written; removing a
                    // temp dir that may not exist costs nothing and guarantees no leftovers.
                    let (base, id2) = (self.base.clone(), id.clone());
                    if let Err(ce) = self.blocking(move || install::cleanup(&base, &id2)).await {
                        log::error!("cleanup after failed attempt: {ce}");
                    }
                    if e.kind() == ErrorKind::Cancelled {
                        return Err(e);
                    }
                    failures.push(PeerFailure { peer: peer.to_string(), error: e });
                }
            }
            if *cancel.borrow() {
                return Err(cancelled());
            }
        }
        let list: Vec<String> = failures.iter().map(|f| format!("{}: {}", f.peer, f.error)).collect();
        Err(Error::new(
            ErrorKind::AllPeersFailed,
            format!(
                "Replica {} failed to fetch from any of {} peer(s): {}",
                id.replica(),
                failures.len(),
                list.join("; ")
            ),
        ))
    }

    async fn install(&self, id: &PartitionId, format: TableFormat, received: &attempt::Received) -> Result<PathBuf> {
        let (base, id, verify) = (self.base.clone(), id.clone(), self.cfg.verify_rocksdb);
        let metadata = self.persist_metadata.then(|| received.metadata.clone());
        let dir = received.dir.clone();
        self.blocking(move || install::install(&base, &id, format, verify, &dir, metadata.as_ref())).await
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("blocking task failed: {e}")))?
    }
}
