//! A sweep folder in use: the sweep that writes it holds an exclusive lock on `DIR/.lock`, so a
//! second sweep started on the same folder (the same command typed twice, two CI jobs) stops at
//! once with a clear message instead of racing the first one. The lock is the operating
//! system's (flock on Linux), so it is released when the process ends, however it ends; the empty
//! file stays. Cluster array tasks write disjoint run folders and do not take it.

use super::SweepError;
use crate::scenario::InputError;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

/// The lock file's name in a sweep folder.
pub const LOCK_FILE: &str = ".lock";

/// Held while a sweep writes its folder; released on drop.
#[derive(Debug)]
pub struct SweepLock {
    _file: File,
}

impl SweepLock {
    /// Creates `out` if needed and takes its lock, or says who holds it.
    pub fn acquire(out: &Path) -> Result<SweepLock, SweepError> {
        let io = |e: std::io::Error| SweepError::Io(format!("{}: {e}", out.display()));
        fs::create_dir_all(out).map_err(io)?;
        let path = out.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (process {holder})")
                };
                return Err(SweepError::Input(InputError::new(
                    out.display().to_string(),
                    format!(
                        "this sweep folder is in use by another reconf sweep{who}; wait for it to \
end (then run the same command again to resume), or choose another --out"
                    ),
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        let _ = writeln!(file, "{}", std::process::id());
        Ok(SweepLock { _file: file })
    }
}

/// Whether a sweep holds the lock of `out` now.
pub fn is_in_use(out: &Path) -> bool {
    let Ok(file) = File::open(out.join(LOCK_FILE)) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sw");
        let first = SweepLock::acquire(&out).unwrap();
        assert!(is_in_use(&out));
        match SweepLock::acquire(&out) {
            Err(SweepError::Input(e)) => {
                let m = e.to_string();
                assert!(m.contains("in use by another reconf sweep"), "{m}");
                assert!(m.contains(&std::process::id().to_string()), "{m}");
            }
            other => panic!("{other:?}"),
        }
        drop(first);
        assert!(!is_in_use(&out));
        let _again = SweepLock::acquire(&out).unwrap();
    }
}
