//! The way to stderr for lines people read, shared by `Output` and the logger, and what makes a
//! line safe to print: the scrubber, then no control characters, then the dialect's neutraliser;
//! and which values a server chose may be shown at all.
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};

use super::Output;
use crate::ci::Dialect;
use crate::secret::{self, Scrubber};
use crate::server_text::ServerText;

/// The one way to stderr for lines people read, shared by [`Output`] and the logger: each text
/// passes the scrubber whole (once [`Output::mask`] has armed it), then each of its lines loses
/// its control characters and passes the dialect's neutraliser. The logger's lines are held until
/// `Output` writes its first line (the mask, when there is a key), so that they follow the mask
/// and pass the armed scrubber too.
pub(super) struct Sink {
    pub(super) dialect: Arc<dyn Dialect>,
    /// One scrubber for every key masked in this run (the resolved key, a minted one, the
    /// minting key in a post), in the order they were masked; every text passes them all.
    scrubbers: RwLock<Vec<Scrubber>>,
    /// The logger's texts, until the sink opens.
    held: Mutex<Option<Vec<String>>>,
}

impl Sink {
    pub(super) fn new(dialect: Box<dyn Dialect>) -> Self {
        Self {
            dialect: Arc::from(dialect),
            scrubbers: RwLock::new(Vec::new()),
            held: Mutex::new(Some(Vec::new())),
        }
    }

    /// Arms the scrubber with one more key (a key already armed is not added twice).
    pub(super) fn arm(&self, key: &crate::secret::ApiKey) {
        let mut scrubbers = self
            .scrubbers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if !scrubbers.iter().any(|s| s.is_for(key)) {
            scrubbers.push(Scrubber::new(key));
        }
    }

    /// The armed scrubbers, in the order their keys were masked.
    fn armed(&self) -> RwLockReadGuard<'_, Vec<Scrubber>> {
        self.scrubbers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn scrub(&self, text: &str) -> String {
        self.armed()
            .iter()
            .fold(text.to_owned(), |text, s| s.scrub(&text))
    }

    /// Whether `text` holds any armed key, in any form or chunking ([`Scrubber::holds_key`]), or
    /// loses anything to the scrubber.
    fn holds_a_key(&self, text: &str) -> bool {
        self.armed()
            .iter()
            .any(|s| s.holds_key(text) || s.scrub(text) != text)
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

impl Output {
    /// A value a server chose (a key's name, prefix or type, a team, a workspace, an email), for
    /// any channel: trimmed, and given only when it is plain text ([`secret::plain_value`]: short,
    /// ASCII letters, digits, space and `@._+-`, so no bidi or other format character) holding no
    /// form or piece of any masked key; otherwise [`secret::WITHHELD_VALUE`]. Empty when there is
    /// none. [`ServerText`] has no other way to be printed.
    pub fn show(&self, value: Option<&ServerText>) -> String {
        self.gate(value, secret::plain_value)
    }

    /// A server's timestamp (`2026-11-29T10:00:00Z`), through the same gate with a timestamp's
    /// characters; `None` when it gave none.
    pub fn show_timestamp(&self, value: Option<&ServerText>) -> Option<String> {
        let shown = self.gate(value, |v| {
            v.len() <= 40
                && v.chars()
                    .all(|c| c.is_ascii_digit() || "-:.TZ+ ".contains(c))
        });
        Some(shown).filter(|v| !v.is_empty())
    }

    fn gate(&self, value: Option<&ServerText>, plain: fn(&str) -> bool) -> String {
        let Some(value) = value
            .map(|v| v.unprinted().trim())
            .filter(|v| !v.is_empty())
        else {
            return String::new();
        };
        if !self.sink.holds_a_key(value) && plain(value) {
            value.to_owned()
        } else {
            secret::WITHHELD_VALUE.to_owned()
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
pub(super) fn strip_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ci::{Platform, plain::Plain};
    use crate::cli::OutputFormat;
    use crate::secret::ApiKey;
    use crate::secret::encodings::readable;
    use crate::secret::strategies::{interleaved, separator};

    fn output(key: &ApiKey) -> Output {
        let out = Output::new(
            OutputFormat::Text,
            true,
            false,
            Box::new(Plain(Platform::Plain)),
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
            let shown = out.show(Some(&ServerText::new(value.clone())));
            let stamp = out.show_timestamp(Some(&ServerText::new(value.clone()))).unwrap_or_default();
            let line = out.scrub(&format!("as {value} (workspace {value})"));
            let secret = secret.to_ascii_lowercase();
            for text in [shown.as_str(), &stamp, &line] {
                let read = readable(text);
                for w in secret.as_bytes().windows(secret::MIN_FRAGMENT) {
                    let w = std::str::from_utf8(w).unwrap();
                    prop_assert!(!read.contains(w), "{:?} readable in {:?}", w, text);
                }
            }
            prop_assert!(shown == secret::WITHHELD_VALUE || secret::plain_value(&shown));
        }

        /// Every key masked in a run is scrubbed from every later line and withheld from every
        /// server value, whichever was masked first and however many there are.
        #[test]
        fn every_masked_key_is_scrubbed_in_any_order(
            secrets in proptest::collection::vec("[A-Za-z0-9]{12,30}", 1..4),
            order in any::<prop::sample::Index>(),
            before in "[a-z ]{0,8}",
        ) {
            let keys: Vec<String> = secrets.iter().enumerate().map(|(i, s)| format!("k{i}x.{s}")).collect();
            let out = output(&ApiKey::new(keys[order.index(keys.len())].clone()));
            for key in &keys {
                out.mask(&ApiKey::new(key.clone())).unwrap();
            }
            for (key, secret) in keys.iter().zip(&secrets) {
                let line = out.scrub(&format!("{before}{key} and {}", key.to_ascii_uppercase()));
                prop_assert!(!line.to_ascii_lowercase().contains(&secret.to_ascii_lowercase()[..8]), "{}", line);
                prop_assert_eq!(out.show(Some(&ServerText::new(key.clone()))), secret::WITHHELD_VALUE);
            }
        }

        #[test]
        fn plain_server_values_are_given_as_they_are(value in "[a-zA-Z0-9 @._+-]{1,60}") {
            let out = output(&ApiKey::new("kid01234.QQQQ7777zzzzWWWW".into()));
            let alnum: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
            prop_assume!(!alnum.to_ascii_lowercase().contains("qqqq7777"));
            prop_assert_eq!(out.show(Some(&ServerText::new(value.clone()))), value.trim());
        }
    }
}
