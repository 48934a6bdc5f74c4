//! RocksDB: the options vbt writes and opens partitions with, the post-install check, the
//! snapshot-source seam and the partitions vbt opens itself (one source), and the deterministic
//! records of `vbt gen`.

pub(crate) mod landing;
pub mod layout;
pub mod local;
#[cfg(feature = "cli")]
pub mod records;
pub mod source;

use std::path::Path;

use rocksdb::{BlockBasedOptions, DBCompressionType, KeyEncodingType, Options, PlainTableFactoryOptions, DB};

use crate::error::{Error, Result};
use crate::protocol::TableFormat;

// Here rather than in error.rs, so the error type (and the protocol code) builds without RocksDB.
impl From<rocksdb::Error> for Error {
    fn from(e: rocksdb::Error) -> Self {
        Error::storage(format!("RocksDB: {e}"))
    }
}

/// Block-based table `format_version` vbt writes. RocksDB 11.8 defaults to 7, which RocksDB 9.x
/// (Venice's RocksJava 9.11) cannot read; 5 is read by every RocksDB since 6.6.
pub const BLOCK_BASED_FORMAT_VERSION: i32 = 5;

/// Column families Venice accepts in a received partition (reference §4.9, #2932).
pub const ALLOWED_COLUMN_FAMILIES: [&str; 2] = ["default", "timestamp_metadata"];

/// Options for a partition of `format`, as Venice configures RocksDB for it.
pub fn db_options(format: TableFormat) -> Options {
    let mut opts = Options::default();
    // Venice's default `rocksdb.options.compression.type` is NO_COMPRESSION.
    opts.set_compression_type(DBCompressionType::None);
    match format {
        TableFormat::BlockBased => {
            let mut table = BlockBasedOptions::default();
            table.set_format_version(BLOCK_BASED_FORMAT_VERSION);
            // Index blocks live in a small bounded cache instead of one per open table: otherwise
            // opening a partition (to snapshot it, or to check a received one) costs memory in
            // proportion to its size. Read-side only; the files written are the same.
            table.set_cache_index_and_filter_blocks(true);
            table.set_block_cache(&rocksdb::Cache::new_lru_cache(8 << 20));
            opts.set_block_based_table_factory(&table);
        }
        TableFormat::PlainTable => {
            // Venice: PlainTableConfig with the index stored in the file, 10 bloom bits per key,
            // mmap reads; no prefix extractor, so total-order mode (binary search on the index).
            opts.set_plain_table_factory(&PlainTableFactoryOptions {
                user_key_length: 0,
                bloom_bits_per_key: 10,
                hash_table_ratio: 0.0, // 0 = total-order mode; hashing needs a prefix extractor
                index_sparseness: 16,
                huge_page_tlb_size: 0,
                encoding_type: KeyEncodingType::Plain,
                full_scan_mode: false,
                store_index_in_file: true,
            });
            opts.set_allow_mmap_reads(true);
        }
    }
    opts
}

/// Opens a partition read-only with every column family on disk; refuses column families Venice
/// would refuse. Proves the files form a consistent database (MANIFEST, CURRENT, every SST).
pub fn open_read_only(dir: &Path, format: TableFormat) -> Result<DB> {
    let opts = db_options(format);
    let cfs = DB::list_cf(&opts, dir).map_err(|e| Error::storage(format!("{} is not a RocksDB database: {e}", dir.display())))?;
    if let Some(bad) = cfs.iter().find(|cf| !ALLOWED_COLUMN_FAMILIES.contains(&cf.as_str())) {
        return Err(Error::storage(format!(
            "{} has column family {bad:?}; Venice accepts only default and timestamp_metadata",
            dir.display()
        )));
    }
    // Each column family needs the table options too: opening by name alone would give it the
    // defaults (block-based), and plain-table files would then be "corrupt".
    let descriptors = cfs.iter().map(|name| rocksdb::ColumnFamilyDescriptor::new(name, db_options(format)));
    DB::open_cf_descriptors_read_only(&opts, dir, descriptors, false)
        .map_err(|e| Error::storage(format!("cannot open {} as a {format} partition: {e}", dir.display())))
}

/// The post-install check: RocksDB opens the partition read-only, which reads CURRENT and the
/// MANIFEST and checks that every SST it names is present with its size. The bytes themselves were
/// verified by checksum while they arrived, so nothing is read a second time.
pub fn check_partition(dir: &Path, format: TableFormat) -> Result<()> {
    open_read_only(dir, format).map(drop)
}
