//! The command line, as clap derive structs. No I/O here.
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::ci::Platform;
use crate::error::Error;
use crate::secret::{self, ApiKey, Scrubber};

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

/// A command line clap refused, as a usage error (exit 2) that prints no argument with the shape
/// of a key: clap's text is scrubbed of every piece [`key_shaped`] finds, in every form the
/// scrubber knows. The message is clap's first line; its tips and usage are the hint.
pub fn refused(e: &clap::Error, args: &[OsString]) -> Error {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return Error::usage("a command is needed: login, status, logout or exec")
            .with_hint("run `truss-ci --help`");
    }
    let mut text = e.render().to_string();
    for piece in key_shaped(args) {
        text = Scrubber::new(&piece).scrub(&text);
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("the command line was not understood");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    let mut rest: Vec<&str> = lines.collect();
    // "the following required arguments were not provided:" names them on the next line.
    if message.ends_with(':') && !rest.is_empty() {
        message = format!("{message} {}", rest.remove(0));
    }
    let hint = if rest.is_empty() {
        "run `truss-ci --help`".to_owned()
    } else {
        rest.join("; ")
    };
    Error::usage(message).with_hint(hint)
}

/// The pieces of the arguments (for `--flag=value`, each side; split at whitespace and commas) that have the
/// shape of a key ([`secret::may_echo`]) and are no word of this command line (a subcommand, flag
/// or value name): what no error may print.
pub fn key_shaped(args: &[OsString]) -> Vec<ApiKey> {
    let words = words();
    let mut pieces = Vec::new();
    for arg in args.iter().skip(1) {
        let arg = arg.to_string_lossy();
        let sides = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with('-') => vec![flag, value],
            _ => vec![&*arg],
        };
        // A list (`--require-key-type a,b`) is read item by item.
        let items = sides
            .iter()
            .flat_map(|side| side.split(|c: char| c.is_whitespace() || c == ','));
        for piece in items.filter(|p| !p.is_empty()) {
            if !secret::may_echo(piece) && !words.contains(piece) {
                pieces.push(ApiKey::new(piece.to_owned()));
            }
        }
    }
    pieces
}

/// The subcommand, flag and value names of this command line: printed as they are.
fn words() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, words: &mut BTreeSet<String>) {
        words.insert(cmd.get_name().to_owned());
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                words.insert(format!("--{long}"));
            }
            for value in arg.get_possible_values() {
                words.insert(value.get_name().to_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, words);
        }
    }
    let mut words = BTreeSet::from(["auto".to_owned()]);
    walk(&Cli::command(), &mut words);
    words.extend(
        Platform::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .map(|v| v.get_name().to_owned()),
    );
    words
}

/// What a refused command line asked for, as far as it can be read: `--output json`, and the
/// platform named by `--ci`, so that its error is said the way it asked.
pub fn intent(args: &[OsString]) -> (OutputFormat, Option<Platform>) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let value = |flag: &str| {
        args.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&format!("{flag}="))
                .map(str::to_owned)
                .or_else(|| (a == flag).then(|| args.get(i + 1).cloned()).flatten())
        })
    };
    let format = match value("--output").as_deref() {
        Some("json") => OutputFormat::Json,
        _ => OutputFormat::Text,
    };
    let platform = value("--ci").and_then(|v| Platform::from_str(&v, false).ok());
    (format, platform)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(args: &[&str]) -> Error {
        let args: Vec<OsString> = std::iter::once("truss-ci")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        let e = Cli::try_parse_from(&args).expect_err("clap refuses it");
        refused(&e, &args)
    }

    /// Each class of clap error, with `KEY` where the key was put by mistake, and what the
    /// message must still name.
    const CLASSES: &[(&[&str], &str)] = &[
        (&["login", "--bogus=KEY"], "--bogus"),
        (&["login", "--bogus", "KEY"], "--bogus"),
        (&["login", "--output", "KEY"], "--output"),
        (&["login", "--storage=KEY"], "--storage"),
        (&["login", "--export-env=KEY"], "--export-env"),
        (&["login", "--print-env", "KEY"], "--print-env"),
        (&["login", "--from-env", "KEY"], "unexpected argument"),
        (&["login", "KEY"], "unexpected argument"),
        (&["KEY"], "unrecognized subcommand"),
        (&["--ci", "KEY", "login"], "--ci"),
        (&["status", "--timeout", "KEY"], "--timeout"),
        (&["login", "--remote", "KEY", "--remote", "x"], "--remote"),
        (
            &["--output", "json", "logout", "--post", "--remote=KEY"],
            "--remote",
        ),
        (&["exec", "--api-key=KEY", "--timeout", "KEY"], "--timeout"),
        (&["login", "--", "KEY"], "unexpected argument"),
        (&["login", "-vKEY"], "unexpected argument"),
        (&["login", "--KEY"], "unexpected argument"),
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        #[test]
        fn clap_errors_never_print_an_argument_shaped_like_a_key(
            // Not starting with a short flag's letter: `-vh…` asks for help, which is no error.
            id in "[A-UW-Za-gi-pr-uw-z0-9][A-Za-z0-9]{3,11}",
            secret in "[A-Za-z0-9][A-Za-z0-9+/=_~-]{11,40}",
        ) {
            let key = format!("{id}.{secret}");
            for (args, names) in CLASSES {
                let args: Vec<String> = args.iter().map(|a| a.replace("KEY", &key)).collect();
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let err = refusal(&args);
                let all = format!("{} {}", err.message, err.hint().unwrap_or_default());
                proptest::prop_assert_eq!(err.exit_code(), 2);
                proptest::prop_assert!(all.contains(names), "{:?}: {}", args, all);
                for w in secret.as_bytes().windows(crate::secret::MIN_FRAGMENT) {
                    let w = std::str::from_utf8(w).unwrap();
                    proptest::prop_assert!(!all.contains(w), "{:?}: {} shows {}", args, all, w);
                }
                proptest::prop_assert!(!all.contains(&key), "{:?}: {}", args, all);
            }
        }
    }

    #[test]
    fn clap_errors_still_name_what_is_wrong() {
        let err = refusal(&["login", "--outpt", "json"]);
        assert_eq!(err.message, "unexpected argument '--outpt' found");
        assert!(
            err.hint().unwrap().contains("'--output'"),
            "{:?}",
            err.hint()
        );
        let err = refusal(&["login", "--output", "xml"]);
        assert_eq!(err.message, "invalid value 'xml' for '--output <OUTPUT>'");
        let err = refusal(&["exec"]);
        assert!(
            err.message.ends_with("not provided: <CMD>..."),
            "{}",
            err.message
        );
        let err = refusal(&[
            "login",
            "--ci",
            "buildkite",
            "--storage",
            "keyring",
            "extra",
        ]);
        assert_eq!(err.message, "unexpected argument 'extra' found");
    }

    #[test]
    fn the_refused_line_says_how_to_answer() {
        let args = |a: &[&str]| -> Vec<OsString> { a.iter().map(OsString::from).collect() };
        assert_eq!(
            intent(&args(&["t", "--output", "json", "--ci=azure", "x"])),
            (OutputFormat::Json, Some(Platform::Azure))
        );
        assert_eq!(
            intent(&args(&["t", "--output=text", "--ci", "auto"])),
            (OutputFormat::Text, None)
        );
    }
}
