//! `truss-ci login`: resolve the key, mask it, check it against the API, write the trussrc
//! section, then hand the platform what later steps need.
use std::io::Read;
use std::path::PathBuf;

use serde_json::json;

use crate::api::User;
use crate::ci::{self, Effect, Value, Var, gitlab, shell};
use crate::cli::{ExportMode, LoginArgs, OutputFormat, Storage};
use crate::commands::verify;
use crate::env::{Env, names};
use crate::error::{Error, Kind, Result};
use crate::key_source::{self, KeyRequest, Source};
use crate::keyring_store::{self, Keyring, Unavailable};
use crate::output::Output;
use crate::secret::{ApiKey, Sensitive};
use crate::settings::{self, DEFAULT_REMOTE_URL, LoginSettings};
use crate::{atomic_file, trussrc, undo};

/// What login did, for the report and for the platform's outputs.
pub struct Report {
    pub remote: String,
    pub remote_url: String,
    pub api_url: String,
    pub trussrc: PathBuf,
    pub trussrc_is_default: bool,
    pub validated: bool,
    pub restricted: bool,
    pub user: Option<User>,
    pub source: Source,
    pub storage: Storage,
}

pub fn run(args: &LoginArgs, env: &Env, out: &Output, stdin: &mut dyn Read) -> Result<()> {
    if args.print_env.is_some() && out.format == OutputFormat::Json {
        return Err(Error::usage(
            "--print-env and --output json both need stdout; choose one",
        ));
    }
    let settings = LoginSettings::resolve(args, env)?;
    let request = KeyRequest {
        stdin: args.key.api_key_stdin,
        file: args.key.api_key_file.as_deref(),
        argv: args.key.api_key.as_deref(),
        from_env: args.key.from_env.as_deref(),
    };
    let (key, source, warnings) =
        key_source::find(&request, env, stdin, out.dialect().missing_key_hint())?;
    // Masking comes before anything else the platform sees.
    out.mask(&key)?;
    let group = out.group("truss-ci login");
    for w in &warnings {
        out.warn(w);
    }
    #[cfg(feature = "test-hooks")]
    if env.get("TRUSS_CI_TEST_PANIC") == Some("login") {
        panic!("forced for a test while holding {key:?} from {source}");
    }
    let result = login(&settings, args, env, &key, source, out);
    drop(group);
    let report = result?;
    print_report(&report, out);
    Ok(())
}

fn login(
    settings: &LoginSettings,
    args: &LoginArgs,
    env: &Env,
    key: &ApiKey,
    source: Source,
    out: &Output,
) -> Result<Report> {
    let path = &settings.trussrc.path;
    let existing = trussrc::load(path)?;
    let remote_url = match &settings.conn.remote_url {
        Some(url) => url.clone(),
        None => match existing.value(&settings.conn.remote, "remote_url") {
            Some(url) => settings::normalize_url(&url, "remote_url", settings.conn.allow_http)
                .map_err(|e| {
                    Error::usage(format!(
                        "in {}, [{}] {}",
                        path.display(),
                        settings.conn.remote,
                        e.message
                    ))
                    .with_hint("pass --remote-url to replace it")
                })?,
            None => DEFAULT_REMOTE_URL.to_owned(),
        },
    };
    let api_url = match &settings.conn.api_url {
        Some(url) => url.clone(),
        None => settings::derive_api_url(&remote_url),
    };

    let mut report = Report {
        remote: settings.conn.remote.clone(),
        remote_url,
        api_url,
        trussrc: path.clone(),
        trussrc_is_default: settings.trussrc.is_default,
        validated: false,
        restricted: false,
        user: None,
        source,
        storage: Storage::Inline,
    };

    if settings.conn.validate {
        validate(settings, env, key, &mut report, out)?;
    }

    // Everything the user asked for is built and checked before anything is written.
    let exports = export_vars(settings, &report, key, args.print_env.is_some());
    let (mut requested, exported) = export_effects(settings, &exports, out)?;
    if let Some(file) = &args.dotenv {
        requested.push(dotenv_effect(file, &report, out)?);
    }
    let print_env = match args.print_env {
        Some(_) => Some(shell::export_lines(&exports)?),
        None => None,
    };

    let platform = out.dialect().platform();
    let job = platform.job_id(env);
    let keyring = Keyring::from_env(env);
    let scope = platform.is_ci().then(|| job.clone());
    let commit = Commit::write(
        settings,
        args.storage,
        key,
        &mut report,
        &keyring,
        out,
        scope,
        exported,
    )?;

    // What was asked for is delivered whole, or the login is rolled back.
    let delivered = out
        .apply_all_or_nothing(requested)
        .and_then(|()| match &print_env {
            Some(lines) => out.stdout_sensitive(lines),
            None => Ok(()),
        })
        .and_then(|()| print_json(&report, out));
    if let Err(e) = delivered {
        commit.rollback(&keyring);
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
    let id = commit.id.clone();
    drop(commit);

    // Outputs, the summary and the post step's state are informational: a failure is a warning.
    let informational = platform_outputs(&report, out).and_then(|mut effects| {
        if let Some(id) = &id {
            let file = undo::path_for(path);
            let (file, trussrc) = (file.display().to_string(), path.display().to_string());
            effects.extend(out.dialect().save_state(&[
                (undo::STATE_FILE, &file),
                (undo::STATE_ID, id),
                (undo::STATE_TRUSSRC, &trussrc),
            ])?);
        }
        Ok(effects)
    });
    if let Err(e) = informational.and_then(|effects| out.apply(effects)) {
        out.warn(&format!("{}; the login itself succeeded", e.message));
    }
    if platform.is_ci() && job.is_none() && !out.dialect().hands_state_to_post() {
        out.info(&format!(
            "note: without {}, `truss-ci logout --post` cannot tell this job's login from another job's, so it will not undo it",
            platform.job_vars()
        ));
    }
    Ok(report)
}

/// A login written to disk and still locked: the trussrc, its undo record and the keyring entry,
/// with what they held before, so that the whole of it can be rolled back.
struct Commit {
    locked: trussrc::Locked,
    remote: String,
    undo_file: PathBuf,
    /// The records before this login (`None`: none were written).
    records_before: Option<Vec<undo::Record>>,
    /// What the keyring held before, when this login wrote it.
    keyring_before: Option<Option<Sensitive>>,
    id: Option<String>,
}

impl Commit {
    /// Under one hold of the trussrc's lock: the undo record first (write-ahead, when `scope`
    /// is set: a CI job, maybe unnamed), then the keyring entry, then the trussrc.
    #[allow(clippy::too_many_arguments)]
    fn write(
        settings: &LoginSettings,
        storage: Storage,
        key: &ApiKey,
        report: &mut Report,
        keyring: &Keyring,
        out: &Output,
        scope: Option<Option<String>>,
        exported: Vec<String>,
    ) -> Result<Self> {
        let path = &settings.trussrc.path;
        let locked = trussrc::Locked::open(path, settings.conn.timeout)?;
        let undo_file = undo::path_for(path);
        atomic_file::sweep(&undo_file);
        let mut keyring_before = keyring_previous(storage, keyring, report, out);
        let (mut text, spliced) = splice(&locked, report, key, keyring_before.is_none())?;

        let mut records_before = None;
        let mut id = None;
        let mut record = scope.map(|job| undo::Record {
            id: ci::random_token(8),
            job,
            trussrc: path.clone(),
            remote: report.remote.clone(),
            created_file: locked.existing.is_none(),
            previous_section: locked.doc.section_text(&report.remote).map(str::to_owned),
            before: spliced.before.clone(),
            after: spliced.after.clone(),
            original_sha256: locked.existing.as_deref().map(undo::sha256),
            written_sha256: undo::sha256(&text),
            keyring: keyring_before.is_some(),
            previous_keyring: keyring_before
                .as_ref()
                .and_then(|p| p.as_ref())
                .map(|p| p.expose().to_owned()),
            exported,
        });
        if let Some(new) = &record {
            let mut records = undo::load(&undo_file)?;
            records_before = Some(records.clone());
            id = Some(undo::record(&mut records, new.clone()));
            undo::save(&locked, &undo_file, &records)?;
        }
        let mut commit = Self {
            locked,
            remote: report.remote.clone(),
            undo_file,
            records_before,
            keyring_before: None,
            id,
        };

        if keyring_before.is_some() {
            match keyring.set(&report.remote, &keyring_store::api_key_payload(key)) {
                Ok(()) => {
                    commit.keyring_before = keyring_before.take();
                    report.storage = Storage::Keyring;
                }
                Err(Unavailable(why)) => {
                    plaintext_warning(&why, report, out);
                    keyring_before = None;
                    text = splice(&commit.locked, report, key, true)?.0;
                    if let (Some(new), Some(records)) = (record.as_mut(), &commit.records_before) {
                        new.written_sha256 = undo::sha256(&text);
                        let mut records = records.clone();
                        undo::record(&mut records, new.clone());
                        if let Err(e) = undo::save(&commit.locked, &commit.undo_file, &records) {
                            commit.rollback(keyring);
                            return Err(e);
                        }
                    }
                }
            }
        }
        debug_assert!(keyring_before.is_none() || commit.keyring_before.is_some());
        if let Err(e) = commit.locked.write(&text) {
            commit.rollback(keyring);
            return Err(e);
        }
        Ok(commit)
    }

    /// Puts the trussrc, the keyring entry and the undo records back as they were.
    fn rollback(self, keyring: &Keyring) {
        let _ = self.locked.restore();
        if let Some(previous) = &self.keyring_before {
            let _ = keyring.restore(&self.remote, previous.as_ref());
        }
        if let Some(records) = &self.records_before {
            let _ = undo::save(&self.locked, &self.undo_file, records);
        }
    }
}

/// The locked trussrc with the login's section in place (the key inline or not), checked.
fn splice(
    locked: &trussrc::Locked,
    report: &Report,
    key: &ApiKey,
    inline: bool,
) -> Result<(String, trussrc::Spliced)> {
    let block = trussrc::api_key_section(
        &report.remote,
        &report.remote_url,
        inline.then(|| key.expose()),
    );
    let spliced = locked.doc.with_section(&report.remote, &block);
    Ok((
        locked.check(spliced.text.clone(), &[&report.remote])?,
        spliced,
    ))
}

/// With `--storage keyring`: the entry the login is about to replace (`Some(None)` when there is
/// none). `None`: the key stays inline, after the single warning truss itself prints, unless the
/// keyring is disabled by env (then silently).
fn keyring_previous(
    storage: Storage,
    keyring: &Keyring,
    report: &Report,
    out: &Output,
) -> Option<Option<Sensitive>> {
    if storage != Storage::Keyring || keyring.is_disabled() {
        return None;
    }
    match keyring.get(&report.remote) {
        Ok(previous) => Some(previous),
        Err(Unavailable(why)) => {
            plaintext_warning(&why, report, out);
            None
        }
    }
}

fn plaintext_warning(why: &str, report: &Report, out: &Output) {
    tracing::debug!("keyring unusable: {why}");
    out.warn_verbatim(&format!(
        "Warning: no usable OS keyring backend; storing credentials for {} in plaintext in {}.",
        report.remote,
        report.trussrc.display()
    ));
}

fn validate(
    settings: &LoginSettings,
    env: &Env,
    key: &ApiKey,
    report: &mut Report,
    out: &Output,
) -> Result<()> {
    report.user = verify::verify(
        &settings.conn,
        env,
        key,
        &report.api_url,
        &report.source,
        out,
    )?;
    report.restricted = report.user.is_none();
    report.validated = true;
    Ok(())
}

/// The env later steps get: the key, USER_TRUSSRC_PATH when truss would not find the file on its
/// own, and the BASETEN_TRUSS_AUTH_* pair in truss-env mode.
fn export_vars<'a>(
    settings: &LoginSettings,
    report: &'a Report,
    key: &'a ApiKey,
    print_env: bool,
) -> Vec<Var<'a>> {
    let mode = settings.export.or(print_env.then_some(ExportMode::Key));
    let mut vars = Vec::new();
    if mode.is_some() {
        vars.push(Var {
            name: names::BASETEN_API_KEY,
            value: Value::Secret(key),
        });
    }
    if (mode.is_some() || settings.isolate)
        && !report.trussrc_is_default
        && let Some(path) = report.trussrc.to_str()
    {
        vars.push(Var {
            name: names::USER_TRUSSRC_PATH,
            value: Value::Plain(path),
        });
    }
    if mode == Some(ExportMode::TrussEnv) {
        vars.push(Var {
            name: names::BASETEN_TRUSS_AUTH_API_KEY,
            value: Value::Secret(key),
        });
        vars.push(Var {
            name: names::BASETEN_TRUSS_AUTH_REMOTE_URL,
            value: Value::Plain(&report.remote_url),
        });
    }
    vars
}

/// The platform's env exports, and the names of the env vars exported.
fn export_effects(
    settings: &LoginSettings,
    exports: &[Var<'_>],
    out: &Output,
) -> Result<(Vec<Effect>, Vec<String>)> {
    let dialect = out.dialect();
    let mut effects = Vec::new();
    let mut exported = Vec::new();
    if settings.export.is_some() || settings.isolate {
        match dialect.export(exports)? {
            Some(e) => {
                effects.extend(e);
                exported = exports.iter().map(|v| v.name.to_owned()).collect();
            }
            None if exports.is_empty() => {}
            None => effects.push(Effect::Warn(format!(
                "--export-env has no effect on {}: it has no way to hand env to later steps; use `eval \"$(truss-ci login --from-env --print-env sh)\"` within a step",
                dialect.platform().name()
            ))),
        }
    }
    Ok((effects, exported))
}

/// A value the server chose, for one line of output: scrubbed, no control characters.
fn server_text(value: Option<&str>, out: &Output) -> String {
    value.map(|v| ci::clean(&out.scrub(v))).unwrap_or_default()
}

/// The platform's step outputs and summary.
fn platform_outputs(report: &Report, out: &Output) -> Result<Vec<Effect>> {
    let dialect = out.dialect();
    let user = report.user.clone().unwrap_or_default();
    let workspace = server_text(user.workspace.as_deref(), out);
    let email = server_text(user.email.as_deref(), out);
    let trussrc = report.trussrc.display().to_string();
    let mut effects = dialect.outputs(&[
        ("remote", &report.remote),
        ("remote-url", &report.remote_url),
        ("api-url", &report.api_url),
        ("trussrc-path", &trussrc),
        ("workspace", &workspace),
        ("user-email", &email),
        ("validated", if report.validated { "true" } else { "false" }),
    ])?;
    effects.extend(dialect.summary(&summary(report, &workspace, &email)));
    Ok(effects)
}

fn summary(report: &Report, workspace: &str, email: &str) -> String {
    use ci::github::md_cell;
    let dash = |s: &str| {
        if s.is_empty() {
            "—".to_owned()
        } else {
            md_cell(s)
        }
    };
    format!(
        "### Baseten login\n\n| | |\n|---|---|\n| Remote | {} |\n| URL | {} |\n| Workspace | {} |\n| User | {} |\n| Storage | {} in {} |\n| Key from | {} |\n| Validated | {} |\n\n",
        md_cell(&report.remote),
        md_cell(&report.remote_url),
        dash(workspace),
        dash(email),
        report.storage.as_str(),
        md_cell(&report.trussrc.display().to_string()),
        md_cell(&report.source.to_string()),
        match (report.validated, report.restricted) {
            (true, false) => "yes",
            (true, true) => "restricted key (403), accepted",
            (false, _) => "no (--no-validate)",
        }
    )
}

/// The non-secret settings, for a later GitLab job: never the key (dotenv reports are plaintext).
fn dotenv_effect(file: &std::path::Path, report: &Report, out: &Output) -> Result<Effect> {
    let workspace = report
        .user
        .as_ref()
        .map(|u| server_text(u.workspace.as_deref(), out));
    let trussrc = report.trussrc.display().to_string();
    let mut vars = vec![
        ("BASETEN_REMOTE", report.remote.as_str()),
        ("BASETEN_REMOTE_URL", report.remote_url.as_str()),
        ("BASETEN_API_URL", report.api_url.as_str()),
    ];
    if let Some(ws) = workspace.as_deref().filter(|w| !w.is_empty()) {
        vars.push(("BASETEN_WORKSPACE", ws));
    }
    if !report.trussrc_is_default {
        vars.push((names::USER_TRUSSRC_PATH, trussrc.as_str()));
    }
    let mut text = gitlab::dotenv_lines(&vars)?;
    // Read no more than the limit, and nothing that is not a regular file (/dev/zero, a FIFO).
    let existing = match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        _ => atomic_file::read_capped(file, gitlab::DOTENV_MAX as u64).map_err(|e| {
            Error::new(
                Kind::Local,
                format!(
                    "could not use {} as the dotenv report: {e}; nothing was written",
                    file.display()
                ),
            )
        })?,
    };
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.insert(0, '\n');
    }
    if existing.len() + text.len() >= gitlab::DOTENV_MAX {
        return Err(Error::new(
            Kind::Local,
            format!(
                "{} would reach GitLab's 5 KB dotenv limit; nothing was written",
                file.display()
            ),
        ));
    }
    Ok(Effect::Append {
        what: "the dotenv report",
        path: file.to_owned(),
        text: crate::secret::Sensitive::new(text),
    })
}

fn print_report(report: &Report, out: &Output) {
    let who = report.user.as_ref().map(|u| {
        let mut s = u
            .email
            .clone()
            .or_else(|| u.name.clone())
            .unwrap_or_else(|| "a Baseten user".into());
        if let Some(ws) = &u.workspace {
            s.push_str(&format!(" (workspace {ws})"));
        }
        s
    });
    let checked = match (&who, report.validated) {
        (Some(who), _) => format!(" as {who}"),
        (None, true) => " with a restricted key".to_owned(),
        (None, false) => " without checking the key (--no-validate)".to_owned(),
    };
    out.info(&format!(
        "Logged in to remote `{}` at {}{checked}; wrote {}",
        report.remote,
        report.remote_url,
        report.trussrc.display()
    ));
}

/// The JSON report on stdout (`--output json`); part of what login delivers.
fn print_json(report: &Report, out: &Output) -> Result<()> {
    if out.format != OutputFormat::Json {
        return Ok(());
    }
    out.json(&json!({
        "remote": report.remote,
        "remote_url": report.remote_url,
        "api_url": report.api_url,
        "trussrc": report.trussrc,
        "storage": report.storage.as_str(),
        "validated": report.validated,
        "restricted": report.restricted,
        "user": report.user,
        "key_source": report.source.to_string(),
    }))
}
