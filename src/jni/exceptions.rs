//! The one error-to-exception table, and the guard every export runs in.
//!
//! | failure                                   | thrown into Java                                    |
//! |-------------------------------------------|-----------------------------------------------------|
//! | [`crate::Error`] of kind K                | `BlobTransferException(code = K.code(), message, HTTP status if any)` |
//! | a panic inside vbt                        | `BlobTransferException(INTERNAL, "vbt panicked: …")` |
//! | a handle used after close (0)             | `IllegalStateException`                             |
//! | a JNI call that failed with a Java exception pending | that exception, untouched                |
//! | any other JNI failure                     | `BlobTransferException(INTERNAL, "JNI: …")`          |
//!
//! Codes are [`ErrorKind::code`]; Java's `BlobTransferException.Code` enum mirrors
//! [`ErrorKind::ALL`] by name ([`ErrorKind::constant_name`]) and number, with `OK(0)` first. A test
//! compares the two through `NativeLibrary.codeNames()`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::objects::JValue;
use jni::JNIEnv;

use crate::error::{Error, ErrorKind};

/// The Java class every vbt failure is thrown as.
pub(crate) const BLOB_TRANSFER_EXCEPTION: &str = "org/venicedb/blobtransfer/BlobTransferException";
const ILLEGAL_STATE_EXCEPTION: &str = "java/lang/IllegalStateException";

/// Why an export failed.
#[derive(Debug)]
pub(crate) enum JniError {
    /// A vbt failure: thrown as `BlobTransferException` with its kind's code.
    Vbt(Error),
    /// The Java object no longer has a native node (closed).
    IllegalState(String),
    /// A JNI call failed. `JavaException` means one is pending and is left to propagate.
    Jni(jni::errors::Error),
    /// vbt panicked.
    Panic(String),
}

impl From<Error> for JniError {
    fn from(e: Error) -> Self {
        JniError::Vbt(e)
    }
}

impl From<jni::errors::Error> for JniError {
    fn from(e: jni::errors::Error) -> Self {
        JniError::Jni(e)
    }
}

impl std::fmt::Display for JniError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JniError::Vbt(e) => write!(f, "{}: {e}", e.kind().constant_name()),
            JniError::IllegalState(m) => f.write_str(m),
            JniError::Jni(e) => write!(f, "JNI: {e}"),
            JniError::Panic(m) => write!(f, "vbt panicked: {m}"),
        }
    }
}

/// The Java exception for a failure: (class, code for `BlobTransferException`, HTTP status).
/// This is the table; nothing else decides what Java sees.
fn exception_for(err: &JniError) -> (&'static str, ErrorKind, i32) {
    match err {
        JniError::Vbt(e) => (BLOB_TRANSFER_EXCEPTION, e.kind(), e.status().map_or(-1, i32::from)),
        JniError::IllegalState(_) => (ILLEGAL_STATE_EXCEPTION, ErrorKind::Shutdown, -1),
        JniError::Jni(_) | JniError::Panic(_) => (BLOB_TRANSFER_EXCEPTION, ErrorKind::Internal, -1),
    }
}

/// Throws `err` into Java, unless a Java exception is already pending (then that one wins).
/// Never fails: if the exception cannot be built, whatever the JVM raised instead is pending.
pub(crate) fn throw(env: &mut JNIEnv, err: JniError) {
    if env.exception_check().unwrap_or(true) {
        return;
    }
    let message = match &err {
        JniError::Vbt(e) => e.message().to_string(),
        other => other.to_string(),
    };
    let (class, kind, status) = exception_for(&err);
    if class != BLOB_TRANSFER_EXCEPTION {
        let _ = env.throw_new(class, &message);
        return;
    }
    let built = (|| -> jni::errors::Result<()> {
        let text = env.new_string(&message)?;
        let exception = env.new_object(
            class,
            "(ILjava/lang/String;I)V",
            &[JValue::Int(kind.code() as i32), JValue::Object(&text), JValue::Int(status)],
        )?;
        env.throw(jni::objects::JThrowable::from(exception))
    })();
    if built.is_err() && !env.exception_check().unwrap_or(true) {
        // Could not build ours (and the JVM raised nothing): still never return silently.
        let _ = env.throw_new("java/lang/RuntimeException", &message);
    }
}

/// Runs an export's body: catches panics, turns every failure into a Java exception (through the
/// table above) and returns `default` then. Every export goes through here.
pub(crate) fn guard<'local, R>(env: &mut JNIEnv<'local>, default: R, body: impl FnOnce(&mut JNIEnv<'local>) -> Result<R, JniError>) -> R {
    let outcome = catch_unwind(AssertUnwindSafe(|| body(env)));
    let err = match outcome {
        Ok(Ok(value)) => return value,
        Ok(Err(e)) => e,
        Err(payload) => JniError::Panic(crate::runtime::panic_message(payload.as_ref())),
    };
    // Throwing must not unwind either.
    let _ = catch_unwind(AssertUnwindSafe(|| throw(env, err)));
    default
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_thrown_with_its_own_code() {
        for kind in ErrorKind::ALL {
            let (class, code, status) = exception_for(&JniError::Vbt(Error::new(kind, "m")));
            assert_eq!((class, code, status), (BLOB_TRANSFER_EXCEPTION, kind, -1));
        }
        let (_, code, status) = exception_for(&JniError::Vbt(Error::peer_status(429, "busy")));
        assert_eq!((code, status), (ErrorKind::PeerStatus, 429));
        assert_eq!(exception_for(&JniError::Panic("p".into())).1, ErrorKind::Internal);
        assert_eq!(exception_for(&JniError::Jni(jni::errors::Error::TryLock)).1, ErrorKind::Internal);
        assert_eq!(exception_for(&JniError::IllegalState("closed".into())).0, ILLEGAL_STATE_EXCEPTION);
    }

    #[test]
    fn panic_messages() {
        use crate::runtime::panic_message;
        assert_eq!(panic_message(&"static"), "static");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&42u8), "a panic without a message");
    }
}
