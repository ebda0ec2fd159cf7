//! The private directory `exec` keeps a trussrc in for one command: created 0700 under the temp
//! directory, guarded by a lock held for its owner's lifetime, removed on drop. A directory whose
//! owner died (SIGKILL) is found by its free lock and removed by the next run of any command.
//!
//! The lock is the sibling file `<dir>.lock`, created and locked before the directory exists: a
//! sweeper can never see a directory whose lock is free while its creator lives. A lock file
//! without its directory holds no key; it is removed once it is both free and old.
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::env::Env;
use crate::error::{Error, Result};

const PREFIX: &str = "truss-ci-exec-";
const LOCK_SUFFIX: &str = ".lock";
/// Where versions before the sibling lock kept it: inside the directory.
const INNER_LOCK: &str = "lock";
/// A lock file without its directory, or an old-style directory without its lock, is one being
/// created, or one whose owner died before writing anything; after this long it is the second.
const UNLOCKED_GRACE: Duration = Duration::from_secs(30);

/// A private directory, removed with everything in it when dropped.
pub struct ExecDir {
    path: PathBuf,
    lock_path: PathBuf,
    /// Held exclusively while the owner lives; the kernel releases it when the process dies.
    _lock: File,
}

impl ExecDir {
    /// Takes the lock `<base>/truss-ci-exec-<random>.lock`, then creates the directory beside
    /// it with mode 0700.
    pub fn create(base: &Path, env: &Env) -> Result<Self> {
        let name = format!("{PREFIX}{}", crate::atomic_file::random_token(12));
        let path = base.join(&name);
        let lock_path = base.join(format!("{name}{LOCK_SUFFIX}"));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let lock = options
            .open(&lock_path)
            .map_err(|e| Error::local("create the lock file", &lock_path, &e))?;
        test_pause(env);
        let made = lock
            .try_lock()
            .map_err(std::io::Error::other)
            .map_err(|e| Error::local("lock", &lock_path, &e))
            .and_then(|()| {
                #[cfg_attr(not(unix), allow(unused_mut))]
                let mut builder = fs::DirBuilder::new();
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
                builder
                    .create(&path)
                    .map_err(|e| Error::local("create the private directory", &path, &e))
            });
        match made {
            Ok(()) => Ok(Self {
                path,
                lock_path,
                _lock: lock,
            }),
            Err(e) => {
                let _ = fs::remove_file(&lock_path);
                Err(e)
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ExecDir {
    /// The directory first: a lock file left alone (if the process dies in between) holds no key.
    /// A directory that could not be removed keeps its lock file, free once this process ends,
    /// for the next sweep.
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
        if fs::symlink_metadata(&self.path).is_err() {
            let _ = fs::remove_file(&self.lock_path);
        }
    }
}

/// Where `exec` makes its directory: the platform's per-job temp directory (GitHub's
/// `RUNNER_TEMP`, wiped after every job), else `TMPDIR` (on Windows, `TEMP`), else `/tmp`.
pub fn base(env: &Env, job_temp: Option<PathBuf>) -> PathBuf {
    let dir = job_temp
        .or_else(|| crate::env::path_var(&env.vars.tmpdir))
        .or_else(|| crate::env::path_var(&env.vars.temp).filter(|_| cfg!(windows)))
        .unwrap_or_else(|| PathBuf::from(if cfg!(windows) { "." } else { "/tmp" }));
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Removes the directories of `exec` runs that were killed: their lock is free. Never follows a
/// link, and only touches what belongs to this user.
pub fn sweep(env: &Env) {
    let runner_temp = crate::env::path_var(&env.vars.runner_temp);
    let mut bases = vec![base(env, runner_temp), base(env, None)];
    bases.dedup();
    for base in bases {
        for name in exec_names(&base) {
            let path = base.join(&name);
            if name.as_encoded_bytes().ends_with(LOCK_SUFFIX.as_bytes()) {
                remove_lock_if_abandoned(&path);
            } else {
                remove_if_abandoned(&path);
            }
        }
    }
}

/// The names in `base` that start with [`PREFIX`]. It runs before every command, in a temp
/// directory that may hold thousands of entries: on Linux they are read by `getdents64` 32 KiB at
/// a time (musl's `readdir` takes a call per 2 KiB), and only the names that match are copied.
#[cfg(target_os = "linux")]
fn exec_names(base: &Path) -> Vec<std::ffi::OsString> {
    use rustix::fs::{Mode, OFlags, RawDir};
    use std::os::unix::ffi::OsStrExt;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::open(base, flags, Mode::empty()) else {
        return Vec::new();
    };
    let mut buf = vec![std::mem::MaybeUninit::<u8>::uninit(); 32 * 1024];
    let mut dir = RawDir::new(fd, &mut buf);
    let mut names = Vec::new();
    while let Some(Ok(entry)) = dir.next() {
        let name = entry.file_name().to_bytes();
        if name.starts_with(PREFIX.as_bytes()) {
            names.push(std::ffi::OsStr::from_bytes(name).to_owned());
        }
    }
    names
}

#[cfg(not(target_os = "linux"))]
fn exec_names(base: &Path) -> Vec<std::ffi::OsString> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| entry.file_name())
        .filter(|name| name.as_encoded_bytes().starts_with(PREFIX.as_bytes()))
        .collect()
}

/// This user's, and not a link.
fn own(path: &Path, dir: bool) -> Option<fs::Metadata> {
    let meta = fs::symlink_metadata(path).ok()?;
    if meta.is_dir() != dir || meta.file_type().is_symlink() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return None;
        }
    }
    Some(meta)
}

fn older_than_grace(meta: &fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age > UNLOCKED_GRACE)
}

/// Is this lock file free? Taking it proves its owner is gone; it is released on return.
fn free(lock: &Path) -> Option<bool> {
    own(lock, false)?;
    Some(open_lock(lock).ok()?.try_lock().is_ok())
}

/// A lock file, opened as every file truss-ci reads is: never through a link, never blocking.
fn open_lock(path: &Path) -> Result<File, crate::atomic_file::Refusal> {
    crate::atomic_file::open_checked(path, 0, crate::atomic_file::Owner::Anyone)
}

fn remove_if_abandoned(dir: &Path) {
    let Some(meta) = own(dir, true) else {
        return;
    };
    let mut lock_name = dir.as_os_str().to_owned();
    lock_name.push(LOCK_SUFFIX);
    let lock = PathBuf::from(lock_name);
    let abandoned = match free(&lock) {
        Some(free) => free,
        // An older version's directory, its lock inside.
        None => match open_lock(&dir.join(INNER_LOCK)) {
            Ok(inner) => inner.try_lock().is_ok(),
            Err(_) => older_than_grace(&meta),
        },
    };
    if abandoned {
        let _ = fs::remove_dir_all(dir);
        let _ = fs::remove_file(&lock);
    }
}

/// A lock file whose directory is gone (or not made yet): removed only when free and old, as
/// its creator may be about to lock it.
fn remove_lock_if_abandoned(lock: &Path) {
    let Some(meta) = own(lock, false) else {
        return;
    };
    let dir = lock.with_file_name(
        lock.file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .trim_end_matches(LOCK_SUFFIX),
    );
    if fs::symlink_metadata(&dir).is_err() && older_than_grace(&meta) && free(lock) == Some(true) {
        let _ = fs::remove_file(lock);
    }
}

/// Test builds only: waits (at most 10 s) at the step a concurrent sweeper must not see through,
/// after announcing it, until the test says to go on.
#[cfg(feature = "test-hooks")]
fn test_pause(env: &Env) {
    if let Some(dir) = env.get("TRUSS_CI_TEST_EXEC_PAUSE") {
        let dir = Path::new(dir);
        let _ = File::create(dir.join("paused"));
        let started = std::time::Instant::now();
        while !dir.join("resume").exists() && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[cfg(not(feature = "test-hooks"))]
fn test_pause(_: &Env) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_directory_is_kept_and_a_dead_one_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::of(&[("TMPDIR", tmp.path().to_str().unwrap())]);
        let live = ExecDir::create(&base(&env, None), &env).unwrap();
        sweep(&env);
        assert!(live.path().exists(), "its lock is held");
        // A run killed after taking its lock: the lock is free again.
        let dead = tmp.path().join(format!("{PREFIX}dead"));
        fs::create_dir(&dead).unwrap();
        File::create(tmp.path().join(format!("{PREFIX}dead{LOCK_SUFFIX}"))).unwrap();
        fs::write(dead.join("trussrc"), "[baseten]\napi_key = k\n").unwrap();
        // An older version's directory, its lock inside and free.
        let legacy = tmp.path().join(format!("{PREFIX}legacy"));
        fs::create_dir(&legacy).unwrap();
        File::create(legacy.join(INNER_LOCK)).unwrap();
        // A lock file whose creator may be about to lock it, and one left long ago.
        let young = tmp.path().join(format!("{PREFIX}young{LOCK_SUFFIX}"));
        File::create(&young).unwrap();
        let old = tmp.path().join(format!("{PREFIX}old{LOCK_SUFFIX}"));
        File::create(&old)
            .unwrap()
            .set_modified(SystemTime::now() - 2 * UNLOCKED_GRACE)
            .unwrap();
        sweep(&env);
        assert!(!dead.exists());
        assert!(
            !tmp.path()
                .join(format!("{PREFIX}dead{LOCK_SUFFIX}"))
                .exists()
        );
        assert!(!legacy.exists());
        assert!(young.exists(), "within the grace period");
        assert!(!old.exists());
        assert!(live.path().exists());
        let path = live.path().to_owned();
        drop(live);
        assert!(!path.exists(), "removed on drop");
        let names: Vec<_> = fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [young.file_name().unwrap()], "the lock file too");
    }
}
