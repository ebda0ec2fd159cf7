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
use crate::key_info::Lookup;
use crate::key_source::{self, Stored as Secret};
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
    if let Some(profile) = settings
        .baseten_auth_file
        .as_deref()
        .and_then(|file| baseten_status(file, ctx))
    {
        lines.push_str(&profile.lines());
        report["baseten_cli"] = profile.json();
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
    if status.auth_type == "oauth" {
        return Err(Error::usage(format!(
            "remote '{}' uses OAuth; --check validates API keys (use `truss whoami` for OAuth remotes)",
            status.remote
        )));
    }
    let (key, source) =
        key_source::stored_key(secret, &status.remote, (doc, path), (ctx.env, &ctx.keyring))?;
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
        // A section truss cannot use is not checked against Baseten's API in its place.
        _ if doc.raw_value(&status.remote, "remote_url").is_none() => {
            return Err(Error::usage(format!(
                "[{}] in {} has no remote_url, so truss cannot use it either",
                status.remote,
                path.display()
            ))
            .with_hint("run `truss-ci login --remote-url URL` to write it"));
        }
        _ => endpoint(None, api, &status.remote, Some((doc, path)))?,
    };
    let client = Client::new(&at.api_url, api)?;
    match verify::verify(&client, api, &key, &source, ctx)? {
        (Verdict::Valid(user), lookup) => Ok((user, lookup)),
        // Without --allow-restricted, verify refuses a restricted key.
        (Verdict::Restricted, _) => Err(Error::unexpected("a restricted key has no user to show")),
    }
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

/// What the `baseten` CLI would log in with, as `status` says it.
struct CliStatus {
    file: String,
    /// The profile the CLI picks, and why (`current` or `BASETEN_PROFILE`).
    profile: Option<(String, &'static str)>,
    remote_url: Option<String>,
    /// Where the profile's key is: `file`, or `keyring` (the CLI looks there when the file has
    /// none).
    key_in: Option<&'static str>,
    /// What shadows the profile: BASETEN_API_KEY in the environment.
    shadowed_by: Option<&'static str>,
}

impl CliStatus {
    fn lines(&self) -> String {
        let mut lines = format!("baseten_cli_file: {}\n", self.file);
        match &self.profile {
            Some((name, why)) => lines.push_str(&format!("baseten_cli_profile: {name} ({why})\n")),
            None => lines.push_str("baseten_cli_profile: (none)\n"),
        }
        if let Some(url) = &self.remote_url {
            lines.push_str(&format!("baseten_cli_remote_url: {url}\n"));
        }
        if let Some(key_in) = self.key_in {
            lines.push_str(&format!("baseten_cli_key: {key_in}\n"));
        }
        if let Some(var) = self.shadowed_by {
            lines.push_str(&format!(
                "baseten_cli_note: {var} is set, so the baseten CLI uses it, not the profile\n"
            ));
        }
        lines
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "file": self.file,
            "profile": self.profile.as_ref().map(|(name, _)| name),
            "chosen_by": self.profile.as_ref().map(|(_, why)| why),
            "remote_url": self.remote_url,
            "key_in": self.key_in,
            "shadowed_by": self.shadowed_by,
        })
    }
}

/// The profile the `baseten` CLI would use, in its order (`BASETEN_API_KEY`, then
/// `BASETEN_PROFILE`, then `current`); `None` when it has no `auth.json` and nothing in the
/// environment. A file it cannot read is a warning: `status` reports, it does not fail on it.
fn baseten_status(file: &Path, ctx: &Context<'_>) -> Option<CliStatus> {
    let shadowed_by = ctx
        .env
        .get(names::BASETEN_API_KEY)
        .filter(|k| !k.is_empty())
        .map(|_| names::BASETEN_API_KEY);
    let auth = match crate::baseten_cli::peek(file) {
        Ok(auth) => auth,
        Err(e) => {
            ctx.out.warn(&e.message);
            None
        }
    };
    if auth.is_none() && shadowed_by.is_none() {
        return None;
    }
    let auth = auth.unwrap_or_default();
    let chosen = match ctx
        .env
        .vars
        .baseten_profile
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(name) => Some((name.to_owned(), "BASETEN_PROFILE")),
        None => (!auth.current.is_empty()).then(|| (auth.current.clone(), "current")),
    };
    let profile = chosen
        .as_ref()
        .and_then(|(name, _)| auth.profiles.get(name));
    // What a file says is printed only when it is plainly a name or a URL.
    let url = |u: &str| {
        if normalize_url(u, "remote_url", true).is_ok() {
            u.to_owned()
        } else {
            crate::secret::WITHHELD_VALUE.to_owned()
        }
    };
    let name = |n: String| {
        if crate::secret::plain_value(&n) && crate::secret::may_echo(&n) {
            n
        } else {
            crate::secret::WITHHELD_VALUE.to_owned()
        }
    };
    Some(CliStatus {
        file: file.display().to_string(),
        remote_url: profile.map(|p| url(&p.remote_url)),
        key_in: match (&chosen, profile) {
            (_, Some(p)) if p.auth_type != "api_key" => Some("not an API key (OAuth)"),
            (_, Some(p)) if p.api_key.is_empty() => Some("keyring"),
            (_, Some(_)) => Some("file (an entry in its keyring would be read first)"),
            (Some(_), None) => Some("none (auth.json holds no such profile)"),
            (None, None) => None,
        },
        profile: chosen.map(|(n, why)| (name(n), why)),
        shadowed_by,
    })
}
