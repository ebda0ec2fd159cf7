//! The command line, as clap derive structs. No I/O here.
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::ci::Platform;

mod refusal;

pub use refusal::{intent, key_shaped, refused};

#[derive(Debug, Parser)]
#[command(
    name = "truss-ci",
    version,
    about = "Log a CI/CD job into Baseten: resolve, validate and store an API key where truss reads it.",
    after_help = "Exit codes: 0 ok, 1 unexpected, 2 usage or missing/malformed key, 3 key rejected, \
                  4 API unreachable, 5 local write failed."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses `args` as [`Cli::try_parse_from`] does. clap builds every subcommand's arguments
    /// before it parses (a fifth of a short command's time): the line is first parsed by a
    /// command that holds only the subcommand it names, and that result is taken when it parses.
    /// A line it refuses, or one with no subcommand named, is parsed again in full, so every
    /// error, `--help` and `--version` are clap's own.
    pub fn parse_args(args: &[OsString]) -> Result<Self, clap::Error> {
        Self::parse_one(args).map_or_else(|| Self::try_parse_from(args), Ok)
    }

    /// The parse with only the named subcommand built. The first argument that names one is
    /// the subcommand: no value of a global option (`--output`, `--ci`) is a subcommand's name.
    fn parse_one(args: &[OsString]) -> Option<Self> {
        let named = |a: &OsString| SUBCOMMANDS.iter().find(|(name, _)| a == name);
        let (name, augment) = args.iter().skip(1).find_map(named)?;
        let root = GlobalArgs::augment_args(clap::Command::new("truss-ci"));
        let command = root
            .subcommand(augment(clap::Command::new(*name)))
            .subcommand_required(true);
        let matches = command.try_get_matches_from(args).ok()?;
        Self::from_arg_matches(&matches).ok()
    }
}

/// How a subcommand's arguments are added to its command.
type Augment = fn(clap::Command) -> clap::Command;

/// Each subcommand and how its arguments are built.
const SUBCOMMANDS: &[(&str, Augment)] = &[
    ("login", LoginArgs::augment_args),
    ("status", StatusArgs::augment_args),
    ("logout", LogoutArgs::augment_args),
    ("exec", ExecArgs::augment_args),
    ("keys", KeysArgs::augment_args),
];

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More detail on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Format of the result on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// The CI platform to speak to; `auto` detects it, `none` emits nothing platform-specific.
    #[arg(long, global = true, value_name = "NAME", default_value = "auto", value_parser = parse_ci)]
    pub ci: CiChoice,
}

/// `--ci`: a platform, or `None` for `auto` (detect it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CiChoice(pub Option<Platform>);

fn parse_ci(value: &str) -> Result<CiChoice, String> {
    if value == "auto" {
        return Ok(CiChoice(None));
    }
    Platform::from_str(value, false)
        .map(|p| CiChoice(Some(p)))
        .map_err(|_| format!("expected auto, {}", Platform::spellings().join(", ")))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resolve a Baseten API key, validate it, and write it where truss reads it.
    Login(LoginArgs),
    /// Show a remote's credentials as `truss auth status` does; --check also validates the key.
    Status(StatusArgs),
    /// Remove remotes and their keyring entries; --post undoes exactly what login did.
    Logout(LogoutArgs),
    /// Run one command logged in: the key, validated, in a private trussrc that is removed when
    /// the command ends. The user's ~/.trussrc is never read or written.
    Exec(ExecArgs),
    /// Manage the keys truss-ci mints: `keys prune` deletes expired job keys.
    Keys(KeysArgs),
}

#[derive(Debug, Args)]
#[command(
    mut_arg("api_url", |a| a.requires("check")),
    mut_arg("timeout", |a| a.requires("check")),
    mut_arg("allow_http", |a| a.requires("check")),
    mut_arg("ca_cert", |a| a.requires("check")),
    mut_arg("require_key_type", |a| a.requires("check"))
)]
pub struct StatusArgs {
    /// The remote to show [default: the only one]
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    /// The trussrc to read [env: USER_TRUSSRC_PATH] [default: ~/.trussrc]
    #[arg(long, value_name = "PATH")]
    pub trussrc: Option<PathBuf>,

    /// Also resolve the key (inline, keyring or env pair) and validate it against the API.
    #[arg(long)]
    pub check: bool,

    /// With --check: how the API is reached.
    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The remote to remove [default: the only one]
    #[arg(long, value_name = "NAME", conflicts_with_all = ["all", "post"])]
    pub remote: Option<String>,

    /// Remove every remote.
    #[arg(long, conflicts_with = "post")]
    pub all: bool,

    /// Undo what `truss-ci login` recorded in this job: restore a replaced section byte for byte,
    /// or remove the section (and a file login created), delete its keyring entry, and clear the
    /// env it exported. Harmless when there is nothing to undo.
    #[arg(long)]
    pub post: bool,

    /// The trussrc to edit [env: USER_TRUSSRC_PATH] [default: ~/.trussrc]
    #[arg(long, value_name = "PATH")]
    pub trussrc: Option<PathBuf>,

    /// With --post: the key that minted this job's key (the same sources as login), to revoke it.
    #[command(flatten)]
    pub key: KeyArgs,

    /// With --post: how the API is reached to revoke a job key.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// A key minted for the job (login and exec).
#[derive(Debug, Default, Args)]
pub struct JobKeyArgs {
    /// Mint a new key of TYPE with the resolved key, and use only that one; it is revoked when
    /// the job ends (`logout --post`), or by `keys prune` once expired.
    #[arg(
        long,
        value_enum,
        value_name = "TYPE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "workspace-manage-all",
        help_heading = "Job key"
    )]
    pub job_key: Option<JobKeyType>,

    /// With --job-key=workspace-invoke or workspace-export-metrics: a model the key may use
    /// (repeatable).
    #[arg(
        long,
        value_name = "ID",
        requires = "job_key",
        help_heading = "Job key"
    )]
    pub model_id: Vec<String>,

    /// With --job-key: mint the key for this team (its name or id).
    #[arg(
        long,
        value_name = "NAME|ID",
        requires = "job_key",
        help_heading = "Job key"
    )]
    pub team: Option<String>,

    /// With --job-key: how long the key is meant to live, in its name (30m, 6h, 2d; 5m to 7d).
    #[arg(
        long,
        value_name = "DURATION",
        requires = "job_key",
        help_heading = "Job key"
    )]
    pub job_key_ttl: Option<String>,
}

/// The types a job key may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JobKeyType {
    WorkspaceManageAll,
    WorkspaceInvoke,
    WorkspaceExportMetrics,
}

impl JobKeyType {
    /// The flag's spelling, which the API's is made from.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkspaceManageAll => "workspace-manage-all",
            Self::WorkspaceInvoke => "workspace-invoke",
            Self::WorkspaceExportMetrics => "workspace-export-metrics",
        }
    }

    /// Keys of this type may not call the management API (and so answer 403 to the key check).
    pub fn restricted(self) -> bool {
        self != Self::WorkspaceManageAll
    }
}

/// `truss-ci keys prune`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Delete the job keys truss-ci minted whose expiry (in their name) has passed; never any
    /// other key.
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// List what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Where the key comes from (login and exec).
#[derive(Debug, Default, Args)]
pub struct KeyArgs {
    /// Read the key from standard input.
    #[arg(long, help_heading = "Key source")]
    pub api_key_stdin: bool,

    /// Read the key from a file.
    #[arg(long, value_name = "PATH", help_heading = "Key source")]
    pub api_key_file: Option<PathBuf>,

    /// The key itself. Visible to other processes through argv: prefer the other sources.
    #[arg(
        long,
        value_name = "KEY",
        help_heading = "Key source",
        hide_env_values = true
    )]
    pub api_key: Option<String>,

    /// Read the key only from env var VAR (default BASETEN_API_KEY), or the file named by VAR_FILE.
    #[arg(
        long,
        value_name = "VAR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "BASETEN_API_KEY",
        conflicts_with_all = ["api_key_stdin", "api_key_file", "api_key"],
        help_heading = "Key source"
    )]
    pub from_env: Option<String>,
}

/// Which remote, at which URLs, and how the key is checked (login and exec).
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The trussrc section (remote) to write [env: BASETEN_REMOTE] [default: baseten]
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,

    /// The Baseten app URL stored as remote_url [env: BASETEN_REMOTE_URL] [default: the section's
    /// current remote_url, else https://app.baseten.co]
    #[arg(long, value_name = "URL")]
    pub remote_url: Option<String>,

    /// Store the key without checking it against the API.
    #[arg(long)]
    pub no_validate: bool,

    /// Accept a key the API authenticates but forbids the management API (inference-only keys).
    #[arg(long)]
    pub allow_restricted: bool,

    #[command(flatten)]
    pub api: ApiArgs,
}

/// How the API is reached: where, within what deadline, and whom to trust (login, exec, and
/// status --check).
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The REST API base the key is checked against [env: BASETEN_API_URL] [default: derived from
    /// the remote URL]
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// Deadline in seconds for the whole validation, retries included (and for the trussrc's lock).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,

    /// Allow an http:// URL to a non-loopback host (the key would cross the network in clear).
    #[arg(long)]
    pub allow_http: bool,

    /// Also trust the CA certificate(s) in this PEM file (a private CA in front of the API).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Refuse the key (exit 3, before anything is written) unless the management API lists it
    /// with one of these types: personal, workspace-manage-all, workspace-invoke,
    /// workspace-export-metrics, workspace-manage-api-keys, routes.
    #[arg(long, value_name = "TYPE[,TYPE...]", value_delimiter = ',')]
    pub require_key_type: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// The trussrc to write [env: USER_TRUSSRC_PATH] [default: ~/.trussrc]
    #[arg(long, value_name = "PATH")]
    pub trussrc: Option<PathBuf>,

    /// Hand BASETEN_API_KEY (and USER_TRUSSRC_PATH when not default) to later steps; `truss-env`
    /// adds BASETEN_TRUSS_AUTH_API_KEY and BASETEN_TRUSS_AUTH_REMOTE_URL.
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "key",
        help_heading = "CI"
    )]
    pub export_env: Option<ExportMode>,

    /// Write the trussrc under $RUNNER_TEMP (wiped after every job) and export USER_TRUSSRC_PATH.
    #[arg(long, conflicts_with = "trussrc", help_heading = "CI")]
    pub isolate: bool,

    /// Append the non-secret settings to FILE in GitLab's dotenv report format.
    #[arg(long, value_name = "FILE", help_heading = "CI")]
    pub dotenv: Option<PathBuf>,

    /// Print `export NAME='value'` lines (the key included) for `eval`.
    #[arg(long, value_enum, value_name = "SHELL", help_heading = "CI")]
    pub print_env: Option<Shell>,

    /// Where the key goes: inline in the trussrc (what truss does), or the OS keyring with the
    /// section holding no key (falls back to inline, with a warning, when no keyring is usable).
    #[arg(long, value_enum, default_value_t = Storage::Inline)]
    pub storage: Storage,

    /// Also log the `baseten` CLI in: write profile NAME (default: the remote's name) to its
    /// auth.json (the key in its keyring with --storage keyring), and make it current.
    #[arg(
        long,
        value_name = "NAME",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
        help_heading = "baseten CLI"
    )]
    pub baseten_profile: Option<String>,

    /// With --baseten-profile: leave the CLI's current profile as it is.
    #[arg(long, requires = "baseten_profile", help_heading = "baseten CLI")]
    pub baseten_no_switch: bool,

    #[command(flatten)]
    pub job: JobKeyArgs,
}

/// `truss-ci exec [options] -- CMD [ARGS...]`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub remote: RemoteArgs,

    /// Also pass BASETEN_API_KEY to the command (and to nothing else).
    #[arg(long)]
    pub export_env: bool,

    #[command(flatten)]
    pub job: JobKeyArgs,

    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    Inline,
    Keyring,
}

impl Storage {
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Inline => "inline",
            Storage::Keyring => "keyring",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportMode {
    /// BASETEN_API_KEY (and USER_TRUSSRC_PATH when not default).
    Key,
    /// Also BASETEN_TRUSS_AUTH_API_KEY and BASETEN_TRUSS_AUTH_REMOTE_URL.
    TrussEnv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Sh,
}

#[cfg(test)]
mod tests;
