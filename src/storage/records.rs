//! Deterministic records for `vbt gen` / `vbt verify`: a partition whose every byte can be
//! checked after a transfer. Record i has key `key-<i, 12 digits>` and a value of VALUE_SIZE
//! pseudo-random (incompressible) bytes seeded by i; a manifest record says how many there are.

use std::path::Path;

use rocksdb::{WriteBatch, WriteOptions, DB};

use super::{db_options, open_read_only};
use crate::error::{Error, Result};
use crate::protocol::metadata::{OFFSET_RECORD_MAGIC, STORE_VERSION_STATE_MAGIC};
use crate::protocol::TableFormat;

pub const VALUE_SIZE: usize = 1000;
/// Sorts after every record key.
const MANIFEST_KEY: &[u8] = b"\xff\xffvbt-gen-manifest";

fn key(i: u64) -> Vec<u8> {
    format!("key-{i:012}").into_bytes()
}

/// splitmix64 stream: fast, deterministic, and different for every record.
fn fill_value(i: u64, out: &mut [u8]) {
    let mut state = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
    }
}

/// Number of records that make about `size_mib` MiB of data.
pub fn records_for_size(size_mib: u64) -> u64 {
    (size_mib * 1024 * 1024 / (VALUE_SIZE as u64 + 16)).max(1)
}

/// Writes `records` records into a new partition at `dir` and flushes them to SST files.
pub fn generate(dir: &Path, format: TableFormat, records: u64, mut progress: impl FnMut(u64)) -> Result<()> {
    if dir.exists() {
        return Err(Error::invalid(format!("{} already exists", dir.display())));
    }
    let mut opts = db_options(format);
    opts.create_if_missing(true);
    opts.set_write_buffer_size(64 << 20);
    let db = DB::open(&opts, dir)?;
    let mut wo = WriteOptions::default();
    wo.disable_wal(true); // flushed below; a crash mid-gen leaves a partition verify rejects
    let mut value = vec![0u8; VALUE_SIZE];
    let mut batch = WriteBatch::default();
    for i in 0..records {
        fill_value(i, &mut value);
        batch.put(key(i), &value);
        if batch.len() == 1000 || i + 1 == records {
            db.write_opt(std::mem::take(&mut batch), &wo)?;
            progress(i + 1);
        }
    }
    let manifest = serde_json::json!({ "records": records, "value_size": VALUE_SIZE });
    db.put_opt(MANIFEST_KEY, manifest.to_string(), &wo)?;
    db.flush()?;
    Ok(())
}

/// Opens the partition read-only and checks every record `generate` wrote; returns the count.
pub fn verify(dir: &Path, format: TableFormat) -> Result<u64> {
    let db = open_read_only(dir, format)?;
    let manifest = db.get(MANIFEST_KEY)?.ok_or_else(|| Error::storage(format!("{} has no vbt gen manifest record", dir.display())))?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest).map_err(|e| Error::storage(format!("bad manifest record: {e}")))?;
    let expected = manifest["records"].as_u64().ok_or_else(|| Error::storage("manifest has no record count"))?;
    let mut want = vec![0u8; VALUE_SIZE];
    let mut seen = 0u64;
    for item in db.iterator(rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        if &*k == MANIFEST_KEY {
            continue;
        }
        if *k != *key(seen) {
            return Err(Error::storage(format!(
                "record {seen}: found key {:?}, expected {:?}",
                String::from_utf8_lossy(&k),
                String::from_utf8_lossy(&key(seen))
            )));
        }
        fill_value(seen, &mut want);
        if *v != *want {
            return Err(Error::storage(format!("record {seen}: value differs from what gen wrote")));
        }
        seen += 1;
    }
    if seen != expected {
        return Err(Error::storage(format!("found {seen} records, the manifest says {expected}")));
    }
    Ok(seen)
}

/// The metadata blobs `vbt gen` records for its partitions: Venice's framing (magic, protocol
/// version) around an opaque payload naming the generator. Not a real Avro PartitionState.
pub fn gen_metadata_blobs(records: u64, ps_version: u8, svs_version: u8) -> (Vec<u8>, Vec<u8>) {
    let mut offset = vec![OFFSET_RECORD_MAGIC, ps_version];
    offset.extend_from_slice(format!("vbt-gen records={records}").as_bytes());
    let mut svs = vec![STORE_VERSION_STATE_MAGIC, svs_version];
    svs.extend_from_slice(b"vbt-gen");
    (offset, svs)
}

/// Re-ingestion baseline: writes every record of the partition at `src` into a new partition at
/// `dst` with ordinary WAL-backed writes in batches, then flushes — what replaying the partition
/// from Kafka amounts to before Kafka's own cost. Returns the number of records.
pub fn reingest(src: &Path, dst: &Path, format: TableFormat) -> Result<u64> {
    if dst.exists() {
        return Err(Error::invalid(format!("{} already exists", dst.display())));
    }
    let from = open_read_only(src, format)?;
    let mut opts = db_options(format);
    opts.create_if_missing(true);
    let to = DB::open(&opts, dst)?;
    let mut batch = WriteBatch::default();
    let mut n = 0u64;
    for item in from.iterator(rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        batch.put(k, v);
        n += 1;
        if batch.len() == 1000 {
            to.write(std::mem::take(&mut batch))?;
        }
    }
    to.write(batch)?;
    to.flush()?;
    to.flush_wal(true)?;
    Ok(n)
}
