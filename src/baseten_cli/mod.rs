//! The `baseten` CLI's credential store: `auth.json` (named profiles) in its config directory, and
//! its keyring entries (service `baseten-profile`, account = the profile name). truss-ci writes a
//! profile there exactly as `baseten auth login --with-api-key` would, so that a pipeline's later
//! `baseten` commands are logged in too.
pub mod auth_file;
pub mod journal;
pub mod login;
mod store;

use std::path::PathBuf;

use crate::env::Vars;
use crate::error::{Error, Result, truncate_for_message};

pub use store::{Store, peek, sweep};

/// The keyring service the CLI keeps its secrets under.
pub const KEYRING_SERVICE: &str = "baseten-profile";
/// The remote the CLI uses when none is given.
pub const DEFAULT_REMOTE_URL: &str = "https://app.baseten.co";
/// An `auth.json` larger than this is not one the CLI wrote.
pub const MAX_SIZE: u64 = 1024 * 1024;

/// The operating systems whose config directory rules differ (Go's `os.UserConfigDir`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    pub const NATIVE: Os = if cfg!(windows) {
        Os::Windows
    } else if cfg!(target_os = "macos") {
        Os::MacOs
    } else {
        Os::Linux
    };
}

/// Where the CLI keeps `auth.json`: `$BASETEN_CONFIG_DIR`, else Go's `os.UserConfigDir()` +
/// `/baseten` (Linux: `$XDG_CONFIG_HOME`, which must be absolute, else `$HOME/.config`; macOS:
/// `$HOME/Library/Application Support`; Windows: `%AppData%`).
pub fn auth_path(vars: &Vars, os: Os) -> Result<PathBuf> {
    let set = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    if let Some(dir) = set(&vars.baseten_config_dir) {
        return Ok(PathBuf::from(dir).join("auth.json"));
    }
    let none = |what: &str| {
        Error::usage(format!(
            "the baseten CLI's config directory is unknown: {what}"
        ))
        .with_hint("set BASETEN_CONFIG_DIR to the directory the baseten CLI should read")
    };
    let base = match os {
        Os::Windows => set(&vars.appdata).ok_or_else(|| none("%AppData% is not defined"))?,
        Os::MacOs => {
            let home = set(&vars.home).ok_or_else(|| none("$HOME is not defined"))?;
            format!("{home}/Library/Application Support")
        }
        Os::Linux => match set(&vars.xdg_config_home) {
            Some(dir) if dir.starts_with('/') => dir,
            Some(_) => return Err(none("the path in $XDG_CONFIG_HOME is relative")),
            None => {
                let home = set(&vars.home)
                    .ok_or_else(|| none("neither $XDG_CONFIG_HOME nor $HOME is defined"))?;
                format!("{home}/.config")
            }
        },
    };
    Ok(PathBuf::from(base).join("baseten").join("auth.json"))
}

/// The remote URL as the CLI keeps it, `scheme://host` (`remote_url` is already checked and has
/// no trailing slash). The CLI refuses one with a path.
pub fn cli_remote_url(remote_url: &str) -> Result<String> {
    let url = url::Url::parse(remote_url)
        .map_err(|e| Error::usage(format!("remote URL {remote_url:?} is not a URL ({e})")))?;
    let authority = remote_url.split_once("://").map_or("", |(_, rest)| rest);
    if url.path() != "/" || authority.contains('/') {
        return Err(Error::usage(format!(
            "remote URL {:?} has a path: truss reads it, but the baseten CLI accepts only scheme://host",
            truncate_for_message(remote_url)
        ))
        .with_hint("drop --baseten-profile and the BASETEN_REMOTE_URL export, or use the remote's scheme://host"));
    }
    Ok(format!("{}://{authority}", url.scheme()))
}

/// A profile name longer than this is refused.
pub const MAX_PROFILE_NAME: usize = 64;

/// Refuses a profile name truss-ci will not write: letters, digits, `-`, `_` and `.`, as for a
/// remote (it is the keyring account and a key in `auth.json`).
pub fn check_profile_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        return Ok(());
    }
    Err(Error::usage(format!(
        "baseten CLI profile name {:?} is not one truss-ci writes",
        truncate_for_message(name)
    ))
    .with_hint(format!(
        "pass --baseten-profile=NAME with up to {MAX_PROFILE_NAME} letters, digits, '-', '_' or '.'"
    )))
}

#[cfg(test)]
mod tests;
