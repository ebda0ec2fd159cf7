//! [`ServerText`]: a value the server chose (a key's name, prefix or type, a team's name, a
//! user's email). It cannot be formatted: it has no `Display` and no `Serialize`, and its `Debug`
//! shows only its length. The one way to print it is [`crate::output::Output::show`], which gives
//! it only when it is plain and short and spells no key the run has masked, in any chunking.
use std::fmt;

use serde::{Deserialize, Deserializer};

#[derive(Clone, Default, PartialEq, Eq)]
pub struct ServerText(String);

impl ServerText {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// Whether the server said exactly `text`.
    pub fn is(&self, text: &str) -> bool {
        self.0 == text
    }

    /// The text as the server sent it: to compare, to parse, or to send back to the server (a
    /// path segment). Never to print: [`crate::output::Output::show`] does that.
    pub fn unprinted(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServerText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerText({} bytes)", self.0.len())
    }
}

impl<'de> Deserialize<'de> for ServerText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        let t: ServerText = serde_json::from_str(r#""pre01.SecretSecret""#).unwrap();
        assert_eq!(format!("{t:?}"), "ServerText(18 bytes)");
        assert!(t.is("pre01.SecretSecret"));
    }
}
