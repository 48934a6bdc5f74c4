//! Digests, for both sides: what computes the checksums `protocol::checksum` names.
//!
//! - [`checksum`]: one file's MD5 or XXH3-128, as its bytes stream by ([`Hasher`]) or read from
//!   disk ([`checksum_file`]).
//! - [`lanes`]: the lane engine, MD5 of many messages at once in SIMD lanes (multi-buffer
//!   `md5-many` where the CPU has AVX2, `md-5` one at a time elsewhere), and its driver over
//!   files: the sender hashes a snapshot's files with it ahead of the stream.
//! - [`lane_hasher`]: the receiver's side of the engine, one node-wide thread that hashes every
//!   receiving connection's MD5 stream in the same lanes.
//! - [`cache`]: the process-wide digest caches, checksums already known by file identity
//!   (hard-linked SSTs of an earlier checkpoint, files the receiver verified: not read again).
//!
//! - [`ledger`]: those checksums kept across processes, one ledger per partition in the state
//!   directory (a node that serves what another process received does not hash it again).
//!
//! Depends on `protocol` (the algorithm names), `error` and `fsutil` only; the sender (`snapshot`) and the
//! receiver (`client`) both come here, and neither reaches into the other to hash.

pub(crate) mod cache;
mod checksum;
pub(crate) mod lane_hasher;
pub(crate) mod lanes;
pub(crate) mod ledger;

pub use cache::{DigestCache, FileKey};
pub use checksum::{checksum_file, Hasher};
pub(crate) use lane_hasher::{LaneHasher, LaneStream};

/// Lower-case hex, as Apache commons `md5Hex` writes it (the digests' form on the wire).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}
