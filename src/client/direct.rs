//! Received files written around the page cache (O_DIRECT), from one aligned staging buffer per
//! writer thread.
//!
//! Why: the page cache costs a receiver most of its CPU and gains it nothing (the bytes are
//! hashed from memory and fdatasync'ed anyway). A profile of a TLS receiver put 38 % of its CPU
//! in the copy into the page cache; on this project's VMs, where fresh guest pages are costly to
//! touch, a buffered 1 GiB write took 4 CPU seconds against 0.2 direct. And a bootstrap of
//! hundreds of GB through the page cache evicts the pages the host's other partitions are
//! served from. `vbt.receive.direct.io=false` writes through the page cache as before.
//!
//! How: bytes are copied into the stage, written when it is full (so every write is aligned in
//! memory, in the file and in length), and a file's tail shorter than a block is written after
//! O_DIRECT is switched off. Where the file system refuses O_DIRECT (`fcntl` or a write says
//! `EINVAL`), or a write comes back short (a nearly full disk), the file goes on through the page
//! cache, so the error, if any, is the plain one. O_DIRECT makes neither the file's size nor the
//! device's cache durable: the writer still fdatasyncs every file.

use std::io::Write;
use std::os::unix::io::AsRawFd;

/// Memory, file offset and length alignment of every direct write: the largest logical block
/// size in common use.
const ALIGN: usize = 4096;
/// Stage size: one write per MiB, as the buffered path writes.
const STAGE: usize = 1 << 20;

/// A zero-length-free, `ALIGN`-aligned byte buffer of fixed capacity.
pub(super) struct Stage {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the buffer is plain owned memory, used by one thread at a time.
unsafe impl Send for Stage {}

impl Stage {
    fn layout() -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(STAGE, ALIGN).expect("a valid layout")
    }

    pub fn new() -> Stage {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc(Self::layout()) };
        let ptr = std::ptr::NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(Self::layout()));
        Stage { ptr, len: 0 }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes were written by `push`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// Copies as much of `bytes` as fits; returns how much.
    fn push(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(STAGE - self.len);
        // SAFETY: `len + n <= STAGE`, and `bytes` cannot overlap memory this buffer owns.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr().add(self.len), n) };
        self.len += n;
        n
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), Self::layout()) };
    }
}

/// Switches O_DIRECT on or off for an open file.
fn set_direct(file: &std::fs::File, on: bool) -> std::io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL and F_SETFL on a descriptor the File owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let flags = if on { flags | libc::O_DIRECT } else { flags & !libc::O_DIRECT };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A file being received: written straight to the disk through the stage when it can be.
pub(super) struct Out {
    file: std::fs::File,
    direct: bool,
    /// Where the file must end: its start offset plus every byte handed to `write`.
    end: u64,
}

impl Out {
    /// `direct`: try O_DIRECT. Only a file written from an aligned offset can use it.
    pub fn new(file: std::fs::File, direct: bool, offset: u64) -> Out {
        let direct = direct && offset.is_multiple_of(ALIGN as u64) && set_direct(&file, true).is_ok();
        Out { file, direct, end: offset }
    }

    pub fn write(&mut self, stage: &mut Stage, mut bytes: &[u8]) -> std::io::Result<()> {
        self.end += bytes.len() as u64;
        while !bytes.is_empty() {
            // Also after a fallback in `flush` below: it emptied the stage, the rest goes after it.
            if !self.direct {
                return self.file.write_all(bytes);
            }
            let n = stage.push(bytes);
            bytes = &bytes[n..];
            if stage.len == STAGE {
                self.flush(stage)?;
            }
        }
        Ok(())
    }

    /// Writes the stage's whole blocks directly; keeps the rest (less than a block) in it.
    fn flush(&mut self, stage: &mut Stage) -> std::io::Result<()> {
        let whole = stage.len / ALIGN * ALIGN;
        let mut done = 0;
        while done < whole {
            match self.file.write(&stage.bytes()[done..whole]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                // A short write leaves an unaligned rest: the page cache takes it from here.
                Ok(n) if !(done + n).is_multiple_of(ALIGN) => return self.buffered(stage, done + n),
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => return self.buffered(stage, done),
                Err(e) => return Err(e),
            }
        }
        let rest = stage.len - whole;
        if rest > 0 {
            // SAFETY: both ranges lie in the buffer; `copy` allows them to overlap.
            unsafe { std::ptr::copy(stage.ptr.as_ptr().add(whole), stage.ptr.as_ptr(), rest) };
        }
        stage.len = rest;
        Ok(())
    }

    /// Goes on through the page cache, starting with the staged bytes from `from`.
    fn buffered(&mut self, stage: &mut Stage, from: usize) -> std::io::Result<()> {
        self.direct = false;
        set_direct(&self.file, false)?;
        let r = self.file.write_all(&stage.bytes()[from..]);
        stage.len = 0;
        r
    }

    /// Writes what is staged (the tail through the page cache) and hands the file back.
    pub fn finish(mut self, stage: &mut Stage) -> std::io::Result<std::fs::File> {
        if self.direct {
            self.flush(stage)?;
        }
        if self.direct && stage.len > 0 {
            self.buffered(stage, 0)?;
        }
        stage.len = 0;
        // The bytes were hashed from memory: the file must hold exactly as many (a seal, and the
        // install, trust its size).
        let len = self.file.metadata()?.len();
        if len != self.end {
            return Err(std::io::Error::other(format!("the file holds {len} bytes where {} were written", self.end)));
        }
        Ok(self.file)
    }

    /// Drops what is staged: the file keeps the bytes written so far (a prefix, for resume).
    pub fn abandon(self, stage: &mut Stage) {
        stage.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 4093) as u8).collect()
    }

    fn supports_direct(dir: &std::path::Path) -> bool {
        let f = std::fs::File::create(dir.join("probe")).unwrap();
        set_direct(&f, true).is_ok()
    }

    /// Every split of the input, direct or not, and from an aligned or unaligned start, leaves
    /// exactly the bytes written, in order.
    #[test]
    fn writes_exactly_the_bytes_in_any_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::new();
        let data = pattern(3 * STAGE + 12345);
        for (i, (direct, offset, piece)) in
            [(true, 0, STAGE), (true, 0, 1000), (true, 0, 3 * STAGE + 12345), (true, 4096, 65536 + 17), (true, 100, 4096), (false, 0, 5000)]
                .into_iter()
                .enumerate()
        {
            let path = dir.path().join(format!("f{i}"));
            let head = pattern(offset as usize);
            std::fs::write(&path, &head).unwrap();
            let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
            let mut out = Out::new(file, direct, offset);
            // Where this file system takes O_DIRECT, an aligned start must use it.
            assert_eq!(out.direct, direct && offset.is_multiple_of(4096) && supports_direct(dir.path()), "case {i}");
            for chunk in data.chunks(piece) {
                out.write(&mut stage, chunk).unwrap();
            }
            drop(out.finish(&mut stage).unwrap());
            let got = std::fs::read(&path).unwrap();
            assert_eq!(got.len(), head.len() + data.len(), "case {i}");
            assert!(got[..head.len()] == head[..] && got[head.len()..] == data[..], "case {i}");
        }
    }

    /// A file that falls back to the page cache half way (as after EINVAL or a short write)
    /// still gets every byte, in order.
    #[test]
    fn falling_back_half_way_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::new();
        let path = dir.path().join("f");
        let data = pattern(2 * STAGE + 777);
        let mut out = Out::new(std::fs::File::create(&path).unwrap(), true, 0);
        out.write(&mut stage, &data[..STAGE + 100]).unwrap();
        out.buffered(&mut stage, 0).unwrap();
        out.write(&mut stage, &data[STAGE + 100..]).unwrap();
        drop(out.finish(&mut stage).unwrap());
        assert!(std::fs::read(&path).unwrap() == data);
    }

    /// A fallback taken inside `write` (the stage filled part way through a piece and
    /// its direct write said EINVAL, or came back short) leaves the rest of that piece in the
    /// stage while `direct` is now false: the next piece goes straight to the file ahead of it,
    /// and `finish` (which flushes only while `direct`) drops it.
    #[test]
    fn a_fallback_inside_a_piece_keeps_the_rest_of_it_in_order() {
        let dir = tempfile::tempdir().unwrap();
        if !supports_direct(dir.path()) {
            eprintln!("skipped: no O_DIRECT here");
            return;
        }
        let mut stage = Stage::new();
        let path = dir.path().join("f");
        // A file whose end is not block-aligned, handed over as if it were: every direct write
        // there says EINVAL, the fallback this module promises to handle mid-file.
        let head = pattern(100);
        std::fs::write(&path, &head).unwrap();
        let file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        let mut out = Out::new(file, true, 0);
        assert!(out.direct);
        out.end = head.len() as u64; // the truth, for the size check in `finish`
        let data = pattern(3 * STAGE + 12345);
        for chunk in data.chunks(700_000) {
            out.write(&mut stage, chunk).unwrap();
        }
        drop(out.finish(&mut stage).unwrap());
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), head.len() + data.len(), "bytes lost");
        assert!(got[head.len()..] == data[..], "bytes out of order");
    }

    /// A full disk (a small ext4 on a loop device) on the direct path gives the
    /// plain ENOSPC and leaves a prefix. Needs root (skipped otherwise).
    #[test]
    fn a_full_disk_on_the_direct_path_says_enospc_and_leaves_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("img");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let run = |cmd: &str, args: &[&str]| std::process::Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success());
        std::fs::File::create(&img).unwrap().set_len(8 << 20).unwrap();
        let mounted = run("mkfs.ext4", &["-q", "-b", "4096", img.to_str().unwrap()])
            .then(|| crate::fsutil::Mounted::new(&["-o", "loop", img.to_str().unwrap()], &mnt))
            .flatten();
        let Some(_mounted) = mounted else {
            eprintln!("skipped: cannot mount a loop ext4");
            return;
        };
        let mut stage = Stage::new();
        let path = mnt.join("f");
        let data = pattern(16 << 20);
        let mut out = Out::new(std::fs::File::create(&path).unwrap(), true, 0);
        assert!(out.direct);
        let mut err = None;
        for chunk in data.chunks(STAGE) {
            if let Err(e) = out.write(&mut stage, chunk) {
                err = Some(e);
                break;
            }
        }
        let err = err.or_else(|| out.finish(&mut stage).err()).expect("the disk fills");
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        let got = std::fs::read(&path).unwrap();
        assert!(data.starts_with(&got), "not a prefix ({} bytes)", got.len());
    }

    /// A file that does not end where the bytes handed over say is refused at `finish`.
    #[test]
    fn a_file_of_another_size_than_written_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::new();
        let path = dir.path().join("f");
        let mut out = Out::new(std::fs::File::create(&path).unwrap(), true, 0);
        out.write(&mut stage, &pattern(5000)).unwrap();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(10_000).unwrap();
        let e = out.finish(&mut stage).unwrap_err();
        assert!(e.to_string().contains("holds 10000 bytes where 5000 were written"), "{e}");
    }

    /// An abandoned file keeps a prefix of what was written (what resume may go on from).
    #[test]
    fn an_abandoned_file_keeps_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = Stage::new();
        let path = dir.path().join("f");
        let data = pattern(STAGE + 5000);
        let mut out = Out::new(std::fs::File::create(&path).unwrap(), true, 0);
        out.write(&mut stage, &data).unwrap();
        out.abandon(&mut stage);
        let got = std::fs::read(&path).unwrap();
        assert!(data.starts_with(&got));
        assert_eq!(stage.len, 0);
    }
}
