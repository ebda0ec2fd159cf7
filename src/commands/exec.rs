//! `truss-ci exec -- CMD`: the key, validated, for one command only. It goes into a private
//! trussrc (0600, in a fresh 0700 directory) that truss reads through `USER_TRUSSRC_PATH`; the
//! command runs with inherited stdio; SIGINT, SIGTERM and SIGHUP are passed on; the directory is
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
    let code = match supervise(command) {
        Ok(code) => code,
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

/// Spawns the command, passes SIGINT, SIGTERM and SIGHUP on to it while it runs, and waits.
#[cfg(unix)]
fn supervise(mut command: Command) -> std::io::Result<u8> {
    use std::os::unix::process::ExitStatusExt;
    use std::sync::{Arc, Mutex};

    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

    // Registered before the spawn, so no signal is lost in between (or ends truss-ci before it
    // has cleaned up).
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    let child_pid: Arc<Mutex<Option<rustix::process::Pid>>> = Arc::new(Mutex::new(None));
    let pending: Arc<Mutex<Vec<i32>>> = Arc::new(Mutex::new(Vec::new()));
    let forwarder = {
        let (child_pid, pending) = (Arc::clone(&child_pid), Arc::clone(&pending));
        std::thread::spawn(move || {
            for signal in signals.forever() {
                let pid = *child_pid
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                match pid {
                    Some(pid) => forward(pid, signal),
                    None => pending
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(signal),
                }
            }
        })
    };
    let result = command.spawn().and_then(|mut child| {
        let pid = i32::try_from(child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw);
        if let Some(pid) = pid {
            *child_pid
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(pid);
            for signal in pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .drain(..)
            {
                forward(pid, signal);
            }
        }
        child.wait()
    });
    handle.close();
    let _ = forwarder.join();
    let status = result?;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code).unwrap_or(1),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
        (None, None) => 1,
    })
}

#[cfg(unix)]
fn forward(pid: rustix::process::Pid, signal: i32) {
    if let Some(signal) = rustix::process::Signal::from_named_raw(signal) {
        let _ = rustix::process::kill_process(pid, signal);
    }
}

/// Windows has no signals to pass on: the console delivers Ctrl-C to the whole process group.
#[cfg(not(unix))]
fn supervise(mut command: Command) -> std::io::Result<u8> {
    let status = command.spawn()?.wait()?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}
