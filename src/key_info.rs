//! What the key is, as the management API lists it (found by its prefix, asked beside the key
//! check): the lookup's verdict, `--require-key-type`, the personal-key warning, and how the
//! answer is shown. Every value the server chose passes through [`Output::server_text`].
use serde_json::{Value, json};

use crate::api::keys::{self, Declined, KeyInfo};
use crate::api::{ApiSettings, Found, ServerText};
use crate::context::Context;
use crate::error::{Error, Kind, Result};
use crate::output::Output;
use crate::secret::{self, ApiKey};

const PERSONAL: &str = "PERSONAL";

/// Baseten's own words, quoted where a personal key is used on CI.
const RECOMMENDATION: &str =
    "Baseten recommends \"use team keys for CI/CD pipelines\", with minimal permissions";

/// The lookup's outcome: the key as listed, or why it is not known.
#[derive(Debug)]
pub enum Lookup {
    Known {
        prefix: String,
        info: Box<KeyInfo>,
    },
    /// `prefix` is `None` for a key with no `.`: its "prefix" would be the whole key.
    Unknown {
        prefix: Option<String>,
        reason: String,
    },
}

/// The prefix to look `key` up by (`None`: it has no plain one, and no lookup is sent).
pub fn prefix_to_find(key: &ApiKey) -> Option<&str> {
    let prefix = keys::prefix_of(key);
    (key.expose().contains('.') && secret::plain_value(prefix)).then_some(prefix)
}

/// What the lookup by the key's prefix found (as [`crate::api::check_and_find`] had it; `None`
/// for a key with no prefix to find), judged: `--require-key-type` refuses with
/// exit 3 a type that is another or cannot be determined. A failed lookup is otherwise a
/// warning; a personal key on CI is one too.
pub fn judge(
    api: &ApiSettings,
    key: &ApiKey,
    found: Option<Found>,
    ctx: &Context<'_>,
) -> Result<Lookup> {
    let (lookup, unknown) = match (found, prefix_to_find(key)) {
        (Some(found), Some(prefix)) => sort(found, prefix.to_owned()),
        _ => {
            let reason =
                "the key has no plain prefix (the text before its first `.`) to find it by"
                    .to_owned();
            (
                Lookup::Unknown {
                    prefix: None,
                    reason,
                },
                Unknown::NotListed,
            )
        }
    };
    require(api, &lookup, unknown, ctx.out)?;
    warn(api, &lookup, ctx);
    Ok(lookup)
}

/// Why a key's type is not known: the API refused the list (403), the list does not show it, or
/// the list could not be had (an error of this kind: never "rejected" for an answer too large).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unknown {
    Forbidden,
    NotListed,
    Failed(Kind),
}

/// What the lookup by `prefix` came to, and why it failed when it did.
fn sort(found: Found, prefix: String) -> (Lookup, Unknown) {
    match found {
        Ok(Ok(Some(info))) => (
            Lookup::Known {
                prefix,
                info: Box::new(info),
            },
            Unknown::NotListed,
        ),
        Ok(Ok(None)) => (
            unknown(prefix, "the API's list of keys does not show it"),
            Unknown::NotListed,
        ),
        Ok(Err(Declined::Forbidden)) => (
            unknown(
                prefix,
                "this key may not list keys (403), so its type is unknown",
            ),
            Unknown::Forbidden,
        ),
        Ok(Err(d)) => (
            unknown(prefix, &format!("listing keys failed: {d}")),
            Unknown::Failed(d.kind()),
        ),
        Err(e) => (
            unknown(prefix, &format!("listing keys failed: {}", e.message)),
            Unknown::Failed(e.kind),
        ),
    }
}

/// A failed lookup is a warning unless `--require-key-type` made it an error; so is a personal
/// key on CI, unless `--require-key-type` names `personal`.
fn warn(api: &ApiSettings, lookup: &Lookup, ctx: &Context<'_>) {
    match lookup {
        Lookup::Unknown { reason, .. } if api.require_key_type.is_empty() => {
            ctx.out.warn(&format!(
                "could not look the key up: {reason}; carrying on without its name and type"
            ));
        }
        Lookup::Known { info, .. }
            if info.kind.is(PERSONAL)
                && ctx.platform.is_ci()
                && !api.require_key_type.iter().any(|t| t == PERSONAL) =>
        {
            ctx.out.warn(&format!(
                "this CI job uses a personal key: {RECOMMENDATION}; pass --require-key-type personal to accept it without this warning"
            ));
        }
        _ => {}
    }
}

fn unknown(prefix: String, reason: &str) -> Lookup {
    Lookup::Unknown {
        prefix: Some(prefix),
        reason: reason.to_owned(),
    }
}

/// `--require-key-type`: the key's type must be one of those named.
fn require(api: &ApiSettings, lookup: &Lookup, unknown: Unknown, out: &Output) -> Result<()> {
    let wanted = &api.require_key_type;
    if wanted.is_empty() {
        return Ok(());
    }
    let names = wanted
        .iter()
        .map(|t| keys::kebab(t))
        .collect::<Vec<_>>()
        .join(", ");
    let refused = |message: String, hint: String| {
        Err(Error::new(Kind::Rejected, format!("{message}; nothing was written")).with_hint(hint))
    };
    match lookup {
        Lookup::Known { info, .. } if wanted.iter().any(|t| info.kind.is(t)) => Ok(()),
        Lookup::Known { prefix, info } => refused(
            format!(
                "the key {prefix} is a {} key, and --require-key-type asks for {names}",
                kebab_type(info, out)
            ),
            format!(
                "give the CI a key of type {names} ({RECOMMENDATION}), or change --require-key-type"
            ),
        ),
        Lookup::Unknown { reason, .. } if unknown == Unknown::Forbidden => refused(
            format!("--require-key-type needs the key's type, and {reason}"),
            "give the CI a key that may list keys (GET /v1/api_keys), or drop --require-key-type"
                .into(),
        ),
        Lookup::Unknown { reason, .. } => {
            let message = format!(
                "--require-key-type needs the key's type, which could not be determined: {reason}"
            );
            let hint = "run again once the API answers, or drop --require-key-type";
            match unknown {
                Unknown::Failed(kind) => {
                    Err(Error::new(kind, format!("{message}; nothing was written")).with_hint(hint))
                }
                _ => refused(message, hint.into()),
            }
        }
    }
}

/// The key's type in the flags' spelling, as plain text.
fn kebab_type(info: &KeyInfo, out: &Output) -> String {
    keys::kebab(&out.show(Some(&info.kind)))
}

/// The server's value as plain text, `None` when it gave none.
fn shown(value: Option<&ServerText>, out: &Output) -> Option<String> {
    Some(out.show(value)).filter(|v| !v.is_empty())
}

impl Lookup {
    /// The key's prefix, when it has one to show.
    pub fn prefix(&self) -> Option<&str> {
        match self {
            Lookup::Known { prefix, .. } => Some(prefix),
            Lookup::Unknown { prefix, .. } => prefix.as_deref(),
        }
    }

    /// `pre1234: "ci-deploy" (workspace-manage-all, team ml, all models), last used 2026-11-29`,
    /// or `pre1234: not known (why)`.
    pub fn describe(&self, out: &Output) -> String {
        let Lookup::Known { prefix, info } = self else {
            let why = self.reason().unwrap_or_default();
            return match self.prefix() {
                Some(prefix) => format!("{prefix}: not known ({why})"),
                None => format!("not known ({why})"),
            };
        };
        let name = shown(info.name.as_ref(), out).unwrap_or_else(|| "unnamed".into());
        let mut scope = vec![kebab_type(info, out)];
        if let Some(team) = shown(info.team_name.as_ref(), out) {
            scope.push(format!("team {team}"));
        }
        if let Some(owner) = owner(info, out) {
            scope.push(format!("owner {owner}"));
        }
        scope.push(match models(info, out) {
            None => "all models".into(),
            Some(ids) => format!("models {}", ids.join(" ")),
        });
        let used = timestamp(info.last_used_at.as_ref(), out).map_or_else(
            || "never used".into(),
            |t| match t.get(..10) {
                Some(date) if t != secret::WITHHELD_VALUE => format!("last used {date}"),
                _ => format!("last used {t}"),
            },
        );
        format!("{prefix}: \"{name}\" ({}), {used}", scope.join(", "))
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Lookup::Unknown { reason, .. } => Some(reason),
            Lookup::Known { .. } => None,
        }
    }

    /// `--output json`'s `key`: what is known, or `known: false` and the reason.
    pub fn json(&self, out: &Output) -> Value {
        let Lookup::Known { prefix, info } = self else {
            return json!({"known": false, "prefix": self.prefix(), "reason": self.reason()});
        };
        json!({
            "known": true,
            "prefix": prefix,
            "name": shown(info.name.as_ref(), out),
            "type": kebab_type(info, out),
            "team": shown(info.team_name.as_ref(), out),
            "model_ids": models(info, out),
            "owner": info.owner.as_ref().map(|o| json!({
                "email": shown(o.email.as_ref(), out),
                "name": shown(o.name.as_ref(), out),
            })),
            "created_at": timestamp(info.created_at.as_ref(), out),
            "last_used_at": timestamp(info.last_used_at.as_ref(), out),
        })
    }

    /// The step outputs `key-type`, `key-name` and `key-team` (empty when not known).
    pub fn outputs(&self, out: &Output) -> [(&'static str, String); 3] {
        let (kind, name, team) = match self {
            Lookup::Known { info, .. } => (
                kebab_type(info, out),
                out.show(info.name.as_ref()),
                out.show(info.team_name.as_ref()),
            ),
            Lookup::Unknown { .. } => Default::default(),
        };
        [("key-type", kind), ("key-name", name), ("key-team", team)]
    }
}

/// A server's timestamp, through [`Output::show_timestamp`].
fn timestamp(value: Option<&ServerText>, out: &Output) -> Option<String> {
    out.show_timestamp(value)
}

/// A personal key's owner: the email, else the name.
fn owner(info: &KeyInfo, out: &Output) -> Option<String> {
    let o = info.owner.as_ref()?;
    shown(o.email.as_ref(), out).or_else(|| shown(o.name.as_ref(), out))
}

/// The models the key is limited to; `None` for all.
fn models(info: &KeyInfo, out: &Output) -> Option<Vec<String>> {
    let ids = info.model_ids.as_ref().filter(|ids| !ids.is_empty())?;
    Some(ids.iter().map(|id| out.show(Some(id))).collect())
}
