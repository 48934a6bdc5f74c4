//! Result codes, their names and messages, the thread's last error, and the library version.

use std::ffi::{c_char, CStr, CString};
use std::sync::OnceLock;

use super::types;
use crate::error::ErrorKind;

/// What a vbt function (or a completed bootstrap) reports. `VBT_OK` is 0; every other code is one
/// class of failure, with the same number as the core's error kind and as Java's
/// `BlobTransferException.Code`. Numbers are never reused or renumbered; new codes are appended.
///
/// Functions that take a code from the host (`vbt_result_name`, the return value of host
/// callbacks) take it as `uint32_t`, so an unknown number is never undefined behaviour.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum vbt_result {
    /// Success.
    VBT_OK = 0,
    /// A bad argument: NULL where a value is required, a string that is not UTF-8, an empty or
    /// unsafe store name, a negative version or partition, a malformed peer.
    VBT_INVALID_ARGUMENT = 1,
    /// A configuration value that cannot be used; the message names the key.
    VBT_CONFIG = 2,
    /// Local file-system or socket I/O failed.
    VBT_IO = 3,
    /// A peer broke the protocol (malformed head, wrong size, bad metadata, unsafe file name).
    VBT_PROTOCOL = 4,
    /// A file's checksum did not match what the peer announced.
    VBT_CHECKSUM = 5,
    /// A peer answered with a non-200 status.
    VBT_PEER_STATUS = 6,
    /// A time limit ran out.
    VBT_TIMEOUT = 7,
    /// The operation was cancelled (`vbt_node_cancel`, or `vbt_node_free` with it in flight).
    VBT_CANCELLED = 8,
    /// No peer was found for the partition.
    VBT_NO_PEERS = 9,
    /// Every peer was tried and each one failed; the message lists each peer's cause.
    VBT_ALL_PEERS_FAILED = 10,
    /// A bootstrap of the same partition is already in flight on this node.
    VBT_ALREADY_IN_PROGRESS = 11,
    /// RocksDB refused an operation, or the installed partition does not open.
    VBT_STORAGE = 12,
    /// The node is shutting down or already closed.
    VBT_SHUTDOWN = 13,
    /// A bug in vbt (a caught panic, a broken invariant); the message says where.
    VBT_INTERNAL = 14,
    /// The partition asked for is not served here (a sender answers 404).
    VBT_NOT_FOUND = 15,
    /// The partition directory to install into already holds data.
    VBT_PARTITION_EXISTS = 16,
    /// Blob transfer is switched off for this node (`blob.transfer.manager.enabled=false`):
    /// nothing was started.
    VBT_DISABLED = 17,
}

impl vbt_result {
    /// The code for a core error kind (same number).
    pub fn from_kind(kind: ErrorKind) -> vbt_result {
        use vbt_result::*;
        match kind {
            ErrorKind::InvalidArgument => VBT_INVALID_ARGUMENT,
            ErrorKind::Config => VBT_CONFIG,
            ErrorKind::Io => VBT_IO,
            ErrorKind::Protocol => VBT_PROTOCOL,
            ErrorKind::Checksum => VBT_CHECKSUM,
            ErrorKind::PeerStatus => VBT_PEER_STATUS,
            ErrorKind::Timeout => VBT_TIMEOUT,
            ErrorKind::Cancelled => VBT_CANCELLED,
            ErrorKind::NoPeers => VBT_NO_PEERS,
            ErrorKind::AllPeersFailed => VBT_ALL_PEERS_FAILED,
            ErrorKind::AlreadyInProgress => VBT_ALREADY_IN_PROGRESS,
            ErrorKind::Storage => VBT_STORAGE,
            ErrorKind::Shutdown => VBT_SHUTDOWN,
            ErrorKind::Internal => VBT_INTERNAL,
            ErrorKind::NotFound => VBT_NOT_FOUND,
            ErrorKind::PartitionExists => VBT_PARTITION_EXISTS,
            ErrorKind::Disabled => VBT_DISABLED,
        }
    }

    /// `VBT_<constant name>` of any number (`VBT_UNKNOWN` for numbers that are not codes).
    pub fn name_of(code: u32) -> &'static CStr {
        lookup(code, |t| &t.names).unwrap_or(c"VBT_UNKNOWN")
    }

    /// A short description of any number (`unknown result code` for numbers that are not codes).
    pub fn message_of(code: u32) -> &'static CStr {
        lookup(code, |t| &t.messages).unwrap_or(c"unknown result code")
    }
}

/// Names and messages built once from the core's list of kinds, so they cannot drift from it.
struct Tables {
    names: Vec<CString>,
    messages: Vec<CString>,
}

fn lookup(code: u32, pick: impl Fn(&'static Tables) -> &'static Vec<CString>) -> Option<&'static CStr> {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    let t = TABLES.get_or_init(|| {
        let mut names = vec![c"VBT_OK".to_owned()];
        let mut messages = vec![c"success".to_owned()];
        for k in ErrorKind::ALL {
            names.push(types::cstring_lossy(&format!("VBT_{}", k.constant_name())));
            messages.push(types::cstring_lossy(k.name()));
        }
        Tables { names, messages }
    });
    pick(t).get(usize::try_from(code).ok()?).map(CString::as_c_str)
}

/// The name of a result code as written in this header, e.g. `"VBT_CANCELLED"`; `"VBT_UNKNOWN"`
/// for a number that is not a code. Never NULL; the string is static.
#[no_mangle]
pub extern "C" fn vbt_result_name(code: u32) -> *const c_char {
    ffi_boundary!([] -> *const c_char { Ok(vbt_result::name_of(code).as_ptr()) })
}

/// A short English description of a result code, e.g. `"cancelled"`; `"unknown result code"` for
/// a number that is not a code. Never NULL; the string is static.
#[no_mangle]
pub extern "C" fn vbt_result_message(code: u32) -> *const c_char {
    ffi_boundary!([] -> *const c_char { Ok(vbt_result::message_of(code).as_ptr()) })
}

/// The message of the last synchronous failure on the calling thread: which argument, which key,
/// which cause. `""` if the last fallible call on this thread succeeded. Never NULL.
///
/// Valid until the next call on this thread of a function that returns `vbt_result`; lookups
/// (`vbt_result_name`, `vbt_result_message`, `vbt_version`, accessors, this function) leave it
/// alone, so `printf("%s: %s", vbt_result_name(rc), vbt_last_error_message())` is safe. Failures
/// of a bootstrap itself arrive with its completion, not here.
#[no_mangle]
pub extern "C" fn vbt_last_error_message() -> *const c_char {
    ffi_boundary!([] -> *const c_char { Ok(types::last_error()) })
}

/// The library's version, e.g. `"0.1.0"`. Never NULL; the string is static.
#[no_mangle]
pub extern "C" fn vbt_version() -> *const c_char {
    ffi_boundary!([] -> *const c_char {
        Ok(concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast::<c_char>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_mirror_the_core_kinds() {
        assert_eq!(vbt_result::VBT_OK as u32, 0);
        assert_eq!(vbt_result::name_of(0), c"VBT_OK");
        for k in ErrorKind::ALL {
            let r = vbt_result::from_kind(k);
            assert_eq!(r as u32, k.code(), "{k:?}");
            assert_eq!(vbt_result::name_of(k.code()).to_str().unwrap(), format!("VBT_{}", k.constant_name()));
            assert_eq!(format!("{r:?}"), format!("VBT_{}", k.constant_name()), "enum variant name");
            assert_eq!(vbt_result::message_of(k.code()).to_str().unwrap(), k.name());
        }
        assert_eq!(vbt_result::name_of(ErrorKind::ALL.len() as u32 + 1), c"VBT_UNKNOWN");
        assert_eq!(vbt_result::name_of(u32::MAX), c"VBT_UNKNOWN");
        assert_eq!(vbt_result::message_of(9999), c"unknown result code");
    }
}
