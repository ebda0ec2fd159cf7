//! The key of a login already stored, where truss would read it: truss's env-var remote, the
//! trussrc's section, or the keyring (`status --check`).
use std::path::Path;

use super::{Source, check};
use crate::env::{Env, names};
use crate::error::{Error, Result};
use crate::keyring_store::{self, Keyring};
use crate::secret::ApiKey;
use crate::trussrc::Document;

/// Where the secret of a remote lives.
pub enum Stored {
    /// `BASETEN_TRUSS_AUTH_API_KEY` with `BASETEN_TRUSS_AUTH_REMOTE_URL`.
    EnvPair,
    Inline,
    Keyring,
}

/// The key of remote `name` stored at `at`, checked as every other source's is.
pub fn stored_key(
    at: &Stored,
    name: &str,
    (doc, path): (&Document, &Path),
    (env, keyring): (&Env, &Keyring),
) -> Result<(ApiKey, Source)> {
    let hint = "run `truss-ci login` to store a key";
    match at {
        Stored::EnvPair => {
            let source = Source::Env(names::BASETEN_TRUSS_AUTH_API_KEY.into());
            let raw = env
                .get(names::BASETEN_TRUSS_AUTH_API_KEY)
                .unwrap_or_default();
            Ok((check(raw.to_owned(), &source, hint)?, source))
        }
        Stored::Inline => {
            let source = Source::Trussrc {
                path: path.to_owned(),
                remote: name.to_owned(),
            };
            let raw = doc.value(name, "api_key").unwrap_or_default();
            Ok((check(raw, &source, hint)?, source))
        }
        Stored::Keyring => keyring_key(name, keyring, hint),
    }
}

/// The key truss would read from the keyring for remote `name`.
fn keyring_key(name: &str, keyring: &Keyring, hint: &str) -> Result<(ApiKey, Source)> {
    let source = Source::Keyring(name.to_owned());
    let unusable = |why: String| {
        Error::usage(format!(
            "No credentials for remote '{name}': the keyring is unavailable ({why}) and no inline secret is present"
        ))
        .with_hint(hint)
    };
    if keyring.is_disabled() {
        return Err(unusable(
            "BASETEN_TRUSS_AUTH_KEYRING_DISABLED is set".into(),
        ));
    }
    let payload = keyring
        .get(name)
        .map_err(|e| unusable(e.0))?
        .ok_or_else(|| {
            Error::usage(format!("No credentials in keyring for remote '{name}'")).with_hint(hint)
        })?;
    let key = keyring_store::key_from_payload(&payload).ok_or_else(|| {
        Error::usage(format!("Keyring entry for remote '{name}' is malformed")).with_hint(hint)
    })?;
    Ok((check(key.expose().to_owned(), &source, hint)?, source))
}
