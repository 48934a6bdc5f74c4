//! The sender's open connections, so a flood of idle ones cannot take it off the air.
//!
//! Every accepted connection is counted. One that has not sent its request yet, or has finished
//! its transfer and only lingers (Venice keeps it open until the peer closes), is *idle* and may
//! be closed to make room; one that is serving a transfer never is. At the cap, the oldest idle
//! connection is closed for each new one; when every connection is serving, the new one is closed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

pub(crate) struct Connections {
    cap: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    open: usize,
    next: u64,
    /// Idle connections, oldest first, each with the means to close it.
    idle: BTreeMap<u64, oneshot::Sender<()>>,
}

/// One counted connection; uncounted on drop.
pub(crate) struct Slot {
    table: Arc<Connections>,
    seq: u64,
}

/// Resolves when the table closes this connection to make room.
pub(crate) type Evicted = oneshot::Receiver<()>;

impl Connections {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Connections { cap: cap.max(1), state: Mutex::new(State::default()) })
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn open(&self) -> usize {
        self.state.lock().unwrap().open
    }

    /// Counts a new connection (idle until its request arrives), closing the oldest idle one if
    /// the table is full. `None`: full of connections that are all serving.
    pub fn admit(self: &Arc<Self>) -> Option<(Slot, Evicted)> {
        let mut s = self.state.lock().unwrap();
        if s.open >= self.cap && !evict_oldest(&mut s) {
            return None;
        }
        s.open += 1;
        let seq = s.next;
        s.next += 1;
        let (tx, rx) = oneshot::channel();
        s.idle.insert(seq, tx);
        Some((Slot { table: self.clone(), seq }, rx))
    }

    /// Closes the oldest idle connection (the accept loop ran out of descriptors); false if none.
    pub fn evict_oldest(&self) -> bool {
        evict_oldest(&mut self.state.lock().unwrap())
    }
}

fn evict_oldest(s: &mut State) -> bool {
    while let Some((_, tx)) = s.idle.pop_first() {
        if tx.send(()).is_ok() {
            return true;
        }
    }
    false
}

impl Slot {
    /// The request arrived: this connection is serving and is not closed to make room.
    pub fn busy(&self) {
        self.table.state.lock().unwrap().idle.remove(&self.seq);
    }

    /// The transfer is over and the connection lingers: idle again, and the newest of them.
    pub fn idle(&mut self) -> Evicted {
        let mut s = self.table.state.lock().unwrap();
        let (tx, rx) = oneshot::channel();
        s.idle.remove(&self.seq);
        self.seq = s.next;
        s.next += 1;
        s.idle.insert(self.seq, tx);
        rx
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.table.state.lock().unwrap();
        s.open -= 1;
        s.idle.remove(&self.seq);
    }
}

/// The default cap: three quarters of the open-file limit, leaving the rest for snapshot files,
/// RocksDB and the receiver.
pub(crate) fn default_cap() -> usize {
    (crate::fsutil::nofile_limit().0 as usize / 4 * 3).max(16)
}

/// The configured cap, but never above the default: past it, idle connections take the
/// descriptors a transfer needs to open its snapshot files.
pub(crate) fn cap(configured: Option<usize>) -> usize {
    let most = default_cap();
    match configured {
        Some(c) if c > most => {
            log::warn!("vbt.server.max.connections={c} is more than 3/4 of the open-file limit; using {most}");
            most
        }
        Some(c) => c,
        None => most,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_table_closes_the_oldest_idle_and_never_a_busy_one() {
        let t = Connections::new(2);
        let (a, mut a_evicted) = t.admit().unwrap();
        let (b, mut b_evicted) = t.admit().unwrap();
        b.busy();
        let (_c, _) = t.admit().expect("room made by closing the oldest idle connection");
        assert!(a_evicted.try_recv().is_ok(), "a was idle and oldest");
        assert!(b_evicted.try_recv().is_err(), "b is serving");
        assert_eq!(t.open(), 3, "a is counted until its task closes it");
        drop(a);
        assert_eq!(t.open(), 2);
        drop(b);
    }

    #[test]
    fn the_cap_leaves_descriptors_for_files() {
        assert_eq!(cap(None), default_cap());
        assert_eq!(cap(Some(usize::MAX)), default_cap());
        assert!(cap(Some(1_000_000)) <= default_cap());
        assert_eq!(cap(Some(3)), 3);
    }

    #[test]
    fn all_busy_refuses() {
        let t = Connections::new(1);
        let (a, _) = t.admit().unwrap();
        a.busy();
        assert!(t.admit().is_none());
        assert_eq!(t.open(), 1);
        drop(a);
        assert_eq!(t.open(), 0);
    }
}
