//! An advisory lock on an output folder. Two runs writing into one folder
//! would remove each other's temp files and mix their outputs; with the
//! lock the second fails at once with a clear message. It is `flock(2)` on
//! the folder itself (no lock file is left behind), released when the
//! process ends, even when killed. fs4 provides it because the crate's MSRV
//! (1.85) predates std's `File::try_lock` (1.89).

use std::path::{Path, PathBuf};

/// Held while a run writes into a folder; dropping it releases the lock.
#[derive(Debug)]
pub struct FolderLock {
    _file: std::fs::File,
}

/// Why a folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error("{0}: in use by another knowmix run (its output folder is locked); wait for it to end or choose another --output")]
    Busy(PathBuf),
    /// Opening or locking failed.
    #[error("{path}: cannot lock the output folder: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

impl FolderLock {
    /// Take the lock on `dir` (an existing folder) or fail at once.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let io = |source| LockError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(dir).map_err(io)?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => Ok(FolderLock { _file: file }),
            Err(fs4::TryLockError::WouldBlock) => Err(LockError::Busy(dir.to_path_buf())),
            Err(fs4::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = FolderLock::acquire(dir.path()).unwrap();
        let busy = FolderLock::acquire(dir.path()).unwrap_err();
        assert!(busy.to_string().contains("in use by another knowmix run"));
        drop(first);
        FolderLock::acquire(dir.path()).unwrap();
    }
}
