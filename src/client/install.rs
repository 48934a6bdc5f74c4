//! Installing a received partition: crash-safe and never over existing data. Every file was
//! fdatasynced by the writer before COMPLETE was accepted; here the temp directory is fsynced, renamed onto the partition
//! directory with no-replace semantics, the parent fsynced, and the result opened by RocksDB.
//! All blocking: run off the async workers.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil::{remove_dir_if_exists, rename_no_replace, sync_dir};
use crate::protocol::{PartitionId, TableFormat};
use crate::storage::check_partition;

/// Before any peer: the target must not hold data; a leftover temp dir (crash) is removed.
pub(crate) fn prepare(base: &Path, id: &PartitionId) -> Result<()> {
    let target = id.partition_dir(base);
    if let Ok(mut entries) = std::fs::read_dir(&target) {
        if entries.next().is_some() {
            return Err(Error::new(
                ErrorKind::PartitionExists,
                format!("partition directory {} already holds data; drop the partition before bootstrapping it", target.display()),
            ));
        }
    }
    remove_dir_if_exists(&id.temp_dir(base))
}

/// Publishes the temp directory as the partition and proves it opens.
pub(crate) fn install(base: &Path, id: &PartitionId, format: TableFormat, verify: bool) -> Result<PathBuf> {
    let temp = id.temp_dir(base);
    let target = id.partition_dir(base);
    let parent = id.version_dir(base);
    // The files were made durable as they arrived (client::sink); now the directory entries.
    sync_dir(&temp)?;
    if target.is_dir() {
        // An empty directory (e.g. made by the host) may be replaced; prepare() refused data.
        std::fs::remove_dir(&target).map_err(|e| {
            Error::new(ErrorKind::PartitionExists, format!("Final partition directory {} is not empty: {e}", target.display()))
        })?;
    }
    rename_no_replace(&temp, &target)?;
    sync_dir(&parent)?;
    if verify {
        if let Err(e) = check_partition(&target, format) {
            // We created it a moment ago: take it back so nothing unusable is left installed.
            let _ = remove_dir_if_exists(&target);
            let _ = sync_dir(&parent);
            return Err(e.context("received partition failed the RocksDB check"));
        }
    }
    Ok(target)
}

/// After a failed attempt: remove the temp directory it may have left. A cancelled attempt's
/// writer may still be finishing one file for a moment, so a failed removal is retried briefly.
pub(crate) fn cleanup(base: &Path, id: &PartitionId) -> Result<()> {
    let temp = id.temp_dir(base);
    let mut tries = 0;
    loop {
        match remove_dir_if_exists(&temp) {
            Err(e) if tries < 20 => {
                tries += 1;
                log::debug!("retrying removal of {}: {e}", temp.display());
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}
