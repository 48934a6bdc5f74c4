//! File checksums on the wire. Venice's is MD5 (lower-case hex in `content-md5`). Between two vbt
//! nodes the receiver may ask for XXH3-128 instead (design.md §7): a 128-bit hash at tens of GB/s,
//! so checksums stop being the bottleneck (MD5 runs at ~0.6 GB/s per core here). XXH3-128 rather
//! than CRC32C: just as fast on this hardware, and 128 bits instead of 32 make an undetected
//! corruption vanishingly unlikely even across millions of files. Neither is a defence against a
//! malicious peer — MD5 is not one either; TLS and the ACL are.
//!
//! Here only what the wire carries: the algorithms' names, the headers that ask for and announce
//! the fast checksum, and what a FILE head announced. Computing them is `crate::digest`'s.

/// Request header a vbt receiver sends to ask for the fast checksum; Java senders ignore it.
pub const HEADER_ASK: &str = "X-Vbt-Checksum";
/// FILE response header carrying the fast checksum (`xxh3-128 <32 hex>`), sent only when asked.
pub const HEADER_FILE: &str = "x-vbt-checksum";
pub const XXH3_128: &str = "xxh3-128";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Venice's: what every Java peer sends and expects.
    Md5,
    /// vbt ↔ vbt only.
    Xxh3_128,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Xxh3_128 => "XXH3-128",
        }
    }

    /// The algorithm [`Algorithm::name`] names (a resume journal, a manifest).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        [Algorithm::Md5, Algorithm::Xxh3_128].into_iter().find(|a| a.name() == name)
    }

    /// Hex digits of a digest: both are 128 bits.
    pub fn hex_len(self) -> usize {
        32
    }
}

/// A checksum announced for a file: algorithm and lower-case hex digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announced {
    pub algorithm: Algorithm,
    pub hex: String,
}
