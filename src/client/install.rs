//! Installing a received partition: never partial, never over existing data, never racing
//! another process, and a crash at any instruction leaves a state the next start repairs.
//!
//! ```text
//! claim:    flock <base>/.vbt_locks/<store>_v<N>_<P>.lock   (held until the bootstrap ends;
//!           the loser fails at once, no peer contacted; the kernel drops it if we die)
//! prepare:  repair leftovers of this partition (reconcile); refuse a partition holding data
//! receive:  files created relative to a handle on the temp dir this attempt made (client::sink)
//! install:  fsync temp dir → RocksDB opens it → metadata beside it, durable → rename no-replace
//!           → fsync parent. The rename is the commit: a partition directory implies its metadata.
//! failure:  the temp dir is removed (a drop guard, so also on panic and cancel), and the
//!           version dir too if this bootstrap created it and it is empty — except the files a
//!           vbt sender's transfer verified, kept with their journal for resume (client::resume)
//! ```
//!
//! Start-up (vbt owns the base dir): every partition whose lock is free is reconciled: temp dirs
//! and temp metadata are removed, metadata without a partition directory is removed, free lock
//! files are removed. A partition directory without metadata is not an installed partition (vbt's
//! own installs cannot leave one) and is not served, but it is never deleted: it may be data vbt
//! did not write.
//! All blocking: run off the async workers.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::failpoint::failpoint;
use crate::fsutil::{remove_dir_stepwise, rename_no_replace, sync_dir, try_lock_file};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};
use crate::storage::check_partition;
use crate::storage::layout::Layout;
use crate::storage::local::write_metadata;

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

fn try_lock(layout: &Layout, id: &PartitionId) -> Result<Option<PartitionLock>> {
    try_lock_at(layout.lock_file(id))
}

fn try_lock_at(path: PathBuf) -> Result<Option<PartitionLock>> {
    use std::os::unix::fs::MetadataExt;
    let dir = path.parent().expect("lock dir");
    for _ in 0..100 {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
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

/// What `prepare` found, for the final cleanup.
pub(crate) struct Prepared {
    /// The `<store>_v<N>` directory was there before this bootstrap.
    pub version_dir_existed: bool,
    /// Files kept from an interrupted bootstrap, verified again (resume).
    pub kept: Option<super::resume::Kept>,
}

/// Before any peer (lock held): repair this partition's leftovers; the target must not hold data.
/// `owns_metadata`: vbt keeps the metadata beside the partition (no host snapshot source).
pub(crate) fn prepare(layout: &Layout, id: &PartitionId, owns_metadata: bool, resume: Option<std::time::Duration>) -> Result<Prepared> {
    let version_dir_existed = layout.version_dir(id).is_dir();
    let kept = super::resume::load(&layout.temp_dir(id), resume.is_some(), resume.unwrap_or_default())?;
    if owns_metadata {
        reconcile_published(layout, id)?;
    }
    let target = layout.partition_dir(id);
    if let Ok(mut entries) = std::fs::read_dir(&target) {
        if entries.next().is_some() {
            let why = if owns_metadata && !layout.metadata_file(id).is_file() {
                " (it has no metadata, so vbt did not install it; vbt never deletes data it did not write)"
            } else {
                ""
            };
            return Err(Error::new(
                ErrorKind::PartitionExists,
                format!("partition directory {} already holds data{why}; drop the partition before bootstrapping it", target.display()),
            ));
        }
    }
    Ok(Prepared { version_dir_existed, kept })
}

/// Publishes the temp directory (whose handle `temp_handle` the attempt wrote through) as the
/// partition. With `metadata`, it is made durable beside the partition before the rename, so the
/// rename publishes both at once.
pub(crate) fn install(
    layout: &Layout,
    id: &PartitionId,
    format: TableFormat,
    verify: bool,
    temp_handle: &std::fs::File,
    metadata: Option<&PartitionMetadata>,
) -> Result<PathBuf> {
    let (temp, target, parent) = (layout.temp_dir(id), layout.partition_dir(id), layout.version_dir(id));
    // The resume journal has no place in a partition.
    let journal = temp.join(super::resume::JOURNAL);
    if let Err(e) = std::fs::remove_file(&journal) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(Error::io(format!("remove {}", journal.display()), e));
        }
    }
    // The files were made durable as they arrived (client::sink); now the directory entries.
    temp_handle.sync_all().map_err(|e| Error::io(format!("fsync directory {}", temp.display()), e))?;
    if verify {
        // Before publishing: a partition RocksDB cannot open is never installed.
        check_partition(&temp, format).map_err(|e| e.context("received partition failed the RocksDB check"))?;
    }
    failpoint!("install-before-metadata");
    if let Some(m) = metadata {
        write_metadata(layout.base(), id, m).map_err(|e| e.context("recording the partition's metadata"))?;
    }
    failpoint!("install-after-metadata");
    let published = publish(&temp, &target);
    if published.is_err() && metadata.is_some() {
        // Metadata without a partition means nothing; reconcile would remove it too.
        let _ = std::fs::remove_file(layout.metadata_file(id));
    }
    published?;
    failpoint!("install-after-rename");
    failpoint!("install-before-parent-sync");
    sync_dir(&parent)?;
    failpoint!("install-after-parent-sync");
    Ok(target)
}

fn publish(temp: &Path, target: &Path) -> Result<()> {
    if target.is_dir() {
        // An empty directory (e.g. made by the host) may be replaced; prepare() refused data.
        std::fs::remove_dir(target).map_err(|e| {
            Error::new(ErrorKind::PartitionExists, format!("Final partition directory {} is not empty: {e}", target.display()))
        })?;
    }
    failpoint!("install-before-rename");
    rename_no_replace(temp, target)
}

/// After a failed attempt (lock held): keep what resume can use (client::resume), remove the
/// rest of the temp directory.
pub(crate) fn cleanup(layout: &Layout, id: &PartitionId, resume: bool) -> Result<()> {
    super::resume::settle(&layout.temp_dir(id), resume).map(|_| ())
}

/// Removes a temp directory. A cancelled attempt's writer may still be finishing one file for a
/// moment, so a failed removal is retried.
pub(crate) fn remove_temp(temp: &Path) -> Result<()> {
    let mut tries = 0;
    loop {
        match remove_dir_stepwise(temp) {
            Err(e) if tries < 20 => {
                tries += 1;
                log::debug!("retrying removal of {}: {e}", temp.display());
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The end of a bootstrap that installed nothing: no temp dir, and no version dir it created.
/// A guard, so it runs on every path: failure, cancel, node shutdown, and a panic.
pub(crate) struct Scratch {
    pub layout: Layout,
    pub id: PartitionId,
    pub version_dir_existed: bool,
    pub installed: bool,
    /// Keep verified files for a later resume (not after a panic: nothing is trusted then).
    pub resume: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.installed {
            return;
        }
        let resume = self.resume && !std::thread::panicking();
        if let Err(e) = cleanup(&self.layout, &self.id, resume) {
            log::error!("cleanup of {}: {e}", self.id.replica());
        }
        if !self.version_dir_existed {
            // Only if empty: another partition of this version may be arriving beside it.
            let _ = std::fs::remove_dir(self.layout.version_dir(&self.id));
        }
    }
}

/// One partition's leftovers, repaired (lock held). Returns what was done, for the log.
/// `resume`: keep a temp dir whose resume journal is readable and younger than this.
pub(crate) fn reconcile_partition(layout: &Layout, id: &PartitionId, resume: Option<std::time::Duration>) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let temp = layout.temp_dir(id);
    if temp.exists() {
        // Not re-hashed here (a node start must not wait on gigabytes): prepare() does that
        // before a bootstrap uses the files.
        match super::resume::load_sizes(&temp, resume.is_some(), resume.unwrap_or_default())? {
            Some(k) => log::info!("keeping {} files of an interrupted receive in {} to resume", k.files.len(), temp.display()),
            None => done.push(format!("removed unfinished receive {}", temp.display())),
        }
    }
    done.extend(reconcile_published(layout, id)?);
    Ok(done)
}

/// The metadata and partition directory of one partition, repaired (lock held).
fn reconcile_published(layout: &Layout, id: &PartitionId) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let (meta, meta_tmp) = (layout.metadata_file(id), layout.metadata_temp(id));
    if meta_tmp.exists() {
        std::fs::remove_file(&meta_tmp).map_err(|e| Error::io(format!("remove {}", meta_tmp.display()), e))?;
        done.push(format!("removed unfinished metadata {}", meta_tmp.display()));
    }
    let dir = layout.partition_dir(id);
    match (dir.is_dir(), meta.is_file()) {
        // Not installed by vbt (its installs make the metadata durable before the rename), so not
        // vbt's to delete: it may be a Venice node's own data. It is not served; the operator
        // decides. Reported, never counted as a repair.
        (true, false) => log::warn!(
            "{} has no {}: not an installed partition, not served; remove it to bootstrap {} here",
            dir.display(),
            meta.display(),
            id.replica()
        ),
        (false, true) => {
            std::fs::remove_file(&meta).map_err(|e| Error::io(format!("remove {}", meta.display()), e))?;
            done.push(format!("removed {}: its partition is absent", meta.display()));
        }
        _ => {}
    }
    if !done.is_empty() {
        sync_dir(&layout.version_dir(id))?;
    }
    Ok(done)
}

/// Start-up repair of a base directory vbt owns: every partition found whose lock is free (a
/// partition being received by another process is left alone). Returns what was done.
pub(crate) fn reconcile_base(layout: &Layout, resume: Option<std::time::Duration>) -> Result<Vec<String>> {
    let mut done = Vec::new();
    for topic in layout.topics() {
        for id in layout.partitions_in(&topic) {
            if let Some(_lock) = try_lock(layout, &id)? {
                done.extend(reconcile_partition(layout, &id, resume)?);
            }
        }
    }
    // Locks of bootstraps that died before writing anything: no partition above names them.
    for e in std::fs::read_dir(layout.lock_dir()).into_iter().flatten().flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "lock") {
            if let Ok(Some(_lock)) = try_lock_at(path.clone()) {
                done.push(format!("removed stale lock {}", path.display()));
            }
        }
    }
    Ok(done)
}
