//! Job keys against the fake management API: login mints a key with the resolved one and stores
//! only the minted key; `logout --post` revokes it with the key that minted it (or the key
//! itself); `exec --job-key` revokes it however the command ends; `keys prune` deletes only
//! expired job keys.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use common::management::{Baseten, Endpoint, FAR_OFF, INVOKE, LONG_EXPIRED, MANAGE_ALL, PERSONAL};
use common::*;

use common::management::{NOW, key_job as gitlab};

/// A fake API holding a key that may mint keys, and a GitLab job `job` logging in with it.
fn gitlab_job(job: &str) -> (Baseten, String, FakeApi, TestEnv) {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, job, &api.url, &admin);
    (fake, admin, api, env)
}

#[test]
fn login_stores_only_the_minted_key_and_post_revokes_it() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("ci-admin"));
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, "4242", &api.url, &admin);
    let run = env.run(&["login", "--job-key", "--export-env", "--print-env", "sh"]);
    run.assert_code(0);
    let keys = fake.job_keys();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_named(key, "truss-ci-gitlab-4242");
    assert_eq!(key.kind, MANAGE_ALL);
    let rc = env.read_trussrc().unwrap();
    assert!(rc.contains(&key.full()), "{rc}");
    assert!(!rc.contains(&admin));
    assert!(
        run.stdout.contains(&key.full()),
        "print-env hands on the minted key"
    );
    assert!(!run.all().contains(&admin), "{}", run.all());
    assert!(run.stderr.contains("Minted job key truss-ci-gitlab-4242-"));
    let state = std::fs::read_to_string(env.home.join(".trussrc.truss-ci-state.json")).unwrap();
    assert!(state.contains(&key.prefix) && !state.contains(&key.secret));
    assert!(!state.contains(&admin));

    let run = env.run(&["logout", "--post", "--output", "json"]);
    run.assert_code(0);
    assert_eq!(fake.deleted(), std::slice::from_ref(&key.prefix));
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["job_keys"][0]["revoked"], true);
    assert!(env.read_trussrc().is_none());
    assert!(!run.all().contains(&key.secret) && !run.all().contains(&admin));
}

#[test]
fn an_invoke_key_for_a_team_is_stored_though_users_me_refuses_it() {
    let (fake, _admin, _api, env) = gitlab_job("7");
    let run = env.run(&[
        "login",
        "--job-key=workspace-invoke",
        "--model-id",
        "m1",
        "--model-id",
        "m2",
        "--team",
        "ml",
        "--job-key-ttl",
        "30m",
    ]);
    run.assert_code(0);
    let key = fake.job_keys().remove(0);
    assert_eq!(key.kind, INVOKE);
    assert_eq!(key.team_id.as_deref(), Some("t_ml"));
    assert_eq!(key.model_ids, Some(vec!["m1".into(), "m2".into()]));
    assert_named(&key, "truss-ci-gitlab-7");
    assert!(env.read_trussrc().unwrap().contains(&key.full()));
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(fake.deleted(), [key.prefix]);
}

/// A job key is named for when it expires: its TTL after the clock the run read (6 h unless
/// `--job-key-ttl` says otherwise). The clock is pinned at `NOW` in test builds only.
#[test]
#[cfg(feature = "test-hooks")]
fn a_job_key_is_named_for_its_expiry() {
    for (ttl, expiry) in [(None, "202611301113"), (Some("30m"), "202611300543")] {
        let (fake, _admin, _api, env) = gitlab_job("4242");
        let mut args = vec!["login", "--job-key"];
        args.extend(ttl.iter().flat_map(|ttl| ["--job-key-ttl", *ttl]));
        env.run(&args).assert_code(0);
        let key = fake.job_keys().remove(0);
        assert_eq!(
            assert_named(&key, "truss-ci-gitlab-4242"),
            expiry,
            "{ttl:?}"
        );
    }
}

#[test]
fn refusals_are_usage_errors_or_say_what_could_not_be_done() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", &admin)
        .set("BASETEN_REMOTE_URL", &api.url);
    let run = env.run(&["login", "--job-key"]);
    run.assert_code(2);
    assert!(run.stderr.contains("not a CI job"), "{}", run.stderr);
    gitlab(&mut env, "1", &api.url, &admin);
    for args in [
        &["login", "--job-key", "--model-id", "m"][..],
        &["login", "--job-key", "--job-key-ttl", "9d"],
        &["login", "--job-key", "--no-validate"],
        &["login", "--job-key=personal"],
        &["login", "--team", "ml"],
    ] {
        env.run(args).assert_code(2);
    }
    // A key that may not create keys: nothing is stored, and the message says why it matters.
    fake.forbid(MANAGE_ALL, Endpoint::CreateKey, true);
    let run = env.run(&["login", "--job-key"]);
    run.assert_code(3);
    run.assert_stderr_has("could not create the job key");
    assert!(env.read_trussrc().is_none());
    assert!(fake.job_keys().is_empty());
    fake.forbid(MANAGE_ALL, Endpoint::CreateKey, false);
    let run = env.run(&["login", "--job-key", "--team", "nope"]);
    run.assert_code(2);
    assert!(run.stderr.contains("no team \"nope\""), "{}", run.stderr);
}

#[test]
fn post_without_the_minting_key_lets_the_key_revoke_itself_or_warns() {
    let (fake, admin, _api, mut env) = gitlab_job("9");
    env.run(&["login", "--job-key"]).assert_code(0);
    env.unset("BASETEN_API_KEY");
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(fake.deleted().len(), 1, "the minted key revoked itself");

    // A key that may not delete, and no minting key: a warning naming the prefix and prune.
    env.set("BASETEN_API_KEY", &admin);
    env.run(&["login", "--job-key"]).assert_code(0);
    let key = fake.job_keys().remove(0);
    fake.forbid(MANAGE_ALL, Endpoint::DeleteKey, true);
    let run = env.run(&["logout", "--post"]);
    // Refused (403): exit 3, an error that names the prefix and prune; the section is undone.
    run.assert_code(3);
    run.assert_stderr_has(format!(
        "error: the job key {}",
        key.name.as_deref().unwrap()
    ));
    assert!(run.stderr.contains(&key.prefix), "{}", run.stderr);
    assert!(run.stderr.contains("truss-ci keys prune"), "{}", run.stderr);
    assert!(!run.all().contains(&key.secret));
    assert!(
        env.read_trussrc().is_none(),
        "the rest of the post was done"
    );
}

#[test]
fn exec_mints_runs_and_revokes_on_every_way_out() {
    let (fake, admin, _api, env) = gitlab_job("11");
    let run = env.run(&[
        "exec",
        "--job-key",
        "--",
        "sh",
        "-c",
        "cat \"$USER_TRUSSRC_PATH\"; exit 7",
    ]);
    run.assert_code(7);
    let deleted = fake.deleted();
    assert_eq!(deleted.len(), 1);
    assert!(
        run.stdout.contains(&format!("api_key = {}.", deleted[0])),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(&admin));
    assert!(fake.job_keys().is_empty());

    let run = env.run(&["exec", "--job-key", "--", "sh", "-c", "kill -TERM $$"]);
    run.assert_code(143);
    assert_eq!(fake.deleted().len(), 2);

    let run = env.run(&["exec", "--job-key", "--", "/nonexistent/command"]);
    run.assert_code(127);
    assert_eq!(fake.deleted().len(), 3);
    assert!(fake.job_keys().is_empty());
}

/// The expiries are long past or far off on any clock, so the wall clock serves as well as the
/// one test builds pin.
#[test]
fn prune_deletes_only_expired_job_keys() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("ci-admin"));
    let old_name = format!("truss-ci-github-1-2-build-{LONG_EXPIRED}");
    let old = fake.add(MANAGE_ALL, Some(&old_name));
    let live = fake.add(INVOKE, Some(&format!("truss-ci-gitlab-3-{FAR_OFF}")));
    let lookalike = fake.add(MANAGE_ALL, Some("truss-ci-github-1-202613300500"));
    let personal = fake.add(PERSONAL, Some("truss-ci-mine"));
    let unnamed = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", &admin)
        .set("BASETEN_REMOTE_URL", &api.url);
    let run = env.run(&["keys", "prune", "--dry-run", "--output", "json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["deleted"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["kept"], 5);
    assert!(fake.deleted().is_empty(), "a dry run deletes nothing");
    let run = env.run(&["keys", "prune"]);
    run.assert_code(0);
    let prefix = |k: &str| k.split_once('.').unwrap().0.to_owned();
    assert_eq!(fake.deleted(), [prefix(&old)]);
    run.assert_stderr_has(format!("Deleted {old_name}"));
    for k in [&admin, &old, &live, &lookalike, &personal, &unnamed] {
        assert!(!run.all().contains(k.split_once('.').unwrap().1));
    }
    fake.forbid(MANAGE_ALL, Endpoint::ListKeys, true);
    let run = env.run(&["keys", "prune"]);
    run.assert_code(3);
    assert!(run.stderr.contains("could not list"), "{}", run.stderr);
}

/// Asserts that `key` is named `stem`, an expiry (`yyyymmddhhmm`) and a random part of 8 hex
/// digits; returns the expiry.
#[track_caller]
fn assert_named(key: &common::management::Key, stem: &str) -> String {
    let name = key.name.as_deref().unwrap();
    let rest = name.strip_prefix(&format!("{stem}-")).unwrap_or_default();
    let (expiry, random) = rest.split_once('-').unwrap_or_default();
    assert!(
        expiry.len() == 12
            && expiry.bytes().all(|b| b.is_ascii_digit())
            && random.len() == 8
            && random
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{name} is not {stem}-<yyyymmddhhmm>-<random>"
    );
    expiry.to_owned()
}

/// Asserts that no line (the mask commands aside) shows an 8-character run of `secret`.
#[track_caller]
fn assert_no_leak(run: &Run, secrets: &[&str], what: &str) {
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        if line.starts_with("::add-mask::") || line.starts_with("##vso[task.setsecret]") {
            continue;
        }
        for secret in secrets {
            for w in secret.as_bytes().windows(8) {
                let w = std::str::from_utf8(w).unwrap();
                assert!(!line.contains(w), "{what}: {w:?} leaked in {line:?}");
            }
        }
    }
}

#[test]
fn neither_key_leaks_in_any_command_dialect_or_format_even_from_an_echoing_server() {
    use clap::ValueEnum;
    use truss_ci::ci::Platform;
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("ci-admin"));
    let admin_secret = admin.split_once('.').unwrap().1.to_owned();
    // Every key the fake mints has this in its secret part.
    let minted_secret = "xq7Lw3pTtZz9KeyBody";
    let api = fake.start_echoing();
    let mut runs = 0;
    for platform in Platform::value_variants().iter().filter(|p| p.is_ci()) {
        let mut env = TestEnv::new();
        gitlab(&mut env, "5", &api.url, &admin);
        env.unset("GITLAB_CI");
        // The variables that name a job on this platform, as its messages list them.
        for var in platform
            .job_vars()
            .split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .filter(|v| v.len() > 2)
        {
            env.set(var, "5");
        }
        let ci = platform.name();
        for output in ["text", "json"] {
            for cmd in [
                &["login", "--job-key"][..],
                &["logout", "--post", "--from-env"],
                &["exec", "--job-key", "--", "true"],
                &["login", "--job-key=workspace-invoke", "--model-id", "m"],
                &["logout", "--post", "--from-env"],
                &["keys", "prune", "--dry-run"],
            ] {
                let mut args = vec!["--ci", ci.as_str(), "--output", output, "-vv"];
                args.extend_from_slice(cmd);
                let run = env.run(&args);
                run.assert_code(0);
                assert_no_leak(&run, &[&admin_secret, minted_secret], &format!("{args:?}"));
                runs += 1;
            }
            assert!(
                fake.job_keys().is_empty(),
                "{ci} {output}: every job key was revoked"
            );
        }
    }
    assert_eq!(runs, 7 * 2 * 6);
}

/// A server that writes the key it was sent into every name it answers (workspace, email, key
/// names, types and prefixes, team names, a delete's prefix, beside a created key): each key
/// masked in the run, the minted one and the minting one in a post included, is withheld from the
/// log, the JSON report and the dotenv artifact, in every command that reads the key API.
#[test]
fn every_masked_key_is_withheld_from_every_channel_whoever_sent_it() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let expired = format!("truss-ci-gitlab-0-{LONG_EXPIRED}-0a1b2c3d");
    fake.add(MANAGE_ALL, Some(&expired));
    let rewritten = expired.clone();
    let api = fake.start_rewriting(move |req, answer| {
        let sent = req.header("authorization").unwrap_or_default();
        let sent = sent.trim_start_matches("Api-Key ").to_owned();
        let names = ["workspace_name", "email", "name", "team_name", "prefix"];
        if answer.contains_key("api_key") {
            answer.insert("detail".into(), format!("made with {sent}").into());
        } else {
            for (field, value) in answer.iter_mut() {
                if names.contains(&field.as_str()) {
                    *value = sent.clone().into();
                }
            }
            if let Some(serde_json::Value::Array(keys)) = answer.get_mut("keys") {
                for key in keys.iter_mut().filter_map(|k| k.as_object_mut()) {
                    key.insert("team_name".into(), sent.clone().into());
                    key.insert("last_used_at".into(), sent.clone().into());
                    if key["name"] == rewritten {
                        key.insert("prefix".into(), sent.clone().into());
                        key.insert("type".into(), sent.clone().into());
                    }
                }
            }
        }
    });
    let mut env = TestEnv::new();
    gitlab(&mut env, "31", &api.url, &admin);
    let dotenv = env.path("deploy.env");
    let dotenv = dotenv.to_str().unwrap();
    let admin_secret = admin.split_once('.').unwrap().1.to_owned();
    let secrets = [admin_secret.as_str(), "xq7Lw3pTtZz9KeyBody"];
    for output in ["text", "json"] {
        for cmd in [
            &["login", "--job-key", "--dotenv", dotenv][..],
            &["status", "--check"],
            &["logout", "--post", "--from-env"],
            &["exec", "--job-key", "--", "true"],
            &["keys", "prune", "--dry-run"],
        ] {
            let mut args = vec!["--output", output, "-v"];
            args.extend_from_slice(cmd);
            let run = env.run(&args);
            run.assert_code(0);
            assert_no_leak(&run, &secrets, &format!("{args:?}"));
            let artifact = std::fs::read_to_string(dotenv).unwrap_or_default();
            for secret in secrets {
                assert!(!artifact.contains(secret), "{args:?}: {artifact}");
            }
        }
    }
    let alive: Vec<_> = fake.job_keys().into_iter().filter_map(|k| k.name).collect();
    assert_eq!(alive, [expired], "every job key minted was revoked");
}

/// Real truss (`truss whoami`) works with a minted key, written by login and handed over by
/// exec, and no longer once the key is revoked.
#[test]
fn truss_whoami_works_with_a_job_key_through_login_and_exec() {
    let Some(truss) = interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss") else {
        return;
    };
    let truss = truss.to_str().unwrap();
    let (fake, _admin, _api, mut env) = gitlab_job("21");
    env.set(
        "XDG_CONFIG_HOME",
        env.home.join(".config").to_str().unwrap(),
    )
    .set("TRUSS_NO_UPDATE_CHECK", "1")
    .set("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1")
    .set("HTTPS_PROXY", "http://127.0.0.1:9")
    .set("HTTP_PROXY", "http://127.0.0.1:9")
    .set("NO_PROXY", "127.0.0.1,localhost")
    .set("LANG", "C.UTF-8");
    env.run(&["login", "--job-key"]).assert_code(0);
    let whoami = |env: &TestEnv| {
        let mut cmd = env.command(&[]);
        let vars: Vec<_> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
            .filter(|(k, _)| k != "BASETEN_API_KEY")
            .collect();
        cmd = std::process::Command::new(truss);
        cmd.arg("whoami").env_clear().envs(vars);
        to_run(cmd.output().unwrap())
    };
    let run = whoami(&env);
    run.assert_code(0);
    assert!(run.stdout.contains("ci-bot@example.com"), "{}", run.stdout);
    let written = env.read_trussrc().unwrap();
    assert!(written.contains(&fake.job_keys()[0].full()));
    env.run(&["logout", "--post", "--from-env"]).assert_code(0);
    std::fs::write(env.trussrc(), written).unwrap();
    assert_ne!(whoami(&env).code, 0, "the revoked key no longer works");
    std::fs::remove_file(env.trussrc()).unwrap();

    let run = env.run(&["exec", "--job-key", "--", truss, "whoami"]);
    run.assert_code(0);
    assert!(run.stdout.contains("ci-bot@example.com"), "{}", run.stdout);
    assert_eq!(fake.deleted().len(), 2);
    assert!(fake.job_keys().is_empty());
}

#[test]
fn a_key_left_alive_is_a_line_in_the_step_summary() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let mut env = TestEnv::new();
    let summary = env.path("summary.md");
    let files: Vec<String> = ["env", "output", "state"]
        .iter()
        .map(|name| {
            let path = env.path(name);
            std::fs::write(&path, "").unwrap();
            path.to_str().unwrap().to_owned()
        })
        .collect();
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_RUN_ID", "77")
        .set("GITHUB_RUN_ATTEMPT", "1")
        .set("GITHUB_JOB", "deploy")
        .set("GITHUB_ENV", &files[0])
        .set("GITHUB_OUTPUT", &files[1])
        .set("GITHUB_STATE", &files[2])
        .set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())
        .set("BASETEN_API_KEY", &admin)
        .set("BASETEN_REMOTE_URL", &api.url)
        .set("TRUSS_CI_TEST_NOW", NOW);
    env.run(&["login", "--job-key"]).assert_code(0);
    let key = fake.job_keys().remove(0);
    fake.forbid(MANAGE_ALL, Endpoint::DeleteKey, true);
    env.unset("BASETEN_API_KEY");
    let run = env.run(&["logout", "--post"]);
    run.assert_code(3);
    run.assert_stdout_has(format!(
        "::error title=truss-ci::the job key {}",
        key.name.as_deref().unwrap()
    ));
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.contains("Job key not revoked") && text.contains(&key.prefix),
        "{text}"
    );
    assert!(!text.contains(&key.secret) && !text.contains(&admin));
}

#[test]
fn exec_signalled_while_the_key_is_created_revokes_it_and_runs_nothing() {
    use std::sync::mpsc;
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    // The create is answered only once the test has signalled truss-ci.
    let (arrived, create_seen) = mpsc::channel::<()>();
    let (signalled, go_on) = mpsc::channel::<()>();
    let go_on = std::sync::Mutex::new(go_on);
    let arrived = std::sync::Mutex::new(arrived);
    let api = fake.start_with(move |req| {
        if req.method == "POST" {
            let _ = arrived.lock().unwrap().send(());
            let _ = go_on
                .lock()
                .unwrap()
                .recv_timeout(std::time::Duration::from_secs(10));
        }
    });
    let mut env = TestEnv::new();
    gitlab(&mut env, "13", &api.url, &admin);
    let ran = env.path("ran");
    let child = env
        .command(&["exec", "--job-key", "--", "touch", ran.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    create_seen
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the create arrived");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    signalled.send(()).unwrap();
    let run = common::to_run(child.wait_with_output().unwrap());
    assert_eq!(run.code, 128 + 15, "{}", run.stderr);
    assert!(!ran.exists(), "the command never started");
    assert!(fake.job_keys().is_empty(), "the key minted was revoked");
    assert_eq!(fake.deleted().len(), 1);
}
