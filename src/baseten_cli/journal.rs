//! The undo journal of one `auth.json`: what each CI job's login did to a profile, to `current`
//! and to a keyring entry, written beside the file (`.auth.json.truss-ci-state.json`, 0600) under
//! its lock before anything changes, so that `logout --post` puts back exactly that — after a crash
//! at any point, and for overlapping jobs that share the file whichever trussrc each one wrote.
//!
//! The entries form chains in login order: of a profile, of `current`, of a keyring account. A
//! post changes a slot only while its own login is the live one there; otherwise it hands what was
//! there before to the later login that took the slot over, so that the last post restores the
//! state before the first and an ended job's key is left in no profile or entry.
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::auth_file::Profile;
use super::{KEYRING_SERVICE, Store, check_profile_name};
use crate::atomic_file::sha256;
use crate::error::{Error, Kind, Result};
use crate::keyring_store::{Keyring, Unavailable};
use crate::secret::Sensitive;

/// A journal file larger than this is not one of ours.
pub const MAX_SIZE: u64 = 4 * 1024 * 1024;

/// What one job's login did to the CLI's store.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The id of the trussrc's undo record of the same login (its post finds this entry by it).
    pub record: String,
    /// The CI job that logged in.
    pub job: Option<String>,
    pub profile: String,
    /// `auth.json` did not exist before the job's first login.
    pub created_file: bool,
    /// The profile before the login, as `json.Marshal` writes it (it may hold an older key: the
    /// journal is 0600); `None`: there was none.
    pub previous: Option<String>,
    /// SHA-256 of the profile the latest login wrote (its `json.Marshal` form).
    pub written_sha256: String,
    /// The login made the profile `current`; `previous_current` is what was current before
    /// (empty: none).
    pub switched: bool,
    pub previous_current: String,
    /// The login changed the keyring entry of the profile's account: `previous_keyring` is what
    /// was there, `written_keyring_sha256` what it left (`None`: it removed an entry that would
    /// have shadowed the key in the file).
    pub keyring: bool,
    pub previous_keyring: Option<String>,
    pub written_keyring_sha256: Option<String>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("record", &self.record)
            .field("job", &self.job)
            .field("profile", &self.profile)
            .field("switched", &self.switched)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Why this entry cannot be one login wrote (`None`: it can).
    pub fn refusal(&self) -> Option<&'static str> {
        let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        let plain = |s: &str| s.len() <= 4096 && !s.chars().any(char::is_control);
        if check_profile_name(&self.profile).is_err() {
            return Some("a profile name login does not write");
        }
        if !hex(&self.written_sha256) || !self.written_keyring_sha256.as_deref().is_none_or(hex) {
            return Some("malformed digests");
        }
        if !(self.record.len() <= 64 && self.record.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Some("a malformed record id");
        }
        if self
            .previous
            .as_deref()
            .is_some_and(|p| Profile::from_json(p).is_err())
        {
            return Some("a previous profile the CLI does not read");
        }
        if !plain(&self.previous_current) || !self.previous_keyring.as_deref().is_none_or(plain) {
            return Some("a previous value with control characters");
        }
        None
    }
}

/// The journal's path beside `auth.json`.
pub fn path_for(auth_file: &Path) -> std::path::PathBuf {
    auth_file.with_file_name(".auth.json.truss-ci-state.json")
}

fn refused(file: &Path, why: &str) -> Error {
    Error::new(
        Kind::Local,
        format!(
            "refusing the undo journal {}: {why}; the baseten CLI's profiles were left as they are",
            file.display()
        ),
    )
    .with_hint("truss-ci writes this file itself, 0600 and owned by the job's user: remove it if it is not one")
}

/// The entries (none when there is no journal), each checked. The caller holds the store's lock.
pub fn load(auth_file: &Path) -> Result<Vec<Entry>> {
    use crate::atomic_file::{self, Owner, Refusal};
    let file = path_for(auth_file);
    let bytes = match atomic_file::read_checked(&file, MAX_SIZE, Owner::Me) {
        Ok(bytes) => bytes,
        Err(Refusal::Missing) => return Ok(Vec::new()),
        Err(Refusal::Io(e)) => return Err(Error::local("read", &file, &e)),
        Err(why) => return Err(refused(&file, &why.to_string())),
    };
    let entries: Vec<Entry> = serde_json::from_slice(&bytes).map_err(|e| {
        refused(
            &file,
            &format!(
                "it is not a truss-ci undo journal (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    if let Some(why) = entries.iter().find_map(Entry::refusal) {
        return Err(refused(&file, &format!("an entry holds {why}")));
    }
    Ok(entries)
}

/// Replaces the entries; none removes the file. The caller holds the store's lock.
pub fn save(auth_file: &Path, entries: &[Entry]) -> Result<()> {
    let file = path_for(auth_file);
    if entries.is_empty() {
        return crate::atomic_file::remove(&file);
    }
    let mut json = b"[".to_vec();
    for (i, entry) in entries.iter().enumerate() {
        json.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut json, entry)
            .map_err(|e| Error::unexpected(format!("could not encode the undo journal: {e}")))?;
    }
    json.extend_from_slice(b"\n]\n");
    if json.len() as u64 > MAX_SIZE {
        return Err(Error::new(
            Kind::Local,
            format!(
                "the undo journal {} would grow past {MAX_SIZE} bytes; nothing was written",
                file.display()
            ),
        )
        .with_hint("run `truss-ci logout --post` in the jobs that logged in (or remove the file once no job is running)"));
    }
    crate::atomic_file::write(&file, &json)
}

/// Adds what a login is about to do. A later login of the same job (the same record) to the same
/// profile merges into the job's entry while that entry is the journal's last: it holds the state
/// before the job. Otherwise the login takes over like any other, in an entry of its own, in its
/// place in every chain.
pub fn add(entries: &mut Vec<Entry>, new: Entry) {
    if let Some(newest) = entries.last_mut()
        && newest.profile == new.profile
        && newest.record == new.record
        && newest.job == new.job
    {
        newest.written_sha256 = new.written_sha256;
        if !newest.keyring && new.keyring {
            newest.keyring = true;
            newest.previous_keyring = new.previous_keyring;
        }
        if new.keyring {
            newest.written_keyring_sha256 = new.written_keyring_sha256;
        }
        if !newest.switched && new.switched {
            newest.switched = true;
            newest.previous_current = new.previous_current;
        }
        return;
    }
    entries.push(new);
}

/// When a post puts a slot back, given what the slot holds now (a digest, or a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// The entry is the newest of its chain: when the slot still holds what it wrote.
    Written(Option<String>),
    /// A later login took over: only when the slot still holds what that login found and what
    /// no later login of the chain writes (the next one was killed before writing), so that the
    /// older state is not lost and a live login is never undone.
    Untouched {
        found: Option<String>,
        written: Vec<Option<String>>,
    },
}

impl When {
    pub fn applies(&self, now: Option<&str>) -> bool {
        match self {
            When::Written(written) => written.as_deref() == now,
            When::Untouched { found, written } => {
                found.as_deref() == now && !written.iter().any(|w| w.as_deref() == now)
            }
        }
    }
}

/// What a post does for an entry it takes out of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duty {
    pub profile: When,
    /// `None`: the entry did not switch `current`.
    pub current: Option<When>,
    /// `None`: the entry did not change the keyring entry.
    pub keyring: Option<When>,
}

/// Takes entry `i` out of the journal, handing the state before it to the later entries that
/// took its slots over: the profile's, `current`'s (any profile's login that switched it), and
/// the keyring account's.
pub fn retire(entries: &mut Vec<Entry>, i: usize) -> (Entry, Duty) {
    let retired = entries.remove(i);
    let digest = |p: &Option<String>| p.as_deref().map(sha256);
    let mut duty = Duty {
        profile: When::Written(Some(retired.written_sha256.clone())),
        current: retired
            .switched
            .then(|| When::Written(Some(retired.profile.clone()))),
        keyring: retired
            .keyring
            .then(|| When::Written(retired.written_keyring_sha256.clone())),
    };
    let later = &mut entries[i..];
    let profiles: Vec<Option<String>> = later
        .iter()
        .filter(|e| e.profile == retired.profile)
        .map(|e| Some(e.written_sha256.clone()))
        .collect();
    let currents: Vec<Option<String>> = later
        .iter()
        .filter(|e| e.switched)
        .map(|e| Some(e.profile.clone()))
        .collect();
    let entries_written: Vec<Option<String>> = later
        .iter()
        .filter(|e| e.keyring && e.profile == retired.profile)
        .map(|e| e.written_keyring_sha256.clone())
        .collect();
    if let Some(next) = later.iter_mut().find(|e| e.profile == retired.profile) {
        duty.profile = When::Untouched {
            found: digest(&next.previous),
            written: profiles,
        };
        next.previous.clone_from(&retired.previous);
        next.created_file |= retired.created_file;
    }
    if retired.switched
        && let Some(next) = later.iter_mut().find(|e| e.switched)
    {
        duty.current = Some(When::Untouched {
            found: Some(next.previous_current.clone()),
            written: currents,
        });
        next.previous_current.clone_from(&retired.previous_current);
    }
    if retired.keyring
        && let Some(next) = later
            .iter_mut()
            .find(|e| e.keyring && e.profile == retired.profile)
    {
        duty.keyring = Some(When::Untouched {
            found: digest(&next.previous_keyring),
            written: entries_written,
        });
        next.previous_keyring.clone_from(&retired.previous_keyring);
    }
    // A later login that found the file this one created removes it when it is left empty.
    if retired.created_file
        && let Some(next) = later.first_mut()
    {
        next.created_file = true;
    }
    (retired, duty)
}

/// What a post did to a profile, for its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undone {
    Restored,
    Removed,
    /// Nothing of it was this login's to change (a crash before the write, or a later login's).
    Unchanged,
    /// A later step replaced it with something else: left as it is.
    Replaced,
}

/// What a post did to each profile, and its warnings.
pub type Posted = (Vec<(String, Undone)>, Vec<String>);

/// `logout --post`: takes the entries `mine` picks (a post's job's) out of the journal beside
/// `auth_file`, newest first, and puts each slot back as far as it is still theirs. Returns what
/// became of each profile, and the warnings (a keyring that failed). Nothing is locked or
/// written where there is no journal.
pub fn post(
    auth_file: &Path,
    mine: impl Fn(&Entry) -> bool,
    keyring: &Keyring,
    wait: std::time::Duration,
) -> Result<Posted> {
    if !path_for(auth_file).exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut store = Store::open(auth_file, wait)?;
    let mut entries = load(auth_file)?;
    let (mut undone, mut warnings) = (Vec::new(), Vec::new());
    let mut changed = false;
    while let Some(i) = entries.iter().rposition(&mine) {
        let (entry, duty) = retire(&mut entries, i);
        let (what, file_changed) = undo_profile(&mut store, &entry, &duty)?;
        changed |= file_changed;
        if let Some(when) = &duty.keyring
            && let Err(Unavailable(why)) = restore_keyring(&entry, when, keyring)
        {
            warnings.push(format!(
                "could not restore the keyring entry of baseten CLI profile {}: {why}",
                entry.profile
            ));
        }
        undone.push((entry.profile, what));
        // The file goes when the last login that created it leaves it empty.
        if entry.created_file
            && entries.is_empty()
            && store.file.profiles.is_empty()
            && store.file.current.is_empty()
        {
            store.remove()?;
            changed = false;
        }
    }
    if changed {
        store.write()?;
    }
    save(auth_file, &entries)?;
    Ok((undone, warnings))
}

/// Puts the entry's profile and `current` back in `store.file` (not yet written).
fn undo_profile(store: &mut Store, entry: &Entry, duty: &Duty) -> Result<(Undone, bool)> {
    let name = &entry.profile;
    let now = store.profile_json(name);
    let mut changed = false;
    let undone = if duty.profile.applies(now.as_deref().map(sha256).as_deref()) {
        changed = true;
        match &entry.previous {
            Some(json) => {
                // Checked when the journal was loaded ([`Entry::refusal`]).
                let profile = Profile::from_json(json).map_err(|why| {
                    Error::unexpected(format!(
                        "the undo journal's previous profile is unreadable ({})",
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
        }
    } else if now == entry.previous || matches!(duty.profile, When::Untouched { .. }) {
        Undone::Unchanged
    } else {
        Undone::Replaced
    };
    if let Some(when) = &duty.current
        && when.applies(Some(store.file.current.as_str()))
    {
        store.file.current.clone_from(&entry.previous_current);
        changed = true;
    }
    Ok((undone, changed))
}

fn restore_keyring(
    entry: &Entry,
    when: &When,
    keyring: &Keyring,
) -> std::result::Result<(), Unavailable> {
    let now = keyring.get_in(KEYRING_SERVICE, &entry.profile)?;
    if when.applies(now.as_ref().map(|v| sha256(v.expose())).as_deref()) {
        let previous = entry.previous_keyring.clone().map(Sensitive::new);
        keyring.restore_in(KEYRING_SERVICE, &entry.profile, previous.as_ref())?;
    }
    Ok(())
}
