//! Interop with the real truss CLI (truss==0.18.35 from PyPI): it reads what truss-ci writes, and
//! truss-ci writes the bytes truss itself writes. Skips loudly without truss; fails instead under
//! TRUSS_CI_REQUIRE_INTEROP=1.
#![cfg(unix)] // modes, symlinks, sh and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;

fn truss() -> Option<std::path::PathBuf> {
    interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss")
}

#[test]
fn truss_reads_the_section_truss_ci_wrote() {
    let Some(truss) = truss() else { return };
    let api = FakeApi::baseten();
    let env = TestEnv::new().key(KEY).api(&api);
    std::fs::write(env.trussrc(), "# team remotes\n[prod]\nremote_provider = baseten\nremote_url = https://app.baseten.co\napi_key = PRODKEY\n\n").unwrap();
    env.run(&["login", "--remote", "ci"]).assert_code(0);

    let status = run_truss(&truss, &env, &["auth", "status", "--remote", "ci"]);
    status.assert_code(0);
    assert_eq!(
        status.stdout,
        format!(
            "remote: ci\nremote_url: {}\nauth_type: api_key\nsource: trussrc-inline\n",
            api.url
        )
    );

    let whoami = run_truss(&truss, &env, &["whoami", "--remote", "ci"]);
    whoami.assert_code(0);
    whoami.assert_stdout_has("local-ws\\ci-bot@example.com");
    let graphql: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.path == "/graphql/")
        .collect();
    assert_eq!(graphql.len(), 1);
    assert_eq!(graphql[0].method, "POST");
    assert_eq!(
        graphql[0].header("authorization"),
        Some(format!("Api-Key {KEY}").as_str())
    );

    // The other remote, written by hand, still reads as truss expects.
    let prod = run_truss(&truss, &env, &["auth", "status", "--remote", "prod"]);
    prod.assert_code(0);
    prod.assert_stdout_has("auth_type: api_key (plaintext)");
}

#[test]
fn percent_in_a_key_reaches_the_server_as_one_percent() {
    let Some(truss) = truss() else { return };
    let api = FakeApi::accepting(&["ab%cd.ef"]);
    let env = TestEnv::new().key("ab%cd.ef").api(&api);
    env.run(&["login"]).assert_code(0);
    let whoami = run_truss(&truss, &env, &["whoami"]);
    whoami.assert_code(0);
    let last = api.requests().pop().unwrap();
    assert_eq!(last.path, "/graphql/");
    assert_eq!(last.header("authorization"), Some("Api-Key ab%cd.ef"));
}

#[test]
fn bytes_match_truss_auth_login_for_new_and_existing_sections() {
    let Some(truss) = truss() else { return };
    let by_truss = TestEnv::new();
    let mut by_us = TestEnv::new();
    let seed = "[local]\nremote_provider = baseten\nremote_url = http://127.0.0.1:18765\n\n[other]\nremote_provider = baseten\nremote_url = https://app.baseten.co\napi_key = O.1\n\n";
    for (before, key) in [
        // A new section: truss falls back to the default URL.
        (None, "K.1"),
        // An existing section and a second remote: truss keeps the URL and the section's place.
        (Some(seed), "K.2"),
    ] {
        if let Some(text) = before {
            std::fs::write(by_truss.trussrc(), text).unwrap();
            std::fs::write(by_us.trussrc(), text).unwrap();
        }
        run_truss(
            &truss,
            &by_truss,
            &["auth", "login", "--api-key", key, "--remote", "local"],
        )
        .assert_code(0);
        by_us.set("BASETEN_API_KEY", key);
        by_us
            .run(&["login", "--remote", "local", "--no-validate"])
            .assert_code(0);
        assert_eq!(
            by_us.read_trussrc().unwrap(),
            by_truss.read_trussrc().unwrap()
        );
    }
}

#[test]
fn many_remotes_each_read_by_truss() {
    let Some(truss) = truss() else { return };
    let api = FakeApi::accepting(&["k0.x", "k1.x", "k2.x"]);
    let mut env = TestEnv::new().api(&api);
    std::fs::write(env.trussrc(), "; hand-written\r\n[hand]\r\nremote_provider = baseten\r\nremote_url = https://app.baseten.co\r\napi_key = H\r\n").unwrap();
    for i in 0..3 {
        env.set("BASETEN_API_KEY", &format!("k{i}.x"));
        env.run(&["login", "--remote", &format!("r{i}")])
            .assert_code(0);
    }
    for i in 0..3 {
        run_truss(&truss, &env, &["whoami", "--remote", &format!("r{i}")]).assert_code(0);
    }
    let sent: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.path == "/graphql/")
        .map(|r| r.header("authorization").unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["Api-Key k0.x", "Api-Key k1.x", "Api-Key k2.x"]);
    let hand = run_truss(&truss, &env, &["auth", "status", "--remote", "hand"]);
    hand.assert_code(0);
}

#[test]
fn status_matches_truss_auth_status_on_files_truss_wrote() {
    let Some(truss) = truss() else { return };
    let env = TestEnv::new();
    for (name, key) in [("a", "A.1"), ("b", "B.2")] {
        run_truss(
            &truss,
            &env,
            &["auth", "login", "--api-key", key, "--remote", name],
        )
        .assert_code(0);
    }
    let mut text = env.read_trussrc().unwrap();
    text.push_str(
        "[legacy]\nremote_provider = baseten\napi_key = L\nremote_url = https://app.baseten.co\n\n",
    );
    text.push_str("[sso]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = oauth\noauth_access_token = AT\noauth_refresh_token = RT\noauth_expires_at = 4102444800\n\n");
    text.push_str("[sso-kr]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = oauth\n\n");
    std::fs::write(env.trussrc(), &text).unwrap();
    for remote in ["a", "b", "legacy", "sso", "sso-kr"] {
        let theirs = run_truss(&truss, &env, &["auth", "status", "--remote", remote]);
        theirs.assert_code(0);
        let ours = env.run(&["status", "--remote", remote]);
        ours.assert_code(0);
        assert_eq!(ours.stdout, theirs.stdout, "remote {remote}");
    }
}

#[test]
fn logout_leaves_the_bytes_truss_logout_leaves() {
    let Some(truss) = truss() else { return };
    let theirs = TestEnv::new();
    let ours = TestEnv::new();
    for (name, key) in [("a", "A.1"), ("b", "B.2"), ("c", "C.3")] {
        run_truss(
            &truss,
            &theirs,
            &["auth", "login", "--api-key", key, "--remote", name],
        )
        .assert_code(0);
    }
    std::fs::write(ours.trussrc(), theirs.read_trussrc().unwrap()).unwrap();
    for remote in ["b", "a", "c"] {
        run_truss(&truss, &theirs, &["auth", "logout", "--remote", remote]).assert_code(0);
        ours.run(&["logout", "--remote", remote]).assert_code(0);
        assert_eq!(
            ours.read_trussrc().unwrap(),
            theirs.read_trussrc().unwrap(),
            "after {remote}"
        );
    }
    assert_eq!(ours.read_trussrc().unwrap(), "");
}

#[test]
fn truss_whoami_works_after_a_login_that_looked_the_key_up() {
    let Some(truss) = truss() else { return };
    let fake = common::management::Baseten::new();
    let key = fake.add(common::management::MANAGE_ALL, Some("ci-deploy"));
    let api = fake.start();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", &key)
        .set("BASETEN_REMOTE_URL", &api.url);
    let run = env.run(&["login", "--require-key-type", "workspace-manage-all"]);
    run.assert_code(0);
    run.assert_stderr_has("\"ci-deploy\" (workspace-manage-all");
    let whoami = run_truss(&truss, &env, &["whoami"]);
    whoami.assert_code(0);
    assert!(
        whoami.stdout.contains("ci-bot@example.com"),
        "{}",
        whoami.stdout
    );
    let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
    // The check, the lookup after it, then truss's own request.
    assert_eq!(paths, ["/v1/users/me", "/v1/api_keys", "/graphql/"]);
}
