//! Every environment variable truss-ci reads, and the one snapshot of the environment.
#![allow(clippy::disallowed_methods)] // the one reader of `std::env`

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use serde::Deserialize;

/// Env var names, in one place: the settings, the docs and the tests use these.
pub mod names {
    pub const BASETEN_API_KEY: &str = "BASETEN_API_KEY";
    pub const BASETEN_API_KEY_FILE: &str = "BASETEN_API_KEY_FILE";
    pub const INPUT_API_KEY_HYPHEN: &str = "INPUT_API-KEY";
    pub const INPUT_API_KEY: &str = "INPUT_API_KEY";
    pub const BASETEN_REMOTE: &str = "BASETEN_REMOTE";
    pub const BASETEN_REMOTE_URL: &str = "BASETEN_REMOTE_URL";
    pub const BASETEN_API_URL: &str = "BASETEN_API_URL";
    pub const USER_TRUSSRC_PATH: &str = "USER_TRUSSRC_PATH";
    pub const BASETEN_TRUSS_AUTH_API_KEY: &str = "BASETEN_TRUSS_AUTH_API_KEY";
    pub const BASETEN_TRUSS_AUTH_REMOTE_URL: &str = "BASETEN_TRUSS_AUTH_REMOTE_URL";
}

/// The variables truss-ci understands, deserialised by envy (which matches lower-cased names).
/// Every field is a string so that no value, however odd, makes the snapshot fail.
#[derive(Debug, Default, Deserialize)]
pub struct Vars {
    pub home: Option<String>,
    pub user_trussrc_path: Option<String>,
    pub rust_log: Option<String>,
    pub baseten_remote: Option<String>,
    pub baseten_remote_url: Option<String>,
    pub baseten_api_url: Option<String>,

    // GitHub Actions
    pub github_actions: Option<String>,
    pub github_env: Option<String>,
    pub github_output: Option<String>,
    pub github_state: Option<String>,
    pub github_step_summary: Option<String>,
    pub runner_temp: Option<String>,
    pub runner_debug: Option<String>,
    #[serde(rename = "input_remote")]
    pub input_remote: Option<String>,
    #[serde(rename = "input_remote-url")]
    pub input_remote_url: Option<String>,
    #[serde(rename = "input_api-url")]
    pub input_api_url: Option<String>,
    #[serde(rename = "input_trussrc-path")]
    pub input_trussrc_path: Option<String>,
    #[serde(rename = "input_export-env")]
    pub input_export_env: Option<String>,
    #[serde(rename = "input_validate")]
    pub input_validate: Option<String>,
    #[serde(rename = "input_timeout")]
    pub input_timeout: Option<String>,
    #[serde(rename = "input_isolate")]
    pub input_isolate: Option<String>,

    // Other platforms
    pub gitlab_ci: Option<String>,
    pub tf_build: Option<String>,
    pub buildkite: Option<String>,
    pub circleci: Option<String>,
    pub bitbucket_build_number: Option<String>,
    pub jenkins_url: Option<String>,
    pub bash_env: Option<String>,
    pub bitbucket_pipelines_variables_path: Option<String>,
    pub path: Option<String>,
}

/// A snapshot of the environment: the typed variables, plus the raw map for names only known at
/// run time (`--from-env=VAR`, `STATE_*`).
#[derive(Debug, Default)]
pub struct Env {
    pub vars: Vars,
    raw: BTreeMap<String, String>,
}

impl Env {
    /// Reads the process environment once. A value that is not valid Unicode is kept with
    /// replacement characters, so that key validation can refuse it by name.
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars_os())
    }

    pub fn from_pairs<I: IntoIterator<Item = (OsString, OsString)>>(pairs: I) -> Self {
        let raw: BTreeMap<String, String> = pairs
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let vars =
            envy::from_iter(raw.iter().map(|(k, v)| (k.clone(), v.clone()))).unwrap_or_default();
        Self { vars, raw }
    }

    /// The value of any variable by its exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw.get(name).map(String::as_str)
    }

    /// Like [`Env::get`], treating an empty or whitespace-only value as unset.
    pub fn get_nonblank(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// Every variable whose name starts with `prefix`, for `STATE_*`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.raw
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// A path from a variable a CI platform sets: an empty value means unset.
pub fn path_var(value: &Option<String>) -> Option<PathBuf> {
    value
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
impl Env {
    /// An environment of exactly these variables, for unit tests.
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self::from_pairs(pairs.iter().map(|(k, v)| (k.into(), v.into())))
    }
}

/// Is a flag-like value true? Accepts what action inputs and env conventions use.
pub fn truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envy_reads_hyphenated_action_inputs() {
        let e = Env::of(&[("INPUT_REMOTE-URL", "https://x"), ("HOME", "/h")]);
        assert_eq!(e.vars.input_remote_url.as_deref(), Some("https://x"));
        assert_eq!(e.vars.home.as_deref(), Some("/h"));
        assert_eq!(e.get("INPUT_REMOTE-URL"), Some("https://x"));
    }

    #[test]
    fn prefix_scan_and_blank_values() {
        let e = Env::of(&[
            ("STATE_a", "1"),
            ("STATE_b", "2"),
            ("STATF", "x"),
            ("E", " "),
        ]);
        let got: Vec<_> = e.with_prefix("STATE_").collect();
        assert_eq!(got, [("STATE_a", "1"), ("STATE_b", "2")]);
        assert_eq!(e.get_nonblank("E"), None);
        assert!(truthy(" TRUE ") && truthy("1") && !truthy("false") && !truthy(""));
    }
}
