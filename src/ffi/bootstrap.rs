//! What to bootstrap (`vbt_bootstrap_request`), the completion callback, and what it receives
//! (`vbt_bootstrap_result`).

use std::ffi::{c_char, c_void, CString};
use std::os::unix::ffi::OsStrExt;

use super::handle::{borrow, borrow_mut, free, into_raw, write_out, Opaque, UserData};
use super::result::vbt_result;
use super::types::{cstring_lossy, str_arg, vbt_byte_slice};
use crate::client::{BootstrapOutcome, BootstrapRequest, PeerFailure, Progress};
use crate::error::{Error, Result};
use crate::protocol::{PartitionId, TableFormat};

/// RocksDB table format of a partition, as Venice's `BlobTransferTableFormat`. Passed to
/// `vbt_bootstrap_request_set_table_format` as a `uint32_t`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum vbt_table_format {
    /// The node's own format (`rocksdb.plain.table.format.enabled`, default block-based).
    VBT_TABLE_FORMAT_DEFAULT = 0,
    /// `BLOCK_BASED_TABLE`.
    VBT_TABLE_FORMAT_BLOCK_BASED = 1,
    /// `PLAIN_TABLE`.
    VBT_TABLE_FORMAT_PLAIN = 2,
}

/// One partition to bootstrap, and where from.
///
/// Methods: `vbt_bootstrap_request_new`, `vbt_bootstrap_request_add_peer`,
/// `vbt_bootstrap_request_set_table_format`, `vbt_bootstrap_request_set_preserve_order`,
/// `vbt_bootstrap_request_set_progress`, `vbt_bootstrap_request_free`; used by
/// `vbt_node_bootstrap_partition`, which copies it (the request can be freed or reused as soon as
/// that call returns). Not safe to modify from two threads at once.
pub struct vbt_bootstrap_request {
    pub(crate) request: BootstrapRequest,
    /// The host's progress callback and its `user_data`, if set.
    pub(crate) progress: Option<(ProgressFn, UserData)>,
}

impl Opaque for vbt_bootstrap_request {
    const NAME: &'static str = "vbt_bootstrap_request";
}

/// Creates a request for partition `partition` of version `version` of store `store` (the
/// directory `<store>_v<version>/<store>_v<version>_<partition>` under the node's base
/// directory), with no peers yet and the node's table format. Stores it in `*out`; free it with
/// `vbt_bootstrap_request_free`.
///
/// Returns `VBT_INVALID_ARGUMENT` if `store` is empty, longer than 200 bytes, holds characters
/// other than letters, digits, `_`, `-`, `.` (not first), or `version` or `partition` is negative.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_new(
    store: *const c_char,
    version: i32,
    partition: i32,
    out: *mut *mut vbt_bootstrap_request,
) -> vbt_result {
    ffi_boundary!([store, out] {
        // SAFETY: a C string, per the contract.
        let store = unsafe { str_arg(store, "store") }?;
        let id = PartitionId::new(store, version, partition)?;
        let request = vbt_bootstrap_request { request: BootstrapRequest::new(id, Vec::new()), progress: None };
        // SAFETY: `out` is writable (checked non-NULL by the boundary).
        unsafe { write_out(out, into_raw(request)) }
    })
}

/// Adds a peer to ask, as `host`, `host:port`, `[v6]` or `[v6]:port` (copied). A missing port is
/// `davinci.p2p.blob.transfer.client.port`, else the node's server port. Peers are checked by
/// `vbt_node_bootstrap_partition`. A request with no peers asks the node's peer discovery.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_add_peer(request: *mut vbt_bootstrap_request, peer: *const c_char) -> vbt_result {
    ffi_boundary!([request, peer] {
        // SAFETY: a C string and a live request, per the contract.
        let peer = unsafe { str_arg(peer, "peer") }?;
        let request = unsafe { borrow_mut(request) }?;
        request.request.peers.push(peer);
        Ok(())
    })
}

/// The table format to ask peers for: a `vbt_table_format`. Another number returns
/// `VBT_INVALID_ARGUMENT`.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_set_table_format(request: *mut vbt_bootstrap_request, format: u32) -> vbt_result {
    ffi_boundary!([request] {
        let format = match format {
            0 => None,
            1 => Some(TableFormat::BlockBased),
            2 => Some(TableFormat::PlainTable),
            n => return Err(Error::invalid(format!("table format {n} is not a vbt_table_format (0..2)"))),
        };
        // SAFETY: a live request, per the contract.
        unsafe { borrow_mut(request) }?.request.table_format = format;
        Ok(())
    })
}

/// Whether to try the peers in the order given (`true`) instead of shuffling them (`false`, the
/// default, as Venice does unless told otherwise).
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_set_preserve_order(request: *mut vbt_bootstrap_request, preserve: bool) -> vbt_result {
    ffi_boundary!([request] {
        // SAFETY: a live request, per the contract.
        unsafe { borrow_mut(request) }?.request.preserve_order = preserve;
        Ok(())
    })
}

/// How far a running bootstrap has got, lent to a `vbt_progress_fn` for the duration of the call.
/// The counts are of the attempt on the current peer: they start again from 0 when vbt moves on
/// to the next peer.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct vbt_progress {
    /// The peer (`host:port`) the partition is coming from; borrowed for the call.
    pub peer: *const c_char,
    /// Files received completely so far.
    pub files_done: u64,
    /// Bytes of file contents received so far.
    pub bytes_done: u64,
    /// Files in the peer's snapshot, or -1 when the peer did not announce it (Java senders never
    /// do).
    pub files_total: i64,
    /// Bytes in the peer's snapshot, or -1 when the peer did not announce it.
    pub bytes_total: i64,
    /// True for the last report, given on success just before the completion: `files_done`
    /// equals `vbt_bootstrap_result_files` and `bytes_done` equals `vbt_bootstrap_result_bytes`
    /// plus `vbt_bootstrap_result_resumed_bytes`.
    pub is_final: bool,
}

/// Receives a bootstrap's progress (set with `vbt_bootstrap_request_set_progress`).
///
/// Runs on the node's callback thread (the thread that runs completions, one call at a time), at
/// most about four times a second while data arrives, and on success once more with
/// `progress->is_final` set, right before the completion. It is never called after the
/// bootstrap's completion callback has started, so `user_data` need only live until then.
/// `progress` and its `peer` are borrowed for the call. It should return quickly (completions
/// of other bootstraps wait behind it); it may call vbt functions, but not `vbt_node_free`.
pub type vbt_progress_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, progress: *const vbt_progress)>;

/// The progress callback once the boundary has checked it (not NULL).
pub(crate) type ProgressFn = unsafe extern "C" fn(*mut c_void, *const vbt_progress);

/// Asks for progress reports of bootstraps started from `request` (see `vbt_progress_fn`), passed
/// `user_data`. `callback` NULL stops asking. Without it no progress is reported.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_set_progress(
    request: *mut vbt_bootstrap_request,
    callback: vbt_progress_fn,
    user_data: *mut c_void,
) -> vbt_result {
    ffi_boundary!([request] {
        // SAFETY: a live request, per the contract.
        unsafe { borrow_mut(request) }?.progress = callback.map(|f| (f, UserData::new(user_data)));
        Ok(())
    })
}

/// The host's progress callback as the core's progress hook (called on the callback thread).
pub(crate) fn progress_adapter(f: ProgressFn, user_data: UserData) -> impl Fn(&Progress, bool) + Send + Sync + 'static {
    move |p: &Progress, last: bool| {
        let peer = cstring_lossy(&p.peer);
        let total = |t: Option<u64>| t.and_then(|t| i64::try_from(t).ok()).unwrap_or(-1);
        let report = vbt_progress {
            peer: peer.as_ptr(),
            files_done: p.files_done as u64,
            bytes_done: p.bytes_done,
            files_total: total(p.files_total.map(|n| n as u64)),
            bytes_total: total(p.bytes_total),
            is_final: last,
        };
        // SAFETY: the host's function with its own user_data; `report` and `peer` live across it.
        unsafe { f(user_data.get(), &report) };
    }
}

/// Frees a request. NULL is a no-op. Bootstraps started from it are not affected.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_free(request: *mut vbt_bootstrap_request) {
    ffi_boundary!([] -> () {
        // SAFETY: NULL or a request from vbt_bootstrap_request_new, given up here.
        unsafe { free(request) };
        Ok(())
    })
}

/// Called exactly once per bootstrap that `vbt_node_bootstrap_partition` accepted: on success,
/// failure, cancel, or when the node is freed. `user_data` is the pointer given with the request;
/// `result` and everything reached through it are borrowed until the callback returns (copy what
/// you keep). Runs on the node's callback thread (`vbt-callbacks`), one completion at a time,
/// never inside `vbt_node_bootstrap_partition` and never on a thread that moves data; it may call
/// any vbt function, including `vbt_node_free` on its own node.
pub type vbt_completion_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, result: *const vbt_bootstrap_result)>;

struct FailedPeer {
    peer: CString,
    code: vbt_result,
    message: CString,
}

/// The outcome of one bootstrap, lent to the completion callback (never NULL there).
///
/// Methods (all borrowed until the callback returns): `vbt_bootstrap_result_code`,
/// `_message`, `_op_id`, `_peer`, `_partition_dir`, `_files`, `_bytes`, `_resumed_bytes`,
/// `_streams`, `_seconds`, `_offset_record`, `_store_version_state`, `_failed_peer_count`,
/// `_failed_peer`, `_failed_peer_code`, `_failed_peer_message` (each prefixed
/// `vbt_bootstrap_result`).
/// Accessors given NULL return NULL, 0, an empty slice, or `VBT_INVALID_ARGUMENT` for the code.
pub struct vbt_bootstrap_result {
    op_id: u64,
    code: vbt_result,
    message: CString,
    peer: CString,
    partition_dir: CString,
    files: u64,
    bytes: u64,
    resumed_bytes: u64,
    streams: usize,
    seconds: f64,
    offset_record: Vec<u8>,
    store_version_state: Vec<u8>,
    failed: Vec<FailedPeer>,
}

impl Opaque for vbt_bootstrap_result {
    const NAME: &'static str = "vbt_bootstrap_result";
}

fn failed_peers(f: &[PeerFailure]) -> Vec<FailedPeer> {
    f.iter()
        .map(|p| FailedPeer {
            peer: cstring_lossy(&p.peer),
            code: vbt_result::from_kind(p.error.kind()),
            message: cstring_lossy(p.error.message()),
        })
        .collect()
}

impl vbt_bootstrap_result {
    pub(crate) fn new(op_id: u64, outcome: Result<BootstrapOutcome>) -> Self {
        match outcome {
            Ok(o) => vbt_bootstrap_result {
                op_id,
                code: vbt_result::VBT_OK,
                message: CString::default(),
                peer: cstring_lossy(&o.peer),
                partition_dir: CString::new(o.partition_dir.as_os_str().as_bytes())
                    .unwrap_or_else(|_| cstring_lossy(&o.partition_dir.to_string_lossy())),
                files: o.files as u64,
                bytes: o.bytes,
                resumed_bytes: o.resumed_bytes,
                streams: o.streams,
                seconds: o.elapsed.as_secs_f64(),
                failed: failed_peers(&o.failed_peers),
                offset_record: o.metadata.offset_record,
                store_version_state: o.metadata.store_version_state,
            },
            Err(e) => vbt_bootstrap_result {
                op_id,
                code: vbt_result::from_kind(e.kind()),
                message: cstring_lossy(e.message()),
                peer: CString::default(),
                partition_dir: CString::default(),
                files: 0,
                bytes: 0,
                resumed_bytes: 0,
                streams: 0,
                seconds: 0.0,
                offset_record: Vec::new(),
                store_version_state: Vec::new(),
                failed: failed_peers(e.peer_failures()),
            },
        }
    }

    fn failed(&self, index: usize) -> Result<&FailedPeer> {
        self.failed
            .get(index)
            .ok_or_else(|| Error::invalid(format!("failed peer index {index} out of range (count {})", self.failed.len())))
    }
}

/// `VBT_OK` if the partition was fetched, verified and installed; otherwise why not
/// (`VBT_CANCELLED`, `VBT_ALL_PEERS_FAILED`, `VBT_NO_PEERS`, `VBT_PARTITION_EXISTS`, ...).
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_code(result: *const vbt_bootstrap_result) -> vbt_result {
    ffi_boundary!([result] -> vbt_result {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.code)
    })
}

/// What went wrong, naming each peer's cause when every peer failed; `""` on success.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_message(result: *const vbt_bootstrap_result) -> *const c_char {
    ffi_boundary!([result] -> *const c_char {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.message.as_ptr())
    })
}

/// The id `vbt_node_bootstrap_partition` returned for this bootstrap. Use it rather than a
/// variable written after that call returns: the completion may run before the call returns.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_op_id(result: *const vbt_bootstrap_result) -> u64 {
    ffi_boundary!([result] -> u64 {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.op_id)
    })
}

/// The peer (`host:port`) that served the partition; `""` on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_peer(result: *const vbt_bootstrap_result) -> *const c_char {
    ffi_boundary!([result] -> *const c_char {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.peer.as_ptr())
    })
}

/// The directory the partition was installed in; `""` on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_partition_dir(result: *const vbt_bootstrap_result) -> *const c_char {
    ffi_boundary!([result] -> *const c_char {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.partition_dir.as_ptr())
    })
}

/// Number of files installed (counting any kept from an earlier attempt, see
/// `vbt_bootstrap_result_resumed_bytes`); 0 on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_files(result: *const vbt_bootstrap_result) -> u64 {
    ffi_boundary!([result] -> u64 {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.files)
    })
}

/// Number of file bytes received in the successful attempt (every one checksum-verified); 0 on
/// failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_bytes(result: *const vbt_bootstrap_result) -> u64 {
    ffi_boundary!([result] -> u64 {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.bytes)
    })
}

/// Number of file bytes not sent again because they were kept, verified, from an earlier
/// interrupted attempt on the same vbt sender's snapshot (resume); 0 on a fresh transfer and on
/// failure. `_bytes + _resumed_bytes` is the size of the installed files.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_resumed_bytes(result: *const vbt_bootstrap_result) -> u64 {
    ffi_boundary!([result] -> u64 {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.resumed_bytes)
    })
}

/// Number of connections that carried the partition's files in the successful attempt: more
/// than 1 only between vbt nodes (up to `vbt.receive.streams`); 0 on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_streams(result: *const vbt_bootstrap_result) -> usize {
    ffi_boundary!([result] -> usize {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.streams)
    })
}

/// Seconds the successful attempt took, from connecting to the installed partition; 0 on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_seconds(result: *const vbt_bootstrap_result) -> f64 {
    ffi_boundary!([result] -> f64 {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.seconds)
    })
}

/// The partition's offset record (`OffsetRecord.toBytes()`: magic 24, protocol version, Avro
/// record), from which the host resumes Kafka; empty on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_offset_record(result: *const vbt_bootstrap_result) -> vbt_byte_slice {
    ffi_boundary!([result] -> vbt_byte_slice {
        // SAFETY: a result lent to the running callback.
        Ok(vbt_byte_slice::of(&unsafe { borrow(result) }?.offset_record))
    })
}

/// The store-version state (magic 25, protocol version, Avro record); empty on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_store_version_state(result: *const vbt_bootstrap_result) -> vbt_byte_slice {
    ffi_boundary!([result] -> vbt_byte_slice {
        // SAFETY: a result lent to the running callback.
        Ok(vbt_byte_slice::of(&unsafe { borrow(result) }?.store_version_state))
    })
}

/// On success: how many peers were tried (or probed) and failed before one served the partition.
/// On failure with `VBT_ALL_PEERS_FAILED`: every peer, each with its own code and message (the
/// same causes `vbt_bootstrap_result_message` joins into one line). Otherwise 0.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_failed_peer_count(result: *const vbt_bootstrap_result) -> usize {
    ffi_boundary!([result] -> usize {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.failed.len())
    })
}

/// The `index`th failed peer (`host:port`); NULL if `index` is out of range.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_failed_peer(result: *const vbt_bootstrap_result, index: usize) -> *const c_char {
    ffi_boundary!([result] -> *const c_char {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.failed(index)?.peer.as_ptr())
    })
}

/// Why the `index`th failed peer failed, as a code; `VBT_INVALID_ARGUMENT` if out of range.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_failed_peer_code(result: *const vbt_bootstrap_result, index: usize) -> vbt_result {
    ffi_boundary!([result] -> vbt_result {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.failed(index)?.code)
    })
}

/// Why the `index`th failed peer failed, in words; NULL if `index` is out of range.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_failed_peer_message(result: *const vbt_bootstrap_result, index: usize) -> *const c_char {
    ffi_boundary!([result] -> *const c_char {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.failed(index)?.message.as_ptr())
    })
}
