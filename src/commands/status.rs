//! `truss-ci status`: what `truss auth status` prints, and with --check, whether the key works.
use serde_json::json;

use std::path::Path;

use crate::api::ApiSettings;
use crate::api::Client;
use crate::api::{User, Verdict};
use crate::cli::OutputFormat;
use crate::commands::verify;
use crate::context::Context;
use crate::endpoint::endpoint;
use crate::env::names;
use crate::error::{Error, Result};
use crate::key_info::{self, Lookup};
use crate::key_source::{self, Source};
use crate::keyring_store::{self, Keyring};
use crate::secret::ApiKey;
use crate::settings::StatusSettings;
use crate::trussrc::{self, Document};
use crate::urls::normalize_url;

/// The four lines truss prints.
pub struct Status {
    pub remote: String,
    pub remote_url: String,
    pub auth_type: String,
    pub source: String,
}

/// Where the secret of a remote lives, as status found it.
enum Secret {
    EnvPair,
    Inline,
    Keyring,
}

const SECRET_KEYS: [&str; 4] = [
    "api_key",
    "oauth_access_token",
    "oauth_refresh_token",
    "oauth_expires_at",
];

pub fn run(settings: &StatusSettings, ctx: &Context<'_>) -> Result<()> {
    let (out, path) = (ctx.out, &settings.trussrc);
    let (status, secret, doc) = match &settings.env_pair {
        Some(url) => {
            let status = Status {
                remote: "<environment>".into(),
                remote_url: url.clone(),
                auth_type: "api_key".into(),
                source: names::BASETEN_TRUSS_AUTH_API_KEY.into(),
            };
            (status, Secret::EnvPair, Document::default())
        }
        None => {
            let doc = trussrc::load(path)?;
            let (status, secret) = from_trussrc(&doc, settings.remote.as_deref(), path)?;
            (status, secret, doc)
        }
    };
    let mut report = json!({
        "remote": status.remote,
        "remote_url": status.remote_url,
        "auth_type": status.auth_type,
        "source": status.source,
    });
    let mut lines = format!(
        "remote: {}\nremote_url: {}\nauth_type: {}\nsource: {}\n",
        status.remote, status.remote_url, status.auth_type, status.source
    );
    if let Some(api) = &settings.api {
        let (user, key) = check(api, &status, &secret, &doc, ctx, path)?;
        lines.push_str(&format!(
            "workspace: {}\nuser: {}\nvalidated: true\nkey: {}\n",
            out.show(user.workspace.as_ref()),
            out.show(user.email.as_ref()),
            key.describe(out)
        ));
        report["validated"] = json!(true);
        report["user"] = json!(crate::commands::verify::shown_user(&user, out));
        report["key"] = key.json(out);
    }
    match out.format {
        OutputFormat::Json => out.json(&report),
        OutputFormat::Text => out.stdout_text(&lines),
    }
}

/// `--check`: the key behind the status, masked, then the same check and lookup as login's.
fn check(
    api: &ApiSettings,
    status: &Status,
    secret: &Secret,
    doc: &Document,
    ctx: &Context<'_>,
    path: &Path,
) -> Result<(User, Lookup)> {
    let (key, source) = secret_key(status, secret, doc, path, ctx)?;
    ctx.out.mask(&key)?;
    let at = match secret {
        Secret::EnvPair => {
            let url = normalize_url(
                &status.remote_url,
                names::BASETEN_TRUSS_AUTH_REMOTE_URL,
                api.allow_http,
            )?;
            endpoint(Some(&url), api, &status.remote, None)?
        }
        _ => endpoint(None, api, &status.remote, Some((doc, path)))?,
    };
    let client = Client::new(&at.api_url, api)?;
    let user = match verify::verify(&client, api, &key, &source, ctx.out)? {
        Verdict::Valid(user) => user,
        // Without --allow-restricted, verify refuses a restricted key.
        Verdict::Restricted => {
            return Err(Error::unexpected("a restricted key has no user to show"));
        }
    };
    Ok((user, key_info::look_up(&client, api, &key, ctx)?))
}

fn from_trussrc(doc: &Document, remote: Option<&str>, path: &Path) -> Result<(Status, Secret)> {
    let name = doc.pick_remote(remote, path)?;
    let remote_url = doc
        .raw_value(name, "remote_url")
        .unwrap_or("(unset)")
        .to_owned();
    let inline = SECRET_KEYS.iter().any(|k| doc.raw_value(name, k).is_some());
    let (auth_type, source, secret) = match doc.raw_value(name, "auth_type") {
        None if doc.raw_value(name, "api_key").is_some() => (
            "api_key (plaintext)".to_owned(),
            "trussrc-inline",
            Secret::Inline,
        ),
        None => {
            return Err(
                Error::usage(format!("Remote '{name}' has no credentials configured"))
                    .with_hint(format!("run `truss-ci login --remote {name}`")),
            );
        }
        Some(t) if inline => (t.to_owned(), "trussrc-inline", Secret::Inline),
        Some(t) => (t.to_owned(), "keyring", Secret::Keyring),
    };
    Ok((
        Status {
            remote: name.to_owned(),
            remote_url,
            auth_type,
            source: source.to_owned(),
        },
        secret,
    ))
}

/// The key behind a status, for --check.
fn secret_key(
    status: &Status,
    secret: &Secret,
    doc: &Document,
    path: &Path,
    ctx: &Context<'_>,
) -> Result<(ApiKey, Source)> {
    let (name, env, keyring) = (status.remote.as_str(), ctx.env, &ctx.keyring);
    if status.auth_type == "oauth" {
        return Err(Error::usage(format!(
            "remote '{name}' uses OAuth; --check validates API keys (use `truss whoami` for OAuth remotes)"
        )));
    }
    let hint = "run `truss-ci login` to store a key";
    match secret {
        Secret::EnvPair => {
            let source = Source::Env(names::BASETEN_TRUSS_AUTH_API_KEY.into());
            let raw = env
                .get(names::BASETEN_TRUSS_AUTH_API_KEY)
                .unwrap_or_default();
            Ok((key_source::check(raw.to_owned(), &source, hint)?, source))
        }
        Secret::Inline => {
            let source = Source::Trussrc {
                path: path.to_owned(),
                remote: name.to_owned(),
            };
            let raw = doc.value(name, "api_key").unwrap_or_default();
            Ok((key_source::check(raw, &source, hint)?, source))
        }
        Secret::Keyring => keyring_key(name, keyring, hint),
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
    Ok((
        key_source::check(key.expose().to_owned(), &source, hint)?,
        source,
    ))
}
