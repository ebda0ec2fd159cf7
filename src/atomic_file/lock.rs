//! The lock beside a file: `<path>.lock`, taken with a bounded wait and gone once let go.
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{no_follow, private_options};
use crate::error::{Error, Kind, Result};

/// The sibling lock file `<path>.lock`, held exclusively until dropped. It exists only while
/// held, so no lock file outlives a command: on Unix the holder removes it before letting go (one
/// killed while holding leaves it, and the next holder removes it); on Windows it is opened
/// delete-on-close, so the system removes it when the last process that has it open ends,
/// however it ends.
pub struct Lock {
    file: File,
    #[cfg_attr(not(unix), allow(dead_code))]
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held: a process that opened it meanwhile finds, once it gets the
        // lock, that it holds a file no longer at the path, and starts over.
        #[cfg(unix)]
        let _ = fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Takes the lock for `path`, waiting at most `wait` for another process to release it. The lock
/// file is created 0600 and never through a symbolic link.
pub fn lock(path: &Path, wait: Duration) -> Result<Lock> {
    let lock_path = lock_path(path);
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let file = match open_lock_file(&lock_path) {
            Ok(file) => file,
            // Windows: a lock file whose holder let go is pending deletion until every process
            // that opened it has closed it, and cannot be opened meanwhile: it is busy.
            Err(e) if cfg!(windows) && e.kind() == ErrorKind::PermissionDenied => {
                if started.elapsed() >= wait {
                    return Err(Error::local("open the lock file", &lock_path, &e));
                }
                std::thread::sleep(pause.min(wait.saturating_sub(started.elapsed())));
                pause = (pause * 2).min(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(Error::local("open the lock file", &lock_path, &e)),
        };
        let locked = loop {
            match file.try_lock() {
                Ok(()) => break true,
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(pause.min(wait.saturating_sub(started.elapsed())));
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(fs::TryLockError::WouldBlock) => break false,
                Err(fs::TryLockError::Error(e)) => {
                    return Err(Error::local("lock", &lock_path, &e));
                }
            }
        };
        let mine = locked && still_at(&file, &lock_path)?;
        if mine {
            return Ok(Lock {
                file,
                path: lock_path,
            });
        }
        if !locked || started.elapsed() >= wait {
            return Err(Error::new(
                Kind::Local,
                format!(
                    "{} is held by another process; gave up after {:.1}s",
                    lock_path.display(),
                    wait.as_secs_f64()
                ),
            )
            .with_hint("another truss-ci (or a stuck one) is editing this trussrc; retry when it has finished, or raise --timeout"));
        }
        // The previous holder removed it (or it was replaced) while this process waited: the
        // lock is on a file nobody else will look at. Start over on the one at the path now.
        drop(file);
    }
}

/// The lock file for `path`: `<path>.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    path.with_file_name(name)
}

/// Whether a lock file for `path` is there: held right now, or left by a process killed while
/// holding it.
pub fn lock_exists(path: &Path) -> bool {
    fs::symlink_metadata(lock_path(path)).is_ok()
}

fn open_lock_file(lock_path: &Path) -> std::io::Result<File> {
    let mut options = private_options();
    options.read(true).write(true).create(true).truncate(false);
    no_follow(&mut options);
    #[cfg(windows)]
    {
        use std::os::windows::fs::OpenOptionsExt;
        // GENERIC_READ | GENERIC_WRITE | DELETE; FILE_FLAG_DELETE_ON_CLOSE, and a link is opened
        // itself (FILE_FLAG_OPEN_REPARSE_POINT), never followed.
        options
            .access_mode(0x8000_0000 | 0x4000_0000 | 0x0001_0000)
            .custom_flags(0x0400_0000 | 0x0020_0000);
    }
    let file = options.open(lock_path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(format!(
            "{} is not a regular file",
            lock_path.display()
        )));
    }
    Ok(file)
}

/// Whether the locked `file` is still the one at `lock_path` (same device and inode).
#[cfg(unix)]
fn still_at(file: &File, lock_path: &Path) -> Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file
        .metadata()
        .map_err(|e| Error::local("inspect", lock_path, &e))?;
    Ok(match fs::symlink_metadata(lock_path) {
        Ok(at_path) => at_path.dev() == held.dev() && at_path.ino() == held.ino(),
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(Error::local("inspect", lock_path, &e)),
    })
}

/// Windows: whether the locked `file` is still the one at `lock_path`. A file pending deletion
/// cannot be looked at (its holder let go: start over); a new one at the path was created later
/// (std offers no stable file index, so the creation time, in 100 ns ticks, tells them apart).
#[cfg(windows)]
fn still_at(file: &File, lock_path: &Path) -> Result<bool> {
    use std::os::windows::fs::MetadataExt;
    let held = file
        .metadata()
        .map_err(|e| Error::local("inspect", lock_path, &e))?;
    Ok(match fs::symlink_metadata(lock_path) {
        Ok(at_path) => at_path.creation_time() == held.creation_time(),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => false,
        Err(e) => return Err(Error::local("inspect", lock_path, &e)),
    })
}

#[cfg(not(any(unix, windows)))]
#[allow(clippy::unnecessary_wraps)]
fn still_at(_file: &File, _lock_path: &Path) -> Result<bool> {
    Ok(true)
}
