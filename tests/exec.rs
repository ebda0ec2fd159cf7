//! `truss-ci exec -- CMD`: the key, validated, for one command, and nothing left behind on any
//! path — the command succeeds, fails, crashes or is killed; truss-ci is signalled or SIGKILLed.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;

/// An environment whose temp directory is its own, so leftovers can be counted.
fn exec_env(api: &FakeApi) -> TestEnv {
    let mut env = TestEnv::new();
    let tmp = env.path("tmp");
    std::fs::create_dir(&tmp).unwrap();
    env.set("TMPDIR", tmp.to_str().unwrap())
        .set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &api.url);
    env
}

fn leftovers(env: &TestEnv) -> Vec<PathBuf> {
    std::fs::read_dir(env.path("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// What the command saw: `USER_TRUSSRC_PATH`, the file there and its mode, the dir's mode, and
/// whether BASETEN_API_KEY reached it.
const PROBE: &str = r#"p="$USER_TRUSSRC_PATH"; echo "path=$p"; echo "file-mode=$(stat -c %a "$p")"; echo "dir-mode=$(stat -c %a "$(dirname "$p")")"; echo "key-env=${BASETEN_API_KEY:-unset}"; cat "$p""#;

#[test]
fn the_command_gets_a_private_trussrc_that_is_gone_after() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let home_rc = "[baseten]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nthis file = is not read\n";
    std::fs::write(env.trussrc(), home_rc).unwrap();
    let run = env.run(&["exec", "--", "sh", "-c", PROBE]);
    run.assert_code(0);
    assert!(run.stdout.contains("file-mode=600"), "{}", run.stdout);
    assert!(run.stdout.contains("dir-mode=700"), "{}", run.stdout);
    assert!(run.stdout.contains("key-env=unset"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&truss_section("baseten", &api.url, KEY)),
        "{}",
        run.stdout
    );
    let path = run
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("path=");
    assert!(
        path.starts_with(env.path("tmp").to_str().unwrap()),
        "{path}"
    );
    assert!(!Path::new(path).exists());
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
    assert_eq!(env.read_trussrc().unwrap(), home_rc, "~/.trussrc untouched");
    assert_eq!(api.hits(), 1, "validated once");

    let run = env.run(&[
        "exec",
        "--export-env",
        "--remote",
        "r2",
        "--",
        "sh",
        "-c",
        PROBE,
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(&format!("key-env={KEY}")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("[r2]\n"), "{}", run.stdout);
}

#[test]
fn exit_codes_pass_through() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    env.run(&["exec", "--", "sh", "-c", "exit 7"])
        .assert_code(7);
    env.run(&["exec", "--", "sh", "-c", "kill -TERM $$"])
        .assert_code(128 + 15);
    env.run(&["exec", "--", "sh", "-c", "kill -SEGV $$"])
        .assert_code(128 + 11);
    let run = env.run(&["exec", "--", "/nonexistent/cmd"]);
    run.assert_code(127);
    assert!(
        run.stderr.contains("could not run /nonexistent/cmd"),
        "{}",
        run.stderr
    );
    let not_exec = env.path("not-exec");
    std::fs::write(&not_exec, "data").unwrap();
    env.run(&["exec", "--", not_exec.to_str().unwrap()])
        .assert_code(126);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

#[test]
fn the_command_never_runs_with_a_key_that_failed() {
    let marker = |env: &TestEnv| env.path("ran");
    let rejecting = FakeApi::accepting(&["someone-else"]);
    let mut env = exec_env(&rejecting);
    let script = format!("touch {}", marker(&env).display());
    env.run(&["exec", "--", "sh", "-c", &script]).assert_code(3);
    env.unset("BASETEN_API_KEY");
    env.run(&["exec", "--", "sh", "-c", &script]).assert_code(2);
    let refused = refused_url();
    env.set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &refused);
    env.run(&["exec", "--timeout", "0.5", "--", "sh", "-c", &script])
        .assert_code(4);
    assert!(!marker(&env).exists());
    assert!(leftovers(&env).is_empty());
}

#[test]
fn the_mask_comes_first_on_github() {
    let api = FakeApi::baseten();
    let mut env = exec_env(&api);
    let runner_temp = env.path("runner-temp");
    std::fs::create_dir(&runner_temp).unwrap();
    env.set("GITHUB_ACTIONS", "true")
        .set("RUNNER_TEMP", runner_temp.to_str().unwrap());
    let run = env.run(&["exec", "--", "sh", "-c", "echo \"$USER_TRUSSRC_PATH\""]);
    run.assert_code(0);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some(format!("::add-mask::{KEY}").as_str()));
    assert!(
        lines.any(|l| l.starts_with(runner_temp.to_str().unwrap())),
        "{}",
        run.stdout
    );
}

/// Starts `exec` with a command that records the signal it gets and exits 40+N, waits until the
/// command is running, sends `signal` to truss-ci, and returns truss-ci's exit code.
fn signalled(env: &TestEnv, signal: &str) -> i32 {
    let ready = env.path("ready");
    let _ = std::fs::remove_file(&ready);
    let script = format!(
        "trap 'exit 41' HUP; trap 'exit 42' INT; trap 'exit 45' TERM; touch {}; while :; do sleep 0.05; done",
        ready.display()
    );
    let mut child = running(env, &script, &ready);
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn signals_reach_the_command_and_nothing_is_left() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    for (signal, code) in [("HUP", 41), ("INT", 42), ("TERM", 45)] {
        assert_eq!(signalled(&env, signal), code, "{signal}");
        assert!(
            leftovers(&env).is_empty(),
            "{signal}: {:?}",
            leftovers(&env)
        );
    }
}

#[test]
fn after_a_sigkill_the_next_run_sweeps_the_private_trussrc() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    assert_eq!(signalled_kill(&env), None);
    let left: Vec<_> = leftovers(&env).into_iter().filter(|p| p.is_dir()).collect();
    assert_eq!(left.len(), 1, "the killed run left its directory: {left:?}");
    assert!(
        std::fs::read_to_string(left[0].join("trussrc"))
            .unwrap()
            .contains(KEY)
    );
    // Any command sweeps it: here the cheapest.
    env.run(&["status"]).assert_code(2);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

/// Starts `truss-ci exec -- sh -c SCRIPT` and returns once the script has touched `ready`.
fn running(env: &TestEnv, script: &str, ready: &Path) -> std::process::Child {
    let child = env
        .command(&["exec", "--", "sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(ready);
    child
}

/// SIGKILLs truss-ci while its command runs; returns its exit code (none when killed).
fn signalled_kill(env: &TestEnv) -> Option<i32> {
    let ready = env.path("ready-kill");
    let script = format!("touch {}; sleep 30", ready.display());
    let mut child = running(env, &script, &ready);
    child.kill().unwrap();
    let code = child.wait().unwrap().code();
    // The orphaned `sleep 30` holds no lock: the lock died with truss-ci.
    let _ = std::process::Command::new("pkill")
        .args(["-f", &format!("touch {}", ready.display())])
        .status();
    code
}

#[test]
fn real_truss_works_through_exec() {
    let Some(truss) = interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss") else {
        return;
    };
    let api = FakeApi::baseten();
    let mut env = exec_env(&api);
    env.set("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1")
        .set("TRUSS_NO_UPDATE_CHECK", "1")
        .set("HTTPS_PROXY", "http://127.0.0.1:9")
        .set("NO_PROXY", "127.0.0.1,localhost");
    let run = env.run(&[
        "exec",
        "--from-env",
        "--",
        truss.to_str().unwrap(),
        "whoami",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("local-ws"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    let graphql = api
        .requests()
        .into_iter()
        .filter(|r| r.path == "/graphql/")
        .count();
    assert_eq!(
        graphql, 1,
        "truss called the API with the key from the private trussrc"
    );
    assert_eq!(env.read_trussrc(), None, "~/.trussrc was never written");
    assert!(leftovers(&env).is_empty());
}

#[test]
fn a_starting_exec_is_never_swept() {
    let api = FakeApi::baseten();
    let mut env = exec_env(&api);
    let pause = env.path("pause");
    std::fs::create_dir(&pause).unwrap();
    env.set("TRUSS_CI_TEST_EXEC_PAUSE", pause.to_str().unwrap());
    let ran = env.path("ran");
    let child = env
        .command(&["exec", "--", "touch", ran.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held between the creation of its files and the lock that tells a sweeper they are live.
    wait_for(&pause.join("paused"));
    env.run(&["status"]).assert_code(2);
    std::fs::write(pause.join("resume"), "").unwrap();
    to_run(child.wait_with_output().unwrap()).assert_code(0);
    assert!(ran.exists());
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}
