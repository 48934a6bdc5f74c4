//! vbt: peer-to-peer bootstrap of RocksDB partitions for LinkedIn Venice.
//!
//! A node that needs a partition fetches a consistent RocksDB checkpoint from a peer that has it,
//! over Venice's own blob-transfer protocol (so Java Venice nodes interoperate in both
//! directions), verifies every byte as it arrives, installs it atomically, and returns the
//! partition's offset record and store-version state so the host resumes Kafka from there.
//!
//! Start with [`Node`]: [`Node::start_server`] serves partitions, [`Node::bootstrap`] fetches one.
//! Modules: [`protocol`] (wire format), [`server`] (sender), [`client`] (receiver),
//! [`snapshot`] (snapshot sources and lifecycle), [`storage`] (RocksDB), [`config`], [`error`].

/// A named fault point for the crash and fault tests (TiKV's fail-rs, `failpoints` feature);
/// compiles to nothing otherwise. Names are listed in the README (Crash safety).
macro_rules! failpoint {
    ($name:literal) => {
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name);
    };
}
pub(crate) use failpoint;

pub mod callback;
pub mod client;
pub mod config;
pub mod error;
pub mod ffi;
mod fsutil;
pub mod logging;
pub mod jni;
pub mod node;
pub mod protocol;
pub(crate) mod runtime;
pub mod server;
pub mod snapshot;
pub mod storage;
pub mod throttle;
pub mod tls;

pub use client::peers::Peer;
pub use client::{BootstrapOutcome, BootstrapRequest, PeerDiscovery, PeerFailure, Progress, ProgressFn};
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use node::{Node, NodeBuilder, Operation};
pub use protocol::metadata::PartitionMetadata;
pub use protocol::{PartitionId, TableFormat};
pub use snapshot::{FixedSnapshot, HostSnapshotSource, SnapshotSource};
pub use throttle::Signal;
