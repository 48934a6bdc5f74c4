//! Every path vbt uses, in one place. Venice's layout under a base directory:
//!
//! ```text
//! <base>/<store>_v<N>/<store>_v<N>_<P>/                  the live partition (RocksDB files)
//! <base>/<store>_v<N>/<store>_v<N>_<P>/.snapshot_files/  the sender's checkpoint of it
//! <base>/<store>_v<N>/temp_transferred_<store>_v<N>_<P>/ where a receive lands first
//! <base>/<store>_v<N>/<store>_v<N>_<P>.metadata.json     its offset record and store-version
//!                                                         state (vbt-owned base directories)
//! <base>/.vbt_locks/<store>_v<N>_<P>.lock                the receiver's cross-process lock
//! <base>/.vbt_host_snapshots/<store>_v<N>_<P>/           a host snapshot source's checkpoints
//!                                                         (or under vbt.snapshot.dir)
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::protocol::PartitionId;

/// The paths under one base directory.
#[derive(Clone, Debug)]
pub struct Layout {
    base: PathBuf,
}

impl Layout {
    pub fn new(base: impl Into<PathBuf>) -> Layout {
        Layout { base: base.into() }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// `<base>/<store>_v<N>`.
    pub fn version_dir(&self, id: &PartitionId) -> PathBuf {
        self.base.join(id.topic())
    }

    /// `<base>/<store>_v<N>/<store>_v<N>_<P>`: the live partition.
    pub fn partition_dir(&self, id: &PartitionId) -> PathBuf {
        self.version_dir(id).join(partition_name(id))
    }

    /// `<base>/<store>_v<N>/temp_transferred_<store>_v<N>_<P>`: where a receive lands first.
    pub fn temp_dir(&self, id: &PartitionId) -> PathBuf {
        self.version_dir(id).join(format!("temp_transferred_{}", partition_name(id)))
    }

    /// `<partition>/.snapshot_files`: where the sender keeps its checkpoint.
    pub fn snapshot_dir(&self, id: &PartitionId) -> PathBuf {
        self.partition_dir(id).join(".snapshot_files")
    }

    /// `<base>/<store>_v<N>/<store>_v<N>_<P>.metadata.json`.
    pub fn metadata_file(&self, id: &PartitionId) -> PathBuf {
        self.version_dir(id).join(format!("{}.metadata.json", partition_name(id)))
    }

    /// The metadata file while it is being written.
    pub fn metadata_temp(&self, id: &PartitionId) -> PathBuf {
        self.metadata_file(id).with_extension("json.tmp")
    }

    /// `<base>/.vbt_locks`.
    pub fn lock_dir(&self) -> PathBuf {
        self.base.join(".vbt_locks")
    }

    /// `<base>/.vbt_locks/<store>_v<N>_<P>.lock`.
    pub fn lock_file(&self, id: &PartitionId) -> PathBuf {
        self.lock_dir().join(format!("{}.lock", partition_name(id)))
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

/// Where a host snapshot source creates its checkpoints: `vbt.snapshot.dir`, else
/// `<base>/.vbt_host_snapshots`.
pub fn host_snapshot_root(snapshot_dir: Option<&Path>, base: Option<&Path>) -> Result<PathBuf> {
    match (snapshot_dir, base) {
        (Some(r), _) => Ok(r.to_path_buf()),
        (None, Some(b)) => Ok(b.join(".vbt_host_snapshots")),
        (None, None) => Err(Error::config("no directory for host snapshots: set vbt.snapshot.dir or vbt.base.dir")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venice_layout() {
        let p = PartitionId::new("myStore", 1, 0).unwrap();
        let l = Layout::new("/b");
        assert_eq!(l.partition_dir(&p), Path::new("/b/myStore_v1/myStore_v1_0"));
        assert_eq!(l.temp_dir(&p), Path::new("/b/myStore_v1/temp_transferred_myStore_v1_0"));
        assert_eq!(l.snapshot_dir(&p), Path::new("/b/myStore_v1/myStore_v1_0/.snapshot_files"));
        assert_eq!(l.metadata_file(&p), Path::new("/b/myStore_v1/myStore_v1_0.metadata.json"));
        assert_eq!(l.metadata_temp(&p), Path::new("/b/myStore_v1/myStore_v1_0.metadata.json.tmp"));
        assert_eq!(l.lock_file(&p), Path::new("/b/.vbt_locks/myStore_v1_0.lock"));
        assert_eq!(host_snapshot_dir(Path::new("/h"), &p), Path::new("/h/myStore_v1_0"));
    }

    #[test]
    fn partitions_found_by_vbt_names_only() {
        let d = tempfile::tempdir().unwrap();
        let v = d.path().join("my_store_v3");
        std::fs::create_dir_all(v.join("my_store_v3_1")).unwrap();
        std::fs::create_dir_all(v.join("temp_transferred_my_store_v3_2")).unwrap();
        std::fs::write(v.join("my_store_v3_4.metadata.json.tmp"), b"").unwrap();
        std::fs::write(v.join("notes.txt"), b"").unwrap();
        std::fs::create_dir_all(v.join("my_store_v3_x")).unwrap();
        let l = Layout::new(d.path());
        let found: Vec<i32> = l.partitions_in("my_store_v3").iter().map(|p| p.partition).collect();
        assert_eq!(found, [1, 2, 4]);
        assert_eq!(l.topics(), ["my_store_v3"]);
    }
}
