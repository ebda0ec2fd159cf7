//! The undo record's format: what a record holds, how the file is written and read back, and the
//! checks a record must pass before anything acts on it.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::trussrc::{Document, check_remote_name};

use super::Records;

/// GITHUB_STATE names (the runner hands them back as `STATE_<name>`).
pub const STATE_FILE: &str = "TRUSS_CI_STATE_FILE";
pub const STATE_ID: &str = "TRUSS_CI_STATE_ID";
pub const STATE_TRUSSRC: &str = "TRUSS_CI_TRUSSRC";

/// The only env names a record may clear: the ones login exports.
pub const EXPORTABLE: [&str; 5] = [
    names::BASETEN_API_KEY,
    names::BASETEN_REMOTE_URL,
    names::USER_TRUSSRC_PATH,
    names::BASETEN_TRUSS_AUTH_API_KEY,
    names::BASETEN_TRUSS_AUTH_REMOTE_URL,
];

/// A record file larger than this is not one of ours.
pub const MAX_SIZE: u64 = 4 * 1024 * 1024;

/// One job's changes to one remote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: String,
    /// The CI job that logged in (`gitlab:123`); `None` where the platform names none.
    pub job: Option<String>,
    pub trussrc: PathBuf,
    pub remote: String,
    /// The trussrc did not exist before the job's first login.
    pub created_file: bool,
    /// The exact text of the section the job's first login replaced.
    pub previous_section: Option<String>,
    /// Separators the splice added before and after the section.
    pub before: String,
    pub after: String,
    /// SHA-256 of the trussrc before the job's first login (`None`: there was no file).
    pub original_sha256: Option<String>,
    /// SHA-256 of the trussrc the latest login wrote.
    pub written_sha256: String,
    /// A login wrote a keyring entry; `previous_keyring` is what the first one replaced.
    pub keyring: bool,
    pub previous_keyring: Option<String>,
    /// SHA-256 of the keyring entry the latest login wrote (`None` in records written before
    /// chains).
    #[serde(default)]
    pub written_keyring_sha256: Option<String>,
    /// Env vars handed to later steps.
    pub exported: Vec<String>,
    /// A job key's intent, written before the key is created: nothing in the trussrc or the
    /// keyring is this record's, and it takes no part in its remote's chain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub staged: bool,
    /// The keys minted for this job, which its post revokes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub job_keys: Vec<JobKey>,
    /// The `baseten` CLI's `auth.json` files whose undo journals hold this record's profile
    /// writes (`--baseten-profile`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseten: Vec<PathBuf>,
}

/// A key minted for the job: its name (known before the create), its prefix (after), and the API
/// that minted it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JobKey {
    pub name: String,
    pub prefix: Option<String>,
    pub api_url: String,
}

impl Record {
    /// The intent for a job key about to be created.
    pub fn staged(
        id: String,
        job: Option<String>,
        trussrc: &Path,
        remote: &str,
        key: JobKey,
    ) -> Self {
        Self {
            id,
            job,
            trussrc: trussrc.to_owned(),
            remote: remote.to_owned(),
            created_file: false,
            previous_section: None,
            before: String::new(),
            after: String::new(),
            original_sha256: None,
            written_sha256: sha256(""),
            keyring: false,
            previous_keyring: None,
            written_keyring_sha256: None,
            exported: Vec::new(),
            staged: true,
            job_keys: vec![key],
            baseten: Vec::new(),
        }
    }
}

/// The record file for a trussrc: `.trussrc.truss-ci-state.json` beside `~/.trussrc`.
pub fn path_for(trussrc: &Path) -> PathBuf {
    let name = trussrc.file_name().unwrap_or_default().to_string_lossy();
    let dot = if name.starts_with('.') { "" } else { "." };
    trussrc.with_file_name(format!("{dot}{name}.truss-ci-state.json"))
}

pub use crate::atomic_file::sha256;

pub(crate) fn refused(file: &Path, why: &str) -> Error {
    Error::new(
        Kind::Local,
        format!(
            "refusing the undo record {}: {why}; nothing was changed",
            file.display()
        ),
    )
    .with_hint("truss-ci writes this file itself, 0600 and owned by the job's user: remove it if it is not one")
}

/// The bytes of the record file (`None`: there is none), for [`parse`] and to put back as they
/// were (`Journal::put_back`). The file must be a regular file owned by this user and writable by
/// no one else.
pub fn read(file: &Path) -> Result<Option<Vec<u8>>> {
    use atomic_file::Refusal;
    match atomic_file::read_checked(file, MAX_SIZE, atomic_file::Owner::Me) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Refusal::Missing) => Ok(None),
        Err(Refusal::Io(e)) => Err(Error::local("read", file, &e)),
        Err(why) => Err(refused(file, &why.to_string())),
    }
}

/// The records in `bytes`, read from `file` (none: there was no file), each checked and kept
/// as read ([`Records`]).
pub fn parse<'a>(file: &Path, bytes: Option<&'a [u8]>) -> Result<Records<'a>> {
    match bytes {
        Some(bytes) => Records::parse(file, bytes),
        None => Ok(Records::default()),
    }
}

/// The undo record may grow to `len` bytes: every read accepts it. Else exit 5, nothing written.
pub fn fits(file: &Path, len: u64) -> Result<()> {
    if len <= MAX_SIZE {
        return Ok(());
    }
    Err(Error::new(
        Kind::Local,
        format!(
            "the undo record {} would grow to {len} bytes, over the {MAX_SIZE} that truss-ci reads back; nothing was written",
            file.display()
        ),
    )
    .with_hint("run `truss-ci logout --post` in the jobs that logged in (or remove the file once no job is running)"))
}

/// What one more record for a section of `section_len` bytes adds to the undo record, at most
/// (the section's text escaped, and the rest of a record).
pub fn growth(section_len: usize) -> u64 {
    2 * section_len as u64 + 4096
}

/// Checks that `record` is one login could have written for the trussrc beside `file` (its job
/// keys are checked by `job_key::authenticate`, where they are used).
pub fn authenticate(record: &Record, file: &Path) -> Result<()> {
    let bad = |why: String| Err(refused(file, &why));
    if path_for(&record.trussrc) != file {
        return bad(format!(
            "it names {}, not the trussrc it sits beside",
            record.trussrc.display()
        ));
    }
    if check_remote_name(&record.remote).is_err() {
        return bad("its remote name is not one login writes".into());
    }
    if let Some(previous) = &record.previous_section {
        let one_section = Document::parse(previous).ok().is_some_and(|doc| {
            doc.sections().len() == 1
                && doc
                    .sections()
                    .next()
                    .is_some_and(|s| s.name == record.remote)
                && doc.section_text(&record.remote) == Some(previous.as_str())
        });
        if !one_section {
            return bad(format!(
                "its previous section is not exactly one [{}] section",
                record.remote
            ));
        }
    }
    // An append after a last line without its ending adds up to three (`\r\n\n`); a chain's
    // takeovers add the next one's.
    let separator = |s: &str| s.len() <= 8 && s.chars().all(|c| c == '\n' || c == '\r');
    if !separator(&record.before) || !separator(&record.after) {
        return bad("its separators are not line endings".into());
    }
    if let Some(name) = record
        .exported
        .iter()
        .find(|n| !EXPORTABLE.contains(&n.as_str()))
    {
        return bad(format!("it would clear {name}, which login never exports"));
    }
    let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(&record.written_sha256)
        || !record.original_sha256.as_deref().is_none_or(hex)
        || !record.written_keyring_sha256.as_deref().is_none_or(hex)
    {
        return bad("its digests are malformed".into());
    }
    if record
        .baseten
        .iter()
        .any(|f| !f.is_absolute() || f.file_name() != Some("auth.json".as_ref()))
    {
        return bad(
            "it names a baseten CLI file that is not an absolute path to an auth.json".into(),
        );
    }
    if let Some(previous) = &record.previous_keyring {
        let payload = serde_json::from_str::<serde_json::Value>(previous)
            .ok()
            .is_some_and(|v| v.get("auth_type").is_some_and(serde_json::Value::is_string));
        if !payload {
            return bad("its previous keyring entry is not one truss writes".into());
        }
    }
    Ok(())
}
