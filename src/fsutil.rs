//! Durable file-system steps the install path needs and std does not offer directly.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::failpoint::failpoint;

/// This boot's id (`/proc/sys/kernel/random/boot_id`): what vbt records beside file identities
/// that only hold until the machine restarts (resume seals, digest ledgers). `None` without it.
pub fn boot_id() -> Option<String> {
    static BOOT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|b| b.trim().to_string()).filter(|b| !b.is_empty())
    })
    .clone()
}

/// fsync a directory, so a rename or a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(format!("fsync directory {}", dir.display()), e))
}

/// Renames `from` to `to` only if `to` does not exist (renameat2 RENAME_NOREPLACE), so an
/// install can never replace a partition. Falls back to link-free check-then-rename where the
/// file system lacks the flag.
pub fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::invalid(format!("path {} has a NUL byte", p.display())));
    let (cf, ct) = (c(from)?, c(to)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc =
        unsafe { libc::syscall(libc::SYS_renameat2, libc::AT_FDCWD, cf.as_ptr(), libc::AT_FDCWD, ct.as_ptr(), libc::RENAME_NOREPLACE) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => {
            Err(Error::new(ErrorKind::PartitionExists, format!("cannot install into {}: it already exists", to.display())))
        }
        Some(libc::EINVAL) | Some(libc::ENOSYS) => {
            if to.exists() {
                return Err(Error::new(ErrorKind::PartitionExists, format!("cannot install into {}: it already exists", to.display())));
            }
            std::fs::rename(from, to).map_err(|e| Error::io(format!("rename {} to {}", from.display(), to.display()), e))
        }
        _ => Err(Error::io(format!("rename {} to {}", from.display(), to.display()), err)),
    }
}

/// Removes a directory tree if it exists.
pub fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(format!("remove {}", dir.display()), e)),
        _ => Ok(()),
    }
}

/// Takes an exclusive `flock` on `path` (created if missing) without waiting. `Ok(None)` when
/// another open file description holds it — another process, or another attempt in this one.
/// The lock lives as long as the returned file and dies with the process, so a crash never
/// leaves it held.
pub fn try_lock_file(path: &Path) -> Result<Option<std::fs::File>> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(format!("open lock file {}", path.display()), e))?;
    // SAFETY: a valid open descriptor for the duration of the call.
    if unsafe { libc::flock(std::os::unix::io::AsRawFd::as_raw_fd(&f), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(Some(f));
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(None),
        _ => Err(Error::io(format!("lock {}", path.display()), err)),
    }
}

/// Opens a directory as a handle, refusing a symlink in its place.
pub fn open_dir(dir: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| Error::io(format!("open directory {}", dir.display()), e))
}

/// Creates a new file `name` inside the directory `dir` refers to. Relative to the handle, not to
/// a path, so nothing that renames or replaces the directory can redirect the write; O_EXCL and
/// O_NOFOLLOW refuse an existing file or a symlink.
pub fn create_file_in(dir: &std::fs::File, name: &str) -> std::io::Result<std::fs::File> {
    use std::os::unix::io::{AsRawFd, FromRawFd};
    let c = CString::new(name).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in file name"))?;
    // SAFETY: a valid directory descriptor and a NUL-terminated name; the returned descriptor is
    // owned by the File from here on.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Opens the existing regular file `name` in `dir` for writing at `offset`, cut to that length
/// first (what follows it is written again).
pub fn continue_file_in(dir: &std::fs::File, name: &str, offset: u64) -> std::io::Result<std::fs::File> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::io::{AsRawFd, FromRawFd};
    let c = CString::new(name).map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in file name"))?;
    // SAFETY: as in create_file_in; O_NOFOLLOW refuses a symlink put in its place.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let mut f = unsafe { std::fs::File::from_raw_fd(fd) };
    let meta = f.metadata()?;
    if !meta.is_file() || meta.len() < offset {
        let why = format!("not a regular file of at least the {offset} bytes kept");
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    }
    f.set_len(offset)?;
    f.seek(SeekFrom::Start(offset))?;
    Ok(f)
}

/// Removes a directory's entries one by one, then the directory. The crash tests stop a process
/// half way through (`cleanup-midway`) to prove a half-removed temp directory is handled.
pub fn remove_dir_stepwise(dir: &Path) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("list {}", dir.display()), e)),
    };
    for (i, entry) in entries.enumerate() {
        let path = entry.map_err(|e| Error::io(format!("list {}", dir.display()), e))?.path();
        let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        match removed {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(format!("remove {}", path.display()), e)),
            _ => {}
        }
        if i == 0 {
            failpoint!("cleanup-midway");
        }
    }
    remove_dir_if_exists(dir)
}

/// (soft, hard) RLIMIT_NOFILE.
pub(crate) fn nofile_limit() -> (u64, u64) {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `r` is a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return (1024, 1024);
    }
    (r.rlim_cur, r.rlim_max)
}

/// Raises the soft open-file limit to the hard one, as servers do; returns the soft limit now.
/// Every node does it when it is made: a sender holds a descriptor per peer, a receiver one per
/// probe, stream and file, and a default soft limit of 1024 is reached by either.
pub(crate) fn raise_nofile_limit() -> u64 {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: valid pointers to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            let raised = libc::rlimit { rlim_cur: r.rlim_max, rlim_max: r.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return r.rlim_max;
            }
        }
    }
    r.rlim_cur
}

/// A file system mounted for a test (needs root), unmounted on drop.
#[cfg(test)]
pub(crate) struct Mounted(std::path::PathBuf);

#[cfg(test)]
impl Mounted {
    /// `mount <args> <at>`; `None` where that is not allowed (the test then skips).
    pub fn new(args: &[&str], at: &Path) -> Option<Mounted> {
        let ok = std::process::Command::new("mount").args(args).arg(at).output().is_ok_and(|o| o.status.success());
        ok.then(|| Mounted(at.to_path_buf()))
    }

    /// A ramfs (coarse, per-tick file times on any kernel) at `<parent>/ramfs`, with its path;
    /// `None`, said on stderr, where mounting is not allowed.
    pub fn ramfs(parent: &Path) -> Option<(Mounted, std::path::PathBuf)> {
        let at = parent.join("ramfs");
        std::fs::create_dir(&at).ok()?;
        let m = Mounted::new(&["-t", "ramfs", "ramfs"], &at);
        if m.is_none() {
            eprintln!("skipped: cannot mount a ramfs");
        }
        Some((m?, at))
    }
}

#[cfg(test)]
impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
