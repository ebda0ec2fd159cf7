//! Job keys: a key minted for one CI job with the resolved key, named for what made it, when it
//! expires and a random part of its own ([`name`]), staged in the undo record before it is
//! created, checked once created, and revoked with `DELETE` when the job ends (or by
//! `keys prune` once expired). A revocation gets its own budget and is always attempted; one
//! that fails is an error the job sees.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::keys::{self, Declined, NewKey};
use crate::api::{self, Client, Verdict};
use crate::cli::JobKeyType;
use crate::context::Context;
use crate::error::{Error, Kind, Result};
use crate::output::Output;
use crate::secret::ApiKey;
use crate::{atomic_file, undo};

pub mod export;
pub mod name;
pub mod post;
pub mod prune;

pub use name::{MAX_TTL, MIN_TTL, expired, now, parse_ttl};

/// `--job-key` and its flags, checked.
#[derive(Debug)]
pub struct JobKeySettings {
    pub kind: JobKeyType,
    pub model_ids: Vec<String>,
    pub team: Option<String>,
    pub ttl: Duration,
    /// Seconds since the epoch when the command started: the expiry is counted from it.
    pub now: u64,
    /// This CI job's identity, which names the key.
    pub job: String,
}

/// A job key lives this long unless `--job-key-ttl` says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6 * 3600);

/// Checks that `record` is one login could have written for the trussrc beside `file`
/// ([`undo::authenticate`]), and that its job keys are ones login mints.
pub fn authenticate(record: &undo::Record, file: &Path) -> Result<()> {
    undo::authenticate(record, file)?;
    authenticate_job_keys(record).map_err(|why| undo::refused(file, &why))
}

/// A record's job keys are ones login mints: named as it names them, with a prefix a key can
/// have, minted by an API reached over https (or http to loopback); a staged record changes
/// nothing else.
fn authenticate_job_keys(record: &undo::Record) -> std::result::Result<(), String> {
    for key in &record.job_keys {
        if name::parse(&key.name).is_none() {
            return Err("a job key's name is not one login gives".into());
        }
        if !key
            .prefix
            .as_deref()
            .is_none_or(crate::api::keys::prefix_shaped)
        {
            return Err("a job key's prefix is malformed".into());
        }
        let url = crate::urls::normalize_url(&key.api_url, "api_url", false).ok();
        if url.as_deref() != Some(key.api_url.as_str()) {
            return Err("a job key's API is not an https URL (or http to loopback)".into());
        }
    }
    let changes_nothing = !record.keyring
        && record.previous_section.is_none()
        && record.original_sha256.is_none()
        && record.exported.is_empty()
        && record.job_keys.len() == 1;
    if record.staged && !changes_nothing {
        return Err("a staged record changes the trussrc".into());
    }
    Ok(())
}

/// A minted key, and what the undo record says of it.
pub struct Minted {
    pub key: ApiKey,
    pub record: undo::JobKey,
    /// The staged record's id, replaced by the login's own.
    pub staged: Option<String>,
}

/// Where a job key's intent is written before the create: the undo record beside `trussrc`.
pub struct Staging {
    pub trussrc: PathBuf,
    pub remote: String,
    pub job: Option<String>,
    /// How long to wait for the trussrc's lock.
    pub wait: Duration,
}

/// The team's id: an id (`t_…` or one the teams list has) as it is, a name through `GET /v1/teams`.
fn team_id(client: &Client, key: &ApiKey, team: &str, out: &Output) -> Result<String> {
    let teams = keys::teams(client, key)?.map_err(|why| {
        Error::new(
            why.kind(),
            format!("could not look up team {team:?}: {why}; no job key was minted"),
        )
        .with_hint("pass the team's id instead of its name, or use a key that may list teams")
    })?;
    teams
        .iter()
        .find(|t| t.id.is(team))
        .or_else(|| teams.iter().find(|t| t.name.is(team)))
        .map(|t| t.id.unprinted().to_owned())
        .ok_or_else(|| {
            let names: Vec<String> = teams.iter().map(|t| out.show(Some(&t.name))).collect();
            Error::usage(format!(
                "no team {team:?} in this workspace (teams: {})",
                names.join(", ")
            ))
        })
}

/// Mints the job key with `key` and checks it: the new key is masked before anything else is
/// printed. With `staging`, the intent (the name, random part and all) is durable before the
/// create; a key whose check fails is revoked by its prefix and its intent retired.
pub fn mint(
    client: &Client,
    key: &ApiKey,
    plan: &JobKeySettings,
    out: &Output,
    staging: Option<&Staging>,
) -> Result<Minted> {
    let expiry = plan.now + plan.ttl.as_secs();
    let name = name::name(&plan.job, expiry.div_ceil(60) * 60, &name::random_part())
        .ok_or_else(|| Error::unexpected(format!("job {:?} gives no key name", plan.job)))?;
    let team_id = plan
        .team
        .as_deref()
        .map(|t| team_id(client, key, t, out))
        .transpose()?;
    let mut record = undo::JobKey {
        name: name.clone(),
        prefix: None,
        api_url: client.base().to_owned(),
    };
    let staged = staging.map(|s| s.stage(&record)).transpose()?;
    let new = NewKey {
        name: name.clone(),
        kind: keys::screaming(plan.kind.as_str()),
        model_ids: plan.model_ids.clone(),
        team_id,
    };
    let minted = create(client, key, &new, staging, staged.as_deref())?;
    if let Err(e) = out
        .mask(&minted)
        .and_then(|()| sane(client, key, &minted, &name))
    {
        // Not masked, or not a new key: never used. Nothing is deleted by the prefix it answered;
        // the key it may have made under the name is deleted by that name (the intent keeps it
        // for the post unless one was).
        retire_if_deleted(revoke(client, key, &record), staging, staged.as_deref());
        return Err(e);
    }
    record.prefix = Some(keys::prefix_of(&minted).to_owned());
    let minted = Minted {
        key: minted,
        record,
        staged,
    };
    if let Err(e) = check_minted(client, &minted, plan) {
        retire_or_keep(client, key, &minted, staging, out);
        return Err(e);
    }
    out.info(&format!(
        "Minted job key {name} ({}, prefix {}); it is the key this job uses",
        plan.kind.as_str(),
        minted.record.prefix.as_deref().unwrap_or_default()
    ));
    Ok(minted)
}

/// The create. Refused (403 or another 4xx): nothing was created, and the intent is retired. A
/// 2xx the client could not read, or a 5xx, may have created the key: the intent stays for the
/// post to find it by.
fn create(
    client: &Client,
    key: &ApiKey,
    new: &NewKey,
    staging: Option<&Staging>,
    staged: Option<&str>,
) -> Result<ApiKey> {
    keys::create(client, key, new)?.map_err(|why| {
        if why.nothing_created()
            && let (Some(s), Some(id)) = (staging, staged)
        {
            s.retire(id);
        }
        refused_create(&new.name, &why)
    })
}

/// Retires the intent once a key was seen deleted (not when none was found: the list may not show
/// it yet, and the post or a prune then looks again).
fn retire_if_deleted(revoked: Revoked, staging: Option<&Staging>, id: Option<&str>) {
    if let (Revoked::Deleted(prefixes), Some(s), Some(id)) = (revoked, staging, id)
        && !prefixes.is_empty()
    {
        s.retire(id);
    }
}

fn refused_create(name: &str, why: &Declined) -> Error {
    Error::new(
        why.kind(),
        format!("could not create the job key {name}: {why}; nothing was stored"),
    )
    .with_hint("minting a key per job needs a key that may create keys (a workspace key that manages all, or one that manages API keys); drop --job-key to use the key as it is")
}

/// Whether `key` has a key's shape: a prefix of letters and digits, a `.`, and a secret of 16 to
/// 256 letters, digits, `_` or `-`.
pub fn well_formed(key: &ApiKey) -> bool {
    let Some((prefix, secret)) = key.expose().split_once('.') else {
        return false;
    };
    (1..=64).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric())
        && (16..=256).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The create's answer is a new key: well formed, not the minting key nor one with its prefix,
/// and listed under the name just asked for. Otherwise an error (exit 4: the API did not answer
/// as Baseten's does), and nothing is ever deleted by the prefix it answered.
fn sane(client: &Client, key: &ApiKey, minted: &ApiKey, name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::new(
            Kind::Unreachable,
            format!("the API answered the create of job key {name} with {why}; nothing was stored"),
        )
        .with_hint("check --api-url: the Baseten API answers a create with a new key; run `truss-ci keys prune` later to delete any key left under that name"))
    };
    if !well_formed(minted) {
        return bad("something that is not an API key");
    }
    let prefix = keys::prefix_of(minted);
    if minted.expose() == key.expose() || prefix == keys::prefix_of(key) {
        return bad("the key that asked for it, not a new one");
    }
    match keys::find(client, key, prefix)? {
        Ok(Some(info)) if info.name.as_ref().is_some_and(|n| n.is(name)) => Ok(()),
        Ok(Some(_)) => bad("a key that is listed under another name"),
        Ok(None) => bad("a key that the API's list of keys does not show"),
        Err(why) => bad(&format!(
            "a key that could not be found in the list of keys ({why})"
        )),
    }
}

/// The minted key must authenticate; an invoke or metrics key answers 403 to `users/me`, which is
/// what such a key is for.
fn check_minted(client: &Client, minted: &Minted, plan: &JobKeySettings) -> Result<()> {
    match api::check_key(client, &minted.key, "the minted job key")? {
        Verdict::Valid(_) => Ok(()),
        Verdict::Restricted if plan.kind.restricted() => Ok(()),
        Verdict::Restricted => Err(Error::new(
            Kind::Rejected,
            format!(
                "the minted job key {} may not call the management API (403); it was revoked",
                minted.record.name
            ),
        )),
    }
}

/// After a login that failed once its key was minted: the key is revoked by its prefix, and its
/// intent retired when that worked; else the intent learns the prefix, so that the post or a
/// prune revokes it by that and never by name.
fn retire_or_keep(
    client: &Client,
    key: &ApiKey,
    minted: &Minted,
    staging: Option<&Staging>,
    out: &Output,
) {
    let revoked = revoke_quietly(client, key, &minted.record, out);
    let (Some(staging), Some(id)) = (staging, &minted.staged) else {
        return;
    };
    if revoked {
        staging.retire(id);
    } else if let Err(e) = staging.learn_prefix(id, &minted.record) {
        tracing::debug!("the job key's intent keeps no prefix: {}", e.message);
    }
}

/// What revoking a job key came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Deleted these prefixes (none: it was already gone).
    Deleted(Vec<String>),
    /// Could not: the error kind it comes to, and why.
    Failed(Kind, String),
}

/// Deletes the job key `record` describes with `key`: by its prefix when it is known; else (a
/// kill between the create and the record, or a create whose answer could not be trusted) by
/// its name among the keys listed, only a name with a random part, and only when exactly one key
/// has it (never the revoking key itself).
pub fn revoke(client: &Client, key: &ApiKey, record: &undo::JobKey) -> Revoked {
    match &record.prefix {
        Some(prefix) => delete(client, key, prefix),
        None => revoke_by_name(client, key, &record.name),
    }
}

fn delete(client: &Client, key: &ApiKey, prefix: &str) -> Revoked {
    match keys::delete(client, key, prefix) {
        Ok(Ok(_)) => Revoked::Deleted(vec![prefix.to_owned()]),
        Ok(Err(Declined::Status(status, _))) if status == reqwest::StatusCode::NOT_FOUND => {
            Revoked::Deleted(Vec::new())
        }
        Ok(Err(why)) => Revoked::Failed(why.kind(), format!("DELETE {prefix}: {why}")),
        Err(e) => Revoked::Failed(e.kind, e.message),
    }
}

fn revoke_by_name(client: &Client, key: &ApiKey, name: &str) -> Revoked {
    if !name::parse(name).is_some_and(|p| p.unique) {
        return Revoked::Failed(
            Kind::Unexpected,
            "its prefix was never recorded, and its name (made before names had a random part) may be another job's too, so nothing was deleted by name".into(),
        );
    }
    let all = match keys::list(client, key) {
        Ok(Ok(all)) => all,
        Ok(Err(why)) => return Revoked::Failed(why.kind(), format!("could not list keys: {why}")),
        Err(e) => return Revoked::Failed(e.kind, e.message),
    };
    let own = keys::prefix_of(key);
    let named: Vec<_> = all
        .iter()
        .filter(|k| k.name.as_ref().is_some_and(|n| n.is(name)) && !k.prefix.is(own))
        .collect();
    match named.as_slice() {
        [] => Revoked::Deleted(Vec::new()),
        // The prefix is the server's: only one a key can have is sent back, or printed.
        [one] if !keys::prefix_shaped(one.prefix.unprinted()) => Revoked::Failed(
            Kind::Unreachable,
            format!("the key named {name} is listed with a prefix no key has; nothing was deleted"),
        ),
        [one] => delete(client, key, one.prefix.unprinted()),
        many => Revoked::Failed(
            Kind::Unreachable,
            format!(
                "{} keys are named {name}, which one job key alone may be; none was deleted by name",
                many.len()
            ),
        ),
    }
}

/// The error for a job key that outlives the job: it names the key, its prefix and the way to
/// delete it; its kind is the failure's (2 no key to revoke with, 3 refused, 4 unreachable).
pub fn not_revoked(record: &undo::JobKey, kind: Kind, why: &str) -> Error {
    let prefix = record.prefix.as_deref().unwrap_or("not recorded");
    Error::new(
        kind,
        format!(
            "the job key {} (prefix {prefix}) was not revoked: {why}; it stays valid until it expires and is deleted",
            record.name
        ),
    )
    .with_hint(format!(
        "run `truss-ci keys prune` with a key that may delete keys once it expires, or delete the key with prefix {prefix} in Baseten's settings now"
    ))
}

/// Revokes after a failed login, warning when it cannot (the login's own error is the job's).
pub fn revoke_quietly(client: &Client, key: &ApiKey, record: &undo::JobKey, out: &Output) -> bool {
    client.renew();
    match revoke(client, key, record) {
        Revoked::Deleted(_) => true,
        Revoked::Failed(kind, why) => {
            out.warn(&not_revoked(record, kind, &why).message);
            false
        }
    }
}

/// Login's step after the key check: with `--job-key`, the minted key (staged in the undo record
/// in CI first), which login then stores in place of `key`.
pub fn for_login(
    (plan, client): (Option<&JobKeySettings>, Option<&Client>),
    (trussrc, remote): (&Path, &str),
    ctx: &Context<'_>,
    key: &ApiKey,
) -> Result<Option<Minted>> {
    let (Some(plan), Some(client)) = (plan, client) else {
        return Ok(None);
    };
    let staging = ctx.platform.is_ci().then(|| Staging {
        trussrc: trussrc.to_owned(),
        remote: remote.to_owned(),
        job: ctx.job.clone(),
        wait: client.timeout(),
    });
    mint(client, key, plan, ctx.out, staging.as_ref()).map(Some)
}

/// After a login that failed once its key was minted: the key is revoked, and its intent taken
/// out of the undo record when that worked (else the post or a prune finds it by its prefix).
pub fn undo_mint(client: &Client, key: &ApiKey, minted: &Minted, trussrc: &Path, out: &Output) {
    let staging = Staging {
        trussrc: trussrc.to_owned(),
        remote: String::new(),
        job: None,
        wait: client.timeout(),
    };
    retire_or_keep(client, key, minted, Some(&staging), out);
}

impl Staging {
    /// Writes the intent: a staged record (nothing in the trussrc is its yet) naming the key
    /// about to be created, durable before the create. Returns its id.
    pub fn stage(&self, key: &undo::JobKey) -> Result<String> {
        let id = atomic_file::random_token(8);
        let record = undo::Record::staged(
            id.clone(),
            self.job.clone(),
            &self.trussrc,
            &self.remote,
            key.clone(),
        );
        self.edit(|records| {
            records.push(record);
            Ok(())
        })?;
        Ok(id)
    }

    /// Takes the intent out once its key is revoked or was never created.
    pub fn retire(&self, id: &str) {
        let retired = self.edit(|records| {
            records.retain(|h| !(h.staged && h.id == id));
            Ok(())
        });
        if let Err(e) = retired {
            tracing::debug!(
                "the job key's intent stays in the undo record: {}",
                e.message
            );
        }
    }

    /// Writes the key's prefix into its intent.
    fn learn_prefix(&self, id: &str, key: &undo::JobKey) -> Result<()> {
        self.edit(|records| {
            for i in records.find(|h| h.staged && h.id == id) {
                records.get_mut(i)?.job_keys = vec![key.clone()];
            }
            Ok(())
        })
    }

    fn edit(&self, change: impl FnOnce(&mut undo::Records<'_>) -> Result<()>) -> Result<()> {
        undo::Journal::open(&self.trussrc, self.wait)?.edit(change)
    }
}

#[cfg(test)]
mod tests;
