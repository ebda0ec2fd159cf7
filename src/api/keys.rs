//! The management API's keys, as Baseten publishes it: list them (and so find one by its prefix),
//! create one for the workspace or a team, delete one, and list the teams. Which key types may
//! call which endpoint is not documented, so a refusal is an answer the caller weighs, not an
//! error; an unreachable API is an error, as for the key check.
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Client, Response};
use crate::error::Result;
use crate::secret::ApiKey;

/// A key as `GET /v1/api_keys` describes it (`APIKeyInfo`); unknown types are kept as given.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub prefix: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub model_ids: Option<Vec<String>>,
    #[serde(default)]
    pub team_name: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub last_used_at: Option<String>,
    /// Only for personal keys.
    #[serde(default)]
    pub owner: Option<Owner>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Owner {
    #[serde(default, skip_serializing)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// A team (`GET /v1/teams`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Team {
    pub id: String,
    pub name: String,
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
        }
    }
}

/// The outcome of a management call the API answered.
pub type Answer<T> = std::result::Result<T, Declined>;

fn answer<T, U>(response: Response<T>, then: impl FnOnce(T) -> U) -> Answer<U> {
    match response {
        Response::Ok(v) => Ok(then(v)),
        Response::Status {
            status: StatusCode::FORBIDDEN,
            ..
        } => Err(Declined::Forbidden),
        Response::Status { status, excerpt } => Err(Declined::Status(status, excerpt)),
        Response::Unparsed { status, .. } => Err(Declined::Unexpected(status)),
    }
}

#[derive(Deserialize)]
struct Keys {
    keys: Vec<KeyInfo>,
}

/// Every key the API shows to `key` (`GET /v1/api_keys`).
pub fn list(client: &Client, key: &ApiKey) -> Result<Answer<Vec<KeyInfo>>> {
    let response = client.request::<Keys>(Method::GET, "/v1/api_keys", None, key)?;
    Ok(answer(response, |k| k.keys))
}

/// The key whose prefix is `prefix`, among those the API shows to `key`.
pub fn find(client: &Client, key: &ApiKey, prefix: &str) -> Result<Answer<Option<KeyInfo>>> {
    Ok(list(client, key)?.map(|keys| keys.into_iter().find(|k| k.prefix == prefix)))
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
        assert_eq!(
            keys.keys[0].model_ids.as_deref(),
            Some(&["m1".to_owned()][..])
        );
        assert_eq!(keys.keys[1].kind, "SOMETHING_NEW");
        assert_eq!(
            keys.keys[1].owner.as_ref().unwrap().email.as_deref(),
            Some("a@b")
        );
        assert_eq!(kebab("WORKSPACE_MANAGE_ALL"), "workspace-manage-all");
        assert_eq!(
            screaming("workspace-export-metrics"),
            "WORKSPACE_EXPORT_METRICS"
        );
        assert_eq!(segment("a.b/c"), "a%2Eb%2Fc");
        assert_eq!(prefix_of(&ApiKey::new("pre.rest.more".into())), "pre");
    }
}
