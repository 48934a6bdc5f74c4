//! Native methods of `org.venicedb.blobtransfer.NativeLibrary`: facts about the loaded library
//! that the Java side checks itself against.

use jni::objects::{JClass, JObject};
use jni::sys::{jobjectArray, jstring};
use jni::JNIEnv;

use super::exceptions::guard;
use crate::error::ErrorKind;

/// `String[] nativeCodeNames()`: element `n` is the constant name of code `n` (`OK` at 0), so the
/// Java `Code` enum can be checked against [`ErrorKind::ALL`] by name and number.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_NativeLibrary_nativeCodeNames<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jobjectArray {
    guard(&mut env, std::ptr::null_mut(), |env| {
        let max = ErrorKind::ALL.iter().map(|k| k.code()).max().unwrap_or(0) as i32;
        let names = env.new_object_array(max + 1, "java/lang/String", JObject::null())?;
        let ok = env.new_string("OK")?;
        env.set_object_array_element(&names, 0, &ok)?;
        env.delete_local_ref(ok)?;
        for kind in ErrorKind::ALL {
            let name = env.new_string(kind.constant_name())?;
            env.set_object_array_element(&names, kind.code() as i32, &name)?;
            env.delete_local_ref(name)?;
        }
        Ok(names.into_raw())
    })
}

/// `String nativeVersion()`: the crate version of the loaded library.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_NativeLibrary_nativeVersion<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jstring {
    guard(&mut env, std::ptr::null_mut(), |env| Ok(env.new_string(env!("CARGO_PKG_VERSION"))?.into_raw()))
}

#[cfg(feature = "failpoints")]
/// `void nativePanicForTest()`: panics inside vbt, so a test can prove the guard turns a panic
/// into `BlobTransferException(INTERNAL)` instead of an abort.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_NativeLibrary_nativePanicForTest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) {
    guard(&mut env, (), |_env| -> Result<(), super::exceptions::JniError> { panic!("deliberate panic for the JNI panic-guard test") })
}

/// Nodes `nativeOpen` returned and `nativeClose` has not freed yet (test builds only).
#[cfg(feature = "failpoints")]
pub(crate) static LIVE_NODES: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

#[cfg(feature = "failpoints")]
/// `int nativeLiveNodesForTest()`: how many nodes are open through JNI, so a test can see the
/// cleaner free a node that was never closed.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_NativeLibrary_nativeLiveNodesForTest<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
) -> jni::sys::jint {
    guard(&mut env, -1, |_env| Ok(LIVE_NODES.load(std::sync::atomic::Ordering::SeqCst)))
}
