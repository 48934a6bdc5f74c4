//! Routes vbt's log records to a host's logger (the C/Java log sink), process-wide, since the
//! `log` facade has one logger per process. Without a sink, records go nowhere (or to whatever
//! logger the Rust host installed itself).
//!
//! Lifetime, the same for every binding: a sink receives records from [`register`] until its
//! [`SinkRegistration`] is dropped or another sink is registered. Dropping the registration of
//! the current sink removes it and waits until no call to it is still running (unless the drop
//! happens inside such a call), so the host may free what the sink uses right after. Who holds
//! the registration is the binding's choice: C ties it to a node, Java to its static setter.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use crate::error::{Error, Result};

/// (level, target, message).
pub type LogSink = Arc<dyn Fn(log::Level, &str, &str) + Send + Sync>;

/// A registered sink and the bookkeeping that lets its registration wait for it.
struct Entry {
    id: u64,
    sink: LogSink,
    level: log::LevelFilter,
    /// Calls to this sink in progress.
    calls: Arc<AtomicUsize>,
}

static SINK: RwLock<Option<Entry>> = RwLock::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Set while this thread runs a sink: a record logged from inside it is dropped (no
    /// recursion), and a registration dropped from inside it does not wait for itself.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, m: &log::Metadata) -> bool {
        let level = crate::log_level::level_for(m.target(), m.level());
        SINK.read().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|e| level <= e.level)
    }

    fn log(&self, r: &log::Record) {
        if IN_SINK.with(|s| s.get()) {
            return;
        }
        let level = crate::log_level::level_for(r.target(), r.level());
        let call = SINK.read().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|e| {
            (level <= e.level).then(|| {
                e.calls.fetch_add(1, Ordering::SeqCst);
                (e.sink.clone(), e.calls.clone())
            })
        });
        let Some((sink, calls)) = call else { return };
        let msg = r.args().to_string();
        IN_SINK.with(|s| s.set(true));
        // A host logger that panics must not unwind into vbt's threads.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(level, r.target(), &msg)));
        IN_SINK.with(|s| s.set(false));
        calls.fetch_sub(1, Ordering::SeqCst);
    }

    fn flush(&self) {}
}

/// Keeps a sink installed; see the module docs for what dropping it does.
pub struct SinkRegistration {
    id: u64,
    calls: Arc<AtomicUsize>,
}

/// Sends records at `level` and above to `sink`, replacing any earlier sink. The flag is false
/// if another logger was installed in this process before vbt's (the sink then receives nothing).
pub fn register(sink: LogSink, level: log::LevelFilter) -> (SinkRegistration, bool) {
    let installed = *INSTALLED.get_or_init(|| log::set_logger(&Forwarder).is_ok());
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    let calls = Arc::new(AtomicUsize::new(0));
    let entry = Entry { id, sink, level, calls: calls.clone() };
    // The replaced sink is dropped after the lock is released: dropping it may log (JNI does).
    let old = SINK.write().unwrap_or_else(|e| e.into_inner()).replace(entry);
    if installed {
        log::set_max_level(level);
    }
    drop(old);
    (SinkRegistration { id, calls }, installed)
}

impl Drop for SinkRegistration {
    fn drop(&mut self) {
        let old = {
            let mut current = SINK.write().unwrap_or_else(|e| e.into_inner());
            if current.as_ref().is_some_and(|e| e.id == self.id) {
                log::set_max_level(log::LevelFilter::Off);
                current.take()
            } else {
                None
            }
        };
        drop(old);
        // Removed under the write lock, so no call starts any more; wait out those running.
        if !IN_SINK.with(|s| s.get()) {
            while self.calls.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// The bindings' level numbers: 0 = off, 1 = ERROR, 2 = WARN, 3 = INFO, 4 = DEBUG, 5 = TRACE.
pub fn level_filter(level: u32) -> Result<log::LevelFilter> {
    Ok(match level {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        5 => log::LevelFilter::Trace,
        n => return Err(Error::invalid(format!("log level {n} is not 0 (off) .. 5 (trace)"))),
    })
}

/// The number of a record's level in the same numbering (1 = ERROR .. 5 = TRACE).
pub fn level_number(level: log::Level) -> u32 {
    level as u32
}
