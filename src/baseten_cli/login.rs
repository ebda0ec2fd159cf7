//! A login's write to the `baseten` CLI's store: planned under the store's lock (what was there
//! is read, so that the undo record can say it before anything changes), then applied, or rolled
//! back whole.
use std::path::Path;
use std::time::Duration;

use super::auth_file::{AuthFile, Profile};
use super::journal::{self, Entry};
use super::{KEYRING_SERVICE, Store};
use crate::atomic_file::sha256;
use crate::error::Result;
use crate::keyring_store::{Keyring, Unavailable};
use crate::output::Output;
use crate::secret::{ApiKey, Sensitive};

/// The CLI's own words when its keyring cannot be used (`SetAPIKeyProfile`).
const PLAINTEXT_WARNING: &str =
    "could not store credentials in system keyring, storing in plain text";

/// What the login does to the keyring entry `baseten-profile`/name.
enum Slot {
    /// Nothing: the key goes in the file, and no entry shadows it.
    Untouched,
    /// The key goes in the file; this entry, which the CLI would read first, is removed.
    Unshadow(Sensitive),
    /// The key goes in the keyring, replacing this entry (`None`: there was none).
    Store(Option<Sensitive>),
}

/// Where the profile's key went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyIn {
    File,
    Keyring,
}

impl KeyIn {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyIn::File => "file",
            KeyIn::Keyring => "keyring",
        }
    }
}

/// A profile write, planned (its journal entry written ahead, in CI) and not yet applied.
pub struct Write<'a> {
    /// The file's new bytes, written and fsynced beside it while the journal entry was saved
    /// (dropped before the store: an unused temporary goes while the lock is held).
    staged: Option<crate::atomic_file::Staged>,
    store: Store,
    name: String,
    remote_url: String,
    switch: bool,
    slot: Slot,
    keyring: &'a Keyring,
    /// The keyring entry was changed (a rollback puts it back).
    changed_entry: bool,
    /// What the journal says of this write (`None`: not in CI, no journal).
    entry: Option<Entry>,
    /// The journal's entries before this login, once saved (a rollback puts them back).
    journal_before: Option<Vec<Entry>>,
}

/// The trussrc undo record a CI login's profile write belongs to: its id and the job.
pub struct Scope<'s> {
    pub record: &'s str,
    pub job: Option<&'s str>,
}

impl<'a> Write<'a> {
    /// Locks and reads `path` and the keyring entry the write replaces; in CI (`scope`), writes
    /// the journal entry that says so before anything changes. `in_keyring`: the key is to go in
    /// the keyring (`--storage keyring`); where none is usable, in the file instead, with the
    /// CLI's warning.
    #[allow(clippy::too_many_arguments)]
    pub fn plan(
        path: &Path,
        (name, remote_url, switch): (&str, &str, bool),
        in_keyring: bool,
        key: &ApiKey,
        keyring: &'a Keyring,
        scope: Option<Scope<'_>>,
        (out, wait): (&Output, Duration),
    ) -> Result<Self> {
        let store = Store::open(path, wait)?;
        let slot = plan_slot(name, in_keyring, keyring, out);
        let previous_current = store.file.current.clone();
        let mut write = Self {
            entry: None,
            journal_before: None,
            name: name.to_owned(),
            remote_url: remote_url.to_owned(),
            switch,
            keyring,
            changed_entry: false,
            slot,
            store,
            staged: None,
        };
        if let Some(scope) = scope {
            let entry = Entry {
                record: scope.record.to_owned(),
                job: scope.job.map(str::to_owned),
                profile: name.to_owned(),
                created_file: write.store.existing.is_none(),
                previous: write.store.profile_json(name),
                written_sha256: sha256(&write.profile(key).to_json()),
                switched: switch && previous_current != name,
                previous_current,
                keyring: !matches!(write.slot, Slot::Untouched),
                previous_keyring: match &write.slot {
                    Slot::Untouched | Slot::Store(None) => None,
                    Slot::Unshadow(p) | Slot::Store(Some(p)) => Some(p.expose().to_owned()),
                },
                written_keyring_sha256: matches!(write.slot, Slot::Store(_))
                    .then(|| sha256(key.expose())),
            };
            write.entry = Some(entry);
            if matches!(write.slot, Slot::Store(_)) {
                write.save_entry()?;
            } else {
                // The key goes in the file: its new bytes are final, and are written and fsynced
                // beside it while the entry is saved; only their rename waits for the entry.
                let mut file = write.store.file.clone();
                write.with_profile(&mut file, key);
                let path = write.store.path.clone();
                let (saved, staged) = crate::atomic_file::staged_while(
                    || super::store::stage(&path, &file),
                    || write.save_entry(),
                );
                match (saved, staged) {
                    (Ok(()), Ok(staged)) => write.staged = Some(staged),
                    // The entry is saved, the file's bytes are not: the journal is put back.
                    (Ok(()), Err(e)) => {
                        write.rollback();
                        return Err(e);
                    }
                    (Err(e), _) => return Err(e),
                }
            }
        }
        Ok(write)
    }

    /// `file` with this login's profile in it (and current, when it switches).
    fn with_profile(&self, file: &mut AuthFile, key: &ApiKey) {
        file.profiles.insert(self.name.clone(), self.profile(key));
        if self.switch {
            file.current.clone_from(&self.name);
        }
    }

    /// Adds this login's entry to the journal as it was before the login, and saves it.
    fn save_entry(&mut self) -> Result<()> {
        let Some(entry) = &self.entry else {
            return Ok(());
        };
        if self.journal_before.is_none() {
            self.journal_before = Some(journal::load(&self.store.path)?);
        }
        let mut entries = self.journal_before.clone().unwrap_or_default();
        journal::add(&mut entries, entry.clone());
        journal::save(&self.store.path, &entries)
    }

    /// Where the key goes.
    pub fn key_in(&self) -> KeyIn {
        if matches!(self.slot, Slot::Store(_)) {
            KeyIn::Keyring
        } else {
            KeyIn::File
        }
    }

    /// The profile this login writes.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn profile(&self, key: &ApiKey) -> Profile {
        let inline = if self.key_in() == KeyIn::Keyring {
            ""
        } else {
            key.expose()
        };
        Profile::api_key(&self.remote_url, inline)
    }

    /// Writes the keyring entry, then the file. Where the keyring refuses the key after all, it
    /// goes in the file, and the journal says so first.
    pub fn apply(&mut self, key: &ApiKey, out: &Output) -> Result<()> {
        match &self.slot {
            Slot::Untouched => {}
            Slot::Unshadow(_) => match self.keyring.delete_in(KEYRING_SERVICE, &self.name) {
                Ok(_) => self.changed_entry = true,
                Err(Unavailable(why)) => out.warn(&format!(
                    "the keyring entry {KEYRING_SERVICE}/{} could not be removed ({why}): the baseten CLI reads it before the key in {}",
                    self.name,
                    self.store.path.display()
                )),
            },
            Slot::Store(_) => {
                let secret = Sensitive::new(key.expose().to_owned());
                match self.keyring.set_in(KEYRING_SERVICE, &self.name, &secret) {
                    Ok(()) => self.changed_entry = true,
                    Err(Unavailable(why)) => {
                        tracing::debug!("keyring refused the baseten CLI's profile: {why}");
                        out.warn(&format!(
                            "baseten CLI profile {}: {PLAINTEXT_WARNING}",
                            self.name
                        ));
                        self.slot = Slot::Untouched;
                        let written = sha256(&self.profile(key).to_json());
                        if let Some(entry) = &mut self.entry {
                            entry.keyring = false;
                            entry.previous_keyring = None;
                            entry.written_keyring_sha256 = None;
                            entry.written_sha256 = written;
                        }
                        // Write-ahead: the journal says the key is in the file before it is.
                        self.save_entry()?;
                    }
                }
            }
        }
        let mut file = std::mem::take(&mut self.store.file);
        self.with_profile(&mut file, key);
        self.store.file = file;
        // Staged while the entry was saved, when the key was to go in the file from the start.
        match self.staged.take() {
            Some(staged) => staged.commit(crate::atomic_file::Durable::Bytes),
            None => self.store.write_as(crate::atomic_file::Durable::Bytes),
        }
    }

    /// Puts the file, the keyring entry and the journal back as they were.
    pub fn rollback(self) {
        let _ = self.store.restore();
        if self.changed_entry {
            let previous = match &self.slot {
                Slot::Unshadow(p) | Slot::Store(Some(p)) => Some(p),
                _ => None,
            };
            let _ = self
                .keyring
                .restore_in(KEYRING_SERVICE, &self.name, previous);
        }
        if let Some(entries) = &self.journal_before {
            let _ = journal::save(&self.store.path, entries);
        }
    }
}

/// What the login does to the keyring entry, from what is there now.
fn plan_slot(name: &str, in_keyring: bool, keyring: &Keyring, out: &Output) -> Slot {
    if keyring.is_disabled() {
        if in_keyring {
            out.warn(&format!("baseten CLI profile {name}: {PLAINTEXT_WARNING}"));
        }
        return Slot::Untouched;
    }
    match (keyring.get_in(KEYRING_SERVICE, name), in_keyring) {
        (Ok(previous), true) => Slot::Store(previous),
        (Ok(Some(previous)), false) => Slot::Unshadow(previous),
        (Ok(None), false) => Slot::Untouched,
        (Err(Unavailable(why)), in_keyring) => {
            tracing::debug!("keyring unusable for the baseten CLI's profile: {why}");
            if in_keyring {
                out.warn(&format!("baseten CLI profile {name}: {PLAINTEXT_WARNING}"));
            }
            Slot::Untouched
        }
    }
}

/// A remote being logged out of: its name, the key its section held and its remote URL.
pub struct Section {
    pub remote: String,
    pub key: ApiKey,
    pub remote_url: String,
}

/// `logout`: removes the profile named like each remote logged out of when it holds that
/// section's key and remote (what `login --baseten-profile` writes by default), with its keyring
/// entry; a profile with another name, key or remote, or an OAuth one, is not truss-ci's and
/// stays. A key in the keyring is looked up only for a profile that has no key in the file.
/// Returns the profiles removed.
pub fn forget(
    path: &Path,
    sections: &[Section],
    keyring: &Keyring,
    wait: Duration,
) -> Result<Vec<String>> {
    if sections.is_empty() {
        return Ok(Vec::new());
    }
    let mut store = Store::open(path, wait)?;
    let mut removed = Vec::new();
    for section in sections {
        let Some(profile) = store.file.profiles.get(&section.remote) else {
            continue;
        };
        let url = super::cli_remote_url(&section.remote_url).ok();
        if profile.auth_type != "api_key" || url.as_deref() != Some(profile.remote_url.as_str()) {
            continue;
        }
        let in_keyring = profile.api_key.is_empty();
        let held = if in_keyring {
            keyring
                .get_in(KEYRING_SERVICE, &section.remote)
                .ok()
                .flatten()
                .is_some_and(|entry| entry.expose() == section.key.expose())
        } else {
            profile.api_key == section.key.expose()
        };
        if held {
            store.file.profiles.remove(&section.remote);
            if store.file.current == section.remote {
                store.file.current.clear();
            }
            removed.push((section.remote.clone(), in_keyring));
        }
    }
    if removed.is_empty() {
        return Ok(Vec::new());
    }
    store.write()?;
    for (name, in_keyring) in &removed {
        if *in_keyring {
            let _ = keyring.delete_in(KEYRING_SERVICE, name);
        }
    }
    Ok(removed.into_iter().map(|(name, _)| name).collect())
}
