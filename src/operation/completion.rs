//! The completion dispatcher: one dedicated library thread per node that runs completion
//! callbacks in order. Never a tokio worker (a slow host callback must not stall transfers), never
//! inside the call that started the operation. A callback may call back into the library,
//! including closing the node: the thread then finishes what is queued and exits by itself.

use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use super::OpId;
use crate::client::{BootstrapOutcome, Progress};
use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Dispatcher {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    thread_id: ThreadId,
}

impl Dispatcher {
    pub fn start(name: &str) -> Result<Dispatcher> {
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                for job in rx {
                    // A panicking callback must not take the other completions down with it.
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
                        log::error!("a completion callback panicked");
                    }
                }
            })
            .map_err(|e| Error::io("starting the callback thread", e))?;
        let thread_id = handle.thread().id();
        Ok(Dispatcher { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(handle)), thread_id })
    }

    /// Queues a job; returns it back if the dispatcher is already shut down.
    pub fn dispatch(&self, job: Job) -> std::result::Result<(), Job> {
        match self.tx.lock().unwrap().as_ref() {
            Some(tx) => tx.send(job).map_err(|e| e.0),
            None => Err(job),
        }
    }

    pub fn on_dispatcher_thread(&self) -> bool {
        thread::current().id() == self.thread_id
    }

    /// Stops taking jobs, lets the thread run every queued one, and joins it — unless called
    /// from the dispatcher thread itself (a callback closing the node), which then drains and
    /// exits once the current callback returns.
    pub fn shutdown(&self) {
        self.tx.lock().unwrap().take();
        let handle = self.thread.lock().unwrap().take();
        if let Some(h) = handle {
            if !self.on_dispatcher_thread() {
                let _ = h.join();
            }
        }
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `done` of a bootstrap: called once with the operation's id and result.
pub(crate) type DoneFn = Box<dyn FnOnce(OpId, Result<BootstrapOutcome>) + Send>;

/// A completion owed to the host: delivered exactly once on the dispatcher thread, with the
/// `lost` error if the operation is dropped before it finishes (node shut down under it).
pub(crate) struct Completion {
    id: OpId,
    done: Option<DoneFn>,
    dispatcher: std::sync::Arc<Dispatcher>,
    lost: fn() -> Error,
}

impl Completion {
    pub fn new(id: OpId, done: DoneFn, dispatcher: std::sync::Arc<Dispatcher>, lost: fn() -> Error) -> Self {
        Completion { id, done: Some(done), dispatcher, lost }
    }

    pub fn complete(mut self, result: Result<BootstrapOutcome>) {
        self.deliver(result);
    }

    fn deliver(&mut self, result: Result<BootstrapOutcome>) {
        let Some(done) = self.done.take() else { return };
        let id = self.id;
        if let Err(job) = self.dispatcher.dispatch(Box::new(move || done(id, result))) {
            // The dispatcher is gone (node closed from inside a callback): still exactly once,
            // still off the runtime.
            let _ = thread::Builder::new().name("vbt-callbacks-late".into()).spawn(job);
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        let lost = (self.lost)();
        self.deliver(Err(lost));
    }
}

/// How often a host's progress callback runs at most (plus one final report on success).
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// A host's progress callback, as the relay calls it (on the dispatcher thread).
/// The flag is true for the final report.
pub(crate) type HostProgressFn = Box<dyn Fn(&Progress, bool) + Send + Sync>;

/// Carries a bootstrap's progress from the thread that moves the data to the host's callback on
/// the dispatcher thread: at most one report per [`PROGRESS_EVERY`], never one after the
/// completion (reports and the completion share the dispatcher's queue, and a report that runs
/// after [`ProgressRelay::finish`] is dropped), and on success one final report with the
/// outcome's counts just before the completion.
pub(crate) struct ProgressRelay {
    state: Mutex<RelayState>,
    host: HostProgressFn,
    dispatcher: std::sync::Arc<Dispatcher>,
    every: Duration,
}

struct RelayState {
    /// The completion is under way: no report may run any more.
    finished: bool,
    last_sent: Option<Instant>,
    /// The last totals announced, for the final report.
    totals: (Option<usize>, Option<u64>),
}

impl ProgressRelay {
    pub fn new(host: HostProgressFn, dispatcher: std::sync::Arc<Dispatcher>, every: Duration) -> std::sync::Arc<Self> {
        std::sync::Arc::new(ProgressRelay {
            state: Mutex::new(RelayState { finished: false, last_sent: None, totals: (None, None) }),
            host,
            dispatcher,
            every,
        })
    }

    /// The core's progress hook: called on a runtime worker as bytes arrive; cheap when no report
    /// is due (a lock and a clock read).
    pub fn report(self: &std::sync::Arc<Self>, p: &Progress) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.totals = (p.files_total, p.bytes_total);
        if st.finished || st.last_sent.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        st.last_sent = Some(Instant::now());
        let (relay, p) = (self.clone(), p.clone());
        // Queued under the lock, so it is ahead of any completion queued after `finish`.
        let _ = self.dispatcher.dispatch(Box::new(move || {
            if !relay.state.lock().unwrap_or_else(|e| e.into_inner()).finished {
                (relay.host)(&p, false);
            }
        }));
    }

    /// Called where the completion is delivered, just before it: stops further reports and, on
    /// success, gives the final one (the outcome's files, and its bytes plus resumed bytes).
    pub fn finish(&self, result: &Result<BootstrapOutcome>) {
        let totals = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.finished = true;
            st.totals
        };
        if let Ok(o) = result {
            (self.host)(
                &Progress {
                    peer: o.peer.clone(),
                    file: String::new(),
                    files_done: o.files,
                    bytes_done: o.bytes + o.resumed_bytes,
                    bytes_resumed: o.resumed_bytes,
                    files_total: totals.0,
                    bytes_total: totals.1,
                },
                true,
            );
        }
    }
}
