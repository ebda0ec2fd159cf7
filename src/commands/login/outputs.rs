//! What login hands on: the exports, dotenv report and `--print-env` lines that were asked for
//! (built and checked before anything is written, delivered whole after), and the informational
//! step outputs, summary and post-step state.
use serde_json::json;

use super::Report;
use crate::api::Verdict;
use crate::ci::{self, Effect, Value, Var, gitlab, shell};
use crate::cli::{ExportMode, OutputFormat};
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::key_info::Lookup;
use crate::output::Output;
use crate::secret::{ApiKey, Sensitive};
use crate::settings::LoginSettings;
use crate::{atomic_file, undo};

/// What the user asked login to hand on: all of it is delivered, or the login is rolled back.
pub(super) struct Requested {
    effects: Vec<Effect>,
    /// The env var names exported, for the undo record.
    pub exported: Vec<String>,
    print_env: Option<Sensitive>,
}

impl Requested {
    /// Builds and checks every export, the dotenv report and the `--print-env` lines.
    pub fn build(
        settings: &LoginSettings,
        report: &Report,
        key: &ApiKey,
        out: &Output,
    ) -> Result<Self> {
        if (settings.export.is_some() || settings.print_env) && report.cli_remote_url.is_none() {
            // The baseten CLI reads BASETEN_REMOTE_URL beside the key, and refuses a path.
            crate::baseten_cli::cli_remote_url(&report.remote_url)?;
        }
        let exports = export_vars(settings, report, key, settings.print_env);
        let (mut effects, exported) = export_effects(settings, &exports, out)?;
        if let Some(file) = &settings.dotenv {
            effects.push(dotenv_effect(file, report, out)?);
        }
        let print_env = settings
            .print_env
            .then(|| shell::export_lines(&exports))
            .transpose()?;
        Ok(Self {
            effects,
            exported,
            print_env,
        })
    }

    /// Applies it all, with the JSON report: the first failure is returned, with the files
    /// appended to cut back.
    pub fn deliver(self, report: &Report, out: &Output) -> Result<()> {
        out.apply_all_or_nothing(self.effects)?;
        if let Some(lines) = &self.print_env {
            out.stdout_sensitive(lines)?;
        }
        print_json(report, out)
    }
}

/// Outputs, the summary and the post step's state are informational: a failure is a warning.
pub(super) fn informational(report: &Report, id: Option<&str>, out: &Output) {
    let effects = platform_outputs(report, out).and_then(|mut effects| {
        if let Some(id) = id {
            let path = &report.trussrc.path;
            let file = undo::path_for(path).display().to_string();
            let trussrc = path.display().to_string();
            effects.extend(out.dialect().save_state(&[
                (undo::STATE_FILE, &file),
                (undo::STATE_ID, id),
                (undo::STATE_TRUSSRC, &trussrc),
            ])?);
        }
        Ok(effects)
    });
    if let Err(e) = effects.and_then(|effects| out.apply(effects)) {
        out.warn(&format!("{}; the login itself succeeded", e.message));
    }
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
    // The baseten CLI's remote, beside the key it reads (the default needs none).
    if mode.is_some()
        && let Some(url) = report.cli_remote_url.as_deref()
        && url != crate::baseten_cli::DEFAULT_REMOTE_URL
    {
        vars.push(Var {
            name: names::BASETEN_REMOTE_URL,
            value: Value::Plain(url),
        });
    }
    if (mode.is_some() || settings.isolate)
        && !report.trussrc.is_default
        && let Some(path) = report.trussrc.path.to_str()
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

/// The platform's step outputs and summary.
fn platform_outputs(report: &Report, out: &Output) -> Result<Vec<Effect>> {
    let dialect = out.dialect();
    let user = report.user().cloned().unwrap_or_default();
    let workspace = out.show(user.workspace.as_ref());
    let email = out.show(user.email.as_ref());
    let trussrc = report.trussrc.path.display().to_string();
    let validated = if report.verdict.is_some() {
        "true"
    } else {
        "false"
    };
    let mut effects = dialect.outputs(&[
        ("remote", &report.remote),
        ("remote-url", &report.remote_url),
        ("api-url", &report.api_url),
        ("trussrc-path", &trussrc),
        ("workspace", &workspace),
        ("user-email", &email),
        ("validated", validated),
    ])?;
    effects.extend(key_outputs(report, out)?);
    effects.extend(dialect.summary(&summary(report, &workspace, &email, out)));
    Ok(effects)
}

/// `key-type`, `key-name` and `key-team` (empty when the key was not looked up or not known).
fn key_outputs(report: &Report, out: &Output) -> Result<Vec<Effect>> {
    let values = report
        .key
        .as_ref()
        .map(|k| k.outputs(out))
        .unwrap_or_else(|| {
            [
                ("key-type", String::new()),
                ("key-name", String::new()),
                ("key-team", String::new()),
            ]
        });
    let pairs: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    out.dialect().outputs(&pairs)
}

fn summary(report: &Report, workspace: &str, email: &str, out: &Output) -> String {
    use ci::github::md_cell;
    let dash = |s: &str| {
        if s.is_empty() {
            "—".to_owned()
        } else {
            md_cell(s)
        }
    };
    format!(
        "### Baseten login\n\n| | |\n|---|---|\n| Remote | {} |\n| URL | {} |\n| Workspace | {} |\n| User | {} |\n| Storage | {} in {} |\n| Key from | {} |\n| Validated | {} |\n| Key | {} |\n\n",
        md_cell(&report.remote),
        md_cell(&report.remote_url),
        dash(workspace),
        dash(email),
        report.storage.as_str(),
        md_cell(&report.trussrc.path.display().to_string()),
        md_cell(&report.source.to_string()),
        match report.verdict {
            Some(Verdict::Valid(_)) => "yes",
            Some(Verdict::Restricted) => "restricted key (403), accepted",
            None => "no (--no-validate)",
        },
        report.key.as_ref().map_or_else(
            || "not looked up (--no-validate)".to_owned(),
            |k| md_cell(&k.describe(out))
        )
    )
}

/// The non-secret settings, for a later GitLab job: never the key (dotenv reports are plaintext).
fn dotenv_effect(file: &std::path::Path, report: &Report, out: &Output) -> Result<Effect> {
    let workspace = report.user().map(|u| out.show(u.workspace.as_ref()));
    let trussrc = report.trussrc.path.display().to_string();
    let mut vars = vec![
        ("BASETEN_REMOTE", report.remote.as_str()),
        ("BASETEN_REMOTE_URL", report.remote_url.as_str()),
        ("BASETEN_API_URL", report.api_url.as_str()),
    ];
    if let Some(ws) = workspace.as_deref().filter(|w| !w.is_empty()) {
        vars.push(("BASETEN_WORKSPACE", ws));
    }
    if !report.trussrc.is_default {
        vars.push((names::USER_TRUSSRC_PATH, trussrc.as_str()));
    }
    let mut text = gitlab::dotenv_lines(&vars)?;
    // Read no more than the limit, and nothing that is not a regular file (/dev/zero, a FIFO).
    let existing = match atomic_file::read_checked(
        file,
        gitlab::DOTENV_MAX as u64,
        atomic_file::Owner::Anyone,
    ) {
        Ok(bytes) => bytes,
        Err(atomic_file::Refusal::Missing) => Vec::new(),
        Err(e) => {
            return Err(Error::new(
                Kind::Local,
                format!(
                    "could not use {} as the dotenv report: {e}; nothing was written",
                    file.display()
                ),
            ));
        }
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
        text: Sensitive::new(text),
    })
}

pub(super) fn print_report(report: &Report, out: &Output) {
    let who = report.user().map(|u| {
        let u = crate::commands::verify::shown_user(u, out);
        let mut s = u
            .email
            .filter(|e| !e.is_empty())
            .or(u.name.filter(|n| !n.is_empty()))
            .unwrap_or_else(|| "a Baseten user".into());
        if let Some(ws) = u.workspace.filter(|w| !w.is_empty()) {
            s.push_str(&format!(" (workspace {ws})"));
        }
        s
    });
    let checked = match (&who, &report.verdict) {
        (Some(who), _) => format!(" as {who}"),
        (None, Some(_)) => " with a restricted key".to_owned(),
        (None, None) => " without checking the key (--no-validate)".to_owned(),
    };
    out.info(&format!(
        "Logged in to remote `{}` at {}{checked}; wrote {}",
        report.remote,
        report.remote_url,
        report.trussrc.path.display()
    ));
    if let Some((profile, key_in)) = &report.baseten {
        out.info(&format!(
            "Logged the baseten CLI in as profile `{profile}` (key in its {})",
            key_in.as_str()
        ));
    }
    // An unknown key was a warning already.
    if let Some(key @ Lookup::Known { .. }) = &report.key {
        out.info(&format!("Key {}", key.describe(out)));
    }
}

/// When the trussrc now holds more than one remote, what a bare `truss push` does on CI: truss's
/// `inquire_remote_name` cannot ask, and stops.
pub(super) fn next_command(report: &Report, out: &Output) {
    let (count, names) = &report.remotes;
    let count = *count;
    if count > 1 {
        // A few names say which file this is; a file of thousands is not listed whole.
        let named = match count - names.len() {
            0 => names.join(", "),
            more => format!("{} and {more} more", names.join(", ")),
        };
        out.info(&format!(
            "note: {} holds {count} remotes ({named}): a bare `truss push` stops on CI with \"Multiple remotes available\"; pass `--remote {}`",
            report.trussrc.path.display(),
            report.remote
        ));
    }
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
        "trussrc": report.trussrc.path,
        "storage": report.storage.as_str(),
        "validated": report.verdict.is_some(),
        "restricted": report.verdict == Some(Verdict::Restricted),
        "user": report.user().map(|u| crate::commands::verify::shown_user(u, out)),
        "key_source": report.source.to_string(),
        "baseten_profile": report.baseten.as_ref().map(|(profile, key_in)| {
            json!({"profile": profile, "key_in": key_in.as_str()})
        }),
        "key": report.key.as_ref().map_or_else(
            || json!({"known": false, "reason": "not looked up (--no-validate)"}),
            |k| k.json(out)
        ),
    }))
}
