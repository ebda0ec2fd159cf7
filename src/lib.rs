//! truss-ci: log a CI/CD job into Baseten without a human.
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod commands;
pub mod env;
pub mod error;
pub mod output;
pub mod resolve;
pub mod secret;
pub mod settings;
pub mod trussrc;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::env::Env;
use crate::output::Output;

/// Parses the command line, runs the command, and maps the outcome to the documented exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let env = Env::from_process();
    init_tracing(&cli.global, &env);
    let out = Output::new(cli.global.output, cli.global.quiet);
    let result = match &cli.command {
        Command::Login(args) => commands::login::run(args, &env, &out, &mut std::io::stdin()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// `-v`/`-vv` or RUST_LOG drive diagnostics on stderr. The HTTP stack is held at info whatever is
/// asked, so no request or header dump can reach a log.
fn init_tracing(global: &GlobalArgs, env: &Env) {
    let base = match (&env.vars.rust_log, global.verbose, global.quiet) {
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
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
