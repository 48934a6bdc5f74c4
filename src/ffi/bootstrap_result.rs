//! `vbt_bootstrap_result`: the outcome of one bootstrap, lent to the completion callback
//! (`vbt_completion_fn`), with its accessors.

use std::ffi::{c_char, c_void, CString};
use std::os::unix::ffi::OsStrExt;

use super::handle::{borrow, Opaque};
use super::result::vbt_result;
use super::types::{cstring_lossy, vbt_byte_slice};
use crate::client::{BootstrapOutcome, PeerFailure};
use crate::error::{Error, Result};

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

struct ReusedFrom {
    peer: CString,
    bytes: u64,
}

/// The outcome of one bootstrap, lent to the completion callback (never NULL there).
///
/// Methods (all borrowed until the callback returns): `vbt_bootstrap_result_code`,
/// `_message`, `_op_id`, `_peer`, `_partition_dir`, `_files`, `_bytes`, `_resumed_bytes`,
/// `_streams`, `_seconds`, `_offset_record`, `_store_version_state`, `_failed_peer_count`,
/// `_failed_peer`, `_failed_peer_code`, `_failed_peer_message`, `_reused_from_count`,
/// `_reused_from_peer`, `_reused_from_bytes` (each prefixed `vbt_bootstrap_result`).
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
    reused_from: Vec<ReusedFrom>,
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
                reused_from: o.reused_from.iter().map(|(peer, bytes)| ReusedFrom { peer: cstring_lossy(peer), bytes: *bytes }).collect(),
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
                reused_from: Vec::new(),
            },
        }
    }

    fn failed(&self, index: usize) -> Result<&FailedPeer> {
        self.failed
            .get(index)
            .ok_or_else(|| Error::invalid(format!("failed peer index {index} out of range (count {})", self.failed.len())))
    }

    fn reused_from(&self, index: usize) -> Result<&ReusedFrom> {
        self.reused_from
            .get(index)
            .ok_or_else(|| Error::invalid(format!("reused-from index {index} out of range (count {})", self.reused_from.len())))
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

/// Number of file bytes not sent again because they were kept from an earlier interrupted
/// attempt, on any vbt sender whose manifest lists them (resume): whole files verified, and the
/// start of files that were in flight (verified with the rest of their file); 0 on a fresh
/// transfer and on failure. `_bytes + _resumed_bytes` is the size of the installed files; by the peer that first
/// sent them: `vbt_bootstrap_result_reused_from_count`.
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

/// On success: how many peers first sent the files kept from earlier interrupted attempts (see
/// `vbt_bootstrap_result_resumed_bytes`), one entry per peer; the entries' bytes add up to
/// `_resumed_bytes`. 0 on a fresh transfer and on failure.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_reused_from_count(result: *const vbt_bootstrap_result) -> usize {
    ffi_boundary!([result] -> usize {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.reused_from.len())
    })
}

/// The `index`th peer (`host:port`) whose kept files were reused; NULL if `index` is out of range.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_reused_from_peer(result: *const vbt_bootstrap_result, index: usize) -> *const c_char {
    ffi_boundary!([result] -> *const c_char {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.reused_from(index)?.peer.as_ptr())
    })
}

/// Bytes of kept files the `index`th reused-from peer first sent; 0 if `index` is out of range.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_result_reused_from_bytes(result: *const vbt_bootstrap_result, index: usize) -> u64 {
    ffi_boundary!([result] -> u64 {
        // SAFETY: a result lent to the running callback.
        Ok(unsafe { borrow(result) }?.reused_from(index)?.bytes)
    })
}
