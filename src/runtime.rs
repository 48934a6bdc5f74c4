//! The tokio runtime each node owns, so hosts (C, JVM) need none of their own.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

pub(crate) fn build(worker_threads: usize) -> Result<tokio::runtime::Runtime> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .max_blocking_threads(64)
        .thread_name_fn(|| format!("vbt-worker-{}", SEQ.fetch_add(1, Ordering::Relaxed)))
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the vbt runtime", e))
}

/// Shuts a runtime down without panicking, whichever thread calls it.
pub(crate) fn shutdown(rt: tokio::runtime::Runtime) {
    if tokio::runtime::Handle::try_current().is_ok() {
        // Inside some runtime (a host calling from async code): blocking here is not allowed.
        rt.shutdown_background();
    } else {
        rt.shutdown_timeout(std::time::Duration::from_secs(5));
    }
}

/// Runs blocking work (file system, RocksDB, a host callback) off the async workers; a panic in
/// it becomes an internal error.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> crate::Result<T> + Send + 'static) -> crate::Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| crate::Error::internal(format!("blocking task failed: {e}")))?
}

/// Resolves once the flag is true (or its sender is gone). Holds no borrow across awaits, so the
/// futures that select on it stay `Send`.
pub(crate) async fn until_true(rx: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// The message of a caught panic's payload (the one place both bindings and the core read it).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}
