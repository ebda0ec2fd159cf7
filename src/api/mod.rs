//! The Baseten API: a client (`client.rs`: proxies, CA, deadline, retries, no redirects, a capped
//! and scrubbed body, one runtime) and small endpoint functions on it: the key check,
//! `GET /v1/users/me`.
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::debug;

use crate::error::{Error, Kind, Result};
use crate::secret::ApiKey;

mod classify;
mod client;
pub mod keys;
mod proxy;
mod scrub;
mod settings;
mod tls;

pub use crate::server_text::ServerText;
pub use client::{Client, MAX_BODY, MAX_LIST_BODY, Response, USER_AGENT};
pub use proxy::{Proxies, ProxyUrl};
pub use settings::ApiSettings;

/// Who the key belongs to, as `/v1/users/me` tells (every field optional: parsed tolerantly).
/// Every value is the server's: printed only through `Output::show`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct User {
    #[serde(default)]
    pub email: Option<ServerText>,
    #[serde(default)]
    pub name: Option<ServerText>,
    #[serde(default, rename = "workspace_name")]
    pub workspace: Option<ServerText>,
}

/// How a check ended when the key was accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid(User),
    /// 403: the key authenticated but may not call the management API.
    Restricted,
}

/// The key check's endpoint.
const USERS_ME: &str = "/v1/users/me";

/// Checks `key` (from `source`, for messages) with `GET /v1/users/me`.
pub fn check_key(client: &Client, key: &ApiKey, source: &str) -> Result<Verdict> {
    check_key_meanwhile(client, key, source, || ())
}

/// [`check_key`], running `meanwhile` once the check is on its way ([`Client::get_meanwhile`]).
fn check_key_meanwhile(
    client: &Client,
    key: &ApiKey,
    source: &str,
    meanwhile: impl FnOnce(),
) -> Result<Verdict> {
    debug!(host = client.host(), "checking the API key");
    let answer = client.get_meanwhile(USERS_ME, key, meanwhile)?;
    verdict(answer, client.host(), source)
}

/// What [`check_and_find`] found by the key's prefix: the list's answer, as [`keys::find`] has it.
pub type Found = Result<keys::Answer<Option<keys::KeyInfo>>>;

/// [`check_key`], then with a `prefix` the key's lookup by it ([`keys::find`]), sent only once
/// `accept` lets the verdict through: a refusal (or an unreachable API) decides the command, and a
/// rejected key is never looked up. `meanwhile` runs once the check is on its way.
///
/// The lookup follows the check on its connection. Over TLS a second connection would cost a
/// second handshake, more than the round trip it saves; over plain HTTP, which only a nearby API
/// speaks (a gateway on the runner's network, a test server), it would cost the server an accept
/// and a handler of its own, more than one round trip on an open connection (bench/README.md).
pub fn check_and_find(
    client: &Client,
    key: &ApiKey,
    source: &str,
    prefix: Option<&str>,
    accept: impl FnOnce(Verdict) -> Result<Verdict>,
    meanwhile: impl FnOnce(),
) -> Result<(Verdict, Option<Found>)> {
    let verdict = accept(check_key_meanwhile(client, key, source, meanwhile)?)?;
    Ok((verdict, prefix.map(|p| keys::find(client, key, p))))
}

/// The verdict in the check's answer.
fn verdict(answer: Response<Map<String, Value>>, host: &str, source: &str) -> Result<Verdict> {
    match answer {
        // Any JSON object will do; a field of an unexpected type leaves the user unknown.
        Response::Ok(user) => Ok(Verdict::Valid(
            serde_json::from_value(Value::Object(user)).unwrap_or_default(),
        )),
        Response::Status { status: StatusCode::FORBIDDEN, .. } => Ok(Verdict::Restricted),
        Response::Status { status: StatusCode::UNAUTHORIZED, .. } => Err(Error::new(
            Kind::Rejected,
            format!("the Baseten API at {host} rejected the API key from {source} (401 Unauthorized)"),
        )
        .with_hint("the key is wrong, revoked or for another environment: create a new key in Baseten's settings and update the secret")),
        Response::Unparsed { status, over_cap } => Err(Error::new(
            Kind::Unreachable,
            format!(
                "{host} answered {status} but not with Baseten's user info (not a JSON object{})",
                if over_cap { ", or over 64 KiB" } else { "" }
            ),
        )
        .with_hint("check --api-url: something other than the Baseten API answered")),
        Response::Status { status, excerpt } => Err(Error::new(
            Kind::Unreachable,
            format!("the API at {host} answered {status} to the key check{excerpt}"),
        )
        .with_hint("check --api-url: this does not look like the Baseten API")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_parsed_tolerantly() {
        let u: User = serde_json::from_str(
            r#"{"user_id":"u1","email":"a@b","workspace_name":"ws","extra":[1]}"#,
        )
        .unwrap();
        assert!(u.email.is_some_and(|e| e.is("a@b")));
        assert!(u.workspace.is_some_and(|w| w.is("ws")));
        let u: User = serde_json::from_str("{}").unwrap();
        assert_eq!(u, User::default());
    }
}
