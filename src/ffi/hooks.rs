//! Host hooks around a transfer: the metadata hook a receiver calls before it publishes a
//! partition, the files-sent listener a sender tells of every whole file, and `vbt_message`, with
//! which a failing host callback says why (the checkpoint source uses it too).

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::boundary::error_from_host_code;
use super::handle::{borrow_mut, Opaque, UserData};
use super::result::vbt_result;
use super::types::{cstring_lossy, str_arg, vbt_byte_slice};
use crate::error::Error;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;
use crate::storage::landing::MetadataHook;
use crate::transfers::FileSentFn;

/// A text vbt lends a host callback, for the host to set with `vbt_message_set`: why the callback
/// failed (vbt adds it to the error it reports when the callback returns a code other than
/// `VBT_OK`), or, for `vbt_origin_identity_fn`, the identity it read. It lives only for that
/// callback; vbt copies the text.
pub struct vbt_message {
    text: Option<String>,
}

impl Opaque for vbt_message {
    const NAME: &'static str = "vbt_message";
}

impl vbt_message {
    pub(crate) fn new() -> Self {
        vbt_message { text: None }
    }

    /// The text the host set, if any.
    pub(crate) fn take(&mut self) -> Option<String> {
        self.text.take()
    }

    /// The error for `code` (not 0) a host callback returned: `what returned VBT_X (n): text`.
    pub(crate) fn error(&self, code: u32, what: std::fmt::Arguments) -> Error {
        let e = error_from_host_code(code, what);
        match self.text.as_deref() {
            Some(text) if !text.is_empty() => Error::new(e.kind(), format!("{}: {text}", e.message())),
            _ => e,
        }
    }
}

/// Replaces the text of `message` with a copy of `text` (NUL-terminated UTF-8). Call it from
/// inside the callback that received `message`: for an `error` message, before returning a code
/// other than `VBT_OK` (the text then ends the error vbt reports; for a checkpoint source, the
/// 404 the requester gets); for the `identity` of `vbt_origin_identity_fn`, before returning
/// `VBT_OK`.
///
/// Returns `VBT_INVALID_ARGUMENT` if an argument is NULL or `text` is not UTF-8.
#[no_mangle]
pub extern "C" fn vbt_message_set(message: *mut vbt_message, text: *const c_char) -> vbt_result {
    ffi_boundary!([message, text] {
        // SAFETY: a live vbt_message lent to the running callback; `text` is a C string.
        let message = unsafe { borrow_mut(message) }?;
        let text = unsafe { str_arg(text, "text") }?;
        message.text = Some(text);
        Ok(())
    })
}

/// Receives a bootstrapped partition's metadata before the partition is published (set with
/// `vbt_config_set_metadata_hook`): a Venice host stores the offset record and the store-version
/// state here, as Venice does before its rename, so a published partition always has them.
///
/// Called once per successful attempt, after every byte of the partition is verified (and RocksDB
/// opened it, unless `vbt.receive.verify.rocksdb=false`) and before vbt renames it into place as
/// `<base>/<store>_v<version>/<store>_v<version>_<partition>`. `offset_record`
/// (`OffsetRecord.toBytes()`, magic 24) and `store_version_state` (magic 25) are what the
/// completion will report; they, `store` and `error` are borrowed for the call.
///
/// Return `VBT_OK` (0) to let the partition be published, or a `vbt_result` code to fail the
/// attempt: nothing is published, nothing is left under the base directory, and the bootstrap
/// moves on to its next peer; the failure's message names the hook, the code and the text the
/// host gave with `vbt_message_set(error, ...)`. Called on a vbt thread (never the host's, never
/// one that moves data), possibly for different partitions at once; it may block. It must not
/// call `vbt_node_free`.
pub type vbt_metadata_hook_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        store: *const c_char,
        version: i32,
        partition: i32,
        offset_record: vbt_byte_slice,
        store_version_state: vbt_byte_slice,
        error: *mut vbt_message,
    ) -> u32,
>;

/// Hears of every whole file a sender wrote to a peer (set with
/// `vbt_config_set_file_sent_listener`), as Venice records bytes sent: once per file, after the
/// file's last byte was written, with the file's size in `bytes`; the sizes of one transfer's
/// files add up to the partition's bytes the receiver reports. `peer` is the receiver's address
/// (`ip:port`); it and `store` are borrowed for the call.
///
/// Called on the node's callback thread (the thread that runs completions, one call at a time),
/// never on a thread that moves data, so a slow listener never slows a transfer; it should still
/// return quickly (completions and progress reports wait behind it) and must not call
/// `vbt_node_free`. No call is made after `vbt_node_free` returned.
pub type vbt_file_sent_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, store: *const c_char, version: i32, partition: i32, peer: *const c_char, bytes: u64),
>;

/// The callbacks once the boundary has checked them (not NULL).
pub(crate) type MetadataHookFn =
    unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, vbt_byte_slice, vbt_byte_slice, *mut vbt_message) -> u32;
pub(crate) type FileSentFnC = unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, *const c_char, u64);

/// The metadata hook as the core's `MetadataHook` (which adds "the host's metadata hook" to an
/// error's message).
pub(crate) fn metadata_hook_adapter(f: MetadataHookFn, user_data: UserData) -> MetadataHook {
    Arc::new(move |id: &PartitionId, m: &PartitionMetadata| {
        let store = cstring_lossy(&id.store);
        let mut error = vbt_message::new();
        // SAFETY: the host's function with its own user_data; the store string, the metadata
        // the slices point into and `error` all live across the call.
        let rc = unsafe {
            f(
                user_data.get(),
                store.as_ptr(),
                id.version,
                id.partition,
                vbt_byte_slice::of(&m.offset_record),
                vbt_byte_slice::of(&m.store_version_state),
                &mut error,
            )
        };
        if rc != 0 {
            return Err(error.error(rc, format_args!("vbt_metadata_hook_fn for {}", id.replica())));
        }
        Ok(())
    })
}

/// The files-sent listener as the core's `FileSentFn` (the node calls it on its callback thread).
pub(crate) fn file_sent_adapter(f: FileSentFnC, user_data: UserData) -> FileSentFn {
    Arc::new(move |id: &PartitionId, peer: &str, bytes: u64| {
        let (store, peer) = (cstring_lossy(&id.store), cstring_lossy(peer));
        // SAFETY: the host's function with its own user_data; both strings live across the call.
        unsafe { f(user_data.get(), store.as_ptr(), id.version, id.partition, peer.as_ptr(), bytes) };
    })
}
