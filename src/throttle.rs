//! Global traffic shaping: one limiter per direction shared by every connection of a node
//! (Venice's `GlobalChannelTrafficShapingHandler`, reference §3.8), plus Venice's adaptive
//! throttling (§3.9): a factor of 20–200 % of the configured base, moved by host signals.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// What a configured rate or duration means is the configuration's (config/values.rs): rates at or
// above UNLIMITED_RATE bytes/s mean unlimited, as 0 does; no duration exceeds MAX_DURATION.
use crate::config::{MAX_DURATION, UNLIMITED_RATE};

/// The longest single wait: only a tiny rate and a large piece come near it.
const MAX_WAIT: Duration = MAX_DURATION;

fn canonical(bytes_per_sec: u64) -> u64 {
    if bytes_per_sec >= UNLIMITED_RATE {
        0
    } else {
        bytes_per_sec
    }
}

/// A byte-rate limiter (0, or [`UNLIMITED_RATE`] and up = unlimited). Callers take what they
/// move and then wait off any debt, so over a transfer of N bytes at R bytes/s at least
/// (N − one piece)/R seconds pass.
pub struct RateLimiter {
    base: AtomicU64,
    factor: AtomicU32,
    state: Mutex<Bucket>,
}

struct Bucket {
    /// Bytes that may still pass now; negative = debt to wait off.
    credit: f64,
    at: Instant,
}

/// Credit never accumulates beyond this many seconds of traffic (keeps bursts short).
const MAX_BURST: Duration = Duration::from_millis(50);

impl RateLimiter {
    pub fn new(bytes_per_sec: u64) -> Arc<Self> {
        Arc::new(RateLimiter {
            base: AtomicU64::new(canonical(bytes_per_sec)),
            factor: AtomicU32::new(100),
            state: Mutex::new(Bucket { credit: 0.0, at: Instant::now() }),
        })
    }

    /// The configured limit (before the adaptive factor); 0 = unlimited.
    pub fn base(&self) -> u64 {
        self.base.load(Ordering::Relaxed)
    }

    /// Changes the limit at run time; every connection sees it from its next piece.
    pub fn set_base(&self, bytes_per_sec: u64) {
        self.base.store(canonical(bytes_per_sec), Ordering::Relaxed);
    }

    fn set_factor(&self, percent: u32) {
        self.factor.store(percent, Ordering::Relaxed);
    }

    /// The limit in force: base × factor / 100 (0 = unlimited). Never 0 for a limited base, so a
    /// low factor on a tiny limit cannot turn it into "unlimited".
    pub fn effective(&self) -> u64 {
        let base = self.base();
        if base == 0 {
            return 0;
        }
        let e = base as u128 * self.factor.load(Ordering::Relaxed) as u128 / 100;
        canonical(e.clamp(1, UNLIMITED_RATE as u128) as u64)
    }

    /// Accounts for `n` bytes moved and waits as long as the rate requires.
    pub async fn acquire(&self, n: usize) {
        let rate = self.effective();
        if rate == 0 {
            return;
        }
        let wait = {
            let mut b = self.state.lock().unwrap();
            let now = Instant::now();
            let refill = now.duration_since(b.at).as_secs_f64() * rate as f64;
            b.credit = (b.credit + refill).min(rate as f64 * MAX_BURST.as_secs_f64());
            b.at = now;
            b.credit -= n as f64;
            if b.credit >= 0.0 {
                return;
            }
            // try_ refuses NaN, infinity and overflow; such a wait is as good as forever.
            Duration::try_from_secs_f64(-b.credit / rate as f64).unwrap_or(MAX_WAIT).min(MAX_WAIT)
        };
        tokio::time::sleep(wait).await;
    }
}

/// A sign from the host: slow blob traffic down (read latency high, lag high) or speed it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Limiter,
    Booster,
}

/// The adaptive factor shared by the read and write limiters.
pub struct Adaptive {
    limiters: Vec<Arc<RateLimiter>>,
    step: u32,
    idle_threshold: u32,
    factor: AtomicU32,
    idle_ticks: AtomicU32,
    limiter_signal: AtomicBool,
    booster_signal: AtomicBool,
}

impl Adaptive {
    pub const MIN: u32 = 20;
    pub const MAX: u32 = 200;

    pub fn new(limiters: Vec<Arc<RateLimiter>>, step: u32, idle_threshold: u32) -> Self {
        Adaptive {
            limiters,
            step,
            idle_threshold,
            factor: AtomicU32::new(100),
            idle_ticks: AtomicU32::new(0),
            limiter_signal: AtomicBool::new(false),
            booster_signal: AtomicBool::new(false),
        }
    }

    pub fn factor(&self) -> u32 {
        self.factor.load(Ordering::SeqCst)
    }

    /// Raises or clears a signal; signals are read at the next tick.
    pub fn set_signal(&self, signal: Signal, on: bool) {
        match signal {
            Signal::Limiter => self.limiter_signal.store(on, Ordering::SeqCst),
            Signal::Booster => self.booster_signal.store(on, Ordering::SeqCst),
        }
    }

    /// One tick of Venice's rule: a limiter signal lowers the factor by one step; else a booster
    /// raises it; with no signal at all, `idle_threshold` quiet ticks in a row raise it.
    pub fn tick(&self) -> u32 {
        let f = self.factor();
        let next = if self.limiter_signal.load(Ordering::SeqCst) {
            self.idle_ticks.store(0, Ordering::SeqCst);
            f.saturating_sub(self.step).max(Self::MIN)
        } else if self.booster_signal.load(Ordering::SeqCst)
            // Quiet ticks are counted only when no booster is raised (`||` stops before).
            || self.idle_ticks.fetch_add(1, Ordering::SeqCst).saturating_add(1) >= self.idle_threshold
        {
            self.idle_ticks.store(0, Ordering::SeqCst);
            f.saturating_add(self.step).min(Self::MAX)
        } else {
            f
        };
        self.factor.store(next, Ordering::SeqCst);
        for l in &self.limiters {
            l.set_factor(next);
        }
        next
    }

    /// Ticks every `every` on `runtime` for as long as it runs (Venice's
    /// AdaptiveThrottlerSignalService); the first tick is one interval from now.
    pub fn spawn_ticks(self: &Arc<Self>, runtime: &tokio::runtime::Handle, every: Duration) {
        // Capped, as every wait here, so `now + every` (and tokio's next `deadline + every`)
        // cannot overflow.
        let every = every.min(MAX_WAIT);
        let adaptive = self.clone();
        runtime.spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                tick.tick().await;
                adaptive.tick();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adaptive_follows_venice_rule() {
        let l = RateLimiter::new(1000);
        let a = Adaptive::new(vec![l.clone()], 20, 3);
        a.set_signal(Signal::Limiter, true);
        let down: Vec<u32> = (0..6).map(|_| a.tick()).collect();
        assert_eq!(down, [80, 60, 40, 20, 20, 20]);
        assert_eq!(l.effective(), 200);
        a.set_signal(Signal::Booster, true);
        assert_eq!(a.tick(), 20, "a limiter signal overrides a booster");
        a.set_signal(Signal::Limiter, false);
        assert_eq!((0..10).map(|_| a.tick()).last(), Some(200));
        a.set_signal(Signal::Booster, false);
        let l2 = RateLimiter::new(1000);
        let quiet = Adaptive::new(vec![l2.clone()], 20, 3);
        let seq: Vec<u32> = (0..7).map(|_| quiet.tick()).collect();
        assert_eq!(seq, [100, 100, 120, 120, 120, 140, 140]);
        assert_eq!(l2.effective(), 1400);
    }

    #[test]
    fn huge_rates_and_factors_mean_unlimited() {
        for huge in [i64::MAX as u64, u64::MAX, UNLIMITED_RATE] {
            let l = RateLimiter::new(huge);
            assert_eq!((l.base(), l.effective()), (0, 0), "{huge}");
            let l = RateLimiter::new(1000);
            l.set_base(huge);
            assert_eq!((l.base(), l.effective()), (0, 0), "set_base({huge})");
            for factor in [200, u32::MAX] {
                l.set_factor(factor);
                assert_eq!(l.effective(), 0, "{huge} at {factor} %");
            }
        }
        // Just below the threshold is a limit; the adaptive maximum lifts it to unlimited.
        let l = RateLimiter::new(UNLIMITED_RATE - 1);
        assert_eq!(l.effective(), UNLIMITED_RATE - 1);
        l.set_factor(Adaptive::MAX);
        assert_eq!(l.effective(), 0);
        // A tiny limit at the lowest factor stays a limit, never "0 = unlimited".
        let l = RateLimiter::new(3);
        l.set_factor(Adaptive::MIN);
        assert_eq!(l.effective(), 1);
    }

    #[test]
    fn huge_adaptive_step_and_threshold_do_not_overflow() {
        let l = RateLimiter::new(1000);
        let a = Adaptive::new(vec![l.clone()], u32::MAX, u32::MAX);
        a.set_signal(Signal::Booster, true);
        assert_eq!(a.tick(), Adaptive::MAX);
        a.set_signal(Signal::Booster, false);
        a.set_signal(Signal::Limiter, true);
        assert_eq!(a.tick(), Adaptive::MIN);
        a.set_signal(Signal::Limiter, false);
        assert_eq!(a.tick(), Adaptive::MIN, "one quiet tick of u32::MAX");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_and_absurd_waits_do_not_panic() {
        let l = RateLimiter::new(i64::MAX as u64);
        let t = tokio::time::Instant::now();
        l.acquire(usize::MAX).await;
        assert!(t.elapsed() < Duration::from_millis(1), "Long.MAX_VALUE is unlimited");
        // 1 B/s and 2^64 bytes: a wait beyond Duration's range, capped instead of panicking.
        let l = RateLimiter::new(1);
        let waited = tokio::time::timeout(Duration::from_secs(3600), l.acquire(usize::MAX)).await;
        assert!(waited.is_err(), "still waiting after an hour");
    }

    /// On the real clock: the limiter refills from `std::time::Instant`, so with tokio's paused
    /// clock every real moment the test thread lost (a loaded machine) was credit without any
    /// virtual time passing, and the virtual total could fall short of the bound.
    #[tokio::test]
    async fn limiter_spaces_out_traffic() {
        let l = RateLimiter::new(1_000_000);
        let start = std::time::Instant::now();
        for _ in 0..10 {
            l.acquire(100_000).await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(900), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn unlimited_after_set_base_zero_does_not_wait() {
        let l = RateLimiter::new(1_000_000);
        l.acquire(100_000).await;
        l.set_base(0);
        let t = tokio::time::Instant::now();
        l.acquire(10_000_000).await;
        assert!(t.elapsed() < Duration::from_millis(1));
    }
}
