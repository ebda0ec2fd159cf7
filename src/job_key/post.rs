//! `logout --post`'s revocation of the job keys of the records it undid: each with the key that
//! minted it, else with itself, each attempt with a budget of its own.
use std::io::Read;

use super::{Revoked, not_revoked, revoke};
use crate::api::ApiSettings;
use crate::api::Client;
use crate::api::keys::prefix_of;
use crate::cli::KeyArgs;
use crate::context::Context;
use crate::error::{Error, Kind};
use crate::key_source;
use crate::output::Output;
use crate::secret::ApiKey;
use crate::trussrc::Locked;
use crate::undo::{JobKey, Record};

/// A job key to revoke, and the key itself when the trussrc still held it (it may revoke itself
/// where the key that minted it is not available).
pub struct Found {
    pub key: JobKey,
    own: Option<ApiKey>,
}

/// What became of one job key: `None` when it is revoked, else the error the job sees.
pub struct Outcome {
    pub key: JobKey,
    pub failed: Option<Error>,
}

/// What `logout --post` needs to revoke a job key: the key that minted it (the same sources as
/// login) and how the API is reached.
#[derive(Debug)]
pub struct Revoker {
    pub key: KeyArgs,
    pub api: ApiSettings,
}

/// The job keys of `record`, read before its section is undone.
pub fn found(record: &Record, locked: &Locked, out: &Output) -> Vec<Found> {
    let inline = locked
        .doc
        .section(&record.remote)
        .and_then(|s| s.raw("api_key"))
        .map(|k| ApiKey::new(k.trim().to_owned()));
    record
        .job_keys
        .iter()
        .map(|key| {
            let own = inline
                .as_ref()
                .filter(|k| key.prefix.as_deref() == Some(prefix_of(k)))
                .map(|k| ApiKey::new(k.expose().to_owned()));
            if let Some(own) = &own
                && let Err(e) = out.mask(own)
            {
                tracing::debug!("could not mask the job key: {}", e.message);
            }
            Found {
                key: key.clone(),
                own,
            }
        })
        .collect()
}

/// Revokes each with the key that minted it, resolved again from the same sources; else (or when
/// that is refused) with the job key itself.
pub fn revoke_all(
    found: &[Found],
    revoker: &Revoker,
    ctx: &Context<'_>,
    stdin: &mut dyn Read,
) -> Vec<Outcome> {
    if found.is_empty() {
        return Vec::new();
    }
    let minter = match key_source::acquire(&revoker.key, ctx, stdin) {
        Ok(acquired) => Some(acquired.key),
        Err(e) => {
            tracing::debug!("no key to revoke with: {}", e.message);
            None
        }
    };
    found
        .iter()
        .map(|f| Outcome {
            key: f.key.clone(),
            failed: revoke_one(f, minter.as_ref(), revoker).err(),
        })
        .collect()
}

fn revoke_one(found: &Found, minter: Option<&ApiKey>, revoker: &Revoker) -> Result<(), Error> {
    let client = Client::new(&found.key.api_url, &revoker.api)
        .map_err(|e| not_revoked(&found.key, e.kind, &e.message))?;
    let mut failed = (
        Kind::Usage,
        "the key that minted it was not given to this step (the same key sources as login)"
            .to_owned(),
    );
    // A key that cannot see the job key (another team's) finds it gone: the job key itself, when
    // there, is asked too, and only when none deleted it and one found it gone is it gone.
    let mut gone = false;
    for key in minter.into_iter().chain(found.own.as_ref()) {
        client.renew();
        match revoke(&client, key, &found.key) {
            Revoked::Deleted(prefixes) if !prefixes.is_empty() => return Ok(()),
            Revoked::Deleted(_) => gone = true,
            Revoked::Failed(kind, why) => failed = (kind, why),
        }
    }
    if gone {
        return Ok(());
    }
    Err(not_revoked(&found.key, failed.0, &failed.1))
}
