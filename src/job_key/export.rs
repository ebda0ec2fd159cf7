//! A job key that may not revoke itself, exported over the key that revokes it: refused before
//! anything is minted or written. Where the platform hands what `--export-env` exports to the
//! step that runs `logout --post` as well ([`Platform::export_reaches_post`]), that step would
//! read the job key from the variable the minting key came from, and a `workspace-invoke` or
//! `workspace-export-metrics` key may not delete keys: it would live until its TTL ends.
use super::JobKeySettings;
use crate::ci::Platform;
use crate::cli::ExportMode;
use crate::env::names;
use crate::error::{Error, Result};
use crate::key_source::Source;

/// Refuses (exit 2) a restricted job key exported, on a platform whose exports reach the post,
/// under the name of the variable the key that mints it was read from (for `VAR_FILE`, `VAR`,
/// which the post reads first).
pub fn check(
    plan: Option<&JobKeySettings>,
    export: Option<ExportMode>,
    source: &Source,
    platform: Platform,
) -> Result<()> {
    let (Some(plan), Some(mode), Some(post)) = (plan, export, platform.export_reaches_post())
    else {
        return Ok(());
    };
    let var = match source {
        Source::Env(var) => var.as_str(),
        Source::EnvFile { var, .. } => var.strip_suffix("_FILE").unwrap_or(var),
        _ => return Ok(()),
    };
    let Some(name) = exported_key_names(mode).iter().find(|n| **n == var) else {
        return Ok(());
    };
    if !plan.kind.restricted() {
        return Ok(());
    }
    let kind = plan.kind.as_str();
    Err(Error::usage(format!(
        "--job-key={kind} with --export-env would hand the job key to {post} as {name}, the variable the key that revokes it is read from, and a {kind} key cannot revoke itself; nothing was minted or written"
    ))
    .with_hint(
        "keep the key that mints job keys in a variable of another name and read it with --from-env=NAME, in login and in `logout --post`; or leave out --export-env",
    ))
}

/// The variables `--export-env` in `mode` sets to the key.
fn exported_key_names(mode: ExportMode) -> &'static [&'static str] {
    match mode {
        ExportMode::Key => &[names::BASETEN_API_KEY],
        ExportMode::TrussEnv => &[names::BASETEN_API_KEY, names::BASETEN_TRUSS_AUTH_API_KEY],
    }
}
