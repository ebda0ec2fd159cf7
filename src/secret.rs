//! `ApiKey`: the only holder of a Baseten API key. It cannot be printed, cloned or serialised.
use std::fmt;

use zeroize::Zeroize;

mod spelling;
use spelling::{KeyIndex, Runs, Spelled, encoded_run};

/// A Baseten API key. `Debug` and `Display` print a redaction; the bytes are wiped on drop (it is
/// [`Sensitive`] text). The only way to the value is [`ApiKey::expose`], which is crate-private.
pub struct ApiKey(Sensitive);

impl ApiKey {
    pub(crate) fn new(value: String) -> Self {
        Self(Sensitive::new(value))
    }

    /// The key itself, for the few places it is meant to reach: the trussrc, the keyring, the
    /// `Authorization` header, an explicit env export and the platform's mask command.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(****)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// Text that may hold the key (a mask command, an env export): redacted in `Debug`, wiped on drop.
pub struct Sensitive(String);

impl Sensitive {
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Sensitive {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive(****)")
    }
}

/// The fewest characters of the key's secret part that count as a leak when they appear alone.
pub const MIN_FRAGMENT: usize = 8;

/// Removes the key from text that came from elsewhere (a server's body, reason phrase, header or
/// redirect target; an OS error; a file) before it is printed. It reads a projection of the text
/// (see [`Projection`]: invisible characters dropped, case and width folded), so separators
/// interleaved with the key's characters hide nothing. There it finds the key with any mix of
/// raw, JSON-escaped (`\\`, `\"`, `\/`, `\u00XX`), `\xXX`, percent-encoded and hex-encoded
/// characters, and base64-encoded at every alignment in the standard and URL-safe alphabets; and
/// any run of [`MIN_FRAGMENT`] or more characters of the secret part (after the first `.`) in the
/// character-wise forms. A match is redacted in the original text over its whole span,
/// separators included. Apply it to whole text, before any cut.
pub struct Scrubber {
    /// The key, lower-cased.
    key: Sensitive,
    /// Where the secret part starts in `key`.
    secret_start: usize,
    /// Lower-cased base64 forms, matched whole.
    base64: Vec<Sensitive>,
    /// For [`Scrubber::holds_key`]: the key's letters and digits, lower-cased.
    key_alnum: Sensitive,
    /// Strings whose every [`MIN_FRAGMENT`]-character window is a leak when found among the
    /// letters and digits of a text: the secret part's, and the base64 forms'.
    alnum_runs: Vec<Sensitive>,
    /// The secret part in lower-case hex: every window of twice [`MIN_FRAGMENT`] is a leak.
    hex_secret: Sensitive,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrubber(****)")
    }
}

impl Scrubber {
    pub fn new(key: &ApiKey) -> Self {
        let raw = key.expose();
        let secret_start = raw.find('.').map_or(0, |i| i + 1);
        let mut base64: Vec<Sensitive> = base64_forms(raw.as_bytes())
            .into_iter()
            .map(|f| Sensitive::new(f.to_ascii_lowercase()))
            .collect();
        base64.dedup_by(|a, b| a.expose() == b.expose());
        let lower = raw.to_ascii_lowercase();
        let alnum = |s: &str| -> String { s.chars().filter(char::is_ascii_alphanumeric).collect() };
        let mut alnum_runs = vec![Sensitive::new(alnum(&lower[secret_start..]))];
        alnum_runs.extend(base64.iter().map(|f| Sensitive::new(alnum(f.expose()))));
        let hex_secret = raw.as_bytes()[secret_start..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            key_alnum: Sensitive::new(alnum(&lower)),
            key: Sensitive::new(lower),
            secret_start,
            base64,
            alnum_runs,
            hex_secret: Sensitive::new(hex_secret),
        }
    }

    /// Whether this scrubber removes `key` (keys are compared as the scrubber reads them).
    pub fn is_for(&self, key: &ApiKey) -> bool {
        self.key.expose().eq_ignore_ascii_case(key.expose())
    }

    /// `text` with every form and long fragment of the key replaced by `****`.
    pub fn scrub(&self, text: &str) -> String {
        let key = self.key.expose().as_bytes();
        if key.is_empty() || text.is_empty() {
            return text.to_owned();
        }
        let projection = Projection::of(text);
        let hay = projection.bytes.as_slice();
        let mut hit = vec![false; hay.len()];
        for needle in &self.base64 {
            let n = needle.expose().as_bytes();
            for start in 0..hay.len().saturating_sub(n.len() - 1) {
                if hay[start..].starts_with(n) {
                    hit[start..start + n.len()].fill(true);
                }
            }
        }
        // A secret part shorter than a fragment is matched only as part of the whole key.
        let fragments = key.len() - self.secret_start >= MIN_FRAGMENT;
        let (index, mut runs) = (KeyIndex::of(key), Runs::default());
        for start in 0..hay.len() {
            // A run starts only where its first character is spelled: at the offsets of the
            // characters the text spells here.
            Spelled::at(&hay[start..]).offsets(&index, |offset| {
                let (chars, bytes) = encoded_run(&hay[start..], &key[offset..], &mut runs);
                let end = offset + chars;
                let secret_chars = end.saturating_sub(offset.max(self.secret_start));
                let whole = offset == 0 && chars == key.len();
                if chars > 0 && (whole || (fragments && secret_chars >= MIN_FRAGMENT)) {
                    hit[start..start + bytes].fill(true);
                }
            });
        }
        projection.redact(text, &hit)
    }

    /// Whether the letters and digits of `text`, read as [`Scrubber::scrub`] reads text and with
    /// everything else removed, hold the key's letters and digits, a run of [`MIN_FRAGMENT`] of
    /// its secret part or of a base64 form, or twice that many hex digits of the secret part: the
    /// key cut into chunks by any separator. For text that is refused whole when it does.
    pub fn holds_key(&self, text: &str) -> bool {
        let alnum: String = Projection::of(text)
            .bytes
            .iter()
            .filter(|b| b.is_ascii_alphanumeric())
            .map(|&b| char::from(b))
            .collect();
        let key = self.key_alnum.expose();
        if !key.is_empty() && alnum.contains(key) {
            return true;
        }
        let runs = self.alnum_runs.iter().map(|r| (r.expose(), MIN_FRAGMENT));
        let hex = std::iter::once((self.hex_secret.expose(), 2 * MIN_FRAGMENT));
        runs.chain(hex).any(|(run, width)| {
            run.as_bytes()
                .windows(width)
                .any(|w| std::str::from_utf8(w).is_ok_and(|w| alnum.contains(w)))
        })
    }
}

impl Scrubber {
    /// A short excerpt of `text` (a server's body) for an error message, or a note that it was
    /// withheld when [`Scrubber::holds_key`] says it holds the key in pieces. Scrubbed whole,
    /// then restricted to [`excerpt_char`], then cut.
    pub fn excerpt(&self, text: &str, max: usize) -> String {
        if self.holds_key(text) {
            return WITHHELD_BODY.to_owned();
        }
        excerpt(&self.scrub(text), max)
    }
}

/// What an error message says instead of a body that spells the key in pieces.
pub const WITHHELD_BODY: &str = "(the text was withheld: it may hold the API key)";

/// The most characters of text from elsewhere an error or warning quotes.
pub const EXCERPT_MAX: usize = 120;

/// The characters an excerpt of text from elsewhere may show: ASCII letters, digits, space and
/// punctuation that no runner reads as part of a command and that renders as nothing special
/// (no `#`, `%`, `[`, `]`, `<`, `>`, `` ` ``, `|`, `\\`, `$`, `&`, `~` or `^`).
pub fn excerpt_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || " .,:;_-/'\"(){}=+@!?*".contains(c)
}

/// `text` on one line for a message: each run of whitespace and invisible characters one space,
/// each other character outside [`excerpt_char`] a `?`, trimmed, and cut at `max` characters
/// (marked `…`). Scrub before: this only restricts and cuts.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut clean = String::with_capacity(text.len().min(4 * max));
    for c in text.chars() {
        let c = if c.is_whitespace() || invisible(c) {
            ' '
        } else if excerpt_char(c) {
            c
        } else {
            '?'
        };
        if !(c == ' ' && (clean.is_empty() || clean.ends_with(' '))) {
            clean.push(c);
        }
    }
    let clean = clean.trim_end();
    let mut short: String = clean.chars().take(max).collect();
    if short.len() < clean.len() {
        short.push('…');
    }
    short
}

/// The longest value a server chooses (a workspace name, an email) that is printed.
pub const SERVER_VALUE_MAX: usize = 128;

/// What is printed instead of a server-chosen value that is not [`plain_value`].
pub const WITHHELD_VALUE: &str = "(withheld: not plain text)";

/// Whether a value a server chose may be printed as it is: at most [`SERVER_VALUE_MAX`]
/// characters of ASCII letters, digits, space and `@._+-`.
pub fn plain_value(value: &str) -> bool {
    value.len() <= SERVER_VALUE_MAX
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " @._+-".contains(c))
}

/// Whether an argument may be printed in a message although it might be a key given where
/// something else goes. A piece of text has the shape of a key when it has [`MIN_FRAGMENT`] or
/// more characters and is none of: an upper-case name (`[A-Z_][A-Z0-9_-]*`, as env vars and
/// GitHub's inputs are named), a word of lower-case letters, `-` and `_` (no digits), either of them after `--` (a
/// flag), a path (starting with `/`, `.` or `~`) or a URL (holding `://`). Keys are long runs of
/// mixed-case letters and digits; a word without digits or of one case is not one.
pub fn may_echo(arg: &str) -> bool {
    let word = arg.strip_prefix("--").unwrap_or(arg);
    let upper_name = word
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let lower_word = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
    // Windows paths too: a drive (`C:\`, `C:/`) or a share (`\\server`).
    let drive = arg.as_bytes().get(1) == Some(&b':')
        && arg.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && matches!(arg.as_bytes().get(2), Some(b'\\' | b'/'));
    let path_or_url = arg.starts_with(['/', '.', '~', '\\']) || drive || arg.contains("://");
    arg.chars().count() < MIN_FRAGMENT || upper_name || lower_word || path_or_url
}

/// Text as the scrubber reads it: invisible characters dropped (Unicode Cc and Cf, and the other
/// characters that render as nothing), full-width forms folded to ASCII, then lower-cased; each
/// character left is one byte (`0xFF` for one outside ASCII, which no form of a key holds), with
/// the span of the original text it came from.
struct Projection {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl Projection {
    fn of(text: &str) -> Self {
        let mut bytes = Vec::with_capacity(text.len());
        let mut spans = Vec::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            if invisible(c) {
                continue;
            }
            bytes.push(fold(c).unwrap_or(0xFF));
            spans.push((i, i + c.len_utf8()));
        }
        Self { bytes, spans }
    }

    /// `text` with the original span of each run of hit bytes replaced by `****`.
    fn redact(&self, text: &str, hit: &[bool]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        while i < hit.len() {
            if !hit[i] {
                i += 1;
                continue;
            }
            let start = self.spans[i].0;
            while i < hit.len() && hit[i] {
                i += 1;
            }
            out.push_str(&text[copied..start]);
            out.push_str("****");
            copied = self.spans[i - 1].1;
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// Characters that render as nothing: a separator made of them is invisible to a reader and to
/// the receiving side that strips them. Unicode Cc and Cf (Unicode 16), and the invisible
/// fillers, joiners and variation selectors of other categories.
pub fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            u32::from(c),
            0x00AD
                | 0x034F
                | 0x0600..=0x0605
                | 0x061C
                | 0x06DD
                | 0x070F
                | 0x0890..=0x0891
                | 0x08E2
                | 0x115F..=0x1160
                | 0x17B4..=0x17B5
                | 0x180B..=0x180F
                | 0x200B..=0x200F
                | 0x2028..=0x202E
                | 0x2060..=0x2064
                | 0x2066..=0x206F
                | 0x3164
                | 0xFE00..=0xFE0F
                | 0xFEFF
                | 0xFFA0
                | 0xFFF9..=0xFFFB
                | 0x110BD
                | 0x110CD
                | 0x13430..=0x1343F
                | 0x1BCA0..=0x1BCA3
                | 0x1D173..=0x1D17A
                | 0xE0001
                | 0xE0020..=0xE007F
                | 0xE0100..=0xE01EF
        )
}

/// The ASCII character `c` reads as, lower-cased: full-width forms folded to their ASCII
/// counterparts, and a character whose lower case is one ASCII letter (the Kelvin sign) folded
/// to it; `None` for anything else outside ASCII.
fn fold(c: char) -> Option<u8> {
    let c = match u32::from(c) {
        0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    if c.is_ascii() {
        return u8::try_from(c.to_ascii_lowercase()).ok();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) if l.is_ascii() => u8::try_from(l).ok(),
        _ => None,
    }
}

/// The base64 text that depends only on `bytes`, wherever they start in the encoded data (three
/// alignments), in the standard and URL-safe alphabets. Runs shorter than 8 characters are left
/// out: they would match ordinary text.
fn base64_forms(bytes: &[u8]) -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut forms = Vec::new();
    for offset in 0..3usize {
        let mut data = vec![0u8; offset];
        data.extend_from_slice(bytes);
        let bits = data.len() * 8;
        let mut std = String::new();
        for i in 0..bits / 6 {
            let (first, last) = (6 * i, 6 * i + 6);
            if first < 8 * offset || last > bits {
                continue;
            }
            let mut v = 0usize;
            for bit in first..last {
                v = (v << 1) | usize::from((data[bit / 8] >> (7 - bit % 8)) & 1);
            }
            std.push(char::from(STD[v]));
        }
        if std.len() >= 8 {
            forms.push(std.replace('+', "-").replace('/', "_"));
            forms.push(std);
        }
    }
    forms
}

#[cfg(test)]
pub(crate) mod strategies;

#[cfg(test)]
#[path = "../tests/common/encodings.rs"]
pub(crate) mod encodings;

#[cfg(test)]
mod tests;
