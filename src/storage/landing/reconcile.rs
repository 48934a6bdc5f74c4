//! Start-up repair (vbt owns the base dir): every partition whose lock is free is reconciled.
//! Landing directories without a usable resume journal are removed (kept ones are only sized
//! here: a node start must not wait on gigabytes; the bootstrap that uses them re-hashes them),
//! Venice-named receive directories from a crash and temp metadata are removed, metadata without
//! a partition directory is removed, free lock files are removed. A partition directory without
//! metadata is not an installed partition (vbt's own installs cannot leave one) and is not
//! served, but it is never deleted: it may be data vbt did not write.

use std::collections::HashSet;

use super::lock::{try_lock, try_lock_at};
use super::remove_temp;
use super::resume::KeptFiles;
use crate::error::{Error, Result};
use crate::fsutil::sync_dir;
use crate::protocol::PartitionId;
use crate::storage::layout::Layout;

/// One partition's leftovers, repaired (lock held). Returns what was done, for the log.
fn reconcile_partition(layout: &Layout, id: &PartitionId, kept_files: &dyn KeptFiles) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let temp = layout.temp_dir(id);
    if temp.exists() {
        match kept_files.reload(&temp)? {
            Some(k) => log::info!("keeping {} files of an interrupted receive in {} to resume", k.files.len(), temp.display()),
            None => done.push(format!("removed unfinished receive {}", temp.display())),
        }
    }
    let venice_temp = layout.venice_temp_dir(id);
    if venice_temp != temp && venice_temp.exists() {
        remove_temp(&venice_temp)?;
        done.push(format!("removed unfinished receive {}", venice_temp.display()));
    }
    done.extend(reconcile_published(layout, id)?);
    Ok(done)
}

/// The metadata and partition directory of one partition, repaired (lock held).
pub(super) fn reconcile_published(layout: &Layout, id: &PartitionId) -> Result<Vec<String>> {
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

/// Start-up repair of a base directory vbt owns and of its state directory: every partition
/// found whose lock is free (one being received by another process is left alone). Returns what
/// was done.
pub(crate) fn reconcile_base(layout: &Layout, kept_files: &dyn KeptFiles) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut found: HashSet<PartitionId> = layout.landed().into_iter().collect();
    for topic in layout.topics() {
        found.extend(layout.partitions_in(&topic));
    }
    for id in found {
        if let Some(_lock) = try_lock(layout, &id)? {
            done.extend(reconcile_partition(layout, &id, kept_files)?);
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
    layout.tidy_state();
    Ok(done)
}
