//! Flags + the environment snapshot → the settings a command runs with, resolved completely.
//! Pure: no I/O.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::api::{ApiSettings, Proxies};
use crate::cli::{
    ApiArgs, Cli, Command, ExportMode, JobKeyArgs, KeyArgs, KeysCommand, RemoteArgs, Storage,
};
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::job_key::post::Revoker;
use crate::job_key::{self, JobKeySettings};
use crate::trussrc::check_remote_name;
use crate::undo;
use crate::urls::normalize_url;

pub const DEFAULT_REMOTE: &str = "baseten";
use crate::context::DEFAULT_TIMEOUT;

/// Each command's settings, resolved completely before it runs.
#[derive(Debug)]
pub enum Settings {
    Login(LoginSettings),
    Status(StatusSettings),
    Logout(LogoutSettings),
    Exec(ExecSettings),
    Prune(PruneSettings),
}

impl Settings {
    /// `cli` (taken whole: the key flags move into the settings) and `env` → the command's settings.
    /// `job`: this CI job's identity, if it has one.
    pub fn resolve(cli: Cli, env: &Env, job: Option<String>) -> Result<Self> {
        let json = cli.global.output == crate::cli::OutputFormat::Json;
        Ok(match cli.command {
            Command::Login(args) => {
                if args.print_env.is_some() && json {
                    return Err(Error::usage(
                        "--print-env and --output json both need stdout; choose one",
                    ));
                }
                let isolate = args.isolate;
                let conn = Connection::resolve(&args.remote, env)?;
                let baseten = baseten_settings(
                    args.baseten_profile.as_deref(),
                    !args.baseten_no_switch,
                    &conn.remote,
                    env,
                )?;
                Self::Login(LoginSettings {
                    baseten,
                    job_key: job_key_settings(&args.job, &conn, job.as_deref(), env)?,
                    conn,
                    trussrc: login_trussrc(args.trussrc.as_deref(), isolate, env)?,
                    key: args.key,
                    export: args.export_env,
                    isolate,
                    storage: args.storage,
                    dotenv: args.dotenv,
                    print_env: args.print_env.is_some(),
                })
            }
            Command::Status(args) => Self::Status(StatusSettings {
                api: args
                    .check
                    .then(|| api_settings(&args.api, false, env))
                    .transpose()?,
                trussrc: trussrc_path(args.trussrc.as_deref(), env)?.path,
                env_pair: env_pair(env, args.remote.as_deref())?,
                remote: args.remote,
                baseten_auth_file: cli_auth_file(env),
            }),
            Command::Logout(args) if args.post => Self::Logout(post(args, env, job)?),
            Command::Logout(args) => Self::Logout(LogoutSettings::Remove {
                trussrc: trussrc_path(args.trussrc.as_deref(), env)?.path,
                wait: args
                    .api
                    .timeout
                    .map_or(Ok(DEFAULT_TIMEOUT), parse_timeout)?,
                remote: args.remote,
                all: args.all,
                baseten_auth_file: cli_auth_file(env),
            }),
            Command::Exec(args) => {
                let conn = Connection::resolve(&args.remote, env)?;
                Self::Exec(ExecSettings {
                    job_key: job_key_settings(&args.job, &conn, job.as_deref(), env)?,
                    conn,
                    key: args.key,
                    export_env: args.export_env,
                    command: args.command,
                })
            }
            Command::Keys(args) => match args.command {
                KeysCommand::Prune(args) => Self::Prune(PruneSettings {
                    conn: Connection::resolve(&args.remote, env)?,
                    key: args.key,
                    dry_run: args.dry_run,
                    now: job_key::now(env),
                }),
            },
        })
    }

    /// Whether stdout is kept for the command's own lines (`login --print-env`).
    pub fn reserves_stdout(&self) -> bool {
        matches!(self, Self::Login(s) if s.print_env)
    }
}

/// `--api-url` and the API flags, with the environment, as the API settings.
fn api_settings(args: &ApiArgs, allow_restricted: bool, env: &Env) -> Result<ApiSettings> {
    let api_url = first([args.api_url.as_deref(), env.vars.baseten_api_url.as_deref()])
        .map(|u| normalize_url(u, "--api-url", args.allow_http))
        .transpose()?;
    Ok(ApiSettings {
        api_url,
        timeout: args.timeout.map_or(Ok(DEFAULT_TIMEOUT), parse_timeout)?,
        allow_http: args.allow_http,
        allow_restricted,
        ca_cert: args.ca_cert.clone(),
        require_key_type: key_types(&args.require_key_type)?,
        ssl_cert_file: env.vars.ssl_cert_file.clone(),
        proxies: Proxies::resolve(&env.proxies())?,
    })
}

/// The key types `--require-key-type` may name, in its spelling.
pub const KEY_TYPES: [&str; 6] = [
    "personal",
    "workspace-manage-all",
    "workspace-invoke",
    "workspace-export-metrics",
    "workspace-manage-api-keys",
    "routes",
];

/// `--require-key-type`'s values (kebab case, known types only) in the API's spelling.
fn key_types(given: &[String]) -> Result<Vec<String>> {
    given
        .iter()
        .map(|t| {
            let t = t.trim().to_ascii_lowercase();
            if KEY_TYPES.contains(&t.as_str()) {
                Ok(crate::api::keys::screaming(&t))
            } else {
                Err(
                    Error::usage(format!("--require-key-type: no key type is called {t:?}"))
                        .with_hint(format!("name one or more of {}", KEY_TYPES.join(", "))),
                )
            }
        })
        .collect()
}

/// The remote, its URLs and how the key is checked: what `login` and `exec` share.
#[derive(Debug)]
pub struct Connection {
    pub remote: String,
    /// `--remote-url`/env, already checked; `None` means "the section's, else the default".
    pub remote_url: Option<String>,
    pub validate: bool,
    pub api: ApiSettings,
}

impl Connection {
    /// Flags beat env vars, which beat defaults.
    pub fn resolve(args: &RemoteArgs, env: &Env) -> Result<Self> {
        let v = &env.vars;
        // An explicit but empty name (`--remote "$UNSET"`) must not fall back to the default and
        // overwrite its credentials.
        for (given, what) in [
            (args.remote.as_deref(), "--remote"),
            (v.baseten_remote.as_deref(), "BASETEN_REMOTE"),
        ] {
            if given.is_some_and(|r| r.trim().is_empty()) {
                return Err(Error::usage(format!("{what} is given but empty"))
                    .with_hint("name the remote, or leave it out to write the default [baseten]"));
            }
        }
        let remote = first([args.remote.as_deref(), v.baseten_remote.as_deref()])
            .unwrap_or(DEFAULT_REMOTE)
            .to_owned();
        check_remote_name(&remote)?;
        let remote_url = first([args.remote_url.as_deref(), v.baseten_remote_url.as_deref()])
            .map(|u| normalize_url(u, "--remote-url", args.api.allow_http))
            .transpose()?;
        if args.no_validate && !args.api.require_key_type.is_empty() {
            return Err(Error::usage(
                "--require-key-type needs the key looked up, which --no-validate skips",
            )
            .with_hint("drop one of them"));
        }
        Ok(Self {
            remote,
            remote_url,
            validate: !args.no_validate,
            api: api_settings(&args.api, args.allow_restricted, env)?,
        })
    }
}

/// `--job-key` and its flags, checked against the connection and the job.
fn job_key_settings(
    args: &JobKeyArgs,
    conn: &Connection,
    job: Option<&str>,
    env: &Env,
) -> Result<Option<JobKeySettings>> {
    let Some(kind) = args.job_key else {
        return Ok(None);
    };
    if !conn.validate {
        return Err(Error::usage(
            "--job-key checks both keys against the API, so it cannot be used with --no-validate",
        ));
    }
    if !args.model_id.is_empty() && !kind.restricted() {
        return Err(Error::usage(format!(
            "--model-id is for --job-key=workspace-invoke or workspace-export-metrics, not {}",
            kind.as_str()
        )));
    }
    let job = job.ok_or_else(|| {
        Error::usage(
            "--job-key names the key after the CI job, and this is not a CI job with an identity",
        )
        .with_hint("run it in CI (the job's id names the key), or leave --job-key out")
    })?;
    Ok(Some(JobKeySettings {
        kind,
        model_ids: args.model_id.clone(),
        team: args.team.clone().filter(|t| !t.trim().is_empty()),
        ttl: args
            .job_key_ttl
            .as_deref()
            .map_or(Ok(job_key::DEFAULT_TTL), job_key::parse_ttl)?,
        now: job_key::now(env),
        job: job.to_owned(),
    }))
}

/// What `keys prune` needs besides the key.
#[derive(Debug)]
pub struct PruneSettings {
    pub key: KeyArgs,
    pub conn: Connection,
    pub dry_run: bool,
    pub now: u64,
}

/// What `login` needs besides the key.
#[derive(Debug)]
pub struct LoginSettings {
    pub key: KeyArgs,
    pub conn: Connection,
    pub trussrc: TrussrcPath,
    pub export: Option<ExportMode>,
    pub isolate: bool,
    pub storage: Storage,
    pub dotenv: Option<PathBuf>,
    /// `--print-env sh`: print `export` lines for `eval`.
    pub print_env: bool,
    pub job_key: Option<JobKeySettings>,
    /// `--baseten-profile`: the `baseten` CLI's profile to write too.
    pub baseten: Option<BasetenSettings>,
}

/// What `status` reads, and with `--check`, how the key is checked.
#[derive(Debug)]
pub struct StatusSettings {
    /// The remote URL of truss's env-var remote, when both BASETEN_TRUSS_AUTH_* are set.
    pub env_pair: Option<String>,
    pub remote: Option<String>,
    pub trussrc: PathBuf,
    pub api: Option<ApiSettings>,
    /// The `baseten` CLI's `auth.json` (`None`: the CLI could not tell where it is).
    pub baseten_auth_file: Option<PathBuf>,
}

/// What `logout` does.
#[derive(Debug)]
pub enum LogoutSettings {
    /// Remove `remote` (else the only one), or every remote.
    Remove {
        trussrc: PathBuf,
        /// `--timeout`: how long to wait for the trussrc's lock.
        wait: Duration,
        remote: Option<String>,
        all: bool,
        /// The `baseten` CLI's `auth.json`: a profile login wrote for a remote goes with it.
        baseten_auth_file: Option<PathBuf>,
    },
    /// Undo this job's logins in `trussrc`, and revoke its job keys.
    Post {
        trussrc: PathBuf,
        scope: PostScope,
        revoker: Box<Revoker>,
        /// The `baseten` CLI's `auth.json` here: what a login killed before its record named it
        /// left beside it (a lock file) is swept.
        baseten_auth_file: Option<PathBuf>,
    },
}

/// Which records a post step undoes.
#[derive(Debug)]
pub enum PostScope {
    /// GitHub: the one record this action's main step saved in GITHUB_STATE.
    Id(String),
    /// Elsewhere: every record of this CI job.
    Job(String),
    /// None: this job has no identity to tell its logins from another job's.
    Unknown,
}

/// `logout --post`: the trussrc and record the action's main step saved (STATE_*), else the
/// trussrc named as usual and this job's identity.
fn post(args: crate::cli::LogoutArgs, env: &Env, job: Option<String>) -> Result<LogoutSettings> {
    let state = |name: &str| env.get_nonblank(&format!("STATE_{name}"));
    let revoker = Box::new(Revoker {
        api: api_settings(&args.api, false, env)?,
        key: args.key,
    });
    let Some(file) = state(undo::STATE_FILE) else {
        return Ok(LogoutSettings::Post {
            trussrc: trussrc_path(args.trussrc.as_deref(), env)?.path,
            scope: job.map_or(PostScope::Unknown, PostScope::Job),
            revoker,
            baseten_auth_file: cli_auth_file(env),
        });
    };
    let forged = |why: &str| {
        Error::new(Kind::Local, format!("{why}; nothing was changed"))
            .with_hint("the post step reads what this action's main step saved; run it only as the action's post step")
    };
    let (Some(trussrc), Some(id)) = (state(undo::STATE_TRUSSRC), state(undo::STATE_ID)) else {
        return Err(forged(
            "GITHUB_STATE names an undo record but not its trussrc and id",
        ));
    };
    let trussrc = PathBuf::from(trussrc);
    if undo::path_for(&trussrc) != Path::new(file) {
        return Err(forged(
            "GITHUB_STATE names an undo record that is not beside its trussrc",
        ));
    }
    Ok(LogoutSettings::Post {
        baseten_auth_file: cli_auth_file(env),
        trussrc,
        scope: PostScope::Id(id.to_owned()),
        revoker,
    })
}

/// What `exec` runs, and with which key.
#[derive(Debug)]
pub struct ExecSettings {
    pub job_key: Option<JobKeySettings>,
    pub key: KeyArgs,
    pub conn: Connection,
    pub export_env: bool,
    pub command: Vec<std::ffi::OsString>,
}

/// Where the trussrc is, and whether that is where truss looks without being told.
#[derive(Clone, Debug)]
pub struct TrussrcPath {
    pub path: PathBuf,
    /// True when the path is `~/.trussrc` and truss finds it with no `USER_TRUSSRC_PATH`.
    pub is_default: bool,
}

/// The env-var remote truss uses when both BASETEN_TRUSS_AUTH_* variables are set.
fn env_pair(env: &Env, remote: Option<&str>) -> Result<Option<String>> {
    let key = env.get_nonblank(crate::env::names::BASETEN_TRUSS_AUTH_API_KEY);
    let url = env.get_nonblank(crate::env::names::BASETEN_TRUSS_AUTH_REMOTE_URL);
    match (key, url) {
        (Some(_), Some(_)) if remote.is_some() => Err(Error::usage(
            "--remote cannot be used while BASETEN_TRUSS_AUTH_API_KEY and BASETEN_TRUSS_AUTH_REMOTE_URL are set: truss then ignores the trussrc",
        )),
        (Some(_), Some(url)) => Ok(Some(url.trim().to_owned())),
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::usage(
            "BASETEN_TRUSS_AUTH_API_KEY is set but BASETEN_TRUSS_AUTH_REMOTE_URL is not; set both or neither",
        )),
        (None, Some(_)) => Err(Error::usage(
            "BASETEN_TRUSS_AUTH_REMOTE_URL is set but BASETEN_TRUSS_AUTH_API_KEY is not; set both or neither",
        )),
    }
}

/// `--isolate`'s path under `RUNNER_TEMP`, else `--trussrc`, `USER_TRUSSRC_PATH` or the default.
fn login_trussrc(flag: Option<&Path>, isolate: bool, env: &Env) -> Result<TrussrcPath> {
    if !isolate {
        return trussrc_path(flag, env);
    }
    let temp = first([env.vars.runner_temp.as_deref()]).ok_or_else(|| {
        Error::usage("--isolate needs RUNNER_TEMP, which GitHub Actions runners set").with_hint(
            "outside GitHub Actions, pass --trussrc PATH and export USER_TRUSSRC_PATH yourself",
        )
    })?;
    // Later steps run elsewhere: the exported path must not depend on this cwd.
    let dir = std::path::absolute(temp).unwrap_or_else(|_| PathBuf::from(temp));
    Ok(TrussrcPath {
        path: dir.join("truss-ci").join("trussrc"),
        is_default: false,
    })
}

/// The first value that is set and not blank.
fn first<const N: usize>(candidates: [Option<&str>; N]) -> Option<&str> {
    candidates
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
}

pub fn parse_timeout(secs: f64) -> Result<Duration> {
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(Error::usage(format!(
            "--timeout must be a number of seconds between 0 and 3600, not {secs}"
        )))
    }
}

/// `--trussrc`, else `USER_TRUSSRC_PATH`, else `~/.trussrc`; `~` is expanded as the Python that
/// runs truss expands it on this OS (`HOME` on Linux and macOS, `USERPROFILE` on Windows).
pub fn trussrc_path(flag: Option<&Path>, env: &Env) -> Result<TrussrcPath> {
    let from_env = first([env.vars.user_trussrc_path.as_deref()]);
    let given = match (flag, from_env) {
        (Some(p), _) => Some(p.to_string_lossy()),
        (None, Some(p)) => Some(p.into()),
        (None, None) => None,
    };
    let chosen = PathBuf::from(expand_user(
        given.as_deref().unwrap_or(DEFAULT_TRUSSRC),
        env,
    )?);
    if chosen.to_string_lossy().chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "the trussrc path {:?} contains a control character",
            chosen
        )));
    }
    let path = std::path::absolute(&chosen).unwrap_or(chosen);
    let is_default = from_env.is_none()
        && (flag.is_none()
            || expand_user(DEFAULT_TRUSSRC, env)
                .is_ok_and(|d| std::path::absolute(d).is_ok_and(|d| d == path)));
    Ok(TrussrcPath { path, is_default })
}

/// Where truss looks when `USER_TRUSSRC_PATH` is unset.
const DEFAULT_TRUSSRC: &str = "~/.trussrc";

fn expand_user(path: &str, env: &Env) -> Result<String> {
    use crate::home::{Flavor, NoHome};
    let vars = if cfg!(windows) {
        "USERPROFILE (or HOMEDRIVE and HOMEPATH)"
    } else {
        "HOME"
    };
    let v = &env.vars;
    let home = crate::home::HomeVars {
        home: v.home.as_deref(),
        passwd_home: env.passwd_home.as_deref(),
        userprofile: v.userprofile.as_deref(),
        homedrive: v.homedrive.as_deref(),
        homepath: v.homepath.as_deref(),
        username: v.username.as_deref(),
    };
    crate::home::expand_user(path, &home, Flavor::NATIVE).map_err(|e| match e {
        NoHome::Undetermined => Error::usage(format!(
            "cannot expand ~ in {path}: {vars} is not set, so truss could not find its trussrc either"
        ))
        .with_hint("set USER_TRUSSRC_PATH (for truss too) or pass --trussrc with a full path"),
        NoHome::OtherUser => Error::usage(format!(
            "{path} names another user's home, which truss-ci does not look up"
        ))
        .with_hint("write the path out in full"),
    })
}

mod baseten;
pub use baseten::BasetenSettings;
use baseten::{baseten_settings, cli_auth_file};

#[cfg(test)]
mod tests;
