//! Typed casts between the opaque handles C holds and the Rust values behind them. Every handle
//! type is the Rust struct itself (cbindgen declares it as an incomplete struct), boxed once by
//! [`into_raw`] and reclaimed once by [`free`]; nothing else in the ABI converts pointers.

use std::ffi::c_void;

use crate::error::{Error, Result};

/// A Rust value handed to C behind an opaque pointer.
pub(crate) trait Opaque: Sized + 'static {
    /// The C name, for messages.
    const NAME: &'static str;
}

/// Moves `value` to the heap; the host owns the pointer until it passes it to the `*_free`.
pub(crate) fn into_raw<T: Opaque>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Borrows a handle for the duration of a call.
///
/// # Safety
/// `p` is NULL or a live pointer from [`into_raw`] of the same type.
pub(crate) unsafe fn borrow<'a, T: Opaque>(p: *const T) -> Result<&'a T> {
    // SAFETY: per the contract, non-NULL means live and of this type.
    unsafe { p.as_ref() }.ok_or_else(|| Error::invalid(format!("{} handle is NULL", T::NAME)))
}

/// Borrows a handle mutably for the duration of a call (handles that are not shared across
/// threads: the host must not use one from two threads at once).
///
/// # Safety
/// As [`borrow`], and no other reference to it is live.
pub(crate) unsafe fn borrow_mut<'a, T: Opaque>(p: *mut T) -> Result<&'a mut T> {
    // SAFETY: as above.
    unsafe { p.as_mut() }.ok_or_else(|| Error::invalid(format!("{} handle is NULL", T::NAME)))
}

/// Reclaims and drops a handle; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a live pointer from [`into_raw`] of the same type, not used afterwards.
pub(crate) unsafe fn free<T: Opaque>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per the contract, the pointer came from Box::into_raw and is given up here.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Writes an output argument (the boundary has checked it is not NULL).
///
/// # Safety
/// `out` is NULL (an error) or valid for a write of `T`.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) -> Result<()> {
    if out.is_null() {
        return Err(Error::invalid("output argument is NULL"));
    }
    // SAFETY: non-NULL and writable per the contract; `T` is a plain C value (no drop of the old).
    unsafe { out.write(value) };
    Ok(())
}

/// The host's `user_data`, carried to the threads that call the host back. The host promises, by
/// handing it over, that it may be used from those threads (the C contract's threading rule).
#[derive(Clone, Copy)]
pub(crate) struct UserData(*mut c_void);

impl UserData {
    pub fn new(p: *mut c_void) -> Self {
        UserData(p)
    }
    /// A method, not field access, so closures capture the whole (`Send`) wrapper.
    pub fn get(self) -> *mut c_void {
        self.0
    }
}

// SAFETY: vbt never dereferences it; it only passes it back to the host's own callbacks, whose
// thread-safety the host is responsible for (documented in the module contract).
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}
