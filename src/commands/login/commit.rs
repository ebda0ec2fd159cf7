//! The write: under one hold of the trussrc's lock, the undo record first (write-ahead), then the
//! keyring entry, then the trussrc — and the rollback that puts all three back.

use std::path::Path;

use super::Report;
use super::ahead::Ahead;
use crate::cli::Storage;
use crate::context::Context;
use crate::error::Result;
use crate::keyring_store::{self, Keyring, Unavailable};
use crate::output::Output;
use crate::secret::{ApiKey, Sensitive};
use crate::settings::{BasetenSettings, LoginSettings};
use crate::{baseten_cli, trussrc, undo};

/// What the login does with the keyring entry for its remote.
enum KeyringWrite {
    /// Nothing: the key stays inline in the trussrc.
    None,
    /// The key goes to the keyring, where there was no entry.
    New,
    /// The key goes to the keyring, replacing this entry.
    Replace(Sensitive),
}

impl KeyringWrite {
    fn writes(&self) -> bool {
        !matches!(self, KeyringWrite::None)
    }

    /// The entry a rollback puts back (`None`: delete it).
    fn previous(&self) -> Option<&Sensitive> {
        match self {
            KeyringWrite::Replace(previous) => Some(previous),
            _ => None,
        }
    }
}

/// The CI job that logs in, for the undo record (`job: None`: a CI job with no identity), and the
/// env it exports.
pub(super) struct Scope {
    pub job: Option<String>,
    pub exported: Vec<String>,
    /// The job key minted for this login.
    pub job_keys: Vec<undo::JobKey>,
    /// The id of the job key's staged intent, which this login's record replaces.
    pub staged: Option<String>,
}

/// A login written to disk and still locked: the trussrc, its undo record and the keyring entry,
/// with what they held before, so that the whole of it can be rolled back.
pub(super) struct Commit<'a> {
    journal: undo::Journal,
    remote: String,
    /// The record file before this login, once read: its bytes (`None`: there was none).
    records_before: Option<Option<Vec<u8>>>,
    /// What this login did to the keyring.
    keyring_write: KeyringWrite,
    keyring: &'a Keyring,
    out: &'a Output,
    /// The undo record's id, for the post step.
    pub id: Option<String>,
    /// The staged intent of this login's job key: its own record takes its place.
    staged: Option<String>,
    /// The `baseten` CLI's profile, written (a rollback puts it back).
    baseten: Option<baseten_cli::login::Write<'a>>,
}

impl<'a> Commit<'a> {
    /// Writes the login; the undo record only in CI (`scope`). `read` is the trussrc as read
    /// before the lock: it is not read again when the file has not changed since. `ahead` is what
    /// was staged from it while the API answered ([`super::ahead`]): used if it is exactly what
    /// is written now.
    pub fn write(
        settings: &LoginSettings,
        key: &ApiKey,
        report: &mut Report,
        ctx: &'a Context<'_>,
        (scope, read, ahead): (Option<Scope>, trussrc::Document, Option<Ahead>),
    ) -> Result<Self> {
        let (out, keyring, path) = (ctx.out, &ctx.keyring, &settings.trussrc.path);
        let keep: Vec<&Path> = ahead.iter().map(Ahead::temporary).collect();
        let journal = undo::Journal::open_keeping(path, settings.conn.api.timeout, read, &keep)?;
        let locked = &journal.locked;
        report.remotes = remotes_after(&locked.doc, &report.remote);
        let keyring_write = plan_keyring(settings.storage, keyring, report, out);
        let (mut text, spliced) = splice(locked, report, key, !keyring_write.writes())?;
        let staged = scope.as_ref().and_then(|s| s.staged.clone());
        let auth_file = match &settings.baseten {
            Some(b) => Some(
                std::path::absolute(&b.auth_file)
                    .map_err(|e| crate::error::Error::local("resolve", &b.auth_file, &e))?,
            ),
            None => None,
        };
        let id = ahead.as_ref().map_or_else(
            || crate::atomic_file::random_token(8),
            |a| a.record_id().to_owned(),
        );
        let mut record = scope.map(|scope| undo::Record {
            keyring: keyring_write.writes(),
            previous_keyring: keyring_write.previous().map(|p| p.expose().to_owned()),
            written_keyring_sha256: keyring_write
                .writes()
                .then(|| undo::sha256(keyring_store::api_key_payload(key).expose())),
            exported: scope.exported,
            staged: false,
            job_keys: scope.job_keys,
            // The baseten CLI's journal that this login's profile write goes in.
            baseten: auth_file.iter().cloned().collect(),
            ..undo::Record::inline(
                id,
                scope.job,
                (path, &report.remote),
                (locked.existing.as_deref(), &locked.doc),
                (&text, spliced.before, spliced.after),
            )
        });
        let mut commit = Self {
            journal,
            remote: report.remote.clone(),
            records_before: None,
            keyring_write: KeyringWrite::None,
            keyring,
            out,
            id: None,
            staged,
            baseten: None,
        };
        // Write-ahead: the record is durable before anything it describes changes; the baseten
        // CLI's journal entry, which names the record, is too.
        let mut staged = None;
        if let Some(new) = &record {
            let inline = !keyring_write.writes();
            match commit.save_ahead(new, inline, (settings, report), key, (&text, ahead)) {
                Ok(bytes) => staged = bytes,
                Err(e) => {
                    commit.rollback();
                    return Err(e);
                }
            }
        }
        let job = record.as_ref().and_then(|r| r.job.clone());
        // The profile may be planned already, beside the record.
        let written = if commit.baseten.is_some() {
            Ok(())
        } else {
            commit.plan_baseten(settings, report, key, job.as_deref())
        };
        let written = written.and_then(|()| {
            if keyring_write.writes() {
                commit.set_keyring(keyring_write, key, report, out, &mut text, record.as_mut())
            } else {
                Ok(())
            }
        });
        // The file's bytes reach the disk before it takes its name, and the name needs no fsync
        // of its own: a power cut that loses the rename leaves the file as it was, whole (in CI
        // the record that undoes the login is on disk already, its directory synced, and its
        // post then finds the file unchanged).
        let written = written.and_then(|()| match staged {
            Some(staged) => staged.commit(crate::atomic_file::Durable::Bytes),
            None => {
                let locked = &commit.journal.locked;
                locked.write_as(&text, crate::atomic_file::Durable::Bytes)
            }
        });
        let written = written.and_then(|()| match &mut commit.baseten {
            Some(write) => {
                write.apply(key, out)?;
                report.baseten = Some((write.name().to_owned(), write.key_in()));
                Ok(())
            }
            None => Ok(()),
        });
        if let Err(e) = written {
            commit.rollback();
            return Err(e);
        }
        Ok(commit)
    }

    /// With `--baseten-profile`: reads the baseten CLI's store under its lock and, in CI, writes
    /// its journal entry (naming this login's record) before anything changes.
    fn plan_baseten(
        &mut self,
        settings: &LoginSettings,
        report: &Report,
        key: &ApiKey,
        job: Option<&str>,
    ) -> Result<()> {
        let Some(b) = &settings.baseten else {
            return Ok(());
        };
        let scope = self
            .id
            .as_deref()
            .map(|record| baseten_cli::login::Scope { record, job });
        self.baseten = Some(plan_profile(
            b,
            settings,
            report,
            key,
            scope,
            (self.keyring, self.out),
        )?);
        Ok(())
    }

    /// Saves the record `new`. When the trussrc's new bytes are final already (`inline`: no
    /// keyring write can change them), they are written and fsynced beside it meanwhile, on a
    /// thread of their own: the fsyncs overlap, and only the rename waits for the record; so is
    /// the baseten CLI's profile planned and its journal entry saved. The record file staged
    /// while the API answered (`ahead`) is saved by its rename when it is what would be saved
    /// now. Returns the trussrc's bytes, staged. On an error the caller rolls back.
    fn save_ahead(
        &mut self,
        new: &undo::Record,
        inline: bool,
        (settings, report): (&LoginSettings, &Report),
        key: &ApiKey,
        (text, ahead): (&str, Option<Ahead>),
    ) -> Result<Option<crate::atomic_file::Staged>> {
        if !inline {
            return self.save_record(new).map(|()| None);
        }
        let staged_record = match ahead {
            Some(ahead) => {
                let before = self.journal.bytes()?;
                let matched = ahead.matching(new, before.as_deref());
                self.records_before = Some(before);
                matched
            }
            None => None,
        };
        if staged_record.is_none()
            && let Some(b) = &settings.baseten
        {
            return self
                .save_beside_baseten(new, (settings, b, report), key, text)
                .map(Some);
        }
        let path = &settings.trussrc.path;
        let (saved, bytes) = crate::atomic_file::staged_while(
            || trussrc::stage(path, text),
            || match staged_record {
                Some((id, record)) => record
                    .commit(crate::atomic_file::Durable::Named)
                    .map(|()| self.id = Some(id)),
                None => self.save_record(new),
            },
        );
        saved?;
        Ok(Some(bytes?))
    }

    /// In CI, with `--baseten-profile` and the key inline: the record is saved and the trussrc's
    /// new bytes are written and fsynced on two threads while this one plans the profile and
    /// saves its journal entry (which names the record, whose id is known before it is saved).
    /// Returns the trussrc's bytes, staged; on any failure all of it is put back.
    fn save_beside_baseten(
        &mut self,
        new: &undo::Record,
        (settings, b, report): (&LoginSettings, &BasetenSettings, &Report),
        key: &ApiKey,
        text: &str,
    ) -> Result<crate::atomic_file::Staged> {
        let path = &settings.trussrc.path;
        let before = self.journal.bytes()?;
        let mut records = self.journal.parse(before.as_deref())?;
        if let Some(staged) = &self.staged {
            records.retain(|h| !(h.staged && h.id == staged));
        }
        let id = undo::record(&mut records, new.clone())?;
        let (journal, keyring, out) = (&self.journal, self.keyring, self.out);
        let scope = baseten_cli::login::Scope {
            record: &id,
            job: new.job.as_deref(),
        };
        let (saved, bytes, profile) = std::thread::scope(|s| {
            let saving = s.spawn(|| journal.save(&records));
            let staging = s.spawn(|| trussrc::stage(path, text));
            let profile = plan_profile(b, settings, report, key, Some(scope), (keyring, out));
            let saved = crate::atomic_file::joined(saving);
            (saved, crate::atomic_file::joined(staging), profile)
        });
        drop(records);
        self.records_before = Some(before);
        self.id = Some(id);
        // What was written (the record, the journal entry) the caller's rollback puts back.
        let profile = match profile {
            Ok(profile) => {
                self.baseten = Some(profile);
                None
            }
            Err(e) => Some(e),
        };
        match (saved, bytes, profile) {
            (Ok(()), Ok(bytes), None) => Ok(bytes),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Some(e)) => Err(e),
        }
    }

    /// Puts the key in the keyring; where none is usable after all, inline in `text` instead,
    /// with the record saved again to say so.
    fn set_keyring(
        &mut self,
        write: KeyringWrite,
        key: &ApiKey,
        report: &mut Report,
        out: &Output,
        text: &mut String,
        record: Option<&mut undo::Record>,
    ) -> Result<()> {
        match self
            .keyring
            .set(&report.remote, &keyring_store::api_key_payload(key))
        {
            Ok(()) => {
                self.keyring_write = write;
                report.storage = Storage::Keyring;
            }
            Err(Unavailable(why)) => {
                plaintext_warning(&why, report, out);
                *text = splice(&self.journal.locked, report, key, true)?.0;
                if let Some(new) = record {
                    new.written_sha256 = undo::sha256(text);
                    self.save_record(new)?;
                }
            }
        }
        Ok(())
    }

    /// Adds `new` to the records as they were before this login, and saves them.
    fn save_record(&mut self, new: &undo::Record) -> Result<()> {
        if self.records_before.is_none() {
            self.records_before = Some(self.journal.bytes()?);
        }
        let before = self.records_before.as_ref().and_then(Option::as_deref);
        let mut records = self.journal.parse(before)?;
        if let Some(staged) = &self.staged {
            records.retain(|h| !(h.staged && h.id == staged));
        }
        self.id = Some(undo::record(&mut records, new.clone())?);
        self.journal.save(&records)
    }

    /// Puts the trussrc, the keyring entry and the undo records back as they were.
    pub fn rollback(self) {
        if let Some(write) = self.baseten {
            write.rollback();
        }
        let _ = self.journal.locked.restore();
        if self.keyring_write.writes() {
            let _ = self
                .keyring
                .restore(&self.remote, self.keyring_write.previous());
        }
        if let Some(bytes) = &self.records_before {
            let _ = self.journal.put_back(bytes.as_deref());
        }
    }
}

/// With `--baseten-profile`: reads the baseten CLI's store under its lock and, in CI (`scope`),
/// writes its journal entry (naming this login's record) before anything changes.
fn plan_profile<'a>(
    b: &BasetenSettings,
    settings: &LoginSettings,
    report: &Report,
    key: &ApiKey,
    scope: Option<baseten_cli::login::Scope<'_>>,
    (keyring, out): (&'a Keyring, &Output),
) -> Result<baseten_cli::login::Write<'a>> {
    baseten_cli::login::Write::plan(
        &b.auth_file,
        (
            &b.profile,
            &baseten_cli::cli_remote_url(&report.remote_url)?,
            b.switch,
        ),
        settings.storage == Storage::Keyring,
        key,
        keyring,
        scope,
        (out, settings.conn.api.timeout),
    )
}

/// How many remotes the trussrc holds once `remote` is written, and the first few by name.
fn remotes_after(doc: &trussrc::Document, remote: &str) -> (usize, Vec<String>) {
    const NAMED: usize = 5;
    let added = doc.section(remote).is_none();
    let names = doc.remotes().chain(added.then_some(remote));
    let count = doc.remotes().count() + usize::from(added);
    (count, names.take(NAMED).map(str::to_owned).collect())
}

/// The locked trussrc with the login's section in place (the key inline or not), checked.
fn splice(
    locked: &trussrc::Locked,
    report: &Report,
    key: &ApiKey,
    inline: bool,
) -> Result<(String, trussrc::Spliced)> {
    let block = trussrc::api_key_section(
        &report.remote,
        &report.remote_url,
        inline.then(|| key.expose()),
    );
    let mut spliced = locked.doc.with_section(&report.remote, &block);
    locked.check_splice(&spliced, &report.remote)?;
    let text = std::mem::take(&mut spliced.text);
    Ok((text, spliced))
}

/// With `--storage keyring`: the keyring write the login is about to make, after reading the
/// entry it will replace. Otherwise the key stays inline — after the single warning truss itself
/// prints when the keyring is unusable, or silently when it is disabled by env.
fn plan_keyring(
    storage: Storage,
    keyring: &Keyring,
    report: &Report,
    out: &Output,
) -> KeyringWrite {
    if storage != Storage::Keyring || keyring.is_disabled() {
        return KeyringWrite::None;
    }
    match keyring.get(&report.remote) {
        Ok(Some(previous)) => KeyringWrite::Replace(previous),
        Ok(None) => KeyringWrite::New,
        Err(Unavailable(why)) => {
            plaintext_warning(&why, report, out);
            KeyringWrite::None
        }
    }
}

fn plaintext_warning(why: &str, report: &Report, out: &Output) {
    tracing::debug!("keyring unusable: {why}");
    out.warn_verbatim(&format!(
        "Warning: no usable OS keyring backend; storing credentials for {} in plaintext in {}.",
        report.remote,
        report.trussrc.path.display()
    ));
}
