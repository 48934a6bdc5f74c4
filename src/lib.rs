//! vbt: peer-to-peer bootstrap of RocksDB partitions for LinkedIn Venice.
//!
//! A node that needs a partition fetches a consistent RocksDB checkpoint from a peer that has it,
//! over Venice's own blob-transfer protocol (so Java Venice nodes interoperate in both
//! directions), verifies every byte as it arrives, installs it atomically, and returns the
//! partition's offset record and store-version state so the host resumes Kafka from there.
//!
//! Start with [`Node`]: [`Node::start_server`] serves partitions, [`Node::bootstrap`] fetches one.
//! A [`Config`] is built from Venice's own keys ([`Config::from_pairs`]). Everything else here is
//! what those take and return.
//!
//! Cargo features (all on by default): `ffi`, the C ABI ([`ffi`], header `include/vbt.h`);
//! `jni`, the Java surface ([`jni`]); `cli`, the `vbt` command and its helpers. `failpoints`
//! (off) compiles in the fault points the crash tests use.
//!
//! Inside (private):
//! - `node` (the [`Node`]), `operation` (running bootstraps: ids, handles, exactly-once
//!   completions), `admin` (the admin endpoint), `runtime`, `logging`;
//! - `server` (sender), `client` (receiver), `discovery` (where peers come from), `snapshot`
//!   (snapshot lifecycle, the host's sources);
//! - `digest` (MD5 and XXH3, the MD5 lane engine, the digest cache: both sides hash here);
//! - `storage` (RocksDB, the disk layout, the snapshot-source seam), `fsutil`;
//! - `protocol` (wire format), `config`, `error`, `throttle`, `tls`, `metrics`, `transfers`,
//!   `failpoint` (the crash tests' fault points).

mod admin;
mod client;
mod config;
mod digest;
mod discovery;
mod error;
mod failpoint;
#[cfg(feature = "ffi")]
pub mod ffi;
mod fsutil;
#[cfg(feature = "jni")]
pub mod jni;
#[cfg(any(feature = "ffi", feature = "jni", feature = "cli"))]
mod log_level;
#[cfg(any(feature = "ffi", feature = "jni"))]
mod logging;
mod metrics;
mod node;
mod operation;
mod protocol;
mod runtime;
mod server;
mod snapshot;
mod storage;
mod throttle;
mod tls;
mod transfers;

pub use client::{BootstrapOutcome, BootstrapRequest, PeerDiscovery, PeerFailure, Progress, ProgressFn};
pub use config::{Config, DiscoveryConfig, DiscoveryKind, NodeRole, TlsFiles, TlsMaterial};
pub use discovery::{HelixDiscovery, RouterDiscovery};
pub use error::{Error, ErrorKind, Result};
pub use node::{Node, NodeBuilder};
pub use operation::{OpId, Operation};
pub use protocol::metadata::PartitionMetadata;
pub use protocol::{PartitionId, TableFormat};
pub use server::OriginPolicy;
pub use snapshot::{CheckpointLeases, FixedSnapshot, HostCheckpoint, HostCreateFn, HostSnapshotSource, SnapshotInfo};
pub use storage::landing::MetadataHook;
pub use storage::source::SnapshotSource;
pub use throttle::Signal;
pub use transfers::{FileSentFn, ReusedFrom, TransferView};

/// Helpers of the `vbt` command, the tests and the benchmarks: deterministic records, test
/// certificates, the metadata file, the wire codec. Not part of the API: no stability promise.
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod tools {
    pub use crate::config::{
        config_table_markdown, parse_properties, DEFAULT_PARTITION_STATE_SCHEMA_VERSION, DEFAULT_STORE_VERSION_STATE_SCHEMA_VERSION,
        MAX_DURATION,
    };
    pub use crate::digest::{hex, Hasher};
    pub use crate::log_level::level_for as log_level_for;
    pub use crate::protocol::{checksum, decoder, ext, manifest, request, response};
    pub use crate::storage::layout::Layout;
    pub use crate::storage::{db_options, local, open_read_only, records};
    pub use crate::tls::testcerts;
}
