//! A fake of Baseten's management API for keys, with the shapes its published OpenAPI gives
//! (generated into the `baseten` Python SDK 0.13.1, `baseten/client/managementapi/_models.py`):
//! `GET /v1/api_keys` → `{"keys": [APIKeyInfo]}`, `POST /v1/api_keys` and
//! `POST /v1/teams/{team_id}/api_keys` with `{name, type, model_ids, team_id}` → `{"api_key"}`,
//! `DELETE /v1/api_keys/{prefix}` → `{"prefix"}`, `GET /v1/teams` → `{"teams": [Team]}`; and the
//! key check (`GET /v1/users/me`) and `truss whoami` (`POST /graphql/`). Keys it mints
//! authenticate until deleted. Which key types may call what is configurable, so that both the
//! allowed and the 403 paths can be tested (Baseten does not document it).
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{FakeApi, GRAPHQL_JSON, Reply, Request, USER_JSON};

/// 2026-11-30T05:13:00Z: the clock of the job-key tests, pinned through `TRUSS_CI_TEST_NOW`, which
/// only test builds (`--features test-hooks`) read; elsewhere a run reads the wall clock.
pub const NOW: &str = "1796015580";

/// An expiry (`yyyymmddhhmm`) long past on either clock: a job key named with it has expired.
pub const LONG_EXPIRED: &str = "200001010000";
/// An expiry still to come on either clock: a job key named with it has not expired.
pub const FAR_OFF: &str = "209912311200";

/// A GitLab job `job` logging in with `key` at the API `url`, on the job-key tests' clock.
pub fn key_job(env: &mut super::TestEnv, job: &str, url: &str, key: &str) {
    env.set("GITLAB_CI", "true")
        .set("CI_JOB_ID", job)
        .set("BASETEN_API_KEY", key)
        .set("BASETEN_REMOTE_URL", url)
        .set("TRUSS_CI_TEST_NOW", NOW);
}

pub const PERSONAL: &str = "PERSONAL";
pub const MANAGE_ALL: &str = "WORKSPACE_MANAGE_ALL";
pub const INVOKE: &str = "WORKSPACE_INVOKE";
pub const EXPORT_METRICS: &str = "WORKSPACE_EXPORT_METRICS";
pub const MANAGE_API_KEYS: &str = "WORKSPACE_MANAGE_API_KEYS";

/// What a key may call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Endpoint {
    UsersMe,
    ListKeys,
    CreateKey,
    DeleteKey,
    ListTeams,
}

/// One key as the server holds it.
#[derive(Clone, Debug)]
pub struct Key {
    pub prefix: String,
    pub secret: String,
    pub name: Option<String>,
    pub kind: String,
    pub model_ids: Option<Vec<String>>,
    pub team_id: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl Key {
    pub fn full(&self) -> String {
        format!("{}.{}", self.prefix, self.secret)
    }

    fn info(&self, teams: &[(String, String)]) -> Value {
        let team_name = self
            .team_id
            .as_ref()
            .and_then(|id| teams.iter().find(|(i, _)| i == id))
            .map(|(_, n)| n.clone());
        let mut v = json!({
            "prefix": self.prefix,
            "name": self.name,
            "type": self.kind,
            "model_ids": self.model_ids,
            "team_name": team_name,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
        });
        if self.kind == PERSONAL {
            v["owner"] =
                json!({"user_id": "u_123", "email": "ci-bot@example.com", "name": "CI Bot"});
        }
        v
    }
}

#[derive(Debug)]
pub struct State {
    pub keys: Vec<Key>,
    /// (id, name); the first is the organisation's default team.
    pub teams: Vec<(String, String)>,
    /// (key type, endpoint) pairs that answer 403.
    pub forbidden: BTreeSet<(String, Endpoint)>,
    /// Every key ever deleted, by prefix, in order.
    pub deleted: Vec<String>,
    /// What a create answers instead of a new key (a server that hands back an existing key,
    /// or something that is not one); nothing is created then.
    pub create_answer: Option<String>,
    minted: usize,
}

/// The fake's state, shared with the test that started it.
#[derive(Clone)]
pub struct Baseten {
    pub state: Arc<Mutex<State>>,
}

impl Default for Baseten {
    fn default() -> Self {
        Self::new()
    }
}

impl Baseten {
    /// Teams `default` (the organisation's default) and `ml`; every type may call everything but
    /// what Baseten's key types plainly cannot: invoke and metrics keys are refused the
    /// management API (403), as today's key check expects of a restricted key.
    pub fn new() -> Self {
        let mut forbidden = BTreeSet::new();
        for kind in [INVOKE, EXPORT_METRICS] {
            for e in [
                Endpoint::UsersMe,
                Endpoint::ListKeys,
                Endpoint::CreateKey,
                Endpoint::DeleteKey,
                Endpoint::ListTeams,
            ] {
                forbidden.insert((kind.to_owned(), e));
            }
        }
        Self {
            state: Arc::new(Mutex::new(State {
                keys: Vec::new(),
                teams: vec![
                    ("t_default".into(), "default".into()),
                    ("t_ml".into(), "ml".into()),
                ],
                forbidden,
                deleted: Vec::new(),
                create_answer: None,
                minted: 0,
            })),
        }
    }

    /// Adds a key of `kind` named `name` and returns it whole.
    pub fn add(&self, kind: &str, name: Option<&str>) -> String {
        let mut state = self.state.lock().unwrap();
        let key = mint(&mut state, kind, name.map(str::to_owned), None, None);
        let full = key.full();
        state.keys.push(key);
        full
    }

    /// Adds `n` keys of `kind` named `name-<i>`: a large workspace.
    pub fn add_many(&self, n: usize, kind: &str, name: &str) {
        let mut state = self.state.lock().unwrap();
        for i in 0..n {
            let key = mint(&mut state, kind, Some(format!("{name}-{i}")), None, None);
            state.keys.push(key);
        }
    }

    /// Makes every create answer `full` and create nothing.
    pub fn answer_creates_with(&self, full: &str) {
        self.state.lock().unwrap().create_answer = Some(full.to_owned());
    }

    /// Adds a key exactly as given (`prefix.secret`).
    pub fn add_exact(&self, full: &str, kind: &str, name: Option<&str>) {
        let (prefix, secret) = full.split_once('.').unwrap();
        self.state.lock().unwrap().keys.push(Key {
            prefix: prefix.to_owned(),
            secret: secret.to_owned(),
            name: name.map(str::to_owned),
            kind: kind.to_owned(),
            model_ids: None,
            team_id: None,
            created_at: "2026-11-01T00:00:00Z".into(),
            last_used_at: None,
        });
    }

    /// Makes `endpoint` answer 403 (or not) to keys of `kind`.
    pub fn forbid(&self, kind: &str, endpoint: Endpoint, forbidden: bool) -> &Self {
        let mut state = self.state.lock().unwrap();
        let entry = (kind.to_owned(), endpoint);
        if forbidden {
            state.forbidden.insert(entry);
        } else {
            state.forbidden.remove(&entry);
        }
        self
    }

    pub fn keys(&self) -> Vec<Key> {
        self.state.lock().unwrap().keys.clone()
    }

    /// The keys truss-ci minted (named `truss-ci-…`) that are still alive.
    pub fn job_keys(&self) -> Vec<Key> {
        self.keys()
            .into_iter()
            .filter(|k| {
                k.name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("truss-ci-"))
            })
            .collect()
    }

    pub fn deleted(&self) -> Vec<String> {
        self.state.lock().unwrap().deleted.clone()
    }

    /// Serves it on 127.0.0.1, every JSON object it answers also quoting the key the request
    /// presented (`"detail": "Api-Key …"`): a server that echoes keys back.
    pub fn start_echoing(&self) -> FakeApi {
        self.start_rewriting(|req, answer| {
            let presented = req.header("authorization").unwrap_or_default();
            answer.insert("detail".into(), json!(format!("you sent {presented}")));
        })
    }

    /// Serves it on 127.0.0.1, letting `rewrite` change each JSON object it answers (given the
    /// request): a server that says what it likes in any field.
    pub fn start_rewriting(
        &self,
        rewrite: impl Fn(&Request, &mut serde_json::Map<String, Value>) + Send + Sync + 'static,
    ) -> FakeApi {
        let state = Arc::clone(&self.state);
        FakeApi::start(
            move |req, _| match answer(&mut state.lock().unwrap(), req) {
                Reply::Http(status, headers, body) => {
                    let body = match serde_json::from_slice::<Value>(&body) {
                        Ok(Value::Object(mut o)) => {
                            rewrite(req, &mut o);
                            serde_json::to_vec(&o).unwrap()
                        }
                        _ => body,
                    };
                    Reply::Http(status, headers, body)
                }
                other => other,
            },
        )
    }

    /// Serves it on 127.0.0.1.
    pub fn start(&self) -> FakeApi {
        self.start_with(|_| {})
    }

    /// Serves it on 127.0.0.1, calling `before` with each request before answering it (to hold
    /// an answer back while a test acts).
    pub fn start_with(&self, before: impl Fn(&Request) + Send + Sync + 'static) -> FakeApi {
        let state = Arc::clone(&self.state);
        FakeApi::start(move |req, _| {
            before(req);
            answer(&mut state.lock().unwrap(), req)
        })
    }
}

fn mint(
    state: &mut State,
    kind: &str,
    name: Option<String>,
    model_ids: Option<Vec<String>>,
    team_id: Option<String>,
) -> Key {
    state.minted += 1;
    let n = state.minted;
    Key {
        prefix: format!("Mint{n:04}"),
        secret: format!("S{n:04}xq7Lw3pTtZz9KeyBody{n:04}"),
        name,
        kind: kind.to_owned(),
        model_ids,
        team_id,
        created_at: "2026-11-30T00:00:00Z".into(),
        last_used_at: None,
    }
}

fn json_reply(status: u16, v: &Value) -> Reply {
    Reply::json(status, &v.to_string())
}

fn error(status: u16, detail: &str) -> Reply {
    json_reply(status, &json!({ "error": detail }))
}

/// Key names Baseten accepts: lowercase letters, digits and hyphens.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn answer(state: &mut State, req: &Request) -> Reply {
    let auth = req.header("authorization").unwrap_or_default();
    let presented = auth
        .strip_prefix("Api-Key ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Some(caller) = state.keys.iter_mut().find(|k| k.full() == presented) else {
        return error(401, "invalid api key");
    };
    caller.last_used_at = Some("2026-11-30T01:02:03Z".into());
    let caller = caller.clone();
    let (path, query) = req.path.split_once('?').unwrap_or((&req.path, ""));
    let endpoint = match (req.method.as_str(), path) {
        ("GET", "/v1/users/me") => Endpoint::UsersMe,
        ("POST", "/graphql/") => return Reply::json(200, GRAPHQL_JSON),
        ("GET", "/v1/api_keys") => Endpoint::ListKeys,
        ("POST", "/v1/api_keys") => Endpoint::CreateKey,
        ("POST", p) if p.starts_with("/v1/teams/") && p.ends_with("/api_keys") => {
            Endpoint::CreateKey
        }
        ("DELETE", p) if p.starts_with("/v1/api_keys/") => Endpoint::DeleteKey,
        ("GET", "/v1/teams") => Endpoint::ListTeams,
        _ => return error(404, "not found"),
    };
    if state.forbidden.contains(&(caller.kind.clone(), endpoint)) {
        return error(403, "this API key may not call this endpoint");
    }
    match endpoint {
        Endpoint::UsersMe => Reply::json(200, USER_JSON),
        Endpoint::ListTeams => {
            let teams: Vec<Value> = state
                .teams
                .iter()
                .enumerate()
                .map(|(i, (id, name))| {
                    json!({"id": id, "name": name, "default": i == 0, "created_at": "2026-01-01T00:00:00Z"})
                })
                .collect();
            json_reply(200, &json!({ "teams": teams }))
        }
        Endpoint::ListKeys => {
            let kind = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("type="))
                .map(str::to_owned);
            let keys: Vec<Value> = state
                .keys
                .iter()
                .filter(|k| kind.as_ref().is_none_or(|t| &k.kind == t))
                .map(|k| k.info(&state.teams))
                .collect();
            json_reply(200, &json!({ "keys": keys }))
        }
        Endpoint::DeleteKey => {
            let prefix = path.trim_start_matches("/v1/api_keys/").to_owned();
            match state.keys.iter().position(|k| k.prefix == prefix) {
                Some(i) => {
                    state.keys.remove(i);
                    state.deleted.push(prefix.clone());
                    json_reply(200, &json!({ "prefix": prefix }))
                }
                None => error(404, "no such api key"),
            }
        }
        Endpoint::CreateKey => create(state, req, path),
    }
}

fn create(state: &mut State, req: &Request, path: &str) -> Reply {
    if let Some(full) = &state.create_answer {
        return json_reply(200, &json!({ "api_key": full }));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
        return error(422, "the body is not JSON");
    };
    let kind = body["type"].as_str().unwrap_or_default().to_owned();
    if kind.is_empty() {
        return error(422, "type is required");
    }
    let name = body["name"].as_str().map(str::to_owned);
    if name.as_deref().is_some_and(|n| !valid_name(n)) {
        return error(
            400,
            "name may hold lowercase letters, digits and hyphens only",
        );
    }
    let url_team = path
        .strip_prefix("/v1/teams/")
        .and_then(|p| p.strip_suffix("/api_keys"))
        .map(str::to_owned);
    let body_team = body["team_id"].as_str().map(str::to_owned);
    if let (Some(u), Some(b)) = (&url_team, &body_team)
        && u != b
    {
        return error(400, "team_id does not match the team in the URL");
    }
    let team = url_team.or(body_team);
    if let Some(t) = &team
        && !state.teams.iter().any(|(id, _)| id == t)
    {
        return error(404, "no such team");
    }
    if team.is_some() && [PERSONAL, MANAGE_API_KEYS].contains(&kind.as_str()) {
        return error(400, "team-scoped keys are not supported for this type");
    }
    let model_ids = body["model_ids"].as_array().map(|ids| {
        ids.iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    let team = team.or_else(|| {
        (![PERSONAL, MANAGE_API_KEYS].contains(&kind.as_str())).then(|| state.teams[0].0.clone())
    });
    let key = mint(state, &kind, name, model_ids, team);
    let full = key.full();
    state.keys.push(key);
    json_reply(200, &json!({ "api_key": full }))
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn the_fake_lists_creates_and_deletes_as_published() {
        let fake = Baseten::new();
        let admin = fake.add(MANAGE_ALL, Some("ci"));
        let call = |method: &str, path: &str, key: &str, body: Option<Value>| {
            let req = Request {
                method: method.into(),
                path: path.into(),
                headers: vec![("authorization".into(), format!("Api-Key {key}"))],
                body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
            };
            match answer(&mut fake.state.lock().unwrap(), &req) {
                Reply::Http(status, _, body) => {
                    (status, serde_json::from_slice::<Value>(&body).unwrap())
                }
                _ => unreachable!(),
            }
        };
        let (s, v) = call("GET", "/v1/api_keys", &admin, None);
        assert_eq!(s, 200);
        assert_eq!(v["keys"][0]["name"], "ci");
        let (s, v) = call(
            "POST",
            "/v1/teams/t_ml/api_keys",
            &admin,
            Some(json!({"name": "job-1", "type": INVOKE, "model_ids": ["abc"]})),
        );
        assert_eq!(s, 200);
        let minted = v["api_key"].as_str().unwrap().to_owned();
        let (s, _) = call("GET", "/v1/users/me", &minted, None);
        assert_eq!(s, 403, "an invoke key is restricted");
        let (_, v) = call("GET", "/v1/api_keys?type=WORKSPACE_INVOKE", &admin, None);
        assert_eq!(v["keys"][0]["team_name"], "ml");
        assert_eq!(v["keys"][0]["model_ids"][0], "abc");
        let prefix = minted.split('.').next().unwrap();
        let (s, v) = call("DELETE", &format!("/v1/api_keys/{prefix}"), &admin, None);
        assert_eq!((s, v["prefix"].as_str()), (200, Some(prefix)));
        let (s, _) = call("GET", "/v1/users/me", &minted, None);
        assert_eq!(s, 401, "a deleted key no longer authenticates");
        let (s, _) = call(
            "POST",
            "/v1/api_keys",
            &admin,
            Some(json!({"name": "Bad_Name", "type": MANAGE_ALL})),
        );
        assert_eq!(s, 400);
    }
}
