//! `vbt_node`: the sender and receiver of partitions, wrapping the core's `Node`.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use super::bootstrap_request::vbt_bootstrap_request;
use super::bootstrap_result::{vbt_bootstrap_result, vbt_completion_fn};
use super::callbacks::{install_log_sink, snapshot_adapter, HostDiscovery};
use super::checkpoint::HostCheckpoints;
use super::config::vbt_config;
use super::handle::{borrow, free, into_raw, write_out, Opaque, UserData};
use super::hooks::{file_sent_adapter, metadata_hook_adapter};
use super::origin::HostOrigin;
use super::progress::progress_adapter;
use super::result::vbt_result;
use crate::error::{Error, ErrorKind};
use crate::Node;

/// A vbt node: it serves partitions to peers (after `vbt_node_start_server`) and bootstraps
/// partitions from them (`vbt_node_bootstrap_partition`). It owns its threads: a small runtime
/// that moves the data and one callback thread that runs completions.
///
/// Methods: `vbt_node_new`, `vbt_node_start_server`, `vbt_node_bootstrap_partition`,
/// `vbt_node_cancel`, `vbt_node_free`.
///
/// Every method except `vbt_node_free` may be called from any thread, concurrently.
/// `vbt_node_free` must not race with other calls on the same node.
pub struct vbt_node {
    node: Node,
    /// Dropped after `node` (field order): the log sink outlives the node's last records.
    _log_sink: Option<crate::logging::SinkRegistration>,
}

impl Opaque for vbt_node {
    const NAME: &'static str = "vbt_node";
}

/// Makes a node from `config` (which it does not take: the config can be freed or reused right
/// away) and stores it in `*out`; free it with `vbt_node_free`.
///
/// This is where the settings are checked together: returns `VBT_CONFIG` (naming the key) if, for
/// example, a snapshot source is set but neither `vbt.snapshot.dir` nor `vbt.base.dir` is. A node
/// needs `vbt.base.dir` (or `data.base.path`) to receive partitions, and a base directory, a
/// snapshot source or a checkpoint source to serve them. If the config has a log sink, it is
/// installed now.
#[no_mangle]
pub extern "C" fn vbt_node_new(config: *const vbt_config, out: *mut *mut vbt_node) -> vbt_result {
    ffi_boundary!([config, out] {
        // SAFETY: a live config, per the contract.
        let config = unsafe { borrow(config) }?;
        let mut builder = Node::builder(config.build()?);
        // A checkpoint source wins over a snapshot source (whose directory it then needs not).
        if let Some((acquire, release, user_data)) = config.checkpoints {
            builder = builder.checkpoint_leases(Arc::new(HostCheckpoints { acquire, release, user_data }));
        } else if let Some((f, user_data)) = config.snapshot {
            builder = builder.host_snapshots(snapshot_adapter(f, user_data));
        }
        if let Some((f, user_data)) = config.discovery {
            builder = builder.peer_discovery(Arc::new(HostDiscovery { f, user_data }));
        }
        if let Some((f, user_data)) = config.metadata_hook {
            builder = builder.metadata_hook(metadata_hook_adapter(f, user_data));
        }
        if let Some((identity, may_read, user_data)) = config.origin {
            builder = builder.origin_policy(Arc::new(HostOrigin { identity, may_read, user_data }));
        }
        if let Some((f, user_data)) = config.file_sent {
            builder = builder.file_sent_listener(file_sent_adapter(f, user_data));
        }
        let node = builder.build()?;
        let log_sink = config.log_sink.map(|(f, user_data)| install_log_sink(f, user_data, config.log_level));
        // SAFETY: `out` is writable (checked non-NULL by the boundary).
        unsafe { write_out(out, into_raw(vbt_node { node, _log_sink: log_sink })) }
    })
}

/// Starts serving partitions on `davinci.p2p.blob.transfer.server.port` (`0` picks a free port)
/// at `vbt.server.bind.address`, and stores the bound port in `*out_port`.
///
/// Returns `VBT_CONFIG` if the port is not set or the node has nothing to serve, `VBT_IO` if the
/// address cannot be bound, `VBT_INVALID_ARGUMENT` if the server is already running,
/// `VBT_SHUTDOWN` after the node began shutting down.
#[no_mangle]
pub extern "C" fn vbt_node_start_server(node: *const vbt_node, out_port: *mut u16) -> vbt_result {
    ffi_boundary!([node, out_port] {
        // SAFETY: a live node, per the contract.
        let addr = unsafe { borrow(node) }?.node.start_server()?;
        // SAFETY: `out_port` is writable (checked non-NULL by the boundary).
        unsafe { write_out(out_port, addr.port()) }
    })
}

/// Starts bootstrapping the partition `request` names (the request is copied) and, if
/// `out_op_id` is not NULL, stores the operation's id there for `vbt_node_cancel`.
///
/// Checks run now and fail synchronously, without calling `callback`: `VBT_SHUTDOWN` (node
/// closing), `VBT_CONFIG` (no base directory), `VBT_INVALID_ARGUMENT` (a malformed peer),
/// `VBT_ALREADY_IN_PROGRESS` (this partition is being bootstrapped on this node). When this returns
/// `VBT_OK`, `callback(user_data, result)` runs exactly once later: see `vbt_completion_fn`. It may
/// run before this call returns (on the callback thread), so read the id from the result.
///
/// When the request names no peers, the node's peer discovery is asked (on a vbt thread). Each
/// peer is tried in turn until one serves a verified partition; the partition is then installed
/// atomically under the base directory. Existing data is never replaced (`VBT_PARTITION_EXISTS`).
#[no_mangle]
pub extern "C" fn vbt_node_bootstrap_partition(
    node: *const vbt_node,
    request: *const vbt_bootstrap_request,
    callback: vbt_completion_fn,
    user_data: *mut c_void,
    out_op_id: *mut u64,
) -> vbt_result {
    ffi_boundary!([node, request, callback] {
        // SAFETY: a live node and request, per the contract.
        let node = &unsafe { borrow(node) }?.node;
        let request = unsafe { borrow(request) }?;
        let progress = request.progress;
        let request = request.request.clone();
        let callback = callback.ok_or_else(|| Error::invalid("callback is NULL"))?;
        let user_data = UserData::new(user_data);
        // The core never calls back for a refused call, and hands the op id to the completion.
        let done = move |op_id: crate::OpId, outcome| {
            let result = vbt_bootstrap_result::new(op_id.get(), outcome);
            let delivered = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: the host's callback with its own user_data; `result` lives across the call.
                unsafe { callback(user_data.get(), &result) }
            }));
            if delivered.is_err() {
                log::error!("the completion callback of operation {op_id} unwound");
            }
        };
        let op_id = match progress {
            Some((f, data)) => node.bootstrap_with_progress(request, progress_adapter(f, data), done)?,
            None => node.bootstrap_with_callback(request, done)?,
        };
        if !out_op_id.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { write_out(out_op_id, op_id.get()) }?;
        }
        Ok(())
    })
}

/// Asks a running bootstrap to stop. Its completion then arrives with `VBT_CANCELLED` (or with
/// its real result, if it had already finished verifying the partition). Returns `VBT_NOT_FOUND`
/// if no bootstrap with that id is running on this node (it finished, or never existed).
#[no_mangle]
pub extern "C" fn vbt_node_cancel(node: *const vbt_node, op_id: u64) -> vbt_result {
    ffi_boundary!([node] {
        // SAFETY: a live node, per the contract.
        if unsafe { borrow(node) }?.node.cancel(crate::OpId::from_raw(op_id)) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::NotFound, format!("no bootstrap with id {op_id} is running on this node")))
        }
    })
}

/// Shuts a node down and frees it. NULL is a no-op.
///
/// Cancels every bootstrap in flight and delivers every outstanding completion (with
/// `VBT_CANCELLED`, or the result it had already reached) before returning, stops the server,
/// stops the node's threads, hands back every leased checkpoint (`vbt_checkpoint_release_fn`), and
/// removes the log sink the node installed. Safe to call from inside a completion callback,
/// including this node's own: completions still queued then run on the callback thread after the
/// current one returns. Must not be called from inside any other callback (snapshot or checkpoint
/// source, discovery, metadata hook, files-sent listener, log sink), and the node must not be used
/// afterwards.
#[no_mangle]
pub extern "C" fn vbt_node_free(node: *mut vbt_node) {
    ffi_boundary!([] -> () {
        // SAFETY: NULL or a node from vbt_node_new, given up here.
        unsafe { free(node) };
        Ok(())
    })
}
