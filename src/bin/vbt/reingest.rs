//! `vbt reingest`, the benchmark baseline: re-write every record of a partition into a fresh one
//! with ordinary WAL-backed writes (what a Kafka replay amounts to).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use venice_blob_transfer::tools::{records, Layout};
use venice_blob_transfer::{Error, Result};

use crate::args::PartArgs;
use crate::report::round3;

#[derive(Args)]
pub struct ReingestArgs {
    #[command(flatten)]
    part: PartArgs,
    /// Base directory to write the fresh copy into.
    #[arg(long)]
    into: PathBuf,
}

pub fn run(ReingestArgs { part, into }: ReingestArgs) -> Result<()> {
    let id = part.id()?;
    std::fs::create_dir_all(Layout::new(&into).version_dir(&id)).map_err(|e| Error::io(format!("create {}", into.display()), e))?;
    let started = Instant::now();
    let n = records::reingest(
        &Layout::new(&part.at.base_dir).partition_dir(&id),
        &Layout::new(&into).partition_dir(&id),
        part.at.table_format,
    )?;
    println!("{}", serde_json::json!({"partition": id.replica(), "records": n, "seconds": round3(started.elapsed().as_secs_f64())}));
    Ok(())
}
