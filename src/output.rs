//! The only writer of stdout, stderr and CI files. Human messages go to stderr; stdout is for
//! machine output (JSON, workflow commands, `--print-env`). Applies the platform's effects.
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::ci::{Dialect, Effect, Level};
use crate::cli::OutputFormat;
use crate::error::{Error, Kind, Result};
use crate::secret::Sensitive;

/// How long a helper program (buildkite-agent) may run.
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Output {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: bool,
    dialect: Box<dyn Dialect>,
    /// Workflow commands go to stderr when stdout is reserved (JSON, `--print-env`).
    commands_to_stderr: bool,
    path_var: Option<String>,
}

impl Output {
    pub fn new(
        format: OutputFormat,
        quiet: bool,
        verbose: bool,
        dialect: Box<dyn Dialect>,
    ) -> Self {
        Self {
            format,
            quiet,
            verbose,
            dialect,
            commands_to_stderr: format == OutputFormat::Json,
            path_var: None,
        }
    }

    /// Where helper programs are looked up.
    #[must_use]
    pub fn with_path(mut self, path: Option<String>) -> Self {
        self.path_var = path;
        self
    }

    /// Keeps stdout for `--print-env`: commands move to stderr.
    pub fn reserve_stdout(&mut self) {
        self.commands_to_stderr = true;
    }

    pub fn dialect(&self) -> &dyn Dialect {
        &*self.dialect
    }

    /// A progress or success line for people, on stderr.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            self.human(message);
        }
    }

    /// A warning: the platform's warning annotation where it has one, else a stderr line.
    pub fn warn(&self, message: &str) {
        self.warning(message, "warning: ");
    }

    /// A warning whose exact wording matters (it is truss's own): printed as given.
    pub fn warn_verbatim(&self, message: &str) {
        self.warning(message, "");
    }

    fn warning(&self, message: &str, prefix: &str) {
        let annotation = self.dialect.annotate(Level::Warning, message);
        if annotation.is_empty() {
            self.human(&format!("{prefix}{message}"));
        } else {
            self.apply_unchecked(annotation);
        }
    }

    /// The failure: one error annotation where the platform has them, the message and its hint
    /// on stderr, and in JSON mode one object on stdout.
    pub fn error(&self, err: &Error) {
        let annotation = self.dialect.annotate(Level::Error, &err.message);
        self.apply_unchecked(annotation);
        let mut text = format!("error: {}", err.message);
        if let Some(hint) = err.hint() {
            text.push_str("\n  hint: ");
            text.push_str(hint);
        }
        self.human(&text);
        if self.format == OutputFormat::Json {
            self.json(&json!({
                "error": {
                    "kind": err.kind.as_str(),
                    "exit_code": err.exit_code(),
                    "message": err.message,
                    "hint": err.hint(),
                }
            }));
        }
    }

    /// One JSON object on one stdout line.
    pub fn json(&self, value: &serde_json::Value) {
        write_line(&mut std::io::stdout().lock(), &value.to_string());
    }

    /// Plain text for stdout (status lines).
    pub fn stdout_text(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Text for stdout that may hold the key (`--print-env`): written whole, flushed.
    pub fn stdout_sensitive(&self, text: &Sensitive) {
        self.stdout_text(text.expose());
    }

    /// Applies effects in order; the first failure stops and is returned (exit 5).
    pub fn apply(&self, effects: Vec<Effect>) -> Result<()> {
        for effect in effects {
            match effect {
                Effect::Command(line) => self.command(&line),
                Effect::Log(line) => write_line(&mut std::io::stderr().lock(), &line),
                Effect::Warn(message) => self.warn(&message),
                Effect::Append { what, path, text } => append(what, &path, &text)?,
                Effect::Run {
                    program,
                    args,
                    stdin,
                    missing,
                } => match self.find_program(program) {
                    None => self.warn(&missing),
                    Some(path) => {
                        if let Err(problem) = run_helper(&path, &args, &stdin) {
                            self.warn(&format!("{program} {} failed: {problem}", args.join(" ")));
                        }
                    }
                },
            }
        }
        Ok(())
    }

    /// For effects that cannot fail (annotations, groups).
    fn apply_unchecked(&self, effects: Vec<Effect>) {
        let _ = self.apply(effects);
    }

    fn command(&self, line: &Sensitive) {
        if self.commands_to_stderr {
            write_line(&mut std::io::stderr().lock(), line.expose());
        } else {
            write_line(&mut std::io::stdout().lock(), line.expose());
        }
    }

    /// Lines for people: control characters removed and made inert for the platform's parser.
    fn human(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        for line in text.lines() {
            let clean: String = line
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                .collect();
            write_line(&mut err, &self.dialect.neutralize(&clean));
        }
    }

    fn find_program(&self, name: &str) -> Option<PathBuf> {
        let path = self.path_var.as_deref()?;
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    }
}

fn write_line(out: &mut dyn Write, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Appends to a platform file (created 0600 if missing) in one write.
fn append(what: &str, path: &Path, text: &Sensitive) -> Result<()> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| {
            f.write_all(text.expose().as_bytes())
                .and_then(|()| f.flush())
        })
        .map_err(|e| {
            Error::new(
                Kind::LocalWrite,
                format!("could not write to {what} ({}): {e}", path.display()),
            )
        })
}

/// Runs a helper with `stdin`, killing it after [`HELPER_TIMEOUT`].
fn run_helper(program: &Path, args: &[&str], stdin: &Sensitive) -> std::result::Result<(), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.expose().as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) if started.elapsed() > HELPER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no exit within {}s", HELPER_TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
}
