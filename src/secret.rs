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

/// Replaces every occurrence of the key in text that came from elsewhere (a server's error body,
/// an OS error) before it can reach a message.
pub(crate) fn scrub(text: &str, key: &ApiKey) -> String {
    if key.is_empty() {
        return text.to_owned();
    }
    text.replace(key.expose(), "****")
}

#[cfg(test)]
mod tests {
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
        assert_eq!(scrub("x abc.def y abc.def", &key), "x **** y ****");
    }
}
