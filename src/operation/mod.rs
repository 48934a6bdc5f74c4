//! Bootstraps running in the background, as the host sees them: an [`OpId`] for each, an
//! [`Operation`] to wait on or cancel, and the node's set of running ones ([`Ops`], which
//! cancels them all at close and waits for them to end). How a result reaches a host callback,
//! exactly once and on a thread of its own, is [`completion`]'s.

pub(crate) mod completion;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::client::BootstrapOutcome;
use crate::error::{Error, ErrorKind, Result};

/// A running bootstrap's id: what `cancel` takes and what a completion callback is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpId(u64);

impl OpId {
    /// The number the C and Java surfaces carry (never 0).
    pub fn get(self) -> u64 {
        self.0
    }
    /// An id from a number a binding carried back.
    pub fn from_raw(n: u64) -> OpId {
        OpId(n)
    }
}

impl std::fmt::Display for OpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A bootstrap running in the background. Its result is delivered exactly once.
pub struct Operation {
    id: OpId,
    rx: oneshot::Receiver<Result<BootstrapOutcome>>,
    ops: Weak<Ops>,
}

impl Operation {
    pub(crate) fn new(id: OpId, rx: oneshot::Receiver<Result<BootstrapOutcome>>, ops: Weak<Ops>) -> Operation {
        Operation { id, rx, ops }
    }
    pub fn id(&self) -> OpId {
        self.id
    }
    /// Asks the bootstrap to stop (it ends with `Cancelled` and cleans up); false if it already
    /// ended.
    pub fn cancel(&self) -> bool {
        self.ops.upgrade().is_some_and(|ops| ops.cancel(self.id))
    }
    /// Blocks the calling thread until the bootstrap ends. Not for use inside async code.
    pub fn wait(self) -> Result<BootstrapOutcome> {
        self.rx.blocking_recv().unwrap_or_else(|_| Err(lost()))
    }
    /// Awaits the end of the bootstrap, from any async runtime.
    pub async fn finish(self) -> Result<BootstrapOutcome> {
        self.rx.await.unwrap_or_else(|_| Err(lost()))
    }
}

/// The running bootstraps, each with its cancel switch. Waiting for it to empty is a condvar
/// wait, not a poll.
#[derive(Default)]
pub(crate) struct Ops {
    running: Mutex<HashMap<OpId, watch::Sender<bool>>>,
    emptied: std::sync::Condvar,
    next: AtomicU64,
}

impl Ops {
    pub fn register(&self) -> (OpId, watch::Receiver<bool>) {
        let id = OpId(self.next.fetch_add(1, Ordering::SeqCst) + 1);
        let (tx, rx) = watch::channel(false);
        self.running.lock().unwrap().insert(id, tx);
        (id, rx)
    }

    pub fn finished(&self, id: OpId) {
        let mut running = self.running.lock().unwrap();
        running.remove(&id);
        if running.is_empty() {
            self.emptied.notify_all();
        }
    }

    pub fn cancel(&self, id: OpId) -> bool {
        self.running.lock().unwrap().get(&id).is_some_and(|tx| tx.send(true).is_ok())
    }

    pub fn cancel_all(&self) {
        for tx in self.running.lock().unwrap().values() {
            let _ = tx.send(true);
        }
    }

    /// Waits until no bootstrap runs, or `limit` passes.
    pub fn wait_empty(&self, limit: Duration) {
        let running = self.running.lock().unwrap();
        let _ = self.emptied.wait_timeout_while(running, limit, |r| !r.is_empty());
    }
}

/// What an operation ends with when the node shuts down before it finished.
pub(crate) fn lost() -> Error {
    Error::new(ErrorKind::Shutdown, "the node shut down before the bootstrap finished")
}
