//! The effects of a platform's dialect, applied: workflow commands and log lines written, platform
//! files appended to (and cut back on a rollback), helper programs run.
use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Output;
use super::sink::write_line;
use crate::ci::Effect;
use crate::error::{Error, Kind, Result};
use crate::secret::Sensitive;

/// How long a helper program (buildkite-agent) may run.
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

impl Output {
    /// Applies effects in order; the first failure stops and is returned (exit 5).
    pub fn apply(&self, effects: Vec<Effect>) -> Result<()> {
        self.flush_pending();
        self.run(effects, &mut Vec::new())
    }

    /// Applies effects in order, all or nothing: when one fails, the files appended to so far
    /// are cut back to their earlier length, and the failure is returned (exit 5).
    pub fn apply_all_or_nothing(&self, effects: Vec<Effect>) -> Result<()> {
        self.flush_pending();
        let mut appended = Vec::new();
        let result = self.run(effects, &mut appended);
        if result.is_err() {
            for (path, len) in appended.into_iter().rev() {
                cut_back(&path, len);
            }
        }
        result
    }

    /// Applies effects in order, noting each file appended to with its length before; the first
    /// failure stops and is returned.
    pub(super) fn run(
        &self,
        effects: Vec<Effect>,
        appended: &mut Vec<(PathBuf, u64)>,
    ) -> Result<()> {
        for effect in effects {
            match effect {
                Effect::Command(line) => self.command(&line)?,
                Effect::Log(line) => {
                    let _ = write_line(&mut std::io::stderr().lock(), &line);
                }
                Effect::Warn(message) => self.warn(&message),
                Effect::Append { what, path, text } => {
                    let len = append(what, &path, &text)?;
                    appended.push((path, len));
                }
                Effect::Run {
                    program,
                    args,
                    stdin,
                    unable,
                } => match run_helper(program, &args, &stdin) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        self.warn(&format!("{program} is not on PATH, so {unable}"));
                    }
                    Err(e) => self.warn(&format!("{program} {} failed: {e}", args.join(" "))),
                },
            }
        }
        Ok(())
    }

    /// For effects that cannot fail (annotations, groups).
    pub(super) fn apply_unchecked(&self, effects: Vec<Effect>) {
        let _ = self.apply(effects);
    }

    /// A workflow command: the runner must read it, so a failed write is an error.
    fn command(&self, line: &Sensitive) -> Result<()> {
        let result = if self.commands_to_stderr {
            write_line(&mut std::io::stderr().lock(), line.expose())
        } else {
            write_line(&mut std::io::stdout().lock(), line.expose())
        };
        result.map_err(|e| {
            Error::new(
                Kind::Local,
                format!("could not write a command for the CI runner: {e}"),
            )
        })
    }
}

/// Cuts a platform file back to `len`, if it is still a regular file there; what cannot be cut
/// stays as it is.
fn cut_back(path: &Path, len: u64) {
    let mut options = OpenOptions::new();
    options.write(true);
    crate::atomic_file::no_follow_non_blocking(&mut options);
    let _ = options.open(path).and_then(|f| {
        if f.metadata()?.is_file() {
            f.set_len(len)
        } else {
            Ok(())
        }
    });
}

/// Appends to a platform file (created 0600 if missing) in one write, and returns its length
/// before. It never writes through a link, never waits on a FIFO with no reader, and refuses one.
fn append(what: &str, path: &Path, text: &Sensitive) -> Result<u64> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    crate::atomic_file::no_follow_non_blocking(&mut options);
    options
        .open(path)
        .and_then(|mut f| {
            let meta = f.metadata()?;
            if is_pipe(meta.file_type()) {
                return Err(std::io::Error::other("it is a pipe, not a file"));
            }
            f.write_all(text.expose().as_bytes())
                .and_then(|()| f.flush())
                .map(|()| meta.len())
        })
        .map_err(|e| {
            Error::new(
                Kind::Local,
                format!("could not write to {what} ({}): {e}", path.display()),
            )
        })
}

fn is_pipe(file_type: std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        file_type.is_fifo() || file_type.is_socket()
    }
    #[cfg(not(unix))]
    {
        let _ = file_type;
        false
    }
}

/// Runs a helper found on PATH with `stdin`, killing it after [`HELPER_TIMEOUT`]. A helper that is
/// not there is a `NotFound` error.
fn run_helper(program: &str, args: &[&str], stdin: &Sensitive) -> std::io::Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.expose().as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(std::io::Error::other(status.to_string())),
            Ok(None) if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                let waited = HELPER_TIMEOUT.as_secs();
                return Err(std::io::Error::other(format!("no exit within {waited}s")));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e),
        }
    }
}
