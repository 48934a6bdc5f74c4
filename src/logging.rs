//! Routes vbt's log records to a host's logger (the C/Java log sink), process-wide, since the
//! `log` facade has one logger per process. Without a sink, records go nowhere (or to whatever
//! logger the Rust host installed itself).

use std::sync::{Arc, OnceLock, RwLock};

/// (level, target, message).
pub type LogSink = Arc<dyn Fn(log::Level, &str, &str) + Send + Sync>;

static SINK: RwLock<Option<(LogSink, log::LevelFilter)>> = RwLock::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();

struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, m: &log::Metadata) -> bool {
        SINK.read().unwrap().as_ref().is_some_and(|(_, lvl)| m.level() <= *lvl)
    }
    fn log(&self, r: &log::Record) {
        let sink = SINK.read().unwrap().as_ref().map(|(s, lvl)| (s.clone(), *lvl));
        if let Some((sink, lvl)) = sink {
            if r.level() <= lvl {
                // A host logger that panics must not unwind into vbt's threads.
                let msg = r.args().to_string();
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(r.level(), r.target(), &msg)));
            }
        }
    }
    fn flush(&self) {}
}

/// Sends records at `level` and above to `sink` (replacing any earlier sink); `None` stops it.
/// Returns false if another logger was installed in this process before vbt's.
pub fn set_sink(sink: Option<LogSink>, level: log::LevelFilter) -> bool {
    let installed = *INSTALLED.get_or_init(|| log::set_logger(&Forwarder).is_ok());
    if installed {
        log::set_max_level(if sink.is_some() { level } else { log::LevelFilter::Off });
    }
    // Drop the old sink only after the lock is released: dropping it may log (JNI does), and
    // logging takes the same lock.
    let old = std::mem::replace(&mut *SINK.write().unwrap(), sink.map(|s| (s, level)));
    drop(old);
    installed
}
