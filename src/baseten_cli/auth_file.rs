//! `auth.json` as the `baseten` CLI reads and writes it (Go's encoding/json over its `AuthFile`).
//!
//! The CLI loads the file with `json.Unmarshal` and saves it with
//! `json.MarshalIndent(af, "", "  ")` and a newline, version 1. [`parse`] decodes as that
//! `Unmarshal` does and [`encode`] writes what that `MarshalIndent` writes, so a file changed here
//! has the bytes the CLI would have written from the same start. Go's rules, as followed:
//!
//! - Strict JSON, one value. A top-level `null` is an empty file. Any other non-object, and a value
//!   of the wrong type for a field (`"1"`, `1.0` or `1e0` for the version, an object for a string),
//!   makes `Unmarshal` fail: the CLI cannot use the file, and [`parse`] refuses it.
//! - A key names a field exactly or case-insensitively (ASCII, plus U+212A KELVIN SIGN for `k` and
//!   U+017F LONG S for `s`). Every matching key is decoded, in order, the last one winning. Unknown
//!   keys are skipped, and gone on the next write.
//! - `null` leaves a string, the version or an expiry as it was, sets `oauth_credential` to none
//!   and `profiles` to empty. A later `profiles` object adds to the earlier one, a later
//!   `oauth_credential` object to the earlier credential. Each profile is decoded from zero: a
//!   repeated name replaces the first, a `null` profile is an empty one.
//! - `expiry` (a `time.Time`) is rewritten as Go's RFC3339Nano: no trailing zeros in the fraction,
//!   `Z` for a zero offset, `0001-01-01T00:00:00Z` when absent.
//!
//! Refused here although Go reads them, rather than rewritten otherwise than the CLI would: strings
//! that are not UTF-8 or hold a lone surrogate escape where the value is kept (Go writes U+FFFD);
//! nesting deeper than [`MAX_DEPTH`] (Go: 10000); an `expiry` other than
//! `YYYY-MM-DDThh:mm:ss[.1 to 9 digits](Z|±hh:mm)` with a real date and an offset under 24:00 (Go's
//! versions disagree on some others, and Go truncates a longer fraction).
//!
//! Strings are written as Go's encoder writes them: `<`, `>`, `&`, U+2028 and U+2029 as `\u`
//! escapes, and U+0008 and U+000C as `\b` and `\f` as Go 1.22 and later write them (the CLI is
//! built with a recent Go; Go 1.21 and earlier wrote `\u0008` and `\u000c`).
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::error::Category;
use zeroize::Zeroize;

mod go_text;
#[cfg(test)]
mod tests;

use go_text::{Obj, canonical_time, push_str};

/// Deepest nesting of arrays and objects read (serde_json's own limit for what it decodes).
pub const MAX_DEPTH: usize = 128;

/// What Go writes for a zero `time.Time`: an `expiry` never set (absent, or only `null`).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The file: the current profile's name (empty: none) and the profiles by name.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct AuthFile {
    pub current: String,
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile. `api_key` is empty when the key is in the keyring.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub remote_url: String,
    pub auth_type: String,
    pub oauth_credential: Option<OAuthCredential>,
    pub api_key: String,
}

/// An OAuth token pair stored in the file; `expiry` is as Go re-marshals it.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthCredential {
    pub access_token: String,
    pub refresh_token: String,
    pub expiry: String,
}

/// Why a file cannot be read as the CLI reads it. The message never quotes a value from the file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Unreadable(pub String);

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreadable {}

impl Default for OAuthCredential {
    /// Go's zero value, which is what a credential is decoded into.
    fn default() -> Self {
        OAuthCredential {
            access_token: String::new(),
            refresh_token: String::new(),
            expiry: ZERO_TIME.to_owned(),
        }
    }
}

impl Profile {
    /// What the CLI's `SetAPIKeyProfile` stores with the key in the file.
    pub fn api_key(remote_url: &str, key: &str) -> Profile {
        Profile {
            remote_url: remote_url.to_owned(),
            auth_type: "api_key".to_owned(),
            oauth_credential: None,
            api_key: key.to_owned(),
        }
    }

    /// The compact `json.Marshal` form, with the same escaping as [`encode`].
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.capacity());
        write_profile(&mut out, self, None);
        // Only `&str`s and ASCII were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// One profile, decoded as Go decodes a `Profile` (the rules of [`parse`]).
    pub fn from_json(text: &str) -> Result<Profile, Unreadable> {
        decode(text.as_bytes())
    }

    /// Room for the longest escaped form, so that writing never copies the secrets to a new buffer.
    fn capacity(&self) -> usize {
        let c = self.oauth_credential.as_ref();
        let tokens = c.map_or(0, |c| {
            c.access_token.len() + c.refresh_token.len() + c.expiry.len()
        });
        160 + 6 * (self.remote_url.len() + self.auth_type.len() + self.api_key.len() + tokens)
    }
}

/// Redacted: the key and the tokens print as `****` (`""` when empty).
impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("remote_url", &self.remote_url)
            .field("auth_type", &self.auth_type)
            .field("oauth_credential", &self.oauth_credential)
            .field("api_key", &Redacted(&self.api_key))
            .finish()
    }
}

impl fmt::Debug for OAuthCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthCredential")
            .field("access_token", &Redacted(&self.access_token))
            .field("refresh_token", &Redacted(&self.refresh_token))
            .field("expiry", &self.expiry)
            .finish()
    }
}

struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "****" })
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        self.api_key.zeroize();
    }
}

impl Drop for OAuthCredential {
    fn drop(&mut self) {
        self.access_token.zeroize();
        self.refresh_token.zeroize();
    }
}

/// Reads `auth.json` as the CLI's `json.Unmarshal` does (see the module's rules).
pub fn parse(bytes: &[u8]) -> Result<AuthFile, Unreadable> {
    decode(bytes)
}

/// What the CLI's `saveLocked` writes for `file`: `MarshalIndent` with two spaces, version 1, and a
/// newline.
pub fn encode(file: &AuthFile) -> Vec<u8> {
    let room: usize = file
        .profiles
        .iter()
        .map(|(name, p)| 6 * name.len() + p.capacity())
        .sum();
    let mut out = Vec::with_capacity(64 + 6 * file.current.len() + room);
    let mut top = Obj::open(&mut out, Some(0));
    top.field("version").push(b'1');
    if !file.current.is_empty() {
        push_str(top.field("current"), &file.current);
    }
    let mut profiles = Obj::open(top.field("profiles"), Some(1));
    for (name, profile) in &file.profiles {
        write_profile(profiles.field(name), profile, Some(2));
    }
    profiles.close();
    top.close();
    out.push(b'\n');
    out
}

fn write_profile(out: &mut Vec<u8>, p: &Profile, level: Option<usize>) {
    let mut o = Obj::open(out, level);
    push_str(o.field("remote_url"), &p.remote_url);
    push_str(o.field("auth_type"), &p.auth_type);
    if let Some(c) = &p.oauth_credential {
        let mut cred = Obj::open(o.field("oauth_credential"), level.map(|l| l + 1));
        push_str(cred.field("access_token"), &c.access_token);
        push_str(cred.field("refresh_token"), &c.refresh_token);
        push_str(cred.field("expiry"), &c.expiry);
        cred.close();
    }
    if !p.api_key.is_empty() {
        push_str(o.field("api_key"), &p.api_key);
    }
    o.close();
}

// Messages of the refusals raised while decoding: fixed texts, so they can be shown as they are.
const BAD_EXPIRY: &str = "expiry is not an RFC 3339 time in a form this reader reproduces exactly";
const BAD_VERSION: &str = "version is out of the range of Go's int";

/// serde_json's syntax messages (fixed texts, none quoting the input), shown when one matches.
const SYNTAX: &str = "EOF while parsing a list|EOF while parsing an object|\
    EOF while parsing a string|EOF while parsing a value|expected `:`|expected `,` or `]`|\
    expected `,` or `}`|expected ident|expected value|expected `\"`|invalid escape|\
    invalid number|number out of range|invalid unicode code point|\
    control character (\\u0000-\\u001F) found while parsing a string|key must be a string|\
    lone leading surrogate in hex escape|trailing comma|trailing characters|\
    unexpected end of hex escape";

/// `T` from zero, as Go's `json.Unmarshal` fills it.
fn decode<T: GoStruct + Default>(bytes: &[u8]) -> Result<T, Unreadable> {
    if too_deep(bytes) {
        return Err(Unreadable(format!(
            "nested deeper than {MAX_DEPTH} arrays or objects"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Decode(T::default()).deserialize(&mut de);
    let value = value.and_then(|v| de.end().map(|()| v));
    value.map_err(|e| {
        // Only fixed texts are shown: serde's own data messages quote values (`invalid type:
        // string "..."`), and the values here are keys and tokens.
        let text = e.to_string();
        let known = |list: &[&'static str]| list.iter().copied().find(|m| text.starts_with(m));
        let what = match e.classify() {
            Category::Data => known(&[BAD_EXPIRY, BAD_VERSION])
                .unwrap_or("a value does not have the type the baseten CLI reads there"),
            Category::Syntax | Category::Eof => {
                known(&SYNTAX.split('|').collect::<Vec<_>>()).unwrap_or("not valid JSON")
            }
            Category::Io => "unreadable",
        };
        Unreadable(format!("{what} (line {}, column {})", e.line(), e.column()))
    })
}

/// Whether arrays and objects nest deeper than [`MAX_DEPTH`] (counted outside strings): serde_json
/// skips an unknown value without a depth limit, and Go refuses a very deep one.
fn too_deep(bytes: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        match (in_string, b) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => depth += 1,
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_DEPTH {
            return true;
        }
    }
    false
}

/// Whether Go's decoder gives `key` to the field named `field` (lowercase ASCII and `_`): equal, or
/// equal under Go's folding, in which the only non-ASCII letters that fold to ASCII are the Kelvin
/// sign (K) and the long s (S).
fn key_names(key: &str, field: &str) -> bool {
    key == field
        || (key.chars().count() == field.len()
            && key.chars().zip(field.bytes()).all(|(c, f)| {
                c.eq_ignore_ascii_case(&char::from(f))
                    || (f == b'k' && c == '\u{212A}')
                    || (f == b's' && c == '\u{17F}')
            }))
}

/// A string field: `null` leaves it as it was. The old value is wiped (it may be a secret).
fn set(slot: &mut String, value: Option<String>) {
    if let Some(value) = value {
        slot.zeroize();
        *slot = value;
    }
}

/// A visitor's `expecting` (serde's messages using it are never shown: they quote values).
macro_rules! expecting {
    ($what:literal) => {
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str($what)
        }
    };
}

/// A struct as Go's decoder fills it: field by field, in the order of the object's keys.
trait GoStruct {
    const FIELDS: &'static [&'static str];
    /// Decodes the value of a member naming `FIELDS[i]`.
    fn member<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error>;
}

impl GoStruct for AuthFile {
    const FIELDS: &'static [&'static str] = &["version", "current", "profiles"];
    fn member<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => drop(map.next_value_seed(Nullable(Version))?),
            1 => set(&mut self.current, map.next_value()?),
            // Go's nil map (after `null`) and an empty one fill alike, so `null` just empties it.
            _ => {
                if map
                    .next_value_seed(Nullable(Profiles(&mut self.profiles)))?
                    .is_none()
                {
                    self.profiles.clear();
                }
            }
        }
        Ok(())
    }
}

impl GoStruct for Profile {
    const FIELDS: &'static [&'static str] =
        &["remote_url", "auth_type", "oauth_credential", "api_key"];
    fn member<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => set(&mut self.remote_url, map.next_value()?),
            1 => set(&mut self.auth_type, map.next_value()?),
            // Go decodes into the credential already there, if any.
            2 => {
                let earlier = Decode(self.oauth_credential.take().unwrap_or_default());
                self.oauth_credential = map.next_value_seed(Nullable(earlier))?;
            }
            _ => set(&mut self.api_key, map.next_value()?),
        }
        Ok(())
    }
}

impl GoStruct for OAuthCredential {
    const FIELDS: &'static [&'static str] = &["access_token", "refresh_token", "expiry"];
    fn member<'de, A: MapAccess<'de>>(&mut self, i: usize, map: &mut A) -> Result<(), A::Error> {
        match i {
            0 => set(&mut self.access_token, map.next_value()?),
            1 => set(&mut self.refresh_token, map.next_value()?),
            _ => set(&mut self.expiry, map.next_value_seed(Nullable(Expiry))?),
        }
        Ok(())
    }
}

/// A value decoded into `T` as it stands: `null` leaves it so, an object sets the fields its keys
/// name (unknown keys are skipped), anything else is an error.
struct Decode<T>(T);

impl<'de, T: GoStruct> DeserializeSeed<'de> for Decode<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: GoStruct> Visitor<'de> for Decode<T> {
    type Value = T;
    expecting!("an object");
    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(self.0)
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<T, A::Error> {
        while let Some(field) = map.next_key_seed(Fields(T::FIELDS))? {
            match field {
                Some(i) => self.0.member(i, &mut map)?,
                None => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        Ok(self.0)
    }
}

/// `DeserializeSeed` for visitors, each handed to the `Deserializer` method named.
macro_rules! seeds {
    ($($visitor:ty => $method:ident,)*) => {$(
        impl<'de> DeserializeSeed<'de> for $visitor {
            type Value = <Self as Visitor<'de>>::Value;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.$method(self)
            }
        }
    )*};
}

seeds! {
    Fields => deserialize_str,
    // serde_json scans only an integer literal's digits for i128: `1.0` and `1e0` stay refused,
    // and `-0` is read as Go reads it (as any number, serde_json would make it a float).
    Version => deserialize_i128,
    Profiles<'_> => deserialize_map,
    Expiry => deserialize_str,
}

/// An object key, as the index of the struct field it names (none: an unknown key).
struct Fields(&'static [&'static str]);

impl Visitor<'_> for Fields {
    type Value = Option<usize>;
    expecting!("a key");
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|field| key_names(key, field)))
    }
}

/// `null` (none) or what `S` decodes.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    expecting!("null or a value");
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// Go's `int`: an integer literal (no fraction or exponent, `-0` included) within 64 bits.
struct Version;

impl Visitor<'_> for Version {
    type Value = ();
    expecting!("an integer");
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(_) => Ok(()),
            Err(_) => Err(E::custom(BAD_VERSION)),
        }
    }
}

/// The `profiles` map, added to (Go reuses a map it decoded before); each profile from zero.
struct Profiles<'a>(&'a mut BTreeMap<String, Profile>);

impl<'de> Visitor<'de> for Profiles<'_> {
    type Value = ();
    expecting!("an object");
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let profile = map.next_value_seed(Decode(Profile::default()))?;
            self.0.insert(name, profile);
        }
        Ok(())
    }
}

/// `time.Time`'s `UnmarshalJSON`, which parses the literal's raw bytes: an escape is an error.
struct Expiry;

impl<'de> Visitor<'de> for Expiry {
    type Value = String;
    expecting!("a time");
    // serde_json borrows a string from the input only when it has no escapes.
    fn visit_borrowed_str<E: de::Error>(self, raw: &'de str) -> Result<String, E> {
        canonical_time(raw).ok_or_else(|| E::custom(BAD_EXPIRY))
    }
    fn visit_str<E: de::Error>(self, _unescaped: &str) -> Result<String, E> {
        Err(E::custom(BAD_EXPIRY))
    }
}
