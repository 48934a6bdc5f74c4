//! The receiver's cross-process claim on one partition: an flock on
//! `<state>/locks/<store>_v<N>_<P>.lock`, held until the bootstrap ends. The loser fails at once,
//! before any peer is contacted; the kernel drops the lock if the holder dies.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil::try_lock_file;
use crate::protocol::PartitionId;
use crate::storage::layout::Layout;

/// An exclusive, cross-process claim on one partition of one base directory. The lock file is
/// removed on release (while still locked), and a taker checks that the file it locked is still
/// the one at the path, so removal never lets two holders in; nothing is left behind.
pub(crate) struct PartitionLock {
    file: Option<std::fs::File>,
    path: PathBuf,
}

impl Drop for PartitionLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
        // Only if empty; a racing taker recreates it (see `try_lock`).
        let _ = std::fs::remove_dir(self.path.parent().expect("lock dir"));
    }
}

/// Takes the partition's lock, or fails saying another process holds it.
pub(crate) fn lock(layout: &Layout, id: &PartitionId) -> Result<PartitionLock> {
    try_lock(layout, id)?.ok_or_else(|| {
        Error::new(
            ErrorKind::AlreadyInProgress,
            format!(
                "partition {} is being bootstrapped by another process (lock {} is held)",
                id.replica(),
                layout.lock_file(id).display()
            ),
        )
    })
}

pub(super) fn try_lock(layout: &Layout, id: &PartitionId) -> Result<Option<PartitionLock>> {
    try_lock_at(layout.lock_file(id))
}

pub(super) fn try_lock_at(path: PathBuf) -> Result<Option<PartitionLock>> {
    use std::os::unix::fs::MetadataExt;
    let dir = path.parent().expect("lock dir");
    for _ in 0..100 {
        match std::fs::create_dir_all(dir) {
            // A releasing holder removed an empty parent (the state dir) half way: again.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(format!("create {}", dir.display()), e)),
            Ok(()) => {}
        }
        let file = match try_lock_file(&path) {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(None),
            // The directory was removed by a releasing holder between the two steps.
            Err(_) if !dir.exists() => continue,
            Err(e) => return Err(e),
        };
        // Locked a file a releasing holder has just unlinked? Then it is not the lock: retry.
        let held = file.metadata().map(|m| (m.dev(), m.ino())).ok();
        let at_path = std::fs::metadata(&path).map(|m| (m.dev(), m.ino())).ok();
        if held.is_some() && held == at_path {
            return Ok(Some(PartitionLock { file: Some(file), path }));
        }
    }
    Err(Error::io(format!("lock {}", path.display()), std::io::Error::other("the lock file kept changing")))
}
