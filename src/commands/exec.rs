//! `truss-ci exec -- CMD`: the key, validated, for one command only. It goes into a private
//! trussrc (0600, in a fresh 0700 directory) that truss reads through `USER_TRUSSRC_PATH`; the
//! command runs with inherited stdio. Every terminating signal is caught from the start: before
//! the directory exists it ends the run with 128+N, while it is being filled it removes it
//! instead of starting the command, and once the command runs it is passed on. The directory is
//! removed however the command ends. The user's own trussrc is never read or written.
use std::io::Read;
use std::process::Command;

use crate::cli::ExecArgs;
use crate::commands::verify;
use crate::env::{Env, names};
use crate::error::{Error, Kind, Result};
use crate::exec_dir::{self, ExecDir};
use crate::key_source::{self, KeyRequest, Source};
use crate::output::Output;
use crate::process::{self, Start, Supervisor};
use crate::settings::{Connection, DEFAULT_REMOTE_URL};
use crate::{atomic_file, trussrc};

/// The variables the key may sit in: the command gets none of them unless `--export-env`.
const KEY_VARS: [&str; 5] = [
    names::BASETEN_API_KEY,
    names::INPUT_API_KEY_HYPHEN,
    names::INPUT_API_KEY,
    names::BASETEN_TRUSS_AUTH_API_KEY,
    names::BASETEN_TRUSS_AUTH_REMOTE_URL,
];

/// Runs the command and returns the exit code to leave with: the command's own, 128+N when a
/// signal N killed it, 127 when it was not found and 126 when it could not be run.
pub fn run(args: &ExecArgs, env: &Env, out: &Output, stdin: &mut dyn Read) -> Result<u8> {
    // Before anything is on disk, so that no signal can end the run between the directory's
    // creation and the handlers' installation.
    let supervisor = Supervisor::start()
        .map_err(|e| Error::unexpected(format!("could not install signal handlers: {e}")))?;
    let conn = Connection::resolve(&args.remote, env)?;
    let request = KeyRequest::from(&args.key);
    let (key, source, warnings) =
        key_source::find(&request, env, stdin, out.dialect().missing_key_hint())?;
    out.mask(&key)?;
    for w in &warnings {
        out.warn(w);
    }
    let remote_url = conn
        .remote_url
        .clone()
        .unwrap_or_else(|| DEFAULT_REMOTE_URL.to_owned());
    let api_url = conn.api_url_for(&remote_url);
    if conn.validate {
        verify::verify(&conn, env, &key, &api_url, &source, out)?;
    }

    supervisor.preparing();
    let base = exec_dir::base(env, out.dialect().job_temp_dir());
    let dir = ExecDir::create(&base, env)?;
    let rc = dir.path().join("trussrc");
    let section = trussrc::api_key_section(&conn.remote, &remote_url, Some(key.expose()));
    atomic_file::write(&rc, format!("{section}\n").as_bytes())?;

    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| Error::usage("exec needs a command after --"))?;
    let mut command = Command::new(program);
    command.args(rest).env(names::USER_TRUSSRC_PATH, &rc);
    for var in KEY_VARS {
        command.env_remove(var);
    }
    if let Source::Env(var) | Source::EnvFile { var, .. } = &source {
        command.env_remove(var);
    }
    if args.export_env {
        command.env(names::BASETEN_API_KEY, key.expose());
    }
    drop(key);
    let name = program.to_string_lossy();
    tracing::debug!("running {name} with USER_TRUSSRC_PATH={}", rc.display());
    let code = match supervisor.spawn(&mut command) {
        Ok(Start::Running(child)) => match supervisor.wait(child) {
            Ok(status) => exit_code(status),
            Err(e) => {
                out.error(&Error::unexpected(format!(
                    "could not wait for {name}: {e}"
                )));
                1
            }
        },
        Ok(Start::Stopped(signal)) => {
            out.error(&Error::new(
                Kind::Usage,
                format!(
                    "stopped by {} before {name} started; the private trussrc was removed",
                    process::signal_name(signal)
                ),
            ));
            u8::try_from(128 + signal).unwrap_or(255)
        }
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            out.error(&Error::new(
                Kind::Usage,
                format!("could not run {name}: {e}"),
            ));
            code
        }
    };
    drop(dir);
    Ok(code)
}

/// The command's own code, 128+N when signal N ended it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return u8::try_from(128 + signal).unwrap_or(255);
    }
    status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1)
}
