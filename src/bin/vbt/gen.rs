//! `vbt gen`: a partition of deterministic records and its metadata, which `verify` can check.

use std::path::Path;
use std::time::Instant;

use clap::Args;
use venice_blob_transfer::tools::{local, records, Layout};
use venice_blob_transfer::{Error, PartitionId, PartitionMetadata, Progress, Result, TableFormat};

use crate::args::PartArgs;
use crate::meter::Meter;
use crate::report::round3;

#[derive(Args)]
pub struct GenArgs {
    #[command(flatten)]
    part: PartArgs,
    /// About how many MiB of records to write.
    #[arg(long)]
    size_mib: u64,
}

pub fn run(GenArgs { part, size_mib }: GenArgs) -> Result<()> {
    let (count, secs) = write_partition(&part.at.base_dir, &part.id()?, part.at.table_format, size_mib)?;
    println!("{}", serde_json::json!({"partition": part.id()?.replica(), "records": count, "seconds": round3(secs)}));
    Ok(())
}

/// Writes a `gen` partition and its metadata; returns (records, seconds).
pub fn write_partition(base: &Path, id: &PartitionId, format: TableFormat, size_mib: u64) -> Result<(u64, f64)> {
    let count = records::records_for_size(size_mib);
    let dir = Layout::new(base).partition_dir(id);
    std::fs::create_dir_all(Layout::new(base).version_dir(id)).map_err(|e| Error::io(format!("create {}", base.display()), e))?;
    let started = Instant::now();
    let meter = Meter::start("gen");
    let cb = meter.callback();
    records::generate(&dir, format, count, |done| {
        if let Some(cb) = &cb {
            cb(&Progress {
                peer: String::new(),
                file: String::new(),
                files_done: 0,
                bytes_done: done * (records::VALUE_SIZE as u64 + 16),
                bytes_resumed: 0,
                files_total: None,
                bytes_total: None,
            });
        }
    })?;
    meter.finish();
    let (offset, svs) = records::gen_metadata_blobs(
        count,
        venice_blob_transfer::tools::DEFAULT_PARTITION_STATE_SCHEMA_VERSION,
        venice_blob_transfer::tools::DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION,
    );
    local::write_metadata(base, id, &PartitionMetadata::new(id, offset, svs)?)?;
    Ok((count, started.elapsed().as_secs_f64()))
}
