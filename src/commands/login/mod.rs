//! `truss-ci login`: resolve the key, mask it, check it against the API, write the trussrc
//! section (with its undo record, under one lock), then hand the platform what later steps need —
//! all of what was asked for, or nothing.
mod ahead;
mod commit;
mod outputs;

use std::io::Read;

use crate::api::Client;
use crate::api::{User, Verdict};
use crate::cli::Storage;
use crate::commands::verify;
use crate::context::Context;
use crate::endpoint::{Endpoint, endpoint};
use crate::error::{Error, Kind, Result};
use crate::job_key;
use crate::key_info::Lookup;
use crate::key_source::{self, Source};
use crate::secret::ApiKey;
use crate::settings::{LoginSettings, TrussrcPath};
use crate::trussrc;

use commit::{Commit, Scope};

/// What login did, for the report and for the platform's outputs.
pub struct Report {
    pub remote: String,
    pub remote_url: String,
    pub api_url: String,
    pub trussrc: TrussrcPath,
    /// The API's verdict on the key; `None` with `--no-validate`.
    pub verdict: Option<Verdict>,
    pub source: Source,
    pub storage: Storage,
    /// The key as the management API lists it; `None` with `--no-validate`.
    pub key: Option<Lookup>,
    /// The remotes in the trussrc once written: how many, and the first few by name.
    pub remotes: (usize, Vec<String>),
    /// The `baseten` CLI's profile written, and where its key went.
    pub baseten: Option<(String, crate::baseten_cli::login::KeyIn)>,
    /// The remote URL in the `baseten` CLI's form (`scheme://host`); `None` when it has a path,
    /// which the CLI refuses.
    pub cli_remote_url: Option<String>,
}

impl Report {
    pub fn user(&self) -> Option<&User> {
        match &self.verdict {
            Some(Verdict::Valid(user)) => Some(user),
            _ => None,
        }
    }
}

pub fn run(settings: &LoginSettings, ctx: &Context<'_>, stdin: &mut dyn Read) -> Result<()> {
    let out = ctx.out;
    let acquired = key_source::acquire(&settings.key, ctx, stdin)?;
    let group = out.group("truss-ci login");
    acquired.warn(out);
    let (key, source) = (acquired.key, acquired.source);
    job_key::export::check(
        settings.job_key.as_ref(),
        settings.export,
        &source,
        ctx.platform,
    )?;
    #[cfg(feature = "test-hooks")]
    if ctx.env.get("TRUSS_CI_TEST_PANIC") == Some("login") {
        panic!("forced for a test while holding {key:?} from {source}");
    }
    let result = login(settings, ctx, &key, source);
    drop(group);
    outputs::print_report(&result?, out);
    Ok(())
}

fn login(
    settings: &LoginSettings,
    ctx: &Context<'_>,
    key: &ApiKey,
    source: Source,
) -> Result<Report> {
    let (out, platform) = (ctx.out, ctx.platform);
    let (remote_url, api_url, existing) = urls(settings)?;
    preflight(settings, ctx, &existing, &remote_url, key)?;
    let mut report = Report {
        remote: settings.conn.remote.clone(),
        api_url,
        trussrc: settings.trussrc.clone(),
        verdict: None,
        source,
        storage: Storage::Inline,
        key: None,
        remotes: (0, Vec::new()),
        baseten: None,
        cli_remote_url: crate::baseten_cli::cli_remote_url(&remote_url).ok(),
        remote_url,
    };
    let client = settings
        .conn
        .validate
        .then(|| Client::new(&report.api_url, &settings.conn.api))
        .transpose()?;
    let mut ahead = None;
    if let Some(client) = &client {
        // The undo record is staged on another thread while the API answers (`ahead`).
        let ci = platform.is_ci();
        let staging = ahead::applies(settings, ci).then_some((
            (
                settings.trussrc.path.as_path(),
                report.remote.as_str(),
                report.remote_url.as_str(),
            ),
            ctx.job.clone(),
        ));
        // It starts once the check is under way: the request is not held up by it. A thread the
        // system refuses is no staging; one that panics fails the login, before anything is
        // written.
        let (verified, staged) = std::thread::scope(|s| {
            let mut started = None;
            let start = || {
                started = staging.and_then(|(at, job)| {
                    let existing = &existing;
                    std::thread::Builder::new()
                        .spawn_scoped(s, move || ahead::stage(at, key, existing, job))
                        .ok()
                });
            };
            let api = &settings.conn.api;
            let verified = verify::verify_meanwhile(client, api, key, (&report.source, ctx), start);
            (verified, started.map(std::thread::ScopedJoinHandle::join))
        });
        let (verdict, lookup) = verified?;
        report.verdict = Some(verdict);
        report.key = Some(lookup);
        ahead = match staged {
            None | Some(Ok(Ok(None))) => None,
            Some(Ok(Ok(Some(staged)))) => Some(staged),
            Some(Ok(Err(e))) => {
                tracing::debug!("the undo record was not staged ahead: {}", e.message);
                None
            }
            Some(Err(_)) => {
                return Err(Error::unexpected(
                    "staging the undo record failed unexpectedly (a panic); nothing was written",
                ));
            }
        };
    }
    let minted = job_key::for_login(
        (settings.job_key.as_ref(), client.as_ref()),
        (&settings.trussrc.path, &settings.conn.remote),
        ctx,
        key,
    )?;
    let stored = store(
        settings,
        ctx,
        minted.as_ref().map_or(key, |m| &m.key),
        (&mut report, existing, ahead),
        minted.as_ref(),
    );
    if let (Err(_), Some(minted), Some(client)) = (&stored, &minted, &client) {
        job_key::undo_mint(client, key, minted, &settings.trussrc.path, out);
    }
    let id = stored?;
    outputs::informational(&report, id.as_deref(), out);
    outputs::next_command(&report, out);
    if platform.is_ci() && ctx.job.is_none() && !ctx.hands_state_to_post {
        out.info(&format!(
            "note: without {}, `truss-ci logout --post` cannot tell this job's login from another job's, so it will not undo it",
            platform.job_vars()
        ));
    }
    Ok(report)
}

/// Builds what was asked for, writes the login with `key` and delivers it: all of it, or it is
/// rolled back. Returns the undo record's id.
fn store(
    settings: &LoginSettings,
    ctx: &Context<'_>,
    key: &ApiKey,
    (report, read, ahead): (&mut Report, trussrc::Document, Option<ahead::Ahead>),
    minted: Option<&job_key::Minted>,
) -> Result<Option<String>> {
    let out = ctx.out;
    // Everything the user asked for is built and checked before anything is written.
    let requested = outputs::Requested::build(settings, report, key, out)?;
    let scope = ctx.platform.is_ci().then(|| Scope {
        job: ctx.job.clone(),
        exported: requested.exported.clone(),
        job_keys: minted.map(|m| m.record.clone()).into_iter().collect(),
        staged: minted.and_then(|m| m.staged.clone()),
    });
    let commit = Commit::write(settings, key, report, ctx, (scope, read, ahead))?;
    // What was asked for is delivered whole, or the login is rolled back.
    if let Err(e) = requested.deliver(report, out) {
        commit.rollback();
        return Err(Error::new(
            Kind::Local,
            format!(
                "{}; the login was rolled back and nothing was stored",
                e.message
            ),
        )
        .with_hint(
            "make the export target writable (GITHUB_ENV, --dotenv, stdout), then run again",
        ));
    }
    Ok(commit.id.clone())
}

/// Refuses, before any request or write, a login whose trussrc or undo record would outgrow what
/// truss-ci reads back (the job's own post would then fail, and every later job in the HOME):
/// exit 5, nothing sent, created or written. A key yet to be minted may be longer than `key`: room
/// is left for it.
fn preflight(
    settings: &LoginSettings,
    ctx: &Context<'_>,
    existing: &trussrc::Document,
    remote_url: &str,
    key: &ApiKey,
) -> Result<()> {
    // The longest key a create may answer (`job_key::well_formed`).
    let room = if settings.job_key.is_some() { 321 } else { 0 };
    let path = &settings.trussrc.path;
    let remote = &settings.conn.remote;
    let block = trussrc::api_key_section(remote, remote_url, Some(key.expose()));
    trussrc::fits(path, existing.spliced_len(remote, &block) + room)?;
    if let Some(baseten) = &settings.baseten {
        // The CLI's rule for the remote, and a file it could not parse: refused before any
        // request, as the trussrc is.
        crate::baseten_cli::cli_remote_url(remote_url)?;
        crate::baseten_cli::peek(&baseten.auth_file)?;
    }
    if ctx.platform.is_ci() {
        let file = crate::undo::path_for(path);
        let now = std::fs::symlink_metadata(&file).map_or(0, |m| m.len());
        let section = existing.section_text(remote).map_or(0, str::len);
        crate::undo::fits(&file, now + crate::undo::growth(section + room))?;
    }
    Ok(())
}

/// The endpoint ([`endpoint`]), and the trussrc as read.
fn urls(settings: &LoginSettings) -> Result<(String, String, trussrc::Document)> {
    let (path, conn) = (&settings.trussrc.path, &settings.conn);
    // Read first, whatever is given: a file truss-ci will not edit is refused before any request.
    let existing = trussrc::load(path)?;
    let at = Some((&existing, path.as_path()));
    let Endpoint {
        remote_url,
        api_url,
    } = endpoint(conn.remote_url.as_deref(), &conn.api, &conn.remote, at)?;
    Ok((remote_url, api_url, existing))
}
