//! Calling Java from vbt's own threads: bootstrap completions (the node's `vbt-callbacks`
//! thread), the host's snapshot source and peer discovery (tokio blocking threads), and the log
//! sink (whichever thread logs).
//!
//! Each call attaches the current thread as a daemon (`attach_current_thread_as_daemon`: it stays
//! attached until it exits, and never keeps the JVM alive), runs inside a local-reference frame
//! (attached threads have no native frame to free references), and checks for a pending exception
//! after every Java call: an exception thrown by host code becomes a vbt [`Error`] (its code taken
//! from a `BlobTransferException`), one thrown by our own Java glue is described and cleared.
//! Java objects are held as `JavaRef`s and reached through their own methods, so no
//! `FindClass` runs on a library thread (whose class loader may not see the application's).

use std::sync::Arc;

use jni::objects::{GlobalRef, JBooleanArray, JByteArray, JIntArray, JLongArray, JObject, JObjectArray, JValue, JValueOwned};
use jni::{JNIEnv, JavaVM};

use super::exceptions::JniError;
use super::{java_string, java_vm, string_array};
use crate::client::{BootstrapOutcome, PeerDiscovery, PeerFailure, Progress};
use crate::error::{Error, ErrorKind, Result};
use crate::logging::LogSink;
use crate::protocol::metadata::PartitionMetadata;
use crate::protocol::PartitionId;
use crate::snapshot::{CheckpointLeases, HostCheckpoint, HostCreateFn};
use crate::storage::landing::MetadataHook;
use crate::transfers::FileSentFn;

/// A global reference that attaches the dropping thread (as a daemon) before deleting itself,
/// so it can be dropped on any library thread without jni's "detached thread" fallback.
pub(crate) struct JavaRef {
    global: Option<GlobalRef>,
}

impl JavaRef {
    pub(crate) fn new(env: &JNIEnv, obj: &JObject) -> std::result::Result<JavaRef, JniError> {
        if obj.is_null() {
            return Err(Error::invalid("a callback object must not be null").into());
        }
        Ok(JavaRef { global: Some(env.new_global_ref(obj)?) })
    }

    pub(crate) fn as_obj(&self) -> &JObject<'static> {
        self.global.as_ref().expect("present until drop").as_obj()
    }
}

impl Drop for JavaRef {
    fn drop(&mut self) {
        if let Some(vm) = java_vm() {
            let _ = attach(vm);
        }
        drop(self.global.take());
    }
}

/// This thread's JNI environment, attaching it as a daemon if it is not attached yet. A thread
/// attached here gets its Rust name as its Java name (`vbt-callbacks`, `vbt-worker-3`, ...), so
/// host thread dumps and logs say whose it is. jni detaches it when the thread exits.
pub(crate) fn attach(vm: &'static JavaVM) -> jni::errors::Result<JNIEnv<'static>> {
    if let Ok(env) = vm.get_env() {
        return Ok(env);
    }
    let mut env = vm.attach_current_thread_as_daemon()?;
    // thread::current() panics while a thread's locals are being destroyed: no name then.
    let name = std::panic::catch_unwind(|| std::thread::current().name().map(str::to_owned)).ok().flatten();
    if let Some(name) = name {
        let _ = env.with_local_frame(4, |env| -> jni::errors::Result<()> {
            let thread = env.call_static_method("java/lang/Thread", "currentThread", "()Ljava/lang/Thread;", &[])?.l()?;
            let name = env.new_string(name)?;
            env.call_method(&thread, "setName", "(Ljava/lang/String;)V", &[JValue::Object(&name)])?;
            Ok(())
        });
        let _ = env.exception_clear();
    }
    Ok(env)
}

fn to_error(e: JniError) -> Error {
    match e {
        JniError::Vbt(e) => e,
        other => Error::internal(other.to_string()),
    }
}

/// Runs `f` with this thread attached to the JVM (as a daemon) inside a local-reference frame.
/// No Java exception is pending when it returns.
pub(crate) fn with_java<T>(f: impl FnOnce(&mut JNIEnv) -> std::result::Result<T, JniError>) -> Result<T> {
    let vm = java_vm().ok_or_else(|| Error::internal("the JVM is unknown: JNI_OnLoad did not run"))?;
    let mut env = attach(vm).map_err(|e| Error::internal(format!("attaching a vbt thread to the JVM: {e}")))?;
    if env.exception_check().unwrap_or(true) {
        return Err(Error::internal("a Java exception is pending on this thread"));
    }
    let result = env.with_local_frame(32, |env| {
        let r = f(env);
        clear_unexpected(env);
        r
    });
    clear_unexpected(&mut env);
    result.map_err(to_error)
}

/// Describes (stderr) and clears an exception our own Java glue left pending; there should be none.
fn clear_unexpected(env: &mut JNIEnv) {
    if env.exception_check().unwrap_or(false) {
        let _ = env.exception_describe();
        let _ = env.exception_clear();
    }
}

/// Calls a method of a host callback adapter. A Java exception it throws is cleared and returned
/// as an [`Error`]: with the code of a `BlobTransferException`, else `default`.
fn call_host<'local>(
    env: &mut JNIEnv<'local>,
    adapter: &JObject,
    name: &str,
    sig: &str,
    args: &[JValue],
    default: ErrorKind,
    what: &str,
) -> std::result::Result<JValueOwned<'local>, JniError> {
    match env.call_method(adapter, name, sig, args) {
        Ok(v) => Ok(v),
        Err(jni::errors::Error::JavaException) => Err(java_exception(env, adapter, default, what).into()),
        Err(e) => Err(e.into()),
    }
}

/// Takes the pending exception and converts it, asking the adapter (`NativeCallback` in Java) for
/// its code and message.
fn java_exception(env: &mut JNIEnv, adapter: &JObject, default: ErrorKind, what: &str) -> Error {
    let throwable = match env.exception_occurred() {
        Ok(t) => t,
        Err(_) => JObject::null().into(),
    };
    let _ = env.exception_clear();
    if throwable.is_null() {
        return Error::new(default, format!("{what} failed"));
    }
    let code = match env.call_method(
        adapter,
        "errorCode",
        "(Ljava/lang/Throwable;I)I",
        &[JValue::Object(&throwable), JValue::Int(default.code() as i32)],
    ) {
        Ok(v) => v.i().unwrap_or(default.code() as i32),
        Err(_) => {
            clear_unexpected(env);
            default.code() as i32
        }
    };
    let message = match env.call_method(adapter, "errorMessage", "(Ljava/lang/Throwable;)Ljava/lang/String;", &[JValue::Object(&throwable)])
    {
        Ok(v) => match v.l() {
            Ok(obj) if !obj.is_null() => java_string(env, &obj.into()).unwrap_or_default(),
            _ => String::new(),
        },
        Err(_) => {
            clear_unexpected(env);
            String::new()
        }
    };
    let _ = env.delete_local_ref(throwable);
    let kind = u32::try_from(code).ok().and_then(ErrorKind::from_code).unwrap_or(default);
    Error::new(kind, format!("{what} threw {message}"))
}

/// The host's Java `SnapshotSource` (through `SnapshotSourceAdapter.createSnapshot`), called on a
/// tokio blocking thread with the directory vbt names under `root`.
pub(crate) fn snapshot_source(env: &JNIEnv, adapter: &JObject) -> std::result::Result<Box<HostCreateFn>, JniError> {
    let adapter = JavaRef::new(env, adapter)?;
    Ok(Box::new(move |id: &PartitionId, dir: &std::path::Path| {
        with_java(|env| {
            let dir = dir.to_str().ok_or_else(|| Error::invalid(format!("snapshot directory {} is not UTF-8", dir.display())))?;
            let store = env.new_string(&id.store)?;
            let dir = env.new_string(dir)?;
            let value = call_host(
                env,
                adapter.as_obj(),
                "createSnapshot",
                "(Ljava/lang/String;IILjava/lang/String;)[[B",
                &[JValue::Object(&store), JValue::Int(id.version), JValue::Int(id.partition), JValue::Object(&dir)],
                ErrorKind::Io,
                "SnapshotSource.createSnapshot",
            )?;
            metadata_pair(env, JObjectArray::from(value.l()?), "SnapshotSource.createSnapshot")
        })
    }))
}

/// The two byte arrays of a `byte[][]` metadata pair (offset record, store-version state).
fn metadata_pair(env: &mut JNIEnv, pair: JObjectArray, what: &str) -> std::result::Result<(Vec<u8>, Vec<u8>), JniError> {
    if pair.is_null() || env.get_array_length(&pair)? != 2 {
        return Err(Error::internal(format!("{what} returned no metadata pair")).into());
    }
    let mut blob = |i| -> std::result::Result<Vec<u8>, JniError> {
        let bytes = JByteArray::from(env.get_object_array_element(&pair, i)?);
        if bytes.is_null() {
            return Err(Error::invalid(format!("{what} returned a null metadata array")).into());
        }
        let v = env.convert_byte_array(&bytes)?;
        env.delete_local_ref(bytes)?;
        Ok(v)
    };
    Ok((blob(0)?, blob(1)?))
}

/// The host's Java `CheckpointSource` (through `CheckpointSourceAdapter.acquire`), called on a
/// tokio blocking thread per transfer; the `Checkpoint` it returns is released (its
/// `nativeRelease`) when the send ends.
pub(crate) struct JavaCheckpoints {
    adapter: JavaRef,
}

impl JavaCheckpoints {
    pub(crate) fn new(env: &JNIEnv, adapter: &JObject) -> std::result::Result<JavaCheckpoints, JniError> {
        Ok(JavaCheckpoints { adapter: JavaRef::new(env, adapter)? })
    }
}

impl CheckpointLeases for JavaCheckpoints {
    fn acquire(&self, id: &PartitionId) -> Result<HostCheckpoint> {
        with_java(|env| {
            let store = env.new_string(&id.store)?;
            let value = call_host(
                env,
                self.adapter.as_obj(),
                "acquire",
                "(Ljava/lang/String;II)Lorg/venicedb/blobtransfer/Checkpoint;",
                &[JValue::Object(&store), JValue::Int(id.version), JValue::Int(id.partition)],
                ErrorKind::NotFound,
                "CheckpointSource.acquire",
            )?;
            let checkpoint = value.l()?;
            if checkpoint.is_null() {
                return Err(Error::invalid("CheckpointSource.acquire returned null").into());
            }
            // Held from here: whatever fails below still hands the checkpoint back.
            let held = JavaRef::new(env, &checkpoint)?;
            let release = move || {
                let r = with_java(|env| {
                    env.call_method(held.as_obj(), "nativeRelease", "()V", &[])?;
                    Ok(())
                });
                if let Err(e) = r {
                    log::warn!("releasing a host checkpoint: {e}");
                }
            };
            let parts = (|| -> std::result::Result<_, JniError> {
                let dir = env.call_method(&checkpoint, "nativeDirectory", "()Ljava/lang/String;", &[])?.l()?;
                let dir = java_string(env, &dir.into())?;
                let pair = JObjectArray::from(env.call_method(&checkpoint, "nativeMetadata", "()[[B", &[])?.l()?);
                let (o, s) = metadata_pair(env, pair, "Checkpoint.metadata")?;
                Ok((dir, o, s))
            })();
            let (dir, metadata) = match parts.and_then(|(dir, o, s)| Ok((dir, PartitionMetadata::new(id, o, s)?))) {
                Ok(v) => v,
                Err(e) => {
                    clear_unexpected(env);
                    // Not from this thread's frame: release attaches on its own.
                    std::thread::spawn(release);
                    return Err(e);
                }
            };
            Ok(HostCheckpoint { dir: dir.into(), metadata, release: Box::new(release) })
        })
    }
}

/// The host's Java `MetadataHook` (through `MetadataHookAdapter.beforePublish`), called on a
/// tokio blocking thread before the partition is published.
pub(crate) fn metadata_hook(env: &JNIEnv, adapter: &JObject) -> std::result::Result<MetadataHook, JniError> {
    let adapter = JavaRef::new(env, adapter)?;
    Ok(Arc::new(move |id: &PartitionId, m: &PartitionMetadata| {
        with_java(|env| {
            let store = env.new_string(&id.store)?;
            let offset_record = env.byte_array_from_slice(&m.offset_record)?;
            let svs = env.byte_array_from_slice(&m.store_version_state)?;
            call_host(
                env,
                adapter.as_obj(),
                "beforePublish",
                "(Ljava/lang/String;II[B[B)V",
                &[
                    JValue::Object(&store),
                    JValue::Int(id.version),
                    JValue::Int(id.partition),
                    JValue::Object(&offset_record),
                    JValue::Object(&svs),
                ],
                ErrorKind::Io,
                "MetadataHook.beforePublish",
            )?;
            Ok(())
        })
    }))
}

/// The host's Java `SendListener` (through `SendListenerAdapter.onFileSent`), called on the
/// node's callback thread; the adapter logs what the listener throws.
pub(crate) fn send_listener(env: &JNIEnv, adapter: &JObject) -> std::result::Result<FileSentFn, JniError> {
    let adapter = JavaRef::new(env, adapter)?;
    Ok(Arc::new(move |id: &PartitionId, peer: &str, len: u64| {
        let r = with_java(|env| {
            let store = env.new_string(&id.store)?;
            let peer = env.new_string(peer)?;
            env.call_method(
                adapter.as_obj(),
                "onFileSent",
                "(Ljava/lang/String;IILjava/lang/String;J)V",
                &[
                    JValue::Object(&store),
                    JValue::Int(id.version),
                    JValue::Int(id.partition),
                    JValue::Object(&peer),
                    JValue::Long(i64::try_from(len).unwrap_or(i64::MAX)),
                ],
            )?;
            Ok(())
        });
        if let Err(e) = r {
            log::warn!("SendListener: {e}");
        }
    }))
}

/// The host's Java `OriginPolicy` (through `OriginPolicyAdapter`), called on a tokio blocking
/// thread for each TLS request from a same-issuer peer; what it throws refuses the request.
pub(crate) struct JavaOrigin(JavaRef);

impl JavaOrigin {
    pub(crate) fn new(env: &JNIEnv, adapter: &JObject) -> std::result::Result<JavaOrigin, JniError> {
        Ok(JavaOrigin(JavaRef::new(env, adapter)?))
    }
}

impl crate::server::OriginPolicy for JavaOrigin {
    fn identity(&self, cert_der: &[u8]) -> Result<Option<String>> {
        with_java(|env| {
            let der = env.byte_array_from_slice(cert_der)?;
            let args = [JValue::Object(&der)];
            let v =
                call_host(env, self.0.as_obj(), "identity", "([B)Ljava/lang/String;", &args, ErrorKind::Internal, "OriginPolicy.identity")?;
            let s = v.l()?;
            Ok(if s.is_null() { None } else { Some(java_string(env, &s.into())?) })
        })
    }

    fn may_read(&self, cert_der: &[u8], store: &str) -> Result<bool> {
        with_java(|env| {
            let der = env.byte_array_from_slice(cert_der)?;
            let store = env.new_string(store)?;
            let args = [JValue::Object(&der), JValue::Object(&store)];
            let v =
                call_host(env, self.0.as_obj(), "mayRead", "([BLjava/lang/String;)Z", &args, ErrorKind::Internal, "OriginPolicy.mayRead")?;
            Ok(v.z()?)
        })
    }
}

/// The host's Java `PeerDiscovery` (through `PeerDiscoveryAdapter.discover`), called on a tokio
/// blocking thread. An exception it throws fails the bootstrap (code `NO_PEERS` unless it is a
/// `BlobTransferException`).
pub(crate) struct JavaDiscovery {
    adapter: JavaRef,
}

impl JavaDiscovery {
    pub(crate) fn new(env: &JNIEnv, adapter: &JObject) -> std::result::Result<JavaDiscovery, JniError> {
        Ok(JavaDiscovery { adapter: JavaRef::new(env, adapter)? })
    }
}

impl PeerDiscovery for JavaDiscovery {
    fn discover(&self, id: &PartitionId) -> Result<Vec<String>> {
        with_java(|env| {
            let store = env.new_string(&id.store)?;
            let value = call_host(
                env,
                self.adapter.as_obj(),
                "discover",
                "(Ljava/lang/String;II)[Ljava/lang/String;",
                &[JValue::Object(&store), JValue::Int(id.version), JValue::Int(id.partition)],
                ErrorKind::NoPeers,
                "PeerDiscovery.discoverPeers",
            )?;
            let peers = JObjectArray::from(value.l()?);
            string_array(env, &peers, "discovered peers")
        })
    }
}

/// A bootstrap's completion: hands the result to the Java `BootstrapFuture`
/// (`onNativeSuccess` / `onNativeFailure`), which passes it to its executor at once. Runs on the
/// node's `vbt-callbacks` thread, exactly once.
pub(crate) fn completion(
    env: &JNIEnv,
    future: &JObject,
) -> std::result::Result<impl FnOnce(Result<BootstrapOutcome>) + Send + 'static, JniError> {
    let future = JavaRef::new(env, future)?;
    Ok(move |result: Result<BootstrapOutcome>| {
        if let Err(e) = with_java(|env| deliver(env, future.as_obj(), result)) {
            log::error!("could not hand a bootstrap result to Java: {e}");
        }
    })
}

/// Failed peers as the four parallel arrays Java's `BootstrapResult.failedPeers` takes: names
/// (`String[]`), codes (`int[]`), messages (`String[]`), probe-only flags (`boolean[]`).
type FailedArrays<'local> = (JObjectArray<'local>, JIntArray<'local>, JObjectArray<'local>, JBooleanArray<'local>);

fn failed_peer_arrays<'local>(env: &mut JNIEnv<'local>, failed: &[PeerFailure]) -> std::result::Result<FailedArrays<'local>, JniError> {
    let n = i32::try_from(failed.len()).map_err(|_| Error::internal("too many failed peers"))?;
    let names = env.new_object_array(n, "java/lang/String", JObject::null())?;
    let messages = env.new_object_array(n, "java/lang/String", JObject::null())?;
    let codes = env.new_int_array(n)?;
    let mut code_values = Vec::with_capacity(failed.len());
    for (i, f) in failed.iter().enumerate() {
        env.with_local_frame(4, |env| -> std::result::Result<(), JniError> {
            let name = env.new_string(&f.peer)?;
            let message = env.new_string(f.error.message())?;
            env.set_object_array_element(&names, i as i32, &name)?;
            env.set_object_array_element(&messages, i as i32, &message)?;
            Ok(())
        })?;
        code_values.push(f.error.kind().code() as i32);
    }
    env.set_int_array_region(&codes, 0, &code_values)?;
    let probe_only = env.new_boolean_array(n)?;
    let flags: Vec<u8> = failed.iter().map(|f| u8::from(f.probe_only)).collect();
    env.set_boolean_array_region(&probe_only, 0, &flags)?;
    Ok((names, codes, messages, probe_only))
}

/// `reused_from` as the two parallel arrays Java's `BootstrapResult.reusedFrom` is built from:
/// peers (`String[]`) and their bytes (`long[]`).
fn reused_from_arrays<'local>(
    env: &mut JNIEnv<'local>,
    reused: &[(String, u64)],
) -> std::result::Result<(JObjectArray<'local>, JLongArray<'local>), JniError> {
    let n = i32::try_from(reused.len()).map_err(|_| Error::internal("too many reused-from peers"))?;
    let peers = env.new_object_array(n, "java/lang/String", JObject::null())?;
    for (i, (peer, _)) in reused.iter().enumerate() {
        env.with_local_frame(2, |env| -> std::result::Result<(), JniError> {
            let peer = env.new_string(peer)?;
            env.set_object_array_element(&peers, i as i32, &peer)?;
            Ok(())
        })?;
    }
    let bytes = env.new_long_array(n)?;
    let values: Vec<i64> = reused.iter().map(|(_, b)| i64::try_from(*b).unwrap_or(i64::MAX)).collect();
    env.set_long_array_region(&bytes, 0, &values)?;
    Ok((peers, bytes))
}

fn deliver(env: &mut JNIEnv, future: &JObject, result: Result<BootstrapOutcome>) -> std::result::Result<(), JniError> {
    match result {
        Ok(out) => {
            let peer = env.new_string(&out.peer)?;
            let dir = env.new_string(out.partition_dir.to_string_lossy())?;
            let offset_record = env.byte_array_from_slice(&out.metadata.offset_record)?;
            let store_version_state = env.byte_array_from_slice(&out.metadata.store_version_state)?;
            let (names, codes, messages, probe_only) = failed_peer_arrays(env, &out.failed_peers)?;
            let (reused_peers, reused_bytes) = reused_from_arrays(env, &out.reused_from)?;
            env.call_method(
                future,
                "onNativeSuccess",
                "(Ljava/lang/String;IJJIDLjava/lang/String;[B[B[Ljava/lang/String;[I[Ljava/lang/String;[Z[Ljava/lang/String;[J)V",
                &[
                    JValue::Object(&peer),
                    JValue::Int(i32::try_from(out.files).unwrap_or(i32::MAX)),
                    JValue::Long(i64::try_from(out.bytes).unwrap_or(i64::MAX)),
                    JValue::Long(i64::try_from(out.resumed_bytes).unwrap_or(i64::MAX)),
                    JValue::Int(i32::try_from(out.streams).unwrap_or(i32::MAX)),
                    JValue::Double(out.elapsed.as_secs_f64()),
                    JValue::Object(&dir),
                    JValue::Object(&offset_record),
                    JValue::Object(&store_version_state),
                    JValue::Object(&names),
                    JValue::Object(&codes),
                    JValue::Object(&messages),
                    JValue::Object(&probe_only),
                    JValue::Object(&reused_peers),
                    JValue::Object(&reused_bytes),
                ],
            )?;
        }
        Err(e) => {
            let message = env.new_string(e.message())?;
            let (names, codes, messages, probe_only) = failed_peer_arrays(env, e.peer_failures())?;
            env.call_method(
                future,
                "onNativeFailure",
                "(ILjava/lang/String;I[Ljava/lang/String;[I[Ljava/lang/String;[Z)V",
                &[
                    JValue::Int(e.kind().code() as i32),
                    JValue::Object(&message),
                    JValue::Int(e.status().map_or(-1, i32::from)),
                    JValue::Object(&names),
                    JValue::Object(&codes),
                    JValue::Object(&messages),
                    JValue::Object(&probe_only),
                ],
            )?;
        }
    }
    Ok(())
}

/// A bootstrap's `ProgressListenerAdapter`, as the core's progress hook. The core calls it on the
/// node's `vbt-callbacks` thread (attached here as for completions), before the completion; the
/// adapter catches and logs whatever the host's listener throws, and anything still pending is
/// cleared by `with_java`, so a listener can never fail the bootstrap.
pub(crate) fn progress_listener(
    env: &JNIEnv,
    adapter: &JObject,
) -> std::result::Result<impl Fn(&Progress, bool) + Send + Sync + 'static, JniError> {
    let adapter = JavaRef::new(env, adapter)?;
    let total = |t: Option<u64>| t.and_then(|t| i64::try_from(t).ok()).unwrap_or(-1);
    Ok(move |p: &Progress, last: bool| {
        let reported = with_java(|env| {
            let peer = env.new_string(&p.peer)?;
            env.call_method(
                adapter.as_obj(),
                "progress",
                "(Ljava/lang/String;JJJJJZ)V",
                &[
                    JValue::Object(&peer),
                    JValue::Long(i64::try_from(p.files_done).unwrap_or(i64::MAX)),
                    JValue::Long(i64::try_from(p.bytes_done).unwrap_or(i64::MAX)),
                    JValue::Long(i64::try_from(p.bytes_resumed).unwrap_or(i64::MAX)),
                    JValue::Long(total(p.files_total.map(|n| n as u64))),
                    JValue::Long(total(p.bytes_total)),
                    JValue::Bool(u8::from(last)),
                ],
            )?;
            Ok(())
        });
        if let Err(e) = reported {
            log::warn!("could not report progress to Java: {e}");
        }
    })
}

/// The process-wide log sink: forwards records to `LogSinkAdapter.log(level, target, message)`
/// (level 1 = ERROR … 5 = TRACE). Records from the `jni` crate itself are dropped (they describe
/// the very calls that forward them), and so are records logged while a Java exception is pending
/// on the thread; `crate::logging` drops those logged from inside the sink.
pub(crate) fn log_sink(env: &JNIEnv, adapter: &JObject) -> std::result::Result<LogSink, JniError> {
    let adapter = JavaRef::new(env, adapter)?;
    Ok(Arc::new(move |level: log::Level, target: &str, message: &str| {
        if target == "jni" || target.starts_with("jni::") {
            return;
        }
        forward_log(&adapter, level, target, message);
    }))
}

fn forward_log(adapter: &JavaRef, level: log::Level, target: &str, message: &str) {
    let Some(vm) = java_vm() else { return };
    let Ok(mut env) = attach(vm) else { return };
    // On a Java thread that is about to throw, no other JNI call is allowed: drop the record.
    if env.exception_check().unwrap_or(true) {
        return;
    }
    let _ = env.with_local_frame(4, |env| -> std::result::Result<(), JniError> {
        let target = env.new_string(target)?;
        let message = env.new_string(message)?;
        let _ = env.call_method(
            adapter.as_obj(),
            "log",
            "(ILjava/lang/String;Ljava/lang/String;)V",
            &[JValue::Int(crate::logging::level_number(level) as i32), JValue::Object(&target), JValue::Object(&message)],
        );
        // A host logger that throws loses that record, nothing more.
        let _ = env.exception_clear();
        Ok(())
    });
    let _ = env.exception_clear();
}
