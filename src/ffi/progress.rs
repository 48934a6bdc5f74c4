//! `vbt_progress`: how far a running bootstrap has got, and the host's `vbt_progress_fn` that
//! receives it (set with `vbt_bootstrap_request_set_progress`).

use std::ffi::{c_char, c_void};

use super::handle::UserData;
use super::types::cstring_lossy;
use crate::client::Progress;

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
