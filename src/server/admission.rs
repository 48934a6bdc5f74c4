//! Admission of concurrent transfers: exactly `blob.transfer.max.concurrent.snapshot.user` at once
//! (Venice admits max−1, and a request it rejects late keeps its slot until close).
//!
//! A vbt receiver that every peer refused may ask to wait (`X-Vbt-Wait`): it joins a queue of at
//! most `vbt.server.admission.queue` requests, first come first served. A slot that frees goes
//! straight to the oldest waiter (it is never free in between), so a request that does not wait
//! cannot overtake the queue, and a waiter is never refused while it is within its time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::failpoint::failpoint;

pub struct Admission {
    limit: usize,
    active: AtomicUsize,
    /// Most requests waiting at once.
    queue_max: usize,
    /// The waiters, oldest first; a slot is handed over through the channel. The lock also
    /// orders a waiter's "no slot free" against a slot's release.
    waiters: Mutex<VecDeque<oneshot::Sender<AdmissionGuard>>>,
    /// Signalled when the last admitted transfer ends (a graceful stop waits on it).
    idle: (Mutex<()>, Condvar),
}

/// Why a request that asked to wait was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub enum NotAdmitted {
    /// `vbt.server.admission.queue` requests are waiting already (or no slot can ever free).
    QueueFull,
    /// It waited as long as it asked.
    TimedOut,
}

/// One admitted transfer; the slot is free again (or the oldest waiter's) when this is dropped.
pub struct AdmissionGuard(Option<Arc<Admission>>);

impl Admission {
    pub fn new(limit: usize, queue_max: usize) -> Arc<Self> {
        Arc::new(Admission {
            limit,
            active: AtomicUsize::new(0),
            queue_max,
            waiters: Mutex::new(VecDeque::new()),
            idle: (Mutex::new(()), Condvar::new()),
        })
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|w| !w.is_closed()).count()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Blocks until no transfer is admitted or `limit` passes; returns how many still are.
    pub fn wait_idle(&self, limit: Duration) -> usize {
        let (lock, cv) = &self.idle;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let _ = cv.wait_timeout_while(guard, limit, |_| self.active() > 0);
        self.active()
    }

    /// Takes a slot if one is free; a refused request takes nothing.
    pub fn try_acquire(self: &Arc<Self>) -> Option<AdmissionGuard> {
        self.active
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < self.limit).then_some(n + 1))
            .ok()
            .map(|_| AdmissionGuard(Some(self.clone())))
    }

    /// Takes a slot, waiting up to `wait` in the queue when none is free (cancel-safe: a waiter
    /// dropped before its turn leaves the queue, one dropped with a slot in hand frees it).
    pub async fn acquire_within(self: &Arc<Self>, wait: Duration) -> Result<AdmissionGuard, NotAdmitted> {
        let rx = {
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(g) = self.try_acquire() {
                return Ok(g);
            }
            waiters.retain(|w| !w.is_closed());
            if self.limit == 0 || waiters.len() >= self.queue_max {
                return Err(NotAdmitted::QueueFull);
            }
            let (tx, rx) = oneshot::channel();
            waiters.push_back(tx);
            rx
        };
        let mut rx = rx;
        match tokio::time::timeout(wait, &mut rx).await {
            Ok(Ok(g)) => Ok(g),
            // A slot handed over just as the time ran out is still ours.
            _ => rx.try_recv().map_err(|_| NotAdmitted::TimedOut),
        }
    }
}

impl Drop for AdmissionGuard {
    fn drop(&mut self) {
        let Some(a) = self.0.take() else { return };
        let last = {
            // The slot goes to the oldest waiter still waiting; it stays taken meanwhile.
            let mut waiters = a.waiters.lock().unwrap_or_else(|e| e.into_inner());
            while let Some(w) = waiters.pop_front() {
                match w.send(AdmissionGuard(Some(a.clone()))) {
                    Ok(()) => return,
                    // That waiter gave up: the guard made for it must not release again.
                    Err(mut g) => drop(g.0.take()),
                }
            }
            // Freed under the lock: a request that lines up once we let go finds it free
            // (freed after, it would wait in line for a slot nobody hands over).
            a.active.fetch_sub(1, Ordering::SeqCst) == 1
        };
        failpoint!("admission-release-unlocked");
        if last {
            // Under the lock, so a waiter between its check and its wait cannot miss this.
            let (lock, cv) = &a.idle;
            let _held = lock.lock().unwrap_or_else(|e| e.into_inner());
            cv.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_limit() {
        let a = Admission::new(2, 0);
        let g1 = a.try_acquire().unwrap();
        let _g2 = a.try_acquire().unwrap();
        assert!(a.try_acquire().is_none());
        assert_eq!(a.active(), 2);
        drop(g1);
        assert!(a.try_acquire().is_some());
        assert_eq!(a.active(), 1);
    }

    #[test]
    fn wait_idle_returns_when_the_last_transfer_ends() {
        let a = Admission::new(2, 0);
        let g = a.try_acquire().unwrap();
        assert_eq!(a.wait_idle(Duration::from_millis(20)), 1, "times out while one is admitted");
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(g);
        });
        let started = std::time::Instant::now();
        assert_eq!(a.wait_idle(Duration::from_secs(10)), 0);
        assert!(started.elapsed() < Duration::from_secs(5));
        t.join().unwrap();
    }

    #[tokio::test]
    async fn waiters_get_freed_slots_first_come_first_served() {
        let a = Admission::new(1, 2);
        let held = a.try_acquire().unwrap();
        let (first, second) = (a.clone(), a.clone());
        let first = tokio::spawn(async move { first.acquire_within(Duration::from_secs(30)).await.map(|_| 1) });
        while a.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn(async move { second.acquire_within(Duration::from_secs(30)).await.map(|_| 2) });
        while a.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        // The queue is full, and one that does not wait cannot take the slot meant for a waiter.
        assert_eq!(a.acquire_within(Duration::from_secs(30)).await.err(), Some(NotAdmitted::QueueFull));
        drop(held);
        assert!(a.try_acquire().is_none(), "a freed slot went to the queue, not to whoever asks first");
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(second.await.unwrap(), Ok(2));
        assert_eq!((a.active(), a.waiting()), (0, 0));
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_its_place_and_loses_no_slot() {
        let a = Admission::new(1, 4);
        let held = a.try_acquire().unwrap();
        assert_eq!(a.acquire_within(Duration::from_millis(20)).await.err(), Some(NotAdmitted::TimedOut));
        // One dropped while waiting (its connection closed).
        let gone = tokio::spawn({
            let a = a.clone();
            async move { a.acquire_within(Duration::from_secs(30)).await.is_ok() }
        });
        while a.waiting() < 1 {
            tokio::task::yield_now().await;
        }
        gone.abort();
        let _ = gone.await;
        drop(held);
        assert_eq!(a.active(), 0, "the slot of a release with only departed waiters is free");
        assert!(a.try_acquire().is_some());
        // No slot can ever free: nobody waits.
        assert_eq!(Admission::new(0, 4).acquire_within(Duration::from_secs(30)).await.err(), Some(NotAdmitted::QueueFull));
    }

    /// A request that asks to wait just as the last transfer's release found nobody in line
    /// (between the release's look at the line and its freeing of the slot) must not wait in
    /// line for a slot that is free: it gets that slot.
    #[cfg(feature = "failpoints")]
    #[test]
    fn a_waiter_that_lines_up_during_a_release_gets_the_freed_slot() {
        use std::cell::Cell;
        use std::sync::mpsc;
        thread_local!(static PAUSE: Cell<bool> = const { Cell::new(false) });
        let (reached_tx, reached_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (reached_tx, go_rx) = (Mutex::new(reached_tx), Mutex::new(go_rx));
        // Only the releasing thread below pauses (other tests release guards meanwhile).
        fail::cfg_callback("admission-release-unlocked", move || {
            if PAUSE.with(|p| p.get()) {
                reached_tx.lock().unwrap().send(()).unwrap();
                go_rx.lock().unwrap().recv().unwrap();
            }
        })
        .unwrap();
        let a = Admission::new(1, 4);
        let held = a.try_acquire().unwrap();
        let releaser = std::thread::spawn(move || {
            PAUSE.with(|p| p.set(true));
            drop(held);
        });
        reached_rx.recv().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let waiter = rt.spawn({
            let a = a.clone();
            // It keeps its slot until joined.
            async move { a.acquire_within(Duration::from_secs(30)).await }
        });
        // Until it is admitted or in line.
        rt.block_on(async {
            while !waiter.is_finished() && a.waiting() == 0 {
                tokio::task::yield_now().await;
            }
        });
        go_tx.send(()).unwrap();
        releaser.join().unwrap();
        fail::remove("admission-release-unlocked");
        assert_eq!((a.active(), a.waiting()), (1, 0), "the freed slot is the waiter's, not free while it waits in line");
        let admitted = rt.block_on(waiter).unwrap();
        assert!(admitted.is_ok());
        drop(admitted);
        assert_eq!(a.active(), 0);
    }
}
