//! `truss-ci login`: resolve the key, check it against the API, write the trussrc section.
use std::io::Read;
use std::path::PathBuf;

use serde_json::json;

use crate::api::{self, User, Verdict};
use crate::cli::{LoginArgs, OutputFormat};
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::output::Output;
use crate::resolve::{self, KeyRequest, Source};
use crate::secret::ApiKey;
use crate::settings::{self, DEFAULT_REMOTE_URL, LoginSettings};
use crate::trussrc;

/// What login did, for the report and for the platform's outputs.
pub struct Report {
    pub remote: String,
    pub remote_url: String,
    pub api_url: String,
    pub trussrc: PathBuf,
    pub validated: bool,
    pub restricted: bool,
    pub user: Option<User>,
    pub source: Source,
}

pub fn run(args: &LoginArgs, env: &Env, out: &Output, stdin: &mut dyn Read) -> Result<()> {
    let settings = LoginSettings::resolve(args, env)?;
    let request = KeyRequest {
        stdin: args.api_key_stdin,
        file: args.api_key_file.as_deref(),
        argv: args.api_key.as_deref(),
        from_env: args.from_env.as_deref(),
    };
    let (key, source, warnings) = resolve::resolve(&request, env, stdin, missing_key_hint(env))?;
    for w in &warnings {
        out.warn(w);
    }
    let report = login(&settings, &key, source, out)?;
    print_report(&report, out);
    Ok(())
}

fn login(settings: &LoginSettings, key: &ApiKey, source: Source, out: &Output) -> Result<Report> {
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
        validated: false,
        restricted: false,
        user: None,
        source,
    };

    if settings.validate {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::unexpected(format!("could not start the async runtime: {e}")))?;
        let verdict = runtime.block_on(api::check_key(
            &report.api_url,
            key,
            &report.source.describe(),
            settings.timeout,
        ))?;
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
    }

    let block = trussrc::api_key_section(&report.remote, &report.remote_url, Some(key.expose()));
    trussrc::edit(path, |doc| {
        Ok(Some(doc.with_section(&report.remote, &block)))
    })?;
    Ok(report)
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
            "storage": "inline",
            "validated": report.validated,
            "restricted": report.restricted,
            "user": report.user,
            "key_source": report.source.to_string(),
        }));
    }
}

/// What to suggest when no key was found, by platform.
fn missing_key_hint(env: &Env) -> &'static str {
    let v = &env.vars;
    if v.github_actions.as_deref() == Some("true") {
        "pass the key as `api-key: ${{ secrets.BASETEN_API_KEY }}` (or env BASETEN_API_KEY); GitHub does not pass secrets to workflows run from forks or by Dependabot"
    } else if v.gitlab_ci.as_deref() == Some("true") {
        "define BASETEN_API_KEY as a masked CI/CD variable; a protected variable reaches only protected branches and tags"
    } else {
        "set BASETEN_API_KEY from your CI's secret store, or pass --api-key-stdin or --api-key-file"
    }
}
