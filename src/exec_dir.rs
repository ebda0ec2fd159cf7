//! The private directory `exec` keeps a trussrc in for one command: created 0700 under the temp
//! directory, holding a lock for its owner's lifetime, removed on drop. A directory whose owner
//! died (SIGKILL) is found by its free lock and removed by the next run of any command.
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::env::Env;
use crate::error::{Error, Result};

const PREFIX: &str = "truss-ci-exec-";
const LOCK: &str = "lock";
/// A directory without its lock file is one being created, or one whose owner died before
/// writing anything; after this long it is the second.
const UNLOCKED_GRACE: Duration = Duration::from_secs(30);

/// A private directory, removed with everything in it when dropped.
pub struct ExecDir {
    path: PathBuf,
    /// Held exclusively while the owner lives; the kernel releases it when the process dies.
    _lock: File,
}

impl ExecDir {
    /// Creates `<base>/truss-ci-exec-<random>` with mode 0700 and takes its lock.
    pub fn create(base: &Path) -> Result<Self> {
        let path = base.join(format!("{PREFIX}{}", crate::ci::random_token(12)));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .map_err(|e| Error::local("create the private directory", &path, &e))?;
        let lock = (|| {
            let lock = File::create_new(path.join(LOCK))?;
            lock.try_lock().map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(lock)
        })();
        match lock {
            Ok(lock) => Ok(Self { path, _lock: lock }),
            Err(e) => {
                let _ = fs::remove_dir_all(&path);
                Err(Error::local("lock", &path, &e))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ExecDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
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
/// link, and only touches directories of this user.
pub fn sweep(env: &Env) {
    let runner_temp = crate::env::path_var(&env.vars.runner_temp);
    let mut bases = vec![base(env, runner_temp), base(env, None)];
    bases.dedup();
    for base in bases {
        let Ok(entries) = fs::read_dir(&base) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(PREFIX) {
                remove_if_abandoned(&entry.path());
            }
        }
    }
}

fn remove_if_abandoned(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return;
        }
    }
    let lock =
        crate::atomic_file::open_checked(&dir.join(LOCK), 0, crate::atomic_file::Owner::Anyone);
    let abandoned = match lock {
        Ok(lock) => lock.try_lock().is_ok(),
        Err(_) => meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > UNLOCKED_GRACE),
    };
    if abandoned {
        let _ = fs::remove_dir_all(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_directory_is_kept_and_a_dead_one_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let env = Env::of(&[("TMPDIR", tmp.path().to_str().unwrap())]);
        let live = ExecDir::create(&base(&env, None)).unwrap();
        sweep(&env);
        assert!(live.path().exists(), "its lock is held");
        // A run killed after taking its lock: the lock is free again.
        let dead = tmp.path().join(format!("{PREFIX}dead"));
        fs::create_dir(&dead).unwrap();
        File::create(dead.join(LOCK)).unwrap();
        fs::write(dead.join("trussrc"), "[baseten]\napi_key = k\n").unwrap();
        sweep(&env);
        assert!(!dead.exists());
        assert!(live.path().exists());
        let path = live.path().to_owned();
        drop(live);
        assert!(!path.exists(), "removed on drop");
    }
}
