//! Checksums of files the process has already hashed or verified, by file identity. A
//! re-created checkpoint hard-links the SSTs the previous one had (RocksDB never rewrites an
//! SST), so most of a new snapshot's files are the same inodes with the same contents: their
//! checksum is known.
//!
//! Identity is (device, inode) and a hit also needs the same size and mtime (to the nanosecond).
//! Not ctime: making a hard link changes it, and hard links are exactly what this is for.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use crate::error::Result;
use crate::protocol::checksum::Algorithm;

/// Entries kept: a few hundred partitions' worth of SSTs, ~100 bytes each.
pub const CAPACITY: usize = 4096;

/// How long after a file's last write a checksum read from it may be kept by its key: more than
/// a clock tick at the lowest HZ (100). Where file times are coarse (kernels before 6.13, ramfs,
/// NFS), a rewrite in the tick of the last write moves no part of the key.
pub const RACY: Duration = Duration::from_millis(25);

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
struct Inode {
    dev: u64,
    ino: u64,
}

/// What must be unchanged for a cached digest to still be the file's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Version {
    size: u64,
    mtime: (i64, i64),
}

/// A file's identity and version, read from its metadata.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct FileKey {
    inode: Inode,
    version: Version,
}

impl FileKey {
    pub fn of(meta: &std::fs::Metadata) -> FileKey {
        FileKey {
            inode: Inode { dev: meta.dev(), ino: meta.ino() },
            version: Version { size: meta.size(), mtime: (meta.mtime(), meta.mtime_nsec()) },
        }
    }

    /// Device, inode, size and mtime (seconds, nanoseconds): how a ledger writes the key down.
    pub(super) fn parts(&self) -> (u64, u64, u64, (i64, i64)) {
        (self.inode.dev, self.inode.ino, self.version.size, self.version.mtime)
    }

    /// Whether the file's last write was [`RACY`] or more before `at`: any write after `at`
    /// then moves the mtime, so a checksum read after `at` belongs to this key.
    pub fn settled(&self, at: SystemTime) -> bool {
        let (s, ns) = self.version.mtime;
        let mtime = s as i128 * 1_000_000_000 + ns as i128;
        at.duration_since(SystemTime::UNIX_EPOCH).is_ok_and(|t| t.as_nanos() as i128 - mtime >= RACY.as_nanos() as i128)
    }

    pub(super) fn from_parts(dev: u64, ino: u64, size: u64, mtime: (i64, i64)) -> FileKey {
        FileKey { inode: Inode { dev, ino }, version: Version { size, mtime } }
    }
}

struct Entry {
    version: Version,
    md5: [u8; 16],
    used: u64,
}

/// A bounded map from file to MD5, least recently used out first.
pub struct DigestCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Inode, Entry>,
    /// `used` → inode, oldest first.
    order: BTreeMap<u64, Inode>,
    clock: u64,
}

impl DigestCache {
    pub fn new(capacity: usize) -> DigestCache {
        DigestCache { capacity: capacity.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// The MD5 recorded for this file, if it is the same version. An entry for the same inode
    /// with another size or mtime is dropped: the inode was rewritten or reused.
    pub fn get(&self, key: &FileKey) -> Option<[u8; 16]> {
        let mut g = self.inner.lock().unwrap();
        let inner = &mut *g;
        let e = inner.entries.get_mut(&key.inode)?;
        if e.version != key.version {
            inner.order.remove(&e.used);
            inner.entries.remove(&key.inode);
            return None;
        }
        inner.clock += 1;
        inner.order.remove(&e.used);
        e.used = inner.clock;
        inner.order.insert(e.used, key.inode);
        Some(e.md5)
    }

    pub fn put(&self, key: &FileKey, md5: [u8; 16]) {
        let mut g = self.inner.lock().unwrap();
        let inner = &mut *g;
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.entries.insert(key.inode, Entry { version: key.version, md5, used }) {
            inner.order.remove(&old.used);
        }
        inner.order.insert(used, key.inode);
        while inner.entries.len() > self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else { break };
            inner.entries.remove(&oldest);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().entries.len()
    }
}

/// The checksums this process knows by file identity, one cache per algorithm: what a sender
/// hashed (hard-linked SSTs of a re-created checkpoint are not read again) and what a receiver
/// verified as it received (a node serving a partition it has just received answers from these
/// instead of reading it back from the disk: received files bypass the page cache). One per
/// process, not per node: a file's identity and version mean the same to every node in it.
pub fn known(algorithm: Algorithm) -> &'static DigestCache {
    static KNOWN: OnceLock<[DigestCache; 2]> = OnceLock::new();
    let k = KNOWN.get_or_init(|| [DigestCache::new(CAPACITY), DigestCache::new(CAPACITY)]);
    match algorithm {
        Algorithm::Md5 => &k[0],
        Algorithm::Xxh3_128 => &k[1],
    }
}

pub(super) fn unhex16(sum: &str) -> Option<[u8; 16]> {
    let b = sum.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = digit(b[2 * i])? << 4 | digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// Records `sum` (hex) as the checksum of the file at `path` as it is now: a receiver calls this
/// once it has written the whole file and the checksum matched.
pub fn remember(path: &Path, algorithm: Algorithm, sum: &str) {
    if let (Ok(meta), Some(bytes)) = (std::fs::metadata(path), unhex16(sum)) {
        known(algorithm).put(&FileKey::of(&meta), bytes);
    }
}

/// The file's checksum: known by its identity, or read, hashed and then remembered if the file
/// did not change while it was read, nor was read in the tick of its last write. Blocking.
pub fn checksum_known(path: &Path, algorithm: Algorithm) -> Result<String> {
    let key = |p: &Path| std::fs::metadata(p).ok().map(|m| FileKey::of(&m));
    let now = SystemTime::now();
    let before = key(path);
    if let Some(sum) = before.as_ref().and_then(|k| known(algorithm).get(k)) {
        return Ok(super::hex(&sum));
    }
    let sum = super::checksum_file(path, algorithm)?;
    if let (Some(k), Some(bytes)) = (before, unhex16(&sum)) {
        // Read in its last write's tick, a rewrite in that tick would leave the key: not kept.
        if k.settled(now) && key(path) == Some(k) {
            known(algorithm).put(&k, bytes);
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ino: u64, size: u64, mtime: i64) -> FileKey {
        FileKey { inode: Inode { dev: 1, ino }, version: Version { size, mtime: (mtime, 0) } }
    }

    #[test]
    fn same_version_hits_other_version_misses_and_is_dropped() {
        let c = DigestCache::new(8);
        c.put(&key(1, 10, 100), [1; 16]);
        assert_eq!(c.get(&key(1, 10, 100)), Some([1; 16]));
        assert_eq!(c.get(&key(2, 10, 100)), None);
        assert_eq!(c.get(&key(1, 11, 100)), None, "another size");
        assert_eq!(c.get(&key(1, 10, 100)), None, "the stale entry was dropped");
        c.put(&key(1, 10, 100), [1; 16]);
        assert_eq!(c.get(&key(1, 10, 101)), None, "another mtime");
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn least_recently_used_goes_first() {
        let c = DigestCache::new(3);
        for i in 1..=3 {
            c.put(&key(i, 1, 1), [i as u8; 16]);
        }
        assert!(c.get(&key(1, 1, 1)).is_some()); // 2 is now the oldest
        c.put(&key(4, 1, 1), [4; 16]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&key(2, 1, 1)), None);
        for i in [1, 3, 4] {
            assert_eq!(c.get(&key(i, 1, 1)), Some([i as u8; 16]));
        }
        // Replacing an entry does not leave its old place in the order behind.
        c.put(&key(3, 2, 2), [9; 16]);
        c.put(&key(5, 1, 1), [5; 16]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(&key(3, 2, 2)), Some([9; 16]));
    }

    #[test]
    fn a_hard_link_is_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.sst");
        std::fs::write(&a, b"table").unwrap();
        let before = FileKey::of(&std::fs::metadata(&a).unwrap());
        let b = dir.path().join("b.sst");
        std::fs::hard_link(&a, &b).unwrap();
        assert_eq!(FileKey::of(&std::fs::metadata(&b).unwrap()), before, "link changes ctime, not the key");
        let c = dir.path().join("c.sst");
        std::fs::copy(&a, &c).unwrap();
        assert_ne!(FileKey::of(&std::fs::metadata(&c).unwrap()), before);
    }

    /// What a receiver remembers is what the sender's side then answers without reading, until
    /// the file changes.
    #[test]
    fn remembered_checksums_are_recalled_until_the_file_changes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.sst");
        std::fs::write(&p, b"hello").unwrap();
        let real = super::super::checksum_file(&p, Algorithm::Xxh3_128).unwrap();
        // A sum nobody could compute from the bytes: recalled only if it was remembered.
        let told = "0123456789abcdef0123456789abcdef";
        remember(&p, Algorithm::Xxh3_128, told);
        assert_eq!(checksum_known(&p, Algorithm::Xxh3_128).unwrap(), told);
        assert_ne!(checksum_known(&p, Algorithm::Md5).unwrap(), told, "per algorithm");
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(&p, b"world").unwrap();
        let now = checksum_known(&p, Algorithm::Xxh3_128).unwrap();
        assert!(now != told && now != real);
        assert_eq!(now, super::super::checksum_file(&p, Algorithm::Xxh3_128).unwrap());
        assert_eq!(unhex16("zz"), None);
        assert_eq!(unhex16(told).map(|b| super::super::hex(&b)).as_deref(), Some(told));
    }
}
