//! The Baseten API: a client (`client.rs`: proxies, CA, deadline, retries, no redirects, a capped
//! and scrubbed body, one runtime) and small endpoint functions on it: the key check,
//! `GET /v1/users/me`.
use reqwest::{Method, StatusCode};
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
    debug!(host = client.host(), "checking the API key");
    let answer = client.request(Method::GET, USERS_ME, None, key)?;
    verdict(answer, client.host(), source)
}

/// What [`check_and_find`] found by the key's prefix: the list's answer, as [`keys::find`] has it.
pub type Found = Result<keys::Answer<Option<keys::KeyInfo>>>;

/// [`check_key`], and with a `prefix` the key's lookup by it ([`keys::find`]). `accept` takes the
/// verdict first: the lookup's answer is used only when `accept` lets the verdict through, so a
/// refusal (or an unreachable API) decides the command whatever became of the lookup.
///
/// Over plain HTTP the lookup is sent at the same time as the check, on a connection of its own
/// (opening one costs next to nothing). Over TLS a second connection costs a second handshake,
/// which costs more than the wait it saves against a nearby API: there the lookup follows the
/// check on its connection, and is sent only once the verdict is accepted.
pub fn check_and_find(
    client: &Client,
    key: &ApiKey,
    source: &str,
    prefix: Option<&str>,
    accept: impl FnOnce(Verdict) -> Result<Verdict>,
) -> Result<(Verdict, Option<Found>)> {
    let Some(prefix) = prefix.filter(|_| !client.base().starts_with("https:")) else {
        let verdict = accept(check_key(client, key, source)?)?;
        return Ok((verdict, prefix.map(|p| keys::find(client, key, p))));
    };
    debug!(
        host = client.host(),
        "checking the API key and looking it up"
    );
    let judge = |answer: Result<Response<Map<String, Value>>>| {
        accept(verdict(answer?, client.host(), source)?)
    };
    let (verdict, listed) = client.get_beside(key, USERS_ME, (keys::LIST, MAX_LIST_BODY), judge)?;
    Ok((
        verdict,
        Some(listed.map(|answer| keys::found(answer, prefix))),
    ))
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
