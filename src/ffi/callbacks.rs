//! The host's callbacks other than completions: the snapshot source, peer discovery and the log
//! sink, with the two small output types the host fills from inside them (`vbt_bytes`,
//! `vbt_peer_list`). vbt copies whatever the host puts there, so no allocator crosses the
//! boundary in either direction.

use std::ffi::{c_char, c_void, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use super::boundary::error_from_host_code;
use super::handle::{borrow_mut, Opaque, UserData};
use super::result::vbt_result;
use super::types::{bytes_arg, cstring_lossy, str_arg};
use crate::error::{Error, Result};
use crate::protocol::PartitionId;
use crate::PeerDiscovery;

/// A byte buffer vbt lends the host inside a callback, for the host to fill with
/// `vbt_bytes_set`. It lives only for that callback; vbt copies what it holds afterwards.
pub struct vbt_bytes {
    data: Vec<u8>,
}

impl Opaque for vbt_bytes {
    const NAME: &'static str = "vbt_bytes";
}

/// Replaces the contents of `bytes` with a copy of `len` bytes at `data` (`data` may be NULL only
/// when `len` is 0). Call it from inside the callback that received `bytes`.
///
/// Returns `VBT_INVALID_ARGUMENT` if `bytes` is NULL, or `data` is NULL with `len` > 0.
#[no_mangle]
pub extern "C" fn vbt_bytes_set(bytes: *mut vbt_bytes, data: *const u8, len: usize) -> vbt_result {
    ffi_boundary!([bytes] {
        // SAFETY: a live vbt_bytes lent to the running callback.
        let bytes = unsafe { borrow_mut(bytes) }?;
        // SAFETY: the host promises `len` readable bytes at `data`.
        bytes.data = unsafe { bytes_arg(data, len) }.map_err(|e| Error::invalid(format!("vbt_bytes_set: {}", e.message())))?;
        Ok(())
    })
}

/// A list of peers vbt lends the host inside a discovery callback, for the host to fill with
/// `vbt_peer_list_add`. It lives only for that callback.
pub struct vbt_peer_list {
    peers: Vec<String>,
}

impl Opaque for vbt_peer_list {
    const NAME: &'static str = "vbt_peer_list";
}

/// Appends a copy of `peer` (`host`, `host:port`, `[v6]` or `[v6]:port`; a missing port is
/// `davinci.p2p.blob.transfer.client.port`, else the server port) to `list`. The value is
/// checked when the bootstrap uses it; a malformed one fails the bootstrap with
/// `VBT_INVALID_ARGUMENT`.
///
/// Returns `VBT_INVALID_ARGUMENT` if an argument is NULL or `peer` is not UTF-8.
#[no_mangle]
pub extern "C" fn vbt_peer_list_add(list: *mut vbt_peer_list, peer: *const c_char) -> vbt_result {
    ffi_boundary!([list, peer] {
        // SAFETY: a live vbt_peer_list lent to the running callback; `peer` is a C string.
        let list = unsafe { borrow_mut(list) }?;
        let peer = unsafe { str_arg(peer, "peer") }?;
        list.peers.push(peer);
        Ok(())
    })
}

/// Creates a checkpoint of one partition for a sender (set with
/// `vbt_config_set_snapshot_source`).
///
/// vbt asks when a peer requests the partition and no fresh snapshot of it exists. The host
/// captures the partition's metadata first, then creates a consistent RocksDB checkpoint in `dir`
/// (which does not exist yet: the host creates it, as RocksDB's `CreateCheckpoint` does), and
/// copies the metadata into the two buffers with `vbt_bytes_set`:
/// - `offset_record`: `OffsetRecord.toBytes()` (magic 24, PARTITION_STATE protocol version, Avro)
/// - `store_version_state`: magic 25, STORE_VERSION_STATE protocol version, Avro record.
///
/// Return `VBT_OK` (0), or a `vbt_result` code that says why not: `VBT_NOT_FOUND` when the
/// partition is not hosted here (the peer gets 404), `VBT_IO`, `VBT_STORAGE`, ... All strings and
/// buffers are borrowed for the duration of the call. Called on a vbt thread (never the host's),
/// possibly for different partitions at once, never twice at once for the same partition. vbt
/// removes the directory itself when the snapshot goes stale.
pub type vbt_snapshot_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        store: *const c_char,
        version: i32,
        partition: i32,
        dir: *const c_char,
        offset_record: *mut vbt_bytes,
        store_version_state: *mut vbt_bytes,
    ) -> u32,
>;

/// Names the peers that hold a partition, for a bootstrap request that names none (set with
/// `vbt_config_set_peer_discovery`).
///
/// The host adds each peer with `vbt_peer_list_add(peers, "host:port")` and returns `VBT_OK` (0)
/// or a `vbt_result` code (the bootstrap then fails with that code). Adding none is allowed: the
/// bootstrap then fails with `VBT_NO_PEERS`. Called on a vbt thread; it may block.
pub type vbt_peer_discovery_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, store: *const c_char, version: i32, partition: i32, peers: *mut vbt_peer_list) -> u32,
>;

/// Severity of a log record, as the Rust `log` crate grades them. Also the threshold given to
/// `vbt_config_set_log_level` (records at that level and more severe are delivered).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum vbt_log_level {
    /// As a threshold: deliver nothing.
    VBT_LOG_OFF = 0,
    /// Failures: a bootstrap or transfer failed, a callback panicked.
    VBT_LOG_ERROR = 1,
    /// Trouble vbt works around: a peer failed and the next one is tried.
    VBT_LOG_WARN = 2,
    /// Milestones: a partition fetched or served (the default threshold).
    VBT_LOG_INFO = 3,
    /// Details of each attempt and snapshot.
    VBT_LOG_DEBUG = 4,
    /// Everything.
    VBT_LOG_TRACE = 5,
}

impl vbt_log_level {
    fn of(level: log::Level) -> Self {
        match level {
            log::Level::Error => vbt_log_level::VBT_LOG_ERROR,
            log::Level::Warn => vbt_log_level::VBT_LOG_WARN,
            log::Level::Info => vbt_log_level::VBT_LOG_INFO,
            log::Level::Debug => vbt_log_level::VBT_LOG_DEBUG,
            log::Level::Trace => vbt_log_level::VBT_LOG_TRACE,
        }
    }

    /// A threshold from the host's number.
    pub(crate) fn filter(level: u32) -> Result<log::LevelFilter> {
        crate::logging::level_filter(level)
    }
}

/// Receives vbt's log records (set with `vbt_config_set_log_sink`). `target` is the Rust module
/// that logged (e.g. `"venice_blob_transfer::client"`); both strings are borrowed for the call.
/// Called on any thread, including several at once; it must not block for long and must not call
/// `vbt_node_free`.
pub type vbt_log_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: vbt_log_level, target: *const c_char, message: *const c_char)>;

/// The callbacks once the boundary has checked them (not NULL).
pub(crate) type SnapshotFn =
    unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, *const c_char, *mut vbt_bytes, *mut vbt_bytes) -> u32;
pub(crate) type DiscoveryFn = unsafe extern "C" fn(*mut c_void, *const c_char, i32, i32, *mut vbt_peer_list) -> u32;
pub(crate) type LogFn = unsafe extern "C" fn(*mut c_void, vbt_log_level, *const c_char, *const c_char);

/// A C string of a path (paths vbt names come from UTF-8 configuration, so this is exact).
fn path_cstring(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_else(|_| cstring_lossy(&p.to_string_lossy()))
}

/// The snapshot callback as the core's `HostCreateFn`.
pub(crate) fn snapshot_adapter(f: SnapshotFn, user_data: UserData) -> Box<crate::snapshot::HostCreateFn> {
    Box::new(move |id: &PartitionId, dir: &Path| {
        let store = cstring_lossy(&id.store);
        let dir_c = path_cstring(dir);
        let mut offset_record = vbt_bytes { data: Vec::new() };
        let mut store_version_state = vbt_bytes { data: Vec::new() };
        // SAFETY: the host's function with its own user_data; every pointer lives across the call.
        let rc = unsafe {
            f(user_data.get(), store.as_ptr(), id.version, id.partition, dir_c.as_ptr(), &mut offset_record, &mut store_version_state)
        };
        if rc != 0 {
            return Err(error_from_host_code(rc, format_args!("the host's snapshot source for {}", id.replica())));
        }
        Ok((offset_record.data, store_version_state.data))
    })
}

/// The discovery callback as the core's `PeerDiscovery`.
pub(crate) struct HostDiscovery {
    pub f: DiscoveryFn,
    pub user_data: UserData,
}

impl PeerDiscovery for HostDiscovery {
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>> {
        let store = cstring_lossy(&id.store);
        let mut list = vbt_peer_list { peers: Vec::new() };
        // SAFETY: the host's function with its own user_data; every pointer lives across the call.
        let rc = unsafe { (self.f)(self.user_data.get(), store.as_ptr(), id.version, id.partition, &mut list) };
        if rc != 0 {
            return Err(error_from_host_code(rc, format_args!("the host's peer discovery for {}", id.replica())));
        }
        Ok(list.peers)
    }
}

/// Installs the host's log sink process-wide (replacing any earlier sink) until the returned
/// registration is dropped (see `crate::logging` for the lifetime).
pub(crate) fn install_log_sink(f: LogFn, user_data: UserData, level: log::LevelFilter) -> crate::logging::SinkRegistration {
    let sink = move |level: log::Level, target: &str, message: &str| {
        let (target, message) = (cstring_lossy(target), cstring_lossy(message));
        // SAFETY: the host's function with its own user_data; the strings live across the call.
        unsafe { f(user_data.get(), vbt_log_level::of(level), target.as_ptr(), message.as_ptr()) };
    };
    let (registration, installed) = crate::logging::register(Arc::new(sink), level);
    if !installed {
        // Another logger (a Rust host's) owns the process; vbt's records go there instead.
        log::warn!("a logger was installed before vbt's: the host log sink receives nothing");
    }
    registration
}
