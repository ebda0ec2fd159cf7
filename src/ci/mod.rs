//! CI platforms: detection, and the effects a platform can have (mask a secret, export env for
//! later steps, set an output, annotate, group, save state, summarise). Each platform's facts live
//! in its own module as a [`Spec`]; [`Platform`] only indexes them. Each platform module only
//! formats; `output` applies the effects.
use std::path::PathBuf;

use clap::ValueEnum;

use crate::env::{Env, Vars};
use crate::error::{Error, Kind as ErrorKind, Result};
use crate::secret::{ApiKey, Sensitive};

pub mod azure;
pub mod bitbucket;
pub mod buildkite;
pub mod circleci;
pub mod github;
pub mod gitlab;
pub mod jenkins;
pub mod plain;
pub mod shell;

/// The platform truss-ci speaks to (`--ci NAME`; `--ci auto` detects it). Detection tries the
/// platforms in this order; a new one is a variant, its arm in [`Platform::spec`] and its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Platform {
    Github,
    Gitlab,
    Azure,
    Buildkite,
    Circleci,
    Bitbucket,
    Jenkins,
    /// A terminal, outside CI or by `--ci plain` (also spelled `none`): nothing
    /// platform-specific at all.
    #[value(alias = "none")]
    Plain,
}

/// One platform's facts: each platform module has one, `SPEC`.
pub struct Spec {
    /// Whether the environment says the job runs here.
    pub detect: fn(&Vars) -> bool,
    /// The identity of the running job, which scopes `logout --post` to this job's logins.
    pub job_id: fn(&Vars) -> Option<String>,
    /// The variables `job_id` reads, for messages.
    pub job_vars: &'static str,
    /// The step that runs `logout --post` when what `--export-env` hands to later steps reaches
    /// its environment too (so an exported key replaces the one it reads), for messages; `None`
    /// where no export reaches it.
    pub export_reaches_post: Option<&'static str>,
    /// The dialect, configured from the environment, and warnings for what the environment lacks
    /// (the platform then degrades to plain for those effects).
    pub dialect: fn(&Env) -> Configured,
}

/// A dialect, and warnings for what the environment lacks.
pub type Configured = (Box<dyn Dialect>, Vec<String>);

impl Platform {
    /// This platform's facts: a new platform's arm here is the edit the compiler asks for.
    pub fn spec(self) -> &'static Spec {
        match self {
            Platform::Github => &github::SPEC,
            Platform::Gitlab => &gitlab::SPEC,
            Platform::Azure => &azure::SPEC,
            Platform::Buildkite => &buildkite::SPEC,
            Platform::Circleci => &circleci::SPEC,
            Platform::Bitbucket => &bitbucket::SPEC,
            Platform::Jenkins => &jenkins::SPEC,
            Platform::Plain => &plain::SPEC,
        }
    }

    /// Detects the platform from well-known variables, in declaration order.
    pub fn detect(env: &Env) -> Self {
        Self::value_variants()
            .iter()
            .copied()
            .find(|p| (p.spec().detect)(&env.vars))
            .unwrap_or(Platform::Plain)
    }

    /// `--ci`: the named platform, or the detected one for `auto` (`None`).
    pub fn chosen(arg: Option<Self>, env: &Env) -> Self {
        arg.unwrap_or_else(|| Self::detect(env))
    }

    /// The identity of the running job, named by platform: `None` where the platform sets none
    /// (or outside CI).
    pub fn job_id(self, env: &Env) -> Option<String> {
        let id = (self.spec().job_id)(&env.vars)?;
        Some(format!("{}:{id}", self.name()))
    }

    /// The variables that name a job here, for messages.
    pub fn job_vars(self) -> &'static str {
        self.spec().job_vars
    }

    /// The step that runs `logout --post`, where what `--export-env` exports reaches it.
    pub fn export_reaches_post(self) -> Option<&'static str> {
        self.spec().export_reaches_post
    }

    /// Whether this is a CI platform (anything but plain).
    pub fn is_ci(self) -> bool {
        self != Platform::Plain
    }

    /// The name `--ci` takes.
    pub fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    /// Every `--ci` spelling of every platform (`none` is `plain`).
    pub fn spellings() -> Vec<String> {
        Self::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .flat_map(|v| {
                v.get_name_and_aliases()
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The dialect for this platform, configured from the environment, and warnings for what the
    /// environment lacks.
    pub fn dialect(self, env: &Env) -> Configured {
        (self.spec().dialect)(env)
    }
}

/// The values of `parts`, trimmed, joined by `/`, when every one is set and not blank.
pub(crate) fn joined(parts: &[&Option<String>]) -> Option<String> {
    identity(parts, &[])
}

/// A job's identity from the variables that name it: every one of `required` set, each of
/// `optional` in its place (empty when unset), each part escaped (`%` and `/`), so that two
/// different sets of values never give one identity.
pub(crate) fn identity(
    required: &[&Option<String>],
    optional: &[&Option<String>],
) -> Option<String> {
    fn escaped(p: &Option<String>) -> Option<String> {
        let p = p.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
        Some(p.replace('%', "%25").replace('/', "%2F"))
    }
    let mut parts = required
        .iter()
        .map(|p| escaped(p))
        .collect::<Option<Vec<_>>>()?;
    parts.extend(optional.iter().map(|p| escaped(p).unwrap_or_default()));
    Some(parts.join("/"))
}

/// A dialect with nothing to warn about.
pub(crate) fn configured(dialect: impl Dialect + 'static) -> Configured {
    (Box::new(dialect), Vec::new())
}

/// Whether a variable is exactly `true`, as most platforms set their marker.
pub(crate) fn is_true(value: &Option<String>) -> bool {
    value.as_deref() == Some("true")
}

/// One thing for `output` to do.
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
    /// when it is missing, the warning says that it is and so `unable` happened.
    Run {
        program: &'static str,
        args: Vec<&'static str>,
        stdin: Sensitive,
        unable: &'static str,
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

    /// Opens a collapsible group.
    fn group_start(&self, _title: &str) -> Vec<Effect> {
        Vec::new()
    }

    fn group_end(&self) -> Vec<Effect> {
        Vec::new()
    }

    /// Whether groups open without verbose output too (GitLab's sections; GitHub and Azure
    /// group only verbose output).
    fn groups_always(&self) -> bool {
        false
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
    check_name(name, &[], "env var")
}

/// A name [`is_name`] accepts, or an error that says it is no valid `what` name.
pub fn check_name(name: &str, extra: &[char], what: &str) -> Result<()> {
    if is_name(name, extra) {
        Ok(())
    } else {
        Err(Error::unexpected(format!(
            "{name:?} is not a valid {what} name"
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

/// A server's or a file's value for one line: no control characters, trimmed.
pub fn clean(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.trim().to_owned()
}

#[cfg(test)]
mod tests;
