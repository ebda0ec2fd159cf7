//! What `login` did, recorded so that `logout --post` can undo exactly that. Records live in a
//! 0600 JSON file beside the trussrc (they may hold a replaced section, and so an older key); on
//! GitHub, GITHUB_STATE carries only the file's path and the record's id to the post step.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};
use crate::trussrc;

/// GITHUB_STATE names (the runner hands them back as `STATE_<name>`).
pub const STATE_FILE: &str = "TRUSS_CI_STATE_FILE";
pub const STATE_ID: &str = "TRUSS_CI_STATE_ID";
pub const STATE_TRUSSRC: &str = "TRUSS_CI_TRUSSRC";

/// One login's changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub trussrc: PathBuf,
    pub remote: String,
    /// The trussrc did not exist before this login.
    pub created_file: bool,
    /// The exact text of the section this login replaced.
    pub previous_section: Option<String>,
    /// Separators the splice added before and after the section.
    pub before: String,
    pub after: String,
    /// This login wrote a keyring entry; `previous_keyring` is what it replaced.
    pub keyring: bool,
    pub previous_keyring: Option<String>,
    /// Env vars handed to later steps.
    pub exported: Vec<String>,
}

/// Adds what a login did and returns the id to undo it by. A later login to a remote that already
/// has a record is merged into it: the earliest record holds the state before the job, which is
/// what an undo restores, so the file holds one record per remote however often the job logs in.
pub fn record(records: &mut Vec<Record>, new: Record) -> String {
    match records
        .iter_mut()
        .find(|r| r.trussrc == new.trussrc && r.remote == new.remote)
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
            earliest.id.clone()
        }
        None => {
            let id = new.id.clone();
            records.push(new);
            id
        }
    }
}

/// The state file for a trussrc: `.trussrc.truss-ci-state.json` beside `~/.trussrc`.
pub fn path_for(trussrc: &Path) -> PathBuf {
    let name = trussrc.file_name().unwrap_or_default().to_string_lossy();
    let dot = if name.starts_with('.') { "" } else { "." };
    trussrc.with_file_name(format!("{dot}{name}.truss-ci-state.json"))
}

/// Reads the records in `file` (none when it does not exist).
pub fn load(file: &Path) -> Result<Vec<Record>> {
    match std::fs::read(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::local("read", file, &e)),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                Kind::LocalWrite,
                format!(
                    "{} is not a truss-ci state file ({e}); it was left as it was",
                    file.display()
                ),
            )
        }),
    }
}

/// Changes the records in `file` under the trussrc's lock; an empty list removes the file.
pub fn update(file: &Path, trussrc: &Path, f: impl FnOnce(&mut Vec<Record>)) -> Result<()> {
    let _lock = trussrc::lock(trussrc)?;
    let mut records = load(file)?;
    f(&mut records);
    if records.is_empty() {
        return trussrc::remove(file);
    }
    let json = serde_json::to_vec_pretty(&records)
        .map_err(|e| Error::unexpected(format!("could not encode the state: {e}")))?;
    let dir = file.parent().unwrap_or(Path::new("."));
    trussrc::write_atomic(file, dir, &json)
}
