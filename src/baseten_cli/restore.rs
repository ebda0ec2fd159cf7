//! The `baseten` CLI's part of an undo record: what a login did to a profile, to its keyring
//! entry and to `current`, and how a post puts them back — in a chain of overlapping jobs, as for
//! the trussrc (`crate::undo`): a post for an older login hands what it would restore to the later
//! login that took the profile over, and the last post restores the state before the first.
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::auth_file::Profile;
use super::{KEYRING_SERVICE, Store, check_profile_name};
use crate::atomic_file::sha256;
use crate::error::{Error, Result};
use crate::keyring_store::{Keyring, Unavailable};
use crate::secret::Sensitive;

/// What one job's logins did to one profile of the `baseten` CLI.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// The `auth.json` written.
    pub auth_file: PathBuf,
    pub profile: String,
    /// `auth.json` did not exist before the job's first login.
    pub created_file: bool,
    /// The profile before the job's first login, as `json.Marshal` writes it (it may hold an
    /// older key: the record is 0600); `None`: there was none.
    pub previous: Option<String>,
    /// SHA-256 of the profile the latest login wrote (its `json.Marshal` form).
    pub written_sha256: String,
    /// The login made the profile `current`; `previous_current` is what was current before
    /// (empty: none).
    pub switched: bool,
    pub previous_current: String,
    /// A login changed the keyring entry `baseten-profile`/profile; `previous_keyring` is what
    /// the first one replaced, `written_keyring_sha256` what the latest one left (`None`: it
    /// removed an entry that would have shadowed the key in the file).
    pub keyring: bool,
    pub previous_keyring: Option<String>,
    pub written_keyring_sha256: Option<String>,
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorded")
            .field("auth_file", &self.auth_file)
            .field("profile", &self.profile)
            .field("created_file", &self.created_file)
            .field("previous", &self.previous.as_ref().map(|_| "****"))
            .field("switched", &self.switched)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl Recorded {
    pub fn same_profile(&self, other: &Recorded) -> bool {
        self.auth_file == other.auth_file && self.profile == other.profile
    }

    /// Merges a later login of the same job into this record: the state before the job stays,
    /// what was written is the later login's. `false` (nothing merged) for another profile.
    pub fn merge(&mut self, new: &Recorded) -> bool {
        if !self.same_profile(new) {
            return false;
        }
        self.written_sha256.clone_from(&new.written_sha256);
        if !self.switched && new.switched {
            self.switched = true;
            self.previous_current.clone_from(&new.previous_current);
        }
        if !self.keyring && new.keyring {
            self.keyring = true;
            self.previous_keyring.clone_from(&new.previous_keyring);
        }
        if new.keyring {
            self.written_keyring_sha256
                .clone_from(&new.written_keyring_sha256);
        }
        true
    }

    /// Why this part cannot be one login wrote (`None`: it can).
    pub fn refusal(&self) -> Option<String> {
        if self.auth_file.file_name() != Some("auth.json".as_ref()) || !self.auth_file.is_absolute()
        {
            return Some("its baseten CLI file is not an absolute path to an auth.json".into());
        }
        if check_profile_name(&self.profile).is_err() {
            return Some("its baseten CLI profile name is not one login writes".into());
        }
        let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(&self.written_sha256) || !self.written_keyring_sha256.as_deref().is_none_or(hex) {
            return Some("its baseten CLI digests are malformed".into());
        }
        if self
            .previous
            .as_deref()
            .is_some_and(|p| Profile::from_json(p).is_err())
        {
            return Some("its previous baseten CLI profile is not one the CLI reads".into());
        }
        None
    }
}

/// When a post puts a slot (the profile, or its keyring entry) back, given its SHA-256 now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// The record is the newest of its chain: when the slot still holds what it wrote.
    Written(Option<String>),
    /// A later login took over: only when the slot still holds what that login found and not
    /// what it writes (it was killed before writing), so that the older state is not lost.
    Untouched {
        found: Option<String>,
        written: Option<String>,
    },
}

impl When {
    pub fn applies(&self, now: Option<&str>) -> bool {
        match self {
            When::Written(written) => written.as_deref() == now,
            When::Untouched { found, written } => {
                found.as_deref() == now && written.as_deref() != now
            }
        }
    }
}

/// What a post does for the profile part of a record it takes out of its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    pub profile: When,
    /// `None`: the record did not change the keyring entry.
    pub keyring: Option<When>,
}

/// Takes `retired` out of its profile's chain; `later` are the parts of the records after it, in
/// order. The first later login of the same profile gets the state before `retired` (the
/// profile, `current`, whether the file existed, the keyring entry).
pub fn retire<'a>(retired: &Recorded, later: impl Iterator<Item = &'a mut Recorded>) -> Duty {
    let digest = |profile: &Option<String>| profile.as_deref().map(sha256);
    let mut duty = Duty {
        profile: When::Written(Some(retired.written_sha256.clone())),
        keyring: retired
            .keyring
            .then(|| When::Written(retired.written_keyring_sha256.clone())),
    };
    let mut profile_taken = false;
    for next in later.filter(|r| r.same_profile(retired)) {
        if !profile_taken {
            profile_taken = true;
            duty.profile = When::Untouched {
                found: digest(&next.previous),
                written: Some(next.written_sha256.clone()),
            };
            next.previous.clone_from(&retired.previous);
            next.created_file |= retired.created_file;
            if retired.switched && next.previous_current == retired.profile {
                next.switched = true;
                next.previous_current.clone_from(&retired.previous_current);
            }
        }
        if retired.keyring && next.keyring {
            duty.keyring = Some(When::Untouched {
                found: digest(&next.previous_keyring),
                written: next.written_keyring_sha256.clone(),
            });
            next.previous_keyring.clone_from(&retired.previous_keyring);
            break;
        }
        if !retired.keyring {
            break;
        }
    }
    duty
}

/// What a post did to the profile, for its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    Restored,
    Removed,
    /// Nothing of it was this record's to change (a crash before the write, or a later login's).
    Unchanged,
    /// A later step replaced it with something else: left as it is.
    Replaced,
}

/// Puts the profile, `current` and the keyring entry back as far as `duty` says they are still
/// the record's to put back. The keyring's failure is a warning (returned), not an error.
pub fn undo(
    record: &Recorded,
    duty: &Duty,
    keyring: &Keyring,
    wait: Duration,
) -> Result<(Undone, Option<String>)> {
    let mut store = Store::open(&record.auth_file, wait)?;
    let now = store.profile_json(&record.profile);
    let undone = if duty.profile.applies(now.as_deref().map(sha256).as_deref()) {
        put_back(&mut store, record)?
    } else if now == record.previous || matches!(duty.profile, When::Untouched { .. }) {
        // Never written (a crash before the write), or a later login's now.
        Undone::Unchanged
    } else {
        Undone::Replaced
    };
    let warning = duty
        .keyring
        .as_ref()
        .and_then(|when| restore_keyring(record, when, keyring).err())
        .map(|Unavailable(why)| {
            format!(
                "could not restore the keyring entry of baseten CLI profile {}: {why}",
                record.profile
            )
        });
    Ok((undone, warning))
}

fn put_back(store: &mut Store, record: &Recorded) -> Result<Undone> {
    let name = &record.profile;
    let undone = match &record.previous {
        Some(json) => {
            // Checked when the record was authenticated ([`Recorded::refusal`]).
            let profile = Profile::from_json(json).map_err(|why| {
                Error::unexpected(format!(
                    "the undo record's previous baseten CLI profile is unreadable ({})",
                    why.0
                ))
            })?;
            store.file.profiles.insert(name.clone(), profile);
            Undone::Restored
        }
        None => {
            store.file.profiles.remove(name);
            Undone::Removed
        }
    };
    if record.switched && store.file.current == *name {
        store.file.current.clone_from(&record.previous_current);
    }
    if record.created_file && store.file.profiles.is_empty() && store.file.current.is_empty() {
        store.remove()?;
    } else {
        store.write()?;
    }
    Ok(undone)
}

fn restore_keyring(
    record: &Recorded,
    when: &When,
    keyring: &Keyring,
) -> std::result::Result<(), Unavailable> {
    let now = keyring.get_in(KEYRING_SERVICE, &record.profile)?;
    if when.applies(now.as_ref().map(|v| sha256(v.expose())).as_deref()) {
        let previous = record.previous_keyring.clone().map(Sensitive::new);
        keyring.restore_in(KEYRING_SERVICE, &record.profile, previous.as_ref())?;
    }
    Ok(())
}
