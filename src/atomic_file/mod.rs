//! Files truss-ci owns beside the trussrc: a lock with a bounded wait, atomic 0600 writes, a sweep
//! of the temporaries a killed writer left, and reads that refuse what is not a regular file.
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

mod lock;

pub use lock::{Lock, lock, lock_exists};

fn private_options() -> OpenOptions {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Opens without following a final symbolic link. (Custom flags replace each other: this is for
/// an open that sets no other.)
fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    custom_flags(options, rustix::fs::OFlags::NOFOLLOW);
    #[cfg(not(unix))]
    let _ = options;
}

/// Opens without blocking: a FIFO with no peer answers at once instead of waiting forever.
fn non_blocking(options: &mut OpenOptions) {
    #[cfg(unix)]
    custom_flags(options, rustix::fs::OFlags::NONBLOCK);
    #[cfg(not(unix))]
    let _ = options;
}

/// Opens a file truss-ci writes to but does not own (a CI platform's file) as every file it
/// reads is opened: never through a final symbolic link, never blocking on a FIFO.
pub fn no_follow_non_blocking(options: &mut OpenOptions) {
    #[cfg(unix)]
    custom_flags(
        options,
        rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK,
    );
    // FILE_FLAG_OPEN_REPARSE_POINT: a link is opened itself, and then refused as not a file.
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::custom_flags(options, 0x0020_0000);
    #[cfg(not(any(unix, windows)))]
    let _ = options;
}

#[cfg(unix)]
fn custom_flags(options: &mut OpenOptions, flags: rustix::fs::OFlags) {
    #[allow(clippy::cast_possible_wrap)] // open(2) flags fit in an i32
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, flags.bits() as i32);
}

/// Who may own a file that is read, beyond its being a regular file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Anyone,
    /// The effective user, with no write permission for its group or others: a file that decides
    /// where the key goes (the trussrc) or what is undone (the undo record).
    Me,
}

/// Why a file was not read. Each is a refusal, never worked around.
#[derive(Debug)]
pub enum Refusal {
    Missing,
    /// The final component is a symbolic link (truss-ci never reads through one).
    Symlink,
    /// A FIFO, a device, a socket or a directory: a read could block or never end.
    NotRegular,
    TooLarge {
        len: u64,
        cap: u64,
    },
    /// Owned by another user (this uid).
    ForeignOwner(u32),
    /// Its group or everyone may write to it (these mode bits).
    OthersMayWrite(u32),
    Io(std::io::Error),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Missing => f.write_str("it does not exist"),
            Refusal::Symlink => f.write_str("it is a symbolic link"),
            Refusal::NotRegular => {
                f.write_str("it is not a regular file (a pipe or device could block or never end)")
            }
            Refusal::TooLarge { len, cap } => write!(f, "it is {len} bytes, more than {cap}"),
            Refusal::ForeignOwner(uid) => write!(f, "it is owned by another user (uid {uid})"),
            Refusal::OthersMayWrite(mode) => {
                write!(f, "its group or others may write to it (mode {mode:04o})")
            }
            Refusal::Io(e) => e.fmt(f),
        }
    }
}

/// Opens `path` for reading the one way every file truss-ci reads is opened: never through a
/// final symbolic link (`O_NOFOLLOW`; on Windows the link itself is opened and refused), never
/// blocking on a FIFO (`O_NONBLOCK`), and then judged by `fstat` on the open descriptor, so a
/// swap of the path after the open changes nothing: a regular file, at most `cap` bytes, and
/// for [`Owner::Me`] this user's and writable by no one else.
pub fn open_checked(path: &Path, cap: u64, owner: Owner) -> Result<File, Refusal> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        custom_flags(
            &mut options,
            OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        );
    }
    // FILE_FLAG_OPEN_REPARSE_POINT: a symbolic link is opened itself, not its target.
    #[cfg(windows)]
    std::os::windows::fs::OpenOptionsExt::custom_flags(&mut options, 0x0020_0000);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(Refusal::Missing),
        // What O_NOFOLLOW answers for a link (the path may be a file again by now).
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(Refusal::Symlink);
        }
        // EMLINK on some BSDs for a link, ENXIO for a socket: name what the path is. This look
        // only words the refusal; it decides nothing.
        Err(e) => {
            return Err(match fs::symlink_metadata(path) {
                Ok(meta) if meta.file_type().is_symlink() => Refusal::Symlink,
                Ok(meta) if !meta.is_file() => Refusal::NotRegular,
                _ => Refusal::Io(e),
            });
        }
    };
    let meta = file.metadata().map_err(Refusal::Io)?;
    if meta.file_type().is_symlink() {
        return Err(Refusal::Symlink);
    }
    if !meta.is_file() {
        return Err(Refusal::NotRegular);
    }
    #[cfg(unix)]
    if owner == Owner::Me {
        use std::os::unix::fs::MetadataExt;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(Refusal::ForeignOwner(meta.uid()));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(Refusal::OthersMayWrite(meta.mode() & 0o7777));
        }
    }
    #[cfg(not(unix))]
    let _ = owner;
    if meta.len() > cap {
        return Err(Refusal::TooLarge {
            len: meta.len(),
            cap,
        });
    }
    Ok(file)
}

/// Reads a file opened by [`open_checked`], at most `cap` bytes (one that grew past it since the
/// check is refused too).
pub fn read_checked(path: &Path, cap: u64, owner: Owner) -> Result<Vec<u8>, Refusal> {
    let file = open_checked(path, cap, owner)?;
    // Sized once from the file's length (the read still stops one byte past the cap, whatever
    // the file has grown to since).
    let len = file.metadata().map_or(0, |m| m.len()).min(cap) + 1;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(Refusal::Io)?;
    if bytes.len() as u64 > cap {
        return Err(Refusal::TooLarge {
            len: bytes.len() as u64,
            cap,
        });
    }
    Ok(bytes)
}

/// Checks that `path` names a regular file without reading it, following links: for a file that
/// another library opens by name (`SSL_CERT_FILE`, read by the TLS stack), where the only harm
/// truss-ci can prevent is a FIFO that would block. System CA bundles are often links.
pub fn probe_regular(path: &Path) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.read(true);
    non_blocking(&mut options);
    if options.open(path)?.metadata()?.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::other(Refusal::NotRegular.to_string()))
    }
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

/// The temporaries of writers of any of `paths`, files of one directory, read once (stale unless
/// a writer holds the lock right now).
pub fn temporaries(paths: &[&Path]) -> Vec<PathBuf> {
    let Some(first) = paths.first() else {
        return Vec::new();
    };
    let prefixes: Vec<String> = paths.iter().map(|p| temporary_prefix(p)).collect();
    let Ok(entries) = fs::read_dir(parent_dir(first)) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            name.ends_with(".tmp") && prefixes.iter().any(|p| name.starts_with(p.as_str()))
        })
        .map(|entry| entry.path())
        .collect()
}

/// Removes the temporaries of writers of `paths` (files of one directory) that were killed
/// before their rename. Every writer holds the lock from creating its temporary to renaming it,
/// so under the lock any that exist are stale (and may hold a key) — but for a login's undo
/// record staged while the API answers, which its writer checks for under the lock
/// ([`sweep_but`]).
pub fn sweep(paths: &[&Path]) {
    sweep_but(paths, &[]);
}

/// [`sweep`], but for `keep`: the holder's own temporaries, staged before it took the lock
/// (`login` stages its undo record while the API answers). Another holder of the lock
/// may have swept those meanwhile: [`Staged::exists`] says whether they are still there.
pub fn sweep_but(paths: &[&Path], keep: &[&Path]) {
    for tmp in temporaries(paths) {
        if !keep.contains(&tmp.as_path()) {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// Renames `tmp` over `path`. On Windows a file that another process is reading (a `status`, or
/// a login reading the trussrc before it waits for the lock) cannot be replaced for that moment:
/// the rename is retried for up to 2 s, as long as it is refused for access.
fn replace(tmp: &Path, path: &Path) -> std::io::Result<()> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match fs::rename(tmp, path) {
            Err(e)
                if cfg!(windows)
                    && e.kind() == ErrorKind::PermissionDenied
                    && started.elapsed() < Duration::from_secs(2) =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

/// How much of a [`write`] is on disk when it returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durable {
    /// The new file under its name: the directory is fsynced after the rename.
    Named,
    /// The new file's bytes, fsynced before it takes the name; the rename is made durable by the
    /// next fsync of the directory (any later write's with [`Durable::Named`]). A crash at any
    /// moment, power cut included, leaves the old file or the new one, whole. For a command's
    /// last change of a file, when nothing written after it has to reach the disk after it.
    Bytes,
}

/// Writes a 0600 temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs the
/// directory: readers see the old file or the new one, whole. The caller holds the lock.
pub fn write(path: &Path, contents: &[u8]) -> Result<()> {
    write_as(path, contents, Durable::Named)
}

/// [`write`], made as `durable` as that says.
pub fn write_as(path: &Path, contents: &[u8], durable: Durable) -> Result<()> {
    write_parts(path, &[contents], durable)
}

/// [`write_as`] of `parts` one after the other, each written as it is (a few large pieces of
/// what was read, with what changed between them, are not copied into one buffer first).
pub fn write_parts(path: &Path, parts: &[&[u8]], durable: Durable) -> Result<()> {
    stage(path, parts)?.commit(durable)
}

/// The new bytes of a file, written beside it in a 0600 temporary and fsynced, waiting to take
/// its name ([`Staged::commit`]). Dropped uncommitted, the temporary is removed; one whose writer
/// was killed is a stale temporary that the next holder of the lock sweeps.
pub struct Staged {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

/// Writes `parts` to a fresh temporary beside `path` and fsyncs it: the first half of
/// [`write_parts`], which may run while something else is made durable. The caller holds the lock,
/// or (a login's undo record, staged while the API answers) checks under it that the temporary is
/// still there before the rename ([`Staged::exists`]).
pub fn stage(path: &Path, parts: &[&[u8]]) -> Result<Staged> {
    let staged = Staged {
        tmp: parent_dir(path).join(format!(
            "{}{}.{}.tmp",
            temporary_prefix(path),
            std::process::id(),
            random_token(6)
        )),
        path: path.to_owned(),
        committed: false,
    };
    let mut file = private_options()
        .write(true)
        .create_new(true)
        .open(&staged.tmp)
        .map_err(|e| Error::local("create", &staged.tmp, &e))?;
    parts
        .iter()
        .try_for_each(|part| file.write_all(part))
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::local("write", &staged.tmp, &e))?;
    Ok(staged)
}

impl Staged {
    /// The temporary the bytes are in.
    pub fn temporary(&self) -> &Path {
        &self.tmp
    }

    /// Whether the temporary is still there: one staged before its writer took the lock may have
    /// been swept by another holder of the lock meanwhile ([`sweep_but`]).
    pub fn exists(&self) -> bool {
        fs::symlink_metadata(&self.tmp).is_ok_and(|m| m.is_file())
    }

    /// Renames the temporary over the file, made as `durable` as that says.
    pub fn commit(mut self, durable: Durable) -> Result<()> {
        replace(&self.tmp, &self.path).map_err(|e| Error::local("replace", &self.path, &e))?;
        self.committed = true;
        if durable == Durable::Named {
            sync_dir(&parent_dir(&self.path));
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// What a scoped thread returned. Its panic (already reported by the panic hook) is an error
/// here, so that the write it was part of is rolled back like any other failure.
pub fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, Result<T>>) -> Result<T> {
    handle.join().unwrap_or_else(|_| {
        Err(Error::unexpected(
            "a write on another thread failed unexpectedly (a panic); the login was rolled back",
        ))
    })
}

/// Runs `save` on this thread while `stage` writes and fsyncs a file's new bytes on a thread of
/// its own: the two fsyncs overlap, and the staged file waits for its rename.
pub fn staged_while<S>(
    stage: impl FnOnce() -> Result<Staged> + Send,
    save: impl FnOnce() -> S,
) -> (S, Result<Staged>) {
    std::thread::scope(|s| {
        let staging = s.spawn(stage);
        let saved = save();
        (saved, joined(staging))
    })
}

/// Makes a rename or removal in `dir` durable. The directory is opened as a directory, never
/// through a link.
#[cfg_attr(not(unix), allow(unused_variables))]
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    {
        let mut options = OpenOptions::new();
        options.read(true);
        custom_flags(
            &mut options,
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NOFOLLOW,
        );
        if let Ok(d) = options.open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// Hex SHA-256 of `text`: what undo records keep of what a login wrote, to tell it again.
pub fn sha256(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
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

/// A fresh random token (hex): temporaries' and `exec` directories' names, undo record ids, and
/// the runner's heredoc delimiters.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // Without an OS RNG, fall back to the clock and pid: still unpredictable to server text.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
