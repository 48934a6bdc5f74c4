//! Partitions vbt opens itself, in Venice's layout `<base>/<store>_v<N>/<store>_v<N>_<P>`, served
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
use crate::error::{Error, ErrorKind, Result};
use crate::fsutil;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::{PartitionId, TableFormat};
use crate::snapshot::SnapshotSource;

pub struct LocalStorage {
    base: PathBuf,
    format: TableFormat,
    open: Mutex<HashMap<PartitionId, Arc<DB>>>,
}

/// `<base>/<store>_v<N>/<store>_v<N>_<P>.metadata.json`.
pub fn metadata_path(base: &Path, id: &PartitionId) -> PathBuf {
    id.version_dir(base).join(format!("{}_{}.metadata.json", id.topic(), id.partition))
}

/// Records a partition's metadata durably (temp file, fsync, rename, fsync the directory).
pub fn write_metadata(base: &Path, id: &PartitionId, m: &PartitionMetadata) -> Result<()> {
    let path = metadata_path(base, id);
    let tmp = path.with_extension("json.tmp");
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
    let path = metadata_path(base, id);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::new(ErrorKind::NotFound, format!("no offset record for replica {} ({}: {e})", id.replica(), path.display()))
    })?;
    PartitionMetadata::from_json(&bytes, id).map_err(|e| e.context(format!("metadata file {}", path.display())))
}

impl LocalStorage {
    pub fn new(base: impl Into<PathBuf>, format: TableFormat) -> Self {
        LocalStorage { base: base.into(), format, open: Mutex::new(HashMap::new()) }
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// The open database of a partition, opened read-write on first use and kept open.
    fn db(&self, id: &PartitionId) -> Result<Arc<DB>> {
        let mut open = self.open.lock().unwrap();
        if let Some(db) = open.get(id) {
            return Ok(db.clone());
        }
        let dir = id.partition_dir(&self.base);
        let db = DB::open(&db_options(self.format), &dir)
            .map_err(|e| Error::storage(format!("cannot open {} as a {} partition: {e}", dir.display(), self.format)))?;
        let db = Arc::new(db);
        open.insert(id.clone(), db.clone());
        Ok(db)
    }

    /// Closes a partition vbt had opened (e.g. before the host drops it).
    pub fn close(&self, id: &PartitionId) {
        self.open.lock().unwrap().remove(id);
    }
}

impl SnapshotSource for LocalStorage {
    fn snapshot_dir(&self, id: &PartitionId) -> Result<PathBuf> {
        let dir = id.partition_dir(&self.base);
        if id.temp_dir(&self.base).exists() {
            // Venice #1966: never serve a partition that is itself being received.
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("RocksDB instance is null, rocksDBPartitionBlobTransferInProgress flag is true for replica {}", id.replica()),
            ));
        }
        if !dir.join("CURRENT").is_file() {
            return Err(Error::new(ErrorKind::NotFound, format!("No storage engine found for replica {}", id.replica())));
        }
        Ok(id.snapshot_dir(&self.base))
    }

    fn create_snapshot(&self, id: &PartitionId, dir: &Path) -> Result<PartitionMetadata> {
        let metadata = read_metadata(&self.base, id)?;
        let db = self.db(id)?;
        self.remove_snapshot(id, dir)?;
        Checkpoint::new(&db)
            .and_then(|c| c.create_checkpoint(dir))
            .map_err(|e| Error::storage(format!("checkpoint of {} into {}: {e}", id.replica(), dir.display())))?;
        Ok(metadata)
    }
}
