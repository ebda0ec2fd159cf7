//! The OS keyring, where truss looks: service `baseten-truss`, account = the remote name, value the
//! JSON truss reads. keyring-core with the platform's store (Secret Service over D-Bus, Keychain,
//! Credential Manager) behind the default `keyring` feature; a store can be handed in (the mock
//! store, in tests). Every call runs on its own thread with a deadline, so a hung D-Bus never
//! hangs a CI job.
#[cfg(feature = "keyring")]
use std::sync::{Arc, mpsc};
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
    /// The platform's store.
    Native,
    /// `BASETEN_TRUSS_AUTH_KEYRING_DISABLED` is 1, true or yes: never touched.
    Disabled,
    /// Linux with no D-Bus session bus to reach: unusable, known without a connection attempt.
    NoSession,
    /// A store handed in (keyring-core's mock store, in tests).
    #[cfg(feature = "keyring")]
    Store(Arc<keyring_core::CredentialStore>),
    /// Test builds only: one file per entry in a directory (`TRUSS_CI_TEST_KEYRING_DIR`), a store
    /// that outlives a process, so that tests can run logins and posts as separate jobs.
    #[cfg(feature = "test-hooks")]
    Dir(std::path::PathBuf),
}

/// What a keyring lookup found.
type Found<T> = Result<T, String>;

impl Keyring {
    pub fn from_env(env: &Env) -> Self {
        // truss accepts exactly 1, true and yes (any case).
        let disabled = env
            .get(crate::env::names::BASETEN_TRUSS_AUTH_KEYRING_DISABLED)
            .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
        #[cfg(feature = "test-hooks")]
        if let Some(dir) = env.get_nonblank("TRUSS_CI_TEST_KEYRING_DIR") {
            return Keyring::Dir(dir.into());
        }
        if disabled {
            Keyring::Disabled
        } else if no_session_bus(env) {
            Keyring::NoSession
        } else {
            Keyring::Native
        }
    }

    pub fn is_disabled(&self) -> bool {
        matches!(self, Keyring::Disabled)
    }

    /// Stores `payload` for `remote`.
    pub fn set(&self, remote: &str, payload: &Sensitive) -> Result<(), Unavailable> {
        self.set_in(SERVICE, remote, payload)
    }

    /// The stored value for `remote`, if any.
    pub fn get(&self, remote: &str) -> Result<Option<Sensitive>, Unavailable> {
        self.get_in(SERVICE, remote)
    }

    /// Deletes the entry for `remote`; `Ok(false)` when there was none.
    pub fn delete(&self, remote: &str) -> Result<bool, Unavailable> {
        self.delete_in(SERVICE, remote)
    }

    /// Puts the entry for `remote` back as it was: `previous`, or no entry at all.
    pub fn restore(&self, remote: &str, previous: Option<&Sensitive>) -> Result<(), Unavailable> {
        self.restore_in(SERVICE, remote, previous)
    }

    /// Stores `payload` for `account` of `service`.
    pub fn set_in(
        &self,
        service: &'static str,
        account: &str,
        payload: &Sensitive,
    ) -> Result<(), Unavailable> {
        #[cfg(feature = "test-hooks")]
        if let Keyring::Dir(dir) = self {
            return std::fs::write(dir.join(test_entry(service, account)), payload.expose())
                .map_err(|e| Unavailable(e.to_string()));
        }
        let secret = Sensitive::new(payload.expose().to_owned());
        self.call(service, account, move |entry| {
            entry
                .set_password(secret.expose())
                .map_err(|e| e.to_string())
        })
    }

    /// The stored value for `account` of `service`, if any.
    pub fn get_in(
        &self,
        service: &'static str,
        account: &str,
    ) -> Result<Option<Sensitive>, Unavailable> {
        #[cfg(feature = "test-hooks")]
        if let Keyring::Dir(dir) = self {
            return match std::fs::read_to_string(dir.join(test_entry(service, account))) {
                Ok(v) => Ok(Some(Sensitive::new(v))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Unavailable(e.to_string())),
            };
        }
        self.call(service, account, |entry| match entry.get_password() {
            Ok(v) => Ok(Some(Sensitive::new(v))),
            Err(e) if is_no_entry(&e) => Ok(None),
            Err(e) => Err(e.to_string()),
        })
    }

    /// Deletes the entry for `account` of `service`; `Ok(false)` when there was none.
    pub fn delete_in(&self, service: &'static str, account: &str) -> Result<bool, Unavailable> {
        #[cfg(feature = "test-hooks")]
        if let Keyring::Dir(dir) = self {
            return match std::fs::remove_file(dir.join(test_entry(service, account))) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(Unavailable(e.to_string())),
            };
        }
        self.call(service, account, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(e) if is_no_entry(&e) => Ok(false),
            Err(e) => Err(e.to_string()),
        })
    }

    /// Puts the entry for `account` of `service` back as it was: `previous`, or none at all.
    pub fn restore_in(
        &self,
        service: &'static str,
        account: &str,
        previous: Option<&Sensitive>,
    ) -> Result<(), Unavailable> {
        match previous {
            Some(previous) => self.set_in(service, account, previous),
            None => self.delete_in(service, account).map(|_| ()),
        }
    }

    #[cfg(feature = "keyring")]
    fn call<T, F>(&self, service: &'static str, account: &str, f: F) -> Result<T, Unavailable>
    where
        T: Send + 'static,
        F: FnOnce(&keyring_core::Entry) -> Found<T> + Send + 'static,
    {
        let store = match self {
            Keyring::Disabled => {
                return Err(Unavailable(
                    "disabled by BASETEN_TRUSS_AUTH_KEYRING_DISABLED".into(),
                ));
            }
            Keyring::NoSession => return Err(Unavailable(NO_SESSION.into())),
            Keyring::Native => None,
            Keyring::Store(store) => Some(Arc::clone(store)),
            #[cfg(feature = "test-hooks")]
            Keyring::Dir(_) => return Err(Unavailable("a test store".into())),
        };
        let account = account.to_owned();
        let (tx, rx) = mpsc::channel();
        // A hung backend leaves this thread behind; the process exits soon after anyway.
        std::thread::spawn(move || {
            let result = store
                .map_or_else(native_store, Ok)
                .and_then(|store| {
                    store
                        .build(service, &account, None)
                        .map_err(|e| e.to_string())
                })
                .and_then(|entry| f(&entry));
            let _ = tx.send(result);
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

    #[cfg(not(feature = "keyring"))]
    fn call<T, F>(&self, _service: &str, _account: &str, _f: F) -> Result<T, Unavailable>
    where
        F: FnOnce(&NoEntry) -> Found<T>,
    {
        Err(Unavailable(if self.is_disabled() {
            "disabled by BASETEN_TRUSS_AUTH_KEYRING_DISABLED".into()
        } else {
            "this truss-ci was built without keyring support (the `keyring` feature)".into()
        }))
    }
}

#[cfg(feature = "keyring")]
const NO_SESSION: &str = "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no socket where the bus would be)";

/// Whether Linux's Secret Service is out of reach before any connection: no
/// `DBUS_SESSION_BUS_ADDRESS`, and no socket where the D-Bus library looks without one
/// (`$XDG_RUNTIME_DIR/bus`, else `/run/user/<uid>/bus`). Elsewhere, never.
fn no_session_bus(env: &Env) -> bool {
    #[cfg(all(target_os = "linux", feature = "keyring"))]
    {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        if set(&env.vars.dbus_session_bus_address) {
            return false;
        }
        let dir = match env
            .vars
            .xdg_runtime_dir
            .as_deref()
            .filter(|d| !d.is_empty())
        {
            Some(dir) => std::path::PathBuf::from(dir),
            None => format!("/run/user/{}", rustix::process::getuid().as_raw()).into(),
        };
        !dir.join("bus").exists()
    }
    #[cfg(not(all(target_os = "linux", feature = "keyring")))]
    {
        let _ = env;
        false
    }
}

/// The test store's file for an entry: truss's entries by account alone, as before.
#[cfg(feature = "test-hooks")]
fn test_entry(service: &str, account: &str) -> String {
    if service == SERVICE {
        account.to_owned()
    } else {
        format!("{service}:{account}")
    }
}

#[cfg(feature = "keyring")]
fn is_no_entry(e: &keyring_core::Error) -> bool {
    matches!(e, keyring_core::Error::NoEntry)
}

/// The platform's credential store.
#[cfg(feature = "keyring")]
fn native_store() -> Found<Arc<keyring_core::CredentialStore>> {
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    let store: Arc<keyring_core::CredentialStore> =
        zbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
    #[cfg(target_os = "macos")]
    let store: Arc<keyring_core::CredentialStore> =
        apple_native_keyring_store::keychain::Store::new().map_err(|e| e.to_string())?;
    #[cfg(target_os = "windows")]
    let store: Arc<keyring_core::CredentialStore> =
        windows_native_keyring_store::Store::new().map_err(|e| e.to_string())?;
    #[cfg(not(any(unix, windows)))]
    return Err("no keyring on this platform".into());
    #[cfg(any(unix, windows))]
    Ok(store)
}

/// Without the `keyring` feature no entry is ever built.
#[cfg(not(feature = "keyring"))]
pub enum NoEntry {}

#[cfg(not(feature = "keyring"))]
impl NoEntry {
    fn get_password(&self) -> Result<String, NoEntry> {
        match *self {}
    }

    fn set_password(&self, _: &str) -> Result<(), NoEntry> {
        match *self {}
    }

    fn delete_credential(&self) -> Result<(), NoEntry> {
        match *self {}
    }
}

#[cfg(not(feature = "keyring"))]
impl std::fmt::Display for NoEntry {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

#[cfg(not(feature = "keyring"))]
fn is_no_entry(e: &NoEntry) -> bool {
    match *e {}
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

    #[cfg(feature = "keyring")]
    fn mock() -> Keyring {
        Keyring::Store(keyring_core::mock::Store::new().unwrap())
    }

    #[test]
    #[cfg(feature = "keyring")]
    fn store_get_delete_and_restore_against_a_mock_store() {
        let k = mock();
        assert_eq!(k.get("r").unwrap().map(|s| s.expose().to_owned()), None);
        let payload = api_key_payload(&ApiKey::new("k.abc".into()));
        k.set("r", &payload).unwrap();
        assert_eq!(k.get("r").unwrap().unwrap().expose(), payload.expose());
        let previous = Sensitive::new(r#"{"auth_type": "api_key", "api_key": "OLD"}"#.into());
        k.restore("r", Some(&previous)).unwrap();
        assert_eq!(k.get("r").unwrap().unwrap().expose(), previous.expose());
        k.restore("r", None).unwrap();
        assert!(k.get("r").unwrap().is_none());
        assert!(!k.delete("r").unwrap(), "nothing left to delete");
    }
}
