//! One transfer of a snapshot to one receiver, over one connection (Venice, and every Java
//! receiver) or several (a vbt receiver that asked with `X-Vbt-Streams`, protocol::ext).
//!
//! ```text
//! first connection:  admit → lease snapshot → Transfer{queue} → registered under a token
//!                    loop: next file from the queue → FILE      then METADATA → COMPLETE
//! joined connection: X-Vbt-Join: token → same Transfer (no new admission, no new lease)
//!                    loop: next file from the queue → FILE      then COMPLETE
//! ```
//! The queue hands each file out once, to whichever connection asks first, so the streams stay
//! balanced whatever the file sizes. Files a resuming receiver holds are never queued; a file it
//! holds the start of (`X-Vbt-Resume-From`) is sent from there, under `x-vbt-offset`. The
//! admission and the snapshot use end when the last connection of the transfer lets go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use super::admission::AdmissionGuard;
use crate::protocol::checksum::Algorithm;
use crate::protocol::ext::{Asks, FileInfo};
use crate::protocol::PartitionId;
use crate::snapshot::{SnapshotFile, SnapshotLease};

pub(crate) struct Transfer {
    pub lease: SnapshotLease,
    pub algorithm: Algorithm,
    pub started: Instant,
    /// Put the snapshot's identity and totals on FILE heads (the receiver asked).
    pub info: bool,
    /// Present when other connections may join.
    pub token: Option<String>,
    queue: Mutex<std::vec::IntoIter<usize>>,
    /// Where the receiver's partly received files go on from, by index (resume).
    offsets: HashMap<usize, u64>,
    joins_left: AtomicUsize,
    /// Files skipped because the receiver holds them (resume).
    pub skipped: usize,
    /// Its row in /transfers (one row for all its connections).
    pub tracked: crate::transfers::Tracked,
    _admitted: AdmissionGuard,
}

impl Transfer {
    /// The transfer a first request starts. A resume naming another snapshot is ignored: the
    /// receiver sees the new id on the first FILE head and starts clean.
    pub fn start(
        lease: SnapshotLease,
        asks: &Asks,
        algorithm: Algorithm,
        admitted: AdmissionGuard,
        tracked: impl FnOnce(usize, u64) -> crate::transfers::Tracked,
    ) -> Transfer {
        let mut skip = vec![false; lease.files.len()];
        let mut offsets = HashMap::new();
        if let Some(r) = asks.resume.as_ref().filter(|r| r.snapshot == lease.identity) {
            for &i in &r.held {
                if let Some(s) = skip.get_mut(i) {
                    *s = true;
                }
            }
            // An offset past the file's end (the receiver's journal lied) is not served: the
            // file goes whole, without x-vbt-offset, and the receiver starts it over.
            offsets = r.from.iter().filter(|&&(i, o)| lease.files.get(i).is_some_and(|f| o <= f.len) && !skip[i]).copied().collect();
        }
        let skipped = skip.iter().filter(|s| **s).count();
        let order: Vec<usize> = (0..skip.len()).filter(|&i| !skip[i]).collect();
        let joins = asks.streams.saturating_sub(1);
        let bytes = order.iter().map(|&i| lease.files[i].len - offsets.get(&i).copied().unwrap_or(0)).sum();
        let tracked = tracked(order.len(), bytes);
        let token = (joins > 0).then(new_token);
        Transfer {
            lease,
            algorithm,
            started: Instant::now(),
            info: asks.snapshot_info || joins > 0 || asks.resume.is_some(),
            token,
            queue: Mutex::new(order.into_iter()),
            offsets,
            joins_left: AtomicUsize::new(joins),
            skipped,
            tracked,
            _admitted: admitted,
        }
    }

    /// The next file to send, with its index and the offset to send it from; `None` when
    /// every file is handed out.
    pub fn next_file(&self) -> Option<(usize, &SnapshotFile, u64)> {
        let i = self.queue.lock().unwrap().next()?;
        Some((i, &self.lease.files[i], self.offsets.get(&i).copied().unwrap_or(0)))
    }

    /// The `x-vbt-*` lines for file `index` (empty when the receiver asked for none).
    pub fn file_info(&self, index: usize) -> String {
        if !self.info {
            return String::new();
        }
        FileInfo {
            snapshot: Some(self.lease.identity.clone()),
            index: Some(index),
            files_total: Some(self.lease.files.len()),
            bytes_total: Some(self.lease.total_bytes()),
            transfer: self.token.clone(),
            offset: self.offsets.get(&index).copied(),
        }
        .header_lines()
    }

    fn try_join(&self) -> bool {
        self.joins_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

/// Unguessable: the token is all a joining connection shows (fastrand is predictable).
fn new_token() -> String {
    let mut b = [0u8; 16];
    if rustls::crypto::ring::default_provider().secure_random.fill(&mut b).is_err() {
        b = (fastrand::u128(..) ^ std::process::id() as u128).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Transfers that other connections may join, by token. Entries are weak: a transfer whose
/// connections have all ended cannot be joined.
#[derive(Default)]
pub(crate) struct Joinable(Mutex<HashMap<String, Weak<Transfer>>>);

impl Joinable {
    pub fn register(&self, t: &Arc<Transfer>) {
        if let Some(token) = &t.token {
            let mut map = self.0.lock().unwrap();
            map.retain(|_, w| w.strong_count() > 0);
            map.insert(token.clone(), Arc::downgrade(t));
        }
    }

    /// The transfer `token` names, if it is alive, of this partition, and has a join left.
    pub fn join(&self, token: &str, id: &PartitionId) -> Option<Arc<Transfer>> {
        let t = self.0.lock().unwrap().get(token)?.upgrade()?;
        (t.lease.id == *id && t.try_join()).then_some(t)
    }
}
