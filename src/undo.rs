//! The write-ahead undo record: what `login` is about to change, made durable before the change,
//! so that `logout --post` undoes exactly that — even after a crash at any point. Records live in
//! a 0600 JSON file beside the trussrc (they may hold a replaced section, and so an older key),
//! each scoped to one CI job. A record applies only to the trussrc it sits beside, only to a
//! section login writes, and only to the env names login exports; one that fails any check is
//! refused whole, before anything is changed.
//!
//! The records of one remote form a chain in the order their logins took it over. Only the
//! newest is live; a post for an older one leaves the live login alone and hands what it would
//! have restored to the record that took over from it, so that the last post restores the state
//! before the first login and an ended job's key is left in no file.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file;
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::trussrc::check_remote_name;
use crate::trussrc::{Checked, Document, Locked, Section};

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
        }
    }
}

/// Adds what a login is about to do and returns the id to undo it by. A later login of the same
/// job to the same remote is merged into the job's record while that record is still the newest
/// of the remote's chain: it holds the state before the job, which is what an undo restores. Once
/// another job has logged in after it, the later login takes over from that job like any other,
/// in a record of its own under the same id.
pub fn record(records: &mut Vec<Record>, new: Record) -> String {
    let same_remote = |r: &Record| r.trussrc == new.trussrc && r.remote == new.remote && !r.staged;
    let same_job = |r: &Record| new.job.is_some() && r.job == new.job;
    if let Some(newest) = records.iter_mut().rev().find(|r| same_remote(r))
        && same_job(newest)
    {
        if !newest.keyring && new.keyring {
            newest.keyring = true;
            newest.previous_keyring = new.previous_keyring;
        }
        if new.keyring {
            newest.written_keyring_sha256 = new.written_keyring_sha256;
        }
        for name in new.exported {
            if !newest.exported.contains(&name) {
                newest.exported.push(name);
            }
        }
        newest.job_keys.extend(new.job_keys);
        newest.written_sha256 = new.written_sha256;
        return newest.id.clone();
    }
    let id = records
        .iter()
        .find(|r| same_remote(r) && same_job(r))
        .map_or_else(|| new.id.clone(), |earlier| earlier.id.clone());
    records.push(Record {
        id: id.clone(),
        ..new
    });
    id
}

/// What a post still has to do itself for a record it takes out of its chain.
#[derive(Debug, PartialEq, Eq)]
pub struct Duty {
    /// Undo the record's change to the trussrc: its section is the live one.
    pub file: bool,
    /// What to do with the keyring entry.
    pub keyring: KeyringDuty,
}

/// What a post does with the keyring entry of a record it takes out of its chain.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyringDuty {
    /// Nothing: the record wrote none, or a later login wrote over it.
    Leave,
    /// Put back the entry the record replaced: no later login replaced it since.
    Restore,
    /// Put it back only if the entry is still what the next login found (SHA-256 `found`), and
    /// not what it writes (`written`): that login was killed before writing its own.
    RestoreIfStill {
        found: Option<String>,
        written: Option<String>,
    },
}

impl KeyringDuty {
    /// Whether to put the entry back, given the SHA-256 of the entry now.
    pub fn restores(&self, now: Option<&str>) -> bool {
        match self {
            KeyringDuty::Leave => false,
            KeyringDuty::Restore => true,
            KeyringDuty::RestoreIfStill { found, written } => {
                found.as_deref() == now && written.as_deref() != now
            }
        }
    }
}

/// Takes record `i` out of its remote's chain; `current` is the trussrc's text now, under the
/// lock. When a later record of the same remote took over the section from it, that record gets
/// its state before (the section, the separators the first splice added, whether the file
/// existed): the later one's post restores what was there before both, and the section this one
/// wrote (and its key) is in no record any more. Likewise for the keyring entry. The record that
/// gets the state is authenticated first; `file` names the record file, for the refusal.
pub fn retire(
    records: &mut Vec<Record>,
    i: usize,
    current: Option<&str>,
    file: &Path,
) -> Result<(Record, Duty)> {
    let retired = records.remove(i);
    if retired.staged {
        let duty = Duty {
            file: false,
            keyring: KeyringDuty::Leave,
        };
        return Ok((retired, duty));
    }
    let later =
        |r: &&mut Record| r.trussrc == retired.trussrc && r.remote == retired.remote && !r.staged;
    let mut duty = Duty {
        file: true,
        keyring: if retired.keyring {
            KeyringDuty::Restore
        } else {
            KeyringDuty::Leave
        },
    };
    let digest = current.map(sha256);
    if let Some(next) = records[i..].iter_mut().find(later) {
        authenticate(next, file)?;
        // The next login never got to write (it was killed after its record): the section is
        // still this one's.
        duty.file = digest == next.original_sha256 && digest.as_ref() != Some(&next.written_sha256);
        hand_over(&retired, next);
    }
    if retired.keyring
        && let Some(next) = records[i..].iter_mut().find(|r| later(r) && r.keyring)
    {
        authenticate(next, file)?;
        let found = std::mem::replace(&mut next.previous_keyring, retired.previous_keyring.clone());
        // If the next login was killed before writing its entry, this one's key is still there:
        // it is put back now (and again, to the same, by that job's post).
        duty.keyring = KeyringDuty::RestoreIfStill {
            found: found.as_deref().map(sha256),
            written: next.written_keyring_sha256.clone(),
        };
    }
    Ok((retired, duty))
}

/// Hands what was there before `retired` to `next`, the later login over it, when `next` took
/// the section over: what it replaced is `retired`'s section, or one like it (which an undo
/// treats as a login's too). A section a step outside truss-ci wrote its own way, or none, is left
/// to the next login's undo as that login found it. So is the file as it was before `retired`:
/// that login was killed before its write, and the next one's record already says what was there.
fn hand_over(retired: &Record, next: &mut Record) {
    let took_over = next.original_sha256 != retired.original_sha256
        && next.previous_section.as_deref().is_some_and(|previous| {
            Document::parse(previous)
                .ok()
                .and_then(|doc| doc.section(&next.remote).as_ref().map(written_by_login))
                .unwrap_or(false)
        });
    if took_over {
        next.previous_section.clone_from(&retired.previous_section);
        next.created_file = retired.created_file;
        next.original_sha256.clone_from(&retired.original_sha256);
        next.before = format!("{}{}", retired.before, next.before);
        next.after = format!("{}{}", next.after, retired.after);
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
    match read(file)? {
        Some(bytes) => parse(file, &bytes),
        None => Ok(Vec::new()),
    }
}

/// The bytes of the record file (`None`: there is none), checked as [`load`] checks them, for
/// [`parse`] and to put back as they were ([`put_back`]).
pub fn read(file: &Path) -> Result<Option<Vec<u8>>> {
    use atomic_file::Refusal;
    match atomic_file::read_checked(file, MAX_SIZE, atomic_file::Owner::Me) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(Refusal::Missing) => Ok(None),
        Err(Refusal::Io(e)) => Err(Error::local("read", file, &e)),
        Err(why) => Err(refused(file, &why.to_string())),
    }
}

/// The records in `bytes`, read from `file`.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<Vec<Record>> {
    serde_json::from_slice(bytes)
        .map_err(|e| refused(file, &format!("it is not a truss-ci undo record ({e})")))
}

/// Puts the record file back to `bytes` as [`read`] found them (`None`: no file). The caller
/// holds the trussrc's lock.
pub fn put_back(_held: &Locked, file: &Path, bytes: Option<&[u8]>) -> Result<()> {
    match bytes {
        Some(bytes) => atomic_file::write(file, bytes),
        None => atomic_file::remove(file),
    }
}

/// Replaces the records in `file`; an empty list removes it. The caller holds the trussrc's lock.
pub fn save(_held: &Locked, file: &Path, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return atomic_file::remove(file);
    }
    let json = encode(records)
        .map_err(|e| Error::unexpected(format!("could not encode the undo record: {e}")))?;
    fits(file, json.len() as u64)?;
    atomic_file::write(file, &json)
}

/// A JSON array of the records, one record per line: what a person can read line by line, and
/// what costs least to write and to read back.
fn encode(records: &[Record]) -> serde_json::Result<Vec<u8>> {
    // Room for the largest record file a read accepts, reserved, not touched: the encoder never
    // copies what it wrote so far to grow.
    let mut json = Vec::with_capacity(MAX_SIZE as usize + 1);
    json.push(b'[');
    for (i, record) in records.iter().enumerate() {
        json.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut json, record)?;
    }
    json.extend_from_slice(b"\n]\n");
    Ok(json)
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
    authenticate_job_keys(record).map_err(|why| refused(file, &why))?;
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

/// A record's job keys are ones login mints: named as it names them, with a prefix a key can
/// have, minted by an API reached over https (or http to loopback); a staged record changes
/// nothing else.
fn authenticate_job_keys(record: &Record) -> std::result::Result<(), String> {
    for key in &record.job_keys {
        if crate::commands::job_key::name::parse(&key.name).is_none() {
            return Err("a job key's name is not one login gives".into());
        }
        if !key
            .prefix
            .as_deref()
            .is_none_or(crate::api::keys::prefix_shaped)
        {
            return Err("a job key's prefix is malformed".into());
        }
        let url = crate::settings::normalize_url(&key.api_url, "api_url", false).ok();
        if url.as_deref() != Some(key.api_url.as_str()) {
            return Err("a job key's API is not an https URL (or http to loopback)".into());
        }
    }
    let changes_nothing = !record.keyring
        && record.previous_section.is_none()
        && record.original_sha256.is_none()
        && record.exported.is_empty()
        && record.job_keys.len() == 1;
    if record.staged && !changes_nothing {
        return Err("a staged record changes the trussrc".into());
    }
    Ok(())
}

/// Whether `section` is one login writes: truss's four keys, no others, for Baseten.
pub fn written_by_login(section: &Section) -> bool {
    section.raw("remote_provider") == Some("baseten")
        && section.raw("auth_type") == Some("api_key")
        && section.entries().all(|(k, _)| {
            matches!(
                k,
                "remote_provider" | "remote_url" | "auth_type" | "api_key"
            )
        })
}

/// What undoing a record does to the trussrc.
#[derive(Debug)]
pub enum FileUndo {
    /// The file is as it was before the job (a crash before the change, or no file now).
    Unchanged,
    /// Write this text (checked; read when the check read it).
    Write(Checked),
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
    if digest != record.written_sha256 && !written_by_login(&section) {
        return Ok(FileUndo::Replaced);
    }
    let Some((text, block)) = locked.doc.unsplice_at(
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
    Ok(FileUndo::Write(locked.check_edit(
        text,
        block,
        &record.remote,
    )?))
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
            written_keyring_sha256: None,
            exported: vec![],
            staged: false,
            job_keys: vec![],
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
    fn job_keys_and_staged_records_are_authenticated() {
        let file = path_for(Path::new("/h/.trussrc"));
        let key = JobKey {
            name: "truss-ci-gitlab-1-202611300513".into(),
            prefix: Some("Mint0001".into()),
            api_url: "https://api.baseten.co".into(),
        };
        let staged = Record::staged("s".into(), None, Path::new("/h/.trussrc"), "r", key.clone());
        authenticate(&staged, &file).unwrap();
        let forge: [fn(&mut Record); 5] = [
            |r| r.job_keys[0].name = "my-production-key".into(),
            |r| r.job_keys[0].prefix = Some("a/../b".into()),
            |r| r.job_keys[0].api_url = "http://evil.example".into(),
            |r| r.previous_section = Some("[r]\nk = v\n".into()),
            |r| r.exported = vec!["BASETEN_API_KEY".into()],
        ];
        for (i, f) in forge.iter().enumerate() {
            let mut r = staged.clone();
            f(&mut r);
            assert_eq!(
                authenticate(&r, &file).unwrap_err().exit_code(),
                5,
                "forgery {i}"
            );
        }
        // A staged intent takes no part in its remote's chain.
        let mut records = vec![rec("r"), staged];
        let mut again = rec("r");
        again.job_keys = vec![key];
        record(&mut records, again);
        assert_eq!(records.len(), 2);
        assert_eq!(
            records[0].job_keys.len(),
            1,
            "merged into the job's login, not the intent"
        );
        let (_, duty) = retire(&mut records, 0, Some(""), &file).unwrap();
        assert!(duty.file, "the intent after it is no later login");
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

    #[test]
    fn a_login_after_another_jobs_is_a_new_link_under_the_jobs_id() {
        let mut records = vec![];
        let first = record(&mut records, rec("r"));
        let mut other = rec("r");
        other.job = Some("gitlab:2".into());
        other.id = "other".into();
        record(&mut records, other);
        let mut again = rec("r");
        again.id = "again".into();
        assert_eq!(
            record(&mut records, again),
            first,
            "the job's post finds both"
        );
        assert_eq!(records.len(), 3, "the live section is the later login's");
        let jobless = |id: &str| Record {
            id: id.into(),
            job: None,
            ..rec("s")
        };
        record(&mut records, jobless("n1"));
        assert_eq!(record(&mut records, jobless("n2")), "n2");
        assert_eq!(records.len(), 5, "jobs without an identity never merge");
    }

    #[test]
    fn retiring_an_older_link_hands_its_state_before_to_the_next() {
        let file = path_for(Path::new("/h/.trussrc"));
        let payload = |key: &str| format!(r#"{{"auth_type": "api_key", "api_key": "{key}"}}"#);
        let a = Record {
            previous_section: Some("[r]\nteam = ml\n".into()),
            before: String::new(),
            after: "\n".into(),
            original_sha256: Some(sha256("before")),
            written_sha256: sha256("a"),
            keyring: true,
            previous_keyring: Some(payload("OLD")),
            ..rec("r")
        };
        let other_remote = Record {
            id: "o".into(),
            ..rec("o")
        };
        let b = Record {
            id: "b".into(),
            job: Some("gitlab:2".into()),
            previous_section: Some(
                "[r]\nremote_provider = baseten\nremote_url = https://x\nauth_type = api_key\n"
                    .into(),
            ),
            before: String::new(),
            after: String::new(),
            original_sha256: Some(sha256("a")),
            written_sha256: sha256("b"),
            keyring: true,
            previous_keyring: Some(payload("A")),
            written_keyring_sha256: Some(sha256(&payload("B"))),
            ..rec("r")
        };
        let mut records = vec![a.clone(), other_remote.clone(), b.clone()];
        let (retired, duty) = retire(&mut records, 0, Some("b"), &file).unwrap();
        assert_eq!(retired, a);
        assert!(!duty.file, "the live login is the next one's");
        assert!(
            !duty.keyring.restores(Some(&sha256(&payload("B")))),
            "so is the keyring entry it wrote"
        );
        assert!(
            duty.keyring.restores(Some(&sha256(&payload("A")))),
            "unless it was killed before writing it"
        );
        assert!(!duty.keyring.restores(Some(&sha256(&payload("X")))));
        assert_eq!(records[0], other_remote, "other remotes are untouched");
        let next = &records[1];
        assert_eq!(next.previous_section, a.previous_section);
        assert_eq!((next.before.as_str(), next.after.as_str()), ("", "\n"));
        assert_eq!(next.original_sha256, a.original_sha256);
        assert_eq!(next.previous_keyring, a.previous_keyring);
        assert_eq!(next.written_sha256, b.written_sha256);

        // The next login was killed after its record: the section is still this one's.
        let mut records = vec![a.clone(), b.clone()];
        let (_, duty) = retire(&mut records, 0, Some("a"), &file).unwrap();
        assert!(duty.file);
        assert_eq!(records[0].previous_keyring, a.previous_keyring);
        assert_eq!(records[0].previous_section, a.previous_section);

        // A section written some other way in between is the next login's to restore.
        let hand_made = Record {
            previous_section: Some("[r]\nteam = other\n".into()),
            ..b.clone()
        };
        let mut records = vec![a.clone(), hand_made.clone()];
        retire(&mut records, 0, Some("b"), &file).unwrap();
        assert_eq!(records[0].previous_section, hand_made.previous_section);

        // This login was killed before its write: the next one found the file as it was before.
        let after_a_crash = Record {
            original_sha256: a.original_sha256.clone(),
            ..b.clone()
        };
        let mut records = vec![a.clone(), after_a_crash.clone()];
        retire(&mut records, 0, Some("b"), &file).unwrap();
        assert_eq!(records[0].previous_section, after_a_crash.previous_section);
        assert_eq!(records[0].after, after_a_crash.after);

        // The newest undoes its own change.
        let mut records = vec![a.clone()];
        let (_, duty) = retire(&mut records, 0, Some("a"), &file).unwrap();
        assert!(duty.file && duty.keyring == KeyringDuty::Restore && records.is_empty());
    }
}
