//! `auth.json`, locked for one read-modify-write, read and written the way the CLI does.
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::MAX_SIZE;
use super::auth_file::{self, AuthFile};
use crate::atomic_file::{self, Owner, Refusal};
use crate::error::{Error, Kind, Result};

/// `auth.json` under its lock (`auth.json.lock`): other truss-ci processes wait, boundedly. The
/// CLI itself takes no lock; it writes the file whole, as truss-ci does (atomically).
pub struct Store {
    pub path: PathBuf,
    /// The file's bytes when locked (`None`: there was no file).
    pub existing: Option<Vec<u8>>,
    /// The file as the CLI reads it.
    pub file: AuthFile,
    _lock: atomic_file::Lock,
}

impl Store {
    /// Locks and reads `path`, refusing (exit 5, nothing changed) a file the CLI could not parse,
    /// a link, a file another user owns or others may write, or one over [`MAX_SIZE`].
    pub fn open(path: &Path, wait: Duration) -> Result<Self> {
        atomic_file::create_private_dir(&atomic_file::parent_dir(path))?;
        let lock = atomic_file::lock(path, wait)?;
        atomic_file::sweep(&[path, &super::journal::path_for(path)]);
        let existing = read(path)?;
        let file = match &existing {
            Some(bytes) => auth_file::parse(bytes).map_err(|why| {
                refused(
                    path,
                    &format!("the baseten CLI could not parse it ({})", why.0),
                )
            })?,
            None => AuthFile::default(),
        };
        Ok(Self {
            path: path.to_owned(),
            existing,
            file,
            _lock: lock,
        })
    }

    /// Writes [`Store::file`] as the CLI writes it, atomically, 0600.
    pub fn write(&self) -> Result<()> {
        self.write_as(atomic_file::Durable::Named)
    }

    /// [`Store::write`], with the durability asked for: a login's last change of the file needs
    /// its bytes on disk before the rename, and no fsync of the directory after it (a power cut
    /// that loses the rename leaves the old file whole, which its journal's post then finds).
    pub fn write_as(&self, durable: atomic_file::Durable) -> Result<()> {
        stage(&self.path, &self.file)?.commit(durable)
    }

    /// Removes the file (it held nothing but what a login added).
    pub fn remove(&self) -> Result<()> {
        atomic_file::remove(&self.path)
    }

    /// Puts the file back as it was when locked: its old bytes, or no file.
    pub fn restore(&self) -> Result<()> {
        match &self.existing {
            Some(bytes) => atomic_file::write(&self.path, bytes),
            None => atomic_file::remove(&self.path),
        }
    }

    /// The profile `name` as `json.Marshal` writes it (`None`: no such profile).
    pub fn profile_json(&self, name: &str) -> Option<String> {
        self.file
            .profiles
            .get(name)
            .map(auth_file::Profile::to_json)
    }
}

/// Writes `file` as the CLI writes it to a 0600 temporary beside `path` and fsyncs it, for the
/// holder of its lock to rename over it ([`atomic_file::Staged::commit`]); never over
/// [`MAX_SIZE`].
pub fn stage(path: &Path, file: &AuthFile) -> Result<atomic_file::Staged> {
    let bytes = auth_file::encode(file);
    if bytes.len() as u64 > MAX_SIZE {
        return Err(Error::new(
            Kind::Local,
            format!(
                "{} would grow to {} bytes, over the {MAX_SIZE} truss-ci reads back; nothing was written",
                path.display(),
                bytes.len()
            ),
        ));
    }
    atomic_file::stage(path, &[&bytes])
}

/// Removes what a truss-ci killed while it held the lock left beside `path` (its lock file, its
/// temporaries), under the lock; nothing when nothing was left.
pub fn sweep(path: &Path, wait: Duration) {
    let journal = super::journal::path_for(path);
    let left =
        atomic_file::lock_exists(path) || !atomic_file::temporaries(&[path, &journal]).is_empty();
    if left && let Ok(lock) = atomic_file::lock(path, wait) {
        atomic_file::sweep(&[path, &journal]);
        drop(lock);
    }
}

/// Reads `auth.json` without opening it first: for `status`, which changes nothing.
pub fn peek(path: &Path) -> Result<Option<AuthFile>> {
    match read(path)? {
        Some(bytes) => auth_file::parse(&bytes).map(Some).map_err(|why| {
            refused(
                path,
                &format!("the baseten CLI could not parse it ({})", why.0),
            )
        }),
        None => Ok(None),
    }
}

fn read(path: &Path) -> Result<Option<Vec<u8>>> {
    match atomic_file::read_checked(path, MAX_SIZE, Owner::Me) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Refusal::Missing) => Ok(None),
        Err(Refusal::Io(e)) => Err(Error::local("read", path, &e)),
        Err(why) => Err(refused(path, &why.to_string())),
    }
}

fn refused(path: &Path, why: &str) -> Error {
    Error::new(
        Kind::Local,
        format!(
            "refusing the baseten CLI's {}: {why}; nothing was changed",
            path.display()
        ),
    )
    .with_hint("fix or move the file (`baseten auth login` writes it 0600, owned by you), or point BASETEN_CONFIG_DIR at a directory of your own")
}
