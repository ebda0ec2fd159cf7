//! CI platforms: detection, and the effects a platform can have (mask a secret, export env for
//! later steps, set an output, annotate, group, save state, summarise). Each platform module only
//! formats; `output.rs` applies the effects.
use std::path::PathBuf;

use clap::ValueEnum;

use crate::env::Env;
use crate::error::{Error, Kind as ErrorKind, Result};
use crate::secret::{ApiKey, Sensitive};

pub mod azure;
pub mod bitbucket;
pub mod buildkite;
pub mod circleci;
pub mod github;
pub mod gitlab;
pub mod plain;
pub mod shell;

/// The platform truss-ci speaks to (`--ci NAME`; `--ci auto` detects it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Platform {
    Github,
    Gitlab,
    Azure,
    Buildkite,
    Circleci,
    Bitbucket,
    Jenkins,
    Plain,
    /// `--ci none`: nothing platform-specific at all.
    None,
}

impl Platform {
    /// Detects the platform from well-known variables, in a fixed order.
    pub fn detect(env: &Env) -> Self {
        let v = &env.vars;
        let is = |value: &Option<String>, expected: &str| value.as_deref() == Some(expected);
        if is(&v.github_actions, "true") {
            Platform::Github
        } else if is(&v.gitlab_ci, "true") {
            Platform::Gitlab
        } else if v
            .tf_build
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
        {
            Platform::Azure
        } else if is(&v.buildkite, "true") {
            Platform::Buildkite
        } else if is(&v.circleci, "true") {
            Platform::Circleci
        } else if v.bitbucket_build_number.is_some() {
            Platform::Bitbucket
        } else if v.jenkins_url.is_some() {
            Platform::Jenkins
        } else {
            Platform::Plain
        }
    }

    /// `--ci`: the named platform, or the detected one for `auto` (`None`).
    pub fn chosen(arg: Option<Self>, env: &Env) -> Self {
        arg.unwrap_or_else(|| Self::detect(env))
    }

    /// The identity of the running job, which scopes `logout --post` to this job's logins:
    /// `None` where the platform sets none (or outside CI).
    pub fn job_id(self, env: &Env) -> Option<String> {
        let v = &env.vars;
        let set = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let all = |parts: &[&Option<String>]| {
            parts
                .iter()
                .map(|p| set(p))
                .collect::<Option<Vec<_>>>()
                .map(|p| p.join("/"))
        };
        let id = match self {
            Platform::Github => {
                all(&[&v.github_run_id, &v.github_run_attempt, &v.github_job]).map(|id| {
                    // Runners on one host may share a HOME; their names tell them apart.
                    match set(&v.runner_name) {
                        Some(runner) => format!("{id}/{runner}"),
                        None => id,
                    }
                })
            }
            Platform::Gitlab => set(&v.ci_job_id),
            Platform::Azure => all(&[&v.build_buildid, &v.system_jobid]),
            Platform::Buildkite => set(&v.buildkite_job_id),
            Platform::Circleci => set(&v.circle_workflow_job_id),
            Platform::Bitbucket => set(&v.bitbucket_step_uuid),
            Platform::Jenkins => set(&v.build_tag),
            Platform::Plain | Platform::None => None,
        }?;
        Some(format!("{}:{id}", self.name()))
    }

    /// The variables that name a job here, for messages.
    pub fn job_vars(self) -> &'static str {
        match self {
            Platform::Github => "GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT and GITHUB_JOB",
            Platform::Gitlab => "CI_JOB_ID",
            Platform::Azure => "BUILD_BUILDID and SYSTEM_JOBID",
            Platform::Buildkite => "BUILDKITE_JOB_ID",
            Platform::Circleci => "CIRCLE_WORKFLOW_JOB_ID",
            Platform::Bitbucket => "BITBUCKET_STEP_UUID",
            Platform::Jenkins => "BUILD_TAG",
            Platform::Plain | Platform::None => "a CI job identity",
        }
    }

    /// Whether this is a CI platform (anything but plain and none).
    pub fn is_ci(self) -> bool {
        !matches!(self, Platform::Plain | Platform::None)
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::Github => "github",
            Platform::Gitlab => "gitlab",
            Platform::Azure => "azure",
            Platform::Buildkite => "buildkite",
            Platform::Circleci => "circleci",
            Platform::Bitbucket => "bitbucket",
            Platform::Jenkins => "jenkins",
            Platform::Plain => "plain",
            Platform::None => "none",
        }
    }

    /// The dialect for this platform, configured from the environment. Returns warnings for what
    /// the environment lacks (the platform then degrades to plain for those effects).
    pub fn dialect(self, env: &Env) -> (Box<dyn Dialect>, Vec<String>) {
        let mut warnings = Vec::new();
        let dialect: Box<dyn Dialect> = match self {
            Platform::Github => {
                let d = github::Github::from_env(env);
                if d.files.env.is_none() || d.files.output.is_none() {
                    warnings.push(
                        "GitHub Actions detected but GITHUB_ENV or GITHUB_OUTPUT is not set: env exports and outputs are skipped (plain mode for those)".to_owned(),
                    );
                }
                Box::new(d)
            }
            Platform::Gitlab => Box::new(gitlab::Gitlab::new()),
            Platform::Azure => Box::new(azure::Azure),
            Platform::Buildkite => Box::new(buildkite::Buildkite),
            Platform::Circleci => Box::new(circleci::Circleci::from_env(env)),
            Platform::Bitbucket => Box::new(bitbucket::Bitbucket::from_env(env)),
            Platform::Jenkins | Platform::Plain | Platform::None => {
                Box::new(plain::Plain { platform: self })
            }
        };
        (dialect, warnings)
    }
}

/// One thing for `output.rs` to do.
#[derive(Debug)]
pub enum Effect {
    /// A workflow command line, on stdout (or on stderr when stdout is reserved for JSON or
    /// `--print-env`; runners read commands from both).
    Command(Sensitive),
    /// A whole line on stderr, as is (GitLab section markers carry escape codes).
    Log(String),
    /// Text appended to a platform file (GITHUB_ENV, BASH_ENV, …), created if missing.
    Append {
        what: &'static str,
        path: PathBuf,
        text: Sensitive,
    },
    /// A helper program found on PATH and run with `stdin` (buildkite-agent), bounded in time;
    /// when it is missing, `missing` is the warning.
    Run {
        program: &'static str,
        args: Vec<&'static str>,
        stdin: Sensitive,
        missing: String,
    },
    /// A warning for the user.
    Warn(String),
}

/// An env var to hand to later steps; the key stays an `ApiKey` until it is formatted.
pub struct Var<'a> {
    pub name: &'a str,
    pub value: Value<'a>,
}

pub enum Value<'a> {
    Plain(&'a str),
    Secret(&'a ApiKey),
}

impl Value<'_> {
    pub(crate) fn expose(&self) -> &str {
        match self {
            Value::Plain(s) => s,
            Value::Secret(k) => k.expose(),
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, Value::Secret(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    /// The word GitHub's and Azure's annotation commands use.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// What a platform can do. Every method only formats; defaults do nothing. Shared with the
/// logger's writer, so `Send + Sync`.
pub trait Dialect: Send + Sync {
    fn platform(&self) -> Platform;

    /// Registers the key with the platform's log masker. Must come before anything else.
    fn mask(&self, _key: &ApiKey) -> Vec<Effect> {
        Vec::new()
    }

    /// Hands env vars to later steps. `Ok(None)`: this platform has no way to.
    fn export(&self, _vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        Ok(None)
    }

    /// Sets step outputs (non-secret values only).
    fn outputs(&self, _outputs: &[(&str, &str)]) -> Result<Vec<Effect>> {
        Ok(Vec::new())
    }

    /// Saves state for the post step of the same action.
    fn save_state(&self, _state: &[(&str, &str)]) -> Result<Vec<Effect>> {
        Ok(Vec::new())
    }

    fn annotate(&self, _level: Level, _message: &str) -> Vec<Effect> {
        Vec::new()
    }

    /// Opens a collapsible group. `verbose`: whether verbose output is on; GitHub and Azure group
    /// only then, GitLab always.
    fn group_start(&self, _title: &str, _verbose: bool) -> Vec<Effect> {
        Vec::new()
    }

    fn group_end(&self, _verbose: bool) -> Vec<Effect> {
        Vec::new()
    }

    /// A Markdown summary of the step.
    fn summary(&self, _markdown: &str) -> Vec<Effect> {
        Vec::new()
    }

    /// What to suggest when no key was found.
    fn missing_key_hint(&self) -> &'static str {
        "set BASETEN_API_KEY from your CI's secret store, or pass --api-key-stdin or --api-key-file"
    }

    /// A directory the platform empties after every job (GitHub's `RUNNER_TEMP`), for private
    /// files; `None` where there is none.
    fn job_temp_dir(&self) -> Option<PathBuf> {
        None
    }

    /// Whether the platform hands saved state to a post step (GitHub), so that the post step finds
    /// its login by the record's id rather than by the job's identity.
    fn hands_state_to_post(&self) -> bool {
        false
    }

    /// Makes a line of text that may hold untrusted parts safe to print where the platform parses
    /// logs for commands.
    fn neutralize(&self, line: &str) -> String {
        line.to_owned()
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`, with any of `extra` also allowed after the first character.
pub(crate) fn is_name(name: &str, extra: &[char]) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || extra.contains(&c))
}

/// `[A-Za-z_][A-Za-z0-9_]*`: the env var names every platform file accepts.
pub fn check_env_name(name: &str) -> Result<()> {
    if is_name(name, &[]) {
        Ok(())
    } else {
        Err(Error::unexpected(format!(
            "{name:?} is not a valid env var name"
        )))
    }
}

/// Refuses a value that cannot be written on one line of a platform file.
pub fn check_single_line(what: &str, name: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(Error::new(
            ErrorKind::Local,
            format!(
                "the value of {name} contains a line break or NUL and cannot be written to {what}; nothing was written"
            ),
        ));
    }
    Ok(())
}

/// A fresh random token (hex), for heredoc delimiters and stop-commands tokens.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    if getrandom::fill(&mut buf).is_err() {
        // Without an OS RNG, fall back to the clock and pid: still unpredictable to server text.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8;
        }
    }
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Replaces control characters (ANSI escapes, line breaks) but tabs with spaces.
pub fn strip_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

/// A server's or a file's value for one line: no control characters, trimmed.
pub fn clean(text: &str) -> String {
    strip_controls(text).replace('\t', " ").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_order_and_values() {
        let cases: [(&[(&str, &str)], Platform); 9] = [
            (&[], Platform::Plain),
            (
                &[("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "true")],
                Platform::Github,
            ),
            (&[("GITLAB_CI", "true")], Platform::Gitlab),
            (&[("TF_BUILD", "True")], Platform::Azure),
            (&[("BUILDKITE", "true")], Platform::Buildkite),
            (&[("CIRCLECI", "true")], Platform::Circleci),
            (&[("BITBUCKET_BUILD_NUMBER", "7")], Platform::Bitbucket),
            (&[("JENKINS_URL", "http://j")], Platform::Jenkins),
            (&[("GITHUB_ACTIONS", "false")], Platform::Plain),
        ];
        for (vars, expected) in cases {
            assert_eq!(Platform::detect(&Env::of(vars)), expected, "{vars:?}");
        }
        let github = Env::of(&[("GITHUB_ACTIONS", "true")]);
        assert_eq!(
            Platform::chosen(Some(Platform::None), &github),
            Platform::None
        );
        assert_eq!(Platform::chosen(None, &github), Platform::Github);
    }

    #[test]
    fn every_platform_names_its_job() {
        type Case<'a> = (Platform, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case<'_>; 7] = [
            (
                Platform::Github,
                &[
                    ("GITHUB_RUN_ID", "9"),
                    ("GITHUB_RUN_ATTEMPT", "1"),
                    ("GITHUB_JOB", "deploy"),
                ],
                "github:9/1/deploy",
            ),
            (Platform::Gitlab, &[("CI_JOB_ID", "77")], "gitlab:77"),
            (
                Platform::Azure,
                &[("BUILD_BUILDID", "5"), ("SYSTEM_JOBID", "j")],
                "azure:5/j",
            ),
            (
                Platform::Buildkite,
                &[("BUILDKITE_JOB_ID", "b")],
                "buildkite:b",
            ),
            (
                Platform::Circleci,
                &[("CIRCLE_WORKFLOW_JOB_ID", "c")],
                "circleci:c",
            ),
            (
                Platform::Bitbucket,
                &[("BITBUCKET_STEP_UUID", "{u}")],
                "bitbucket:{u}",
            ),
            (
                Platform::Jenkins,
                &[("BUILD_TAG", "jenkins-x-1")],
                "jenkins:jenkins-x-1",
            ),
        ];
        for (platform, vars, id) in cases {
            assert_eq!(platform.job_id(&Env::of(vars)).as_deref(), Some(id));
            assert_eq!(platform.job_id(&Env::of(&[])), None, "{platform:?}");
        }
        assert_eq!(
            Platform::Azure.job_id(&Env::of(&[("BUILD_BUILDID", "5")])),
            None
        );
        assert_eq!(
            Platform::Plain.job_id(&Env::of(&[("CI_JOB_ID", "1")])),
            None
        );
    }

    #[test]
    fn env_names_are_checked() {
        for ok in ["A", "_a", "BASETEN_API_KEY", "x9"] {
            check_env_name(ok).unwrap();
        }
        for bad in ["", "9a", "A-B", "A B", "A=B", "A\nB", "É"] {
            assert!(check_env_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_fresh() {
        let a = random_token(16);
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_token(16));
    }
}
