//! Partitions vbt opens itself, in Venice's layout (see [`super::layout`]), served
//! through the [`SnapshotSource`] seam. A partition's metadata (offset record and store-version
//! state) lives beside it in `<store>_v<N>_<P>.metadata.json`, in the wire's JSON form: RocksDB
//! itself must hold only the column families Venice accepts.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rocksdb::checkpoint::Checkpoint;
use rocksdb::DB;

use super::db_options;
use super::layout::Layout;
use super::source::SnapshotSource;
use crate::error::{Error, ErrorKind, Result};
use crate::fsutil;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};

pub struct LocalStorage {
    layout: Layout,
    format: TableFormat,
    open: Mutex<HashMap<PartitionId, Arc<DB>>>,
}

/// Records a partition's metadata under `base` durably (temp file, fsync, rename, fsync the
/// directory).
pub fn write_metadata(base: &Path, id: &PartitionId, m: &PartitionMetadata) -> Result<()> {
    let layout = Layout::new(base);
    let (path, tmp) = (layout.metadata_file(id), layout.metadata_temp(id));
    let parent = path.parent().expect("has a parent");
    std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| Error::io(format!("create {}", tmp.display()), e))?;
    let written = f
        .write_all(&m.to_json())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(format!("write {}", tmp.display()), e))
        .and_then(|_| std::fs::rename(&tmp, &path).map_err(|e| Error::io(format!("rename {}", tmp.display()), e)));
    if written.is_err() {
        // A full disk must not leave the temp file behind.
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    fsutil::sync_dir(parent)
}

pub fn read_metadata(base: &Path, id: &PartitionId) -> Result<PartitionMetadata> {
    let path = Layout::new(base).metadata_file(id);
    let bytes = std::fs::read(&path)
        .map_err(|e| Error::new(ErrorKind::NotFound, format!("no offset record for replica {} ({}: {e})", id.replica(), path.display())))?;
    PartitionMetadata::from_json(&bytes, id).map_err(|e| e.context(format!("metadata file {}", path.display())))
}

impl LocalStorage {
    pub fn new(layout: Layout, format: TableFormat) -> Self {
        LocalStorage { layout, format, open: Mutex::new(HashMap::new()) }
    }

    /// The open database of a partition, opened read-write on first use and kept open while vbt
    /// has a snapshot of it (see `remove_snapshot`).
    fn db(&self, id: &PartitionId) -> Result<Arc<DB>> {
        let mut open = self.open.lock().unwrap();
        if let Some(db) = open.get(id) {
            return Ok(db.clone());
        }
        let dir = self.layout.partition_dir(id);
        let db = DB::open(&db_options(self.format), &dir)
            .map_err(|e| Error::storage(format!("cannot open {} as a {} partition: {e}", dir.display(), self.format)))?;
        let db = Arc::new(db);
        open.insert(id.clone(), db.clone());
        Ok(db)
    }
}

impl SnapshotSource for LocalStorage {
    fn snapshot_dir(&self, id: &PartitionId) -> Result<PathBuf> {
        let dir = self.layout.partition_dir(id);
        if self.layout.temp_dir(id).exists() {
            // Venice #1966: never serve a partition that is itself being received.
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("RocksDB instance is null, rocksDBPartitionBlobTransferInProgress flag is true for replica {}", id.replica()),
            ));
        }
        if !dir.join("CURRENT").is_file() {
            return Err(Error::new(ErrorKind::NotFound, format!("No storage engine found for replica {}", id.replica())));
        }
        Ok(self.layout.snapshot_dir(id))
    }

    fn create_snapshot(&self, id: &PartitionId, dir: &Path) -> Result<PartitionMetadata> {
        let metadata = read_metadata(self.layout.base(), id)?;
        let db = self.db(id)?;
        fsutil::remove_dir_if_exists(dir)?;
        Checkpoint::new(&db)
            .and_then(|c| c.create_checkpoint(dir))
            .map_err(|e| Error::storage(format!("checkpoint of {} into {}: {e}", id.replica(), dir.display())))?;
        Ok(metadata)
    }

    /// A stale snapshot nobody uses: removed, and the partition's database closed with it, so an
    /// idle node holds no RocksDB open (the next request opens it again).
    fn remove_snapshot(&self, id: &PartitionId, dir: &Path) -> Result<()> {
        fsutil::remove_dir_if_exists(dir)?;
        self.open.lock().unwrap().remove(id);
        Ok(())
    }
}
