//! The sender's MD5 of a snapshot, ahead of the stream: one background job per snapshot hashes
//! every file in lanes ([`crate::digest::lanes`]), in sending (name) order, and publishes each file's MD5
//! into the snapshot's cache the moment that file's lane finishes. A request waits only for the
//! file it is about to send, so a cold snapshot's first byte leaves after the first file's MD5
//! (hashed alone, at one stream's full speed), not the whole snapshot's. Files the node hashed
//! before (hard-linked SSTs of an earlier checkpoint) come from the [`DigestCache`] unread.

use std::fs::File;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Instant, SystemTime};

use tokio::sync::{watch, OnceCell, Semaphore};

use super::Snapshot;
use crate::digest::{cache, hex, lanes, DigestCache, FileKey};

/// What the node's MD5 jobs share (and, with every node of the process, the MD5s known by file
/// identity: `cache::known`).
pub(super) struct Md5Node {
    /// One job keeps a core's SIMD units busy with 16 lanes; more jobs than cores would only
    /// share the cores (and each holds 16 pieces of buffer), so the rest queue here.
    jobs: Arc<Semaphore>,
}

impl Md5Node {
    pub fn new() -> Md5Node {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Md5Node { jobs: Arc::new(Semaphore::new(cores)) }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Idle,
    Running,
    Ended,
}

/// One snapshot's MD5 job, shared by its files.
pub(super) struct Md5Job {
    started: AtomicBool,
    /// Changes (or is touched) on every file published and when the job ends.
    phase: watch::Sender<Phase>,
    pub(super) hashed: AtomicUsize,
    pub(super) from_cache: AtomicUsize,
}

impl Md5Job {
    pub fn new() -> Arc<Md5Job> {
        Arc::new(Md5Job {
            started: AtomicBool::new(false),
            phase: watch::Sender::new(Phase::Idle),
            hashed: AtomicUsize::new(0),
            from_cache: AtomicUsize::new(0),
        })
    }

    /// The file's MD5 once the job has published it; None if the job is not running or ended
    /// without it (a read error): the caller then hashes the file itself.
    pub async fn wait(&self, cell: &OnceCell<String>) -> Option<String> {
        let mut rx = self.phase.subscribe();
        loop {
            // Phase first, cell second: the job publishes before it touches the phase, so a
            // publish after this check still wakes `changed` below.
            let running = *rx.borrow_and_update() == Phase::Running;
            if let Some(sum) = cell.get() {
                return Some(sum.clone());
            }
            if !running || rx.changed().await.is_err() {
                return None;
            }
        }
    }

    fn publish(&self, cell: &OnceCell<String>, md5: [u8; 16]) {
        // Fails only if a request computed it meanwhile: the same value.
        let _ = cell.set(hex(&md5));
        self.phase.send_modify(|_| {});
    }
}

/// Ends the job's phase whatever way the job stops (panics included), so no request waits on it.
struct EndOnDrop(Arc<Md5Job>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.phase.send_replace(Phase::Ended);
    }
}

/// Starts the snapshot's MD5 job unless it already started. Must be called within the runtime.
pub(super) fn start(snap: &Arc<Snapshot>) {
    let job = snap.md5_job.clone();
    if job.started.swap(true, Ordering::SeqCst) {
        return;
    }
    job.phase.send_replace(Phase::Running);
    let end = EndOnDrop(job);
    // Weak: a snapshot dropped (removed, node stopped) ends the job at its next file.
    let weak = Arc::downgrade(snap);
    let node = snap.md5_node.clone();
    tokio::spawn(async move {
        let Ok(permit) = node.jobs.clone().acquire_owned().await else { return };
        let _ = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            run(&weak, &end.0, cache::known(crate::protocol::checksum::Algorithm::Md5));
        })
        .await;
    });
}

fn run(weak: &Weak<Snapshot>, job: &Md5Job, cache: &DigestCache) {
    let started = Instant::now();
    let Some(count) = weak.upgrade().map(|s| s.files.len()) else { return };
    let mut order = 0..count;
    let mut bytes = 0u64;
    // The next file to hash, in sending order; files known already are published on the way.
    let mut next = || loop {
        let i = order.next()?;
        let snap = weak.upgrade()?;
        let f = &snap.files[i];
        if f.md5.initialized() {
            continue;
        }
        // A file that cannot be opened is left to the request, which reports the error.
        let Ok(file) = File::open(&f.path) else { continue };
        let now = SystemTime::now();
        let Ok(key) = file.metadata().map(|m| FileKey::of(&m)) else { continue };
        if let Some(md5) = cache.get(&key) {
            job.from_cache.fetch_add(1, Ordering::Relaxed);
            job.publish(&f.md5, md5);
            continue;
        }
        // Read in its last write's tick, a rewrite in that tick would leave the key: not kept.
        return Some(((i, key.settled(now).then_some(key)), file));
    };
    let mut done = |(i, key): (usize, Option<FileKey>), file: &File, result: std::io::Result<[u8; 16]>| {
        let Some(snap) = weak.upgrade() else { return ControlFlow::Break(()) };
        let f = &snap.files[i];
        match result {
            Ok(md5) => {
                // Remembered by identity only if the file did not change while it was read.
                if let Some(key) = key.filter(|k| file.metadata().is_ok_and(|m| FileKey::of(&m) == *k)) {
                    cache.put(&key, md5);
                }
                job.hashed.fetch_add(1, Ordering::Relaxed);
                bytes += f.len;
                job.publish(&f.md5, md5);
            }
            Err(e) => log::warn!("MD5 of {}: {e}", f.path.display()),
        }
        ControlFlow::Continue(())
    };
    // The first file goes alone, at one stream's full speed (md5-many's single-stream path with
    // AVX2): a lane among 16 runs at under half that, so the first byte would wait for 15 other
    // files. While it is being sent, the rest hash in lanes, faster than the stream takes them.
    let mut lead = next();
    if lead.is_some() {
        lanes::md5_files_auto(lanes::PIECE, || lead.take(), &mut done);
    }
    lanes::md5_files_auto(lanes::PIECE, &mut next, &mut done);
    if job.hashed.load(Ordering::Relaxed) > 0 {
        if let Some(snap) = weak.upgrade() {
            snap.keep_checksums();
        }
    }
    let secs = started.elapsed().as_secs_f64();
    log::info!(
        "MD5 of snapshot: {} files hashed ({bytes} bytes, {:.0} MB/s), {} known from earlier snapshots, in {secs:.3}s",
        job.hashed.load(Ordering::Relaxed),
        bytes as f64 / secs.max(1e-9) / 1e6,
        job.from_cache.load(Ordering::Relaxed),
    );
}
