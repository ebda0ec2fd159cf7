//! Job keys as a busy fleet and a hostile server use them: revoked after a command of any length,
//! never a sibling's key, each run's own undo, any workspace size, a create that answers with the
//! wrong key, every server value through one gate, and no file written that would not be read.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::management::{Baseten, Endpoint, LONG_EXPIRED, MANAGE_ALL, MANAGE_API_KEYS};
use common::*;
use truss_ci::api::ApiSettings;
use truss_ci::api::Client;
use truss_ci::error::Kind;
use truss_ci::job_key::{self, Revoked};
use truss_ci::secret::ApiKey;
use truss_ci::undo::JobKey;

use common::management::{NOW, key_job as gitlab};

fn prefix(full: &str) -> String {
    full.split_once('.').unwrap().0.to_owned()
}

fn secret(full: &str) -> String {
    full.split_once('.').unwrap().1.to_owned()
}

/// The revocation has a budget of its own: a command that runs past `--timeout` still has its key
/// deleted, and a key left alive fails the job (3 refused, 4 unreachable) with an error that names
/// the prefix and prune; after a failed command, the command's code stands.
#[test]
fn exec_revokes_after_a_command_longer_than_the_timeout_or_fails_the_job() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let slow = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slow_deletes = std::sync::Arc::clone(&slow);
    let api = fake.start_with(move |req| {
        if req.method == "DELETE" && slow_deletes.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1500));
        }
    });
    let mut env = TestEnv::new();
    gitlab(&mut env, "41", &api.url, &admin);
    let exec = |command: &str| {
        env.run(&[
            "exec",
            "--job-key",
            "--timeout",
            "0.5",
            "--",
            "sh",
            "-c",
            command,
        ])
    };
    let run = exec("sleep 1.2");
    run.assert_code(0);
    assert_eq!(fake.deleted().len(), 1, "{}", run.stderr);
    assert!(fake.job_keys().is_empty());

    fake.forbid(MANAGE_ALL, Endpoint::DeleteKey, true);
    let run = exec("true");
    run.assert_code(3);
    let key = fake.job_keys().remove(0);
    run.assert_stderr_has(format!(
        "error: the job key {}",
        key.name.as_deref().unwrap()
    ));
    run.assert_stderr_has(format!("prefix {}", key.prefix));
    run.assert_stderr_has("truss-ci keys prune");
    let run = exec("exit 7");
    run.assert_code(7);
    run.assert_stderr_has("was not revoked");
    fake.forbid(MANAGE_ALL, Endpoint::DeleteKey, false);

    // A DELETE that never answers within the budget: unreachable, exit 4, within a bound.
    slow.store(true, std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    let run = exec("true");
    run.assert_code(4);
    run.assert_stderr_has("was not revoked");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "every wait is bounded"
    );
}

/// `logout --post` after a job that ran longer than `--timeout`: the post has its own budget.
#[test]
fn post_revokes_whatever_the_job_took_and_says_when_it_cannot() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, "42", &api.url, &admin);
    env.run(&["login", "--job-key", "--timeout", "0.5"])
        .assert_code(0);
    std::thread::sleep(Duration::from_millis(700));
    env.run(&["logout", "--post", "--timeout", "0.5"])
        .assert_code(0);
    assert!(fake.job_keys().is_empty());

    // With no key that may delete it, the job sees exit 2 (no key) and the JSON report says so.
    env.run(&["login", "--job-key"]).assert_code(0);
    let key = fake.job_keys().remove(0);
    fake.forbid(MANAGE_ALL, Endpoint::DeleteKey, true);
    env.unset("BASETEN_API_KEY");
    let run = env.run(&["logout", "--post", "--output", "json"]);
    run.assert_code(3);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(v["error"]["exit_code"], 3);
    assert_eq!(v["error"]["report"]["job_keys"][0]["revoked"], false);
    assert_eq!(v["error"]["report"]["job_keys"][0]["prefix"], key.prefix);
    assert_eq!(run.stdout.lines().count(), 1, "one JSON object");
}

fn client(url: &str) -> Client {
    let settings = ApiSettings {
        timeout: Duration::from_secs(10),
        ..ApiSettings::default()
    };
    Client::new(url, &settings).unwrap()
}

fn api_key(text: &str) -> ApiKey {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).unwrap()
}

/// A revocation by name (the prefix never recorded) deletes at most one key, only one named
/// exactly as the intent, never the revoking key, and never for a name without a random part;
/// a known prefix is deleted by that alone.
#[test]
fn a_job_revokes_only_the_key_it_created() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("truss-ci-gitlab-1-202611301113-0a1b2c3d"));
    let api = fake.start();
    let client = client(&api.url);
    let admin_key = api_key(&admin);
    let record = |name: &str, prefix: Option<&str>| JobKey {
        name: name.into(),
        prefix: prefix.map(str::to_owned),
        api_url: api.url.clone(),
    };
    let name = "truss-ci-gitlab-1-202611301113-0a1b2c3d";
    // The revoking key has the name: it is never deleted, and nothing else has it.
    assert_eq!(
        job_key::revoke(&client, &admin_key, &record(name, None)),
        Revoked::Deleted(vec![])
    );
    // One key has it: that one.
    let mine = fake.add(MANAGE_ALL, Some(name));
    assert_eq!(
        job_key::revoke(&client, &admin_key, &record(name, None)),
        Revoked::Deleted(vec![prefix(&mine)])
    );
    // Two have it: neither, and the job sees why.
    let a = fake.add(MANAGE_ALL, Some(name));
    let b = fake.add(MANAGE_ALL, Some(name));
    let Revoked::Failed(kind, why) = job_key::revoke(&client, &admin_key, &record(name, None))
    else {
        panic!("two keys of one name were revoked");
    };
    assert_eq!(kind, Kind::Unreachable);
    assert!(why.contains("2 keys are named"), "{why}");
    // A name made before names had a random part is never deleted by name.
    let legacy = "truss-ci-gitlab-1-202611301113";
    let sibling = fake.add(MANAGE_ALL, Some(legacy));
    assert!(matches!(
        job_key::revoke(&client, &admin_key, &record(legacy, None)),
        Revoked::Failed(Kind::Unexpected, _)
    ));
    // A listed prefix no key has is neither sent back nor printed.
    let odd_name = "truss-ci-gitlab-1-202611301113-0f0f0f0f";
    fake.add_exact(
        "bad\u{202e}x.SecretOfAnOddlyListedKey",
        MANAGE_ALL,
        Some(odd_name),
    );
    let Revoked::Failed(_, why) = job_key::revoke(&client, &admin_key, &record(odd_name, None))
    else {
        panic!("a key with an odd prefix was deleted");
    };
    assert!(!why.contains('\u{202e}'), "{why}");
    // A known prefix: that key alone, whatever else shares its name.
    assert_eq!(
        job_key::revoke(&client, &admin_key, &record(name, Some(&prefix(&a)))),
        Revoked::Deleted(vec![prefix(&a)])
    );
    let alive: Vec<String> = fake.keys().iter().map(|k| k.full()).collect();
    for key in [&admin, &b, &sibling] {
        assert!(alive.contains(key));
    }
}

/// A minted key whose first check fails is revoked by its prefix and its intent retired: the post
/// then deletes nothing by name, so a sibling job's live key (the same job name, the same minute)
/// survives. Two mints of one job id in one minute get names of their own.
#[test]
fn a_failed_mint_never_costs_a_sibling_its_key() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_API_KEYS, None);
    // The name the job's key had before names had a random part: a sibling's live key. (The job's
    // key has this expiry on the clock test builds pin; on the wall clock it has another, and the
    // sibling's survival below proves less.)
    let sibling = fake.add(MANAGE_ALL, Some("truss-ci-gitlab-5-202611301113"));
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, "5", &api.url, &admin);
    fake.forbid(MANAGE_ALL, Endpoint::UsersMe, true);
    let run = env.run(&["login", "--job-key"]);
    run.assert_code(3);
    run.assert_stderr_has("it was revoked");
    assert_eq!(fake.deleted().len(), 1);
    env.run(&["logout", "--post", "--from-env"]).assert_code(0);
    assert_eq!(fake.deleted().len(), 1, "the post deleted nothing more");
    assert!(fake.keys().iter().any(|k| k.full() == sibling));
    let undo = env.home.join(".trussrc.truss-ci-state.json");
    assert!(!undo.exists(), "the intent was retired");

    fake.forbid(MANAGE_ALL, Endpoint::UsersMe, false);
    env.run(&["login", "--job-key"]).assert_code(0);
    let mut other = TestEnv::new();
    gitlab(&mut other, "5", &api.url, &admin);
    other.run(&["login", "--job-key"]).assert_code(0);
    let names: std::collections::BTreeSet<_> =
        fake.job_keys().into_iter().filter_map(|k| k.name).collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

/// Two runs that share a HOME and every variable their platform lets them share: each post undoes
/// its own run's login and revokes its own key, never the other's.
#[test]
fn a_post_undoes_only_its_own_run_on_every_platform() {
    type Vars<'a> = &'a [(&'a str, &'a str)];
    let pairs: [(&str, Vars<'_>, Vars<'_>); 7] = [
        (
            "jenkins",
            &[
                ("JOB_NAME", "a/b-c"),
                ("BUILD_NUMBER", "1"),
                ("BUILD_TAG", "jenkins-a-b-c-1"),
                ("NODE_NAME", "n1"),
                ("EXECUTOR_NUMBER", "0"),
            ],
            &[
                ("JOB_NAME", "a-b/c"),
                ("BUILD_NUMBER", "1"),
                ("BUILD_TAG", "jenkins-a-b-c-1"),
                ("NODE_NAME", "n1"),
                ("EXECUTOR_NUMBER", "0"),
            ],
        ),
        (
            "github",
            &[
                ("GITHUB_RUN_ID", "9"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", "deploy"),
                ("RUNNER_NAME", "gpu-runner-1"),
            ],
            &[
                ("GITHUB_RUN_ID", "9"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", "deploy"),
                ("RUNNER_NAME", "gpu-runner-2"),
            ],
        ),
        (
            "gitlab",
            &[("CI_JOB_ID", "7"), ("CI_SERVER_HOST", "a.example")],
            &[("CI_JOB_ID", "7"), ("CI_SERVER_HOST", "b.example")],
        ),
        (
            "azure",
            &[("BUILD_BUILDID", "5"), ("SYSTEM_JOBID", "j1")],
            &[("BUILD_BUILDID", "5"), ("SYSTEM_JOBID", "j2")],
        ),
        (
            "buildkite",
            &[("BUILDKITE_JOB_ID", "u1")],
            &[("BUILDKITE_JOB_ID", "u2")],
        ),
        (
            "circleci",
            &[("CIRCLE_WORKFLOW_JOB_ID", "w"), ("CIRCLE_NODE_INDEX", "0")],
            &[("CIRCLE_WORKFLOW_JOB_ID", "w"), ("CIRCLE_NODE_INDEX", "1")],
        ),
        (
            "bitbucket",
            &[("BITBUCKET_STEP_UUID", "{s1}")],
            &[("BITBUCKET_STEP_UUID", "{s2}")],
        ),
    ];
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    for (ci, a, b) in pairs {
        let home = TestEnv::new();
        let job = |vars: Vars<'_>| {
            let mut env = TestEnv::new().home_of(&home);
            env.set("BASETEN_API_KEY", &admin)
                .set("BASETEN_REMOTE_URL", &api.url)
                .set("TRUSS_CI_TEST_NOW", NOW);
            for (k, v) in vars {
                env.set(k, v);
            }
            env
        };
        let (a, b) = (job(a), job(b));
        a.run(&["--ci", ci, "login", "--job-key", "--remote", "a"])
            .assert_code(0);
        let a_key = fake.job_keys().remove(0);
        b.run(&["--ci", ci, "login", "--job-key", "--remote", "b"])
            .assert_code(0);
        a.run(&["--ci", ci, "logout", "--post"]).assert_code(0);
        let rc = home.read_trussrc().unwrap();
        assert!(!rc.contains("[a]") && rc.contains("[b]"), "{ci}: {rc}");
        assert_eq!(fake.deleted().last(), Some(&a_key.prefix), "{ci}");
        assert_eq!(
            fake.job_keys().len(),
            1,
            "{ci}: the other run's key is alive"
        );
        b.run(&["--ci", ci, "logout", "--post"]).assert_code(0);
        let rc = home.read_trussrc().unwrap_or_default();
        assert!(!rc.contains("[a]") && !rc.contains("[b]"), "{ci}: {rc}");
        assert!(fake.job_keys().is_empty(), "{ci}");
    }
}

/// 10,000 keys: the lookup, `--require-key-type` and prune work; a list larger than truss-ci reads
/// is too large (exit 4), never a rejected key.
#[test]
fn any_realistic_workspace_and_a_list_too_large_to_read() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("ci-admin"));
    fake.add_many(10_000, MANAGE_ALL, "deploy-bot");
    let expired = format!("truss-ci-gitlab-1-{LONG_EXPIRED}-0a1b2c3d");
    let expired = fake.add(MANAGE_ALL, Some(&expired));
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, "8", &api.url, &admin);
    env.run(&["login", "--require-key-type", "workspace-manage-all"])
        .assert_code(0);
    let run = env.run(&["keys", "prune", "--output", "json"]);
    run.assert_code(0);
    assert_eq!(fake.deleted(), [prefix(&expired)]);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(v["kept"], 10_001);

    // A list past 16 MiB: too large to read, which says nothing of the key.
    let padded = Baseten::new();
    let admin = padded.add(MANAGE_ALL, Some("ci-admin"));
    let api = padded.start_rewriting(|_, answer| {
        if answer.contains_key("keys") {
            answer.insert("padding".into(), "x".repeat(17 * 1024 * 1024).into());
        }
    });
    gitlab(&mut env, "8", &api.url, &admin);
    let run = env.run(&["keys", "prune"]);
    run.assert_code(4);
    run.assert_stderr_has("larger than the 16 MiB");
    let run = env.run(&["login", "--require-key-type", "workspace-manage-all"]);
    run.assert_code(4);
    run.assert_stderr_has("larger than the 16 MiB");
}

/// A create whose answer is the minting key, another existing key or no key at all: exit 4,
/// nothing stored, and nothing deleted by the prefix it answered.
#[test]
fn the_minting_key_is_never_taken_for_a_job_key() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let other = fake.add(MANAGE_ALL, Some("someone-elses"));
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, "9", &api.url, &admin);
    let twin = format!("{}.{}", prefix(&admin), "Another0Secret0Of0The0Same0Prefix");
    for answer in [
        admin.as_str(),
        &other,
        &twin,
        "short",
        "pre.has spaces in it, not a key",
    ] {
        fake.answer_creates_with(answer);
        let run = env.run(&["login", "--job-key", "--export-env"]);
        run.assert_code(4);
        run.assert_stderr_has("answered the create of job key");
        assert!(env.read_trussrc().is_none(), "{answer}");
        assert!(fake.deleted().is_empty(), "{answer}: {:?}", fake.deleted());
        assert!(!run.all().contains(&secret(&admin)));
    }
    env.run(&["logout", "--post", "--from-env"]).assert_code(0);
    assert!(fake.deleted().is_empty());
    let alive: Vec<String> = fake.keys().iter().map(|k| k.full()).collect();
    assert!(alive.contains(&admin) && alive.contains(&other));
}

/// Team names and listed prefixes that spell the key in 7-character chunks, carry bidi overrides
/// or run to 3 KB are withheld whole, in text and JSON.
#[test]
fn every_server_value_goes_through_the_one_gate() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let chunked: String = secret(&admin)
        .as_bytes()
        .chunks(7)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("-");
    let hostile = [
        chunked.clone(),
        "ok\u{202e}txt.exe".to_owned(),
        "x".repeat(3000),
    ];
    for (i, p) in hostile.iter().enumerate() {
        let name = format!("truss-ci-gitlab-{i}-{LONG_EXPIRED}-0a1b2c3d");
        fake.add_exact(
            &format!("{p}.SecretPartOfAHostileKey{i}"),
            MANAGE_ALL,
            Some(&name),
        );
    }
    let teams = hostile.clone();
    let api = fake.start_rewriting(move |_, answer| {
        if let Some(serde_json::Value::Array(list)) = answer.get_mut("teams") {
            for (team, name) in list.iter_mut().zip(teams.iter().cycle()) {
                team["name"] = name.clone().into();
            }
        }
    });
    let mut env = TestEnv::new();
    gitlab(&mut env, "10", &api.url, &admin);
    let check = |run: &Run| {
        let all = run.all();
        assert!(!all.contains('\u{202e}'), "{all}");
        assert!(
            !all.contains(&chunked) && !all.contains(&"x".repeat(200)),
            "{all}"
        );
        assert!(all.lines().all(|l| l.len() < 1200), "{all}");
    };
    let run = env.run(&["login", "--job-key", "--team", "nope"]);
    run.assert_code(2);
    run.assert_stderr_has("(withheld: not plain text)");
    check(&run);
    for output in ["text", "json"] {
        let run = env.run(&["keys", "prune", "--dry-run", "--output", output]);
        run.assert_code(0);
        check(&run);
    }
}

/// A login whose trussrc or undo record would outgrow what truss-ci reads back is refused before
/// any key is created or byte written: exit 5.
#[test]
fn never_writes_a_file_it_would_refuse_to_read() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let api = fake.start();
    let mut env = TestEnv::new();
    gitlab(&mut env, "12", &api.url, &admin);
    let line = "# a comment line of some length to fill the file with\n";
    let near = line.repeat((1024 * 1024 - 100) / line.len());
    std::fs::write(env.trussrc(), &near).unwrap();
    let run = env.run(&["login", "--job-key"]);
    run.assert_code(5);
    run.assert_stderr_has("over the 1048576");
    assert_eq!(api.hits(), 0, "nothing was sent");
    assert_eq!(std::fs::read_to_string(env.trussrc()).unwrap(), near);

    // The undo record near its cap: the same.
    std::fs::remove_file(env.trussrc()).unwrap();
    env.run(&["login"]).assert_code(0);
    let undo = env.home.join(".trussrc.truss-ci-state.json");
    let mut records: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&undo).unwrap()).unwrap();
    records[0]["previous_section"] = "x".repeat(4 * 1024 * 1024 - 2000).into();
    std::fs::write(&undo, serde_json::to_vec(&records).unwrap()).unwrap();
    let before = std::fs::read(&undo).unwrap();
    let run = env.run(&["login", "--job-key", "--remote", "other"]);
    run.assert_code(5);
    run.assert_stderr_has("undo record");
    assert!(fake.job_keys().is_empty());
    assert_eq!(std::fs::read(&undo).unwrap(), before);
}

/// What a post must still do whatever else went wrong: a Jenkins pipeline's `post` (a stage of its
/// own) finds the login of an earlier stage; a create answered with a 2xx it could not read keeps
/// its intent, so the post deletes the key made under that name; exports that cannot be cleared
/// do not keep the key from being revoked.
#[test]
fn a_post_still_revokes_what_its_run_minted() {
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, None);
    let garble = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let garbled = std::sync::Arc::clone(&garble);
    let api = fake.start_rewriting(move |_, answer| {
        if garbled.load(std::sync::atomic::Ordering::SeqCst) && answer.contains_key("api_key") {
            answer.insert("api_key".into(), 7.into());
        }
    });
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", &admin)
        .set("BASETEN_REMOTE_URL", &api.url)
        .set("TRUSS_CI_TEST_NOW", NOW)
        .set("JENKINS_URL", "https://jenkins.example/")
        .set("JOB_NAME", "deploy")
        .set("BUILD_NUMBER", "3")
        .set("STAGE_NAME", "Deploy");
    env.run(&["login", "--job-key"]).assert_code(0);
    env.set("STAGE_NAME", "Declarative: Post Actions");
    env.run(&["logout", "--post"]).assert_code(0);
    assert!(fake.job_keys().is_empty(), "the pipeline's post revoked it");

    garble.store(true, std::sync::atomic::Ordering::SeqCst);
    env.run(&["login", "--job-key"]).assert_code(4);
    assert_eq!(fake.job_keys().len(), 1, "the server made it all the same");
    env.run(&["logout", "--post"]).assert_code(0);
    assert!(fake.job_keys().is_empty(), "found by its name and deleted");
    garble.store(false, std::sync::atomic::Ordering::SeqCst);

    let mut circle = TestEnv::new();
    let bash_env = circle.path("bash_env");
    std::fs::write(&bash_env, "").unwrap();
    circle
        .set("BASETEN_API_KEY", &admin)
        .set("BASETEN_REMOTE_URL", &api.url)
        .set("TRUSS_CI_TEST_NOW", NOW)
        .set("CIRCLECI", "true")
        .set("CIRCLE_WORKFLOW_JOB_ID", "w")
        .set("BASH_ENV", bash_env.to_str().unwrap());
    circle
        .run(&["login", "--job-key", "--export-env"])
        .assert_code(0);
    std::fs::remove_file(&bash_env).unwrap();
    std::fs::create_dir(&bash_env).unwrap();
    let run = circle.run(&["logout", "--post"]);
    run.assert_code(5);
    assert!(fake.job_keys().is_empty(), "revoked though {}", run.stderr);
}
