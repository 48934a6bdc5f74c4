//! Native methods of `org.venicedb.blobtransfer.BlobTransferNode`.
//!
//! The handle is the address of a `Box<Node>`. The Java class never passes a handle that was
//! closed (it zeroes its field under the write side of a lock before calling `nativeClose`, and
//! every other call holds the read side), so the only invalid value that reaches here is 0,
//! which throws `IllegalStateException`.

use std::sync::{Arc, Mutex};

use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jint, jlong, JNI_FALSE, JNI_TRUE};
use jni::JNIEnv;

use super::callbacks::{self, JavaDiscovery};
use super::exceptions::{guard, JniError};
use super::{remember_vm, string_arg, string_array};
use crate::client::BootstrapRequest;
use crate::config::{Config, TlsMaterial};
use crate::error::Error;
use crate::node::Node;
use crate::protocol::{PartitionId, TableFormat};
use crate::throttle::Signal;

/// The arrays of a `byte[][]` (none may be null).
fn byte_arrays(env: &mut JNIEnv, arrays: &JObjectArray, what: &str) -> Result<Vec<Vec<u8>>, JniError> {
    if arrays.is_null() {
        return Err(Error::invalid(format!("{what} must not be null")).into());
    }
    let n = env.get_array_length(arrays)?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let a = JByteArray::from(env.get_object_array_element(arrays, i)?);
        if a.is_null() {
            return Err(Error::invalid(format!("{what}: element {i} is null")).into());
        }
        out.push(env.convert_byte_array(&a)?);
        env.delete_local_ref(a)?;
    }
    Ok(out)
}

fn node<'a>(handle: jlong) -> Result<&'a Node, JniError> {
    if handle == 0 {
        return Err(JniError::IllegalState("the BlobTransferNode is closed".into()));
    }
    // SAFETY: a non-zero handle is a live Box<Node> from nativeOpen; the Java side frees it only
    // after every call holding it has returned (see the module docs).
    Ok(unsafe { &*(handle as *const Node) })
}

/// `long nativeOpen(String[] keys, String[] values, SnapshotSourceAdapter source, PeerDiscoveryAdapter discovery,
/// CheckpointSourceAdapter checkpoints, MetadataHookAdapter metadataHook, SendListenerAdapter sendListener,
/// OriginPolicyAdapter originPolicy, byte[] tlsKey, byte[][] tlsChain, byte[][] tlsTrusted)`; every adapter may be null, and the three TLS
/// arrays (DER: PKCS#8 key, chain, trusted CAs) are all null or all given.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeOpen<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    keys: JObjectArray<'local>,
    values: JObjectArray<'local>,
    source: JObject<'local>,
    discovery: JObject<'local>,
    checkpoints: JObject<'local>,
    metadata_hook: JObject<'local>,
    send_listener: JObject<'local>,
    origin_policy: JObject<'local>,
    tls_key: JByteArray<'local>,
    tls_chain: JObjectArray<'local>,
    tls_trusted: JObjectArray<'local>,
) -> jlong {
    guard(&mut env, 0, |env| {
        remember_vm(env)?;
        let keys = string_array(env, &keys, "config key")?;
        let values = string_array(env, &values, "config value")?;
        if keys.len() != values.len() {
            return Err(Error::invalid("config keys and values differ in number").into());
        }
        let mut config = Config::from_pairs(keys.iter().zip(values.iter()))?;
        if !tls_key.is_null() {
            config.tls.material = Some(TlsMaterial {
                key_pkcs8: env.convert_byte_array(&tls_key)?,
                chain: byte_arrays(env, &tls_chain, "TLS certificate chain")?,
                trusted: byte_arrays(env, &tls_trusted, "trusted certificates")?,
            });
        }
        let mut builder = Node::builder(config);
        if !source.is_null() {
            builder = builder.host_snapshots(callbacks::snapshot_source(env, &source)?);
        }
        if !discovery.is_null() {
            builder = builder.peer_discovery(Arc::new(JavaDiscovery::new(env, &discovery)?));
        }
        if !checkpoints.is_null() {
            builder = builder.checkpoint_leases(Arc::new(callbacks::JavaCheckpoints::new(env, &checkpoints)?));
        }
        if !metadata_hook.is_null() {
            builder = builder.metadata_hook(callbacks::metadata_hook(env, &metadata_hook)?);
        }
        if !send_listener.is_null() {
            builder = builder.file_sent_listener(callbacks::send_listener(env, &send_listener)?);
        }
        if !origin_policy.is_null() {
            builder = builder.origin_policy(Arc::new(callbacks::JavaOrigin::new(env, &origin_policy)?));
        }
        let node = builder.build()?;
        #[cfg(feature = "failpoints")]
        super::native_library::LIVE_NODES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Box::into_raw(Box::new(node)) as jlong)
    })
}

/// `int nativeStartServer(long handle)`: the bound port.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeStartServer<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) -> jint {
    guard(&mut env, -1, |_env| {
        let addr = node(handle)?.start_server()?;
        Ok(jint::from(addr.port()))
    })
}

/// `long nativeBootstrap(long handle, String store, int version, int partition, String tableFormat,
/// String[] peers, boolean preservePeerOrder, BootstrapFuture future, ProgressListenerAdapter progress)`:
/// the operation id.
/// The future gets exactly one of `onNativeSuccess` / `onNativeFailure`, on the node's callback
/// thread, if this returns; `progress` (may be null) is called on that thread before it.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeBootstrap<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    store: JString<'local>,
    version: jint,
    partition: jint,
    table_format: JString<'local>,
    peers: JObjectArray<'local>,
    preserve_order: jboolean,
    future: JObject<'local>,
    progress: JObject<'local>,
) -> jlong {
    guard(&mut env, 0, |env| {
        let node = node(handle)?;
        let store = string_arg(env, &store, "store")?;
        let id = PartitionId::new(store, version, partition)?;
        let format =
            if table_format.is_null() { None } else { Some(string_arg(env, &table_format, "tableFormat")?.parse::<TableFormat>()?) };
        let peers = string_array(env, &peers, "peers")?;
        if future.is_null() {
            return Err(Error::invalid("future must not be null").into());
        }
        let mut req = BootstrapRequest::new(id, peers);
        req.table_format = format;
        req.preserve_order = preserve_order != JNI_FALSE;
        let done = callbacks::completion(env, &future)?;
        let op = if progress.is_null() {
            node.bootstrap_with_callback(req, move |_op, result| done(result))?
        } else {
            node.bootstrap_with_progress(req, callbacks::progress_listener(env, &progress)?, move |_op, result| done(result))?
        };
        Ok(op.get() as jlong)
    })
}

/// `void nativeSetThrottleSignal(long handle, String signal, boolean on)`: `LIMITER` or `BOOSTER`.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeSetThrottleSignal<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    signal: JString<'local>,
    on: jboolean,
) {
    guard(&mut env, (), |env| {
        let node = node(handle)?;
        let signal = match string_arg(env, &signal, "signal")?.as_str() {
            "LIMITER" => Signal::Limiter,
            "BOOSTER" => Signal::Booster,
            other => return Err(Error::invalid(format!("throttle signal {other:?}: expected LIMITER or BOOSTER")).into()),
        };
        node.set_throttle_signal(signal, on != JNI_FALSE)?;
        Ok(())
    })
}

/// `boolean nativeCancel(long handle, long opId)`: false if no such operation is running.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeCancel<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
    op: jlong,
) -> jboolean {
    guard(&mut env, JNI_FALSE, |_env| {
        let cancelled = op > 0 && node(handle)?.cancel(crate::OpId::from_raw(op as u64));
        Ok(if cancelled { JNI_TRUE } else { JNI_FALSE })
    })
}

/// `void nativeClose(long handle)`: cancels running bootstraps, delivers their completions, stops
/// the server and the runtime, frees the node. The Java side calls it once per handle.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeClose<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    handle: jlong,
) {
    guard(&mut env, (), |_env| {
        if handle == 0 {
            return Ok(());
        }
        // SAFETY: see `node`; the Java side passes each handle here exactly once, after it can no
        // longer be used by any other call.
        let node = unsafe { Box::from_raw(handle as *mut Node) };
        node.close();
        drop(node);
        #[cfg(feature = "failpoints")]
        super::native_library::LIVE_NODES.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    })
}

/// `boolean nativeSetLogSink(LogSinkAdapter sink, int level)`: process-wide; null stops
/// forwarding. `level` 0 = off, 1 = ERROR … 5 = TRACE. False if another Rust logger was installed
/// in this process first.
#[no_mangle]
pub extern "system" fn Java_org_venicedb_blobtransfer_BlobTransferNode_nativeSetLogSink<'local>(
    mut env: JNIEnv<'local>,
    _class: JClass<'local>,
    sink: JObject<'local>,
    level: jint,
) -> jboolean {
    guard(&mut env, JNI_FALSE, |env| {
        remember_vm(env)?;
        let filter = crate::logging::level_filter(u32::try_from(level).unwrap_or(u32::MAX))?;
        // Java's sink is process-wide: its registration lives here until the next call replaces
        // it (null removes it). The old one is dropped after the lock is released, since dropping
        // waits for calls to it in progress, which may log.
        static REGISTRATION: Mutex<Option<crate::logging::SinkRegistration>> = Mutex::new(None);
        let (registration, installed) = match sink.is_null() {
            true => (None, true),
            false => {
                let (r, installed) = crate::logging::register(callbacks::log_sink(env, &sink)?, filter);
                (Some(r), installed)
            }
        };
        let previous = std::mem::replace(&mut *REGISTRATION.lock().unwrap_or_else(|e| e.into_inner()), registration);
        drop(previous);
        Ok(if installed { JNI_TRUE } else { JNI_FALSE })
    })
}
