//! The only writer of stdout, stderr and CI files. Human messages go to stderr; stdout is for
//! machine output (JSON, workflow commands, `--print-env`). The platform's effects are applied in
//! `effects`; every line for people takes the `sink`.
use std::cell::RefCell;
use std::io::Write;
use std::sync::Arc;

mod effects;
mod sink;

pub use sink::{EventBuffer, LogWriter};
use sink::{Sink, strip_controls, write_line};

use serde_json::json;

use crate::ci::{Dialect, Level};
use crate::cli::OutputFormat;
use crate::error::{Error, Kind, Result};
use crate::secret::{ApiKey, Scrubber, Sensitive};

pub struct Output {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: bool,
    /// Where lines for people go, this output's and the logger's alike.
    sink: Arc<Sink>,
    /// Workflow commands go to stderr when stdout is reserved (JSON, `--print-env`).
    commands_to_stderr: bool,
    /// The arguments with the shape of a key ([`crate::cli::key_shaped`]): no error prints them.
    arguments: Vec<Scrubber>,
    /// Warnings held back until after the mask (a key is masked before anything else is said), or
    /// until the first line of any other kind.
    pending: RefCell<Vec<String>>,
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
            sink: Arc::new(Sink::new(dialect)),
            commands_to_stderr: format == OutputFormat::Json,
            arguments: Vec::new(),
            pending: RefCell::new(Vec::new()),
        }
    }

    /// The arguments no error may print (a key given where a name or value goes).
    #[must_use]
    pub fn with_arguments(mut self, arguments: &[ApiKey]) -> Self {
        self.arguments = arguments.iter().map(Scrubber::new).collect();
        self
    }

    /// Warnings to print once the key is masked (or before the first other line, if no key is).
    #[must_use]
    pub fn with_warnings(self, warnings: Vec<String>) -> Self {
        *self.pending.borrow_mut() = warnings;
        self
    }

    /// The writer for the logger (`tracing`): its lines take the same way as this output's.
    pub fn log_writer(&self) -> LogWriter {
        LogWriter(Arc::clone(&self.sink))
    }

    /// Prints the held-back log lines and warnings, once.
    fn flush_pending(&self) {
        self.sink.open();
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        for w in pending {
            self.warn(&w);
        }
    }

    /// Keeps stdout for `--print-env`: commands move to stderr.
    pub fn reserve_stdout(&mut self) {
        self.commands_to_stderr = true;
    }

    pub fn dialect(&self) -> &dyn Dialect {
        &*self.sink.dialect
    }

    /// Registers the key with the platform's masker, first of all, and with this output's
    /// scrubber, so that no later line can print it. A mask that cannot be written fails closed.
    pub fn mask(&self, key: &ApiKey) -> Result<()> {
        self.sink.arm(key);
        self.run(self.dialect().mask(key), &mut Vec::new())?;
        self.flush_pending();
        Ok(())
    }

    /// Opens a collapsible log group that closes when the guard is dropped.
    pub fn group(&self, title: &str) -> Group<'_> {
        let open = self.verbose || self.dialect().groups_always();
        if open {
            self.apply_unchecked(self.dialect().group_start(title));
        }
        Group(self, open)
    }

    /// Text from elsewhere (a server, a file) with every form of the masked key removed.
    pub fn scrub(&self, text: &str) -> String {
        self.sink.scrub(text)
    }

    /// A progress or success line for people, on stderr.
    pub fn info(&self, message: &str) {
        self.flush_pending();
        if !self.quiet {
            self.sink.human(&self.scrub(message));
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
        self.flush_pending();
        let message = self.scrub(message);
        let annotation = self
            .dialect()
            .annotate(Level::Warning, &strip_controls(&message));
        if annotation.is_empty() {
            self.sink.human(&format!("{prefix}{message}"));
        } else {
            self.apply_unchecked(annotation);
        }
    }

    /// The failure: one error annotation where the platform has them, the message and its hint
    /// on stderr, and in JSON mode one object on stdout.
    pub fn error(&self, err: &Error) {
        let (message, hint) = self.annotate_error(err);
        if self.format == OutputFormat::Json {
            let mut error = json!({
                "kind": err.kind.as_str(),
                "exit_code": err.exit_code(),
                "message": message,
                "hint": hint,
            });
            if let Some(report) = &err.report {
                error["report"] = report.clone();
            }
            let _ = self.json(&json!({ "error": error }));
        }
    }

    /// One more failure beside the one the run ends with: the annotation and the lines on stderr,
    /// not a JSON object of its own. Returns the message and hint as printed.
    pub fn annotate_error(&self, err: &Error) -> (String, Option<String>) {
        self.flush_pending();
        let unechoed = |text: &str| {
            self.arguments
                .iter()
                .fold(self.scrub(text), |text, s| s.scrub(&text))
        };
        let message = unechoed(&err.message);
        let hint = err.hint().map(unechoed);
        let annotation = self
            .dialect()
            .annotate(Level::Error, &strip_controls(&message));
        self.apply_unchecked(annotation);
        let mut text = format!("error: {message}");
        if let Some(hint) = &hint {
            text.push_str("\n  hint: ");
            text.push_str(hint);
        }
        self.sink.human(&text);
        (message, hint)
    }

    /// One JSON object on one stdout line, scrubbed as a whole (JSON-escaped forms included).
    /// Every `#` is written `\u0023` (it can only be inside a string): the same JSON, with no
    /// `##[` or `##vso[` for a runner to find mid-line. Line breaks are escaped by JSON itself.
    pub fn json(&self, value: &serde_json::Value) -> Result<()> {
        self.flush_pending();
        write_line(
            &mut std::io::stdout().lock(),
            &self.scrub(&value.to_string()).replace('#', "\\u0023"),
        )
        .map_err(|e| stdout_failed(&e))
    }

    /// Plain text for stdout (status lines): scrubbed, without control characters, and inert for
    /// the platform's log parser, line by line.
    pub fn stdout_text(&self, text: &str) -> Result<()> {
        self.flush_pending();
        let mut out = std::io::stdout().lock();
        self.sink
            .write(&mut out, text)
            .map_err(|e| stdout_failed(&e))
    }

    /// Text for stdout that holds the key on purpose (`--print-env`): written whole and flushed;
    /// a failed write is an error, since the caller's `eval` would get nothing.
    pub fn stdout_sensitive(&self, text: &Sensitive) -> Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.expose().as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| stdout_failed(&e))
    }
}

/// An open log group (see [`Output::group`]); dropping it closes the group.
pub struct Group<'a>(&'a Output, bool);

impl Drop for Group<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.apply_unchecked(self.0.dialect().group_end());
        }
    }
}

impl Drop for Output {
    /// Warnings that nothing else printed go out last.
    fn drop(&mut self) {
        self.flush_pending();
    }
}

fn stdout_failed(e: &std::io::Error) -> Error {
    Error::new(
        Kind::Local,
        format!("could not write to standard output: {e}"),
    )
}
