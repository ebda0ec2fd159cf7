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

    pub fn len(&self) -> usize {
        self.expose().len()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
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
/// redirect target; an OS error; a file) before it is printed. Ignoring ASCII case, it finds the
/// key with any mix of raw, JSON-escaped (`\\`, `\"`, `\/`) and percent-encoded characters, and
/// base64-encoded at every alignment in the standard and URL-safe alphabets; and any run of
/// [`MIN_FRAGMENT`] or more characters of the secret part (after the first `.`) in the first
/// three forms. Apply it to whole text, before any cut.
pub struct Scrubber {
    /// The key, lower-cased.
    key: Sensitive,
    /// Where the secret part starts in `key`.
    secret_start: usize,
    /// Lower-cased base64 forms, matched whole.
    base64: Vec<Sensitive>,
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
        Self {
            key: Sensitive::new(raw.to_ascii_lowercase()),
            secret_start,
            base64,
        }
    }

    /// `text` with every form and long fragment of the key replaced by `****`.
    pub fn scrub(&self, text: &str) -> String {
        let key = self.key.expose().as_bytes();
        if key.is_empty() || text.is_empty() {
            return text.to_owned();
        }
        let hay = text.to_ascii_lowercase();
        let hay = hay.as_bytes();
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
        let mut out = String::with_capacity(text.len());
        let mut in_hit = false;
        for (i, c) in text.char_indices() {
            // Matches are ASCII, so a hit never starts or ends inside a multi-byte character.
            if hit[i] {
                if !in_hit {
                    out.push_str("****");
                }
                in_hit = true;
            } else {
                in_hit = false;
                out.push(c);
            }
        }
        out
    }
}

/// How many leading characters of `key` the start of `hay` spells, each raw, percent-encoded or
/// JSON-escaped (both sides lower-cased), and the most bytes of `hay` such a spelling takes. Every
/// spelling is followed at once, so a literal `%` or `\\` in the key is read either way.
fn encoded_run(hay: &[u8], key: &[u8]) -> (usize, usize) {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut at = vec![0usize];
    let mut chars = 0;
    for &k in key {
        let mut next = Vec::with_capacity(3);
        for &p in &at {
            let rest = &hay[p..];
            if rest.first() == Some(&k) {
                next.push(p + 1);
            }
            if rest.len() >= 3
                && rest[0] == b'%'
                && let (Some(h), Some(l)) = (hex(rest[1]), hex(rest[2]))
                && (h * 16 + l == u32::from(k) || h * 16 + l == u32::from(k.to_ascii_uppercase()))
            {
                next.push(p + 3);
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
#[path = "../tests/common/encodings.rs"]
mod encodings;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::encodings::{b64, percent};
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
