//! `truss-ci exec -- CMD`: the key, validated, for one command only. It goes into a private
//! trussrc (0600, in a fresh 0700 directory) that truss reads through `USER_TRUSSRC_PATH`; the
//! command runs with inherited stdio. Every terminating signal is caught from the start: before
//! the directory exists it ends the run with 128+N, while it is being filled it removes it
//! instead of starting the command, and once the command runs it is passed on. The directory is
//! removed however the command ends. The user's own trussrc is never read or written.
use std::io::Read;
use std::process::Command;

use crate::api::Client;
use crate::commands::verify;
use crate::context::Context;
use crate::endpoint::{Endpoint, endpoint};
use crate::env::names;
use crate::error::{Error, Kind, Result};
use crate::exec_dir::{self, ExecDir};
use crate::job_key;
use crate::key_info;
use crate::key_source::{self, KEY_VARS, Source};
use crate::process::{self, Start, Supervisor};
use crate::secret::ApiKey;
use crate::settings::ExecSettings;
use crate::{atomic_file, trussrc};

/// Runs the command and returns its own exit code (128+N when a signal N killed it); a command
/// that cannot be started is an error whose kind carries 127, 126 or 128+N.
pub fn run(settings: &ExecSettings, ctx: &Context<'_>, stdin: &mut dyn Read) -> Result<u8> {
    // Before anything is on disk, so that no signal can end the run between the directory's
    // creation and the handlers' installation.
    let supervisor = Supervisor::start()
        .map_err(|e| Error::unexpected(format!("could not install signal handlers: {e}")))?;
    let (conn, out) = (&settings.conn, ctx.out);
    let acquired = key_source::acquire(&settings.key, ctx, stdin)?;
    acquired.warn(out);
    let (key, source) = (acquired.key, acquired.source);
    // exec reads no trussrc: the remote is the one given, else Baseten's.
    let at = endpoint(conn.remote_url.as_deref(), &conn.api, &conn.remote, None)?;
    if settings.export_env {
        // The baseten CLI's rule for the remote it reads beside the key, before any request.
        crate::baseten_cli::cli_remote_url(&at.remote_url)?;
    }
    let client = conn
        .validate
        .then(|| Client::new(&at.api_url, &conn.api))
        .transpose()?;
    if let Some(client) = &client {
        // An unknown key was a warning already.
        if let (_, lookup @ key_info::Lookup::Known { .. }) =
            verify::verify(client, &conn.api, &key, &source, ctx)?
        {
            out.info(&format!("Key {}", lookup.describe(out)));
        }
    }
    if let (Some(plan), Some(client)) = (&settings.job_key, &client) {
        // The minted key runs the command; the resolved one stays here, to revoke it after. From
        // the create on, a signal is held: the command then never starts, and the key is revoked.
        supervisor.preparing();
        let minted = job_key::mint(client, &key, plan, out, None)?;
        let code = run_with(settings, ctx, &supervisor, (&minted.key, &source), &at);
        return revoke_after(client, &key, &minted.record, code, out);
    }
    run_with(settings, ctx, &supervisor, (&key, &source), &at)
}

/// Revokes the job key once the command is done, however long it ran: the revocation has a
/// budget of its own and is always attempted. A key left alive fails a command that succeeded
/// (exit 2, 3 or 4: see [`job_key::not_revoked`]); after a command that failed, the error is
/// said and the command's own code stands.
fn revoke_after(
    client: &Client,
    key: &ApiKey,
    record: &crate::undo::JobKey,
    code: Result<u8>,
    out: &crate::output::Output,
) -> Result<u8> {
    client.renew();
    let job_key::Revoked::Failed(kind, why) = job_key::revoke(client, key, record) else {
        return code;
    };
    let error = job_key::not_revoked(record, kind, &why);
    match code {
        Ok(0) => Err(error),
        other => {
            out.error(&error);
            other
        }
    }
}

/// Writes the private trussrc with `key`, runs the command and removes the directory.
fn run_with(
    settings: &ExecSettings,
    ctx: &Context<'_>,
    supervisor: &Supervisor,
    (key, source): (&ApiKey, &Source),
    at: &Endpoint,
) -> Result<u8> {
    let conn = &settings.conn;
    let remote_url = at.remote_url.as_str();
    supervisor.preparing();
    let dir = ExecDir::create(&exec_dir::base(ctx.env, ctx.job_temp_dir.clone()), ctx.env)?;
    let rc = dir.path().join("trussrc");
    let section = trussrc::api_key_section(&conn.remote, remote_url, Some(key.expose()));
    atomic_file::write(&rc, format!("{section}\n").as_bytes())?;

    let (program, rest) = settings
        .command
        .split_first()
        .ok_or_else(|| Error::usage("exec needs a command after --"))?;
    let mut command = Command::new(program);
    command.args(rest).env(names::USER_TRUSSRC_PATH, &rc);
    for var in KEY_VARS {
        command.env_remove(var);
    }
    if let Source::Env(var) | Source::EnvFile { var, .. } = source {
        command.env_remove(var);
    }
    if settings.export_env {
        command.env(names::BASETEN_API_KEY, key.expose());
        // The baseten CLI's remote beside its key: none for the default remote.
        match crate::baseten_cli::cli_remote_url(remote_url)? {
            url if url == crate::baseten_cli::DEFAULT_REMOTE_URL => {
                command.env_remove(names::BASETEN_REMOTE_URL)
            }
            url => command.env(names::BASETEN_REMOTE_URL, url),
        };
    }
    tracing::debug!(
        "running {} with USER_TRUSSRC_PATH={}",
        program.to_string_lossy(),
        rc.display()
    );
    let code = supervise(supervisor, &mut command, &program.to_string_lossy());
    drop(dir);
    code
}

/// Starts the command and waits for it: its exit code, or why it never ran.
fn supervise(supervisor: &Supervisor, command: &mut Command, name: &str) -> Result<u8> {
    match supervisor.spawn(command) {
        Ok(Start::Running(child)) => supervisor
            .wait(child)
            .map(exit_code)
            .map_err(|e| Error::unexpected(format!("could not wait for {name}: {e}"))),
        Ok(Start::Stopped(signal)) => Err(Error::new(
            Kind::Stopped(signal),
            format!(
                "stopped by {} before {name} started; the private trussrc was removed",
                process::signal_name(signal)
            ),
        )),
        Err(e) => {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                Kind::NotFound
            } else {
                Kind::CannotRun
            };
            Err(Error::new(kind, format!("could not run {name}: {e}")))
        }
    }
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
