//! Job keys: a key minted for one CI job with the resolved key, named for what made it and when it
//! expires (`truss-ci-<platform>-<job id>-<yyyymmddhhmm>`), staged in the undo record before it
//! is created, and revoked with `DELETE` when the job ends (or by `keys prune` once expired).
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::api::keys::{self, Declined, NewKey};
use crate::api::{self, Client, Verdict};
use crate::ci::Platform;
use crate::error::{Error, Kind, Result};
use crate::output::Output;
use crate::secret::ApiKey;
use crate::settings::{DEFAULT_TIMEOUT, JobKeySettings};
use crate::{atomic_file, trussrc, undo};
use clap::ValueEnum;

/// Names are at most this long (Baseten's limit for key names).
pub const MAX_NAME: usize = 63;
const PREFIX: &str = "truss-ci-";
/// `--job-key-ttl` bounds.
pub const MIN_TTL: Duration = Duration::from_secs(5 * 60);
pub const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `30m`, `6h`, `2d`: a whole number of minutes, hours or days, from 5m to 7d.
pub fn parse_ttl(text: &str) -> Result<Duration> {
    let bad = || {
        Error::usage(format!(
            "--job-key-ttl {:?} is not a duration from 5m to 7d",
            crate::settings::truncate_for_message(text)
        ))
        .with_hint("write a whole number of minutes, hours or days: 30m, 6h, 2d")
    };
    let unit = match text.trim().chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(bad()),
    };
    let digits = &text.trim()[..text.trim().len() - 1];
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ttl = Duration::from_secs(n * unit);
    if ttl < MIN_TTL || ttl > MAX_TTL {
        return Err(bad());
    }
    Ok(ttl)
}

/// Seconds since the epoch now (a test may pin it with `TRUSS_CI_TEST_NOW`).
pub fn now(env: &crate::env::Env) -> u64 {
    #[cfg(feature = "test-hooks")]
    if let Some(now) = env.get("TRUSS_CI_TEST_NOW").and_then(|n| n.parse().ok()) {
        return now;
    }
    let _ = env;
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `yyyymmddhhmm` in UTC for `secs` since the epoch.
pub fn stamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}", rem / 3600, rem % 3600 / 60)
}

/// The date of day `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whether `text` is a real `yyyymmddhhmm` (it formats back to itself).
fn valid_stamp(text: &str) -> bool {
    if text.len() != 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap_or(-1);
    let (y, m, d, h, mi) = (n(0..4), n(4..6), n(6..8), n(8..10), n(10..12));
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return false;
    }
    if h > 23 || mi > 59 {
        return false;
    }
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    civil(days) == (y, m, d)
}

/// The platforms a job key's name may say (every CI platform by its `--ci` name).
fn platforms() -> Vec<String> {
    Platform::value_variants()
        .iter()
        .filter(|p| p.is_ci())
        .map(|p| p.name())
        .collect()
}

/// The job id part of a name: lower-case letters and digits, single hyphens between runs.
fn job_part(id: &str) -> String {
    let mut part = String::new();
    for c in id.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            part.push(c);
        } else if !part.is_empty() && !part.ends_with('-') {
            part.push('-');
        }
    }
    part.trim_end_matches('-').to_owned()
}

/// The name of a key minted by job `job` (`github:123/runner`) that expires at `expiry` (secs):
/// the job id is cut to fit 63 characters, never the expiry.
pub fn name(job: &str, expiry: u64) -> Option<String> {
    let (platform, id) = job.split_once(':')?;
    platforms().iter().find(|p| *p == platform)?;
    let stamp = stamp(expiry);
    let room = MAX_NAME - PREFIX.len() - platform.len() - 2 - stamp.len();
    let mut id = job_part(id);
    id.truncate(room);
    let id = id.trim_end_matches('-');
    let id = if id.is_empty() { "0" } else { id };
    Some(format!("{PREFIX}{platform}-{id}-{stamp}"))
}

/// A job key's name read back: its expiry stamp, when `name` is exactly one [`name`] makes.
pub fn parse_name(name: &str) -> Option<&str> {
    if name.len() > MAX_NAME {
        return None;
    }
    let rest = name.strip_prefix(PREFIX)?;
    let rest = platforms()
        .iter()
        .find_map(|p| rest.strip_prefix(p.as_str())?.strip_prefix('-'))?;
    let (id, stamp) = rest.rsplit_once('-')?;
    let id_ok = !id.is_empty()
        && job_part(id) == id
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (id_ok && valid_stamp(stamp)).then_some(stamp)
}

/// Whether a job key named `name` has expired at `now` (secs).
pub fn expired(name: &str, now: u64) -> bool {
    parse_name(name).is_some_and(|expiry| expiry <= stamp(now).as_str())
}

/// A minted key, and what the undo record says of it.
pub struct Minted {
    pub key: ApiKey,
    pub record: undo::JobKey,
    /// The staged record's id, replaced by the login's own.
    pub staged: Option<String>,
}

/// The team's id: an id (`t_…` or one the teams list has) as it is, a name through `GET /v1/teams`.
fn team_id(client: &Client, key: &ApiKey, team: &str) -> Result<String> {
    let teams = keys::teams(client, key)?.map_err(|why| {
        Error::new(
            Kind::Rejected,
            format!("could not look up team {team:?}: {why}; no job key was minted"),
        )
        .with_hint("pass the team's id instead of its name, or use a key that may list teams")
    })?;
    teams
        .iter()
        .find(|t| t.id == team)
        .or_else(|| teams.iter().find(|t| t.name == team))
        .map(|t| t.id.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = teams.iter().map(|t| t.name.as_str()).collect();
            Error::usage(format!(
                "no team {team:?} in this workspace (teams: {})",
                names.join(", ")
            ))
        })
}

/// Mints the job key with `key` and checks it: the new key is masked before anything else is
/// printed. `stage` writes the intent (the name) before the create.
pub fn mint(
    client: &Client,
    key: &ApiKey,
    plan: &JobKeySettings,
    job: &str,
    out: &Output,
    stage: impl FnOnce(&undo::JobKey) -> Result<Option<String>>,
) -> Result<Minted> {
    let expiry = plan.now + plan.ttl.as_secs();
    let name = name(job, expiry.div_ceil(60) * 60)
        .ok_or_else(|| Error::unexpected(format!("job {job:?} gives no key name")))?;
    let team_id = plan
        .team
        .as_deref()
        .map(|t| team_id(client, key, t))
        .transpose()?;
    let mut record = undo::JobKey {
        name: name.clone(),
        prefix: None,
        api_url: client.base().to_owned(),
    };
    let staged = stage(&record)?;
    let new = NewKey {
        name: name.clone(),
        kind: keys::screaming(plan.kind.as_str()),
        model_ids: plan.model_ids.clone(),
        team_id,
    };
    let minted = keys::create(client, key, &new)?.map_err(|why| refused_create(&name, &why))?;
    out.mask(&minted)?;
    record.prefix = Some(keys::prefix_of(&minted).to_owned());
    let minted = Minted {
        key: minted,
        record,
        staged,
    };
    if let Err(e) = check_minted(client, &minted, plan) {
        revoke_quietly(client, key, &minted.record, out);
        return Err(e);
    }
    out.info(&format!(
        "Minted job key {name} ({}, prefix {}); it is the key this job uses",
        plan.kind.as_str(),
        minted.record.prefix.as_deref().unwrap_or_default()
    ));
    Ok(minted)
}

fn refused_create(name: &str, why: &Declined) -> Error {
    let kind = if *why == Declined::Forbidden {
        Kind::Rejected
    } else {
        Kind::Unreachable
    };
    Error::new(
        kind,
        format!("could not create the job key {name}: {why}; nothing was stored"),
    )
    .with_hint("minting a key per job needs a key that may create keys (a workspace key that manages all, or one that manages API keys); drop --job-key to use the key as it is")
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

/// What revoking a job key came to.
#[derive(Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Deleted these prefixes (none: it was already gone).
    Deleted(Vec<String>),
    /// Could not: why.
    Failed(String),
}

/// Deletes the job key `record` describes with `key`: by its prefix, or when the prefix was never
/// recorded (a kill between the create and the record) by its name among the keys listed.
pub fn revoke(client: &Client, key: &ApiKey, record: &undo::JobKey) -> Result<Revoked> {
    let prefixes = match &record.prefix {
        Some(prefix) => vec![prefix.clone()],
        None => match keys::list(client, key)? {
            Ok(all) => all
                .into_iter()
                .filter(|k| k.name.as_deref() == Some(record.name.as_str()))
                .map(|k| k.prefix)
                .collect(),
            Err(why) => return Ok(Revoked::Failed(format!("could not list keys: {why}"))),
        },
    };
    let mut deleted = Vec::new();
    for prefix in prefixes {
        match keys::delete(client, key, &prefix)? {
            Ok(_) => deleted.push(prefix),
            Err(Declined::Status(status, _)) if status == reqwest::StatusCode::NOT_FOUND => {}
            Err(why) => return Ok(Revoked::Failed(format!("DELETE {prefix}: {why}"))),
        }
    }
    Ok(Revoked::Deleted(deleted))
}

/// The warning for a job key that outlives the job.
pub fn not_revoked(out: &Output, record: &undo::JobKey, why: &str) {
    out.warn(&format!(
        "the job key {} (prefix {}) was not revoked: {why}; it stays valid until deleted: run `truss-ci keys prune` with a key that may delete keys",
        record.name,
        record.prefix.as_deref().unwrap_or("not recorded")
    ));
}

/// Revokes after a failed login or exec, warning when it cannot.
pub fn revoke_quietly(client: &Client, key: &ApiKey, record: &undo::JobKey, out: &Output) -> bool {
    match revoke(client, key, record) {
        Ok(Revoked::Deleted(_)) => true,
        Ok(Revoked::Failed(why)) => {
            not_revoked(out, record, &why);
            false
        }
        Err(e) => {
            not_revoked(out, record, &e.message);
            false
        }
    }
}

/// Login's step after the key check: with `--job-key`, the minted key (staged in the undo record
/// in CI first), which login then stores in place of `key`.
pub fn for_login(
    settings: &crate::settings::LoginSettings,
    ctx: &crate::settings::Context<'_>,
    client: Option<&Client>,
    key: &ApiKey,
) -> Result<Option<Minted>> {
    let (Some(plan), Some(client)) = (&settings.job_key, client) else {
        return Ok(None);
    };
    let staging = |record: &undo::JobKey| {
        if ctx.platform.is_ci() {
            stage(
                &settings.trussrc.path,
                &settings.conn.remote,
                ctx.job.clone(),
                record,
            )
        } else {
            Ok(None)
        }
    };
    mint(client, key, plan, &plan.job, ctx.out, staging).map(Some)
}

/// After a login that failed once its key was minted: the key is revoked, and its intent taken
/// out of the undo record when that worked (else the post or a prune finds it).
pub fn undo_mint(client: &Client, key: &ApiKey, minted: &Minted, trussrc: &Path, out: &Output) {
    if revoke_quietly(client, key, &minted.record, out)
        && let Some(id) = &minted.staged
        && let Err(e) = unstage(trussrc, id)
    {
        tracing::debug!(
            "the revoked job key's intent stays in the undo record: {}",
            e.message
        );
    }
}

/// Writes the intent: a staged record (nothing in the trussrc is its yet) naming the key about
/// to be created, durable before the create. Returns its id.
pub fn stage(
    trussrc: &Path,
    remote: &str,
    job: Option<String>,
    key: &undo::JobKey,
) -> Result<Option<String>> {
    let locked = trussrc::Locked::open(trussrc, DEFAULT_TIMEOUT)?;
    let file = undo::path_for(trussrc);
    atomic_file::sweep(&file);
    let mut records = undo::load(&file)?;
    let id = atomic_file::random_token(8);
    records.push(undo::Record::staged(
        id.clone(),
        job,
        trussrc,
        remote,
        key.clone(),
    ));
    undo::save(&locked, &file, &records)?;
    Ok(Some(id))
}

/// Takes a staged record out once its key is revoked (a failed login).
pub fn unstage(trussrc: &Path, id: &str) -> Result<()> {
    let locked = trussrc::Locked::open(trussrc, DEFAULT_TIMEOUT)?;
    let file = undo::path_for(trussrc);
    let mut records = undo::load(&file)?;
    records.retain(|r| !(r.staged && r.id == id));
    undo::save(&locked, &file, &records)
}

/// `logout --post`'s revocation of the job keys of the records it undid.
pub mod post {
    use std::io::Read;

    use super::{Revoked, not_revoked, revoke};
    use crate::api::Client;
    use crate::api::keys::prefix_of;
    use crate::key_source;
    use crate::output::Output;
    use crate::secret::ApiKey;
    use crate::settings::{Context, Revoker};
    use crate::trussrc::Locked;
    use crate::undo::{JobKey, Record};

    /// A job key to revoke, and the key itself when the trussrc still held it (it may revoke
    /// itself where the key that minted it is not available).
    pub struct Found {
        pub key: JobKey,
        own: Option<ApiKey>,
    }

    /// What became of one job key.
    pub struct Outcome {
        pub key: JobKey,
        pub revoked: bool,
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

    /// Revokes each with the key that minted it, resolved again from the same sources; else (or
    /// when that is refused) with the job key itself.
    pub fn revoke_all(
        found: &[Found],
        revoker: &Revoker,
        ctx: &Context<'_>,
        stdin: &mut dyn Read,
    ) -> Vec<Outcome> {
        if found.is_empty() {
            return Vec::new();
        }
        let out = ctx.out;
        let minter = match key_source::find(&revoker.key, ctx.env, stdin, ctx.missing_key_hint) {
            Ok((key, _, _)) => out.mask(&key).ok().map(|()| key),
            Err(e) => {
                tracing::debug!("no key to revoke with: {}", e.message);
                None
            }
        };
        found
            .iter()
            .map(|f| Outcome {
                key: f.key.clone(),
                revoked: revoke_one(f, minter.as_ref(), revoker, out),
            })
            .collect()
    }

    fn revoke_one(found: &Found, minter: Option<&ApiKey>, revoker: &Revoker, out: &Output) -> bool {
        let client = match Client::new(&found.key.api_url, &revoker.api) {
            Ok(client) => client,
            Err(e) => {
                not_revoked(out, &found.key, &e.message);
                return false;
            }
        };
        let mut why =
            "the key that minted it was not given to this step (the same key sources as login)"
                .to_owned();
        for key in minter.into_iter().chain(found.own.as_ref()) {
            match revoke(&client, key, &found.key) {
                Ok(Revoked::Deleted(_)) => return true,
                Ok(Revoked::Failed(w)) => why = w,
                Err(e) => why = e.message,
            }
        }
        not_revoked(out, &found.key, &why);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_made_them_and_when_they_expire() {
        // 2026-11-30T05:13:00Z
        let t = 1_796_015_580;
        assert_eq!(stamp(t), "202611300513");
        let n = name("github:123-1-build/runner 7", t).unwrap();
        assert_eq!(n, "truss-ci-github-123-1-build-runner-7-202611300513");
        assert_eq!(parse_name(&n), Some("202611300513"));
        let long = name(&format!("gitlab:{}", "a".repeat(90)), t).unwrap();
        assert_eq!(long.len(), MAX_NAME);
        assert!(long.ends_with("-202611300513"));
        assert!(parse_name(&long).is_some());
        assert!(name("plain:1", t).is_none());
        assert!(expired(&n, t) && !expired(&n, t - 60));
        for bad in [
            "truss-ci-github-1-202613010000",
            "truss-ci-github-1-202602300000",
            "truss-ci-github--1-202611300513",
            "truss-ci-github-1-20261130051",
            "truss-ci-github-A-202611300513",
            "truss-ci-plain-1-202611300513",
            "truss-ci-github-202611300513",
            "x-truss-ci-github-1-202611300513",
            "truss-ci-github-1-202611300513 ",
        ] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn ttls_are_bounded() {
        assert_eq!(parse_ttl("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_ttl("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_ttl("7d").unwrap(), MAX_TTL);
        for bad in ["4m", "8d", "6", "h", "-1h", "1.5h", "6H", "9999999d"] {
            assert_eq!(parse_ttl(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn only_names_truss_ci_makes_parse(text in "truss-ci-[a-z]{4,9}-[a-z0-9-]{0,50}-[0-9]{12}|.{0,70}") {
            if let Some(stamp) = parse_name(&text) {
                let id = &text[..text.len() - stamp.len() - 1];
                let (platform, id) = id.strip_prefix(PREFIX).unwrap().split_once('-').unwrap();
                proptest::prop_assert!(platforms().iter().any(|p| p == platform));
                proptest::prop_assert_eq!(job_part(id), id);
                proptest::prop_assert!(text.len() <= MAX_NAME);
                proptest::prop_assert!(valid_stamp(stamp));
            }
        }

        #[test]
        fn every_name_made_parses_back(job in "[ -~]{0,80}", secs in 0u64..253_402_300_000) {
            let n = name(&format!("gitlab:{job}"), secs).unwrap();
            proptest::prop_assert!(n.len() <= MAX_NAME);
            let expiry = stamp(secs);
            proptest::prop_assert_eq!(parse_name(&n), Some(expiry.as_str()));
        }
    }
}
