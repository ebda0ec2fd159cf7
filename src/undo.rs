//! The write-ahead undo record: what `login` is about to change, made durable before the change,
//! so that `logout --post` undoes exactly that — even after a crash at any point. Records live in
//! a 0600 JSON file beside the trussrc (they may hold a replaced section, and so an older key),
//! each scoped to one CI job. A record applies only to the trussrc it sits beside, only to a
//! section login writes, and only to the env names login exports; one that fails any check is
//! refused whole, before anything is changed.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::settings::check_remote_name;
use crate::trussrc::{Document, Locked, Section};

/// GITHUB_STATE names (the runner hands them back as `STATE_<name>`).
pub const STATE_FILE: &str = "TRUSS_CI_STATE_FILE";
pub const STATE_ID: &str = "TRUSS_CI_STATE_ID";
pub const STATE_TRUSSRC: &str = "TRUSS_CI_TRUSSRC";

/// The only env names a record may clear: the ones login exports.
pub const EXPORTABLE: [&str; 4] = [
    names::BASETEN_API_KEY,
    names::USER_TRUSSRC_PATH,
    names::BASETEN_TRUSS_AUTH_API_KEY,
    names::BASETEN_TRUSS_AUTH_REMOTE_URL,
];

/// A record file larger than this is not one of ours.
const MAX_SIZE: u64 = 4 * 1024 * 1024;

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
    /// Env vars handed to later steps.
    pub exported: Vec<String>,
}

/// Adds what a login is about to do and returns the id to undo it by. A later login of the same
/// job to the same remote is merged into the earliest record, which holds the state before the
/// job: that is what an undo restores.
pub fn record(records: &mut Vec<Record>, new: Record) -> String {
    match records
        .iter_mut()
        .find(|r| r.trussrc == new.trussrc && r.remote == new.remote && r.job == new.job)
    {
        Some(earliest) => {
            if !earliest.keyring && new.keyring {
                earliest.keyring = true;
                earliest.previous_keyring = new.previous_keyring;
            }
            for name in new.exported {
                if !earliest.exported.contains(&name) {
                    earliest.exported.push(name);
                }
            }
            earliest.written_sha256 = new.written_sha256;
            earliest.id.clone()
        }
        None => {
            let id = new.id.clone();
            records.push(new);
            id
        }
    }
}

/// The record file for a trussrc: `.trussrc.truss-ci-state.json` beside `~/.trussrc`.
pub fn path_for(trussrc: &Path) -> PathBuf {
    let name = trussrc.file_name().unwrap_or_default().to_string_lossy();
    let dot = if name.starts_with('.') { "" } else { "." };
    trussrc.with_file_name(format!("{dot}{name}.truss-ci-state.json"))
}

/// Hex SHA-256 of `text`.
pub fn sha256(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn refused(file: &Path, why: &str) -> Error {
    Error::new(
        Kind::Local,
        format!(
            "refusing the undo record {}: {why}; nothing was changed",
            file.display()
        ),
    )
    .with_hint("truss-ci writes this file itself, 0600 and owned by the job's user: remove it if it is not one")
}

/// Reads the records in `file` (none when it does not exist). The file must be a regular file
/// owned by this user and writable by no one else.
pub fn load(file: &Path) -> Result<Vec<Record>> {
    use atomic_file::Refusal;
    let bytes = match atomic_file::read_checked(file, MAX_SIZE, atomic_file::Owner::Me) {
        Ok(bytes) => bytes,
        Err(Refusal::Missing) => return Ok(Vec::new()),
        Err(Refusal::Io(e)) => return Err(Error::local("read", file, &e)),
        Err(why) => return Err(refused(file, &why.to_string())),
    };
    serde_json::from_slice(&bytes)
        .map_err(|e| refused(file, &format!("it is not a truss-ci undo record ({e})")))
}

/// Replaces the records in `file`; an empty list removes it. The caller holds the trussrc's lock.
pub fn save(_held: &Locked, file: &Path, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return atomic_file::remove(file);
    }
    let json = serde_json::to_vec_pretty(records)
        .map_err(|e| Error::unexpected(format!("could not encode the undo record: {e}")))?;
    atomic_file::write(file, &json)
}

/// Checks that `record` is one login could have written for the trussrc beside `file`.
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
            doc.sections.len() == 1
                && doc.sections[0].name == record.remote
                && doc.section_text(&record.remote) == Some(previous.as_str())
        });
        if !one_section {
            return bad(format!(
                "its previous section is not exactly one [{}] section",
                record.remote
            ));
        }
    }
    let separator = |s: &str| s.len() <= 2 && s.chars().all(|c| c == '\n' || c == '\r');
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
    if !hex(&record.written_sha256) || !record.original_sha256.as_deref().is_none_or(hex) {
        return bad("its digests are malformed".into());
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

/// Whether `section` is one login writes: truss's four keys, no others, for Baseten.
pub fn written_by_login(section: &Section) -> bool {
    section.raw("remote_provider") == Some("baseten")
        && section.raw("auth_type") == Some("api_key")
        && section.entries.iter().all(|(k, _)| {
            matches!(
                k.as_str(),
                "remote_provider" | "remote_url" | "auth_type" | "api_key"
            )
        })
}

/// What undoing a record does to the trussrc.
#[derive(Debug, PartialEq, Eq)]
pub enum FileUndo {
    /// The file is as it was before the job (a crash before the change, or no file now).
    Unchanged,
    /// Write this text.
    Write(String),
    /// Remove the file: login created it and nothing else is in it.
    Remove,
    /// The section is no longer one login writes: a later step replaced it, so it is left.
    Replaced,
}

/// The change that puts the locked trussrc back as the record says it was.
pub fn file_undo(locked: &Locked, record: &Record) -> Result<FileUndo> {
    let Some(current) = &locked.existing else {
        return Ok(FileUndo::Unchanged);
    };
    let digest = sha256(current);
    if record.original_sha256.as_deref() == Some(digest.as_str()) {
        return Ok(FileUndo::Unchanged);
    }
    let Some(section) = locked.doc.section(&record.remote) else {
        return Ok(FileUndo::Unchanged);
    };
    if digest != record.written_sha256 && !written_by_login(section) {
        return Ok(FileUndo::Replaced);
    }
    let Some(text) = locked.doc.unsplice(
        &record.remote,
        record.previous_section.as_deref(),
        &record.before,
        &record.after,
    ) else {
        return Ok(FileUndo::Unchanged);
    };
    if record.created_file && text.is_empty() {
        return Ok(FileUndo::Remove);
    }
    Ok(FileUndo::Write(locked.check(text, &[&record.remote])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(remote: &str) -> Record {
        Record {
            id: "id".into(),
            job: Some("gitlab:1".into()),
            trussrc: PathBuf::from("/h/.trussrc"),
            remote: remote.into(),
            created_file: false,
            previous_section: None,
            before: "\n".into(),
            after: "\n".into(),
            original_sha256: None,
            written_sha256: sha256(""),
            keyring: false,
            previous_keyring: None,
            exported: vec![],
        }
    }

    #[test]
    fn forged_records_are_refused() {
        let file = path_for(Path::new("/h/.trussrc"));
        authenticate(&rec("baseten"), &file).unwrap();
        let forge: [fn(&mut Record); 8] = [
            |r| r.trussrc = PathBuf::from("/h/.gitconfig"),
            |r| r.remote = "a]b".into(),
            |r| r.previous_section = Some("[core]\nsshCommand = evil\n".into()),
            |r| r.previous_section = Some("[baseten]\nk = v\n[core]\nx = y\n".into()),
            |r| r.exported = vec!["PATH".into()],
            |r| r.after = "\n[x]\n".into(),
            |r| r.written_sha256 = "zz".into(),
            |r| r.previous_keyring = Some("not json".into()),
        ];
        for (i, f) in forge.iter().enumerate() {
            let mut r = rec("baseten");
            f(&mut r);
            let err = authenticate(&r, &file).unwrap_err();
            assert_eq!(err.exit_code(), 5, "forgery {i}");
        }
    }

    #[test]
    fn later_logins_of_one_job_merge_into_the_earliest() {
        let mut records = vec![];
        let first = record(&mut records, rec("a"));
        let mut again = rec("a");
        again.id = "other".into();
        again.written_sha256 = sha256("x");
        again.exported = vec!["BASETEN_API_KEY".into()];
        assert_eq!(record(&mut records, again), first);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].written_sha256, sha256("x"));
        assert_eq!(records[0].exported, ["BASETEN_API_KEY"]);
        let mut other_job = rec("a");
        other_job.job = Some("gitlab:2".into());
        record(&mut records, other_job);
        assert_eq!(records.len(), 2, "another job's login is its own record");
    }
}
