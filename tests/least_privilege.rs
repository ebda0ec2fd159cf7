//! Least privilege: login, exec and `status --check` look the key up by its prefix (after the
//! check, on its connection, once the verdict lets the key through), and say what it is;
//! `--require-key-type` refuses another type (or an unknown one) before anything is written; a
//! personal key on CI is warned about; a trussrc with several remotes gets a note about `truss
//! push`. Against the fake of Baseten's management API, with the list allowed and refused; and a
//! server that puts the key in its answer changes nothing on any platform.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use clap::ValueEnum;
use common::management::{Baseten, EXPORT_METRICS, Endpoint, INVOKE, MANAGE_ALL, PERSONAL};
use common::*;
use truss_ci::ci::Platform;

fn env_for(api: &FakeApi, key: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", key)
        .set("BASETEN_REMOTE_URL", &api.url);
    env
}

fn prefix(key: &str) -> &str {
    key.split_once('.').unwrap().0
}

fn paths(api: &FakeApi) -> Vec<String> {
    api.requests().into_iter().map(|r| r.path).collect()
}

#[test]
fn login_reports_the_key_in_text_and_json() {
    let fake = Baseten::new();
    let key = fake.add(MANAGE_ALL, Some("ci-deploy"));
    {
        let mut state = fake.state.lock().unwrap();
        let k = state.keys.last_mut().unwrap();
        k.team_id = Some("t_ml".into());
        k.model_ids = Some(vec!["m1".into(), "m2".into()]);
    }
    let api = fake.start();
    let env = env_for(&api, &key);
    let run = env.run(&["login"]);
    run.assert_code(0);
    let line = format!(
        "Key {}: \"ci-deploy\" (workspace-manage-all, team ml, models m1 m2), last used 2026-11-30",
        prefix(&key)
    );
    assert!(run.stderr.lines().any(|l| l == line), "{}", run.stderr);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    // The check, then the lookup.
    assert_eq!(paths(&api), ["/v1/users/me", "/v1/api_keys"]);

    let run = env.run(&["login", "--output", "json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["key"]["known"], true);
    assert_eq!(v["key"]["prefix"], prefix(&key));
    assert_eq!(v["key"]["type"], "workspace-manage-all");
    assert_eq!(v["key"]["team"], "ml");
    assert_eq!(v["key"]["model_ids"], serde_json::json!(["m1", "m2"]));
    // The fake records each use, as Baseten does.
    assert_eq!(v["key"]["last_used_at"], "2026-11-30T01:02:03Z");
}

#[test]
fn a_list_the_key_may_not_call_is_a_warning_unless_a_type_is_required() {
    let fake = Baseten::new();
    let key = fake.add(MANAGE_ALL, Some("ci-deploy"));
    fake.forbid(MANAGE_ALL, Endpoint::ListKeys, true);
    let api = fake.start();
    let env = env_for(&api, &key);
    let run = env.run(&["login", "--output", "json"]);
    run.assert_code(0);
    run.assert_stderr_has("may not list keys (403)");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["key"]["known"], false);
    assert!(v["key"]["reason"].as_str().unwrap().contains("403"));
    assert!(
        !run.stderr.contains("not known"),
        "said once: {}",
        run.stderr
    );
    std::fs::remove_file(env.trussrc()).unwrap();

    let run = env.run(&["login", "--require-key-type", "workspace-manage-all"]);
    run.assert_code(3);
    assert!(run.stderr.contains("may not list keys"), "{}", run.stderr);
    run.assert_stderr_has("a key that may list keys");
    assert!(env.read_trussrc().is_none(), "nothing written");
}

#[test]
fn require_key_type_refuses_another_type_before_anything_is_written() {
    let fake = Baseten::new();
    let key = fake.add(MANAGE_ALL, Some("ci-deploy"));
    let api = fake.start();
    let env = env_for(&api, &key);
    let run = env.run(&["login", "--require-key-type", "workspace-invoke,routes"]);
    run.assert_code(3);
    assert!(
        run.stderr
            .contains("is a workspace-manage-all key, and --require-key-type asks for workspace-invoke, routes"),
        "{}",
        run.stderr
    );
    assert!(env.read_trussrc().is_none());
    env.run(&["login", "--require-key-type=routes,workspace-manage-all"])
        .assert_code(0);

    // The same on exec (the command never runs) and status --check.
    let run = env.run(&[
        "exec",
        "--require-key-type",
        "personal",
        "--",
        "touch",
        "ran",
    ]);
    run.assert_code(3);
    assert!(!env.path("ran").exists());
    env.run(&["status", "--check", "--require-key-type", "personal"])
        .assert_code(3);
    let run = env.run(&[
        "status",
        "--check",
        "--require-key-type",
        "workspace-manage-all",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("key: ") && run.stdout.contains("\"ci-deploy\""),
        "{}",
        run.stdout
    );
}

#[test]
fn require_key_type_is_checked_before_any_request() {
    let api = FakeApi::baseten();
    let env = env_for(&api, KEY);
    let run = env.run(&["login", "--no-validate", "--require-key-type", "personal"]);
    run.assert_code(2);
    assert!(run.stderr.contains("--no-validate"), "{}", run.stderr);
    let run = env.run(&["login", "--require-key-type", "workspace-admin"]);
    run.assert_code(2);
    run.assert_stderr_has("workspace-manage-all");
    env.run(&["status", "--require-key-type", "personal"])
        .assert_code(2);
    assert_eq!(api.hits(), 0);

    // --no-validate: no request at all, and the report says the key was not looked up.
    let run = env.run(&["login", "--no-validate", "--output", "json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["key"]["known"], false);
    assert_eq!(api.hits(), 0);
}

#[test]
fn a_personal_key_on_ci_is_warned_about_unless_required() {
    let fake = Baseten::new();
    let key = fake.add(PERSONAL, Some("laptop"));
    let api = fake.start();
    let env = env_for(&api, &key);
    let run = env.run(&["--ci", "github", "login"]);
    run.assert_code(0);
    let warning = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning") && l.contains("personal key"))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    assert!(
        warning.contains("use team keys for CI/CD pipelines"),
        "{warning}"
    );
    run.assert_stderr_has("owner ci-bot@example.com");

    let run = env.run(&["--ci", "github", "login", "--require-key-type", "personal"]);
    run.assert_code(0);
    assert!(!run.all().contains("personal key:"), "{}", run.all());
    // Off CI, no warning.
    let run = env.run(&["login"]);
    assert!(!run.all().contains("personal key:"), "{}", run.all());
}

#[test]
fn a_restricted_key_is_looked_up_as_far_as_it_may_be() {
    let fake = Baseten::new();
    let invoke = fake.add(INVOKE, Some("inference"));
    let metrics = fake.add(EXPORT_METRICS, None);
    // This workspace lets invoke keys list keys; metrics keys may not.
    fake.forbid(INVOKE, Endpoint::ListKeys, false);
    let api = fake.start();
    let env = env_for(&api, &invoke);
    let run = env.run(&[
        "login",
        "--allow-restricted",
        "--require-key-type",
        "workspace-invoke",
    ]);
    run.assert_code(0);
    run.assert_stderr_has("(workspace-invoke, all models)");

    let env = env_for(&api, &metrics);
    let run = env.run(&["exec", "--allow-restricted", "--", "true"]);
    run.assert_code(0);
    assert!(run.stderr.contains("may not list keys"), "{}", run.stderr);
}

#[test]
fn several_remotes_get_a_note_about_truss_push() {
    let api = FakeApi::baseten();
    let env = env_for(&api, KEY);
    let run = env.run(&["login", "--remote", "ci"]);
    assert!(!run.stderr.contains("Multiple remotes"), "{}", run.stderr);
    let run = env.run(&["login", "--remote", "staging"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains(
            "holds 2 remotes (ci, staging): a bare `truss push` stops on CI with \"Multiple remotes available\"; pass `--remote staging`"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_of_many_remotes_is_named_by_its_first_five() {
    let api = FakeApi::baseten();
    let sections: String = (0..40_000).map(|i| format!("[r{i}]\n")).collect();
    let env = env_for(&api, KEY).trussrc_text(&sections);
    let run = env.run(&["login", "--remote", "ci"]);
    run.assert_code(0);
    run.assert_stderr_has(
        "holds 40001 remotes (r0, r1, r2, r3, r4 and 39996 more): a bare `truss push` stops",
    );
    assert!(
        run.stderr.len() < 2000,
        "{} bytes of stderr",
        run.stderr.len()
    );
}

#[test]
fn action_outputs_and_summary_name_the_key() {
    let fake = Baseten::new();
    let key = fake.add(MANAGE_ALL, Some("ci-deploy"));
    let api = fake.start();
    let mut env = env_for(&api, &key);
    let (output, summary) = (env.path("output"), env.path("summary"));
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_OUTPUT", output.to_str().unwrap())
        .set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    env.run(&["login"]).assert_code(0);
    let outputs = std::fs::read_to_string(&output).unwrap();
    for name in ["key-type", "key-name", "key-team"] {
        assert!(outputs.contains(name), "{outputs}");
    }
    assert!(outputs.contains("workspace-manage-all"), "{outputs}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains(&format!("| Key | `{}: \"ci-deploy\"", prefix(&key))),
        "{summary}"
    );
}

/// A server that lists the calling key with the key itself as its name, team, owner, models and
/// dates: none of it may reach any output, on any platform.
fn echoing(key: &'static str) -> FakeApi {
    FakeApi::start(move |req, _| match req.path.as_str() {
        "/v1/users/me" => Reply::json(200, USER_JSON),
        "/v1/api_keys" => Reply::json(
            200,
            &serde_json::json!({"keys": [{
                "prefix": prefix(key), "name": key, "type": key, "team_name": format!("team {key}"),
                "model_ids": [key], "created_at": key, "last_used_at": key,
                "owner": {"user_id": key, "email": format!("{key}@example.com"), "name": key},
            }]})
            .to_string(),
        ),
        _ => Reply::status(404),
    })
}

#[test]
fn a_key_echoed_in_the_list_leaks_nowhere_on_any_platform() {
    const LEAKY: &str = "SNTLpre7.Zq9+k/y=Lw3%pTt\\x7Leak";
    let secret = LEAKY.split_once('.').unwrap().1;
    let forms = [
        LEAKY.to_owned(),
        secret.to_owned(),
        LEAKY.replace('\\', "\\\\"),
        secret.replace('%', "%25").replace('/', "%2F"),
    ];
    let api = echoing(LEAKY);
    for platform in Platform::value_variants() {
        let name = platform.to_possible_value().unwrap().get_name().to_owned();
        let mut env = env_for(&api, LEAKY);
        let (output, summary) = (env.path("output"), env.path("summary"));
        env.set("GITHUB_OUTPUT", output.to_str().unwrap())
            .set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
            .set("RUST_LOG", "trace");
        for args in [
            &["login", "--output", "json"][..],
            &["login"],
            &["status", "--check", "--output", "json"],
            &["status", "--check"],
            &["exec", "--", "true"],
        ] {
            let mut full = vec!["--ci", name.as_str(), "-vv"];
            full.extend_from_slice(args);
            let run = env.run(&full);
            run.assert_code(0);
            let mask = |l: &&str| l.contains("add-mask") || l.contains("setsecret");
            for line in run
                .stdout
                .lines()
                .chain(run.stderr.lines())
                .filter(|l| !mask(l))
            {
                for form in &forms {
                    assert!(!line.contains(form.as_str()), "{name} {args:?}: {line}");
                }
            }
        }
        for path in [output, summary] {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for form in &forms {
                assert!(!text.contains(form.as_str()), "{name}: {}", path.display());
            }
        }
    }
}

/// The list's answer for the calling key, as a key of type `kind`.
fn listed_as(req: &Request, kind: &str) -> Reply {
    let auth = req.header("authorization").unwrap_or_default();
    let key = auth.strip_prefix("Api-Key ").unwrap_or_default();
    Reply::json(
        200,
        &serde_json::json!({"keys": [{"prefix": prefix(key), "name": "ci", "type": kind}]})
            .to_string(),
    )
}

/// The lookup is sent once the check has its answer, over plain HTTP as over TLS: by login,
/// exec and `status --check` alike.
#[test]
fn the_lookup_follows_the_check() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let answered = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&answered);
    let api = FakeApi::start(move |req, _| match req.path.as_str() {
        "/v1/api_keys" if seen.load(Ordering::SeqCst) => listed_as(req, "WORKSPACE_MANAGE_ALL"),
        "/v1/api_keys" => Reply::json(
            404,
            r#"{"error":"the lookup came before the check's answer"}"#,
        ),
        _ => {
            std::thread::sleep(Duration::from_millis(100));
            seen.store(true, Ordering::SeqCst);
            Reply::json(200, USER_JSON)
        }
    });
    let env = env_for(&api, KEY);
    for args in [
        &["login", "--require-key-type", "workspace-manage-all"][..],
        &["status", "--check"],
        &["exec", "--", "true"],
    ] {
        answered.store(false, Ordering::SeqCst);
        let before = api.hits();
        let run = env.run(args);
        run.assert_code(0);
        assert!(
            run.all().contains("workspace-manage-all"),
            "{args:?}: {}",
            run.all()
        );
        let paths: Vec<String> = api.requests()[before..]
            .iter()
            .map(|r| r.path.clone())
            .collect();
        assert_eq!(paths[..2], ["/v1/users/me", "/v1/api_keys"], "{args:?}");
    }
}

/// The check's verdict decides, and nothing is looked up for a key it refuses: a rejected key
/// exits 3 as rejected (not as a key of the wrong type), an API that does not answer as Baseten's
/// exits 4, a restricted key exits 3 as restricted.
#[test]
fn the_verdict_comes_before_the_lookup() {
    let cases: [(u16, i32, &str); 3] = [
        (401, 3, "rejected the API key"),
        (404, 4, "to the key check"),
        (403, 3, "inference-only"),
    ];
    for (status, code, said) in cases {
        let api = FakeApi::start(move |req, _| match req.path.as_str() {
            "/v1/api_keys" => listed_as(req, "WORKSPACE_INVOKE"),
            _ => Reply::json(status, r#"{"error":"no"}"#),
        });
        let env = env_for(&api, KEY);
        let run = env.run(&["login", "--require-key-type", "workspace-manage-all"]);
        run.assert_code(code);
        run.assert_stderr_has(said);
        run.assert_stderr_lacks("workspace-invoke");
        assert!(env.read_trussrc().is_none(), "{status}: nothing written");
        assert_eq!(
            api.hits_on("/v1/api_keys"),
            0,
            "{status}: nothing looked up"
        );
    }

    // A lookup that hangs holds nothing up once the verdict refuses.
    let api = FakeApi::start(|req, _| match req.path.as_str() {
        "/v1/api_keys" => Reply::Hang,
        _ => Reply::json(401, r#"{"error":"no"}"#),
    });
    let env = env_for(&api, KEY);
    let started = Instant::now();
    let run = env.run(&["login", "--timeout", "20"]);
    run.assert_code(3);
    run.assert_stderr_has("rejected the API key");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited for the lookup: {:?}",
        started.elapsed()
    );

    // Over TLS the lookup follows the check on its connection: a rejected key is not looked up.
    let api = FakeApi::baseten_tls();
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), api.ca_pem.as_ref().unwrap()).unwrap();
    let env = env_for(&api, "wrong.key");
    let run = env.run(&["login", "--ca-cert", ca.path().to_str().unwrap()]);
    run.assert_code(3);
    run.assert_stderr_has("rejected the API key");
    assert_eq!(api.hits_on("/v1/users/me"), 1);
    assert_eq!(
        api.hits_on("/v1/api_keys"),
        0,
        "nothing looked up for a rejected key"
    );
    let env = env_for(&api, KEY);
    let run = env.run(&["login", "--ca-cert", ca.path().to_str().unwrap()]);
    run.assert_code(0);
    assert_eq!(api.hits_on("/v1/api_keys"), 1, "looked up once accepted");
}
