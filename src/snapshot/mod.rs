//! Snapshots on the sending side: where they come from (a [`SnapshotSource`]), and their
//! lifecycle (reference §3.4, done without Venice's leaks): created lazily per partition under a
//! per-partition lock, metadata captured before the checkpoint, reused while younger than the
//! retention time, re-created only when nobody uses them, removed by a periodic cleanup. Each
//! user holds a [`SnapshotLease`]; dropping it (on every path) releases the use.

mod checksum;
mod lanes;
mod source;

pub use checksum::checksum_file;
pub use source::{FixedSnapshot, HostCreateFn, HostSnapshotSource, SnapshotSource};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::checksum::Algorithm;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;

/// One file of a snapshot, with each checksum computed at most once per snapshot.
pub struct SnapshotFile {
    pub name: String,
    pub path: PathBuf,
    pub len: u64,
    md5: OnceCell<String>,
    xxh3: OnceCell<String>,
}

impl SnapshotFile {
    fn new(name: String, path: PathBuf, len: u64) -> Self {
        SnapshotFile { name, path, len, md5: OnceCell::new(), xxh3: OnceCell::new() }
    }

    /// The file's checksum in lower-case hex; computed off the I/O threads the first time any
    /// request asks for it, then cached with the snapshot.
    pub async fn checksum(&self, algorithm: Algorithm) -> Result<String> {
        let cell = match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Xxh3_128 => &self.xxh3,
        };
        cell.get_or_try_init(|| {
            let path = self.path.clone();
            async move {
                tokio::task::spawn_blocking(move || checksum_file(&path, algorithm))
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
    created: Instant,
    users: AtomicUsize,
}

impl Snapshot {
    pub fn users(&self) -> usize {
        self.users.load(Ordering::SeqCst)
    }
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }
}

/// A use of a snapshot; the use ends when the lease is dropped.
pub struct SnapshotLease(Arc<Snapshot>);

impl SnapshotLease {
    /// Computes every file's checksum in sending order, ahead of the sender that will need
    /// them: hashing file i+1 overlaps sending file i, and nothing waits for the whole snapshot.
    /// Results are shared with every other request for this snapshot.
    pub fn warm_checksums(&self, algorithm: Algorithm) {
        let snap = self.0.clone();
        tokio::spawn(async move {
            for f in &snap.files {
                if let Err(e) = f.checksum(algorithm).await {
                    log::warn!("{} checksum of {} failed: {e}", algorithm.name(), f.path.display());
                    break;
                }
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
        self.0.users.fetch_sub(1, Ordering::SeqCst);
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

pub struct SnapshotManager {
    source: Arc<dyn SnapshotSource>,
    retention: Duration,
    slots: Mutex<HashMap<PartitionId, Arc<Slot>>>,
    generations: AtomicU64,
}

impl SnapshotManager {
    pub fn new(source: Arc<dyn SnapshotSource>, retention: Duration) -> Self {
        SnapshotManager { source, retention, slots: Mutex::new(HashMap::new()), generations: AtomicU64::new(0) }
    }

    fn slot(&self, id: &PartitionId) -> Arc<Slot> {
        self.slots.lock().unwrap().entry(id.clone()).or_default().clone()
    }

    /// Takes a use of a fresh snapshot of `id`, creating or re-creating it when needed.
    /// Errors: [`ErrorKind::NotFound`] (Venice answers 404) or [`ErrorKind::Internal`] for a
    /// snapshot without files (500).
    pub async fn acquire(&self, id: &PartitionId) -> Result<SnapshotLease> {
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
            let snap = self.create(id).await?;
            log::info!("created snapshot of {id}: {} files, {} bytes", snap.files.len(), snap.total_bytes());
            slot.publish(&mut current, Some(snap));
        }
        let snap = current.as_ref().expect("set above").clone();
        snap.users.fetch_add(1, Ordering::SeqCst);
        Ok(SnapshotLease(snap))
    }

    async fn create(&self, id: &PartitionId) -> Result<Arc<Snapshot>> {
        let source = self.source.clone();
        let id2 = id.clone();
        let (dir, metadata, files) = tokio::task::spawn_blocking(move || -> Result<_> {
            let dir = source.snapshot_dir(&id2)?;
            let metadata = source.create_snapshot(&id2, &dir)?;
            let files = list_files(&dir)?;
            Ok((dir, metadata, files))
        })
        .await
        .map_err(|e| Error::internal(format!("snapshot task failed: {e}")))?
        .map_err(|e| match e.kind() {
            ErrorKind::Internal => e,
            _ => Error::new(ErrorKind::NotFound, e.message().to_string()),
        })?;
        Ok(Arc::new(Snapshot {
            id: id.clone(),
            dir,
            metadata,
            files,
            generation: self.generations.fetch_add(1, Ordering::SeqCst) + 1,
            created: Instant::now(),
            users: AtomicUsize::new(0),
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
            let (source, dir) = (self.source.clone(), snap.dir.clone());
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
fn list_files(dir: &std::path::Path) -> Result<Vec<SnapshotFile>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::new(ErrorKind::NotFound, format!("Snapshot directory {} doesn't exist: {e}", dir.display())))?;
    let mut files = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        let meta = entry.metadata().map_err(|e| Error::io(format!("stat {}", entry.path().display()), e))?;
        let name = entry.file_name().into_string().map_err(|n| Error::internal(format!("snapshot file name {n:?} is not UTF-8")))?;
        if !meta.is_file() {
            return Err(Error::internal(format!("snapshot {} holds {name:?}, which is not a regular file", dir.display())));
        }
        files.push(SnapshotFile::new(name, entry.path(), meta.len()));
    }
    if files.is_empty() {
        return Err(Error::internal(format!("Failed to access files at {}", dir.display())));
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}
