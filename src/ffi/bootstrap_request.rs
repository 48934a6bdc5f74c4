//! `vbt_bootstrap_request`: what to bootstrap and where from, with its exports (and
//! `vbt_table_format`, which one of them takes).

use std::ffi::{c_char, c_void};

use super::handle::{borrow_mut, free, into_raw, write_out, Opaque, UserData};
use super::progress::{vbt_progress_fn, ProgressFn};
use super::result::vbt_result;
use super::types::str_arg;
use crate::client::BootstrapRequest;
use crate::error::Error;
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

/// Frees a request. NULL is a no-op. Bootstraps started from it are not affected.
#[no_mangle]
pub extern "C" fn vbt_bootstrap_request_free(request: *mut vbt_bootstrap_request) {
    ffi_boundary!([] -> () {
        // SAFETY: NULL or a request from vbt_bootstrap_request_new, given up here.
        unsafe { free(request) };
        Ok(())
    })
}
