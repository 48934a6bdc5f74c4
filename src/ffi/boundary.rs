//! The boundary every export goes through: [`ffi_boundary!`] checks the pointer arguments it is
//! given for NULL, runs the body under `catch_unwind`, and turns the body's outcome into what C
//! gets back. Fallible exports return a [`vbt_result`] and record the failure's message as the
//! thread's last error; lookups and accessors return a value, or their type's default.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use super::result::vbt_result;
use super::types::{clear_last_error, set_last_error, vbt_byte_slice};
use crate::error::{Error, ErrorKind, Result};

/// Wraps the body of every `extern "C"` function of the C ABI.
///
/// ```text
/// // Fallible: the body is a `Result<()>`; the function returns `vbt_result`.
/// ffi_boundary!([config, key, value] { ...; Ok(()) })
/// // Value: the body is a `Result<T>`; NULL, an error or a panic give `T`'s default.
/// ffi_boundary!([result] -> u64 { Ok(...) })
/// ```
/// The identifiers in brackets are the arguments that must not be NULL (raw pointers or
/// `Option` function pointers). Arguments that may be NULL are left out and handled by the body.
macro_rules! ffi_boundary {
    ([$($nonnull:ident),*] $body:block) => {{
        fn __vbt_here() {}
        let __vbt_nulls: &[(&'static str, bool)] =
            &[$((stringify!($nonnull), $crate::ffi::boundary::Nullable::is_null(&$nonnull))),*];
        $crate::ffi::boundary::fallible(
            ::std::any::type_name_of_val(&__vbt_here),
            __vbt_nulls,
            move || -> $crate::error::Result<()> { $body },
        )
    }};
    ([$($nonnull:ident),*] -> $ty:ty $body:block) => {{
        fn __vbt_here() {}
        let __vbt_nulls: &[(&'static str, bool)] =
            &[$((stringify!($nonnull), $crate::ffi::boundary::Nullable::is_null(&$nonnull))),*];
        $crate::ffi::boundary::value::<$ty>(
            ::std::any::type_name_of_val(&__vbt_here),
            __vbt_nulls,
            move || -> $crate::error::Result<$ty> { $body },
        )
    }};
}

/// Arguments the boundary can check for NULL.
pub(crate) trait Nullable {
    fn is_null(&self) -> bool;
}

impl<T> Nullable for *const T {
    fn is_null(&self) -> bool {
        <*const T>::is_null(*self)
    }
}

impl<T> Nullable for *mut T {
    fn is_null(&self) -> bool {
        <*mut T>::is_null(*self)
    }
}

/// C function pointers are `Option<extern "C" fn ...>`: NULL is `None`.
impl<F> Nullable for Option<F> {
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

/// What a value-returning export gives back when it cannot answer (NULL argument, error, panic).
pub(crate) trait FfiDefault {
    fn ffi_default() -> Self;
}

macro_rules! ffi_default {
    ($($ty:ty => $v:expr),* $(,)?) => {
        $(impl FfiDefault for $ty {
            fn ffi_default() -> Self {
                $v
            }
        })*
    };
}

ffi_default! {
    () => (),
    u64 => 0,
    usize => 0,
    f64 => 0.0,
    *const c_char => ptr::null(),
    vbt_byte_slice => vbt_byte_slice::EMPTY,
    vbt_result => vbt_result::VBT_INVALID_ARGUMENT,
}

/// `venice_blob_transfer::ffi::config::vbt_config_set::__vbt_here` → `vbt_config_set`.
fn export_name(here: &'static str) -> &'static str {
    here.rsplit("::").nth(1).unwrap_or(here)
}

fn null_error(func: &str, args: &[(&'static str, bool)]) -> Option<Error> {
    args.iter().find(|(_, null)| *null).map(|(name, _)| Error::invalid(format!("{func}: argument `{name}` is NULL")))
}

/// Runs a fallible export: clears the thread's last error, checks NULLs, runs the body, maps an
/// error (or a caught panic, as `VBT_INTERNAL`) to its code and records its message.
pub(crate) fn fallible(here: &'static str, nulls: &[(&'static str, bool)], body: impl FnOnce() -> Result<()>) -> vbt_result {
    clear_last_error();
    let func = export_name(here);
    if let Some(e) = null_error(func, nulls) {
        return fail(&e);
    }
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => vbt_result::VBT_OK,
        Ok(Err(e)) => fail(&e),
        Err(payload) => {
            let e = Error::internal(format!("{func}: panic inside vbt: {}", crate::runtime::panic_message(&*payload)));
            log::error!("{e}");
            fail(&e)
        }
    }
}

/// Runs a value export (lookups, accessors, `*_free`): never touches the last error; NULL, an
/// error or a caught panic give the type's default.
pub(crate) fn value<T: FfiDefault>(here: &'static str, nulls: &[(&'static str, bool)], body: impl FnOnce() -> Result<T>) -> T {
    if null_error(export_name(here), nulls).is_some() {
        return T::ffi_default();
    }
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => T::ffi_default(),
        Err(payload) => {
            log::error!("{}: panic inside vbt: {}", export_name(here), crate::runtime::panic_message(&*payload));
            T::ffi_default()
        }
    }
}

fn fail(e: &Error) -> vbt_result {
    set_last_error(e.message());
    vbt_result::from_kind(e.kind())
}

/// An error of `kind` for a code a host callback returned (unknown codes are `VBT_INTERNAL`).
pub(crate) fn error_from_host_code(code: u32, what: impl std::fmt::Display) -> Error {
    let kind = ErrorKind::from_code(code).unwrap_or(ErrorKind::Internal);
    let name = vbt_result::name_of(code).to_str().unwrap_or("?");
    Error::new(kind, format!("{what} returned {name} ({code})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::types::{cstring_lossy, last_error};
    use std::ffi::CStr;

    #[test]
    fn panics_become_internal_with_a_message() {
        let rc = fallible("x::vbt_demo::__vbt_here", &[], || panic!("boom"));
        assert_eq!(rc, vbt_result::VBT_INTERNAL);
        let msg = unsafe { CStr::from_ptr(last_error()) }.to_str().unwrap().to_owned();
        assert!(msg.contains("vbt_demo") && msg.contains("boom"), "{msg}");
        // The next fallible call clears it.
        assert_eq!(fallible("x::vbt_demo::__vbt_here", &[], || Ok(())), vbt_result::VBT_OK);
        assert_eq!(unsafe { CStr::from_ptr(last_error()) }.to_bytes(), b"");
        let v: u64 = value("x::vbt_demo::__vbt_here", &[], || panic!("boom"));
        assert_eq!(v, 0);
    }

    #[test]
    fn null_arguments_are_named() {
        let p: *const u8 = ptr::null();
        let rc = fallible("a::b::vbt_thing::__vbt_here", &[("handle", p.is_null())], || unreachable!());
        assert_eq!(rc, vbt_result::VBT_INVALID_ARGUMENT);
        let msg = unsafe { CStr::from_ptr(last_error()) }.to_str().unwrap().to_owned();
        assert_eq!(msg, "vbt_thing: argument `handle` is NULL");
    }

    #[test]
    fn interior_nul_is_kept_visible() {
        assert_eq!(cstring_lossy("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }
}
