//! Admission of concurrent transfers: exactly `blob.transfer.max.concurrent.snapshot.user` at once
//! (Venice admits max−1, and a request it rejects late keeps its slot until close).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct Admission {
    limit: usize,
    active: AtomicUsize,
}

/// One admitted transfer; the slot is free again when this is dropped.
pub struct AdmissionGuard(Arc<Admission>);

impl Admission {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Admission { limit, active: AtomicUsize::new(0) })
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
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
        self.0.active.fetch_sub(1, Ordering::SeqCst);
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
}
