//! MD5 of many files at once. One MD5 stream cannot go faster than one core hashes it (each
//! 64-byte block depends on the one before), but independent messages can share SIMD lanes:
//! 16 files hash on one core with AVX-512 (8 × 2 with AVX2) several times faster than one by one.
//! A snapshot has many files, so the sender hashes them together ahead of the stream.
//!
//! [`Md5Lanes`] is the seam: [`MultiBuffer`] (crate `md5-many`, runtime SIMD dispatch) where the
//! CPU has AVX2, [`SingleLane`] (`md-5`, one message at a time) elsewhere. [`md5_files`] drives
//! either over open files, a piece per file per round, so memory stays at lanes × piece.

use std::fs::File;
use std::io::{self, Read};
use std::ops::ControlFlow;

use md5::Digest as _;

/// Hashes many independent MD5 messages at once.
pub trait Md5Lanes {
    /// One message in progress.
    type State;
    /// How many messages to feed at once for full speed.
    fn lanes(&self) -> usize;
    fn start(&self) -> Self::State;
    /// Appends `inputs[i]` to `states[i]`, for every i; lengths may differ.
    fn update(&self, states: &mut [Self::State], inputs: &[&[u8]]);
    fn finish(&self, state: &Self::State) -> [u8; 16];
}

/// Most lanes in flight: 16 is AVX-512's native width and AVX2's two interleaved chains of 8.
pub const MAX_LANES: usize = 16;

/// Multi-buffer MD5 from `md5-many`; it picks AVX-512 or AVX2 kernels at run time.
pub struct MultiBuffer(md5_many::Md5Many);

impl MultiBuffer {
    /// None where the CPU lacks AVX2: there `md5-many` would run 4-lane SSE or scalar code, and
    /// `md-5`'s assembly is the better-trodden path for one message at a time.
    pub fn detect() -> Option<MultiBuffer> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                return Some(MultiBuffer(md5_many::Md5Many::new()));
            }
        }
        None
    }
}

impl Md5Lanes for MultiBuffer {
    type State = md5_many::Md5State;
    fn lanes(&self) -> usize {
        MAX_LANES
    }
    fn start(&self) -> Self::State {
        md5_many::Md5State::new()
    }
    fn update(&self, states: &mut [Self::State], inputs: &[&[u8]]) {
        self.0.update_many(states, inputs);
    }
    fn finish(&self, state: &Self::State) -> [u8; 16] {
        state.finalize()
    }
}

/// One message at a time with `md-5`: the fallback, and the reference the tests hold
/// [`MultiBuffer`] to.
pub struct SingleLane;

impl Md5Lanes for SingleLane {
    type State = md5::Md5;
    fn lanes(&self) -> usize {
        1
    }
    fn start(&self) -> Self::State {
        md5::Md5::new()
    }
    fn update(&self, states: &mut [Self::State], inputs: &[&[u8]]) {
        assert_eq!(states.len(), inputs.len());
        for (s, i) in states.iter_mut().zip(inputs) {
            s.update(i);
        }
    }
    fn finish(&self, state: &Self::State) -> [u8; 16] {
        state.clone().finalize().into()
    }
}

/// Bytes read per file per round: 16 lanes × 256 KiB = 4 MiB of buffers at most per job. Measured
/// here as fast as 1 and 4 MiB pieces (the buffers stay in cache); each round still hands the SIMD
/// kernels 4,096 blocks per lane.
pub const PIECE: usize = 256 << 10;

/// Hashes files with the best engine this CPU has (see [`md5_files`]).
pub fn md5_files_auto<T>(
    piece: usize,
    next: impl FnMut() -> Option<(T, File)>,
    done: impl FnMut(T, &File, io::Result<[u8; 16]>) -> ControlFlow<()>,
) {
    match MultiBuffer::detect() {
        Some(e) => md5_files(&e, piece, next, done),
        None => md5_files(&SingleLane, piece, next, done),
    }
}

/// Hashes the files `next` hands out, up to `engine.lanes()` at once, taking a new one whenever a
/// lane frees; so files finish roughly in the order `next` gives them. Each round reads up to
/// `piece` bytes of every file in a lane, then hashes all of them in one call. `done` gets each
/// file's digest (or read error) as soon as that file ends; it stops the whole run by returning
/// `Break`. Blocking: run it off the async workers.
pub fn md5_files<E: Md5Lanes + ?Sized, T>(
    engine: &E,
    piece: usize,
    mut next: impl FnMut() -> Option<(T, File)>,
    mut done: impl FnMut(T, &File, io::Result<[u8; 16]>) -> ControlFlow<()>,
) {
    assert!(piece > 0);
    let width = engine.lanes().max(1);
    // Parallel vectors, index = lane: the engine wants the states contiguous.
    let mut states: Vec<E::State> = Vec::with_capacity(width);
    let mut files: Vec<(T, File)> = Vec::with_capacity(width);
    let mut bufs: Vec<Vec<u8>> = Vec::with_capacity(width);
    let mut filled: Vec<usize> = Vec::with_capacity(width);
    let mut ended: Vec<Option<io::Result<()>>> = Vec::with_capacity(width);
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut more = true;
    loop {
        while more && files.len() < width {
            match next() {
                Some(f) => {
                    files.push(f);
                    states.push(engine.start());
                    bufs.push(spare.pop().unwrap_or_else(|| vec![0u8; piece]));
                    filled.push(0);
                    ended.push(None);
                }
                None => more = false,
            }
        }
        if files.is_empty() {
            return;
        }
        for lane in 0..files.len() {
            let (n, end) = read_piece(&mut files[lane].1, &mut bufs[lane]);
            filled[lane] = n;
            ended[lane] = end;
        }
        {
            let inputs: Vec<&[u8]> = bufs.iter().zip(&filled).map(|(b, &n)| &b[..n]).collect();
            engine.update(&mut states, &inputs);
        }
        // Free the lanes whose file ended, from the back so indices stay valid; report in lane
        // order (the order files were taken).
        let mut finished = Vec::new();
        for lane in (0..files.len()).rev() {
            if let Some(end) = ended[lane].take() {
                let result = end.map(|()| engine.finish(&states[lane]));
                states.remove(lane);
                filled.remove(lane);
                ended.remove(lane);
                spare.push(bufs.remove(lane));
                finished.push((files.remove(lane), result));
            }
        }
        for ((tag, file), result) in finished.into_iter().rev() {
            if done(tag, &file, result).is_break() {
                return;
            }
        }
    }
}

/// Fills `buf` from `f` as far as it goes: (bytes read, Some(outcome) once the file ended or
/// failed). A piece read before an error is still hashed, but the file's result is the error.
fn read_piece(f: &mut File, buf: &mut [u8]) -> (usize, Option<io::Result<()>>) {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => return (n, Some(Ok(()))),
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(Err(e))),
        }
    }
    (n, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn reference(data: &[u8]) -> [u8; 16] {
        md5::Md5::digest(data).into()
    }

    /// Bytes that differ per message and per position, so a swapped lane or a shifted block shows.
    fn message(seed: u64, len: usize) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut v = vec![0u8; len];
        rng.fill(&mut v);
        v
    }

    /// Lengths around every MD5 padding edge, block multiples, and random ones up to a few MiB.
    fn lengths(rng: &mut fastrand::Rng) -> Vec<usize> {
        let mut v = vec![0, 1, 2, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65536, 65537];
        v.extend([64 * 1023, 64 * 1024 + 63, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 17]);
        v.extend((0..6).map(|_| rng.usize(0..4 << 20)));
        v
    }

    /// Hashes messages fed in rounds of the given chunk sizes (see [`in_memory`]).
    type Run = Box<dyn Fn(&[Vec<u8>], &[usize]) -> Vec<[u8; 16]>>;

    fn engines() -> Vec<(&'static str, Run)> {
        let mut v: Vec<(&'static str, Run)> = vec![("single-lane", Box::new(|m: &[Vec<u8>], c: &[usize]| in_memory(&SingleLane, m, c)))];
        match MultiBuffer::detect() {
            Some(e) => v.push(("multi-buffer", Box::new(move |m: &[Vec<u8>], c: &[usize]| in_memory(&e, m, c)))),
            // A CI machine without AVX2 still checks the fallback; say so rather than pass silently.
            None => eprintln!("no AVX2 here: multi-buffer MD5 not tested"),
        }
        v
    }

    /// Feeds all messages through one engine at once, in rounds of `chunks[round % len]` bytes
    /// per message (each message its own offset into the cycle, so lanes get unequal pieces).
    fn in_memory<E: Md5Lanes>(e: &E, messages: &[Vec<u8>], chunks: &[usize]) -> Vec<[u8; 16]> {
        let mut states: Vec<E::State> = messages.iter().map(|_| e.start()).collect();
        let mut at = vec![0usize; messages.len()];
        let mut round = 0;
        while at.iter().zip(messages).any(|(&a, m)| a < m.len()) {
            let inputs: Vec<&[u8]> = messages
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let take = chunks[(round + i) % chunks.len()].min(m.len() - at[i]);
                    &m[at[i]..at[i] + take]
                })
                .collect();
            let lens: Vec<usize> = inputs.iter().map(|s| s.len()).collect();
            e.update(&mut states, &inputs);
            for (a, l) in at.iter_mut().zip(lens) {
                *a += l;
            }
            round += 1;
        }
        states.iter().map(|s| e.finish(s)).collect()
    }

    fn check(name: &str, got: &[[u8; 16]], messages: &[Vec<u8>], what: &str) {
        assert_eq!(got.len(), messages.len());
        for (i, (g, m)) in got.iter().zip(messages).enumerate() {
            assert_eq!(*g, reference(m), "{name}: {what}: message {i} of {} ({} bytes)", messages.len(), m.len());
        }
    }

    #[test]
    fn every_length_alone_matches_md5() {
        let mut rng = fastrand::Rng::with_seed(7);
        for (name, run) in engines() {
            for len in lengths(&mut rng) {
                let m = vec![message(len as u64, len)];
                check(name, &run(&m, &[usize::MAX]), &m, "whole");
                check(name, &run(&m, &[1, 63, 64, 65, 4097]), &m, "uneven pieces");
            }
        }
    }

    #[test]
    fn lane_mixes_match_md5() {
        let mut rng = fastrand::Rng::with_seed(11);
        let all = lengths(&mut rng);
        for (name, run) in engines() {
            for count in [1usize, 2, 7, 16, 17, 33] {
                // Mixed lengths: each mix draws from the edges and the random sizes.
                let messages: Vec<Vec<u8>> =
                    (0..count).map(|i| message(1000 * count as u64 + i as u64, all[rng.usize(0..all.len())])).collect();
                check(name, &run(&messages, &[usize::MAX]), &messages, &format!("{count} whole"));
                check(name, &run(&messages, &[PIECE, 100_000, 64, 1]), &messages, &format!("{count} in pieces"));
                // Equal lengths take the crate's lock-step kernels: a different code path.
                let len = all[rng.usize(0..all.len())];
                let same: Vec<Vec<u8>> = (0..count).map(|i| message(77 + i as u64, len)).collect();
                check(name, &run(&same, &[PIECE]), &same, &format!("{count} × {len} bytes"));
            }
        }
    }

    fn write_files(dir: &std::path::Path, lens: &[usize]) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        lens.iter()
            .enumerate()
            .map(|(i, &len)| {
                let data = message(i as u64 * 31 + len as u64, len);
                let path = dir.join(format!("f{i:03}"));
                std::fs::File::create(&path).unwrap().write_all(&data).unwrap();
                (path, data)
            })
            .collect()
    }

    /// The file driver: every file reported once, with its own digest, through either engine.
    #[test]
    fn files_in_lanes_match_md5() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        let mut lens = lengths(&mut rng);
        lens.truncate(MAX_LANES + 9); // more files than lanes, so lanes get refilled
        let files = write_files(dir.path(), &lens);
        let multi = MultiBuffer::detect();
        // Odd piece sizes too: a piece that is no multiple of 64 leaves partial blocks buffered.
        for piece in [PIECE, 1000, 64] {
            let mut runs: Vec<(&str, Vec<Option<[u8; 16]>>)> = vec![("single-lane", by_files(&SingleLane, piece, &files))];
            if let Some(e) = &multi {
                runs.push(("multi-buffer", by_files(e, piece, &files)));
            }
            for (name, got) in runs {
                for (i, (g, (_, data))) in got.iter().zip(&files).enumerate() {
                    assert_eq!(*g, Some(reference(data)), "{name}: piece {piece}: file {i} ({} bytes)", data.len());
                }
            }
        }
    }

    fn by_files<E: Md5Lanes>(e: &E, piece: usize, files: &[(std::path::PathBuf, Vec<u8>)]) -> Vec<Option<[u8; 16]>> {
        let mut got = vec![None; files.len()];
        let mut order = 0..files.len();
        md5_files(
            e,
            piece,
            || order.next().map(|i| (i, File::open(&files[i].0).unwrap())),
            |i, _, r| {
                assert!(got[i].is_none(), "file {i} reported twice");
                got[i] = Some(r.unwrap());
                ControlFlow::Continue(())
            },
        );
        got
    }

    /// A file that fails to read is reported as an error and the others still finish.
    #[test]
    fn a_read_error_is_that_files_alone() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_files(dir.path(), &[5000, 70_000, 1]);
        read_error_with(&SingleLane, dir.path(), &files);
        if let Some(e) = MultiBuffer::detect() {
            read_error_with(&e, dir.path(), &files);
        }
    }

    fn read_error_with<E: Md5Lanes>(e: &E, dir: &std::path::Path, files: &[(std::path::PathBuf, Vec<u8>)]) {
        let mut results = Vec::new();
        let mut order = 0..files.len() + 1;
        md5_files(
            e,
            4096,
            || {
                order.next().map(|i| match files.get(i) {
                    Some((path, _)) => (i, File::open(path).unwrap()),
                    // A directory opens but cannot be read: EISDIR on the first read.
                    None => (i, File::open(dir).unwrap()),
                })
            },
            |i, _, r| {
                results.push((i, r.map_err(|e| e.kind())));
                ControlFlow::Continue(())
            },
        );
        results.sort_by_key(|r| r.0);
        assert_eq!(results.len(), files.len() + 1);
        for (i, (_, data)) in files.iter().enumerate() {
            assert_eq!(results[i].1.as_ref().ok(), Some(&reference(data)));
        }
        assert!(results[files.len()].1.is_err());
    }

    /// The rate of each engine on this machine, for the README (run by hand:
    /// `cargo test --features failpoints --lib lanes_rate -- --ignored --nocapture`): in memory,
    /// then through the file driver over 16 files in page cache at two piece sizes.
    #[test]
    #[ignore]
    fn lanes_rate() {
        let (count, len) = (16usize, 32usize << 20);
        let messages: Vec<Vec<u8>> = (0..count).map(|i| message(i as u64, len)).collect();
        let total = (count * len) as f64;
        let t = std::time::Instant::now();
        let single = in_memory(&SingleLane, &messages, &[PIECE]);
        eprintln!("in memory, single-lane md-5: {:.2} GB/s", total / t.elapsed().as_secs_f64() / 1e9);
        let Some(e) = MultiBuffer::detect() else { return };
        let t = std::time::Instant::now();
        let multi = in_memory(&e, &messages, &[PIECE]);
        eprintln!("in memory, multi-buffer md5-many, {count} lanes: {:.2} GB/s", total / t.elapsed().as_secs_f64() / 1e9);
        assert_eq!(single, multi);
        // How fast one message goes when it shares the engine with n - 1 others.
        for n in [1usize, 2, 4, 8, 16] {
            let t = std::time::Instant::now();
            in_memory(&e, &messages[..n], &[PIECE]);
            let rate = (n * len) as f64 / t.elapsed().as_secs_f64() / 1e9;
            eprintln!("in memory, multi-buffer, {n:2} messages: {rate:.2} GB/s, {:.2} GB/s each", rate / n as f64);
        }
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<_> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let p = dir.path().join(format!("{i:02}.sst"));
                std::fs::write(&p, m).unwrap();
                p
            })
            .collect();
        drop(messages);
        for piece in [256 << 10, 1 << 20, 4 << 20] {
            for _ in 0..2 {
                let mut order = paths.iter();
                let mut n = 0;
                let t = std::time::Instant::now();
                md5_files(
                    &e,
                    piece,
                    || order.next().map(|p| ((), File::open(p).unwrap())),
                    |_, _, r| {
                        r.unwrap();
                        n += 1;
                        ControlFlow::Continue(())
                    },
                );
                assert_eq!(n, count);
                eprintln!("files, multi-buffer, piece {} KiB: {:.2} GB/s", piece >> 10, total / t.elapsed().as_secs_f64() / 1e9);
            }
        }
    }
}
