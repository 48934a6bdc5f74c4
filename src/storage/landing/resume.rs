//! Keeping what arrived from a vbt sender, so an interrupted bootstrap continues instead of
//! starting over (design.md §7, protocol::ext `X-Vbt-Resume`).
//!
//! ```text
//! landing dir of the partition (<state>/landing/<store>_v<N>_<P>, under the partition lock)
//!   .vbt-resume          line 1: header {peer, snapshot id, created}; then per file
//!                        {index, name, len, algorithm, sum, "started": true} when its head arrives
//!                        (len and sum: the whole file's, as announced), and the same line without
//!                        "started" once it is received and verified
//!   <files>              those files: whole ones, and the partial ones (started, not verified)
//! after a failed attempt / cancel / kill -9:  settle: keep listed files, remove the rest
//! next bootstrap (prepare): header unreadable or older than the retention → remove everything;
//!                           each whole file re-hashed: changed or missing → dropped; a partial
//!                           one keeps the bytes on disk (none, or more than its len → dropped)
//! next attempt, any vbt peer: its manifest (protocol::manifest) names the files by identity;
//!   X-Vbt-Resume: <snapshot id> <bitmap of whole files held>
//!   X-Vbt-Resume-From: <index>:<bytes held>,…  for the partial ones
//!   sender serves that snapshot → sends only the rest, the partial files from where they stop
//! ```
//! Lines are appended after the file's checksum matched; a torn last line (a crash mid-append)
//! is ignored. Re-hashing at prepare is what makes a kept file trustworthy, so appends need no
//! fsync: a file the journal names but a crash cut short fails its re-hash and is fetched again.
//! The re-hash runs over all kept files at once (recheck.rs). A partial file's bytes are never
//! trusted on their own: the receiver hashes them from disk ahead of the rest, and the whole
//! file's checksum decides; a mismatch removes the file, so the next attempt fetches it whole.

use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) const JOURNAL: &str = ".vbt-resume";
/// Where [`rewrite`] writes the new journal before renaming it over the old one. It holds `..`,
/// which no file name a sender may use does (protocol::check_file_name): a received file
/// named like it would be overwritten, renamed away and still counted as kept.
const JOURNAL_ASIDE: &str = ".vbt-resume..new";

/// Whether `name` is one the landing uses for itself: a file a sender names so is refused (it
/// would be overwritten by, or removed as, the journal).
pub(crate) fn reserved(name: &str) -> bool {
    name == JOURNAL || name == JOURNAL_ASIDE
}

/// What a landing directory keeps between attempts. [`Journaled`] keeps the files a vbt sender's
/// transfer verified (resume on); [`NoResume`] keeps nothing. The landing asks this instead of
/// threading "is resume on" through the receiver.
pub(crate) trait KeptFiles: Send + Sync {
    /// Whether verified files are recorded as they arrive (a journal is started).
    fn records(&self) -> bool;
    /// Before a bootstrap: what the directory holds that can be trusted, each file re-hashed.
    fn load(&self, temp: &Path) -> Result<Option<Kept>>;
    /// After a failed attempt: what it verified (sizes checked, no re-hash).
    fn reload(&self, temp: &Path) -> Result<Option<Kept>>;
    /// After an attempt that did not install: keep what a later one may use, remove the rest.
    fn settle(&self, temp: &Path) -> Result<bool>;
}

/// Resume off: nothing is kept, every attempt starts clean.
pub(crate) struct NoResume;

impl KeptFiles for NoResume {
    fn records(&self) -> bool {
        false
    }
    fn load(&self, temp: &Path) -> Result<Option<Kept>> {
        load(temp, false, Duration::ZERO)
    }
    fn reload(&self, _temp: &Path) -> Result<Option<Kept>> {
        Ok(None)
    }
    fn settle(&self, temp: &Path) -> Result<bool> {
        settle(temp, false)
    }
}

/// Resume on: files kept while younger than the sender's snapshot retention.
pub(crate) struct Journaled {
    pub retention: Duration,
}

impl KeptFiles for Journaled {
    fn records(&self) -> bool {
        true
    }
    fn load(&self, temp: &Path) -> Result<Option<Kept>> {
        load(temp, true, self.retention)
    }
    fn reload(&self, temp: &Path) -> Result<Option<Kept>> {
        load_sizes(temp, true, self.retention)
    }
    fn settle(&self, temp: &Path) -> Result<bool> {
        settle(temp, true)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Header {
    pub peer: String,
    pub snapshot: String,
    /// Milliseconds since the epoch when the first file was kept.
    pub created_ms: u64,
    /// The sender's announced (files, bytes): holding all of them is the whole partition.
    #[serde(default)]
    pub totals: Option<(usize, u64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct KeptFile {
    pub index: usize,
    pub name: String,
    pub len: u64,
    pub algorithm: String,
    pub sum: String,
    /// The peer that sent it (absent in journals before this field: the header's peer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The file as the kernel saw it once verified; absent: it is hashed again before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Seal>,
}

/// A cheaper proof than re-hashing that a kept file is still the bytes that were verified: the
/// same boot of the same kernel, and the same device, inode, size, modification and change
/// times as when its journal line was written, taken once the tick of its last write was past.
/// A write, truncate or replacement of the file through a system call moves its change time,
/// which no process can set back; a reboot (the only time a crash can lose written bytes under
/// a file's unchanged metadata) changes the boot id, and then the file is hashed again. What it
/// does not see: writes to the raw block device, silent media corruption (an installed
/// partition is exposed to both as well), and a process writing the landing files through a
/// shared memory mapping (the kernel moves the times only at the first write to a page). The
/// state directory is trusted like the base directory: whoever can write there can write the
/// partition itself. It makes a resume after `kill -9` cost a `stat` per kept file instead of
/// reading them all back from disk (received files are written around the page cache:
/// client::direct).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Seal {
    boot: String,
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    /// When the seal was taken (wall clock). Where file times are coarse (a tick, up to 10 ms:
    /// kernels before 6.13, file systems without multigrain times), a write in the tick of the
    /// last one moves neither time: a seal taken within [`RACY`] of the change time proves
    /// nothing (git's "racily clean"), and the file is hashed again. Absent: an older seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    taken: Option<(i64, i64)>,
}

/// How long after a file's change time a seal must be taken to hold: the digest cache's rule
/// for a checksum read (more than a tick at the lowest HZ, 100).
pub(crate) use crate::digest::cache::RACY;

fn ns((s, n): (i64, i64)) -> i128 {
    s as i128 * 1_000_000_000 + n as i128
}

impl Seal {
    /// The seal of the file at `path` now; `None` when it cannot be read (then it is re-hashed).
    pub fn of(path: &Path) -> Option<Seal> {
        use std::os::unix::fs::MetadataExt;
        let boot = crate::fsutil::boot_id()?;
        let m = std::fs::symlink_metadata(path).ok().filter(|m| m.is_file())?;
        Some(Seal {
            boot,
            dev: m.dev(),
            ino: m.ino(),
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            taken: SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| (d.as_secs() as i64, d.subsec_nanos() as i64)),
        })
    }

    /// Whether the file at `path` is still what was sealed, and the seal was not taken in the
    /// tick of its last change.
    pub fn holds(&self, path: &Path) -> bool {
        let settled = self.taken.is_some_and(|t| ns(t) - ns(self.ctime) >= RACY.as_nanos() as i128);
        settled && Seal::of(path).is_some_and(|now| Seal { taken: self.taken, ..now } == *self)
    }
}

/// A journal line: a file verified, or (`started`) one whose head arrived.
#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(flatten)]
    file: KeptFile,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    started: bool,
}

/// A file an earlier attempt started and did not finish: its first `have` bytes are on disk,
/// unverified (the whole file's checksum, `file.sum`, decides once the rest has arrived).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Partial {
    pub file: KeptFile,
    pub have: u64,
}

/// What a temp directory holds from an earlier attempt: whole files verified, and the partial
/// ones.
#[derive(Clone, Debug)]
pub(crate) struct Kept {
    pub header: Header,
    pub files: Vec<KeptFile>,
    pub partial: Vec<Partial>,
}

impl Kept {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.len).sum()
    }
    pub fn partial_bytes(&self) -> u64 {
        self.partial.iter().map(|p| p.have).sum()
    }
    pub fn indices(&self) -> Vec<usize> {
        self.files.iter().map(|f| f.index).collect()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
}

/// Appends verified files to a temp directory's journal (created with its header on first use).
pub(crate) struct Journal {
    file: std::fs::File,
}

impl Journal {
    /// Starts a fresh journal in `dir` (replacing any), or continues an existing one.
    pub fn open(dir: &Path, header: Option<&Header>) -> Result<Journal> {
        let path = dir.join(JOURNAL);
        if header.is_some() {
            let _ = std::fs::remove_file(&path);
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
        if let Some(h) = header {
            let line = serde_json::to_string(h).expect("header serialises") + "\n";
            file.write_all(line.as_bytes()).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        }
        Ok(Journal { file })
    }

    pub fn new_header(peer: &str, snapshot: &str, totals: Option<(usize, u64)>) -> Header {
        Header { peer: peer.to_string(), snapshot: snapshot.to_string(), created_ms: now_ms(), totals }
    }

    /// `f` was received and verified.
    pub fn append(&mut self, f: &KeptFile) -> Result<()> {
        self.line(f, false)
    }

    /// `f`'s head arrived (its len and sum are the whole file's, as announced): what reaches the
    /// disk of it is kept if the attempt ends before the file does.
    pub fn append_started(&mut self, f: &KeptFile) -> Result<()> {
        self.line(f, true)
    }

    fn line(&mut self, f: &KeptFile, started: bool) -> Result<()> {
        // One write per line: with O_APPEND a crash leaves at worst a torn last line.
        let line = serde_json::to_string(&Line { file: f.clone(), started }).expect("entry serialises") + "\n";
        self.file.write_all(line.as_bytes()).map_err(|e| Error::io("append to the resume journal", e))
    }
}

/// Reads a journal: `None` if absent or its header is unreadable.
fn read(dir: &Path) -> Option<Kept> {
    let f = std::fs::File::open(dir.join(JOURNAL)).ok()?;
    let mut lines = std::io::BufReader::new(f).lines();
    let header: Header = serde_json::from_str(&lines.next()?.ok()?).ok()?;
    let (mut files, mut started): (Vec<KeptFile>, Vec<KeptFile>) = Default::default();
    for line in lines {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Line>(&line) {
            // A tampered index would size the next request's bitmap: bounded like the sender's.
            Ok(Line { file: f, started: s })
                if crate::protocol::check_file_name(&f.name).is_ok() && !reserved(&f.name) && f.index < crate::protocol::ext::MAX_INDEX =>
            {
                // The last line about a file (or an index) is what holds.
                files.retain(|g| g.name != f.name && g.index != f.index);
                started.retain(|g| g.name != f.name && g.index != f.index);
                if s {
                    started.push(f);
                } else {
                    files.push(f);
                }
            }
            _ => break, // a torn last line
        }
    }
    // How much of a partial file is there is read from the disk when it is loaded.
    let partial = started.into_iter().map(|file| Partial { file, have: 0 }).collect();
    Some(Kept { header, files, partial })
}

/// After an attempt that did not install (lock held): keep the journal's files and remove every
/// other entry of the temp dir (a partial file, files a cancelled writer created). Without a
/// usable journal, or with `resume` off, the whole temp dir goes. Returns whether state was kept.
pub(crate) fn settle(temp: &Path, resume: bool) -> Result<bool> {
    let kept = if resume { read(temp).filter(|k| !k.files.is_empty() || !k.partial.is_empty()) } else { None };
    let Some(kept) = kept else {
        super::remove_temp(temp)?;
        return Ok(false);
    };
    let keep: std::collections::HashSet<&str> =
        kept.files.iter().chain(kept.partial.iter().map(|p| &p.file)).map(|f| f.name.as_str()).chain([JOURNAL]).collect();
    for e in std::fs::read_dir(temp).map_err(|e| Error::io(format!("list {}", temp.display()), e))?.flatten() {
        let name = e.file_name();
        if !name.to_str().is_some_and(|n| keep.contains(n)) {
            let p = e.path();
            let r = if e.file_type().is_ok_and(|t| t.is_dir()) { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            r.map_err(|e| Error::io(format!("remove {}", p.display()), e))?;
        }
    }
    Ok(true)
}

/// Before a bootstrap (lock held): what the temp dir holds that can be trusted. Stale (older
/// than `retention`), unreadable or emptied state is removed; each kept file is re-hashed and
/// made durable, and one that changed or vanished is dropped (and fetched again).
pub(crate) fn load(temp: &Path, resume: bool, retention: Duration) -> Result<Option<Kept>> {
    load_checked(temp, resume, retention, true)
}

/// As [`load`], but each kept file's presence and size are checked (and it is made durable),
/// not its bytes: for files this process verified moments ago (the retry after a failed
/// attempt), and at start-up, where the bootstrap that uses the files re-hashes them first.
pub(crate) fn load_sizes(temp: &Path, resume: bool, retention: Duration) -> Result<Option<Kept>> {
    load_checked(temp, resume, retention, false)
}

fn load_checked(temp: &Path, resume: bool, retention: Duration, rehash: bool) -> Result<Option<Kept>> {
    if !temp.exists() {
        return Ok(None);
    }
    let kept = if resume { read(temp) } else { None };
    let Some(mut kept) = kept else {
        super::remove_temp(temp)?;
        return Ok(None);
    };
    // Age counts from the last file kept (the journal's last append), not the first: a slow
    // transfer that outlives the retention still leaves its files to the next attempt, whose
    // manifest decides which are still good.
    let last_kept = std::fs::metadata(temp.join(JOURNAL))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    let age = Duration::from_millis(now_ms().saturating_sub(kept.header.created_ms.max(last_kept)));
    if age > retention {
        log::info!("discarding kept files in {}: {}s old, over the snapshot retention", temp.display(), age.as_secs());
        super::remove_temp(temp)?;
        return Ok(None);
    }
    let files = std::mem::take(&mut kept.files);
    let checked = super::recheck::check_all(temp, &files, rehash);
    let mut good = Vec::new();
    for (mut f, result) in files.into_iter().zip(checked) {
        match result {
            Ok(seal) => {
                if seal.is_some() {
                    f.seal = seal;
                }
                good.push(f)
            }
            Err(why) => {
                let path = temp.join(&f.name);
                log::warn!("kept file {} dropped: {why}", path.display());
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    kept.files = good;
    kept.partial = std::mem::take(&mut kept.partial).into_iter().filter_map(|p| partial_on_disk(temp, p)).collect();
    if kept.files.is_empty() && kept.partial.is_empty() {
        super::remove_temp(temp)?;
        return Ok(None);
    }
    rewrite(temp, &kept)?;
    Ok(Some(kept))
}

/// A partial file with the bytes it has on disk; `None` (and the file removed) when it has none,
/// or more than the whole file (not what the journal says it is).
fn partial_on_disk(temp: &Path, mut p: Partial) -> Option<Partial> {
    let path = temp.join(&p.file.name);
    let size = std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file()).map(|m| m.len());
    match size {
        Some(have) if have > 0 && have <= p.file.len => {
            p.have = have;
            Some(p)
        }
        _ => {
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// Makes the journal say exactly `kept` (written aside, then renamed over the old one, so a
/// crash leaves one or the other), then removes every file it does not name.
pub(crate) fn rewrite(temp: &Path, kept: &Kept) -> Result<()> {
    let (path, aside) = (temp.join(JOURNAL), temp.join(JOURNAL_ASIDE));
    let mut text = serde_json::to_string(&kept.header).expect("header serialises") + "\n";
    let lines = kept.files.iter().map(|f| (f, false)).chain(kept.partial.iter().map(|p| (&p.file, true)));
    for (f, started) in lines {
        text += &(serde_json::to_string(&Line { file: f.clone(), started }).expect("entry serialises") + "\n");
    }
    std::fs::write(&aside, text).map_err(|e| Error::io(format!("write {}", aside.display()), e))?;
    // The journal's time is when a file was last kept (what the age counts from): a rewrite
    // adds no file, so the new journal keeps the old one's time.
    if let Ok(last_kept) = std::fs::metadata(&path).and_then(|m| m.modified()) {
        let _ = std::fs::File::options().write(true).open(&aside).and_then(|f| f.set_modified(last_kept));
    }
    std::fs::rename(&aside, &path).map_err(|e| Error::io(format!("rename {} over {}", aside.display(), path.display()), e))?;
    settle(temp, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::checksum_file;
    use crate::protocol::checksum::Algorithm;

    #[test]
    fn journal_round_trip_torn_line_and_tampering() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("temp");
        std::fs::create_dir(&t).unwrap();
        std::fs::write(t.join("a.sst"), b"hello").unwrap();
        std::fs::write(t.join("b.sst"), b"world").unwrap();
        std::fs::write(t.join("partial.sst"), b"wor").unwrap();
        let h = Journal::new_header("127.0.0.1:1", "abc", None);
        let mut j = Journal::open(&t, Some(&h)).unwrap();
        for (i, n) in [(0, "a.sst"), (1, "b.sst")] {
            let sum = checksum_file(&t.join(n), Algorithm::Xxh3_128).unwrap();
            j.append(&KeptFile { index: i, name: n.into(), len: 5, algorithm: "XXH3-128".into(), sum, from: None, seal: None }).unwrap();
        }
        drop(j);
        // A crash mid-append.
        std::fs::OpenOptions::new().append(true).open(t.join(JOURNAL)).unwrap().write_all(b"{\"index\":2,").unwrap();
        assert!(settle(&t, true).unwrap());
        assert!(!t.join("partial.sst").exists());
        // Altered between attempts: dropped, the other kept.
        std::fs::write(t.join("b.sst"), b"WORLD").unwrap();
        let k = load(&t, true, Duration::from_secs(60)).unwrap().unwrap();
        assert_eq!(k.indices(), vec![0]);
        assert!(!t.join("b.sst").exists());
        // Started long ago, but a file was kept just now: the age counts from the last one.
        let mut old = Journal::new_header("127.0.0.1:1", "abc", None);
        old.created_ms -= 3_600_000;
        let mut j = Journal::open(&t, Some(&old)).unwrap();
        j.append(&k.files[0]).unwrap();
        drop(j);
        assert_eq!(load(&t, true, Duration::from_secs(60)).unwrap().unwrap().indices(), vec![0]);
        // A rewrite (each load makes one) keeps the time of the last file kept.
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options().write(true).open(t.join(JOURNAL)).unwrap().set_modified(hour_ago).unwrap();
        let k = load(&t, true, Duration::from_secs(7200)).unwrap().unwrap();
        rewrite(&t, &k).unwrap();
        let kept_at = std::fs::metadata(t.join(JOURNAL)).unwrap().modified().unwrap();
        assert!(kept_at <= hour_ago + Duration::from_secs(1), "a rewrite refreshed the journal's time");
        assert!(load(&t, true, Duration::from_secs(60)).unwrap().is_none(), "an hour without a file kept: gone");
        std::fs::create_dir(&t).unwrap();
        std::fs::write(t.join("a.sst"), b"hello").unwrap();
        let mut j = Journal::open(&t, Some(&Journal::new_header("127.0.0.1:1", "abc", None))).unwrap();
        j.append(&k.files[0]).unwrap();
        drop(j);
        // Older than the retention: all gone.
        std::thread::sleep(Duration::from_millis(5));
        assert!(load(&t, true, Duration::from_millis(1)).unwrap().is_none());
        assert!(!t.exists());
        // Unreadable header: gone.
        std::fs::create_dir(&t).unwrap();
        std::fs::write(t.join(JOURNAL), b"garbage").unwrap();
        assert!(load(&t, true, Duration::from_secs(60)).unwrap().is_none());
        assert!(!t.exists());
    }

    /// A seal spares the re-hash only while the kernel says the file is unchanged, in this boot.
    #[test]
    fn a_seal_holds_only_for_the_untouched_file_in_this_boot() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("temp");
        std::fs::create_dir(&t).unwrap();
        let mut j = Journal::open(&t, Some(&Journal::new_header("127.0.0.1:1", "abc", None))).unwrap();
        for (i, n) in ["trusted.sst", "touched.sst", "reboot.sst"].into_iter().enumerate() {
            let path = t.join(n);
            std::fs::write(&path, b"hello").unwrap();
            std::thread::sleep(RACY); // a seal holds only once the file's tick is past
            let mut seal = Seal::of(&path).expect("a seal on Linux");
            if n == "reboot.sst" {
                seal.boot = "another boot".into();
            }
            // Every recorded checksum is wrong: a file is kept only if it was not hashed again.
            let f = KeptFile {
                index: i,
                name: n.into(),
                len: 5,
                algorithm: "XXH3-128".into(),
                sum: "0".repeat(32),
                from: None,
                seal: Some(seal),
            };
            j.append(&f).unwrap();
        }
        drop(j);
        // Rewritten in place, its modification time put back: the change time still moved.
        let touched = t.join("touched.sst");
        let mtime = std::fs::metadata(&touched).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(10));
        std::fs::write(&touched, b"HELLO").unwrap();
        std::fs::File::options().write(true).open(&touched).unwrap().set_modified(mtime).unwrap();
        let k = load(&t, true, Duration::from_secs(60)).unwrap().unwrap();
        let kept: Vec<&str> = k.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(kept, ["trusted.sst"]);
        assert!(!touched.exists() && !t.join("reboot.sst").exists());
        // The seal survives the journal's rewrite.
        assert!(read(&t).unwrap().files[0].seal.is_some());
    }

    /// A file hashed again because its seal is from another boot, and good, is sealed anew: the
    /// next check trusts it on a `stat` (before, every later resume hashed it again).
    #[test]
    fn a_file_hashed_again_after_a_reboot_is_sealed_anew() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("temp");
        std::fs::create_dir(&t).unwrap();
        let path = t.join("a.sst");
        std::fs::write(&path, b"hello").unwrap();
        std::thread::sleep(RACY);
        let mut seal = Seal::of(&path).unwrap();
        seal.boot = "another boot".into();
        let sum = crate::digest::checksum_file(&path, Algorithm::Xxh3_128).unwrap();
        let f = KeptFile { index: 0, name: "a.sst".into(), len: 5, algorithm: "XXH3-128".into(), sum, from: None, seal: Some(seal) };
        let mut j = Journal::open(&t, Some(&Journal::new_header("127.0.0.1:1", "abc", None))).unwrap();
        j.append(&f).unwrap();
        drop(j);
        let k = load(&t, true, Duration::from_secs(60)).unwrap().unwrap();
        assert_eq!(k.files.len(), 1, "hashed again and good");
        let sealed = read(&t).unwrap().files[0].seal.clone().expect("sealed anew");
        assert!(sealed.holds(&path), "{sealed:?}");
        // Now trusted on its seal: a wrong recorded checksum is not noticed, as it is not read.
        let mut kept = read(&t).unwrap();
        kept.files[0].sum = "0".repeat(32);
        rewrite(&t, &kept).unwrap();
        assert_eq!(load(&t, true, Duration::from_secs(60)).unwrap().unwrap().files.len(), 1);
    }

    /// Where the kernel keeps coarse (per tick) timestamps — every kernel before 6.13
    /// (RHEL 8/9, Ubuntu 22.04/24.04) on ext4/xfs, and file systems without multigrain times on
    /// any kernel (ramfs here, NFS) — a rewrite in the tick of the last write moves neither
    /// time: same inode, size, mtime and ctime, other bytes. Needs root to mount a ramfs.
    #[test]
    fn a_seal_taken_in_the_tick_of_the_last_write_does_not_hold() {
        let d = tempfile::tempdir().unwrap();
        let Some((_mounted, mnt)) = crate::fsutil::Mounted::ramfs(d.path()) else { return };
        let path = mnt.join("f.sst");
        let mut held = 0;
        for i in 0..20 {
            std::fs::write(&path, b"hello").unwrap();
            if i % 2 == 1 {
                std::thread::sleep(Duration::from_millis(30)); // sealed once the tick is past, too
            }
            let seal = Seal::of(&path).unwrap();
            std::fs::OpenOptions::new().write(true).open(&path).unwrap().write_all(b"HELLO").unwrap();
            held += seal.holds(&path) as u32;
        }
        assert_eq!(held, 0, "the seal held over a rewrite {held} times in 20");
    }
}
