//! The `baseten` CLI's part of the settings: its `auth.json` here, and `--baseten-profile`.
use std::path::PathBuf;

use crate::env::Env;
use crate::error::Result;

/// The `baseten` CLI's profile a login writes.
#[derive(Debug)]
pub struct BasetenSettings {
    pub profile: String,
    /// Make it the CLI's current profile (not with `--baseten-no-switch`).
    pub switch: bool,
    /// Its `auth.json`.
    pub auth_file: PathBuf,
}

/// The `baseten` CLI's `auth.json` in this environment (`None`: the CLI could not tell).
pub(super) fn cli_auth_file(env: &Env) -> Option<PathBuf> {
    crate::baseten_cli::auth_path(&env.vars, crate::baseten_cli::Os::NATIVE).ok()
}

/// `--baseten-profile[=NAME]`: NAME, else the remote's name; the CLI's `auth.json` as the CLI
/// finds it in this environment.
pub(super) fn baseten_settings(
    profile: Option<&str>,
    switch: bool,
    remote: &str,
    env: &Env,
) -> Result<Option<BasetenSettings>> {
    let Some(profile) = profile else {
        return Ok(None);
    };
    let profile = if profile.is_empty() { remote } else { profile };
    crate::baseten_cli::check_profile_name(profile)?;
    Ok(Some(BasetenSettings {
        profile: profile.to_owned(),
        switch,
        auth_file: crate::baseten_cli::auth_path(&env.vars, crate::baseten_cli::Os::NATIVE)?,
    }))
}
