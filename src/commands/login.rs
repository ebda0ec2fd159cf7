//! `truss-ci login`: resolve the key, mask it, check it against the API, write the trussrc
//! section, then hand the platform what later steps need.
use std::io::Read;
use std::path::PathBuf;

use serde_json::json;

use crate::api::{self, User, Verdict};
use crate::ci::{self, Effect, Platform, Value, Var, gitlab, shell};
use crate::cli::{ExportMode, LoginArgs, OutputFormat, Storage};
use crate::env::{Env, names};
use crate::error::{Error, Kind, Result};
use crate::keyring_store::{self, Keyring, Unavailable};
use crate::output::Output;
use crate::resolve::{self, KeyRequest, Source};
use crate::secret::{ApiKey, Sensitive};
use crate::settings::{self, DEFAULT_REMOTE_URL, LoginSettings};
use crate::{state, trussrc};

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

/// `platform_warnings` are printed after the mask, like every other line.
pub fn run(
    args: &LoginArgs,
    env: &Env,
    out: &Output,
    platform_warnings: Vec<String>,
    stdin: &mut dyn Read,
) -> Result<()> {
    if args.print_env.is_some() && out.format == OutputFormat::Json {
        return Err(Error::usage(
            "--print-env and --output json both need stdout; choose one",
        ));
    }
    let settings = LoginSettings::resolve(args, env)?;
    let request = KeyRequest {
        stdin: args.api_key_stdin,
        file: args.api_key_file.as_deref(),
        argv: args.api_key.as_deref(),
        from_env: args.from_env.as_deref(),
    };
    let (key, source, mut warnings) = resolve::resolve(
        &request,
        env,
        stdin,
        missing_key_hint(out.dialect().platform()),
    )?;
    warnings.extend(platform_warnings);
    // Masking comes before anything else the platform sees.
    out.apply(out.dialect().mask(&key))?;
    out.apply(out.dialect().group_start("truss-ci login", out.verbose))?;
    for w in &warnings {
        out.warn(w);
    }
    // A test-only hook: proves that a panic while the key is held prints nothing of it.
    if env.get("TRUSS_CI_TEST_PANIC") == Some("login") {
        panic!("forced for a test while holding {key:?} from {source}");
    }
    let result = login(&settings, args, env, &key, source, out);
    let _ = out.apply(out.dialect().group_end(out.verbose));
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
    let remote_url = match &settings.remote_url {
        Some(url) => url.clone(),
        None => match existing.value(&settings.remote, "remote_url") {
            Some(url) => {
                settings::normalize_url(&url, "remote_url", settings.allow_http).map_err(|e| {
                    Error::usage(format!(
                        "in {}, [{}] {}",
                        path.display(),
                        settings.remote,
                        e.message
                    ))
                    .with_hint("pass --remote-url to replace it")
                })?
            }
            None => DEFAULT_REMOTE_URL.to_owned(),
        },
    };
    let api_url = match &settings.api_url {
        Some(url) => url.clone(),
        None => settings::derive_api_url(&remote_url),
    };

    let mut report = Report {
        remote: settings.remote.clone(),
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

    if settings.validate {
        validate(settings, key, &mut report, out)?;
    }

    let keyring = Keyring::from_env(env);
    let stored = store_in_keyring(args.storage, &keyring, key, &report, out);
    if stored.is_some() {
        report.storage = Storage::Keyring;
    }
    let result = write(settings, args, key, &report, stored.as_ref(), out);
    if let (Err(_), Some(previous)) = (&result, &stored) {
        // Puts the keyring back as it was, since the trussrc could not be written.
        let _ = keyring.restore(&report.remote, previous.as_ref());
    }
    let (effects, print_env) = result?;
    out.apply(effects)?;
    if let Some(lines) = print_env {
        out.stdout_sensitive(&lines);
    }
    Ok(report)
}

/// Builds and checks every platform entry, writes the trussrc and the undo record, and returns
/// the effects to apply and the `--print-env` text. An error here means the trussrc was not
/// written.
fn write(
    settings: &LoginSettings,
    args: &LoginArgs,
    key: &ApiKey,
    report: &Report,
    stored: Option<&Option<Sensitive>>,
    out: &Output,
) -> Result<(Vec<Effect>, Option<Sensitive>)> {
    let path = &settings.trussrc.path;
    let exports = export_vars(settings, report, key, args.print_env.is_some());
    let (mut effects, exported) = platform_effects(settings, report, &exports, out)?;
    if let Some(file) = &args.dotenv {
        effects.push(dotenv_effect(file, report)?);
    }
    let print_env = match args.print_env {
        Some(_) => Some(shell::export_lines(&exports)?),
        None => None,
    };

    let block = trussrc::api_key_section(
        &report.remote,
        &report.remote_url,
        stored.is_none().then(|| key.expose()),
    );
    let mut splice = None;
    let edited = trussrc::edit(path, &[&report.remote], |doc| {
        let spliced = doc.with_section(&report.remote, &block);
        splice = Some((
            doc.section_text(&report.remote).map(str::to_owned),
            spliced.before,
            spliced.after,
        ));
        Ok(Some(spliced.text))
    })?;

    if !matches!(out.dialect().platform(), Platform::Plain | Platform::None) {
        let (previous_section, before, after) = splice.unwrap_or_default();
        let record = state::Record {
            id: ci::random_token(8),
            trussrc: path.clone(),
            remote: report.remote.clone(),
            created_file: edited.created,
            previous_section,
            before,
            after,
            keyring: stored.is_some(),
            previous_keyring: stored
                .and_then(|p| p.as_ref())
                .map(|p| p.expose().to_owned()),
            exported,
        };
        let file = state::path_for(path);
        let mut id = String::new();
        state::update(&file, path, |records| id = state::record(records, record))?;
        let (file_str, trussrc_str) = (file.display().to_string(), path.display().to_string());
        effects.extend(out.dialect().save_state(&[
            (state::STATE_FILE, &file_str),
            (state::STATE_ID, &id),
            (state::STATE_TRUSSRC, &trussrc_str),
        ])?);
    }

    Ok((effects, print_env))
}

/// With `--storage keyring`: stores the key where truss looks, returning the entry it replaced
/// (`Some(None)` when there was none). `None`: the key stays inline, after the single warning
/// truss itself prints, unless the keyring is disabled by env (then silently).
fn store_in_keyring(
    storage: Storage,
    keyring: &Keyring,
    key: &ApiKey,
    report: &Report,
    out: &Output,
) -> Option<Option<Sensitive>> {
    if storage != Storage::Keyring || keyring.is_disabled() {
        return None;
    }
    let previous = keyring.get(&report.remote);
    let result = previous.and_then(|previous| {
        keyring
            .set(&report.remote, &keyring_store::api_key_payload(key))
            .map(|()| previous)
    });
    match result {
        Ok(previous) => Some(previous),
        Err(Unavailable(why)) => {
            tracing::debug!("keyring unusable: {why}");
            out.warn_verbatim(&format!(
                "Warning: no usable OS keyring backend; storing credentials for {} in plaintext in {}.",
                report.remote,
                report.trussrc.display()
            ));
            None
        }
    }
}

fn validate(
    settings: &LoginSettings,
    key: &ApiKey,
    report: &mut Report,
    out: &Output,
) -> Result<()> {
    let verdict = api::check(
        &report.api_url,
        key,
        &report.source.describe(),
        settings.timeout,
        settings.ca_cert.as_deref(),
    )?;
    match verdict {
        Verdict::Valid(user) => report.user = Some(user),
        Verdict::Restricted if settings.allow_restricted => {
            out.warn(&format!(
                "the key from {} may not call the management API (403): stored anyway because of --allow-restricted; it can call models but not deploy",
                report.source.describe()
            ));
            report.restricted = true;
        }
        Verdict::Restricted => {
            return Err(Error::new(
                Kind::Rejected,
                format!(
                    "the key from {} authenticated, but may not call Baseten's management API (403 Forbidden): it looks like an inference-only or metrics-only team key",
                    report.source.describe()
                ),
            )
            .with_hint("deploying with truss needs a full-access key; pass --allow-restricted to store this key anyway for calling models"));
        }
    }
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

/// The platform's exports, outputs and summary, and the names of the env vars exported.
fn platform_effects(
    settings: &LoginSettings,
    report: &Report,
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
    let user = report.user.clone().unwrap_or_default();
    let workspace = user.workspace.as_deref().map(ci::clean).unwrap_or_default();
    let email = user.email.as_deref().map(ci::clean).unwrap_or_default();
    let trussrc = report.trussrc.display().to_string();
    effects.extend(dialect.outputs(&[
        ("remote", &report.remote),
        ("remote-url", &report.remote_url),
        ("api-url", &report.api_url),
        ("trussrc-path", &trussrc),
        ("workspace", &workspace),
        ("user-email", &email),
        ("validated", if report.validated { "true" } else { "false" }),
    ])?);
    if dialect.platform() == Platform::Github {
        effects.extend(dialect.summary(&summary(report, &workspace, &email)));
    }
    Ok((effects, exported))
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
fn dotenv_effect(file: &std::path::Path, report: &Report) -> Result<Effect> {
    let workspace = report
        .user
        .as_ref()
        .and_then(|u| u.workspace.as_deref())
        .map(ci::clean);
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
    let existing = std::fs::read(file).unwrap_or_default();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.insert(0, '\n');
    }
    if existing.len() + text.len() >= gitlab::DOTENV_MAX {
        return Err(Error::new(
            Kind::LocalWrite,
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
    if out.format == OutputFormat::Json {
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
        }));
    }
}

/// What to suggest when no key was found, on the platform in use (detected or chosen by `--ci`).
fn missing_key_hint(platform: Platform) -> &'static str {
    match platform {
        Platform::Github => {
            "pass the key as `api-key: ${{ secrets.BASETEN_API_KEY }}` (or env BASETEN_API_KEY); GitHub does not pass secrets to workflows run from forks or by Dependabot"
        }
        Platform::Gitlab => {
            "define BASETEN_API_KEY as a masked CI/CD variable; a protected variable reaches only protected branches and tags"
        }
        _ => {
            "set BASETEN_API_KEY from your CI's secret store, or pass --api-key-stdin or --api-key-file"
        }
    }
}
