//! File checksums computed on the sender (blocking; run off the async workers).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};
use crate::protocol::checksum::{Algorithm, Hasher};

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
