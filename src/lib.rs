//! truss-ci: log a CI/CD job into Baseten without a human.
#![forbid(unsafe_code)]

pub mod api;
pub mod atomic_file;
pub mod baseten_cli;
pub mod build_info;
pub mod ci;
pub mod cli;
pub mod commands;
pub mod context;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod exec_dir;
pub mod home;
pub mod job_key;
pub mod key_info;
pub mod key_source;
pub mod keyring_store;
pub mod output;
pub mod process;
pub mod secret;
pub mod server_text;
pub mod settings;
pub mod trussrc;
pub mod undo;
pub mod urls;

use std::process::ExitCode;

use crate::cli::Cli;
use crate::context::Context;
use crate::env::Env;
use crate::output::Output;
use crate::settings::Settings;

/// Parses the command line, runs the command, and maps the outcome to the documented exit code.
/// A panic is a bug: it is reported as one (without its payload, which might quote data) and exits
/// 1, as documented, instead of Rust's 101.
pub fn main() -> ExitCode {
    process::forbid_core_dumps();
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let mut err = std::io::stderr().lock();
        let _ = std::io::Write::write_fmt(
            &mut err,
            format_args!(
                "error: truss-ci hit a bug{location}; nothing more was written. Please report it.\n"
            ),
        );
    }));
    std::panic::catch_unwind(run).unwrap_or(ExitCode::from(1))
}

fn run() -> ExitCode {
    let args = env::args();
    let cli = match Cli::parse_args(&args) {
        Ok(cli) => cli,
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayVersion => return version(&args),
        // --help.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::from(0);
        }
        Err(e) => return refused(&e, &args),
    };
    let env = Env::from_process();
    let verbose = cli.global.verbose
        + u8::from(cli.global.verbose == 0 && env.vars.runner_debug.as_deref() == Some("1"));
    let platform = ci::Platform::chosen(cli.global.ci.0, &env);
    let (dialect, mut warnings) = platform.dialect(&env);
    warnings.extend(env.warnings.iter().cloned());
    // Warnings and log lines wait until the key is masked (a command that has one masks it first).
    let mut out = Output::new(cli.global.output, cli.global.quiet, verbose > 0, dialect)
        .with_arguments(&cli::key_shaped(&args))
        .with_warnings(warnings);
    init_tracing(verbose, cli.global.quiet, &env, out.log_writer());
    #[cfg(feature = "test-hooks")]
    if let Some(text) = env.get("TRUSS_CI_TEST_LOG") {
        tracing::warn!("{text}");
    }
    // What an `exec` killed before its cleanup left behind goes first, whatever the command.
    exec_dir::sweep(&env);
    let job = platform.job_id(&env);
    let result = Settings::resolve(cli, &env, job.clone()).and_then(|settings| {
        if settings.reserves_stdout() {
            out.reserve_stdout();
        }
        dispatch(&settings, &env, (platform, job), &out)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            out.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Runs the command with its settings, in its context.
fn dispatch(
    settings: &Settings,
    env: &Env,
    (platform, job): (ci::Platform, Option<String>),
    out: &Output,
) -> error::Result<u8> {
    let dialect = out.dialect();
    let ctx = Context {
        env,
        platform,
        out,
        missing_key_hint: dialect.missing_key_hint(),
        job_temp_dir: dialect.job_temp_dir(),
        hands_state_to_post: dialect.hands_state_to_post(),
        keyring: keyring_store::Keyring::from_env(env),
        job,
    };
    let stdin = &mut std::io::stdin();
    match settings {
        Settings::Login(s) => commands::login::run(s, &ctx, stdin).map(|()| 0),
        Settings::Status(s) => commands::status::run(s, &ctx).map(|()| 0),
        Settings::Logout(s) => commands::logout::run(s, &ctx, stdin).map(|()| 0),
        Settings::Exec(s) => commands::exec::run(s, &ctx, stdin),
        Settings::Prune(s) => commands::keys::prune(s, &ctx, stdin).map(|()| 0),
    }
}

/// `--version`: one line, or with `-v` (or as JSON) what the binary is and how it was built.
fn version(args: &[std::ffi::OsString]) -> ExitCode {
    let (format, _) = cli::intent(args);
    let out = Output::new(
        format,
        false,
        false,
        ci::Platform::Plain.dialect(&Env::default()).0,
    );
    let written = match format {
        _ if !build_info::detailed(args, format) => {
            out.stdout_text(&format!("truss-ci {}\n", build_info::VERSION))
        }
        cli::OutputFormat::Json => out.json(&build_info::json()),
        cli::OutputFormat::Text => out.stdout_text(&build_info::text()),
    };
    ExitCode::from(written.map_or(1, |()| 0))
}

/// A command line clap refused: said like any other usage error (the platform's annotation, one
/// JSON object with `--output json`), with no argument that has the shape of a key; exit 2.
fn refused(e: &clap::Error, args: &[std::ffi::OsString]) -> ExitCode {
    let env = Env::from_process();
    let (format, platform) = cli::intent(args);
    let (dialect, _) = ci::Platform::chosen(platform, &env).dialect(&env);
    let err = cli::refused(e, args);
    Output::new(format, false, false, dialect).error(&err);
    ExitCode::from(err.exit_code())
}

/// `-v`/`-vv` or RUST_LOG drive diagnostics on stderr, written through `writer`: the same way as
/// every other line for people (scrubbed, neutralised for the platform, after the mask). The HTTP
/// stack is held at info whatever is asked, so no request or header dump can reach a log.
fn init_tracing(verbose: u8, quiet: bool, env: &Env, writer: output::LogWriter) {
    let base = match (&env.vars.rust_log, verbose, quiet) {
        (Some(filter), _, _) if !filter.trim().is_empty() => filter.clone(),
        (_, _, true) => "off".to_owned(),
        (_, 0, _) => "truss_ci=warn".to_owned(),
        (_, 1, _) => "truss_ci=debug".to_owned(),
        _ => "truss_ci=trace".to_owned(),
    };
    let filter = format!("{base},hyper=info,hyper_util=info,reqwest=info,rustls=info,h2=info");
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("truss_ci=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
