//! A job key that may not revoke itself (workspace-invoke, workspace-export-metrics), exported
//! over the key that revokes it: `login` refuses it with exit 2, before anything is minted or
//! written, on the platforms whose export reaches the step that runs `logout --post` (Azure's
//! post-job step, Buildkite's pre-exit hook, CircleCI's later steps through $BASH_ENV), and only
//! when the minting key was read from a variable the export replaces. Elsewhere, and with the key
//! in a variable of another name, it logs in, and the post revokes the key.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use clap::ValueEnum;
use common::management::{Baseten, MANAGE_ALL, key_job};
use common::*;
use truss_ci::ci::Platform;

/// The platforms where the export reaches the post: the ones that refuse.
const REFUSING: [&str; 3] = ["azure", "buildkite", "circleci"];

/// A job on `platform` (named with `--ci` in the arguments [`on`] gives), logging in with a key
/// that may mint keys in BASETEN_API_KEY, with every platform's export file in place.
fn job(platform: Platform, url: &str, admin: &str) -> TestEnv {
    let mut env = TestEnv::new();
    key_job(&mut env, "7", url, admin);
    env.unset("GITLAB_CI");
    for var in platform
        .job_vars()
        .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|v| v.len() > 2)
    {
        env.set(var, "7");
    }
    for var in [
        "BASH_ENV",
        "GITHUB_ENV",
        "GITHUB_OUTPUT",
        "BITBUCKET_PIPELINES_VARIABLES_PATH",
    ] {
        let file = env.path(&var.to_ascii_lowercase());
        std::fs::write(&file, "").unwrap();
        env.set(var, file.to_str().unwrap());
    }
    env
}

/// `--ci NAME` and then `args`.
fn on(platform: Platform, args: &[&str]) -> Vec<String> {
    let mut all = vec!["--ci".to_owned(), platform.name()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    all
}

fn run(env: &TestEnv, args: &[String]) -> Run {
    env.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Asserts the refusal: exit 2 with the reason and what to do, no request, no job key, no
/// trussrc, no export.
#[track_caller]
fn assert_refused(run: &Run, env: &TestEnv, fake: &Baseten, api: &FakeApi, what: &str) {
    assert_eq!(run.code, 2, "{what}: {}", run.stderr);
    assert!(
        run.stderr
            .contains("with --export-env would hand the job key to")
            && run.stderr.contains("cannot revoke itself")
            && run.stderr.contains("--from-env=NAME"),
        "{what}: {}",
        run.stderr
    );
    assert_eq!(api.hits(), 0, "{what}: a request was sent");
    assert!(fake.job_keys().is_empty(), "{what}: a job key was minted");
    assert!(
        env.read_trussrc().is_none(),
        "{what}: the trussrc was written"
    );
    assert_eq!(
        std::fs::read_to_string(env.path("bash_env")).unwrap(),
        "",
        "{what}"
    );
}

#[test]
fn refused_exactly_where_the_export_reaches_the_post() {
    let mut refusing = Vec::new();
    for platform in Platform::value_variants().iter().filter(|p| p.is_ci()) {
        for kind in ["workspace-invoke", "workspace-export-metrics"] {
            for export in ["--export-env", "--export-env=truss-env"] {
                let fake = Baseten::new();
                let admin = fake.add(MANAGE_ALL, None);
                let api = fake.start();
                let env = job(*platform, &api.url, &admin);
                let job_key = format!("--job-key={kind}");
                let args = on(*platform, &["login", &job_key, "--model-id=m1", export]);
                let login = run(&env, &args);
                let what = format!("{args:?}");
                if platform.export_reaches_post().is_some() {
                    assert_refused(&login, &env, &fake, &api, &what);
                    refusing.push(platform.name());
                    continue;
                }
                login.assert_code(0);
                assert_eq!(fake.job_keys().len(), 1, "{what}");
                run(&env, &on(*platform, &["logout", "--post", "--from-env"])).assert_code(0);
                assert!(fake.job_keys().is_empty(), "{what}: revoked");
            }
        }
    }
    refusing.dedup();
    assert_eq!(refusing, REFUSING);
}

/// Every way the key reaches login from the variable the export replaces is refused: the
/// variable itself, named or not, and its _FILE twin (the post reads the variable first).
#[test]
fn refused_whichever_way_the_key_came_from_the_replaced_variable() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let circleci = Platform::Circleci;
    let login = ["login", "--job-key=workspace-invoke", "--model-id=m1"];

    let env = job(circleci, &api.url, &admin);
    let named = [&login[..], &["--export-env", "--from-env=BASETEN_API_KEY"]].concat();
    assert_refused(
        &run(&env, &on(circleci, &named)),
        &env,
        &fake,
        &api,
        "named",
    );

    let mut env = job(circleci, &api.url, &admin);
    env.unset("BASETEN_API_KEY");
    let file = env.path("key");
    std::fs::write(&file, &admin).unwrap();
    env.set("BASETEN_API_KEY_FILE", file.to_str().unwrap());
    let from_file = [&login[..], &["--export-env"]].concat();
    assert_refused(
        &run(&env, &on(circleci, &from_file)),
        &env,
        &fake,
        &api,
        "_FILE",
    );

    // truss-env also exports BASETEN_TRUSS_AUTH_API_KEY.
    let mut env = job(circleci, &api.url, &admin);
    env.unset("BASETEN_API_KEY");
    env.set("BASETEN_TRUSS_AUTH_API_KEY", &admin);
    let truss_env = [
        &login[..],
        &[
            "--export-env=truss-env",
            "--from-env=BASETEN_TRUSS_AUTH_API_KEY",
        ],
    ]
    .concat();
    assert_refused(
        &run(&env, &on(circleci, &truss_env)),
        &env,
        &fake,
        &api,
        "truss-env",
    );
}

/// The JSON report of the refusal is the usage error's.
#[test]
fn the_refusal_is_a_usage_error_in_json_too() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let env = job(Platform::Buildkite, &api.url, &admin);
    let args = on(
        Platform::Buildkite,
        &[
            "--output",
            "json",
            "login",
            "--job-key=workspace-export-metrics",
            "--model-id=m1",
            "--export-env",
        ],
    );
    let login = run(&env, &args);
    assert_eq!(login.code, 2, "{}", login.stderr);
    let v: serde_json::Value = serde_json::from_str(&login.stdout).unwrap();
    assert_eq!(v["error"]["kind"], "usage");
    assert_eq!(v["error"]["exit_code"], 2);
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("the pre-exit hook"), "{message}");
    assert!(!login.all().contains(&admin));
    assert_eq!(api.hits(), 0);
}

/// What the refusal keeps from happening, and what it leaves possible. On CircleCI the post runs
/// after $BASH_ENV is sourced: a key exported over BASETEN_API_KEY is what the post reads there.
/// A workspace-manage-all job key may be exported so (it revokes itself); an invoke key minted
/// with a key from another variable, which the post names, is revoked with that key.
#[test]
fn on_circleci_the_post_revokes_what_login_allowed() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let circleci = Platform::Circleci;

    let mut env = job(circleci, &api.url, &admin);
    let login = ["login", "--job-key", "--export-env"];
    run(&env, &on(circleci, &login)).assert_code(0);
    let exported = sourced_key(&env);
    assert_ne!(exported, admin);
    env.set("BASETEN_API_KEY", &exported);
    run(&env, &on(circleci, &["logout", "--post", "--from-env"])).assert_code(0);
    assert!(fake.job_keys().is_empty(), "the job key revoked itself");

    let mut env = job(circleci, &api.url, &admin);
    env.unset("BASETEN_API_KEY");
    env.set("MINT_KEY", &admin);
    let login = [
        "login",
        "--job-key=workspace-invoke",
        "--model-id=m1",
        "--export-env",
        "--from-env=MINT_KEY",
    ];
    run(&env, &on(circleci, &login)).assert_code(0);
    assert_eq!(fake.job_keys().len(), 1);
    let exported = sourced_key(&env);
    env.set("BASETEN_API_KEY", &exported);
    // The post sees the job key in BASETEN_API_KEY, and revokes it with MINT_KEY.
    run(
        &env,
        &on(circleci, &["logout", "--post", "--from-env=MINT_KEY"]),
    )
    .assert_code(0);
    assert!(fake.job_keys().is_empty(), "revoked with MINT_KEY");
}

/// The BASETEN_API_KEY that $BASH_ENV exports, as bash reads it.
fn sourced_key(env: &TestEnv) -> String {
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(". \"$1\" && printf %s \"$BASETEN_API_KEY\"")
        .arg("bash")
        .arg(env.path("bash_env"))
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}
