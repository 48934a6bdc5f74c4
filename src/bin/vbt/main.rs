//! `vbt`: generate, serve, fetch and verify Venice partitions, and the end-to-end demo.
//!
//! One file per command, each with its flags and its `run`: `gen.rs`, `serve.rs`, `fetch.rs`,
//! `verify.rs`, `gen_certs.rs`, `reingest.rs`, `demo.rs`. Shared by them: `args.rs` (flag groups),
//! `report.rs` (the JSON lines printed), `meter.rs` (progress on a terminal). Here: the command
//! line, the stderr logger and the test builds' fault points.

mod args;
mod demo;
mod fetch;
mod gen;
mod gen_certs;
mod meter;
mod reingest;
mod report;
mod serve;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use venice_blob_transfer::Result;

#[derive(Parser)]
#[command(name = "vbt", version, about = "Peer-to-peer RocksDB partition bootstrap for Venice")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a partition of deterministic records (and its metadata) that `verify` can check.
    Gen(gen::GenArgs),
    /// Serve every partition under --base-dir, or one fixed --snapshot-dir, to peers.
    Serve(serve::ServeArgs),
    /// Bootstrap a partition from peers into --base-dir; prints a one-line JSON result.
    /// With several partitions (`--partition 0-7`, or repeated), they are bootstrapped at once
    /// (within blob.transfer.max.concurrent.blob.receive.replicas): one JSON line each, then a
    /// summary line; exit 0 only if every one succeeded.
    Fetch(fetch::FetchArgs),
    /// Open a partition written by `gen` (or fetched from one) and check every record.
    Verify(verify::VerifyArgs),
    /// Write a CA and node certificates (PEM) for mutual TLS tests and benchmarks; prints the
    /// -D settings each node needs.
    GenCerts(gen_certs::GenCertsArgs),
    /// Benchmark baseline: re-write every record of a partition into a fresh one with ordinary
    /// WAL-backed writes (what a Kafka replay amounts to); prints seconds.
    Reingest(reingest::ReingestArgs),
    /// Generate a partition, serve it, bootstrap it into a second directory over loopback,
    /// verify it, and report.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    StderrLogger::install();
    #[cfg(feature = "failpoints")]
    let _failpoints = failpoints::setup();
    match run(Cli::parse().cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vbt: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Gen(a) => gen::run(a),
        Cmd::Serve(a) => serve::run(a),
        Cmd::Fetch(a) => fetch::run(a),
        Cmd::Verify(a) => verify::run(a),
        Cmd::GenCerts(a) => gen_certs::run(a),
        Cmd::Reingest(a) => reingest::run(a),
        Cmd::Demo(a) => demo::run(a),
    }
}

/// Test builds only: `FAILPOINTS=name=action;...` (fail-rs actions, e.g. `panic`, `sleep(100)`)
/// and `VBT_KILL_AT=name[,name]`, which SIGKILLs the process at that point: a crash at exactly
/// that instruction, with no destructor or cleanup running.
#[cfg(feature = "failpoints")]
mod failpoints {
    pub fn setup() -> fail::FailScenario<'static> {
        let scenario = fail::FailScenario::setup();
        for name in std::env::var("VBT_KILL_AT").unwrap_or_default().split(',').filter(|n| !n.is_empty()) {
            fail::cfg_callback(name, || {
                // SAFETY: kill(2) on our own pid; nothing after it runs.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            })
            .expect("a valid fail point name");
        }
        scenario
    }
}

/// `log` to stderr; level from VBT_LOG (error, warn, info, debug; default warn).
struct StderrLogger(log::LevelFilter);

impl StderrLogger {
    fn install() {
        let level = std::env::var("VBT_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(log::LevelFilter::Warn);
        if log::set_boxed_logger(Box::new(StderrLogger(level))).is_ok() {
            log::set_max_level(level);
        }
    }
}

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        venice_blob_transfer::tools::log_level_for(m.target(), m.level()) <= self.0
    }
    fn log(&self, r: &log::Record) {
        let level = venice_blob_transfer::tools::log_level_for(r.target(), r.level());
        if level <= self.0 {
            eprintln!("[{} {}] {}", level, r.target(), r.args());
        }
    }
    fn flush(&self) {}
}
