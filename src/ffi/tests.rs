//! Checks of the C ABI that need no C compiler: the committed header matches the code, every
//! export goes through the boundary, and the completion contract holds through the exports.
//! The C tests (`bindings/c/`, run by `scripts/test-c`) exercise it from C.

use std::ffi::{c_void, CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::bootstrap_request::*;
use super::bootstrap_result::*;
use super::config::*;
use super::node::*;
use super::result::*;

#[test]
fn committed_header_matches_the_code() {
    let generated = std::fs::read_to_string(concat!(env!("OUT_DIR"), "/vbt.h")).unwrap();
    assert!(!generated.is_empty(), "build.rs could not generate the header (see the build warnings)");
    let committed = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/vbt.h")).unwrap_or_default();
    assert!(
        committed == generated,
        "include/vbt.h differs from what cbindgen generates from src/ffi now: \
         run `VBT_UPDATE_HEADER=1 cargo build` and commit include/vbt.h"
    );
}

/// No export is written by hand outside the boundary macro, and each is `#[no_mangle]`.
#[test]
fn every_export_goes_through_the_boundary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut exports = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("extern \"C\" fn vbt_") {
                continue;
            }
            exports += 1;
            let name = line.split("fn ").nth(1).unwrap().split('(').next().unwrap();
            assert!(line.starts_with("pub extern \"C\" fn"), "{name}: exports are `pub extern \"C\" fn`");
            assert!(lines[..i].iter().rev().find(|l| !l.trim_start().starts_with("///")) == Some(&"#[no_mangle]"), "{name}: #[no_mangle]");
            // The body starts with the boundary, right after the signature.
            let open = (i..lines.len()).find(|&j| lines[j].trim_end().ends_with('{')).unwrap();
            let first = lines[open + 1].trim_start();
            assert!(first.starts_with("ffi_boundary!("), "{}: {name} does not start with ffi_boundary!", path.display());
        }
    }
    assert!(exports >= 30, "found only {exports} exports");
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(vbt_last_error_message()) }.to_str().unwrap().to_owned()
}

unsafe extern "C" fn count_completion(user_data: *mut c_void, result: *const vbt_bootstrap_result) {
    let counter = unsafe { &*(user_data as *const AtomicUsize) };
    assert!(!result.is_null());
    counter.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn refused_bootstraps_never_call_back_and_accepted_ones_once() {
    let base = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = ptr::null_mut();
    assert_eq!(vbt_config_new(&mut config), vbt_result::VBT_OK);
    let dir = cstr(&base.path().display().to_string());
    assert_eq!(vbt_config_set(config, c"vbt.base.dir".as_ptr(), dir.as_ptr()), vbt_result::VBT_OK);
    let mut node = ptr::null_mut();
    assert_eq!(vbt_node_new(config, &mut node), vbt_result::VBT_OK);
    vbt_config_free(config);

    let counter = Box::new(AtomicUsize::new(0));
    let user_data = &*counter as *const AtomicUsize as *mut c_void;
    let mut request = ptr::null_mut();
    assert_eq!(vbt_bootstrap_request_new(c"s".as_ptr(), 1, 0, &mut request), vbt_result::VBT_OK);

    // A malformed peer is refused synchronously; the callback must not run for it.
    assert_eq!(vbt_bootstrap_request_add_peer(request, c"host:notaport".as_ptr()), vbt_result::VBT_OK);
    let mut op = 0;
    let rc = vbt_node_bootstrap_partition(node, request, Some(count_completion), user_data, &mut op);
    assert_eq!(rc, vbt_result::VBT_INVALID_ARGUMENT, "{}", last_error());
    assert_eq!(op, 0, "outputs are written only on success");
    vbt_bootstrap_request_free(request);

    // One accepted (a peer that never answers), then the same partition again: refused.
    assert_eq!(vbt_bootstrap_request_new(c"s".as_ptr(), 1, 0, &mut request), vbt_result::VBT_OK);
    let peer = cstr(&silent.local_addr().unwrap().to_string());
    assert_eq!(vbt_bootstrap_request_add_peer(request, peer.as_ptr()), vbt_result::VBT_OK);
    assert_eq!(vbt_node_bootstrap_partition(node, request, Some(count_completion), user_data, &mut op), vbt_result::VBT_OK);
    assert_eq!(
        vbt_node_bootstrap_partition(node, request, Some(count_completion), user_data, ptr::null_mut()),
        vbt_result::VBT_ALREADY_IN_PROGRESS
    );
    vbt_bootstrap_request_free(request);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counter.load(Ordering::SeqCst), 0, "no callback for refused calls");
    assert_eq!(vbt_node_cancel(node, op + 1000), vbt_result::VBT_NOT_FOUND);
    vbt_node_free(node); // delivers the accepted one before returning
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(counter.load(Ordering::SeqCst), 1, "exactly once");
}

/// The reused-from accessors over a resumed outcome (the C tests see only fresh transfers): one
/// entry per peer, in the outcome's order; out of range gives NULL and 0, as the failed-peer ones.
#[test]
fn reused_from_lists_each_first_sender() {
    use crate::client::BootstrapOutcome;
    use crate::protocol::metadata::PartitionMetadata;
    let metadata = PartitionMetadata { topic_name: "s_v1".into(), partition_id: 0, offset_record: vec![24], store_version_state: vec![25] };
    let outcome = BootstrapOutcome {
        id: crate::protocol::PartitionId::new("s", 1, 0).unwrap(),
        peer: "b:2".into(),
        files: 3,
        bytes: 10,
        resumed_bytes: 300,
        reused_from: vec![("a:1".into(), 100), ("c:3".into(), 200)],
        streams: 1,
        elapsed: Duration::from_millis(5),
        first_byte: Duration::from_millis(1),
        checksum: "XXH3-128",
        partition_dir: "/base/s_v1/s_v1_0".into(),
        metadata,
        failed_peers: Vec::new(),
    };
    let r = vbt_bootstrap_result::new(7, Ok(outcome));
    let r: *const vbt_bootstrap_result = &r;
    let peer = |i| {
        let p = vbt_bootstrap_result_reused_from_peer(r, i);
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned())
    };
    assert_eq!(vbt_bootstrap_result_reused_from_count(r), 2);
    assert_eq!((peer(0).as_deref(), vbt_bootstrap_result_reused_from_bytes(r, 0)), (Some("a:1"), 100));
    assert_eq!((peer(1).as_deref(), vbt_bootstrap_result_reused_from_bytes(r, 1)), (Some("c:3"), 200));
    assert_eq!((peer(2), vbt_bootstrap_result_reused_from_bytes(r, 2)), (None, 0));
    assert_eq!(
        vbt_bootstrap_result_reused_from_bytes(r, 0) + vbt_bootstrap_result_reused_from_bytes(r, 1),
        vbt_bootstrap_result_resumed_bytes(r)
    );

    let failed = vbt_bootstrap_result::new(8, Err(crate::error::Error::invalid("no")));
    let failed: *const vbt_bootstrap_result = &failed;
    assert_eq!(vbt_bootstrap_result_reused_from_count(failed), 0);
    assert!(vbt_bootstrap_result_reused_from_peer(failed, 0).is_null());
    assert_eq!(vbt_bootstrap_result_reused_from_count(ptr::null()), 0);
    assert!(vbt_bootstrap_result_reused_from_peer(ptr::null(), 0).is_null());
    assert_eq!(vbt_bootstrap_result_reused_from_bytes(ptr::null(), 0), 0);
}

#[test]
fn config_errors_name_the_key_and_change_nothing() {
    let mut config = ptr::null_mut();
    assert_eq!(vbt_config_new(&mut config), vbt_result::VBT_OK);
    let props = c"vbt.base.dir=/tmp/x\nblob.transfer.max.concurrent.snapshot.user=-3\n";
    assert_eq!(vbt_config_set_properties(config, props.as_ptr()), vbt_result::VBT_CONFIG);
    assert!(last_error().contains("blob.transfer.max.concurrent.snapshot.user"), "{}", last_error());
    assert_eq!(vbt_config_set(config, c"no.such.key".as_ptr(), c"whatever".as_ptr()), vbt_result::VBT_OK);
    assert_eq!(last_error(), "");
    assert_eq!(vbt_config_set(config, c"data.base.path".as_ptr(), c"/data".as_ptr()), vbt_result::VBT_OK);
    let built = unsafe { &*config }.build().unwrap();
    assert_eq!(built.base_dir.as_deref(), Some(Path::new("/data/rocksdb")), "nothing from the refused text");
    vbt_config_free(config);
    vbt_config_free(ptr::null_mut());
}

struct LeaseHost {
    dir: CString,
    releases: AtomicUsize,
}

unsafe extern "C" fn acquire_dir(
    user_data: *mut c_void,
    _store: *const std::ffi::c_char,
    _version: i32,
    _partition: i32,
    checkpoint: *mut super::checkpoint::vbt_checkpoint,
    _error: *mut super::hooks::vbt_message,
) -> u32 {
    use super::checkpoint::*;
    let host = unsafe { &*(user_data as *const LeaseHost) };
    let (o, s) = ([24u8, 24, b'c'], [25u8, 7, 1]);
    assert_eq!(vbt_checkpoint_set_dir(checkpoint, host.dir.as_ptr()), vbt_result::VBT_OK);
    assert_eq!(vbt_checkpoint_set_offset_record(checkpoint, o.as_ptr(), o.len()), vbt_result::VBT_OK);
    assert_eq!(vbt_checkpoint_set_store_version_state(checkpoint, s.as_ptr(), s.len()), vbt_result::VBT_OK);
    0
}

unsafe extern "C" fn count_release(
    user_data: *mut c_void,
    _store: *const std::ffi::c_char,
    _version: i32,
    _partition: i32,
    _lease: *mut c_void,
) {
    unsafe { &*(user_data as *const LeaseHost) }.releases.fetch_add(1, Ordering::SeqCst);
}

/// A lease is handed back exactly once, whether the core calls its release or only drops it (as a
/// runtime that is shutting down drops blocking work it never ran).
#[test]
fn a_c_lease_is_released_once_whether_its_release_runs_or_is_dropped() {
    use crate::snapshot::CheckpointLeases;
    let dir = tempfile::tempdir().unwrap();
    let host = LeaseHost { dir: cstr(&dir.path().display().to_string()), releases: AtomicUsize::new(0) };
    let leases = super::checkpoint::HostCheckpoints {
        acquire: acquire_dir,
        release: Some(count_release),
        user_data: super::handle::UserData::new(&host as *const LeaseHost as *mut c_void),
    };
    let id = crate::protocol::PartitionId::new("s", 1, 0).unwrap();
    let lease = leases.acquire(&id).unwrap();
    assert_eq!(lease.dir, dir.path());
    assert_eq!(lease.metadata.offset_record, [24, 24, b'c']);
    assert_eq!(host.releases.load(Ordering::SeqCst), 0);
    (lease.release)();
    assert_eq!(host.releases.load(Ordering::SeqCst), 1);
    drop(leases.acquire(&id).unwrap());
    assert_eq!(host.releases.load(Ordering::SeqCst), 2);
}
