//! The only writer of stdout and stderr. Human messages go to stderr; stdout is for machine output
//! (JSON, platform commands, `--print-env`).
use std::io::Write;

use serde_json::json;

use crate::cli::OutputFormat;
use crate::error::Error;

pub struct Output {
    pub format: OutputFormat,
    pub quiet: bool,
}

impl Output {
    pub fn new(format: OutputFormat, quiet: bool) -> Self {
        Self { format, quiet }
    }

    /// A progress or success line for people, on stderr.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            self.stderr_line(message);
        }
    }

    /// A warning for people, on stderr, even when quiet.
    pub fn warn(&self, message: &str) {
        self.stderr_line(&format!("warning: {message}"));
    }

    /// The failure: on stderr with its hint; in JSON mode also one object on stdout.
    pub fn error(&self, err: &Error) {
        let mut text = format!("error: {}", err.message);
        if let Some(hint) = err.hint() {
            text.push_str("\n  hint: ");
            text.push_str(hint);
        }
        self.stderr_line(&text);
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
        self.stdout_line(&value.to_string());
    }

    /// One line on stdout, flushed, so platform commands keep their order.
    pub fn stdout_line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    fn stderr_line(&self, line: &str) {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
        let _ = err.flush();
    }
}
