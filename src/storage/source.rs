//! The seam snapshots come from. Below the sender's snapshot lifecycle (`crate::snapshot`), which
//! takes any [`SnapshotSource`]: partitions vbt opened itself ([`super::local::LocalStorage`]),
//! or the host's (`crate::snapshot`'s `FixedSnapshot` and `HostSnapshotSource`); a JVM host that
//! owns its RocksDB plugs in through the same trait.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;

/// Creates consistent checkpoints of partitions. Methods are blocking; vbt calls them off its
/// I/O threads, under a per-partition lock.
pub trait SnapshotSource: Send + Sync + 'static {
    /// The directory the snapshot of `id` is created in and served from. An error means the
    /// partition is not served here (the requester gets 404 with the message).
    fn snapshot_dir(&self, id: &PartitionId) -> Result<PathBuf>;

    /// Captures the partition's metadata, then writes a consistent checkpoint of it into `dir`,
    /// replacing whatever an earlier snapshot left there. Metadata first: the checkpoint then
    /// holds at least everything up to the recorded offset.
    fn create_snapshot(&self, id: &PartitionId, dir: &Path) -> Result<PartitionMetadata>;

    /// Removes a stale snapshot nobody uses.
    fn remove_snapshot(&self, _id: &PartitionId, dir: &Path) -> Result<()> {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(format!("remove {}", dir.display()), e)),
            _ => Ok(()),
        }
    }
}
