//! Admission of concurrent transfers: exactly `blob.transfer.max.concurrent.snapshot.user` at once
//! (Venice admits max−1, and a request it rejects late keeps its slot until close).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub struct Admission {
    limit: usize,
    active: AtomicUsize,
    /// Signalled when the last admitted transfer ends (a graceful stop waits on it).
    idle: (Mutex<()>, Condvar),
}

/// One admitted transfer; the slot is free again when this is dropped.
pub struct AdmissionGuard(Arc<Admission>);

impl Admission {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Admission { limit, active: AtomicUsize::new(0), idle: (Mutex::new(()), Condvar::new()) })
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
            .map(|_| AdmissionGuard(self.clone()))
    }
}

impl Drop for AdmissionGuard {
    fn drop(&mut self) {
        if self.0.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Under the lock, so a waiter between its check and its wait cannot miss this.
            let (lock, cv) = &self.0.idle;
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
        let a = Admission::new(2);
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
        let a = Admission::new(2);
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
}
