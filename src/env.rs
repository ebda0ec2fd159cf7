//! Every environment variable truss-ci reads, and the one snapshot of the environment.
#![allow(clippy::disallowed_methods)] // the one reader of `std::env`

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// The proxy variables truss-ci reads itself (the HTTP client's own reading is off), each
/// lowercase name before its uppercase one: where both are set, the lowercase one is used, as
/// truss (Python's requests) and curl do.
pub const PROXIES: [&str; 8] = [
    names::http_proxy,
    names::HTTP_PROXY,
    names::https_proxy,
    names::HTTPS_PROXY,
    names::all_proxy,
    names::ALL_PROXY,
    names::no_proxy,
    names::NO_PROXY,
];

/// Declares [`Vars`]: one field per variable truss-ci reads, each under its exact name; and
/// [`names`], a constant for each variable that is named elsewhere.
macro_rules! vars {
    (
        $($(#[$doc:meta])* $field:ident $(: $NAME:ident)? => $name:literal,)*
        ;
        $($(#[$raw_doc:meta])* $RAW:ident => $raw:literal,)*
    ) => {
        /// Env var names, for the places that name a variable: the table below is their one list.
        #[allow(non_upper_case_globals)] // each is the variable's exact name
        pub mod names {
            $($(pub const $NAME: &str = $name;)?)*
            $($(#[$raw_doc])* pub const $RAW: &str = $raw;)*
        }

        /// The variables truss-ci reads, each looked up by its exact name. Every field is set on
        /// its own: a variable with an odd name or value never affects another.
        #[derive(Debug, Default)]
        pub struct Vars {
            $($(#[$doc])* pub $field: Option<String>,)*
        }

        impl Vars {
            /// The field that holds variable `name`, if truss-ci reads it.
            fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $($name => Some(&mut self.$field),)*
                    _ => None,
                }
            }
        }
    };
}

vars! {
    home => "HOME",
    /// Where Python's `ntpath.expanduser` finds home on Windows (it ignores `HOME` there).
    userprofile => "USERPROFILE",
    homedrive => "HOMEDRIVE",
    homepath => "HOMEPATH",
    username => "USERNAME",
    user_trussrc_path: USER_TRUSSRC_PATH => "USER_TRUSSRC_PATH",
    rust_log => "RUST_LOG",
    baseten_remote => "BASETEN_REMOTE",
    baseten_remote_url: BASETEN_REMOTE_URL => "BASETEN_REMOTE_URL",
    baseten_api_url => "BASETEN_API_URL",
    /// The `baseten` CLI's config directory, its profile choice, and where Go's
    /// `os.UserConfigDir` looks.
    baseten_config_dir => "BASETEN_CONFIG_DIR",
    baseten_profile => "BASETEN_PROFILE",
    xdg_config_home => "XDG_CONFIG_HOME",
    /// Where the D-Bus session bus is (Linux's keyring): looked at before any connection.
    dbus_session_bus_address => "DBUS_SESSION_BUS_ADDRESS",
    xdg_runtime_dir => "XDG_RUNTIME_DIR",
    appdata => "APPDATA",
    tmpdir => "TMPDIR",
    /// Windows' temp directory.
    temp => "TEMP",
    /// Read by the TLS stack for extra CA roots; checked first so that it cannot hang a run.
    ssl_cert_file => "SSL_CERT_FILE",

    // GitHub Actions
    github_actions => "GITHUB_ACTIONS",
    github_env => "GITHUB_ENV",
    github_output => "GITHUB_OUTPUT",
    github_state => "GITHUB_STATE",
    github_step_summary => "GITHUB_STEP_SUMMARY",
    github_run_id => "GITHUB_RUN_ID",
    github_run_attempt => "GITHUB_RUN_ATTEMPT",
    github_job => "GITHUB_JOB",
    runner_name => "RUNNER_NAME",
    runner_temp => "RUNNER_TEMP",
    runner_debug => "RUNNER_DEBUG",

    // Other platforms, and the variables that name one job on each
    gitlab_ci => "GITLAB_CI",
    ci_job_id => "CI_JOB_ID",
    ci_server_host => "CI_SERVER_HOST",
    tf_build => "TF_BUILD",
    build_buildid => "BUILD_BUILDID",
    system_jobid => "SYSTEM_JOBID",
    buildkite => "BUILDKITE",
    buildkite_job_id => "BUILDKITE_JOB_ID",
    circleci => "CIRCLECI",
    circle_workflow_job_id => "CIRCLE_WORKFLOW_JOB_ID",
    circle_node_index => "CIRCLE_NODE_INDEX",
    bitbucket_build_number => "BITBUCKET_BUILD_NUMBER",
    bitbucket_step_uuid => "BITBUCKET_STEP_UUID",
    jenkins_url => "JENKINS_URL",
    job_name => "JOB_NAME",
    build_number => "BUILD_NUMBER",
    node_name => "NODE_NAME",
    executor_number => "EXECUTOR_NUMBER",
    bash_env => "BASH_ENV",
    bitbucket_pipelines_variables_path => "BITBUCKET_PIPELINES_VARIABLES_PATH",
    ;
    // Read by name alone, their values kept as they are (a key that is not Unicode is refused
    // by name; a proxy's value is checked where it is parsed).
    BASETEN_API_KEY => "BASETEN_API_KEY",
    BASETEN_API_KEY_FILE => "BASETEN_API_KEY_FILE",
    BASETEN_TRUSS_AUTH_API_KEY => "BASETEN_TRUSS_AUTH_API_KEY",
    BASETEN_TRUSS_AUTH_REMOTE_URL => "BASETEN_TRUSS_AUTH_REMOTE_URL",
    /// truss's switch: 1, true or yes (any case) keeps the keyring untouched.
    BASETEN_TRUSS_AUTH_KEYRING_DISABLED => "BASETEN_TRUSS_AUTH_KEYRING_DISABLED",
    /// The proxies ([`PROXIES`]).
    http_proxy => "http_proxy",
    HTTP_PROXY => "HTTP_PROXY",
    https_proxy => "https_proxy",
    HTTPS_PROXY => "HTTPS_PROXY",
    all_proxy => "all_proxy",
    ALL_PROXY => "ALL_PROXY",
    no_proxy => "no_proxy",
    NO_PROXY => "NO_PROXY",
}

/// A snapshot of the environment: the typed variables, plus the raw map for names only known at
/// run time (`--from-env=VAR`, `STATE_*`), and warnings about what could not be read.
#[derive(Debug, Default)]
pub struct Env {
    pub vars: Vars,
    /// The password database's home for this user, looked up only when `HOME` is unset (where
    /// Python's `posixpath.expanduser` looks next).
    pub passwd_home: Option<String>,
    raw: BTreeMap<String, String>,
    /// Variables truss-ci reads whose value is not Unicode: left unset, named here.
    pub warnings: Vec<String>,
}

impl Env {
    /// Reads the process environment once.
    pub fn from_process() -> Self {
        let mut env = Self::from_pairs(std::env::vars_os());
        if cfg!(unix) && env.get("HOME").is_none() {
            // With HOME unset, the standard library asks the password database (getpwuid_r).
            env.passwd_home =
                std::env::home_dir().and_then(|p| p.into_os_string().into_string().ok());
        }
        env
    }

    /// A value that is not valid Unicode is kept in the raw map with replacement characters (so
    /// that key validation refuses it by name) and leaves its typed field unset, with a warning.
    /// Names are matched exactly: `path` is not `PATH`.
    pub fn from_pairs<I: IntoIterator<Item = (OsString, OsString)>>(pairs: I) -> Self {
        let mut env = Self::default();
        for (name, value) in pairs {
            let lossy_name = name.to_string_lossy().into_owned();
            match value.into_string() {
                Ok(value) => {
                    if name.to_str().is_some()
                        && let Some(slot) = env.vars.slot(&lossy_name)
                    {
                        *slot = Some(value.clone());
                    }
                    env.raw.insert(lossy_name, value);
                }
                Err(value) => {
                    if env.vars.slot(&lossy_name).is_some() {
                        env.warnings
                            .push(format!("{lossy_name} is not valid UTF-8 and was ignored"));
                    }
                    env.raw
                        .insert(lossy_name, value.to_string_lossy().into_owned());
                }
            }
        }
        env
    }

    /// The value of any variable by its exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw.get(name).map(String::as_str)
    }

    /// The proxy variables that are set, in [`PROXIES`] order, values exactly as they are
    /// (an empty one is unset, as for curl and Python's requests).
    pub fn proxies(&self) -> Vec<(&'static str, &str)> {
        PROXIES
            .into_iter()
            .filter_map(|name| self.get(name).filter(|v| !v.is_empty()).map(|v| (name, v)))
            .collect()
    }

    /// Like [`Env::get`], treating an empty or whitespace-only value as unset.
    pub fn get_nonblank(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }
}

/// The process's arguments, program name first.
pub fn args() -> Vec<OsString> {
    std::env::args_os().collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_read_by_their_exact_names() {
        let e = Env::of(&[
            ("INPUT_REMOTE-URL", "https://x"),
            ("BASETEN_REMOTE_URL", "https://y"),
            ("HOME", "/h"),
        ]);
        assert_eq!(e.vars.baseten_remote_url.as_deref(), Some("https://y"));
        assert_eq!(e.vars.home.as_deref(), Some("/h"));
        assert_eq!(e.get("INPUT_REMOTE-URL"), Some("https://x"));
    }

    #[test]
    fn blank_values() {
        let e = Env::of(&[("E", " ")]);
        assert_eq!(e.get_nonblank("E"), None);
    }

    #[test]
    #[cfg(unix)]
    fn odd_variables_never_drop_the_ones_truss_ci_reads() {
        use std::os::unix::ffi::OsStringExt;
        let e = Env::from_pairs([
            ("TMPDIR".into(), "/t".into()),
            ("tmpdir".into(), "/other".into()),
            ("HOME".into(), OsString::from_vec(b"/h\xff".to_vec())),
            (OsString::from_vec(b"X\xfe".to_vec()), "v".into()),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("Home".into(), "/wrong".into()),
        ]);
        assert_eq!(e.vars.tmpdir.as_deref(), Some("/t"));
        assert_eq!(e.vars.github_actions.as_deref(), Some("true"));
        assert_eq!(e.vars.home, None, "a non-UTF-8 HOME is not guessed at");
        assert_eq!(e.warnings, ["HOME is not valid UTF-8 and was ignored"]);
        assert_eq!(e.get("tmpdir"), Some("/other"));
    }
}
