//! Every path vbt uses, in one place. Venice's layout under a base directory, and vbt's own
//! state beside it (never inside: a Venice node treats every entry of its base directory, its
//! `<data.base.path>/rocksdb`, as a store):
//!
//! ```text
//! <base>/<store>_v<N>/<store>_v<N>_<P>/                  the live partition (RocksDB files)
//! <base>/<store>_v<N>/<store>_v<N>_<P>/.snapshot_files/  the sender's checkpoint of it
//! <base>/<store>_v<N>/<store>_v<N>_<P>.metadata.json     its offset record and store-version
//!                                                         state (vbt-owned base directories)
//! <state>/landing/<store>_v<N>_<P>/                      where a receive lands first (and the
//!                                                         files kept for resume); published by
//!                                                         a rename, so on the base's file system
//! <state>/locks/<store>_v<N>_<P>.lock                    the receiver's cross-process lock
//! <state>/snapshots/<store>_v<N>_<P>/                    a host snapshot source's checkpoints
//!                                                         (or under vbt.snapshot.dir)
//! <state>/digests/<store>_v<N>_<P>                       the checksums known of the partition's
//!                                                         files (digest::ledger); removed with
//!                                                         the partition
//! ```
//!
//! `<state>` is `vbt.state.dir`, by default `<base>.vbt` beside the base directory.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::protocol::PartitionId;

/// The paths under one base directory and its state directory.
#[derive(Clone, Debug)]
pub struct Layout {
    base: PathBuf,
    state: PathBuf,
    /// The state directory is on the base's file system, so receives land there; otherwise (the
    /// base is a mount point of its own) they land in Venice's `temp_transferred_*` directory.
    land_in_state: bool,
}

impl Layout {
    /// The base directory with its default state directory, `<base>.vbt`.
    pub fn new(base: impl Into<PathBuf>) -> Layout {
        let base = base.into();
        let state = default_state_dir(&base);
        Layout { base, state, land_in_state: true }
    }

    /// The base directory with `vbt.state.dir` (default `<base>.vbt`); refuses a state directory
    /// inside the base directory. A state directory on another file system than the base (a base
    /// that is a mount point of its own) keeps locks and host snapshots, but receives then land in
    /// Venice's `temp_transferred_*` directory, since they are published by a rename.
    pub fn with_state(base: impl Into<PathBuf>, state: Option<&Path>) -> Result<Layout> {
        let base = base.into();
        let state = state.map_or_else(|| default_state_dir(&base), Path::to_path_buf);
        let (b, s) = (absolute(&base), absolute(&state));
        if s.starts_with(&b) {
            return Err(Error::config(format!(
                "vbt.state.dir {} is inside the base directory {}: vbt's own state must stay out of it (a Venice \
                 node treats every entry there as a store); leave vbt.state.dir unset for {}",
                state.display(),
                base.display(),
                default_state_dir(&base).display()
            )));
        }
        let land_in_state = match (device_of(&b), device_of(&s)) {
            (Some(db), Some(ds)) => db == ds,
            _ => true,
        };
        if !land_in_state {
            log::info!(
                "vbt.state.dir {} is on another file system than {}: receives land in temp_transferred_* directories",
                state.display(),
                base.display()
            );
        }
        Ok(Layout { base, state, land_in_state })
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `vbt.state.dir`.
    pub fn state(&self) -> &Path {
        &self.state
    }

    /// `<base>/<store>_v<N>`.
    pub fn version_dir(&self, id: &PartitionId) -> PathBuf {
        self.base.join(id.topic())
    }

    /// `<base>/<store>_v<N>/<store>_v<N>_<P>`: the live partition.
    pub fn partition_dir(&self, id: &PartitionId) -> PathBuf {
        self.version_dir(id).join(partition_name(id))
    }

    /// Where a receive lands first: `<state>/landing/<store>_v<N>_<P>`, or Venice's
    /// `temp_transferred_*` directory when the state directory is on another file system.
    pub fn temp_dir(&self, id: &PartitionId) -> PathBuf {
        if self.land_in_state {
            self.landing_root().join(partition_name(id))
        } else {
            self.venice_temp_dir(id)
        }
    }

    /// `<state>/landing`.
    pub fn landing_root(&self) -> PathBuf {
        self.state.join("landing")
    }

    /// `<base>/<store>_v<N>/temp_transferred_<store>_v<N>_<P>`: Venice's own receive directory
    /// (vbt before 0.2 used it too); removed when found before a bootstrap.
    pub fn venice_temp_dir(&self, id: &PartitionId) -> PathBuf {
        self.version_dir(id).join(format!("temp_transferred_{}", partition_name(id)))
    }

    /// `<partition>/.snapshot_files`: where the sender keeps its checkpoint.
    pub fn snapshot_dir(&self, id: &PartitionId) -> PathBuf {
        self.partition_dir(id).join(".snapshot_files")
    }

    /// `<state>/digests`.
    pub fn ledger_root(&self) -> PathBuf {
        self.state.join("digests")
    }

    /// `<state>/digests/<store>_v<N>_<P>`: the partition's digest ledger.
    pub fn ledger(&self, id: &PartitionId) -> PathBuf {
        self.ledger_root().join(partition_name(id))
    }

    /// Removes the ledgers of partitions that are gone (dropped by the host, or never
    /// published), and the ledger directory once it is empty.
    pub fn prune_ledgers(&self) {
        let root = self.ledger_root();
        crate::digest::ledger::remove_orphan_temps(&root);
        for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = parse_partition_name(&name) {
                if !self.partition_dir(&id).exists() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(&root);
    }

    /// `<base>/<store>_v<N>/<store>_v<N>_<P>.metadata.json`.
    pub fn metadata_file(&self, id: &PartitionId) -> PathBuf {
        self.version_dir(id).join(format!("{}.metadata.json", partition_name(id)))
    }

    /// The metadata file while it is being written.
    pub fn metadata_temp(&self, id: &PartitionId) -> PathBuf {
        self.metadata_file(id).with_extension("json.tmp")
    }

    /// `<state>/locks`.
    pub fn lock_dir(&self) -> PathBuf {
        self.state.join("locks")
    }

    /// `<state>/locks/<store>_v<N>_<P>.lock`.
    pub fn lock_file(&self, id: &PartitionId) -> PathBuf {
        self.lock_dir().join(format!("{}.lock", partition_name(id)))
    }

    /// `<state>/snapshots`: a host snapshot source's checkpoints, unless `vbt.snapshot.dir`.
    pub fn host_snapshot_root(&self, snapshot_dir: Option<&Path>) -> PathBuf {
        snapshot_dir.map_or_else(|| self.state.join("snapshots"), Path::to_path_buf)
    }

    /// Partitions with a receive landed (or kept) in the state directory.
    pub fn landed(&self) -> Vec<PartitionId> {
        std::fs::read_dir(self.landing_root())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| parse_partition_name(&e.file_name().to_string_lossy()))
            .collect()
    }

    /// Removes the state directory's own folders when empty (nothing is left behind once no
    /// bootstrap runs); a racing bootstrap recreates what it needs.
    pub fn tidy_state(&self) {
        for d in [self.landing_root(), self.lock_dir()] {
            let _ = std::fs::remove_dir(d);
        }
        let _ = std::fs::remove_dir(&self.state);
    }

    /// Partitions that have anything of vbt's in the version directory `topic` (judged by the
    /// names above; anything else there is not ours and is ignored).
    pub fn partitions_in(&self, topic: &str) -> Vec<PartitionId> {
        let Some((store, version)) = topic.rsplit_once("_v") else { return Vec::new() };
        let Ok(version) = version.parse::<i32>() else { return Vec::new() };
        let (own, temp) = (format!("{topic}_"), format!("temp_transferred_{topic}_"));
        let mut out: Vec<PartitionId> = std::fs::read_dir(self.base.join(topic))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rest = name.strip_prefix(&temp).or_else(|| name.strip_prefix(&own))?;
                let number = rest.trim_end_matches(".metadata.json.tmp").trim_end_matches(".metadata.json");
                PartitionId::new(store, version, number.parse().ok()?).ok()
            })
            .collect();
        out.sort_by_key(|id| id.partition);
        out.dedup();
        out
    }

    /// Store-version directories under the base (hidden ones, such as the lock directory, are
    /// not).
    pub fn topics(&self) -> Vec<String> {
        std::fs::read_dir(&self.base)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect()
    }
}

/// A host snapshot source's checkpoint directory of one partition under its root.
pub fn host_snapshot_dir(root: &Path, id: &PartitionId) -> PathBuf {
    root.join(partition_name(id))
}

/// `<store>_v<N>_<P>`.
fn partition_name(id: &PartitionId) -> String {
    format!("{}_{}", id.topic(), id.partition)
}

/// The partition a `<store>_v<N>_<P>` name stands for.
fn parse_partition_name(name: &str) -> Option<PartitionId> {
    let (topic, partition) = name.rsplit_once('_')?;
    let (store, version) = topic.rsplit_once("_v")?;
    PartitionId::new(store, version.parse().ok()?, partition.parse().ok()?).ok()
}

/// `<base>.vbt`, beside the base directory.
fn default_state_dir(base: &Path) -> PathBuf {
    let mut name = base.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "vbt-base".into());
    name.push(".vbt");
    base.with_file_name(name)
}

/// `p` made absolute (against the working directory) and with `.`/`..` resolved by name, and
/// symbolic links resolved for the part that exists.
fn absolute(p: &Path) -> PathBuf {
    let p = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    // The longest existing prefix, canonicalised, then the rest.
    let mut existing = out.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(|n| n.to_os_string()), existing.parent().map(Path::to_path_buf)) {
            (Some(n), Some(parent)) => {
                rest.push(n);
                existing = parent;
            }
            _ => return out,
        }
    }
    let mut real = existing.canonicalize().unwrap_or(existing);
    for n in rest.into_iter().rev() {
        real.push(n);
    }
    real
}

/// The device of the nearest existing ancestor of `p`.
fn device_of(p: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    p.ancestors().find_map(|a| std::fs::metadata(a).ok()).map(|m| m.dev())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venice_layout() {
        let p = PartitionId::new("myStore", 1, 0).unwrap();
        let l = Layout::new("/b");
        assert_eq!(l.partition_dir(&p), Path::new("/b/myStore_v1/myStore_v1_0"));
        assert_eq!(l.temp_dir(&p), Path::new("/b.vbt/landing/myStore_v1_0"));
        assert_eq!(l.venice_temp_dir(&p), Path::new("/b/myStore_v1/temp_transferred_myStore_v1_0"));
        assert_eq!(l.snapshot_dir(&p), Path::new("/b/myStore_v1/myStore_v1_0/.snapshot_files"));
        assert_eq!(l.metadata_file(&p), Path::new("/b/myStore_v1/myStore_v1_0.metadata.json"));
        assert_eq!(l.metadata_temp(&p), Path::new("/b/myStore_v1/myStore_v1_0.metadata.json.tmp"));
        assert_eq!(l.lock_file(&p), Path::new("/b.vbt/locks/myStore_v1_0.lock"));
        assert_eq!(l.host_snapshot_root(None), Path::new("/b.vbt/snapshots"));
        assert_eq!(Layout::new("/data/rocksdb/").state(), Path::new("/data/rocksdb.vbt"));
        assert_eq!(parse_partition_name("my_store_v3_12"), Some(PartitionId::new("my_store", 3, 12).unwrap()));
        assert_eq!(host_snapshot_dir(Path::new("/h"), &p), Path::new("/h/myStore_v1_0"));
    }

    #[test]
    fn partitions_found_by_vbt_names_only() {
        let d = tempfile::tempdir().unwrap();
        let v = d.path().join("my_store_v3");
        std::fs::create_dir_all(v.join("my_store_v3_1")).unwrap();
        std::fs::create_dir_all(v.join("temp_transferred_my_store_v3_2")).unwrap();
        std::fs::create_dir_all(d.path().with_extension("vbt").join("landing/my_store_v3_5")).unwrap();
        std::fs::write(v.join("my_store_v3_4.metadata.json.tmp"), b"").unwrap();
        std::fs::write(v.join("notes.txt"), b"").unwrap();
        std::fs::create_dir_all(v.join("my_store_v3_x")).unwrap();
        let l = Layout::new(d.path());
        let found: Vec<i32> = l.partitions_in("my_store_v3").iter().map(|p| p.partition).collect();
        assert_eq!(found, [1, 2, 4]);
        assert_eq!(l.topics(), ["my_store_v3"]);
        assert_eq!(l.landed(), [PartitionId::new("my_store", 3, 5).unwrap()]);
        let _ = std::fs::remove_dir_all(d.path().with_extension("vbt"));
    }

    /// Issue #20: vbt's state never inside the base directory (a Venice node would take it for
    /// a store), and on the base's file system.
    #[test]
    fn state_dir_outside_the_base_only() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("rocksdb");
        for inside in [base.join(".vbt"), base.clone(), base.join("x/../state")] {
            let e = Layout::with_state(&base, Some(&inside)).unwrap_err();
            assert!(e.to_string().contains("inside the base directory"), "{}: {e}", inside.display());
        }
        let l = Layout::with_state(&base, None).unwrap();
        assert_eq!(l.state(), d.path().join("rocksdb.vbt"));
        Layout::with_state(&base, Some(&d.path().join("elsewhere"))).unwrap();
        // /dev/shm is tmpfs: another file system than the temp dir's (when it is one). Locks
        // stay in the state dir; receives land in Venice's temp name, on the base's file system.
        let shm = Path::new("/dev/shm/vbt-state-test");
        if device_of(shm) != device_of(d.path()) {
            let l = Layout::with_state(&base, Some(shm)).unwrap();
            let p = PartitionId::new("s", 1, 0).unwrap();
            assert_eq!(l.temp_dir(&p), l.venice_temp_dir(&p));
            assert!(l.lock_file(&p).starts_with(shm));
        }
    }
}
