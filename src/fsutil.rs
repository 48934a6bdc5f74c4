//! Durable file-system steps the install path needs and std does not offer directly.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// fsync a directory, so a rename or a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("fsync directory {}", dir.display()), e))
}

/// Renames `from` to `to` only if `to` does not exist (renameat2 RENAME_NOREPLACE), so an
/// install can never replace a partition. Falls back to link-free check-then-rename where the
/// file system lacks the flag.
pub fn rename_no_replace(from: &Path, to: &Path) -> Result<()> {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::invalid(format!("path {} has a NUL byte", p.display())));
    let (cf, ct) = (c(from)?, c(to)?);
    // SAFETY: both pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe {
        libc::syscall(libc::SYS_renameat2, libc::AT_FDCWD, cf.as_ptr(), libc::AT_FDCWD, ct.as_ptr(), libc::RENAME_NOREPLACE)
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EEXIST) => Err(Error::new(
            ErrorKind::PartitionExists,
            format!("cannot install into {}: it already exists", to.display()),
        )),
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
