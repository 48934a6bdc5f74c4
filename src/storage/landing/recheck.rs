//! Checking the files an interrupted bootstrap kept (resume), all of them at once: the request
//! waits for this, and a resume after a late cut re-reads most of the partition. XXH3 files are
//! hashed on up to [`MAX_THREADS`] threads, MD5 files in SIMD lanes on one more (digest::lanes;
//! one MD5 stream cannot use more than one core). Each file is made durable once it passed: it
//! may come from a process that died before its writer synced it.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::resume::{KeptFile, Seal};
use crate::digest::{checksum_file, hex, lanes};
use crate::protocol::checksum::Algorithm;

/// Threads hashing XXH3 files at most (page-cache reads and hashing scale with cores; more would
/// only contend with the receive that follows).
const MAX_THREADS: usize = 4;

/// Why each of `files` (kept in `temp`) cannot be trusted, in order; `Ok` for a good one, with
/// a new seal for a file hashed again whose seal did not hold (one from before a reboot: sealed
/// anew, the next check costs a `stat` again). With `rehash` false only presence and size are
/// checked (files this process verified moments ago).
pub(super) fn check_all(temp: &Path, files: &[KeptFile], rehash: bool) -> Vec<Result<Option<Seal>, String>> {
    let results: Vec<Mutex<Option<Result<(), String>>>> = files.iter().map(|_| Mutex::new(None)).collect();
    let set = |i: usize, r: Result<(), String>| *results[i].lock().unwrap() = Some(r);
    // A file whose seal holds is the file verified (resume::Seal): its size and fsync suffice.
    let rehash_of: Vec<bool> = files.iter().map(|f| rehash && !f.seal.as_ref().is_some_and(|s| s.holds(&temp.join(&f.name)))).collect();
    // Taken before the bytes are read: it seals what was hashed only if it still holds after.
    let before: Vec<Option<Seal>> =
        files.iter().zip(&rehash_of).map(|(f, &again)| again.then(|| Seal::of(&temp.join(&f.name))).flatten()).collect();
    let in_lanes = |i: usize| rehash_of[i] && files[i].algorithm == Algorithm::Md5.name();
    let md5: Vec<usize> = (0..files.len()).filter(|&i| in_lanes(i)).collect();
    let rest: Vec<usize> = (0..files.len()).filter(|&i| !in_lanes(i)).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS).min(rest.len());
    let taken = AtomicUsize::new(0);
    std::thread::scope(|s| {
        if !md5.is_empty() {
            s.spawn(|| md5_in_lanes(temp, files, &md5, &set));
        }
        for _ in 0..threads {
            s.spawn(|| {
                while let Some(&i) = rest.get(taken.fetch_add(1, Ordering::Relaxed)) {
                    set(i, check_one(&temp.join(&files[i].name), &files[i], rehash_of[i]));
                }
            });
        }
    });
    let results = results.into_iter().map(|r| r.into_inner().unwrap().unwrap_or_else(|| Err("not checked".into())));
    results.zip(before).zip(files).map(|((r, seal), f)| r.map(|()| seal.filter(|s| s.holds(&temp.join(&f.name))))).collect()
}

fn check_size(path: &Path, f: &KeptFile) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{e}"))?;
    if !meta.is_file() || meta.len() != f.len {
        return Err(format!("size {} is not the {} recorded", meta.len(), f.len));
    }
    Ok(())
}

fn check_sum(f: &KeptFile, sum: &str) -> Result<(), String> {
    if sum != f.sum {
        return Err(format!("{} {sum} is not the {} recorded", f.algorithm, f.sum));
    }
    Ok(())
}

fn sync(file: &std::fs::File) -> Result<(), String> {
    file.sync_data().map_err(|e| format!("fsync: {e}"))
}

/// One file on this thread: size, then (with `rehash`) its checksum, then fsync.
fn check_one(path: &Path, f: &KeptFile, rehash: bool) -> Result<(), String> {
    check_size(path, f)?;
    if rehash {
        let algorithm = [Algorithm::Md5, Algorithm::Xxh3_128]
            .into_iter()
            .find(|a| a.name() == f.algorithm)
            .ok_or_else(|| format!("unknown checksum {:?}", f.algorithm))?;
        check_sum(f, &checksum_file(path, algorithm).map_err(|e| e.to_string())?)?;
    }
    std::fs::File::open(path).map_err(|e| format!("{e}")).and_then(|h| sync(&h))?;
    remember(path, f);
    Ok(())
}

/// A kept file that passed is as good as one received: known by identity (digest::cache).
fn remember(path: &Path, f: &KeptFile) {
    if let Some(algorithm) = Algorithm::from_name(&f.algorithm) {
        crate::digest::cache::remember(path, algorithm, &f.sum);
    }
}

/// The MD5 files `which`, several at once in SIMD lanes on this thread.
fn md5_in_lanes(temp: &Path, files: &[KeptFile], which: &[usize], set: &(dyn Fn(usize, Result<(), String>) + Sync)) {
    let mut todo = which.iter();
    let next = || {
        for &i in todo.by_ref() {
            let path = temp.join(&files[i].name);
            match check_size(&path, &files[i]).and_then(|()| std::fs::File::open(&path).map_err(|e| format!("{e}"))) {
                Ok(file) => return Some((i, file)),
                Err(why) => set(i, Err(why)),
            }
        }
        None
    };
    lanes::md5_files_auto(lanes::PIECE, next, |i, file, digest| {
        let r = digest.map_err(|e| format!("read: {e}")).and_then(|d| check_sum(&files[i], &hex(&d))).and_then(|()| sync(file));
        if r.is_ok() {
            remember(&temp.join(&files[i].name), &files[i]);
        }
        set(i, r);
        ControlFlow::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::checksum_file;

    #[test]
    fn every_kept_file_is_checked_in_order_md5_in_lanes_and_xxh3_on_threads() {
        let d = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for i in 0..40usize {
            let name = format!("{i:03}.sst");
            let data: Vec<u8> = (0..1000 + i * 4099).map(|k| (k * 31 + i) as u8).collect();
            std::fs::write(d.path().join(&name), &data).unwrap();
            let algorithm = if i % 2 == 0 { Algorithm::Md5 } else { Algorithm::Xxh3_128 };
            let sum = checksum_file(&d.path().join(&name), algorithm).unwrap();
            files.push(KeptFile {
                index: i,
                name,
                len: data.len() as u64,
                algorithm: algorithm.name().into(),
                sum,
                from: None,
                seal: None,
            });
        }
        // Changed (same size), cut short, missing, of an unknown checksum: for both algorithms.
        for i in [4, 5] {
            let p = d.path().join(&files[i].name);
            let mut data = std::fs::read(&p).unwrap();
            data[7] ^= 1;
            std::fs::write(&p, data).unwrap();
        }
        for i in [8, 9] {
            std::fs::OpenOptions::new().write(true).open(d.path().join(&files[i].name)).unwrap().set_len(10).unwrap();
        }
        for i in [12, 13] {
            std::fs::remove_file(d.path().join(&files[i].name)).unwrap();
        }
        files[15].algorithm = "CRC".into();
        let bad = [4, 5, 8, 9, 12, 13, 15];
        let got = check_all(d.path(), &files, true);
        assert_eq!(got.len(), files.len());
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.is_err(), bad.contains(&i), "file {i}: {r:?}");
        }
        // Sizes only: the changed bytes and the unknown checksum pass.
        let got = check_all(d.path(), &files, false);
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.is_err(), [8, 9, 12, 13].contains(&i), "file {i}: {r:?}");
        }
    }
}
