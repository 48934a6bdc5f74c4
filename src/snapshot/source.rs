//! Snapshots the host provides, through the seam in `crate::storage::source` (beside the third
//! source, partitions vbt opened itself): a directory the host prepared ([`FixedSnapshot`]), or
//! checkpoints the host creates on request ([`HostSnapshotSource`]).

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;
use crate::storage::source::SnapshotSource;

/// A fixed directory served as the snapshot of one partition, with metadata the host captured.
/// vbt never writes to or deletes that directory.
pub struct FixedSnapshot {
    pub id: PartitionId,
    pub dir: PathBuf,
    pub metadata: PartitionMetadata,
}

impl SnapshotSource for FixedSnapshot {
    fn snapshot_dir(&self, id: &PartitionId) -> Result<PathBuf> {
        if *id != self.id {
            return Err(Error::new(ErrorKind::NotFound, format!("No storage engine found for replica {}", id.replica())));
        }
        if !self.dir.is_dir() {
            return Err(Error::new(ErrorKind::NotFound, format!("Snapshot for {} doesn't exist", id.replica())));
        }
        Ok(self.dir.clone())
    }

    fn create_snapshot(&self, _id: &PartitionId, _dir: &Path) -> Result<PartitionMetadata> {
        Ok(self.metadata.clone())
    }

    fn remove_snapshot(&self, _id: &PartitionId, _dir: &Path) -> Result<()> {
        Ok(())
    }
}

/// The host creates checkpoints itself (a JVM host that owns its RocksDB): vbt names a directory
/// under `root`, the host captures the partition's metadata, then writes its checkpoint there, and
/// returns (offset record, store-version state).
pub struct HostSnapshotSource {
    root: PathBuf,
    create: Box<HostCreateFn>,
}

/// `(partition, directory) -> (offset record, store-version state)`.
pub type HostCreateFn = dyn Fn(&PartitionId, &Path) -> Result<(Vec<u8>, Vec<u8>)> + Send + Sync;

impl HostSnapshotSource {
    pub fn new(root: impl Into<PathBuf>, create: Box<HostCreateFn>) -> Self {
        HostSnapshotSource { root: root.into(), create }
    }
}

impl SnapshotSource for HostSnapshotSource {
    fn snapshot_dir(&self, id: &PartitionId) -> Result<PathBuf> {
        Ok(crate::storage::layout::host_snapshot_dir(&self.root, id))
    }

    fn create_snapshot(&self, id: &PartitionId, dir: &Path) -> Result<PartitionMetadata> {
        self.remove_snapshot(id, dir)?;
        std::fs::create_dir_all(&self.root).map_err(|e| Error::io(format!("create {}", self.root.display()), e))?;
        let (offset_record, store_version_state) =
            (self.create)(id, dir).map_err(|e| e.context(format!("host snapshot of {}", id.replica())))?;
        PartitionMetadata::new(id, offset_record, store_version_state)
    }
}

/// A host that manages its checkpoints' lifetime itself (a Venice node's `BlobSnapshotManager`,
/// with its own checks, user counting and retention, checkpointing into
/// `<partition>/.snapshot_files`): vbt takes one checkpoint per transfer, serves it, and hands it
/// back when the transfer's last connection lets go. vbt keeps no snapshot of its own then.
pub trait CheckpointLeases: Send + Sync + 'static {
    /// Blocking, off vbt's I/O threads. The checkpoint of `id` (an existing, complete directory)
    /// and the metadata the host captured before it. [`ErrorKind::NotFound`] (or any error): the
    /// requester gets 404 with the message.
    fn acquire(&self, id: &PartitionId) -> Result<HostCheckpoint>;
}

/// One transfer's use of a host's checkpoint.
pub struct HostCheckpoint {
    pub dir: PathBuf,
    pub metadata: PartitionMetadata,
    /// Called exactly once, when the transfer ends (success, failure or a broken connection), on
    /// a thread where it may block.
    pub release: Box<dyn FnOnce() + Send>,
}
