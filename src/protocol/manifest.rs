//! A snapshot's manifest: every file's name, size and checksum, which a vbt sender announces
//! before any file when a vbt receiver asks (`X-Vbt-Manifest`, protocol::ext). The receiver
//! keeps the files it already holds whose identity matches (name, size and checksum together,
//! whatever snapshot or peer they came from) and asks only for the rest.
//!
//! ```text
//! receiver                                               sender
//!   GET … X-Vbt-Manifest: 1 (+ X-Vbt-Checksum) ─────────►  admit, lease the snapshot
//!   ◄─── 200  x-vbt-manifest: <snapshot id>, JSON body      (its files' checksums, cached)
//!   GET … X-Vbt-Resume: <snapshot id> <bitmap> (+ asks) ─►  same lease, same admission
//!   ◄─── FILE* METADATA COMPLETE  (the files not held)
//! ```
//! A Java sender ignores the ask and streams every file: the receiver then starts clean.
//! The body is JSON: `{"snapshot":"<id>","algorithm":"XXH3-128","files":[{"name":..,"len":..,"sum":..}]}`.
//! Everything in it is checked before use (names as FILE names, sums as hex of the algorithm's
//! length, no name twice, bounded counts): a lying manifest can at most make the receiver keep
//! a file it verified itself, which is the file the sender would have sent.

use serde::{Deserialize, Serialize};

use super::checksum::Algorithm;
use crate::error::{Error, Result};

/// The response header that marks a manifest (its value is the snapshot's id).
pub const HEADER: &str = "x-vbt-manifest";
/// Largest manifest body a receiver reads: about 100,000 files.
pub const MAX_BODY: u64 = 16 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub len: u64,
    pub sum: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub snapshot: String,
    pub algorithm: Algorithm,
    /// In the snapshot's order: a file's place here is its `x-vbt-file-index`.
    pub files: Vec<ManifestFile>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    snapshot: String,
    algorithm: String,
    files: Vec<ManifestFile>,
}

impl Manifest {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }

    /// The whole response: head and JSON body.
    pub fn response(&self) -> Vec<u8> {
        let wire = Wire { snapshot: self.snapshot.clone(), algorithm: self.algorithm.name().to_string(), files: self.files.clone() };
        let body = serde_json::to_vec(&wire).expect("a manifest serialises");
        let mut out = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: application/json\r\n{HEADER}: {}\r\n\r\n",
            body.len(),
            self.snapshot
        )
        .into_bytes();
        out.extend_from_slice(&body);
        out
    }

    /// Reads and checks a manifest body; `head_snapshot` is the id its head announced.
    pub fn parse(body: &[u8], head_snapshot: &str) -> Result<Manifest> {
        let bad = |why: String| Error::protocol(format!("peer's manifest: {why}"));
        let wire: Wire = serde_json::from_slice(body).map_err(|e| bad(format!("not the expected JSON: {e}")))?;
        if wire.snapshot != head_snapshot {
            return Err(bad(format!("body names snapshot {:?}, its head {head_snapshot:?}", wire.snapshot)));
        }
        let algorithm =
            Algorithm::from_name(&wire.algorithm).ok_or_else(|| bad(format!("unknown checksum algorithm {:?}", wire.algorithm)))?;
        if wire.files.is_empty() || wire.files.len() > super::ext::MAX_INDEX {
            return Err(bad(format!("{} files (1 to {} expected)", wire.files.len(), super::ext::MAX_INDEX)));
        }
        let mut names = std::collections::HashSet::new();
        let mut total: u64 = 0;
        for f in &wire.files {
            super::check_file_name(&f.name).map_err(|e| bad(e.message().to_string()))?;
            if !names.insert(f.name.as_str()) {
                return Err(bad(format!("file {:?} listed twice", f.name)));
            }
            if f.sum.len() != algorithm.hex_len() || !f.sum.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(bad(format!("checksum {:?} of {:?} is not {} lower-case hex", f.sum, f.name, algorithm.name())));
            }
            total = total.checked_add(f.len).ok_or_else(|| bad("file sizes overflow".into()))?;
        }
        Ok(Manifest { snapshot: wire.snapshot, algorithm, files: wire.files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            snapshot: "00ff".into(),
            algorithm: Algorithm::Xxh3_128,
            files: vec![
                ManifestFile { name: "000001.sst".into(), len: 10, sum: "0".repeat(32) },
                ManifestFile { name: "CURRENT".into(), len: 16, sum: "a".repeat(32) },
            ],
        }
    }

    fn body(m: &[u8]) -> &[u8] {
        let at = m.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        &m[at..]
    }

    #[test]
    fn round_trip() {
        let m = sample();
        let r = m.response();
        assert!(String::from_utf8_lossy(&r).contains("x-vbt-manifest: 00ff\r\n"));
        assert_eq!(Manifest::parse(body(&r), "00ff").unwrap(), m);
        assert_eq!(m.total_bytes(), 26);
    }

    #[test]
    fn a_lying_or_broken_manifest_is_refused_naming_why() {
        let ok = String::from_utf8(body(&sample().response()).to_vec()).unwrap();
        let cases = [
            (ok.replace("000001.sst", "../x.sst"), "file name"),
            (ok.replace("000001.sst", "CURRENT"), "listed twice"),
            (ok.replace(&"a".repeat(32), &"A".repeat(32)), "lower-case hex"),
            (ok.replace(&"a".repeat(32), "abc"), "lower-case hex"),
            (ok.replace("XXH3-128", "SHA-1"), "unknown checksum"),
            (ok.replace("\"len\":10", "\"len\":18446744073709551615"), "overflow"),
            (ok.replace("\"len\":10", "\"len\":-1"), "JSON"),
            (r#"{"snapshot":"00ff","algorithm":"XXH3-128","files":[]}"#.to_string(), "0 files"),
            ("{".to_string(), "JSON"),
        ];
        for (body, want) in cases {
            let e = Manifest::parse(body.as_bytes(), "00ff").unwrap_err();
            assert!(e.message().contains(want), "{body}: {e}");
        }
        assert!(Manifest::parse(ok.as_bytes(), "0100").unwrap_err().message().contains("its head"));
    }
}
