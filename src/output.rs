//! The only writer of stdout, stderr and CI files. Human messages go to stderr; stdout is for
//! machine output (JSON, workflow commands, `--print-env`). Applies the platform's effects.
use std::cell::RefCell;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::User;
use crate::ci::{Dialect, Effect, Level};
use crate::cli::OutputFormat;
use crate::error::{Error, Kind, Result};
use crate::secret::{self, ApiKey, Scrubber, Sensitive};

/// How long a helper program (buildkite-agent) may run.
const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Output {
    pub format: OutputFormat,
    pub quiet: bool,
    pub verbose: bool,
    /// Where lines for people go, this output's and the logger's alike.
    sink: Arc<Sink>,
    /// Workflow commands go to stderr when stdout is reserved (JSON, `--print-env`).
    commands_to_stderr: bool,
    path_var: Option<String>,
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
            sink: Arc::new(Sink {
                dialect: Arc::from(dialect),
                scrubber: OnceLock::new(),
                held: Mutex::new(Some(Vec::new())),
            }),
            commands_to_stderr: format == OutputFormat::Json,
            path_var: None,
            arguments: Vec::new(),
            pending: RefCell::new(Vec::new()),
        }
    }

    /// Where helper programs are looked up.
    #[must_use]
    pub fn with_path(mut self, path: Option<String>) -> Self {
        self.path_var = path;
        self
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
        let _ = self.sink.scrubber.set(Scrubber::new(key));
        for effect in self.dialect().mask(key) {
            self.apply_one(effect, &mut Vec::new())?;
        }
        self.flush_pending();
        Ok(())
    }

    /// Opens a collapsible log group that closes when the guard is dropped.
    pub fn group(&self, title: &str) -> Group<'_> {
        self.apply_unchecked(self.dialect().group_start(title, self.verbose));
        Group(self)
    }

    /// A value a server chose (a workspace name, an email), for any channel: trimmed, and given
    /// only when it is plain text ([`secret::plain_value`]) holding no form or piece of the masked
    /// key; otherwise [`secret::WITHHELD_VALUE`]. Empty when there is none.
    pub fn server_text(&self, value: Option<&str>) -> String {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return String::new();
        };
        let keyless = self
            .sink
            .scrubber
            .get()
            .is_none_or(|s| !s.holds_key(value) && s.scrub(value) == value);
        if keyless && secret::plain_value(value) {
            value.to_owned()
        } else {
            secret::WITHHELD_VALUE.to_owned()
        }
    }

    /// `user` with each value it names passed through [`Output::server_text`], for JSON.
    pub fn server_user(&self, user: &User) -> User {
        let shown = |v: &Option<String>| v.as_deref().map(|v| self.server_text(Some(v)));
        User {
            user_id: None,
            email: shown(&user.email),
            name: shown(&user.name),
            workspace: shown(&user.workspace),
        }
    }

    /// Text from elsewhere (a server, a file) with every form of the masked key removed.
    pub fn scrub(&self, text: &str) -> String {
        self.sink.scrub(text)
    }

    /// A progress or success line for people, on stderr.
    pub fn info(&self, message: &str) {
        self.flush_pending();
        if !self.quiet {
            self.human(&self.scrub(message));
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
            .annotate(Level::Warning, &crate::ci::strip_controls(&message));
        if annotation.is_empty() {
            self.human(&format!("{prefix}{message}"));
        } else {
            self.apply_unchecked(annotation);
        }
    }

    /// The failure: one error annotation where the platform has them, the message and its hint
    /// on stderr, and in JSON mode one object on stdout.
    pub fn error(&self, err: &Error) {
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
            .annotate(Level::Error, &crate::ci::strip_controls(&message));
        self.apply_unchecked(annotation);
        let mut text = format!("error: {message}");
        if let Some(hint) = &hint {
            text.push_str("\n  hint: ");
            text.push_str(hint);
        }
        self.human(&text);
        if self.format == OutputFormat::Json {
            let _ = self.json(&json!({
                "error": {
                    "kind": err.kind.as_str(),
                    "exit_code": err.exit_code(),
                    "message": message,
                    "hint": hint,
                }
            }));
        }
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
        for line in self.scrub(text).lines() {
            write_line(
                &mut out,
                &self.dialect().neutralize(&crate::ci::strip_controls(line)),
            )
            .map_err(|e| stdout_failed(&e))?;
        }
        Ok(())
    }

    /// Text for stdout that holds the key on purpose (`--print-env`): written whole and flushed;
    /// a failed write is an error, since the caller's `eval` would get nothing.
    pub fn stdout_sensitive(&self, text: &Sensitive) -> Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.expose().as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| stdout_failed(&e))
    }

    /// Applies effects in order; the first failure stops and is returned (exit 5).
    pub fn apply(&self, effects: Vec<Effect>) -> Result<()> {
        self.apply_tracked(effects, &mut Vec::new())
    }

    /// Applies effects in order, all or nothing: when one fails, the files appended to so far
    /// are cut back to their earlier length, and the failure is returned (exit 5).
    pub fn apply_all_or_nothing(&self, effects: Vec<Effect>) -> Result<()> {
        let mut appended = Vec::new();
        let result = self.apply_tracked(effects, &mut appended);
        if result.is_err() {
            for (path, len) in appended.into_iter().rev() {
                let mut options = OpenOptions::new();
                options.write(true);
                crate::atomic_file::no_follow_non_blocking(&mut options);
                let _ = options.open(&path).and_then(|f| {
                    if f.metadata()?.is_file() {
                        f.set_len(len)
                    } else {
                        Ok(())
                    }
                });
            }
        }
        result
    }

    fn apply_tracked(
        &self,
        effects: Vec<Effect>,
        appended: &mut Vec<(PathBuf, u64)>,
    ) -> Result<()> {
        self.flush_pending();
        for effect in effects {
            self.apply_one(effect, appended)?;
        }
        Ok(())
    }

    fn apply_one(&self, effect: Effect, appended: &mut Vec<(PathBuf, u64)>) -> Result<()> {
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
        Ok(())
    }

    /// For effects that cannot fail (annotations, groups).
    fn apply_unchecked(&self, effects: Vec<Effect>) {
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

    /// Lines for people, on stderr (see [`Sink::human`]).
    fn human(&self, text: &str) {
        self.sink.human(text);
    }

    fn find_program(&self, name: &str) -> Option<PathBuf> {
        let path = self.path_var.as_deref()?;
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    }
}

/// An open log group (see [`Output::group`]); dropping it closes the group.
pub struct Group<'a>(&'a Output);

impl Drop for Group<'_> {
    fn drop(&mut self) {
        self.0
            .apply_unchecked(self.0.dialect().group_end(self.0.verbose));
    }
}

impl Drop for Output {
    /// Warnings that nothing else printed go out last.
    fn drop(&mut self) {
        self.flush_pending();
    }
}

/// The one way to stderr for lines people read, shared by [`Output`] and the logger: each text
/// passes the scrubber whole (once [`Output::mask`] has armed it), then each of its lines loses
/// its control characters and passes the dialect's neutraliser. The logger's lines are held until
/// `Output` writes its first line (the mask, when there is a key), so that they follow the mask
/// and pass the armed scrubber too.
struct Sink {
    dialect: Arc<dyn Dialect>,
    scrubber: OnceLock<Scrubber>,
    /// The logger's texts, until the sink opens.
    held: Mutex<Option<Vec<String>>>,
}

impl Sink {
    fn scrub(&self, text: &str) -> String {
        match self.scrubber.get() {
            Some(s) => s.scrub(text),
            None => text.to_owned(),
        }
    }

    fn human(&self, text: &str) {
        let text = self.scrub(text);
        let mut err = std::io::stderr().lock();
        for line in text.lines() {
            let _ = write_line(
                &mut err,
                &self.dialect.neutralize(&crate::ci::strip_controls(line)),
            );
        }
    }

    /// One logger event's text: held until the sink opens, then written like any other.
    fn log(&self, text: &str) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = held.as_mut() {
            held.push(text.to_owned());
            return;
        }
        drop(held);
        self.human(text);
    }

    /// Writes the held texts; from now on the logger's lines go out at once.
    fn open(&self) {
        let held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        for text in held.into_iter().flatten() {
            self.human(&text);
        }
    }
}

/// The logger's writer (a `tracing_subscriber` `MakeWriter`): each event is buffered whole and
/// handed to the sink when it is written, so that it is scrubbed as one text, never in pieces.
#[derive(Clone)]
pub struct LogWriter(Arc<Sink>);

/// One event's bytes, handed to the sink on drop.
pub struct EventBuffer {
    sink: Arc<Sink>,
    bytes: Vec<u8>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer {
            sink: Arc::clone(&self.0),
            bytes: Vec::new(),
        }
    }
}

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            self.sink.log(&String::from_utf8_lossy(&self.bytes));
        }
    }
}

fn write_line(out: &mut dyn Write, line: &str) -> std::io::Result<()> {
    writeln!(out, "{line}")?;
    out.flush()
}

fn stdout_failed(e: &std::io::Error) -> Error {
    Error::new(
        Kind::Local,
        format!("could not write to standard output: {e}"),
    )
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ci::{Platform, plain::Plain};
    use crate::secret::encodings::readable;
    use crate::secret::strategies::{interleaved, separator};

    fn output(key: &ApiKey) -> Output {
        let out = Output::new(
            OutputFormat::Text,
            true,
            false,
            Box::new(Plain {
                platform: Platform::Plain,
            }),
        );
        out.mask(key).unwrap();
        out
    }

    proptest! {
        /// A workspace name or email that spells the key between invisible separators or in
        /// full-width forms reaches no channel readable: what server_text gives (the value of
        /// every output, the summary, the dotenv, the login line and JSON) and what the scrubber
        /// leaves of a line.
        #[test]
        fn server_values_never_carry_the_key_readable(
            id in "[A-Za-z0-9]{0,10}",
            secret in "[A-Za-z0-9]{8,40}",
            seps in proptest::collection::vec(separator(), 1..6),
            widths in proptest::collection::vec(any::<bool>(), 1..4),
            before in "[a-z @._+-]{0,12}",
            after in "[a-z @._+-]{0,12}",
        ) {
            let key_text = if id.is_empty() { secret.clone() } else { format!("{id}.{secret}") };
            let key = ApiKey::new(key_text.clone());
            let out = output(&key);
            let value = format!("{before}{}{after}", interleaved(&key_text, &seps, &widths));
            let shown = out.server_text(Some(&value));
            let user = out.server_user(&User { email: Some(value.clone()), ..User::default() });
            let line = out.scrub(&format!("as {value} (workspace {value})"));
            let secret = secret.to_ascii_lowercase();
            for text in [shown.as_str(), user.email.as_deref().unwrap_or_default(), &line] {
                let read = readable(text);
                for w in secret.as_bytes().windows(secret::MIN_FRAGMENT) {
                    let w = std::str::from_utf8(w).unwrap();
                    prop_assert!(!read.contains(w), "{:?} readable in {:?}", w, text);
                }
            }
            prop_assert!(shown == secret::WITHHELD_VALUE || secret::plain_value(&shown));
        }

        #[test]
        fn plain_server_values_are_given_as_they_are(value in "[a-zA-Z0-9 @._+-]{1,60}") {
            let out = output(&ApiKey::new("kid01234.QQQQ7777zzzzWWWW".into()));
            let alnum: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
            prop_assume!(!alnum.to_ascii_lowercase().contains("qqqq7777"));
            prop_assert_eq!(out.server_text(Some(&value)), value.trim());
        }
    }
}
