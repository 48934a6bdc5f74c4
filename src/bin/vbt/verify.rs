//! `vbt verify`: open a partition written by `gen` (or fetched from one) and check every record.

use clap::Args;
use venice_blob_transfer::tools::{records, Layout};
use venice_blob_transfer::Result;

use crate::args::PartArgs;

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    part: PartArgs,
}

pub fn run(VerifyArgs { part }: VerifyArgs) -> Result<()> {
    let dir = Layout::new(&part.at.base_dir).partition_dir(&part.id()?);
    let n = records::verify(&dir, part.at.table_format)?;
    println!("{}", serde_json::json!({"partition": part.id()?.replica(), "records": n, "ok": true}));
    Ok(())
}
