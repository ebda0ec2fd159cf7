//! `Error`: what went wrong, the exit code it maps to, and a hint that says what to do.
use std::fmt;
use std::path::Path;

/// The failure classes, each with its documented exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A bug or an unforeseen condition (exit 1).
    Unexpected,
    /// Bad flags, a refused setting, or a missing or malformed key (exit 2).
    Usage,
    /// The API rejected the key: 401, or 403 for a restricted key (exit 3).
    Rejected,
    /// The API could not be reached, or did not answer like the Baseten API (exit 4).
    Unreachable,
    /// A local file could not be read, locked or written (exit 5).
    Local,
    /// `exec`'s command could not be run (exit 126).
    CannotRun,
    /// `exec`'s command was not found (exit 127).
    NotFound,
    /// `exec` was stopped by this signal before its command started (exit 128+N).
    Stopped(i32),
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Unexpected,
        Kind::Usage,
        Kind::Rejected,
        Kind::Unreachable,
        Kind::Local,
        Kind::CannotRun,
        Kind::NotFound,
        Kind::Stopped(15),
    ];

    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Unexpected => 1,
            Kind::Usage => 2,
            Kind::Rejected => 3,
            Kind::Unreachable => 4,
            Kind::Local => 5,
            Kind::CannotRun => 126,
            Kind::NotFound => 127,
            Kind::Stopped(signal) => u8::try_from(128 + signal).unwrap_or(255),
        }
    }

    /// The stable name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Unexpected => "unexpected",
            Kind::Usage => "usage",
            Kind::Rejected => "rejected",
            Kind::Unreachable => "unreachable",
            Kind::Local => "local-write",
            Kind::CannotRun => "cannot-run",
            Kind::NotFound => "not-found",
            Kind::Stopped(_) => "stopped",
        }
    }
}

/// An error for the user: a one-line message and, where there is one, a hint.
/// Neither ever holds the key: callers build them from names and sources, and text from outside is
/// scrubbed first.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// What the command did before it failed, for `--output json` (the error object's `report`).
    pub report: Option<serde_json::Value>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
            report: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn unexpected(message: impl Into<String>) -> Self {
        Self::new(Kind::Unexpected, message)
    }

    /// A local file operation failed: names the path, what was being done and the OS error.
    pub fn local(action: &str, path: &Path, err: &std::io::Error) -> Self {
        Self::new(
            Kind::Local,
            format!("could not {action} {}: {err}", path.display()),
        )
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The command's report, carried by its error: `--output json` prints one object either way.
    #[must_use]
    pub fn with_report(mut self, report: serde_json::Value) -> Self {
        self.report = Some(report);
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `s` as a message quotes it: its first 80 characters.
pub(crate) fn truncate_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_exit_code() {
        let codes: Vec<(u8, &str)> = Kind::ALL
            .iter()
            .map(|k| (k.exit_code(), k.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                (1, "unexpected"),
                (2, "usage"),
                (3, "rejected"),
                (4, "unreachable"),
                (5, "local-write"),
                (126, "cannot-run"),
                (127, "not-found"),
                (143, "stopped")
            ]
        );
    }

    #[test]
    fn local_errors_name_the_path_and_the_os_error() {
        let err = Error::local(
            "write",
            Path::new("/x/.trussrc"),
            &std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(err.exit_code(), 5);
        assert!(err.message.contains("/x/.trussrc"), "{}", err.message);
        assert!(err.message.contains("permission denied"), "{}", err.message);
    }
}
