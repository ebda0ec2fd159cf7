//! The way to stderr for lines people read, shared by `Output` and the logger, and what makes a
//! line safe to print: the scrubber, then no control characters, then the dialect's neutraliser.
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::ci::Dialect;
use crate::secret::Scrubber;

/// The one way to stderr for lines people read, shared by [`Output`] and the logger: each text
/// passes the scrubber whole (once [`Output::mask`] has armed it), then each of its lines loses
/// its control characters and passes the dialect's neutraliser. The logger's lines are held until
/// `Output` writes its first line (the mask, when there is a key), so that they follow the mask
/// and pass the armed scrubber too.
pub(super) struct Sink {
    pub(super) dialect: Arc<dyn Dialect>,
    pub(super) scrubber: OnceLock<Scrubber>,
    /// The logger's texts, until the sink opens.
    held: Mutex<Option<Vec<String>>>,
}

impl Sink {
    pub(super) fn new(dialect: Box<dyn Dialect>) -> Self {
        Self {
            dialect: Arc::from(dialect),
            scrubber: OnceLock::new(),
            held: Mutex::new(Some(Vec::new())),
        }
    }

    pub(super) fn scrub(&self, text: &str) -> String {
        self.scrubber
            .get()
            .map_or_else(|| text.to_owned(), |s| s.scrub(text))
    }

    /// `text` scrubbed whole, then line by line without control characters and neutralised.
    pub(super) fn write(&self, out: &mut dyn Write, text: &str) -> std::io::Result<()> {
        for line in self.scrub(text).lines() {
            write_line(out, &self.dialect.neutralize(&strip_controls(line)))?;
        }
        Ok(())
    }

    /// Lines for people, on stderr.
    pub(super) fn human(&self, text: &str) {
        let _ = self.write(&mut std::io::stderr().lock(), text);
    }

    /// One logger event's text: held until the sink opens, then written like any other.
    fn log(&self, text: &str) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = held.as_mut() {
            held.push(text.to_owned());
        } else {
            drop(held);
            self.human(text);
        }
    }

    /// Writes the held texts; from now on the logger's lines go out at once.
    pub(super) fn open(&self) {
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
pub struct LogWriter(pub(super) Arc<Sink>);

/// One event's bytes, handed to the sink on drop.
pub struct EventBuffer(Arc<Sink>, Vec<u8>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        EventBuffer(Arc::clone(&self.0), Vec::new())
    }
}

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.1.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if !self.1.is_empty() {
            self.0.log(&String::from_utf8_lossy(&self.1));
        }
    }
}

pub(super) fn write_line(out: &mut dyn Write, line: &str) -> std::io::Result<()> {
    writeln!(out, "{line}")?;
    out.flush()
}

/// Replaces control characters (ANSI escapes, line breaks) but tabs with spaces.
pub fn strip_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}
