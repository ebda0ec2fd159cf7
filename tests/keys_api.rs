//! The management API's key endpoints against the fake that answers with Baseten's published
//! shapes: every call on one client, refusals as answers, a created key armed for scrubbing.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::management::{Baseten, Endpoint, INVOKE, MANAGE_ALL, PERSONAL};
use truss_ci::api::ApiSettings;
use truss_ci::api::Client;
use truss_ci::api::keys::{self, Declined, NewKey};
use truss_ci::secret::ApiKey;

/// A key as the library holds one (it builds `ApiKey`s only from sources and answers).
fn api_key(text: String) -> ApiKey {
    serde_json::from_value(serde_json::Value::String(text)).unwrap()
}

fn client(url: &str) -> Client {
    let settings = ApiSettings {
        timeout: Duration::from_secs(10),
        ..ApiSettings::default()
    };
    Client::new(url, &settings).unwrap()
}

#[test]
fn list_find_create_delete_and_teams() {
    let fake = Baseten::new();
    let admin = api_key(fake.add(MANAGE_ALL, Some("ci-admin")));
    let api = fake.start();
    let client = client(&api.url);

    let me = keys::find(&client, &admin, keys::prefix_of(&admin))
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(me.kind.is(MANAGE_ALL) && me.name.is_some_and(|n| n.is("ci-admin")));

    let teams = keys::teams(&client, &admin).unwrap().unwrap();
    let ml = teams.iter().find(|t| t.name.is("ml")).unwrap();
    let new = NewKey {
        name: "truss-ci-github-1-202612010000".into(),
        kind: INVOKE.into(),
        model_ids: vec!["m1".into()],
        team_id: Some(ml.id.unprinted().to_owned()),
    };
    let minted = keys::create(&client, &admin, &new).unwrap().unwrap();
    let info = keys::find(&client, &admin, keys::prefix_of(&minted))
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(info.team_name.is_some_and(|t| t.is("ml")));
    assert!(
        info.model_ids
            .as_deref()
            .is_some_and(|ids| ids.len() == 1 && ids[0].is("m1"))
    );

    // An invoke key may not manage keys: a refusal the caller weighs, not an error.
    assert_eq!(
        keys::list(&client, &minted).unwrap(),
        Err(Declined::Forbidden)
    );

    let prefix = keys::prefix_of(&minted).to_owned();
    assert_eq!(
        keys::delete(&client, &admin, &prefix).unwrap(),
        Ok(prefix.clone())
    );
    assert_eq!(fake.deleted(), std::slice::from_ref(&prefix));
    assert!(matches!(
        keys::delete(&client, &admin, &prefix).unwrap(),
        Err(Declined::Status(status, _)) if status.as_u16() == 404
    ));
    let reqs = api.requests();
    assert!(reqs.iter().all(|r| r.header("authorization").is_some()));
}

#[test]
fn a_personal_key_is_owned_and_a_forbidden_list_is_an_answer() {
    let fake = Baseten::new();
    let personal = api_key(fake.add(PERSONAL, None));
    fake.forbid(PERSONAL, Endpoint::ListKeys, true);
    let api = fake.start();
    let client = client(&api.url);
    assert_eq!(
        keys::find(&client, &personal, keys::prefix_of(&personal)).unwrap(),
        Err(Declined::Forbidden)
    );
    fake.forbid(PERSONAL, Endpoint::ListKeys, false);
    let me = keys::find(&client, &personal, keys::prefix_of(&personal))
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        me.owner
            .unwrap()
            .email
            .is_some_and(|e| e.is("ci-bot@example.com"))
    );
}
