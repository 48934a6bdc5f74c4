//! The bottom of the C ABI: plain types and helpers every other file may use, which use none of
//! them (byte slices, C strings, the thread's last error).

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

use crate::error::{Error, Result};

/// Borrowed bytes: `len` bytes at `data` (`data` is NULL only when `len` is 0).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct vbt_byte_slice {
    /// The first byte, or NULL when `len` is 0.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl vbt_byte_slice {
    pub(crate) const EMPTY: vbt_byte_slice = vbt_byte_slice { data: std::ptr::null(), len: 0 };

    pub(crate) fn of(bytes: &[u8]) -> Self {
        if bytes.is_empty() {
            Self::EMPTY
        } else {
            vbt_byte_slice { data: bytes.as_ptr(), len: bytes.len() }
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn clear_last_error() {
    // Reuses the allocation only when empty; a fresh empty CString allocates nothing.
    let _ = LAST_ERROR.try_with(|m| {
        if !m.borrow().as_bytes().is_empty() {
            *m.borrow_mut() = CString::default();
        }
    });
}

pub(crate) fn set_last_error(message: &str) {
    let _ = LAST_ERROR.try_with(|m| *m.borrow_mut() = cstring_lossy(message));
}

/// The thread's last error message; valid until the next fallible call on this thread.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.try_with(|m| m.borrow().as_ptr()).unwrap_or(c"".as_ptr())
}

/// A C string of `s`, with any interior NUL replaced so the message is never lost.
pub(crate) fn cstring_lossy(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| CString::new(s.replace('\0', "\u{FFFD}")).expect("no NUL left"))
}

/// A C string argument, copied: NUL-terminated UTF-8 or `VBT_INVALID_ARGUMENT`.
///
/// # Safety
/// `p` is NULL (an error) or points to a NUL-terminated string.
pub(crate) unsafe fn str_arg(p: *const c_char, name: &str) -> Result<String> {
    if p.is_null() {
        return Err(Error::invalid(format!("argument `{name}` is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string (the C contract).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map(str::to_owned).map_err(|e| Error::invalid(format!("argument `{name}` is not valid UTF-8 ({e})")))
}

/// A byte-buffer argument, copied: `len` bytes at `data` (`data` may be NULL only when `len` is 0).
///
/// # Safety
/// `data` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn bytes_arg(data: *const u8, len: usize) -> Result<Vec<u8>> {
    if len == 0 {
        Ok(Vec::new())
    } else if data.is_null() {
        Err(Error::invalid(format!("argument `data` is NULL with len {len}")))
    } else {
        // SAFETY: the caller promises `len` readable bytes at `data`.
        Ok(unsafe { std::slice::from_raw_parts(data, len) }.to_vec())
    }
}
