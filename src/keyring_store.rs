//! The OS keyring, where truss looks: service `baseten-truss`, account = the remote name, value the
//! JSON truss reads. Every call runs on its own thread with a deadline, so a hung D-Bus never hangs
//! a CI job.
use std::sync::mpsc;
use std::time::Duration;

use crate::env::Env;
use crate::secret::{ApiKey, Sensitive};

pub const SERVICE: &str = "baseten-truss";
/// How long one keyring call may take before the keyring counts as unusable.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the keyring could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// The keyring backend.
pub enum Keyring {
    /// The platform's store (Secret Service on Linux, Keychain, Credential Manager).
    Native,
    /// `BASETEN_TRUSS_AUTH_KEYRING_DISABLED` is 1, true or yes: never touched.
    Disabled,
}

impl Keyring {
    pub fn from_env(env: &Env) -> Self {
        // truss accepts exactly 1, true and yes (any case).
        let disabled = env
            .get("BASETEN_TRUSS_AUTH_KEYRING_DISABLED")
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
        if disabled {
            Keyring::Disabled
        } else {
            Keyring::Native
        }
    }

    pub fn is_disabled(&self) -> bool {
        matches!(self, Keyring::Disabled)
    }

    /// Stores `payload` for `remote`.
    pub fn set(&self, remote: &str, payload: &Sensitive) -> Result<(), Unavailable> {
        let secret = Sensitive::new(payload.expose().to_owned());
        self.call(remote, move |entry| entry.set_password(secret.expose()))
    }

    /// The stored value for `remote`, if any.
    pub fn get(&self, remote: &str) -> Result<Option<Sensitive>, Unavailable> {
        self.call(remote, |entry| match entry.get_password() {
            Ok(v) => Ok(Some(Sensitive::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// Deletes the entry for `remote`; `Ok(false)` when there was none.
    pub fn delete(&self, remote: &str) -> Result<bool, Unavailable> {
        self.call(remote, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
    }

    /// Puts the entry for `remote` back as it was: `previous`, or no entry at all.
    pub fn restore(&self, remote: &str, previous: Option<&Sensitive>) -> Result<(), Unavailable> {
        match previous {
            Some(previous) => self.set(remote, previous),
            None => self.delete(remote).map(|_| ()),
        }
    }

    fn call<T, F>(&self, remote: &str, f: F) -> Result<T, Unavailable>
    where
        T: Send + 'static,
        F: FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    {
        if self.is_disabled() {
            return Err(Unavailable(
                "disabled by BASETEN_TRUSS_AUTH_KEYRING_DISABLED".into(),
            ));
        }
        let remote = remote.to_owned();
        let (tx, rx) = mpsc::channel();
        // A hung backend leaves this thread behind; the process exits soon after anyway.
        std::thread::spawn(move || {
            let result = keyring::Entry::new(SERVICE, &remote).and_then(|entry| f(&entry));
            let _ = tx.send(result.map_err(|e| e.to_string()));
        });
        match rx.recv_timeout(CALL_TIMEOUT) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(Unavailable(e)),
            Err(_) => Err(Unavailable(format!(
                "no answer within {}s (is the D-Bus session or keyring daemon hung?)",
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// The value truss stores for an API key: Python's `json.dumps` with its default separators.
pub fn api_key_payload(key: &ApiKey) -> Sensitive {
    let quoted = serde_json::to_string(key.expose()).unwrap_or_default();
    Sensitive::new(format!(
        r#"{{"auth_type": "api_key", "api_key": {quoted}}}"#
    ))
}

/// The API key in a keyring value truss wrote, if it is an api_key payload.
pub fn key_from_payload(payload: &Sensitive) -> Option<ApiKey> {
    let value: serde_json::Value = serde_json::from_str(payload.expose()).ok()?;
    if value.get("auth_type")?.as_str()? != "api_key" {
        return None;
    }
    Some(ApiKey::new(value.get("api_key")?.as_str()?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_matches_python_json_dumps() {
        let p = api_key_payload(&ApiKey::new(r"ab.c\d%".into()));
        assert_eq!(
            p.expose(),
            r#"{"auth_type": "api_key", "api_key": "ab.c\\d%"}"#
        );
        assert_eq!(key_from_payload(&p).unwrap().expose(), r"ab.c\d%");
        let oauth = Sensitive::new(r#"{"auth_type": "oauth", "oauth_access_token": "x"}"#.into());
        assert!(key_from_payload(&oauth).is_none());
    }

    #[test]
    fn disabled_exactly_as_truss_decides() {
        for v in ["1", "true", "TRUE", "yes", "Yes"] {
            assert!(
                Keyring::from_env(&Env::of(&[("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", v)]))
                    .is_disabled(),
                "{v}"
            );
        }
        for v in ["0", "false", "", "on", "no"] {
            assert!(
                !Keyring::from_env(&Env::of(&[("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", v)]))
                    .is_disabled(),
                "{v}"
            );
        }
        assert!(
            Keyring::Disabled
                .set("r", &Sensitive::new("x".into()))
                .is_err()
        );
    }
}
