//! The host's origin rule (Venice's servers, PR #2869; see the core's `OriginPolicy`): its
//! identity parser and its per-store read ACL, as two C callbacks.

use std::ffi::{c_char, c_void};

use super::handle::UserData;
use super::hooks::vbt_message;
use super::types::{cstring_lossy, vbt_byte_slice};
use crate::error::Result;
use crate::server::OriginPolicy;

/// Reads the application identity in a certificate, as Venice's `IdentityParser` does (set with
/// `vbt_config_set_origin_policy`). `cert_der` is the DER encoding of the peer's certificate or
/// of this node's own; it is borrowed for the call.
///
/// Set the identity with `vbt_message_set(identity, "...")` and return `VBT_OK`; leaving it unset
/// means "unresolved" (the peer is then of client origin). Any other return refuses the request
/// (the rule fails closed); `vbt_message_set(error, ...)` says why in vbt's log. Called on a vbt
/// thread where it may block, possibly for several requests at once; must not call
/// `vbt_node_free`.
pub type vbt_origin_identity_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, cert_der: vbt_byte_slice, identity: *mut vbt_message, error: *mut vbt_message) -> u32,
>;

/// Venice's per-store read ACL for a client-origin peer (`hasAccess(cert, store, "GET")`): set
/// `*allowed` to 1 to allow (it is 0 on entry; any other value than 1 denies) and return
/// `VBT_OK`. Any other return refuses the request, as a denial does. `cert_der` and `store` are
/// borrowed for the call; `store` is the first segment of the peer's request path, unchecked text
/// from the peer. Same threads as `vbt_origin_identity_fn`.
pub type vbt_origin_may_read_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        cert_der: vbt_byte_slice,
        store: *const c_char,
        allowed: *mut u32,
        error: *mut vbt_message,
    ) -> u32,
>;

pub(crate) type IdentityFn = unsafe extern "C" fn(*mut c_void, vbt_byte_slice, *mut vbt_message, *mut vbt_message) -> u32;
pub(crate) type MayReadFn = unsafe extern "C" fn(*mut c_void, vbt_byte_slice, *const c_char, *mut u32, *mut vbt_message) -> u32;

/// The two callbacks as the core's `OriginPolicy`.
pub(crate) struct HostOrigin {
    pub identity: IdentityFn,
    pub may_read: MayReadFn,
    pub user_data: UserData,
}

// SAFETY: the host's functions with their user data; the contract makes the host responsible for
// calling them from several vbt threads (as for every other callback).
unsafe impl Sync for HostOrigin {}

impl OriginPolicy for HostOrigin {
    fn identity(&self, cert_der: &[u8]) -> Result<Option<String>> {
        let (mut identity, mut error) = (vbt_message::new(), vbt_message::new());
        // SAFETY: the host's function with its own user data; the certificate and both messages
        // live across the call.
        let rc = unsafe { (self.identity)(self.user_data.get(), vbt_byte_slice::of(cert_der), &mut identity, &mut error) };
        if rc != 0 {
            return Err(error.error(rc, format_args!("vbt_origin_identity_fn")));
        }
        Ok(identity.take())
    }

    fn may_read(&self, cert_der: &[u8], store: &str) -> Result<bool> {
        let store = cstring_lossy(store);
        let (mut allowed, mut error) = (0u32, vbt_message::new());
        // SAFETY: as above; `allowed` is a valid bool for the call.
        let rc = unsafe { (self.may_read)(self.user_data.get(), vbt_byte_slice::of(cert_der), store.as_ptr(), &mut allowed, &mut error) };
        if rc != 0 {
            return Err(error.error(rc, format_args!("vbt_origin_may_read_fn for store {store:?}")));
        }
        Ok(allowed == 1)
    }
}
