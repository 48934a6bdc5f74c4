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
