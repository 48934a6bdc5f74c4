//! Checksums known by file identity, kept across processes: one ledger per partition in the
//! state directory. A node that received a partition, or hashed one to send it, writes down what
//! it knows of the partition's files; the next process that serves the partition (`vbt serve`
//! after `vbt fetch`, a Venice server after a restart) loads the ledger into [`known`] and sends
//! those files without reading them once more just to hash them.
//!
//! An entry holds on the rule of the in-process cache (device, inode, size and mtime to the
//! nanosecond) and only in the boot that wrote it: after a reboot anything may have touched the
//! files (fsck, a restore), and the ledger is ignored. An entry is not written within
//! [`RACY`](super::cache::RACY) of the file's mtime, nor was its checksum read within that time of it (a rewrite in
//! the same clock tick would not move it: the process's cache keeps no such read). A ledger cut
//! short or damaged (a crash while it was written, a flipped bit) fails its trailer and is
//! ignored whole. A ledger is trusted like the rest of the state directory: a stale checksum is
//! still never installed (the receiver verifies every byte against it), but a sender announcing
//! one would fail each transfer of that file.
//!
//! ```text
//! vbt-digests 1 <boot id>
//! <algorithm> <dev> <ino> <size> <mtime s> <mtime ns> <checksum hex>     one per entry
//! end <entries> <xxh3-64 of every byte above this line, hex>
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use super::cache::{known, unhex16, FileKey};
use crate::error::{Error, Result};
use crate::protocol::checksum::Algorithm;

const MAGIC: &str = "vbt-digests 1";

/// More than any partition's ledger (over 250 000 files at two checksums each).
const MAX_BYTES: u64 = 64 << 20;

const ALGORITHMS: [Algorithm; 2] = [Algorithm::Md5, Algorithm::Xxh3_128];

/// One entry: a checksum and the file version it belongs to.
type Entries = HashMap<(Algorithm, FileKey), [u8; 16]>;

/// Seeds [`known`] from the ledger at `path`; returns how many entries it held. A missing,
/// damaged or earlier-boot ledger seeds nothing.
pub fn load(path: &Path) -> usize {
    let entries = read(path);
    for ((algorithm, key), sum) in &entries {
        known(*algorithm).put(key, *sum);
    }
    entries.len()
}

/// Writes the ledger at `path` for `files` (a partition's files): each one's checksums this
/// process knows, or the ledger held for the file as it is now. Replaced whole by a rename, so
/// a reader sees the old ledger or the new one; returns the entries written.
pub fn save(path: &Path, files: &[PathBuf]) -> Result<usize> {
    let Some(boot) = crate::fsutil::boot_id() else { return Ok(0) };
    let old = read(path);
    let now = SystemTime::now();
    let mut body = format!("{MAGIC} {boot}\n");
    let mut count = 0;
    for f in files {
        let Ok(meta) = std::fs::symlink_metadata(f) else { continue };
        let key = FileKey::of(&meta);
        if !meta.is_file() || !key.settled(now) {
            continue;
        }
        for a in ALGORITHMS {
            if let Some(sum) = known(a).get(&key).or_else(|| old.get(&(a, key)).copied()) {
                let (dev, ino, size, (s, ns)) = key.parts();
                body.push_str(&format!("{} {dev} {ino} {size} {s} {ns} {}\n", a.name(), super::hex(&sum)));
                count += 1;
            }
        }
    }
    let dir = path.parent().ok_or_else(|| Error::internal(format!("ledger {} has no directory", path.display())))?;
    remove_orphan_temps(dir);
    if count == 0 {
        // Nothing known (the files are gone: a partition dropped while a sender hashed it): no
        // ledger, rather than an empty one left until the next install or start-up.
        let _ = std::fs::remove_file(path);
        return Ok(0);
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Unique per writer: two nodes of one process may save the same partition at once.
    static WRITERS: AtomicU64 = AtomicU64::new(0);
    let temp = dir.join(format!(".{name}.{}-{}.tmp", std::process::id(), WRITERS.fetch_add(1, Ordering::Relaxed)));
    let written =
        create_temp(dir, &temp).and_then(|mut t| t.write_all(sealed(body, count).as_bytes())).and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::io(format!("write {}", path.display()), e));
    }
    Ok(count)
}

/// Creates `temp` in `dir`, made first. An install's prune (storage::layout) removes the
/// directory while it is empty, so it may go between the two: then both again.
fn create_temp(dir: &Path, temp: &Path) -> std::io::Result<std::fs::File> {
    let mut tries = 0;
    loop {
        std::fs::create_dir_all(dir)?;
        match std::fs::File::create(temp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && tries < 3 => tries += 1,
            created => return created,
        }
    }
}

/// `body` (the header and `count` entries) with its trailer.
fn sealed(mut body: String, count: usize) -> String {
    let trailer = format!("end {count} {:016x}\n", xxhash_rust::xxh3::xxh3_64(body.as_bytes()));
    body.push_str(&trailer);
    body
}

/// The entries of the ledger at `path`, if it is whole and of this boot.
fn read(path: &Path) -> Entries {
    let mut out = Entries::new();
    let (Some(text), Some(boot)) = (text(path), crate::fsutil::boot_id()) else { return out };
    let Some(end) = text.trim_end_matches('\n').rfind('\n').map(|i| i + 1) else { return out };
    let (body, trailer) = text.split_at(end);
    let mut lines = body.lines();
    let whole = trailer.trim_end()
        == format!("end {} {:016x}", body.lines().count().saturating_sub(1), xxhash_rust::xxh3::xxh3_64(body.as_bytes()));
    if !whole || lines.next() != Some(&format!("{MAGIC} {boot}")) {
        return out;
    }
    for line in lines {
        let Some(entry) = parse(line) else { return Entries::new() };
        out.insert(entry.0, entry.1);
    }
    out
}

/// The text of the regular file at `path`, if it is no larger than a ledger can be. Opened
/// without blocking: a FIFO there would hold a snapshot or an install until a writer came.
fn text(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC).open(path).ok()?;
    let meta = f.metadata().ok()?;
    let mut text = String::new();
    if !meta.is_file() || meta.len() > MAX_BYTES || f.take(MAX_BYTES).read_to_string(&mut text).is_err() {
        return None;
    }
    Some(text)
}

fn parse(line: &str) -> Option<((Algorithm, FileKey), [u8; 16])> {
    let w: Vec<&str> = line.split(' ').collect();
    let [algorithm, dev, ino, size, s, ns, sum] = w[..] else { return None };
    let u = |v: &str| v.parse::<u64>().ok();
    let i = |v: &str| v.parse::<i64>().ok();
    let key = FileKey::from_parts(u(dev)?, u(ino)?, u(size)?, (i(s)?, i(ns)?));
    Some(((Algorithm::from_name(algorithm)?, key), unhex16(sum)?))
}

/// Temp files of writers that died before their rename (their process is gone).
pub fn remove_orphan_temps(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.strip_suffix(".tmp").and_then(|n| n.rsplit_once('.')).and_then(|(_, w)| w.split_once('-')).map(|(pid, _)| pid);
        let Some(pid) = pid else { continue };
        if name.starts_with('.') && pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::cache::RACY;
    use super::*;
    use std::time::Duration;

    /// Files written, then old enough to be recorded (a ledger skips files within RACY of their
    /// mtime), with their XXH3 known to this process.
    fn settled_files(dir: &Path, n: usize) -> Vec<PathBuf> {
        let files: Vec<PathBuf> = (0..n).map(|i| dir.join(format!("{i:06}.sst"))).collect();
        for (i, f) in files.iter().enumerate() {
            std::fs::write(f, vec![i as u8 + 1; 1000 + i]).unwrap();
        }
        std::thread::sleep(RACY * 2);
        for f in &files {
            super::super::cache::checksum_known(f, Algorithm::Xxh3_128).unwrap();
        }
        files
    }

    fn key(f: &Path) -> FileKey {
        FileKey::of(&std::fs::metadata(f).unwrap())
    }

    #[test]
    fn a_saved_ledger_reads_back_whole_and_nothing_else_does() {
        let d = tempfile::tempdir().unwrap();
        let files = settled_files(d.path(), 3);
        let ledger = d.path().join("digests").join("p");
        assert_eq!(save(&ledger, &files).unwrap(), 3);
        let got = read(&ledger);
        assert_eq!(got.len(), 3);
        for f in &files {
            let want = crate::digest::checksum_file(f, Algorithm::Xxh3_128).unwrap();
            assert_eq!(super::super::hex(&got[&(Algorithm::Xxh3_128, key(f))]), want);
        }
        let text = std::fs::read_to_string(&ledger).unwrap();
        // Cut short, one digit changed, or written in another boot: ignored whole.
        std::fs::write(&ledger, &text[..text.len() - 30]).unwrap();
        assert!(read(&ledger).is_empty());
        let flipped = text.replacen(" 1000 ", " 1001 ", 1);
        assert_ne!(flipped, text);
        std::fs::write(&ledger, &flipped).unwrap();
        assert!(read(&ledger).is_empty());
        let body = text[..text.rfind("end ").unwrap()].to_string();
        let boot = crate::fsutil::boot_id().unwrap();
        std::fs::write(&ledger, sealed(body.replace(&boot, "another-boot"), 3)).unwrap();
        assert!(read(&ledger).is_empty());
        // The same body resealed is whole again (the checks above are the trailer's and boot's).
        std::fs::write(&ledger, sealed(body, 3)).unwrap();
        assert_eq!(read(&ledger).len(), 3);
        assert!(tree_names(&ledger.with_file_name("")).iter().all(|n| n == "p"), "no temp left");
    }

    fn tree_names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn a_save_keeps_the_old_entries_of_unchanged_files_and_skips_files_just_written() {
        let d = tempfile::tempdir().unwrap();
        let files = settled_files(d.path(), 2);
        let ledger = d.path().join("ledger");
        save(&ledger, &files).unwrap();
        // Another process's ledger: its entries are not in this process's cache. Forged here
        // by a ledger naming file 1 with another checksum; file 0's entry is this process's.
        let text = std::fs::read_to_string(&ledger).unwrap();
        let (dev, ino, size, (s, ns)) = key(&files[1]).parts();
        let forged = format!("MD5 {dev} {ino} {size} {s} {ns} {}\n", "ab".repeat(16));
        let body = text[..text.rfind("end ").unwrap()].to_string() + &forged;
        std::fs::write(&ledger, sealed(body, 3)).unwrap();
        // File 1 changed since (its mtime moved): its old entry goes; a file written just now
        // is not recorded at all.
        std::fs::write(&files[1], b"changed").unwrap();
        let fresh = d.path().join("fresh.sst");
        std::fs::write(&fresh, b"new").unwrap();
        super::super::cache::checksum_known(&fresh, Algorithm::Xxh3_128).unwrap();
        save(&ledger, &[files[0].clone(), files[1].clone(), fresh]).unwrap();
        let got = read(&ledger);
        assert_eq!(got.keys().map(|(a, k)| (*a, *k)).collect::<Vec<_>>(), vec![(Algorithm::Xxh3_128, key(&files[0]))]);
        // Unchanged, the other process's entry is kept beside this one's.
        std::thread::sleep(RACY * 2);
        let body = std::fs::read_to_string(&ledger).unwrap();
        let body = body[..body.rfind("end ").unwrap()].to_string();
        let (dev, ino, size, (s, ns)) = key(&files[1]).parts();
        std::fs::write(&ledger, sealed(body + &format!("MD5 {dev} {ino} {size} {s} {ns} {}\n", "cd".repeat(16)), 2)).unwrap();
        save(&ledger, &files).unwrap();
        let got = read(&ledger);
        assert_eq!(got.get(&(Algorithm::Md5, key(&files[1]))), Some(&[0xcd; 16]));
        assert!(got.contains_key(&(Algorithm::Xxh3_128, key(&files[0]))));
    }

    #[test]
    fn a_load_seeds_the_process_cache_and_a_changed_file_misses_it() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("000001.sst");
        std::fs::write(&f, b"kept").unwrap();
        std::thread::sleep(RACY * 2);
        let (dev, ino, size, (s, ns)) = key(&f).parts();
        let boot = crate::fsutil::boot_id().unwrap();
        let ledger = d.path().join("ledger");
        let body = format!("{MAGIC} {boot}\nMD5 {dev} {ino} {size} {s} {ns} {}\n", "ef".repeat(16));
        std::fs::write(&ledger, sealed(body, 1)).unwrap();
        assert_eq!(load(&ledger), 1);
        // Trusted as written (the ledger is state, like the resume journal)...
        assert_eq!(super::super::cache::checksum_known(&f, Algorithm::Md5).unwrap(), "ef".repeat(16));
        // ...until the file is not that version any more.
        std::fs::write(&f, b"kept, then changed").unwrap();
        assert_eq!(
            super::super::cache::checksum_known(&f, Algorithm::Md5).unwrap(),
            crate::digest::checksum_file(&f, Algorithm::Md5).unwrap()
        );
    }

    /// Where file times are coarse (ramfs, kernels before 6.13), a file hashed in the tick of
    /// its last write and rewritten in that tick keeps its key: what was hashed then must not be
    /// written down later, once the mtime looks old. Needs root to mount a ramfs.
    #[test]
    fn a_checksum_taken_in_the_tick_of_the_last_write_is_not_kept() {
        let d = tempfile::tempdir().unwrap();
        let Some((_mounted, mnt)) = crate::fsutil::Mounted::ramfs(d.path()) else { return };
        let (path, ledger) = (mnt.join("f.sst"), mnt.join("ledger"));
        let mut stale = 0;
        for i in 0..20u8 {
            std::fs::write(&path, [i; 5]).unwrap();
            super::super::cache::checksum_known(&path, Algorithm::Xxh3_128).unwrap();
            std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all(&[i + 100; 5]).unwrap();
            std::thread::sleep(RACY * 2);
            save(&ledger, std::slice::from_ref(&path)).unwrap();
            let real = crate::digest::checksum_file(&path, Algorithm::Xxh3_128).unwrap();
            let kept = read(&ledger).get(&(Algorithm::Xxh3_128, key(&path))).map(|s| super::super::hex(s));
            stale += kept.is_some_and(|k| k != real) as u32;
        }
        assert_eq!(stale, 0, "the ledger kept a checksum of other bytes {stale} times in 20");
    }

    /// Something other than a ledger at its path (a FIFO, a directory, a file far
    /// larger than any ledger) reads as none, at once: a `vbt serve` creating a snapshot and a
    /// receiver installing would otherwise wait on a FIFO's writer for ever.
    #[test]
    fn what_is_not_a_ledger_file_reads_as_none_at_once() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let dir = d.path().join("dir");
        std::fs::create_dir(&dir).unwrap();
        let huge = d.path().join("huge");
        std::fs::File::create(&huge).unwrap().set_len(MAX_BYTES + 1).unwrap();
        for p in [fifo.clone(), dir, huge] {
            let (tx, rx) = std::sync::mpsc::channel();
            let q = p.clone();
            std::thread::spawn(move || tx.send(read(&q).len()));
            let got = rx.recv_timeout(Duration::from_secs(5));
            if got.is_err() {
                let _ = std::fs::OpenOptions::new().write(true).open(&fifo); // let the reader go
            }
            assert_eq!(got, Ok(0), "{}", p.display());
        }
        save(&fifo, &[]).unwrap(); // replaced by the next save (here by none: nothing known)
        assert!(!fifo.exists());
    }

    /// A sender whose partition was dropped while it hashed saves for files that are gone: that
    /// leaves no ledger (an empty one would stay until the next install or start-up), and a
    /// ledger left from before goes with them.
    #[test]
    fn a_save_that_knows_nothing_leaves_no_ledger() {
        let d = tempfile::tempdir().unwrap();
        let files = settled_files(d.path(), 2);
        let ledger = d.path().join("digests").join("p");
        save(&ledger, &files).unwrap();
        for f in &files {
            std::fs::remove_file(f).unwrap();
        }
        assert_eq!(save(&ledger, &files).unwrap(), 0);
        assert!(!ledger.exists(), "a ledger of nothing was left");
        let other = d.path().join("other").join("p");
        assert_eq!(save(&other, &files).unwrap(), 0);
        assert!(!other.parent().unwrap().exists(), "nothing made in the state directory");
    }

    /// An install prunes the ledgers of partitions that are gone and removes the ledger
    /// directory when it is empty (storage::layout), while another partition's install or a
    /// sender saves: a prune that removes the directory between the save's making it and its
    /// temp file does not cost that save its ledger.
    #[test]
    fn a_save_beside_a_prune_that_removes_the_directory_still_writes() {
        let d = tempfile::tempdir().unwrap();
        let files = settled_files(d.path(), 1);
        let (root, mut failed, mut removed) = (d.path().join("digests"), 0, 0);
        for _ in 0..2000 {
            let done = std::sync::atomic::AtomicBool::new(false);
            std::thread::scope(|s| {
                // One prune: it removes the directory once, whenever it finds it empty.
                let prune = s.spawn(|| loop {
                    if std::fs::remove_dir(&root).is_ok() {
                        return 1;
                    }
                    if done.load(Ordering::SeqCst) {
                        return 0;
                    }
                });
                failed += save(&root.join("p"), &files).is_err() as u32;
                done.store(true, Ordering::SeqCst);
                removed += prune.join().unwrap();
            });
            let _ = std::fs::remove_file(root.join("p"));
            let _ = std::fs::remove_dir(&root);
        }
        assert_eq!(failed, 0, "{failed} saves in 2000 failed ({removed} prunes removed the directory)");
    }

    #[test]
    fn temps_of_dead_writers_are_removed_and_live_ones_kept() {
        let d = tempfile::tempdir().unwrap();
        let dead = d.path().join(".p.4294967294-0.tmp");
        let live = d.path().join(format!(".p.{}-7.tmp", std::process::id()));
        let other = d.path().join("notes.tmp");
        for f in [&dead, &live, &other] {
            std::fs::write(f, b"x").unwrap();
        }
        save(&d.path().join("p"), &[]).unwrap();
        assert!(!dead.exists() && live.exists() && other.exists());
    }
}
