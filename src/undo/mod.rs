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
use std::path::Path;

use crate::error::Result;
use crate::trussrc::{Checked, Document, Locked, Section};

mod format;
mod journal;
mod records;

pub use format::*;
pub use journal::{Journal, stage};
pub use records::{Head, Records};

impl Record {
    /// The record of a login that writes `text` (with the separators `before` and `after`) over
    /// the trussrc at `path`, as it held `existing` (`None`: no file) read as `doc`: the key
    /// inline, nothing exported, no job key.
    pub fn inline(
        id: String,
        job: Option<String>,
        (path, remote): (&Path, &str),
        (existing, doc): (Option<&str>, &Document),
        (text, before, after): (&str, String, String),
    ) -> Self {
        Self {
            id,
            job,
            trussrc: path.to_owned(),
            remote: remote.to_owned(),
            created_file: existing.is_none(),
            previous_section: doc.section_text(remote).map(str::to_owned),
            before,
            after,
            original_sha256: existing.map(sha256),
            written_sha256: sha256(text),
            keyring: false,
            previous_keyring: None,
            written_keyring_sha256: None,
            exported: Vec::new(),
            staged: false,
            job_keys: Vec::new(),
            baseten: Vec::new(),
        }
    }
}

/// Adds what a login is about to do and returns the id to undo it by. A later login of the same
/// job to the same remote is merged into the job's record while that record is still the newest
/// of the remote's chain: it holds the state before the job, which is what an undo restores. Once
/// another job has logged in after it, the later login takes over from that job like any other,
/// in a record of its own under the same id.
pub fn record(records: &mut Records<'_>, new: Record) -> Result<String> {
    let same_remote =
        |h: &Head<'_>| h.remote == new.remote && h.trussrc == new.trussrc && !h.staged;
    let same_job = |h: &Head<'_>| new.job.is_some() && h.job == new.job.as_deref();
    let chain = records.find(same_remote);
    if let Some(&newest) = chain.last() {
        let head = records.head(newest);
        if same_job(&head) {
            let newest = records.get_mut(newest)?;
            merge(newest, new);
            return Ok(newest.id.clone());
        }
    }
    let id = chain
        .iter()
        .map(|&i| records.head(i))
        .find(same_job)
        .map_or_else(|| new.id.clone(), |earlier| earlier.id.to_owned());
    records.push(Record {
        id: id.clone(),
        ..new
    });
    Ok(id)
}

/// Merges a later login of the same job into its record, `newest`.
fn merge(newest: &mut Record, new: Record) {
    for file in new.baseten {
        if !newest.baseten.contains(&file) {
            newest.baseten.push(file);
        }
    }
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
    /// not what any later login of the chain writes (`written`): the next login was killed before
    /// writing its own, and a live login's entry is never put back over.
    RestoreIfStill {
        found: Option<String>,
        written: Vec<Option<String>>,
    },
}

impl KeyringDuty {
    /// Whether to put the entry back, given the SHA-256 of the entry now.
    pub fn restores(&self, now: Option<&str>) -> bool {
        match self {
            KeyringDuty::Leave => false,
            KeyringDuty::Restore => true,
            KeyringDuty::RestoreIfStill { found, written } => {
                found.as_deref() == now && !written.iter().any(|w| w.as_deref() == now)
            }
        }
    }
}

/// Takes record `i` out of its remote's chain; `current` is the trussrc's text now, under the
/// lock. When a later record of the same remote took over the section from it, that record gets
/// its state before (the section, the separators the first splice added, whether the file
/// existed): the later one's post restores what was there before both, and the section this one
/// wrote (and its key) is in no record any more. Likewise for the keyring entry. The record that
/// gets the state is authenticated first; `file` names the record file, for the refusal. Its job
/// keys are not this module's to check: a post checks every record of the chains it touches
/// (`job_key::authenticate`) before it retires any.
pub fn retire(
    records: &mut Records<'_>,
    i: usize,
    current: Option<&str>,
    file: &Path,
) -> Result<(Record, Duty)> {
    let retired = records.remove(i)?;
    if retired.staged {
        let duty = Duty {
            file: false,
            keyring: KeyringDuty::Leave,
        };
        return Ok((retired, duty));
    }
    let mut duty = Duty {
        file: true,
        keyring: if retired.keyring {
            KeyringDuty::Restore
        } else {
            KeyringDuty::Leave
        },
    };
    let later: Vec<usize> = records
        .find(|h| h.remote == retired.remote && h.trussrc == retired.trussrc && !h.staged)
        .into_iter()
        .filter(|&j| j >= i)
        .collect();
    // What the later logins of the chain write: a state one of them wrote is a live login's,
    // whatever an earlier one wrote too.
    let mut written = Vec::new();
    let mut entries = Vec::new();
    for &j in &later {
        let r = records.get_mut(j)?;
        written.push(r.written_sha256.clone());
        if r.keyring {
            entries.push(r.written_keyring_sha256.clone());
        }
    }
    if let Some(&j) = later.first() {
        let next = records.get_mut(j)?;
        authenticate(next, file)?;
        let digest = current.map(sha256);
        // The next login never got to write (it was killed after its record): the section is
        // still this one's.
        duty.file =
            digest == next.original_sha256 && !digest.as_ref().is_some_and(|d| written.contains(d));
        hand_over(&retired, next);
    }
    if retired.keyring {
        for &j in &later {
            let next = records.get_mut(j)?;
            if !next.keyring {
                continue;
            }
            authenticate(next, file)?;
            let found =
                std::mem::replace(&mut next.previous_keyring, retired.previous_keyring.clone());
            // If the next login was killed before writing its entry, this one's key is still
            // there: it is put back now (and again, to the same, by that job's post).
            duty.keyring = KeyringDuty::RestoreIfStill {
                found: found.as_deref().map(sha256),
                written: entries,
            };
            break;
        }
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
mod tests;
