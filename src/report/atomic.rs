//! Atomic writes. A file ([`AtomicFile`], [`write_atomic`]): a temporary in the same folder,
//! flushed and synced, then renamed over the final name. A folder ([`AtomicDir`]): its files are
//! written into a temporary sibling folder, which then takes the final name in one step. A run
//! interrupted at any point (kill -9, a full disk) leaves under a final name either what was
//! there before or the whole new content, never a mix of two runs nor a half-written file.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file written in a temporary next to its final name, synced and renamed over it by
/// [`AtomicFile::commit`]; dropped uncommitted, the temporary is removed. It streams, so
/// a file of any size (a sweep's `runs.csv`) is written in constant memory, and a kill at any
/// point leaves either the old file or the new one, never a torn row.
pub struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> io::Result<Self> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        let out = BufWriter::new(File::create(&tmp)?);
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
            out: Some(out),
        })
    }

    /// Flushes, syncs and renames the temporary over the final name. On failure (a full disk
    /// fails the flush or the sync) the temporary is removed: the final name keeps its old
    /// content, and nothing else is left behind.
    pub fn commit(mut self) -> io::Result<()> {
        // Taken out first, so that `Drop` (which would remove the temporary only while it holds
        // the writer) does nothing: every path below removes it itself when it fails.
        let out = self.out.take().expect("committed once");
        let result = out
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .and_then(|()| fs::rename(&self.tmp, &self.path));
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// A folder written whole: files go into a temporary sibling `.NAME.PID-N.tmp/`, and
/// [`AtomicDir::commit`] puts it in place of `NAME`. Dropped uncommitted (an error on the way),
/// the temporary is removed and `NAME` is untouched.
///
/// Replacing an existing folder is an atomic exchange on Linux (`renameat2` with
/// `RENAME_EXCHANGE`), after which the old content, now under the temporary name, is removed;
/// elsewhere (or on a file system without exchange) the old folder is renamed aside, the new one
/// renamed in, and the old one removed, so a kill between the two renames leaves nothing under
/// `NAME` rather than a mix. Temporaries that a killed process left next to `NAME` are removed
/// the next time `NAME` is written.
pub struct AtomicDir {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

/// Distinguishes the temporaries of one process (a live run rewrites its folder every period).
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl AtomicDir {
    /// Starts writing the folder `path`: creates its parent if needed and an empty temporary
    /// sibling, after removing the temporaries of `path` left by processes that are gone.
    pub fn create(path: &Path) -> io::Result<Self> {
        let (parent, name) = split(path)?;
        fs::create_dir_all(&parent)?;
        remove_stale_siblings(&parent, &name);
        let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let tmp = parent.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        Ok(AtomicDir {
            tmp,
            path: path.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary folder to write into.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// The folder's final name.
    pub fn final_path(&self) -> &Path {
        &self.path
    }

    /// Creates the file `name` in the temporary folder, buffered (sync it with
    /// [`AtomicDir::finish_file`]).
    pub fn create_file(&self, name: &str) -> io::Result<BufWriter<File>> {
        Ok(BufWriter::new(File::create(self.tmp.join(name))?))
    }

    /// Flushes and syncs a file made by [`AtomicDir::create_file`].
    pub fn finish_file(out: BufWriter<File>) -> io::Result<()> {
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }

    /// Writes the file `name` with `bytes`, synced.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut out = self.create_file(name)?;
        out.write_all(bytes)?;
        Self::finish_file(out)
    }

    /// Puts the temporary folder in place of the final one (replacing it, whatever it holds:
    /// callers check first that it may be replaced).
    pub fn commit(mut self) -> io::Result<()> {
        let (parent, _) = split(&self.path)?;
        sync_dir(&self.tmp);
        match fs::symlink_metadata(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => fs::rename(&self.tmp, &self.path)?,
            Err(e) => return Err(e),
            Ok(meta) if !meta.is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a folder", self.path.display()),
                ))
            }
            Ok(_) => {
                if exchange(&self.tmp, &self.path).is_ok() {
                    // The old content is now under the temporary name: Drop removes it, as it
                    // removes an uncommitted temporary.
                    sync_dir(&parent);
                    return Ok(());
                }
                replace_by_renames(&self.tmp, &self.path)?
            }
        }
        self.committed = true;
        sync_dir(&parent);
        Ok(())
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// Replaces the folder `path` by `tmp` without an atomic exchange: the old folder is renamed
/// aside (`tmp` with extension `old`), `tmp` renamed in, the old one removed. Between the two
/// renames nothing is under `path`; a failure of the second puts the old folder back.
fn replace_by_renames(tmp: &Path, path: &Path) -> io::Result<()> {
    let aside = tmp.with_extension("old");
    fs::rename(path, &aside)?;
    if let Err(e) = fs::rename(tmp, path) {
        let _ = fs::rename(&aside, path);
        return Err(e);
    }
    let _ = fs::remove_dir_all(&aside);
    Ok(())
}

/// The parent folder (`.` for a bare name) and the file name of `path`.
fn split(path: &Path) -> io::Result<(PathBuf, String)> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let name = path
        .file_name()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} has no folder name", path.display()),
            )
        })?
        .to_string_lossy()
        .into_owned();
    Ok((parent, name))
}

/// Makes a rename durable (best effort: not every platform can sync a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Swaps two existing paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths, relative to the current folder.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic exchange",
    ))
}

/// Removes `.NAME.PID-N.tmp` and `.NAME.PID-N.old` folders in `parent` whose process is gone
/// (what a kill -9 during a write leaves). Those of live processes are theirs: left alone.
fn remove_stale_siblings(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.");
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let Some(tag) = rest
            .strip_suffix(".tmp")
            .or_else(|| rest.strip_suffix(".old"))
        else {
            continue;
        };
        let Some(pid) = tag.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !process_alive(pid) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Without a way to tell, every process is assumed alive: nothing is removed.
#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-folder").join("x.json");
        assert!(write_atomic(&p, b"x").is_err());
        assert!(!p.exists());
    }

    #[test]
    fn a_failed_commit_removes_its_temporary() {
        // The rename fails (the final name is a folder): the temporary must not stay behind.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("summary.json");
        fs::create_dir(&p).unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"{}").unwrap();
        assert!(f.commit().is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["summary.json"], "{names:?}");
    }

    #[test]
    fn atomic_file_commits_or_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runs.csv");
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"a,b\n").unwrap();
        drop(f);
        assert!(!p.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"a,b\n").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "a,b\n");
    }
}

#[cfg(test)]
mod dir_tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn write(path: &Path, files: &[(&str, &str)]) -> io::Result<()> {
        let d = AtomicDir::create(path)?;
        for (n, t) in files {
            d.write_file(n, t.as_bytes())?;
        }
        d.commit()
    }

    #[test]
    fn a_folder_appears_whole_and_replaces_the_old_one_whole() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("nested").join("run");
        write(&p, &[("a.txt", "old a"), ("old-only.txt", "x")]).unwrap();
        assert_eq!(names(&p), ["a.txt", "old-only.txt"]);
        write(&p, &[("a.txt", "new a"), ("b.txt", "new b")]).unwrap();
        // Nothing of the old run is left: not a file it had that the new one has not.
        assert_eq!(names(&p), ["a.txt", "b.txt"]);
        assert_eq!(fs::read_to_string(p.join("a.txt")).unwrap(), "new a");
        assert_eq!(
            names(&root.path().join("nested")),
            ["run"],
            "no temporaries"
        );
    }

    #[test]
    fn a_failed_write_leaves_the_old_folder_and_no_temporary() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("run");
        write(&p, &[("a.txt", "old")]).unwrap();
        // A file name that cannot be created makes the write fail half-way.
        let e = write(&p, &[("a.txt", "new"), ("no/such/folder.txt", "x")]);
        assert!(e.is_err());
        assert_eq!(names(&p), ["a.txt"]);
        assert_eq!(fs::read_to_string(p.join("a.txt")).unwrap(), "old");
        assert_eq!(names(root.path()), ["run"]);
        // A failed first write leaves nothing under the final name.
        let q = root.path().join("fresh");
        assert!(write(&q, &[("no/such/folder.txt", "x")]).is_err());
        assert!(!q.exists());
        assert_eq!(names(root.path()), ["run"]);
    }

    #[test]
    fn dropped_uncommitted_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("run");
        let d = AtomicDir::create(&p).unwrap();
        d.write_file("a.txt", b"x").unwrap();
        assert!(d.tmp_path().join("a.txt").exists());
        drop(d);
        assert!(names(root.path()).is_empty());
    }

    #[test]
    fn temporaries_of_dead_processes_are_removed_and_others_kept() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("run");
        // No process has pid 4294967295; this process is alive.
        let dead = root.path().join(".run.4294967295-0.tmp");
        let dead_old = root.path().join(".run.4294967295-1.old");
        let alive = root
            .path()
            .join(format!(".run.{}-999.tmp", std::process::id()));
        let other = root.path().join(".other.4294967295-0.tmp");
        for d in [&dead, &dead_old, &alive, &other] {
            fs::create_dir(d).unwrap();
            fs::write(d.join("summary.json"), "{}").unwrap();
        }
        write(&p, &[("a.txt", "x")]).unwrap();
        let mut expected = vec![
            ".other.4294967295-0.tmp".to_string(),
            format!(".run.{}-999.tmp", std::process::id()),
            "run".to_string(),
        ];
        expected.sort();
        assert_eq!(names(root.path()), expected);
    }

    #[test]
    fn replacing_without_exchange_leaves_the_new_folder_alone() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("run");
        write(&p, &[("old.txt", "old")]).unwrap();
        let tmp = root.path().join(".run.1-0.tmp");
        fs::create_dir(&tmp).unwrap();
        fs::write(tmp.join("new.txt"), "new").unwrap();
        replace_by_renames(&tmp, &p).unwrap();
        assert_eq!(names(&p), ["new.txt"]);
        assert_eq!(names(root.path()), ["run"]);
    }

    #[test]
    fn a_file_in_the_way_is_not_replaced() {
        let root = tempfile::tempdir().unwrap();
        let p = root.path().join("run");
        fs::write(&p, "a file").unwrap();
        assert!(write(&p, &[("a.txt", "x")]).is_err());
        assert_eq!(fs::read_to_string(&p).unwrap(), "a file");
        assert_eq!(names(root.path()), ["run"]);
    }
}
