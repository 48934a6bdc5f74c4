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
//!           version dir too if this bootstrap created it and it is empty
//! ```
//!
//! Start-up (vbt owns the base dir): every partition whose lock is free is reconciled: temp dirs
//! and temp metadata are removed, a partition directory without metadata is not installed and is
//! removed, metadata without a partition directory is removed; free lock files are removed.
//! All blocking: run off the async workers.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil::{remove_dir_if_exists, remove_dir_stepwise, rename_no_replace, sync_dir, try_lock_file};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};
use crate::storage::check_partition;
use crate::storage::local::{metadata_path, write_metadata};

/// The directory of per-partition lock files, beside the store directories.
pub(crate) const LOCK_DIR: &str = ".vbt_locks";

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

fn lock_path(base: &Path, id: &PartitionId) -> PathBuf {
    base.join(LOCK_DIR).join(format!("{}_{}.lock", id.topic(), id.partition))
}

/// Takes the partition's lock, or fails saying another process holds it.
pub(crate) fn lock(base: &Path, id: &PartitionId) -> Result<PartitionLock> {
    try_lock(base, id)?.ok_or_else(|| {
        Error::new(
            ErrorKind::AlreadyInProgress,
            format!(
                "partition {} is being bootstrapped by another process (lock {} is held)",
                id.replica(),
                lock_path(base, id).display()
            ),
        )
    })
}

fn try_lock(base: &Path, id: &PartitionId) -> Result<Option<PartitionLock>> {
    try_lock_at(lock_path(base, id))
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
}

/// Before any peer (lock held): repair this partition's leftovers; the target must not hold data.
/// `owns_metadata`: vbt keeps the metadata beside the partition (no host snapshot source).
pub(crate) fn prepare(base: &Path, id: &PartitionId, owns_metadata: bool) -> Result<Prepared> {
    let version_dir_existed = id.version_dir(base).is_dir();
    if owns_metadata {
        reconcile_partition(base, id)?;
    } else {
        remove_dir_if_exists(&id.temp_dir(base))?;
    }
    let target = id.partition_dir(base);
    if let Ok(mut entries) = std::fs::read_dir(&target) {
        if entries.next().is_some() {
            return Err(Error::new(
                ErrorKind::PartitionExists,
                format!("partition directory {} already holds data; drop the partition before bootstrapping it", target.display()),
            ));
        }
    }
    Ok(Prepared { version_dir_existed })
}

/// Publishes the temp directory (whose handle `temp_handle` the attempt wrote through) as the
/// partition. With `metadata`, it is made durable beside the partition before the rename, so the
/// rename publishes both at once.
pub(crate) fn install(
    base: &Path,
    id: &PartitionId,
    format: TableFormat,
    verify: bool,
    temp_handle: &std::fs::File,
    metadata: Option<&PartitionMetadata>,
) -> Result<PathBuf> {
    let temp = id.temp_dir(base);
    let target = id.partition_dir(base);
    let parent = id.version_dir(base);
    // The files were made durable as they arrived (client::sink); now the directory entries.
    temp_handle.sync_all().map_err(|e| Error::io(format!("fsync directory {}", temp.display()), e))?;
    if verify {
        // Before publishing: a partition RocksDB cannot open is never installed.
        check_partition(&temp, format).map_err(|e| e.context("received partition failed the RocksDB check"))?;
    }
    failpoint!("install-before-metadata");
    if let Some(m) = metadata {
        write_metadata(base, id, m).map_err(|e| e.context("recording the partition's metadata"))?;
    }
    failpoint!("install-after-metadata");
    let published = publish(&temp, &target);
    if published.is_err() && metadata.is_some() {
        // Metadata without a partition means nothing; reconcile would remove it too.
        let _ = std::fs::remove_file(metadata_path(base, id));
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

/// After a failed attempt (lock held): remove the temp directory it may have left. A cancelled
/// attempt's writer may still be finishing one file for a moment, so a failed removal is retried.
pub(crate) fn cleanup(base: &Path, id: &PartitionId) -> Result<()> {
    let temp = id.temp_dir(base);
    let mut tries = 0;
    loop {
        match remove_dir_stepwise(&temp) {
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
    pub base: PathBuf,
    pub id: PartitionId,
    pub version_dir_existed: bool,
    pub installed: bool,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.installed {
            return;
        }
        if let Err(e) = cleanup(&self.base, &self.id) {
            log::error!("cleanup of {}: {e}", self.id.replica());
        }
        if !self.version_dir_existed {
            // Only if empty: another partition of this version may be arriving beside it.
            let _ = std::fs::remove_dir(self.id.version_dir(&self.base));
        }
    }
}

/// One partition's leftovers, repaired (lock held). Returns what was done, for the log.
pub(crate) fn reconcile_partition(base: &Path, id: &PartitionId) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let temp = id.temp_dir(base);
    if temp.exists() {
        remove_dir_if_exists(&temp)?;
        done.push(format!("removed unfinished receive {}", temp.display()));
    }
    let meta = metadata_path(base, id);
    let meta_tmp = meta.with_extension("json.tmp");
    if meta_tmp.exists() {
        std::fs::remove_file(&meta_tmp).map_err(|e| Error::io(format!("remove {}", meta_tmp.display()), e))?;
        done.push(format!("removed unfinished metadata {}", meta_tmp.display()));
    }
    let dir = id.partition_dir(base);
    match (dir.is_dir(), meta.is_file()) {
        (true, false) => {
            remove_dir_if_exists(&dir)?;
            done.push(format!("removed {}: it has no metadata, so it was never installed", dir.display()));
        }
        (false, true) => {
            std::fs::remove_file(&meta).map_err(|e| Error::io(format!("remove {}", meta.display()), e))?;
            done.push(format!("removed {}: its partition is absent", meta.display()));
        }
        _ => {}
    }
    if !done.is_empty() {
        sync_dir(&id.version_dir(base))?;
    }
    Ok(done)
}

/// Start-up repair of a base directory vbt owns: every partition found whose lock is free (a
/// partition being received by another process is left alone). Returns what was done.
pub(crate) fn reconcile_base(base: &Path) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let Ok(stores) = std::fs::read_dir(base) else { return Ok(done) };
    for store in stores.flatten() {
        let topic = store.file_name().to_string_lossy().into_owned();
        if topic.starts_with('.') || !store.path().is_dir() {
            continue;
        }
        for id in partitions_in(&store.path(), &topic) {
            if let Some(_lock) = try_lock(base, &id)? {
                done.extend(reconcile_partition(base, &id)?);
            }
        }
    }
    // Locks of bootstraps that died before writing anything: no partition above names them.
    for e in std::fs::read_dir(base.join(LOCK_DIR)).into_iter().flatten().flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "lock") {
            if let Ok(Some(_lock)) = try_lock_at(path.clone()) {
                done.push(format!("removed stale lock {}", path.display()));
            }
        }
    }
    Ok(done)
}

/// Partitions that have anything in a version directory `<base>/<topic>`, judged by vbt's names.
fn partitions_in(dir: &Path, topic: &str) -> HashSet<PartitionId> {
    let Some((store, version)) = topic.rsplit_once("_v") else { return HashSet::new() };
    let Ok(version) = version.parse::<i32>() else { return HashSet::new() };
    let own = format!("{topic}_");
    let temp = format!("temp_transferred_{topic}_");
    let mut out = HashSet::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix(&temp).or_else(|| name.strip_prefix(&own));
        let number = rest.map(|r| r.trim_end_matches(".metadata.json.tmp").trim_end_matches(".metadata.json"));
        if let Some(Ok(p)) = number.map(str::parse::<i32>) {
            if let Ok(id) = PartitionId::new(store, version, p) {
                out.insert(id);
            }
        }
    }
    out
}
