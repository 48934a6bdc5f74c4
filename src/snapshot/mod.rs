//! Snapshots on the sending side: where they come from (a [`SnapshotSource`]), and their
//! lifecycle (reference §3.4, done without Venice's leaks): created lazily per partition under a
//! per-partition lock, metadata captured before the checkpoint, reused while younger than the
//! retention time, re-created only when nobody uses them, removed by a periodic cleanup. Each
//! user holds a [`SnapshotLease`]; dropping it (on every path) releases the use.

mod prehash;
mod source;

pub use source::{CheckpointLeases, FixedSnapshot, HostCheckpoint, HostCreateFn, HostSnapshotSource};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use self::prehash::{Md5Job, Md5Node};
use crate::error::{Error, ErrorKind, Result};
use crate::protocol::checksum::Algorithm;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;
use crate::storage::source::SnapshotSource;

/// One file of a snapshot, with each checksum computed at most once per snapshot.
pub struct SnapshotFile {
    pub name: String,
    pub path: PathBuf,
    pub len: u64,
    md5: OnceCell<String>,
    xxh3: OnceCell<String>,
    /// The snapshot's MD5 job, which fills `md5` ahead of the requests.
    md5_job: Arc<Md5Job>,
}

impl SnapshotFile {
    fn new(name: String, path: PathBuf, len: u64, md5_job: Arc<Md5Job>) -> Self {
        SnapshotFile { name, path, len, md5: OnceCell::new(), xxh3: OnceCell::new(), md5_job }
    }

    /// The file's checksum in lower-case hex; computed off the I/O threads the first time any
    /// request asks for it, then cached with the snapshot. MD5 comes from the snapshot's lane job
    /// when it runs (see [`SnapshotLease::warm_checksums`]); only without one (or for a file it
    /// could not read) does the request hash the file itself.
    pub async fn checksum(&self, algorithm: Algorithm) -> Result<String> {
        if algorithm == Algorithm::Md5 {
            if let Some(sum) = self.md5_job.wait(&self.md5).await {
                return Ok(sum);
            }
        }
        let cell = match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Xxh3_128 => &self.xxh3,
        };
        cell.get_or_try_init(|| {
            let path = self.path.clone();
            async move {
                tokio::task::spawn_blocking(move || crate::digest::cache::checksum_known(&path, algorithm))
                    .await
                    .map_err(|e| Error::internal(format!("checksum task failed: {e}")))?
            }
        })
        .await
        .cloned()
    }
}

/// A consistent checkpoint of one partition and the metadata captured just before it.
pub struct Snapshot {
    pub id: PartitionId,
    pub dir: PathBuf,
    pub metadata: PartitionMetadata,
    pub files: Vec<SnapshotFile>,
    /// Distinguishes re-created snapshots of the same partition.
    pub generation: u64,
    /// Names this snapshot to receivers (resume, joined streams): differs between any two
    /// snapshots whose content could differ, across restarts of the node too.
    pub identity: String,
    created: Instant,
    users: AtomicUsize,
    md5_job: Arc<Md5Job>,
    /// The node's MD5 cache and job limit, shared by every snapshot.
    md5_node: Arc<Md5Node>,
    /// A host's checkpoint (leased per transfer): handed back when its one use ends.
    release: Mutex<Option<Release>>,
    /// The partition's digest ledger (digest::ledger), when the node has a state directory.
    ledger: Option<PathBuf>,
    /// The XXH3 checksums were all computed and written to the ledger once.
    xxh3_kept: AtomicBool,
}

impl Snapshot {
    pub fn users(&self) -> usize {
        self.users.load(Ordering::SeqCst)
    }
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }

    /// Writes what is known of the files' checksums to the partition's ledger, so the next
    /// process that serves it does not hash them again. Blocking.
    fn keep_checksums(&self) {
        let Some(ledger) = &self.ledger else { return };
        let files: Vec<PathBuf> = self.files.iter().map(|f| f.path.clone()).collect();
        if let Err(e) = crate::digest::ledger::save(ledger, &files) {
            log::warn!("{}: the snapshot's checksums were not kept for later: {e}", self.id.replica());
        }
    }
}

/// A use of a snapshot; the use ends when the lease is dropped.
pub struct SnapshotLease(Arc<Snapshot>);

impl SnapshotLease {
    /// Computes every file's checksum in sending order, ahead of the sender that will need
    /// them: hashing file i+1 overlaps sending file i, and nothing waits for the whole snapshot.
    /// Results are shared with every other request for this snapshot. MD5 is one job per
    /// snapshot hashing up to 16 files at once on one core (the first call starts it); XXH3 is
    /// fast enough one file after another.
    pub fn warm_checksums(&self, algorithm: Algorithm) {
        if algorithm == Algorithm::Md5 {
            prehash::start(&self.0);
            return;
        }
        let snap = self.0.clone();
        tokio::spawn(async move {
            for f in &snap.files {
                if let Err(e) = f.checksum(algorithm).await {
                    log::warn!("{} checksum of {} failed: {e}", algorithm.name(), f.path.display());
                    return;
                }
            }
            if !snap.xxh3_kept.swap(true, Ordering::SeqCst) {
                let _ = tokio::task::spawn_blocking(move || snap.keep_checksums()).await;
            }
        });
    }
}

impl std::ops::Deref for SnapshotLease {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.0
    }
}

impl Drop for SnapshotLease {
    fn drop(&mut self) {
        if self.0.users.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Some(release) = self.0.release.lock().unwrap().take() {
                release.run_off_async();
            }
        }
    }
}

#[derive(Default)]
struct Slot {
    /// Held while a snapshot is checked, created or removed (the per-partition lock).
    current: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    /// The same snapshot, for readers that must not wait behind a checkpoint being made.
    published: Mutex<Option<Arc<Snapshot>>>,
}

impl Slot {
    fn publish(&self, current: &mut Option<Arc<Snapshot>>, snap: Option<Arc<Snapshot>>) {
        *self.published.lock().unwrap() = snap.clone();
        *current = snap;
    }
}

/// What a test or an operator can see of one partition's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub generation: u64,
    pub users: usize,
    pub files: usize,
}

/// A host's hand-back of a leased checkpoint, run exactly once: when its use ends, or when it is
/// dropped unused (a requester that went away while the host was acquiring, a failed listing), so
/// a Venice host's user count never leaks.
struct Release(Option<Box<dyn FnOnce() + Send>>);

impl Release {
    /// The host's release may block (a JVM call): never on an async worker. A blocking task the
    /// runtime drops unrun (it is shutting down) drops this with it, which runs it there.
    fn run_off_async(self) {
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(move || drop(self))),
            Err(_) => drop(self),
        }
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}
/// What creating a snapshot yields: its directory, metadata, files, and the host's release.
type Made = (PathBuf, PartitionMetadata, Vec<SnapshotFile>, Option<Release>);

/// Where a manager's snapshots come from.
enum Source {
    /// vbt creates, reuses and removes them (per partition, with the retention).
    Cached(Arc<dyn SnapshotSource>),
    /// The host hands one out per transfer and takes it back (see [`CheckpointLeases`]).
    Leased(Arc<dyn CheckpointLeases>),
}

pub struct SnapshotManager {
    source: Source,
    retention: Duration,
    slots: Mutex<HashMap<PartitionId, Arc<Slot>>>,
    generations: AtomicU64,
    md5_node: Arc<Md5Node>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Where the partitions' digest ledgers are (the node's state directory), if anywhere.
    ledgers: Option<crate::storage::layout::Layout>,
}

impl SnapshotManager {
    /// Counts snapshot creations and reuses in the node's metrics.
    pub(crate) fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Reads each partition's digest ledger before its snapshot is hashed, and writes what was
    /// hashed back (digest::ledger).
    pub(crate) fn with_ledgers(mut self, layout: crate::storage::layout::Layout) -> Self {
        self.ledgers = Some(layout);
        self
    }

    pub fn new(source: Arc<dyn SnapshotSource>, retention: Duration) -> Self {
        Self::with_source(Source::Cached(source), retention)
    }

    /// Snapshots leased from the host per transfer.
    pub fn leased(leases: Arc<dyn CheckpointLeases>) -> Self {
        Self::with_source(Source::Leased(leases), Duration::ZERO)
    }

    fn with_source(source: Source, retention: Duration) -> Self {
        SnapshotManager {
            source,
            retention,
            slots: Mutex::new(HashMap::new()),
            generations: AtomicU64::new(0),
            md5_node: Arc::new(Md5Node::new()),
            metrics: None,
            ledgers: None,
        }
    }

    fn slot(&self, id: &PartitionId) -> Arc<Slot> {
        self.slots.lock().unwrap().entry(id.clone()).or_default().clone()
    }

    /// Takes a use of a fresh snapshot of `id`, creating or re-creating it when needed.
    /// Errors: [`ErrorKind::NotFound`] (Venice answers 404) or [`ErrorKind::Internal`] for a
    /// snapshot without files (500).
    pub async fn acquire(&self, id: &PartitionId) -> Result<SnapshotLease> {
        if let Source::Leased(leases) = &self.source {
            let leases = leases.clone();
            let id2 = id.clone();
            let snap = self
                .create(id, move |job| {
                    let c = leases.acquire(&id2)?;
                    // From here on the checkpoint goes back to the host on every path.
                    let release = Release(Some(c.release));
                    let files = list_files(&c.dir, job)?;
                    Ok((c.dir, c.metadata, files, Some(release)))
                })
                .await?;
            snap.users.fetch_add(1, Ordering::SeqCst);
            return Ok(SnapshotLease(snap));
        }
        let slot = self.slot(id);
        let mut current = slot.current.lock().await;
        let stale = current.as_ref().is_none_or(|s| s.created.elapsed() >= self.retention);
        if stale {
            if current.as_ref().is_some_and(|s| s.users() > 0) {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "Snapshot for topic {} partition {} is still in use by others, can not recreate \
                         snapshot for new transfer request.",
                        id.topic(),
                        id.partition
                    ),
                ));
            }
            slot.publish(&mut current, None);
            let Source::Cached(source) = &self.source else { unreachable!("leased snapshots return above") };
            let source = source.clone();
            let id2 = id.clone();
            let snap = self
                .create(id, move |job| {
                    let dir = source.snapshot_dir(&id2)?;
                    let metadata = source.create_snapshot(&id2, &dir)?;
                    let files = list_files(&dir, job)?;
                    Ok((dir, metadata, files, None))
                })
                .await?;
            log::info!("created snapshot of {id}: {} files, {} bytes", snap.files.len(), snap.total_bytes());
            slot.publish(&mut current, Some(snap));
        }
        if let Some(m) = &self.metrics {
            m.snapshot(&id.store, if stale { crate::metrics::SnapshotEvent::created } else { crate::metrics::SnapshotEvent::reused });
        }
        let snap = current.as_ref().expect("set above").clone();
        snap.users.fetch_add(1, Ordering::SeqCst);
        Ok(SnapshotLease(snap))
    }

    /// A snapshot from `make` (blocking: directory, metadata, files, and the host's release).
    async fn create(&self, id: &PartitionId, make: impl FnOnce(&Arc<Md5Job>) -> Result<Made> + Send + 'static) -> Result<Arc<Snapshot>> {
        let md5_job = Md5Job::new();
        let job = md5_job.clone();
        let (layout, id2) = (self.ledgers.clone(), id.clone());
        let (ledger, (dir, metadata, files, release)) = tokio::task::spawn_blocking(move || {
            // Only for a partition of the node's base directory: a ledger is removed with it.
            let ledger = layout.filter(|l| l.partition_dir(&id2).is_dir()).map(|l| l.ledger(&id2));
            // Checksums an earlier process knew: those files are not read to be hashed.
            if let Some(l) = &ledger {
                crate::digest::ledger::load(l);
            }
            make(&job).map(|made| (ledger, made))
        })
        .await
        .map_err(|e| Error::internal(format!("snapshot task failed: {e}")))?
        .map_err(|e| match e.kind() {
            ErrorKind::Internal => e,
            _ => Error::new(ErrorKind::NotFound, e.message().to_string()),
        })?;
        let generation = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Arc::new(Snapshot {
            id: id.clone(),
            identity: identity(generation, &dir, &files),
            dir,
            metadata,
            files,
            generation,
            created: Instant::now(),
            users: AtomicUsize::new(0),
            md5_job,
            md5_node: self.md5_node.clone(),
            release: Mutex::new(release),
            ledger,
            xxh3_kept: AtomicBool::new(false),
        }))
    }

    /// Removes every stale snapshot nobody uses; returns how many were removed.
    pub async fn cleanup(&self) -> usize {
        let slots: Vec<_> = self.slots.lock().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut removed = 0;
        for (id, slot) in slots {
            let Ok(mut current) = slot.current.try_lock() else { continue }; // being created: not stale
            let Some(snap) = current.as_ref() else { continue };
            if snap.users() > 0 || snap.created.elapsed() < self.retention {
                continue;
            }
            let Source::Cached(source) = &self.source else { return 0 };
            let (source, dir) = (source.clone(), snap.dir.clone());
            let id2 = id.clone();
            match tokio::task::spawn_blocking(move || source.remove_snapshot(&id2, &dir)).await {
                Ok(Ok(())) => {
                    log::info!("removed stale snapshot of {id}");
                    slot.publish(&mut current, None);
                    removed += 1;
                }
                Ok(Err(e)) => log::warn!("removing stale snapshot of {id}: {e}"),
                Err(e) => log::warn!("removing stale snapshot of {id}: {e}"),
            }
        }
        removed
    }

    pub fn info(&self, id: &PartitionId) -> Option<SnapshotInfo> {
        let slot = self.slots.lock().unwrap().get(id)?.clone();
        let snap = slot.published.lock().unwrap().clone()?;
        Some(SnapshotInfo { generation: snap.generation, users: snap.users(), files: snap.files.len() })
    }

    /// Total uses of all snapshots (0 when no transfer is being served).
    pub fn total_users(&self) -> usize {
        let slots: Vec<_> = self.slots.lock().unwrap().values().cloned().collect();
        slots.iter().filter_map(|s| s.published.lock().unwrap().as_ref().map(|s| s.users())).sum()
    }
}

/// The snapshot's files, sorted by name. A checkpoint is flat: a directory in it is an error.
/// A creation id (wall clock, process, generation) and the file list with sizes, hashed.
fn identity(generation: u64, dir: &std::path::Path, files: &[SnapshotFile]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    h.update(&now.as_nanos().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&generation.to_le_bytes());
    h.update(dir.as_os_str().as_encoded_bytes());
    for f in files {
        h.update(f.name.as_bytes());
        h.update(&[0]);
        h.update(&f.len.to_le_bytes());
    }
    format!("{:032x}", h.digest128())
}

fn list_files(dir: &std::path::Path, md5_job: &Arc<Md5Job>) -> Result<Vec<SnapshotFile>> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| Error::new(ErrorKind::NotFound, format!("Snapshot directory {} doesn't exist: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let meta = entry.metadata().map_err(|e| Error::io(format!("stat {}", entry.path().display()), e))?;
        let name = entry.file_name().into_string().map_err(|n| Error::internal(format!("snapshot file name {n:?} is not UTF-8")))?;
        if !meta.is_file() {
            return Err(Error::internal(format!("snapshot {} holds {name:?}, which is not a regular file", dir.display())));
        }
        files.push(SnapshotFile::new(name, entry.path(), meta.len(), md5_job.clone()));
    }
    if files.is_empty() {
        return Err(Error::internal(format!("Failed to access files at {}", dir.display())));
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest as _;
    use std::path::Path;

    /// Checkpoints the way RocksDB makes them: every file of a live directory hard-linked into
    /// the snapshot directory.
    struct Linked {
        live: PathBuf,
        snap: PathBuf,
    }

    impl SnapshotSource for Linked {
        fn snapshot_dir(&self, _id: &PartitionId) -> Result<PathBuf> {
            Ok(self.snap.clone())
        }
        fn create_snapshot(&self, id: &PartitionId, dir: &Path) -> Result<PartitionMetadata> {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
            for e in std::fs::read_dir(&self.live).unwrap() {
                let e = e.unwrap();
                std::fs::hard_link(e.path(), dir.join(e.file_name())).unwrap();
            }
            PartitionMetadata::new(id, vec![24, 24, 1], vec![25, 7, 5])
        }
    }

    fn md5_hex(data: &[u8]) -> String {
        crate::digest::hex(&md5::Md5::digest(data))
    }

    async fn checksums(lease: &SnapshotLease) -> Vec<String> {
        lease.warm_checksums(Algorithm::Md5);
        let mut v = Vec::new();
        for f in &lease.files {
            v.push(f.checksum(Algorithm::Md5).await.unwrap());
        }
        v
    }

    /// The lane job hashes every file once; a re-created checkpoint (the same inodes) is served
    /// from the node's cache; a file whose mtime changed is hashed again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recreated_checkpoint_reuses_md5_of_hard_linked_files() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live");
        std::fs::create_dir(&live).unwrap();
        let mut contents: Vec<(String, Vec<u8>)> = (0..20)
            .map(|i| {
                let len = [0, 1, 64, 1000, 3 << 20][i % 5] + i;
                (format!("{i:06}.sst"), (0..len).map(|b| (b * 7 + i) as u8).collect())
            })
            .collect();
        contents.push(("CURRENT".into(), b"MANIFEST-000001\n".to_vec()));
        for (name, data) in &contents {
            std::fs::write(live.join(name), data).unwrap();
        }
        // Past the tick of their writes, as a live database's SSTs are (cache::RACY).
        std::thread::sleep(crate::digest::cache::RACY);
        contents.sort();
        let source = Arc::new(Linked { live: live.clone(), snap: dir.path().join("snap") });
        // Retention 0: every acquire re-creates the checkpoint.
        let mgr = SnapshotManager::new(source, Duration::ZERO);
        let id = PartitionId::new("store", 1, 0).unwrap();

        let lease = mgr.acquire(&id).await.unwrap();
        let want: Vec<String> = contents.iter().map(|(_, d)| md5_hex(d)).collect();
        assert_eq!(checksums(&lease).await, want);
        assert_eq!(lease.md5_job.hashed.load(Ordering::SeqCst), contents.len());
        let first = lease.generation;
        drop(lease);

        let lease = mgr.acquire(&id).await.unwrap();
        assert_ne!(lease.generation, first, "a new checkpoint");
        assert_eq!(checksums(&lease).await, want);
        assert_eq!(lease.md5_job.hashed.load(Ordering::SeqCst), 0, "nothing hashed again");
        assert_eq!(lease.md5_job.from_cache.load(Ordering::SeqCst), contents.len());
        drop(lease);

        // Same inode, same size, new contents and mtime: must not come from the cache.
        let (name, data) = &mut contents[3];
        data.iter_mut().for_each(|b| *b = !*b);
        let f = std::fs::OpenOptions::new().write(true).open(live.join(&*name)).unwrap();
        std::io::Write::write_all(&mut &f, data).unwrap();
        f.set_modified(std::time::SystemTime::now() + Duration::from_secs(5)).unwrap();
        drop(f);
        let want: Vec<String> = contents.iter().map(|(_, d)| md5_hex(d)).collect();
        let lease = mgr.acquire(&id).await.unwrap();
        assert_eq!(checksums(&lease).await, want);
        assert_eq!(lease.md5_job.hashed.load(Ordering::SeqCst), 1);
        assert_eq!(lease.md5_job.from_cache.load(Ordering::SeqCst), contents.len() - 1);
    }

    /// Requests that ask before the job gets to their file wait for it, and all agree.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_the_job() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live");
        std::fs::create_dir(&live).unwrap();
        let contents: Vec<Vec<u8>> = (0..40).map(|i| vec![i as u8; 1 << 20]).collect();
        for (i, d) in contents.iter().enumerate() {
            std::fs::write(live.join(format!("{i:03}")), d).unwrap();
        }
        let source = Arc::new(Linked { live, snap: dir.path().join("snap") });
        let mgr = SnapshotManager::new(source, Duration::from_secs(60));
        let id = PartitionId::new("store", 1, 0).unwrap();
        let want: Vec<String> = contents.iter().map(|d| md5_hex(d)).collect();
        let (a, b) = (mgr.acquire(&id).await.unwrap(), mgr.acquire(&id).await.unwrap());
        let (ga, gb) = tokio::join!(checksums(&a), checksums(&b));
        assert_eq!(ga, want);
        assert_eq!(gb, want);
        assert_eq!(a.md5_job.hashed.load(Ordering::SeqCst), contents.len(), "each file hashed once");
    }
}
