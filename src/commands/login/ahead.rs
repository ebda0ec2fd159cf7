//! A CI login's undo record, written while the API answers: the record file with the login's
//! record added, staged beside it (0600, fsynced) from the trussrc and the record file as read
//! before the lock. Once the key is accepted it takes its name under the lock, but only if it is
//! exactly what the login writes then: the record file reads as it did, and the record made from
//! the trussrc as locked is the one staged. Otherwise, and on a rejected key or any failure, it is
//! removed, and the login writes the record as it does without it.
//!
//! The trussrc's new bytes are not staged ahead: they hold the key, which reaches no file before
//! the API has accepted it.
use std::path::Path;

use crate::atomic_file::{self, Staged};
use crate::cli::Storage;
use crate::error::Result;
use crate::secret::ApiKey;
use crate::settings::LoginSettings;
use crate::trussrc::{self, Document};
use crate::undo;

/// The undo record file with the login's record added, staged while the API answered.
pub(super) struct Ahead {
    /// The file as it was read (`None`: there was none).
    before: Option<Vec<u8>>,
    /// The login's record, as added.
    new: undo::Record,
    /// The id that undoes it: the new record's, or the job's earlier one it was merged into.
    id: String,
    staged: Staged,
}

/// The largest trussrc and record file whose record is staged ahead. Over it the work of making
/// the record twice (ahead, and under the lock to compare) outweighs the fsync it takes off the
/// wait: a large file's login is its parse, not its fsync.
const LARGEST: u64 = 64 * 1024;

/// Whether a login may write its record ahead: it is in CI (it has a record) and validated (there
/// is an answer to wait for), the key goes inline in the trussrc (no keyring entry to read first),
/// no job key is minted (the key written would be another), no `baseten` profile is written and
/// nothing is exported (the record names what is).
pub(super) fn applies(settings: &LoginSettings, ci: bool) -> bool {
    ci && settings.conn.validate
        && settings.storage == Storage::Inline
        && settings.job_key.is_none()
        && settings.baseten.is_none()
        && settings.export.is_none()
        && !settings.isolate
}

/// Stages the record file with the login's record added, from the trussrc as read (`existing`)
/// and the record file as it reads now; `job` is the CI job's identity. `None` when either file
/// is over [`LARGEST`].
pub(super) fn stage(
    (path, remote, remote_url): (&Path, &str, &str),
    key: &ApiKey,
    existing: &Document,
    job: Option<String>,
) -> Result<Option<Ahead>> {
    let file = undo::path_for(path);
    let record_len = std::fs::symlink_metadata(&file).map_or(0, |m| m.len());
    if existing.text.len() as u64 > LARGEST || record_len > LARGEST {
        return Ok(None);
    }
    let block = trussrc::api_key_section(remote, remote_url, Some(key.expose()));
    let mut spliced = existing.with_section(remote, &block);
    let existed = std::fs::symlink_metadata(path).is_ok();
    let new = undo::Record::inline(
        atomic_file::random_token(8),
        job,
        (path, remote),
        (existed.then_some(existing.text.as_str()), existing),
        (
            &std::mem::take(&mut spliced.text),
            spliced.before,
            spliced.after,
        ),
    );
    let before = undo::read(&file)?;
    let mut records = undo::parse(&file, before.as_deref())?;
    let id = undo::record(&mut records, new.clone())?;
    let staged = undo::stage(&file, &records)?;
    drop(records);
    Ok(Some(Ahead {
        before,
        new,
        id,
        staged,
    }))
}

impl Ahead {
    /// The id the login's new record takes: the one staged.
    pub fn record_id(&self) -> &str {
        &self.new.id
    }

    /// The temporary, which the sweep under the lock leaves.
    pub fn temporary(&self) -> &Path {
        self.staged.temporary()
    }

    /// The staged file and the id that undoes the login, if the file is what the login writes
    /// under the lock: the record `new` added to the record file as it reads now (`before`).
    /// Else `None`, and the temporary is removed.
    pub fn matching(self, new: &undo::Record, before: Option<&[u8]>) -> Option<(String, Staged)> {
        (self.new == *new && self.before.as_deref() == before && self.staged.exists())
            .then_some((self.id, self.staged))
    }
}
