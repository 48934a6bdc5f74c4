//! The JNI surface behind the Java package `org.venicedb.blobtransfer` (`java/`).
//!
//! One file per Java class that declares native methods (`blob_transfer_node`,
//! `native_library`), plus `exceptions` (the one error-to-exception table and the guard every
//! export runs in) and `callbacks` (calling Java from vbt's own threads). Nothing here knows
//! about transfers: exports convert arguments, delegate to [`crate::Node`], and convert back.
//!
//! The rules, in the manner of libsignal's bridge:
//! - Every export runs inside `exceptions::guard`: a panic becomes a `BlobTransferException`
//!   with code `INTERNAL`, an [`crate::Error`] becomes a `BlobTransferException` with its kind's
//!   code, a use of a freed handle becomes an `IllegalStateException`; the export then returns a
//!   default value. Nothing unwinds into the JVM and nothing aborts it.
//! - A node is a `Box<Node>` whose address the Java object holds as a `long`. The Java side
//!   guarantees that no export uses it after `nativeClose` (a read/write lock: every call holds
//!   the read side, close takes the write side, zeroes the handle, then frees it).
//! - vbt's threads that call into Java — the node's `vbt-callbacks` thread (completions), tokio's
//!   blocking threads (snapshot source, peer discovery) and any thread that logs (log sink) —
//!   attach themselves as daemon threads, work inside a local-reference frame, and check for a
//!   pending Java exception after every call; none is ever left pending.
//! - Java code called from those threads is reached through methods of objects the Java side
//!   handed over (never `FindClass` on a library thread, whose class loader may not see ours).
//! - Every Java method or constructor called from here is annotated `@CalledFromNative`
//!   (`called_from_native` checks it against the call sites).

mod blob_transfer_node;
mod callbacks;
#[cfg(test)]
mod called_from_native;
mod exceptions;
mod native_library;

use std::ffi::c_void;
use std::sync::OnceLock;

use jni::objects::{JObjectArray, JString};
use jni::sys::{jint, JNI_ERR, JNI_VERSION_1_8};
use jni::{JNIEnv, JavaVM};

use exceptions::JniError;

static VM: OnceLock<JavaVM> = OnceLock::new();

/// The JVM this library was loaded into (set by `JNI_OnLoad`, or by the first export called).
pub(crate) fn java_vm() -> Option<&'static JavaVM> {
    VM.get()
}

/// Records the JVM from an export's environment if `JNI_OnLoad` did not run (an embedder that
/// links the library statically).
pub(crate) fn remember_vm(env: &JNIEnv) -> Result<&'static JavaVM, JniError> {
    if let Some(vm) = VM.get() {
        return Ok(vm);
    }
    let vm = env.get_java_vm()?;
    Ok(VM.get_or_init(|| vm))
}

/// Called by the JVM when `System.load`/`loadLibrary` loads this library.
///
/// # Safety
/// Called by the JVM with a valid `JavaVM` pointer.
#[no_mangle]
pub unsafe extern "system" fn JNI_OnLoad(vm: *mut jni::sys::JavaVM, _reserved: *mut c_void) -> jint {
    let stored = std::panic::catch_unwind(|| match JavaVM::from_raw(vm) {
        Ok(vm) => {
            let _ = VM.set(vm);
            true
        }
        Err(_) => false,
    });
    match stored {
        Ok(true) => JNI_VERSION_1_8,
        _ => JNI_ERR,
    }
}

/// A Java string argument as Rust text; `what` names it in the error when it is null.
pub(crate) fn string_arg(env: &mut JNIEnv, s: &JString, what: &str) -> Result<String, JniError> {
    if s.is_null() {
        return Err(crate::Error::invalid(format!("{what} must not be null")).into());
    }
    java_string(env, s)
}

/// A non-null Java string as Rust text (without the class check `get_string` makes, which leaks
/// two local references per call; the JVM has already checked the declared type).
pub(crate) fn java_string(env: &mut JNIEnv, s: &JString) -> Result<String, JniError> {
    // SAFETY: `s` is a non-null reference typed java.lang.String by the method's descriptor.
    let text = unsafe { env.get_string_unchecked(s) }?;
    Ok(text.into())
}

/// A `String[]` argument as Rust strings (null array: empty). Elements may not be null.
pub(crate) fn string_array(env: &mut JNIEnv, array: &JObjectArray, what: &str) -> Result<Vec<String>, JniError> {
    if array.is_null() {
        return Ok(Vec::new());
    }
    let len = env.get_array_length(array)?;
    let mut out = Vec::with_capacity(len.max(0) as usize);
    for i in 0..len {
        // One frame per element so a long array never exceeds the local-reference capacity.
        let item = env.with_local_frame(4, |env| -> Result<Option<String>, JniError> {
            let obj = env.get_object_array_element(array, i)?;
            if obj.is_null() {
                return Ok(None);
            }
            java_string(env, &JString::from(obj)).map(Some)
        })?;
        match item {
            Some(s) => out.push(s),
            None => return Err(crate::Error::invalid(format!("{what}[{i}] must not be null")).into()),
        }
    }
    Ok(out)
}
