//! Files truss-ci owns beside the trussrc: a lock with a bounded wait, atomic 0600 writes, a sweep
//! of the temporaries a killed writer left, and reads that refuse what is not a regular file.
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Kind, Result};

/// The sibling lock file `<path>.lock`, held exclusively until dropped. On Unix it exists only
/// while held: the holder removes it before letting go, so no lock file outlives a command (one
/// killed while holding leaves it, and the next holder removes it).
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
        let file = open_lock_file(&lock_path)?;
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

fn open_lock_file(lock_path: &Path) -> Result<File> {
    let mut options = private_options();
    options.read(true).write(true).create(true).truncate(false);
    no_follow(&mut options);
    let file = options
        .open(lock_path)
        .map_err(|e| Error::local("open the lock file", lock_path, &e))?;
    if !file
        .metadata()
        .map_err(|e| Error::local("inspect", lock_path, &e))?
        .is_file()
    {
        return Err(Error::new(
            Kind::Local,
            format!("{} is not a regular file", lock_path.display()),
        ));
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

/// Windows keeps the lock file: a file removed while another process has it open stays as a
/// pending delete that no one can open, and std offers no stable file identity to check against.
#[cfg(not(unix))]
#[allow(clippy::unnecessary_wraps)]
fn still_at(_file: &File, _lock_path: &Path) -> Result<bool> {
    Ok(true)
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Opens without following a final symbolic link.
fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    custom_flags(options, rustix::fs::OFlags::NOFOLLOW);
    #[cfg(not(unix))]
    let _ = options;
}

/// Opens without blocking: a FIFO with no peer answers at once instead of waiting forever.
pub fn non_blocking(options: &mut OpenOptions) {
    #[cfg(unix)]
    custom_flags(options, rustix::fs::OFlags::NONBLOCK);
    #[cfg(not(unix))]
    let _ = options;
}

#[cfg(unix)]
fn custom_flags(options: &mut OpenOptions, flags: rustix::fs::OFlags) {
    #[allow(clippy::cast_possible_wrap)] // open(2) flags fit in an i32
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, flags.bits() as i32);
}

/// Opens `path` for reading without blocking on a FIFO, and refuses anything but a regular file:
/// a pipe, a device or a socket could make a read wait forever or never end.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    non_blocking(&mut options);
    let file = options.open(path)?;
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(std::io::Error::other(
            "not a regular file (a pipe or device could block or never end)",
        ))
    }
}

/// Reads at most `cap` bytes of a regular file; more is an error.
pub fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::other(format!("larger than {cap} bytes")));
    }
    Ok(bytes)
}

/// The directory `path` is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Creates missing parent directories with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::local("create the directory", dir, &e))
}

fn temporary_prefix(path: &Path) -> String {
    format!(
        ".{}.truss-ci.",
        path.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// The temporaries of writers of `path` (stale unless a writer holds the lock right now).
pub fn temporaries(path: &Path) -> Vec<PathBuf> {
    let prefix = temporary_prefix(path);
    let Ok(entries) = fs::read_dir(parent_dir(path)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.starts_with(&prefix) && name.ends_with(".tmp")
        })
        .map(|entry| entry.path())
        .collect()
}

/// Removes the temporaries of writers of `path` that were killed before their rename. Every
/// writer holds the lock from creating its temporary to renaming it, so under the lock any that
/// exist are stale (and may hold a key).
pub fn sweep(path: &Path) {
    for tmp in temporaries(path) {
        let _ = fs::remove_file(tmp);
    }
}

/// Writes a 0600 temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
/// directory: readers see the old file or the new one, whole. The caller holds the lock.
pub fn write(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let tmp = dir.join(format!(
        "{}{}.{}.tmp",
        temporary_prefix(path),
        std::process::id(),
        crate::ci::random_token(6)
    ));
    let result = (|| {
        let mut file = private_options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| Error::local("create", &tmp, &e))?;
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::local("write", &tmp, &e))?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| Error::local("replace", path, &e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(&dir);
    Ok(())
}

/// Makes a rename or removal in `dir` durable.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes the file; a missing one is not an error.
pub fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::local("remove", path, &e)),
        _ => {
            sync_dir(&parent_dir(path));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_waited_for_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        let held = lock(&path, Duration::from_secs(1)).unwrap();
        let started = Instant::now();
        let err = lock(&path, Duration::from_millis(200)).err().unwrap();
        assert_eq!(err.exit_code(), 5);
        assert!(
            err.message.contains("held by another process"),
            "{}",
            err.message
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(held);
        lock(&path, Duration::from_millis(200)).unwrap();
    }

    #[test]
    fn the_lock_file_goes_with_the_lock_and_excludes_all_the_while() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        let inside = dir.path().join("inside");
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..150 {
                        let held = lock(&path, Duration::from_secs(20)).unwrap();
                        // Two holders at once would find the other's marker.
                        File::create_new(&inside).expect("one holder at a time");
                        std::thread::yield_now();
                        fs::remove_file(&inside).unwrap();
                        drop(held);
                    }
                });
            }
        });
        #[cfg(unix)]
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no lock file is left"
        );
    }

    #[test]
    #[cfg(unix)]
    fn the_lock_never_follows_a_link_and_fifos_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        let target = dir.path().join("elsewhere");
        std::os::unix::fs::symlink(&target, dir.path().join("rc.lock")).unwrap();
        assert_eq!(
            lock(&path, Duration::from_millis(50))
                .err()
                .unwrap()
                .exit_code(),
            5
        );
        assert!(!target.exists(), "the link's target was not created");

        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let err = read_capped(&fifo, 10).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(read_capped(Path::new("/dev/zero"), 10).is_err());
    }

    #[test]
    fn writes_are_whole_and_temporaries_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rc");
        write(&path, b"one").unwrap();
        let stale = dir.path().join(".rc.truss-ci.1.abc.tmp");
        fs::write(&stale, "old key").unwrap();
        sweep(&path);
        assert!(!stale.exists());
        assert_eq!(fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
