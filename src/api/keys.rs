//! The management API's keys, as Baseten publishes it: list them (and so find one by its prefix),
//! create one for the workspace or a team, delete one, and list the teams. Which key types may
//! call which endpoint is not documented, so a refusal is an answer the caller weighs, not an
//! error; an unreachable API is an error, as for the key check.
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::client::MAX_LIST_BODY;
use super::{Client, Response, ServerText};
use crate::error::{Kind, Result};
use crate::secret::ApiKey;

/// A key as `GET /v1/api_keys` describes it (`APIKeyInfo`); unknown types are kept as given.
/// Every value is the server's ([`ServerText`]): printed only through `Output::show`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub prefix: ServerText,
    #[serde(default)]
    pub name: Option<ServerText>,
    #[serde(rename = "type")]
    pub kind: ServerText,
    #[serde(default)]
    pub model_ids: Option<Vec<ServerText>>,
    #[serde(default)]
    pub team_name: Option<ServerText>,
    #[serde(default)]
    pub created_at: Option<ServerText>,
    #[serde(default)]
    pub last_used_at: Option<ServerText>,
    /// Only for personal keys.
    #[serde(default)]
    pub owner: Option<Owner>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Owner {
    #[serde(default)]
    pub email: Option<ServerText>,
    #[serde(default)]
    pub name: Option<ServerText>,
}

/// A team (`GET /v1/teams`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Team {
    pub id: ServerText,
    pub name: ServerText,
    #[serde(default)]
    pub default: bool,
}

/// What a key asks to be created with (`CreateAPIKeyRequest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub name: String,
    /// The API's spelling (`WORKSPACE_INVOKE`).
    pub kind: String,
    pub model_ids: Vec<String>,
    /// A team's id: the key is created for that team (`POST /v1/teams/{id}/api_keys`).
    pub team_id: Option<String>,
}

/// How the API declined a management call: a refusal (403: this key may not do it) or another
/// answer, with a plain excerpt of what it said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Declined {
    Forbidden,
    Status(StatusCode, String),
    /// A 2xx whose body was not the published shape.
    Unexpected(StatusCode),
    /// A 2xx whose body was larger than truss-ci reads (this many bytes).
    TooLarge(usize),
}

impl Declined {
    /// Whether the API said plainly that it did nothing: a 4xx. A 2xx it could not read, or a
    /// 5xx, may have done it.
    pub fn nothing_created(&self) -> bool {
        match self {
            Declined::Forbidden => true,
            Declined::Status(status, _) => status.is_client_error(),
            Declined::Unexpected(_) | Declined::TooLarge(_) => false,
        }
    }

    /// What the refusal makes of a command that needed the answer: the key was refused (3), or
    /// the API did not answer as it should (4) — never "rejected" for an answer too large.
    pub fn kind(&self) -> Kind {
        match self {
            Declined::Forbidden => Kind::Rejected,
            Declined::Status(StatusCode::UNAUTHORIZED, _) => Kind::Rejected,
            Declined::Status(..) | Declined::Unexpected(_) | Declined::TooLarge(_) => {
                Kind::Unreachable
            }
        }
    }
}

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Declined::Forbidden => f.write_str("the API refused it to this key (403)"),
            Declined::Status(status, excerpt) => write!(f, "the API answered {status}{excerpt}"),
            Declined::Unexpected(status) => {
                write!(
                    f,
                    "the API answered {status} with something other than the published shape"
                )
            }
            Declined::TooLarge(cap) => write!(
                f,
                "the API's answer is larger than the {} MiB truss-ci reads",
                cap / (1024 * 1024)
            ),
        }
    }
}

/// The outcome of a management call the API answered.
pub type Answer<T> = std::result::Result<T, Declined>;

fn answer<T, U>(response: Response<T>, then: impl FnOnce(T) -> U) -> Answer<U> {
    answer_capped(response, 0, then)
}

/// [`answer`] for a request read up to `cap` bytes: a body cut there is too large, not malformed.
fn answer_capped<T, U>(response: Response<T>, cap: usize, then: impl FnOnce(T) -> U) -> Answer<U> {
    match response {
        Response::Ok(v) => Ok(then(v)),
        Response::Status {
            status: StatusCode::FORBIDDEN,
            ..
        } => Err(Declined::Forbidden),
        Response::Status { status, excerpt } => Err(Declined::Status(status, excerpt)),
        Response::Unparsed { over_cap: true, .. } if cap > 0 => Err(Declined::TooLarge(cap)),
        Response::Unparsed { status, .. } => Err(Declined::Unexpected(status)),
    }
}

/// The list of keys' endpoint.
pub(super) const LIST: &str = "/v1/api_keys";

/// The list's answer.
#[derive(Deserialize)]
pub(super) struct Keys {
    keys: Vec<KeyInfo>,
}

/// Every key the API shows to `key` (`GET /v1/api_keys`, not paged): read up to
/// [`MAX_LIST_BODY`], room for tens of thousands of keys; a longer list is [`Declined::TooLarge`].
pub fn list(client: &Client, key: &ApiKey) -> Result<Answer<Vec<KeyInfo>>> {
    let response = client.request_capped::<Keys>(Method::GET, LIST, None, key, MAX_LIST_BODY)?;
    Ok(listed(response))
}

fn listed(response: Response<Keys>) -> Answer<Vec<KeyInfo>> {
    answer_capped(response, MAX_LIST_BODY, |k| k.keys)
}

/// The key whose prefix is `prefix`, among those the API shows to `key`.
pub fn find(client: &Client, key: &ApiKey, prefix: &str) -> Result<Answer<Option<KeyInfo>>> {
    let response = client.request_capped::<Keys>(Method::GET, LIST, None, key, MAX_LIST_BODY)?;
    Ok(found(response, prefix))
}

/// The key whose prefix is `prefix` in the list's answer.
pub(super) fn found(response: Response<Keys>, prefix: &str) -> Answer<Option<KeyInfo>> {
    listed(response).map(|keys| keys.into_iter().find(|k| k.prefix.is(prefix)))
}

#[derive(Deserialize)]
struct Created {
    api_key: ApiKey,
}

/// Creates a key with `key` (sent once): for the team `new.team_id` when given, else for the
/// workspace. The new key is armed into the client's scrubber before its answer is parsed.
pub fn create(client: &Client, key: &ApiKey, new: &NewKey) -> Result<Answer<ApiKey>> {
    let path = match &new.team_id {
        Some(team) => format!("/v1/teams/{}/api_keys", segment(team)),
        None => "/v1/api_keys".to_owned(),
    };
    let mut body = json!({ "name": new.name, "type": new.kind });
    if !new.model_ids.is_empty() {
        body["model_ids"] = json!(new.model_ids);
    }
    if let Some(team) = &new.team_id {
        body["team_id"] = json!(team);
    }
    let response = client.request::<Created>(Method::POST, &path, Some(&body), key)?;
    Ok(answer(response, |c| c.api_key))
}

#[derive(Deserialize)]
struct Tombstone {
    prefix: String,
}

/// Deletes the key whose prefix is `prefix` (`DELETE /v1/api_keys/{prefix}`); the answer names
/// the prefix deleted.
pub fn delete(client: &Client, key: &ApiKey, prefix: &str) -> Result<Answer<String>> {
    let path = format!("/v1/api_keys/{}", segment(prefix));
    let response = client.request::<Tombstone>(Method::DELETE, &path, None, key)?;
    Ok(answer(response, |t| t.prefix))
}

#[derive(Deserialize)]
struct Teams {
    teams: Vec<Team>,
}

/// The teams of the workspace (`GET /v1/teams`).
pub fn teams(client: &Client, key: &ApiKey) -> Result<Answer<Vec<Team>>> {
    let response = client.request::<Teams>(Method::GET, "/v1/teams", None, key)?;
    Ok(answer(response, |t| t.teams))
}

/// A key's prefix: the text before its first `.` (the whole key when it has none).
pub fn prefix_of(key: &ApiKey) -> &str {
    let text = key.expose();
    text.split_once('.').map_or(text, |(prefix, _)| prefix)
}

/// Whether `prefix` is one a key can have: 1 to 64 letters, digits, `_` or `-` (what an undo
/// record may hold, and what a listed key's prefix must be to be sent back in a DELETE).
pub fn prefix_shaped(prefix: &str) -> bool {
    (1..=64).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The API's type in the flags' spelling: `WORKSPACE_INVOKE` → `workspace-invoke`.
pub fn kebab(kind: &str) -> String {
    kind.to_ascii_lowercase().replace('_', "-")
}

/// A flag's type in the API's spelling: `workspace-invoke` → `WORKSPACE_INVOKE`.
pub fn screaming(kind: &str) -> String {
    kind.to_ascii_uppercase().replace('-', "_")
}

/// One path segment, percent-encoded beyond what is plainly safe.
fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_shapes_parse_and_unknown_types_are_data() {
        let v = serde_json::json!({"keys": [
            {"prefix": "abc", "name": "ci", "type": "WORKSPACE_INVOKE", "model_ids": ["m1"],
             "team_name": "ml", "created_at": "2026-11-01T00:00:00Z", "last_used_at": null},
            {"prefix": "def", "type": "SOMETHING_NEW", "created_at": "2026-11-01T00:00:00Z",
             "owner": {"user_id": "u", "email": "a@b"}},
        ]});
        let keys: Keys = serde_json::from_value(v).unwrap();
        assert!(keys.keys[0].model_ids.as_ref().unwrap()[0].is("m1"));
        assert!(keys.keys[1].kind.is("SOMETHING_NEW"));
        let owner = keys.keys[1].owner.as_ref().unwrap();
        assert!(owner.email.as_ref().unwrap().is("a@b"));
        assert_eq!(kebab("WORKSPACE_MANAGE_ALL"), "workspace-manage-all");
        assert_eq!(
            screaming("workspace-export-metrics"),
            "WORKSPACE_EXPORT_METRICS"
        );
        assert_eq!(segment("a.b/c"), "a%2Eb%2Fc");
        assert_eq!(prefix_of(&ApiKey::new("pre.rest.more".into())), "pre");
    }
}
