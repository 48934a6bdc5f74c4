//! `vbt_checkpoint`: the checkpoint a host leases to one transfer (set with
//! `vbt_config_set_checkpoint_source`), filled by the host's acquire callback, handed back through
//! its release callback exactly once.

use std::ffi::{c_char, c_void};
use std::path::PathBuf;

use super::handle::{borrow_mut, Opaque, UserData};
use super::hooks::vbt_message;
use super::result::vbt_result;
use super::types::{bytes_arg, cstring_lossy, str_arg};
use crate::error::{Error, Result};
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;
use crate::snapshot::{CheckpointLeases, HostCheckpoint};

/// One transfer's checkpoint, lent to a `vbt_checkpoint_acquire_fn` for the host to describe with
/// `vbt_checkpoint_set_dir`, `vbt_checkpoint_set_offset_record`,
/// `vbt_checkpoint_set_store_version_state` and, optionally, `vbt_checkpoint_set_lease`. It lives
/// only for that callback; vbt copies what it holds afterwards.
pub struct vbt_checkpoint {
    dir: Option<String>,
    offset_record: Vec<u8>,
    store_version_state: Vec<u8>,
    lease: *mut c_void,
    /// The first setter call vbt refused: said again if the host returns `VBT_OK` all the same.
    refused: Option<String>,
}

impl Opaque for vbt_checkpoint {
    const NAME: &'static str = "vbt_checkpoint";
}

impl vbt_checkpoint {
    /// Remembers a refused setter call (the first one) and returns its error.
    fn refuse(&mut self, func: &str, e: Error) -> Error {
        let e = Error::new(e.kind(), format!("{func}: {}", e.message()));
        self.refused.get_or_insert_with(|| e.message().to_string());
        e
    }
}

/// Sets the checkpoint's directory (copied): an existing directory holding a complete RocksDB
/// checkpoint of the partition, which the host keeps unchanged until the release callback.
///
/// Returns `VBT_INVALID_ARGUMENT` if an argument is NULL or `dir` is not UTF-8; then, if the
/// acquire callback returns `VBT_OK` anyway, the request is refused with this message.
#[no_mangle]
pub extern "C" fn vbt_checkpoint_set_dir(checkpoint: *mut vbt_checkpoint, dir: *const c_char) -> vbt_result {
    ffi_boundary!([checkpoint] {
        // SAFETY: a live vbt_checkpoint lent to the running callback; `dir` is NULL or a C string.
        let checkpoint = unsafe { borrow_mut(checkpoint) }?;
        match unsafe { str_arg(dir, "dir") } {
            Ok(dir) => {
                checkpoint.dir = Some(dir);
                Ok(())
            }
            Err(e) => Err(checkpoint.refuse("vbt_checkpoint_set_dir", e)),
        }
    })
}

/// Sets the partition's offset record (`OffsetRecord.toBytes()`, magic 24) captured before the
/// checkpoint: a copy of `len` bytes at `data` (`data` may be NULL only when `len` is 0).
///
/// Returns `VBT_INVALID_ARGUMENT` if `checkpoint` is NULL, or `data` is NULL with `len` > 0.
#[no_mangle]
pub extern "C" fn vbt_checkpoint_set_offset_record(checkpoint: *mut vbt_checkpoint, data: *const u8, len: usize) -> vbt_result {
    ffi_boundary!([checkpoint] {
        // SAFETY: a live vbt_checkpoint lent to the running callback; `len` bytes at `data`.
        let checkpoint = unsafe { borrow_mut(checkpoint) }?;
        match unsafe { bytes_arg(data, len) } {
            Ok(bytes) => {
                checkpoint.offset_record = bytes;
                Ok(())
            }
            Err(e) => Err(checkpoint.refuse("vbt_checkpoint_set_offset_record", e)),
        }
    })
}

/// Sets the partition's store-version state (magic 25) captured before the checkpoint, as
/// `vbt_checkpoint_set_offset_record` does the offset record.
#[no_mangle]
pub extern "C" fn vbt_checkpoint_set_store_version_state(checkpoint: *mut vbt_checkpoint, data: *const u8, len: usize) -> vbt_result {
    ffi_boundary!([checkpoint] {
        // SAFETY: a live vbt_checkpoint lent to the running callback; `len` bytes at `data`.
        let checkpoint = unsafe { borrow_mut(checkpoint) }?;
        match unsafe { bytes_arg(data, len) } {
            Ok(bytes) => {
                checkpoint.store_version_state = bytes;
                Ok(())
            }
            Err(e) => Err(checkpoint.refuse("vbt_checkpoint_set_store_version_state", e)),
        }
    })
}

/// Sets the host's own pointer for this lease (NULL by default), passed as is to the release
/// callback, so the host can tell its leases apart. vbt never dereferences it.
///
/// Returns `VBT_INVALID_ARGUMENT` if `checkpoint` is NULL.
#[no_mangle]
pub extern "C" fn vbt_checkpoint_set_lease(checkpoint: *mut vbt_checkpoint, lease: *mut c_void) -> vbt_result {
    ffi_boundary!([checkpoint] {
        // SAFETY: a live vbt_checkpoint lent to the running callback.
        unsafe { borrow_mut(checkpoint) }?.lease = lease;
        Ok(())
    })
}

/// Leases the checkpoint of one partition to one transfer (set with
/// `vbt_config_set_checkpoint_source`): a Venice node's `BlobSnapshotManager` keeps its own
/// checks, user count and retention, and checkpoints into `<partition>/.snapshot_files`.
///
/// vbt calls it for each request its sender admits. The host names an existing, complete
/// checkpoint directory with `vbt_checkpoint_set_dir`, gives the metadata it captured before the
/// checkpoint with `vbt_checkpoint_set_offset_record` and `vbt_checkpoint_set_store_version_state`,
/// may set a lease pointer with `vbt_checkpoint_set_lease`, and returns `VBT_OK` (0). vbt serves
/// the directory's files and the metadata, and never writes to or deletes the directory.
///
/// Or it returns a `vbt_result` code (`VBT_NOT_FOUND` when the partition is not hosted here) and
/// may say why with `vbt_message_set(error, ...)`: the requester gets 404 (500 for
/// `VBT_INTERNAL`) with a message naming the callback, the code and that text, and no release
/// follows. A `VBT_OK` with no directory, a directory that does not exist, or metadata that is not
/// framed as Venice's is refused the same way, naming the fault, after the release.
///
/// `store`, `checkpoint` and `error` are borrowed for the call. Called on a vbt thread (never the
/// host's, never one that moves data), possibly for several partitions, and the same partition,
/// at once; it may block. It must not call `vbt_node_free`.
pub type vbt_checkpoint_acquire_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        store: *const c_char,
        version: i32,
        partition: i32,
        checkpoint: *mut vbt_checkpoint,
        error: *mut vbt_message,
    ) -> u32,
>;

/// Hands a leased checkpoint back (set with `vbt_config_set_checkpoint_source`).
///
/// Called exactly once for every acquire that returned `VBT_OK`: when the last send of that
/// checkpoint ends (success, failure, a broken connection, the node shutting down), or right after
/// the acquire when vbt refused what it returned. `lease` is the pointer the host set with
/// `vbt_checkpoint_set_lease` (NULL if none); `store` is borrowed for the call. Called on a vbt
/// thread where it may block (never one that moves data); it must not call `vbt_node_free`.
pub type vbt_checkpoint_release_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, store: *const c_char, version: i32, partition: i32, lease: *mut c_void)>;

/// The callbacks once the boundary has checked them (not NULL).
pub(crate) type AcquireFn = unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, *mut vbt_checkpoint, *mut vbt_message) -> u32;
pub(crate) type ReleaseFn = unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, *mut c_void);

/// The host's checkpoint source as the core's `CheckpointLeases`.
pub(crate) struct HostCheckpoints {
    pub acquire: AcquireFn,
    pub release: Option<ReleaseFn>,
    pub user_data: UserData,
}

/// One lease the host handed out: released exactly once, when dropped, whether the core called
/// its release or only dropped it (e.g. a runtime shutting down drops blocking work unrun).
struct Lease {
    release: Option<ReleaseFn>,
    user_data: UserData,
    id: PartitionId,
    token: UserData,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let store = cstring_lossy(&self.id.store);
            // SAFETY: the host's function with its own user_data and lease pointer; the string
            // lives across the call.
            unsafe { release(self.user_data.get(), store.as_ptr(), self.id.version, self.id.partition, self.token.get()) };
        }
    }
}

impl CheckpointLeases for HostCheckpoints {
    fn acquire(&self, id: &PartitionId) -> Result<HostCheckpoint> {
        let store = cstring_lossy(&id.store);
        let mut checkpoint = vbt_checkpoint {
            dir: None,
            offset_record: Vec::new(),
            store_version_state: Vec::new(),
            lease: std::ptr::null_mut(),
            refused: None,
        };
        let mut error = vbt_message::new();
        // SAFETY: the host's function with its own user_data; every pointer lives across the call.
        let rc = unsafe { (self.acquire)(self.user_data.get(), store.as_ptr(), id.version, id.partition, &mut checkpoint, &mut error) };
        if rc != 0 {
            return Err(error.error(rc, format_args!("vbt_checkpoint_acquire_fn for {}", id.replica())));
        }
        // The host holds a lease from here: an error below releases it as `lease` drops.
        let lease = Lease { release: self.release, user_data: self.user_data, id: id.clone(), token: UserData::new(checkpoint.lease) };
        let (dir, metadata) = checked(id, checkpoint)?;
        Ok(HostCheckpoint { dir, metadata, release: Box::new(move || drop(lease)) })
    }
}

/// The directory and metadata of a checkpoint the acquire callback returned `VBT_OK` for.
fn checked(id: &PartitionId, c: vbt_checkpoint) -> Result<(PathBuf, PartitionMetadata)> {
    let what = format!("vbt_checkpoint_acquire_fn for {} returned VBT_OK, but", id.replica());
    if let Some(refused) = c.refused {
        return Err(Error::invalid(format!("{what} vbt refused a call it made: {refused}")));
    }
    let dir = PathBuf::from(c.dir.ok_or_else(|| Error::invalid(format!("{what} named no directory (vbt_checkpoint_set_dir)")))?);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(Error::invalid(format!("{what} named {}, which is not a directory", dir.display()))),
        Err(e) => return Err(Error::invalid(format!("{what} named {}, which cannot be used: {e}", dir.display()))),
    }
    let metadata = PartitionMetadata::new(id, c.offset_record, c.store_version_state)
        .map_err(|e| Error::new(e.kind(), format!("{what} gave metadata vbt cannot serve: {}", e.message())))?;
    Ok((dir, metadata))
}
