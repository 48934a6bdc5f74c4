//! One file's checksum, in the algorithm the two sides agreed on ([`Algorithm`]: Venice's MD5, or
//! XXH3-128 between vbt nodes): as its bytes stream by ([`Hasher`], the receiver's hasher thread
//! and the tests), or read from disk ([`checksum_file`]: a sender's file nobody hashed ahead, a
//! receiver's kept file on resume). Blocking; run it off the async workers.

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};
use xxhash_rust::xxh3::Xxh3;

use super::hex;
use crate::error::{Error, Result};
use crate::protocol::checksum::Algorithm;

/// Hashes bytes as they stream by.
pub enum Hasher {
    Md5(Box<Md5>),
    Xxh3(Box<Xxh3>),
}

impl Hasher {
    pub fn new(a: Algorithm) -> Hasher {
        match a {
            Algorithm::Md5 => Hasher::Md5(Box::new(Md5::new())),
            Algorithm::Xxh3_128 => Hasher::Xxh3(Box::new(Xxh3::new())),
        }
    }
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Xxh3(h) => h.update(bytes),
        }
    }
    pub fn finish_hex(self) -> String {
        match self {
            Hasher::Md5(h) => hex(&h.finalize()),
            Hasher::Xxh3(h) => format!("{:032x}", h.digest128()),
        }
    }
}

/// Checksum of a whole file, read in 1 MiB pieces, as lower-case hex.
pub fn checksum_file(path: &Path, algorithm: Algorithm) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(format!("open {}", path.display()), e))?;
    let mut hasher = Hasher::new(algorithm);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finish_hex())
}
