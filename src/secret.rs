//! `ApiKey`: the only holder of a Baseten API key. It cannot be printed, cloned or serialised.
use std::fmt;

use zeroize::Zeroize;

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
        for start in 0..hay.len() {
            for offset in 0..key.len() {
                let (chars, bytes) = encoded_run(&hay[start..], &key[offset..]);
                let end = offset + chars;
                let secret_chars = end.saturating_sub(offset.max(self.secret_start));
                let whole = offset == 0 && chars == key.len();
                if chars > 0 && (whole || (fragments && secret_chars >= MIN_FRAGMENT)) {
                    hit[start..start + bytes].fill(true);
                }
            }
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

/// How many leading characters of `key` the start of `hay` spells, each raw, percent-encoded
/// (`%XX`), hex-encoded (`XX`), escaped as `\xXX` or `\u00XX`, or JSON-escaped (both sides
/// lower-cased), and the most bytes of `hay` such a spelling takes. Every spelling is followed
/// at once, so a literal `%` or `\\` in the key is read either way.
fn encoded_run(hay: &[u8], key: &[u8]) -> (usize, usize) {
    let hex = |b: u8| char::from(b).to_digit(16);
    // The byte spelled by the hex digits `d`, when they are all hex digits.
    let byte = |d: &[u8]| d.iter().try_fold(0u32, |v, &b| hex(b).map(|h| v * 16 + h));
    let mut at = vec![0usize];
    let mut chars = 0;
    for &k in key {
        let is_k = |v: Option<u32>| {
            v.is_some_and(|v| v == u32::from(k) || v == u32::from(k.to_ascii_uppercase()))
        };
        let mut next = Vec::with_capacity(4);
        for &p in &at {
            let rest = &hay[p..];
            if rest.first() == Some(&k) {
                next.push(p + 1);
            }
            if rest.len() >= 2 && is_k(byte(&rest[..2])) {
                next.push(p + 2);
            }
            if rest.len() >= 3 && rest[0] == b'%' && is_k(byte(&rest[1..3])) {
                next.push(p + 3);
            }
            if rest.len() >= 4 && rest.starts_with(b"\\x") && is_k(byte(&rest[2..4])) {
                next.push(p + 4);
            }
            if rest.len() >= 6 && rest.starts_with(b"\\u") && is_k(byte(&rest[2..6])) {
                next.push(p + 6);
            }
            if rest.len() >= 2 && rest[0] == b'\\' && rest[1] == k && b"\\\"/".contains(&k) {
                next.push(p + 2);
            }
        }
        if next.is_empty() {
            break;
        }
        next.sort_unstable();
        next.dedup();
        at = next;
        chars += 1;
    }
    (chars, at.last().copied().unwrap_or(0))
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
pub(crate) mod strategies {
    //! Separators that render as nothing, and keys interleaved with them, for property tests.
    use proptest::prelude::*;

    /// A separator that renders as nothing: Cc, Cf, and the zero-width and soft-hyphen ones.
    pub(crate) fn separator() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap().to_string()),
            Just("\u{7f}".to_owned()),
            (0x80u32..0xA0).prop_map(|c| char::from_u32(c).unwrap().to_string()),
            Just("\u{200B}".to_owned()),
            Just("\u{00AD}".to_owned()),
            Just("\u{2060}".to_owned()),
            Just("\u{FEFF}".to_owned()),
            Just("\u{200E}".to_owned()),
            Just("\u{E0041}".to_owned()),
            Just(String::new()),
        ]
    }

    /// Full-width form of an ASCII character, where there is one.
    pub(crate) fn wide(c: char) -> char {
        match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap(),
            _ => c,
        }
    }

    /// `key` with a separator after each character, each character full-width or not.
    pub(crate) fn interleaved(key: &str, seps: &[String], widths: &[bool]) -> String {
        key.chars()
            .enumerate()
            .map(|(i, c)| {
                let c = if widths[i % widths.len()] { wide(c) } else { c };
                format!("{c}{}", seps[i % seps.len()])
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "../tests/common/encodings.rs"]
pub(crate) mod encodings;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::encodings::{b64, percent};
    use super::strategies::{interleaved, separator};
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let key = ApiKey::new("sk.secret-value".into());
        assert_eq!(format!("{key:?}"), "ApiKey(****)");
        assert_eq!(format!("{key}"), "****");
        assert_eq!(format!("{:#?}", Some(&key)), "Some(\n    ApiKey(****),\n)");
        assert_eq!(key.expose(), "sk.secret-value");
    }

    #[test]
    fn scrub_removes_every_occurrence() {
        let key = ApiKey::new("abc.def".into());
        let s = Scrubber::new(&key);
        assert_eq!(s.scrub("x abc.def y abc.def"), "x **** y ****");
        assert_eq!(s.scrub("x ABC.DEF y"), "x **** y");
    }

    /// Every form a leak can take: the key as a careless server, proxy or encoder would print it.
    fn leaked_forms(key: &str, prefix: &str) -> Vec<String> {
        vec![
            key.to_owned(),
            key.to_ascii_uppercase(),
            key.to_ascii_lowercase(),
            key.replace('/', "\\/"),
            serde_json::to_string(key).unwrap(),
            percent(key),
            percent(key).to_ascii_lowercase(),
            b64(format!("{prefix}{key}").as_bytes(), false),
            b64(format!("{prefix}{key}").as_bytes(), true),
            b64(format!("Api-Key {key}").as_bytes(), false),
        ]
    }

    proptest! {
        #[test]
        fn no_form_of_the_key_survives(
            id in "[A-Za-z0-9]{0,10}",
            secret in r"[A-Za-z0-9+/=%\\_~-]{8,40}",
            prefix in "[ -~]{0,5}",
            before in "[ -~é]{0,30}",
            after in "[ -~é]{0,30}",
            form in 0usize..10,
        ) {
            let key_text = if id.is_empty() { secret.clone() } else { format!("{id}.{secret}") };
            let key = ApiKey::new(key_text.clone());
            let scrubber = Scrubber::new(&key);
            let leaked = &leaked_forms(&key_text, &prefix)[form];
            let text = format!("{before}{leaked}{after}");
            let out = scrubber.scrub(&text);
            let lower = out.to_ascii_lowercase();
            // No run of 8 characters of the secret part, in any text form, is left.
            for f in [secret.clone(), secret.replace('\\', "\\\\"), percent(&secret)] {
                let f = f.to_ascii_lowercase();
                for w in f.as_bytes().windows(MIN_FRAGMENT) {
                    let w = std::str::from_utf8(w).unwrap();
                    prop_assert!(!lower.contains(w), "{:?} in {:?} (form {})", w, out, form);
                }
            }
            // No base64 run that spells the key at any alignment.
            for p in ["", "a", "ab"] {
                let encoded = b64(format!("{p}{key_text}").as_bytes(), false);
                let stable = &encoded[(p.len() * 4).div_ceil(3) + 1..encoded.len() - 2];
                if stable.len() >= 8 {
                    prop_assert!(!out.contains(stable), "{:?} in {:?}", stable, out);
                }
            }
        }

        #[test]
        fn text_without_the_key_is_untouched(text in "[ -~é\\n]{0,80}") {
            let key = ApiKey::new("kid01234.QQQQ7777zzzzWWWW".into());
            prop_assume!(!text.to_ascii_lowercase().contains("qqqq7777"));
            prop_assert_eq!(Scrubber::new(&key).scrub(&text), text);
        }
    }

    /// What a reader, or a receiving side that strips invisible characters and folds width,
    /// makes of `text`: the projection the scrubber reads, as a string.
    fn as_read(text: &str) -> String {
        Projection::of(text)
            .bytes
            .iter()
            .filter(|&&b| b != 0xFF)
            .map(|&b| char::from(b))
            .collect()
    }

    proptest! {
        #[test]
        fn invisible_separators_and_full_width_forms_hide_nothing(
            id in "[A-Za-z0-9]{0,10}",
            secret in "[A-Za-z0-9]{8,40}",
            seps in proptest::collection::vec(separator(), 1..6),
            widths in proptest::collection::vec(any::<bool>(), 1..4),
            before in "[ -~é]{0,20}",
            after in "[ -~é]{0,20}",
        ) {
            let key_text = if id.is_empty() { secret.clone() } else { format!("{id}.{secret}") };
            let scrubber = Scrubber::new(&ApiKey::new(key_text.clone()));
            let text = format!("{before}{}{after}", interleaved(&key_text, &seps, &widths));
            let read = as_read(&scrubber.scrub(&text));
            let lower = secret.to_ascii_lowercase();
            for w in lower.as_bytes().windows(MIN_FRAGMENT) {
                let w = std::str::from_utf8(w).unwrap();
                prop_assert!(!read.contains(w), "{:?} readable in {:?}", w, read);
            }
            prop_assert!(scrubber.holds_key(&text));
        }

        #[test]
        fn chunks_with_any_separator_are_caught(
            secret in "[A-Za-z0-9]{16,40}",
            chunk in 1usize..8,
            sep in "[ -/:-@\\[-`{-~]{1,3}",
        ) {
            let key_text = format!("kid01.{secret}");
            let scrubber = Scrubber::new(&ApiKey::new(key_text.clone()));
            let chunks: Vec<String> = key_text
                .as_bytes()
                .chunks(chunk)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            let text = format!("key was {}", chunks.join(&sep));
            prop_assert!(scrubber.holds_key(&text));
            prop_assert_eq!(scrubber.excerpt(&text, EXCERPT_MAX), WITHHELD_BODY);
        }

        #[test]
        fn ordinary_text_holds_no_key(text in "[ -~é\u{200B}\u{00AD}\t\n]{0,200}") {
            let scrubber = Scrubber::new(&ApiKey::new("kid01234.QQQQ7777zzzzWWWW".into()));
            let alnum: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
            prop_assume!(!alnum.to_ascii_lowercase().contains("qqqq7777"));
            prop_assert_eq!(scrubber.scrub(&text), text.clone());
            prop_assert!(!scrubber.holds_key(&text));
        }

        #[test]
        fn excerpts_are_short_and_plain(text in "\\PC{0,300}") {
            let short = excerpt(&text, EXCERPT_MAX);
            prop_assert!(short.chars().count() <= EXCERPT_MAX + 1);
            prop_assert!(short.chars().all(|c| excerpt_char(c) || c == '…'), "{:?}", short);
        }
    }

    #[test]
    fn hex_and_escaped_forms_are_removed() {
        let key = "kid01.Zx9qv7Lw3pTt";
        let s = Scrubber::new(&ApiKey::new(key.into()));
        let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
        let escaped: String = key.bytes().map(|b| format!("\\u{b:04x}")).collect();
        let xs: String = key.bytes().map(|b| format!("\\x{b:02X}")).collect();
        for form in [hex.clone(), hex.to_ascii_uppercase(), escaped, xs] {
            assert_eq!(s.scrub(&format!("a {form} b")), "a **** b", "{form}");
        }
        // The secret part alone, as 8 characters' worth of hex, is a leak too.
        let secret_hex: String = "qv7Lw3pT".bytes().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s.scrub(&format!("x{secret_hex}x")), "x****x");
    }

    #[test]
    fn the_whole_span_is_redacted_separators_included() {
        let s = Scrubber::new(&ApiKey::new("kid01.Zx9qv7Lw3pTt".into()));
        let text = "ws k\u{1}i\u{0}d\u{7f}0\t1.Z\u{200B}x9\u{AD}q\u{FF56}7Lw3pTt end";
        assert_eq!(s.scrub(text), "ws **** end");
    }

    #[test]
    fn plain_values_are_a_strict_set() {
        for ok in ["local-ws", "ci-bot@example.com", "Team A_1+x"] {
            assert!(plain_value(ok), "{ok}");
        }
        for bad in [
            "a\u{1}b",
            "a\u{200B}b",
            "ｗｓ",
            "a##[x]",
            "a:b",
            "é",
            &"x".repeat(129),
        ] {
            assert!(!plain_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn names_words_paths_and_short_text_may_be_echoed_keys_not() {
        for ok in [
            "BASETEN_API_KEY",
            "MY_KEY_2",
            "production",
            "truss-env",
            "--api-key-stdin",
            "/home/runner/.trussrc",
            "C:\\Users\\runner\\.trussrc",
            "D:/a/_temp/trussrc",
            "\\\\share\\ci\\.trussrc",
            "https://app.baseten.co",
            "abc.def",
        ] {
            assert!(may_echo(ok), "{ok}");
        }
        for key in [
            "SENTINELkey01.Zx9qv7Lw3pTt",
            "kid01.SNTL+k/y=9Zq\\x7Leak",
            "abcdEFGH",
            "staging2eu",
            "--SENTINELkey01",
            "Zx9qv7Lw3pTt",
            "C:Zx9qv7Lw3pTt",
        ] {
            assert!(!may_echo(key), "{key}");
        }
    }

    #[test]
    fn a_fragment_straddling_a_cut_is_removed() {
        let key = ApiKey::new("SENTINELkey01.Zx9qv7Lw3pTt".into());
        let s = Scrubber::new(&key);
        assert_eq!(
            s.scrub("Authorization: Api-Key SENTINELkey01.Zx9qv7Lw"),
            "Authorization: Api-Key ****"
        );
        assert_eq!(s.scrub("tail: 9qv7Lw3pTt end"), "tail: **** end");
        assert_eq!(
            s.scrub("short Zx9qv7L"),
            "short Zx9qv7L",
            "7 characters are not a leak"
        );
    }
}
