//! The undo record file of one trussrc, opened under the trussrc's lock: the one way to read it
//! for a change and to write it back.
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Records;
use super::format::{fits, parse, path_for, read};
use crate::atomic_file;
use crate::error::{Error, Result};
use crate::trussrc::{Document, Locked};

/// The trussrc, locked (the proof that no other truss-ci process changes it or its records), and
/// the undo record beside it, its stale temporaries swept.
pub struct Journal {
    pub locked: Locked,
    file: PathBuf,
}

impl Journal {
    /// Locks `trussrc`, waiting at most `wait` for another truss-ci process to let go of it.
    pub fn open(trussrc: &Path, wait: Duration) -> Result<Self> {
        Self::open_known(trussrc, wait, Document::default())
    }

    /// [`Journal::open`], given the trussrc as read before the lock ([`Locked::open_known`]).
    pub fn open_known(trussrc: &Path, wait: Duration, known: Document) -> Result<Self> {
        Self::open_keeping(trussrc, wait, known, &[])
    }

    /// [`Journal::open_known`], leaving the caller's own temporaries (`keep`), staged before the
    /// lock, where the sweep would remove them.
    pub fn open_keeping(
        trussrc: &Path,
        wait: Duration,
        known: Document,
        keep: &[&Path],
    ) -> Result<Self> {
        let file = path_for(trussrc);
        let locked = Locked::open_sweeping(trussrc, wait, known, (Some(&file), keep))?;
        Ok(Self { locked, file })
    }

    /// The file's bytes as they are (`None`: no file), to parse or to put back.
    pub fn bytes(&self) -> Result<Option<Vec<u8>>> {
        read(&self.file)
    }

    /// The records in `bytes`, as [`Journal::bytes`] gave them (none: no file).
    pub fn parse<'a>(&self, bytes: Option<&'a [u8]>) -> Result<Records<'a>> {
        parse(&self.file, bytes)
    }

    /// Replaces the records; an empty list removes the file.
    pub fn save(&self, records: &Records<'_>) -> Result<()> {
        if records.is_empty() {
            return atomic_file::remove(&self.file);
        }
        stage(&self.file, records)?.commit(atomic_file::Durable::Named)
    }

    /// Puts the file back to `bytes` as [`Journal::bytes`] found them (`None`: no file).
    pub fn put_back(&self, bytes: Option<&[u8]>) -> Result<()> {
        match bytes {
            Some(bytes) => atomic_file::write(&self.file, bytes),
            None => atomic_file::remove(&self.file),
        }
    }

    /// Reads the records, changes them and saves them.
    pub fn edit(&self, change: impl FnOnce(&mut Records<'_>) -> Result<()>) -> Result<()> {
        let bytes = self.bytes()?;
        let mut records = self.parse(bytes.as_deref())?;
        change(&mut records)?;
        self.save(&records)
    }
}

/// Writes `records` beside the undo record `file` and fsyncs them, for the holder of the
/// trussrc's lock to rename over it: the first half of [`Journal::save`] (the lock may be taken
/// after, when what the records were made from is read again under it and found the same).
pub fn stage(file: &Path, records: &Records<'_>) -> Result<atomic_file::Staged> {
    let encoded = records
        .encode()
        .map_err(|e| Error::unexpected(format!("could not encode the undo record: {e}")))?;
    fits(file, encoded.len() as u64)?;
    atomic_file::stage(file, &encoded.parts())
}
