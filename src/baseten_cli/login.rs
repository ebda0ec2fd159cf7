//! A login's write to the `baseten` CLI's store: planned under the store's lock (what was there
//! is read, so that the undo record can say it before anything changes), then applied, or rolled
//! back whole.
use std::path::Path;
use std::time::Duration;

use super::auth_file::Profile;
use super::restore::Recorded;
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
enum Entry {
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

/// A profile write, planned and not yet applied.
pub struct Write<'a> {
    store: Store,
    name: String,
    remote_url: String,
    switch: bool,
    entry: Entry,
    keyring: &'a Keyring,
    /// The keyring entry was changed (a rollback puts it back).
    changed_entry: bool,
    /// What the undo record says of this write.
    pub recorded: Recorded,
}

impl<'a> Write<'a> {
    /// Locks and reads `path` and the keyring entry the write replaces. `in_keyring`: the key
    /// is to go in the keyring (`--storage keyring`); where none is usable, in the file instead,
    /// with the CLI's warning.
    #[allow(clippy::too_many_arguments)]
    pub fn plan(
        path: &Path,
        name: &str,
        remote_url: &str,
        switch: bool,
        in_keyring: bool,
        key: &ApiKey,
        keyring: &'a Keyring,
        (out, wait): (&Output, Duration),
    ) -> Result<Self> {
        let store = Store::open(path, wait)?;
        let entry = if keyring.is_disabled() {
            if in_keyring {
                out.warn(&format!("baseten CLI profile {name}: {PLAINTEXT_WARNING}"));
            }
            Entry::Untouched
        } else {
            match (keyring.get_in(KEYRING_SERVICE, name), in_keyring) {
                (Ok(previous), true) => Entry::Store(previous),
                (Ok(Some(previous)), false) => Entry::Unshadow(previous),
                (Ok(None), false) => Entry::Untouched,
                (Err(Unavailable(why)), in_keyring) => {
                    tracing::debug!("keyring unusable for the baseten CLI's profile: {why}");
                    if in_keyring {
                        out.warn(&format!("baseten CLI profile {name}: {PLAINTEXT_WARNING}"));
                    }
                    Entry::Untouched
                }
            }
        };
        let auth_file = std::path::absolute(path)
            .map_err(|e| crate::error::Error::local("resolve", path, &e))?;
        let previous_current = store.file.current.clone();
        let mut write = Self {
            recorded: Recorded {
                auth_file,
                profile: name.to_owned(),
                created_file: store.existing.is_none(),
                previous: store.profile_json(name),
                written_sha256: String::new(),
                switched: switch && previous_current != name,
                previous_current,
                keyring: !matches!(entry, Entry::Untouched),
                previous_keyring: match &entry {
                    Entry::Untouched | Entry::Store(None) => None,
                    Entry::Unshadow(p) | Entry::Store(Some(p)) => Some(p.expose().to_owned()),
                },
                written_keyring_sha256: matches!(entry, Entry::Store(_))
                    .then(|| sha256(key.expose())),
            },
            store,
            name: name.to_owned(),
            remote_url: remote_url.to_owned(),
            switch,
            entry,
            keyring,
            changed_entry: false,
        };
        write.recorded.written_sha256 = sha256(&write.profile(key).to_json());
        Ok(write)
    }

    /// Where the key goes.
    pub fn key_in(&self) -> KeyIn {
        if matches!(self.entry, Entry::Store(_)) {
            KeyIn::Keyring
        } else {
            KeyIn::File
        }
    }

    fn profile(&self, key: &ApiKey) -> Profile {
        let inline = if self.key_in() == KeyIn::Keyring {
            ""
        } else {
            key.expose()
        };
        Profile::api_key(&self.remote_url, inline)
    }

    /// Writes the keyring entry, then the file. Returns `true` when the key went to the file
    /// after all (the keyring refused it): [`Write::recorded`] changed, and is to be saved again.
    pub fn apply(&mut self, key: &ApiKey, out: &Output) -> Result<bool> {
        let mut changed = false;
        match &self.entry {
            Entry::Untouched => {}
            Entry::Unshadow(_) => match self.keyring.delete_in(KEYRING_SERVICE, &self.name) {
                Ok(_) => self.changed_entry = true,
                Err(Unavailable(why)) => out.warn(&format!(
                    "the keyring entry {KEYRING_SERVICE}/{} could not be removed ({why}): the baseten CLI reads it before the key in {}",
                    self.name,
                    self.store.path.display()
                )),
            },
            Entry::Store(_) => {
                let secret = Sensitive::new(key.expose().to_owned());
                match self.keyring.set_in(KEYRING_SERVICE, &self.name, &secret) {
                    Ok(()) => self.changed_entry = true,
                    Err(Unavailable(why)) => {
                        tracing::debug!("keyring refused the baseten CLI's profile: {why}");
                        out.warn(&format!(
                            "baseten CLI profile {}: {PLAINTEXT_WARNING}",
                            self.name
                        ));
                        self.entry = Entry::Untouched;
                        self.recorded.keyring = false;
                        self.recorded.previous_keyring = None;
                        self.recorded.written_keyring_sha256 = None;
                        self.recorded.written_sha256 = sha256(&self.profile(key).to_json());
                        changed = true;
                    }
                }
            }
        }
        let profile = self.profile(key);
        self.store.file.profiles.insert(self.name.clone(), profile);
        if self.switch {
            self.store.file.current.clone_from(&self.name);
        }
        self.store.write()?;
        Ok(changed)
    }

    /// Puts the file and the keyring entry back as they were.
    pub fn rollback(self) {
        let _ = self.store.restore();
        if self.changed_entry {
            let previous = match &self.entry {
                Entry::Unshadow(p) | Entry::Store(Some(p)) => Some(p),
                _ => None,
            };
            let _ = self
                .keyring
                .restore_in(KEYRING_SERVICE, &self.name, previous);
        }
    }
}

/// A remote being logged out of: its name, the key its section held and its remote URL.
pub struct Section {
    pub remote: String,
    pub key: ApiKey,
    pub remote_url: String,
}

/// `logout`: removes the profiles that hold the key and the remote of a section logged out of
/// (what `login --baseten-profile` wrote), with their keyring entries; a profile with another
/// key or remote, or an OAuth one, is not truss-ci's and stays. A key in the keyring is looked
/// up only for a profile named like the remote. Returns the profiles removed.
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
    let held = |name: &str, profile: &Profile| {
        profile.auth_type == "api_key"
            && sections.iter().any(|s| {
                let url = super::cli_remote_url(&s.remote_url).ok();
                url.as_deref() == Some(profile.remote_url.as_str())
                    && if profile.api_key.is_empty() {
                        s.remote == name
                            && keyring
                                .get_in(KEYRING_SERVICE, name)
                                .ok()
                                .flatten()
                                .is_some_and(|entry| entry.expose() == s.key.expose())
                    } else {
                        profile.api_key == s.key.expose()
                    }
            })
    };
    let removed: Vec<(String, bool)> = store
        .file
        .profiles
        .iter()
        .filter(|(name, profile)| held(name, profile))
        .map(|(name, profile)| (name.clone(), profile.api_key.is_empty()))
        .collect();
    if removed.is_empty() {
        return Ok(Vec::new());
    }
    for (name, _) in &removed {
        store.file.profiles.remove(name);
        if store.file.current == *name {
            store.file.current.clear();
        }
    }
    store.write()?;
    for (name, in_keyring) in &removed {
        if *in_keyring {
            let _ = keyring.delete_in(KEYRING_SERVICE, name);
        }
    }
    Ok(removed.into_iter().map(|(name, _)| name).collect())
}
