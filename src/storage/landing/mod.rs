//! One partition's receive directory, owned by one [`Landing`] from claim to publish: never
//! partial, never over existing data, never racing another process, and a crash at any
//! instruction leaves a state the next start repairs. (TiKV's `TabletSnapManager::start_receive`
//! hands out the paths and the one-receiver guard the same way.)
//!
//! ```text
//! claim:    this node's in-flight set + flock <state>/locks/<store>_v<N>_<P>.lock (held until
//!           the bootstrap ends; the loser fails at once, no peer contacted; the kernel drops
//!           the flock if we die)
//! prepare:  repair leftovers of this partition (reconcile); refuse a partition holding data;
//!           load the files kept by an interrupted bootstrap (KeptFiles: resume on or off)
//! receive:  <state>/landing/<store>_v<N>_<P>, made by the first file; free space checked
//!           against the sender's announced total; files created relative to its handle
//! publish:  fsync the landing dir → RocksDB opens it → metadata (beside the partition, and the
//!           host's hook) → rename no-replace into <base>/<store>_v<N>/<store>_v<N>_<P> → fsync
//!           parent. The rename is the commit: a partition directory implies its metadata.
//! drop:     unless published: keep what resume can use, remove the rest; remove the version
//!           dir if this bootstrap created it and it is empty; release the lock; remove the
//!           state's empty folders
//! ```
//!
//! All blocking: [`Spot`]'s methods run off the async workers (`runtime::blocking`).

pub(crate) mod lock;
mod recheck;
mod reconcile;
pub(crate) mod resume;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};
use crate::failpoint::failpoint;
use crate::fsutil::{remove_dir_stepwise, rename_no_replace, sync_dir};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};
use crate::storage::check_partition;
use crate::storage::layout::Layout;
use crate::storage::local::write_metadata;
pub(crate) use reconcile::reconcile_base;
use resume::{Journal, Kept, KeptFiles};

/// The host's hook for a received partition's metadata, called after every byte is verified
/// and before the partition is published (a Venice host stores the offset record and the
/// store-version state there, as Venice does before its rename). An error fails the attempt and
/// nothing is published.
pub type MetadataHook = Arc<dyn Fn(&PartitionId, &PartitionMetadata) -> Result<()> + Send + Sync>;

/// Partitions being received by this node (the flock covers other processes).
pub(crate) type InFlight = Arc<Mutex<HashSet<PartitionId>>>;

/// What the blocking steps of one landing need: cheap to clone into a blocking task.
pub(crate) struct Spot {
    pub layout: Layout,
    pub id: PartitionId,
    kept_files: Arc<dyn KeptFiles>,
}

/// The owner of one partition's receive directory, from claim to publish (see the module docs).
pub(crate) struct Landing {
    spot: Arc<Spot>,
    in_flight: InFlight,
    lock: Option<lock::PartitionLock>,
    /// Known after `prepare`: the `<store>_v<N>` directory was there before this bootstrap.
    version_dir_existed: Option<bool>,
    published: bool,
}

impl Landing {
    /// Claims the partition for one bootstrap; a second one while it runs is refused, whether
    /// it comes from this node or from another process using the same state directory.
    pub fn claim(layout: &Layout, id: &PartitionId, in_flight: &InFlight, kept_files: Arc<dyn KeptFiles>) -> Result<Landing> {
        if !in_flight.lock().unwrap().insert(id.clone()) {
            return Err(Error::new(
                ErrorKind::AlreadyInProgress,
                format!("a bootstrap of {} is already in flight on this node", id.replica()),
            ));
        }
        match lock::lock(layout, id) {
            Ok(lock) => Ok(Landing {
                spot: Arc::new(Spot { layout: layout.clone(), id: id.clone(), kept_files }),
                in_flight: in_flight.clone(),
                lock: Some(lock),
                version_dir_existed: None,
                published: false,
            }),
            Err(e) => {
                in_flight.lock().unwrap().remove(id);
                layout.tidy_state();
                Err(e)
            }
        }
    }

    pub fn spot(&self) -> Arc<Spot> {
        self.spot.clone()
    }

    /// Records what `Spot::prepare` found (the version directory existed before).
    pub fn prepared(&mut self, version_dir_existed: bool) {
        self.version_dir_existed = Some(version_dir_existed);
    }

    /// The partition was published: nothing to clean up.
    pub fn set_published(&mut self) {
        self.published = true;
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        let spot = &self.spot;
        if !self.published {
            // Not after a panic: nothing is trusted then.
            let keep = !std::thread::panicking();
            let settled = if keep { spot.kept_files.settle(&spot.temp()) } else { remove_temp(&spot.temp()).map(|_| false) };
            if let Err(e) = settled {
                log::error!("cleanup of {}: {e}", spot.id.replica());
            }
            if self.version_dir_existed == Some(false) {
                // Only if empty: another partition of this version may be arriving beside it.
                let _ = std::fs::remove_dir(spot.layout.version_dir(&spot.id));
            }
        }
        self.lock.take();
        self.in_flight.lock().unwrap().remove(&spot.id);
        spot.layout.tidy_state();
    }
}

/// What `prepare` found.
pub(crate) struct Prepared {
    /// The `<store>_v<N>` directory was there before this bootstrap.
    pub version_dir_existed: bool,
    /// Files kept from an interrupted bootstrap, verified again (resume).
    pub kept: Option<Kept>,
}

impl Spot {
    /// `<state>/landing/<store>_v<N>_<P>`.
    pub fn temp(&self) -> PathBuf {
        self.layout.temp_dir(&self.id)
    }

    /// Whether verified files are journaled for resume.
    pub fn records_kept(&self) -> bool {
        self.kept_files.records()
    }

    /// Before any peer (lock held): repair this partition's leftovers; the target must not hold
    /// data. `owns_metadata`: vbt keeps the metadata beside the partition (no host source).
    pub fn prepare(&self, owns_metadata: bool) -> Result<Prepared> {
        let (layout, id) = (&self.layout, &self.id);
        let version_dir_existed = layout.version_dir(id).is_dir();
        // Venice's own receive directory (or vbt's before 0.2) from a crash: never resumed
        // (unless receives land there, see `Layout::temp_dir`).
        if layout.venice_temp_dir(id) != self.temp() {
            remove_temp(&layout.venice_temp_dir(id))?;
        }
        let kept = self.kept_files.load(&self.temp())?;
        if owns_metadata {
            reconcile::reconcile_published(layout, id)?;
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

    /// Creates the landing directory (and the folders above it) and opens it. A failing
    /// bootstrap of a sibling partition may remove an empty parent between the two steps, so that
    /// race is retried.
    pub fn make_dir(&self) -> Result<std::fs::File> {
        let temp = self.temp();
        let parent = temp.parent().expect("landing dir has a parent");
        let mut tries = 0;
        loop {
            match std::fs::create_dir_all(parent) {
                // Another bootstrap's cleanup removed an empty folder above half way: again.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => {
                    tries += 1;
                    continue;
                }
                Err(e) => return Err(Error::io(format!("create {}", parent.display()), e)),
                Ok(()) => {}
            }
            match std::fs::create_dir(&temp) {
                Ok(()) => return crate::fsutil::open_dir(&temp),
                // Kept from an earlier attempt (resume); prepare() removed any other leftover.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return crate::fsutil::open_dir(&temp),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
                Err(e) => return Err(Error::io(format!("create {}", temp.display()), e)),
            }
        }
    }

    /// Starts a journal of verified files (`header`), or continues the kept one (`None`).
    pub fn journal(&self, header: Option<&resume::Header>) -> Result<Journal> {
        Journal::open(&self.temp(), header)
    }

    /// Keeps exactly `kept` (files matched to a sender's manifest, relabelled with its snapshot).
    pub fn relabel_kept(&self, kept: &Kept) -> Result<()> {
        resume::rewrite(&self.temp(), kept)
    }

    /// Throws the kept files away (another snapshot or another peer will be used).
    pub fn discard_kept(&self) -> Result<()> {
        remove_temp(&self.temp())
    }

    /// After a failed attempt (lock held): keep what resume can use, remove the rest. A full
    /// disk keeps nothing: the space is what the next attempt needs.
    pub fn after_failure(&self, disk_full: bool) -> Result<()> {
        if disk_full {
            remove_temp(&self.temp())
        } else {
            self.kept_files.settle(&self.temp()).map(|_| ())
        }
    }

    /// What the failed attempt left that the next one may resume from.
    pub fn reload_kept(&self) -> Option<Kept> {
        self.kept_files.reload(&self.temp()).unwrap_or(None)
    }

    /// Publishes the landing directory (whose handle `dir` the attempt wrote through) as the
    /// partition. The metadata is recorded first (beside the partition when `beside`, and by the
    /// host's `hook`), so the rename publishes partition and metadata at once.
    pub fn publish(
        &self,
        format: TableFormat,
        verify: bool,
        dir: &std::fs::File,
        metadata: &PartitionMetadata,
        beside: bool,
        hook: Option<&MetadataHook>,
    ) -> Result<PathBuf> {
        let (layout, id) = (&self.layout, &self.id);
        let (temp, target, parent) = (self.temp(), layout.partition_dir(id), layout.version_dir(id));
        // The resume journal has no place in a partition.
        let journal = temp.join(resume::JOURNAL);
        if let Err(e) = std::fs::remove_file(&journal) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(Error::io(format!("remove {}", journal.display()), e));
            }
        }
        // The files were made durable as they arrived (client::sink); now the directory entries.
        dir.sync_all().map_err(|e| Error::io(format!("fsync directory {}", temp.display()), e))?;
        if verify {
            // Before publishing: a partition RocksDB cannot open is never installed.
            check_partition(&temp, format).map_err(|e| e.context("received partition failed the RocksDB check"))?;
        }
        failpoint!("install-before-metadata");
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
        if beside {
            write_metadata(layout.base(), id, metadata).map_err(|e| e.context("recording the partition's metadata"))?;
        }
        let hooked = hook.map_or(Ok(()), |h| h(id, metadata).map_err(|e| e.context("the host's metadata hook")));
        failpoint!("install-after-metadata");
        let published = hooked.and_then(|()| publish_dir(&temp, &target));
        if published.is_err() && beside {
            // Metadata without a partition means nothing; reconcile would remove it too.
            let _ = std::fs::remove_file(layout.metadata_file(id));
        }
        published?;
        failpoint!("install-after-rename");
        failpoint!("install-before-parent-sync");
        sync_dir(&parent)?;
        failpoint!("install-after-parent-sync");
        // What this process verified, for the next process that serves the partition.
        let files: Vec<PathBuf> = std::fs::read_dir(&target).into_iter().flatten().flatten().map(|e| e.path()).collect();
        if let Err(e) = crate::digest::ledger::save(&layout.ledger(id), &files) {
            log::warn!("{}: the partition's checksums were not kept for later: {e}", id.replica());
        }
        layout.prune_ledgers();
        Ok(target)
    }
}

fn publish_dir(temp: &Path, target: &Path) -> Result<()> {
    if target.is_dir() {
        // An empty directory (e.g. made by the host) may be replaced; prepare() refused data.
        std::fs::remove_dir(target).map_err(|e| {
            Error::new(ErrorKind::PartitionExists, format!("Final partition directory {} is not empty: {e}", target.display()))
        })?;
    }
    failpoint!("install-before-rename");
    rename_no_replace(temp, target)
}

/// The partition must fit before its first byte is written (the sender announced its size).
pub(crate) fn check_free_space(dir: &std::fs::File, path: &Path, need: u64) -> Result<()> {
    use std::os::unix::io::AsRawFd;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid open descriptor and a zeroed struct the call fills.
    if unsafe { libc::fstatvfs(dir.as_raw_fd(), &mut st) } != 0 {
        return Ok(()); // unknown: the writes will tell
    }
    let free = st.f_bavail as u64 * st.f_frsize as u64;
    if free < need {
        return Err(Error::io(
            format!(
                "the partition needs {need} bytes but only {free} are free on the file system of {} ({} short)",
                path.display(),
                need - free
            ),
            std::io::Error::from_raw_os_error(libc::ENOSPC),
        ));
    }
    Ok(())
}

/// Removes a landing directory. A cancelled attempt's writer may still be finishing one file for
/// a moment, so a failed removal is retried.
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
