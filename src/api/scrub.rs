//! The client's scrubber: armed with the key of every request and with any key an answer's body
//! holds (a created key), before that body is parsed, so no error or log can print one.
use std::cell::RefCell;

use serde::{Deserialize, Deserializer};

use crate::secret::{self, ApiKey, EXCERPT_MAX, Scrubber, WITHHELD_BODY};

/// A key the API sends (`{"api_key": "…"}`) is parsed straight into an `ApiKey`: the text never
/// lives in a plain `String` beyond the parse.
impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ApiKey::new)
    }
}

/// Every key the client knows, one scrubber each.
#[derive(Default)]
pub(super) struct Keys(RefCell<Vec<Scrubber>>);

impl Keys {
    pub(super) fn arm(&self, key: &ApiKey) {
        self.0.borrow_mut().push(Scrubber::new(key));
    }

    /// Arms the scrubber with the key a body holds, if it holds one where Baseten puts it.
    pub(super) fn arm_from_body(&self, body: &[u8]) {
        #[derive(Deserialize)]
        struct Secrets {
            api_key: Option<ApiKey>,
        }
        if let Ok(Secrets { api_key: Some(key) }) = serde_json::from_slice(body) {
            self.arm(&key);
        }
    }

    /// Whether `text` holds any known key, even in pieces (see [`Scrubber::holds_key`]).
    fn holds_key(&self, text: &str) -> bool {
        self.0.borrow().iter().any(|s| s.holds_key(text))
    }

    fn scrub(&self, text: &str) -> String {
        let scrubbers = self.0.borrow();
        scrubbers
            .iter()
            .fold(text.to_owned(), |text, s| s.scrub(&text))
    }

    /// As [`Scrubber::excerpt`], for every known key.
    pub(super) fn excerpt(&self, text: &str, max: usize) -> String {
        if self.holds_key(text) {
            return WITHHELD_BODY.to_owned();
        }
        secret::excerpt(&self.scrub(text), max)
    }

    /// A short excerpt of a server's body for an error message (`": …"`), or nothing.
    pub(super) fn snippet(&self, body: &[u8]) -> String {
        let short = self.excerpt(&String::from_utf8_lossy(body), EXCERPT_MAX);
        if short.is_empty() {
            return String::new();
        }
        format!(": {short}")
    }

    /// A redirect target's host for a message: `****` when it spells a key, even in pieces; else
    /// a short plain excerpt.
    pub(super) fn location_text(&self, host: &str) -> String {
        if self.holds_key(host) {
            return "****".to_owned();
        }
        secret::excerpt(&self.scrub(host), EXCERPT_MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn armed(key: &str) -> Keys {
        let keys = Keys::default();
        keys.arm(&ApiKey::new(key.into()));
        keys
    }

    #[test]
    fn snippets_are_single_line_and_short() {
        let none = armed("k.secretpart-x");
        assert_eq!(none.snippet(b"  a\r\n b\x1b[31m "), ": a b ?31m");
        assert_eq!(none.snippet(b""), "");
        assert_eq!(
            none.snippet(&[b'x'; 500]).chars().count(),
            2 + EXCERPT_MAX + 1
        );
        // The key straddling the cut is scrubbed before the cut, so no tail of it survives.
        let mut body = "x".repeat(150);
        body.push_str("kid.SECRETSECRETSECRET");
        let cut = armed("kid.SECRETSECRETSECRET").snippet(body.as_bytes());
        assert!(!cut.contains("SECRET"), "{cut}");
    }

    #[test]
    fn a_key_in_a_body_is_armed_before_the_body_is_read() {
        let keys = armed("kid.requestkeyrequestkey");
        let created = br#"{"api_key":"new01.CreatedSecretCreated","name":"ci"}"#;
        keys.arm_from_body(created);
        let text = "echo new01.CreatedSecretCreated and kid.requestkeyrequestkey";
        assert_eq!(keys.scrub(text), "echo **** and ****");
        assert_eq!(keys.snippet(created), format!(": {WITHHELD_BODY}"));
        // Bodies without a key arm nothing and are quoted.
        keys.arm_from_body(br#"{"api_key":5}"#);
        keys.arm_from_body(b"not json");
        assert_eq!(keys.snippet(b"plain words"), ": plain words");
    }
}
