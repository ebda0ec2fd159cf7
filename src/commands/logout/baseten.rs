//! What `logout` does to the `baseten` CLI's store: the profiles login wrote for removed remotes,
//! and the post's entries in the CLI's undo journals.
use std::path::Path;
use std::time::Duration;

use super::PostScope;
use crate::baseten_cli;
use crate::context::Context;
use crate::keyring_store::Keyring;
use crate::trussrc;

/// The profiles login wrote for the remotes logged out of, removed (see
/// `baseten_cli::login::forget`); a baseten CLI file that cannot be read or written is a warning,
/// never a reason to keep the remotes.
pub(super) fn forget_profiles(
    file: &Path,
    doc: &trussrc::Document,
    names: &[&str],
    ctx: &Context<'_>,
    wait: Duration,
) -> Vec<String> {
    // Most logouts find no profile at all: no key is looked up for them.
    let forgotten = baseten_cli::peek(file).and_then(|auth| match auth {
        Some(auth) if names.iter().any(|n| auth.profiles.contains_key(*n)) => {
            let sections = sections_for_cli(doc, names, &auth, &ctx.keyring);
            baseten_cli::login::forget(file, &sections, &ctx.keyring, wait)
        }
        _ => Ok(Vec::new()),
    });
    forgotten.unwrap_or_else(|e| {
        ctx.out.warn(&format!(
            "the baseten CLI's profiles were left as they are: {}",
            e.message
        ));
        Vec::new()
    })
}

/// The sections logged out of, with their keys (inline, or in truss's keyring entry) read before
/// they go: a `baseten` CLI profile that holds one is login's to remove too.
fn sections_for_cli(
    doc: &trussrc::Document,
    names: &[&str],
    auth: &baseten_cli::auth_file::AuthFile,
    keyring: &Keyring,
) -> Vec<baseten_cli::login::Section> {
    names
        .iter()
        .filter(|name| auth.profiles.contains_key(**name))
        .filter_map(|name| {
            // As truss reads them: `%%` in the file is `%`.
            let key = match doc.value(name, "api_key") {
                Some(inline) => crate::secret::ApiKey::new(inline),
                None if keyring.is_disabled() => return None,
                None => keyring
                    .get(name)
                    .ok()
                    .flatten()
                    .and_then(|payload| crate::keyring_store::key_from_payload(&payload))?,
            };
            Some(baseten_cli::login::Section {
                remote: (*name).to_owned(),
                key,
                remote_url: doc.value(name, "remote_url")?,
            })
        })
        .collect()
}

/// Puts the `baseten` CLI's profiles that this job's logins wrote back as the journal beside
/// `file` says they were before the job, as far as they are still the job's to put back: its
/// entries are the job's (its identity), or on GitHub the action's record's. What cannot be done
/// is a warning: the rest of the post goes on, and the journal keeps the entries, which the next
/// post of the job finds by the same identity.
pub(super) fn undo_profiles(file: &Path, scope: &PostScope, ctx: &Context<'_>, wait: Duration) {
    use baseten_cli::journal::{self, Entry, Undone};
    let out = ctx.out;
    let mine = |e: &Entry| match scope {
        PostScope::Id(id) => e.record == *id,
        PostScope::Job(job) => e.job.as_deref() == Some(job.as_str()),
        PostScope::Unknown => false,
    };
    let done = journal::post(file, mine, &ctx.keyring, wait);
    let (undone, warnings) = match done {
        Ok(done) => done,
        Err(e) => {
            out.warn(&format!(
                "the baseten CLI's profiles in {} were not put back: {}",
                file.display(),
                e.message
            ));
            return;
        }
    };
    for warning in warnings {
        out.warn(&warning);
    }
    let shown = file.display();
    for (profile, what) in undone {
        match what {
            Undone::Restored => {
                out.info(&format!("Restored baseten CLI profile `{profile}` in {shown}"));
            }
            Undone::Removed => {
                out.info(&format!("Removed baseten CLI profile `{profile}` from {shown}"));
            }
            Undone::Unchanged => out.info(&format!(
                "Nothing to restore for baseten CLI profile `{profile}` in {shown}"
            )),
            Undone::Replaced => out.warn(&format!(
                "baseten CLI profile `{profile}` in {shown} was replaced after login; it was left as it is"
            )),
        }
    }
}
