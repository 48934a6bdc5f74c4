//! Venice's blob-transfer wire format (venice-reference.md §1–§2).
//!
//! ```text
//!  receiver                                         sender
//!     | GET /<store>/<version>/<partition>/<FORMAT> HTTP/1.1
//!     | X-Blob-Transfer-Partition-State-Schema-Version: 24
//!     | X-Blob-Transfer-Store-Version-State-Schema-Version: 7   (no Host header)
//!     |------------------------------------------------->|
//!     |   200 FILE head (content-length, content-md5 hex) | one per checkpoint file,
//!     |<--------------------------------- raw file bytes | Content-Length framed
//!     |   200 METADATA head + JSON (offset record, SVS)   |
//!     |<-------------------------------------------------|
//!     |   200 X-Blob-Transfer-Status: Completed (no body) |
//!     |<-------------------------------------------------|
//!     | close                                            |
//! ```
//! Any non-200 head in that stream is an error. One GET, N+2 responses: no standard HTTP client
//! or server can express it, so the codec here is our own, on top of `httparse`.

pub mod checksum;
pub mod decoder;
pub mod ext;
pub mod manifest;
pub mod metadata;
pub mod request;
pub mod response;

use std::fmt;

use crate::error::{Error, Result};

pub const HEADER_TRANSFER_TYPE: &str = "X-Blob-Transfer-Type";
pub const HEADER_TRANSFER_STATUS: &str = "X-Blob-Transfer-Status";
pub const HEADER_PARTITION_STATE_VERSION: &str = "X-Blob-Transfer-Partition-State-Schema-Version";
pub const HEADER_STORE_VERSION_STATE_VERSION: &str = "X-Blob-Transfer-Store-Version-State-Schema-Version";
pub const TRANSFER_TYPE_FILE: &str = "FILE";
pub const TRANSFER_TYPE_METADATA: &str = "METADATA";
pub const TRANSFER_STATUS_COMPLETED: &str = "Completed";

/// Largest request head a sender reads (Venice's HttpObjectAggregator limit).
pub const MAX_REQUEST_HEAD: usize = 64 * 1024;
/// Largest response head a receiver accepts (Netty's client codec allows 4 KiB + 8 KiB).
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// Largest metadata body a receiver accepts (Venice's MAX_METADATA_CONTENT_LENGTH).
pub const MAX_METADATA_BODY: u64 = 100 * 1024 * 1024;
/// Longest file name accepted from a peer (a POSIX NAME_MAX).
pub const MAX_FILE_NAME: usize = 255;

/// RocksDB table format, named as Venice's `BlobTransferTableFormat` enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableFormat {
    BlockBased,
    PlainTable,
}

impl TableFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TableFormat::BlockBased => "BLOCK_BASED_TABLE",
            TableFormat::PlainTable => "PLAIN_TABLE",
        }
    }
    /// Exact, case-sensitive enum name, as Java's `valueOf`.
    pub fn from_name(s: &str) -> Option<TableFormat> {
        match s {
            "BLOCK_BASED_TABLE" => Some(TableFormat::BlockBased),
            "PLAIN_TABLE" => Some(TableFormat::PlainTable),
            _ => None,
        }
    }
}

impl fmt::Display for TableFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TableFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TableFormat::from_name(s)
            .ok_or_else(|| Error::invalid(format!("unknown table format {s:?}: expected BLOCK_BASED_TABLE or PLAIN_TABLE")))
    }
}

/// One partition of one store version: what a transfer is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionId {
    pub store: String,
    pub version: i32,
    pub partition: i32,
}

impl PartitionId {
    /// Checks the parts so they are safe in a URL path and as directory names.
    pub fn new(store: impl Into<String>, version: i32, partition: i32) -> Result<PartitionId> {
        let store = store.into();
        if store.is_empty() || store.len() > 200 {
            return Err(Error::invalid(format!("store name {store:?} must have 1..200 characters")));
        }
        if !store.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.') || store.starts_with('.') {
            return Err(Error::invalid(format!("store name {store:?} may only hold letters, digits, '_', '-' and '.' (not first)")));
        }
        if version < 0 || partition < 0 {
            return Err(Error::invalid(format!("version ({version}) and partition ({partition}) must not be negative")));
        }
        Ok(PartitionId { store, version, partition })
    }

    /// Venice's version topic, `<store>_v<N>`.
    pub fn topic(&self) -> String {
        format!("{}_v{}", self.store, self.version)
    }
    /// Venice's replica id, `<store>_v<N>-<P>`, used in its messages.
    pub fn replica(&self) -> String {
        format!("{}-{}", self.topic(), self.partition)
    }
}

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.replica())
    }
}

/// A file name from a peer is used only if it is a plain name inside the temp directory.
pub fn check_file_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_FILE_NAME {
        "is longer than 255 bytes"
    } else if name.contains('/') || name.contains('\\') {
        "contains a path separator"
    } else if name.contains('\0') {
        "contains a NUL byte"
    } else if name == "." || name == ".." || name.contains("..") {
        "contains '..'"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(Error::protocol(format!("peer sent an unsafe file name {name:?}: it {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let p = PartitionId::new("myStore", 1, 0).unwrap();
        assert_eq!(p.replica(), "myStore_v1-0");
        assert!(PartitionId::new("../x", 1, 0).is_err());
        assert!(PartitionId::new("a", -1, 0).is_err());
    }

    #[test]
    fn hostile_file_names() {
        for bad in ["", "../x", "/etc/x", "a/b", "a\\b", "..", "a\0b", &"x".repeat(256)] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        for good in ["000123.sst", "MANIFEST-000005", "CURRENT", "OPTIONS-000007", "file1"] {
            check_file_name(good).unwrap();
        }
    }
}
