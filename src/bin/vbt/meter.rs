//! Progress on a terminal while a command runs: files, bytes, rate and, when the size is known,
//! percent and time left.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use venice_blob_transfer::Progress;

/// Progress on a terminal (files, bytes, rate), nothing when stderr is not one.
pub struct Meter {
    label: &'static str,
    started: Instant,
    last: Arc<Mutex<Instant>>,
    tty: bool,
}

impl Meter {
    pub fn start(label: &'static str) -> Meter {
        let tty = std::io::stderr().is_terminal();
        Meter { label, started: Instant::now(), last: Arc::new(Mutex::new(Instant::now())), tty }
    }

    pub fn callback(&self) -> Option<venice_blob_transfer::ProgressFn> {
        if !self.tty {
            return None;
        }
        let (label, started, last) = (self.label, self.started, self.last.clone());
        Some(Arc::new(move |p: &Progress| {
            let mut last = last.lock().unwrap();
            if last.elapsed() < Duration::from_millis(200) {
                return;
            }
            *last = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let rate = p.bytes_done as f64 / secs.max(1e-9);
            let files = match p.files_total {
                Some(t) => format!("{}/{t} files", p.files_done),
                None => format!("{} files", p.files_done),
            };
            // With the snapshot's size announced: percent, and the time left at the rate so far.
            let share = match p.bytes_total {
                Some(t) if t > 0 => {
                    let left = t.saturating_sub(p.bytes_done) as f64 / rate.max(1.0);
                    format!(" of {:.1} MiB ({:.0}%, ETA {})", t as f64 / 1048576.0, 100.0 * p.bytes_done as f64 / t as f64, eta(left))
                }
                _ => String::new(),
            };
            eprint!("\r  {label}: {files}, {:.1} MiB{share}, {:.1} MB/s {:<40}", p.bytes_done as f64 / 1048576.0, rate / 1e6, p.file);
        }))
    }

    pub fn finish(&self) {
        if self.tty {
            eprint!("\r{:100}\r", "");
        }
    }
}

/// Seconds as `1h02m`, `3m05s` or `7s`.
fn eta(secs: f64) -> String {
    let s = secs.clamp(0.0, 360_000.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}
