//! `status`, `logout`, `logout --post` and keyring storage without a usable keyring.
#![cfg(unix)] // modes, symlinks, sh and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::github_oracle::parse_file_command;
use common::*;

const LEGACY: &str =
    "[legacy]\nremote_provider = baseten\napi_key = OLD\nremote_url = https://app.baseten.co\n\n";
const OAUTH_INLINE: &str = "[sso]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = oauth\noauth_access_token = AT-SECRET\noauth_refresh_token = RT-SECRET\noauth_expires_at = 4102444800\n\n";
const OAUTH_KEYRING: &str = "[sso-kr]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = oauth\n\n";

fn lines(run: &Run) -> Vec<&str> {
    run.stdout.lines().collect()
}

#[test]
fn status_prints_what_truss_auth_status_prints() {
    let api = FakeApi::baseten();
    let env = TestEnv::new();
    let inline = truss_section("ci", &api.url, KEY);
    std::fs::write(
        env.trussrc(),
        format!("{inline}{LEGACY}{OAUTH_INLINE}{OAUTH_KEYRING}"),
    )
    .unwrap();
    let run = env.run(&["status", "--remote", "ci"]);
    run.assert_code(0);
    assert_eq!(
        lines(&run),
        [
            "remote: ci",
            &format!("remote_url: {}", api.url),
            "auth_type: api_key",
            "source: trussrc-inline"
        ]
    );
    let run = env.run(&["status", "--remote", "legacy"]);
    assert_eq!(lines(&run)[2], "auth_type: api_key (plaintext)");
    let run = env.run(&["status", "--remote", "sso"]);
    assert_eq!(
        lines(&run)[2..],
        ["auth_type: oauth", "source: trussrc-inline"]
    );
    assert!(!run.all().contains("SECRET"), "tokens are never printed");
    let run = env.run(&["status", "--remote", "sso-kr"]);
    assert_eq!(lines(&run)[2..], ["auth_type: oauth", "source: keyring"]);

    let run = env.run(&["status", "--output", "json", "--remote", "ci"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["source"], "trussrc-inline");
    assert!(!run.all().contains(KEY));
}

#[test]
fn status_refusals_exit_2() {
    let env = TestEnv::new();
    let run = env.run(&["status"]);
    run.assert_code(2);
    run.assert_stderr_has("No remotes configured");
    env.run(&["status", "--remote", "x"]).assert_code(2);
    std::fs::write(
        env.trussrc(),
        format!(
            "{}{}",
            truss_section("a", "https://x", "A"),
            truss_section("b", "https://x", "B")
        ),
    )
    .unwrap();
    let run = env.run(&["status"]);
    run.assert_code(2);
    assert!(
        run.stderr.contains("a, b"),
        "lists the remotes: {}",
        run.stderr
    );
    let run = env.run(&["status", "--remote", "zzz"]);
    run.assert_code(2);
    run.assert_stderr_has("configured remotes: a, b");
    std::fs::write(
        env.trussrc(),
        "[nokey]\nremote_provider = baseten\nremote_url = https://x\n",
    )
    .unwrap();
    let run = env.run(&["status"]);
    run.assert_code(2);
    assert!(run.stderr.contains("has no credentials configured"));
}

#[test]
fn status_reports_the_env_pair_like_truss() {
    let mut env = TestEnv::new()
        .with("BASETEN_TRUSS_AUTH_API_KEY", KEY)
        .with("BASETEN_TRUSS_AUTH_REMOTE_URL", "https://app.baseten.co");
    let run = env.run(&["status"]);
    run.assert_code(0);
    assert_eq!(
        lines(&run),
        [
            "remote: <environment>",
            "remote_url: https://app.baseten.co",
            "auth_type: api_key",
            "source: BASETEN_TRUSS_AUTH_API_KEY"
        ]
    );
    env.run(&["status", "--remote", "x"]).assert_code(2);
    env.unset("BASETEN_TRUSS_AUTH_REMOTE_URL");
    let run = env.run(&["status"]);
    run.assert_code(2);
    assert!(run.stderr.contains("set both or neither"));
}

#[test]
fn status_check_validates_the_stored_key() {
    let api = FakeApi::baseten();
    let env = TestEnv::new();
    std::fs::write(env.trussrc(), truss_section("ci", &api.url, KEY)).unwrap();
    let run = env.run(&["status", "--check"]);
    run.assert_code(0);
    assert_eq!(
        lines(&run)[4..],
        [
            "workspace: local-ws",
            "user: ci-bot@example.com",
            "validated: true",
            &format!(
                "key: {}: \"ci-deploy\" (workspace-manage-all, all models), last used 2026-11-29",
                KEY.split_once('.').unwrap().0
            ),
        ]
    );
    let run = env.run(&["status", "--check", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["user"]["workspace"], "local-ws");
    assert_eq!(v["key"]["type"], "workspace-manage-all");

    std::fs::write(env.trussrc(), truss_section("ci", &api.url, "revoked.key")).unwrap();
    let run = env.run(&["status", "--check"]);
    run.assert_code(3);
    assert!(
        run.stderr.contains("[ci] in"),
        "names the source: {}",
        run.stderr
    );
    assert!(!run.all().contains("revoked.key"));

    let env = TestEnv::new().with("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1");
    std::fs::write(
        env.trussrc(),
        format!(
            "[kr]\nremote_provider = baseten\nremote_url = {}\nauth_type = api_key\n\n",
            api.url
        ),
    )
    .unwrap();
    let run = env.run(&["status", "--check"]);
    run.assert_code(2);
    run.assert_stderr_has("keyring is unavailable");
    std::fs::write(env.trussrc(), OAUTH_INLINE).unwrap();
    env.run(&["status", "--check"]).assert_code(2);
}

#[test]
fn logout_removes_sections_and_keeps_every_other_byte() {
    let env = TestEnv::new();
    let head = "# my remotes\r\n[keep]\r\nremote_provider = baseten\r\nremote_url = https://x\r\napi_key = K\r\n\r\n";
    let gone = truss_section("gone", "https://y", "G");
    let tail =
        "; trailing\n[also]\nremote_provider = baseten\nremote_url = https://z\napi_key = Z\n";
    std::fs::write(env.trussrc(), format!("{head}{gone}{tail}")).unwrap();
    env.run(&["logout", "--remote", "gone"]).assert_code(0);
    assert_eq!(env.read_trussrc().unwrap(), format!("{head}{tail}"));
    let run = env.run(&["logout", "--remote", "gone"]);
    run.assert_code(2);
    env.run(&["logout", "--all"]).assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        "# my remotes\r\n; trailing\n",
        "comments belong to no section and stay"
    );

    std::fs::write(env.trussrc(), truss_section("only", "https://x", "K")).unwrap();
    env.run(&["logout"]).assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        "",
        "the last remote leaves an empty file, as truss does"
    );
}

#[test]
fn keyring_storage_without_a_keyring_falls_back_with_one_warning() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new().key(KEY).api(&api);
    let run = env.run(&["login", "--storage", "keyring", "--output", "json"]);
    run.assert_code(0);
    let expected = format!(
        "Warning: no usable OS keyring backend; storing credentials for baseten in plaintext in {}.",
        env.trussrc().display()
    );
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("keyring"))
        .collect();
    assert_eq!(warnings, [expected.as_str()]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["storage"], "inline");
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, KEY)
    );

    env.set("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "TRUE");
    let run = env.run(&["login", "--storage", "keyring"]);
    run.assert_code(0);
    assert!(
        !run.stderr.to_lowercase().contains("keyring"),
        "silent when disabled: {}",
        run.stderr
    );
}

#[test]
fn a_hung_dbus_cannot_hang_login() {
    use std::os::unix::net::UnixListener;
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    let socket = env.path("bus");
    let listener = UnixListener::bind(&socket).unwrap();
    // Accepts connections and never answers.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    env.set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &api.url)
        .set(
            "DBUS_SESSION_BUS_ADDRESS",
            &format!("unix:path={}", socket.display()),
        );
    let started = Instant::now();
    let run = env.run(&["login", "--storage", "keyring"]);
    run.assert_code(0);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    run.assert_stderr_has("Warning: no usable OS keyring backend");
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, KEY)
    );
}

#[test]
fn post_restores_a_replaced_section_byte_for_byte() {
    let api = FakeApi::baseten();
    let env = TestEnv::new().gitlab_job("5").key(KEY).api(&api);
    let before = "# hand-written\n[ci]\nremote_provider: baseten\nremote_url = https://old\nteam = ml\napi_key = OLDKEY\n[other]\nremote_provider = baseten\nremote_url = https://o\napi_key = O\n";
    std::fs::write(env.trussrc(), before).unwrap();
    env.run(&["login", "--remote", "ci", "--remote-url", &api.url])
        .assert_code(0);
    assert_ne!(env.read_trussrc().unwrap(), before);
    let state = env.home.join(".trussrc.truss-ci-state.json");
    assert_eq!(mode(&state), 0o600);
    let run = env.run(&["logout", "--post"]);
    run.assert_code(0);
    assert_eq!(env.read_trussrc().unwrap(), before);
    assert!(!state.exists(), "the record is consumed");
    let run = env.run(&["logout", "--post"]);
    run.assert_code(0);
    assert!(run.stderr.contains("nothing to clean up"));
    assert_eq!(env.read_trussrc().unwrap(), before);
}

#[test]
fn post_removes_a_created_file_and_appended_sections() {
    let api = FakeApi::baseten();
    let env = TestEnv::new()
        .with("CIRCLECI", "true")
        .with("CIRCLE_WORKFLOW_JOB_ID", "c-1")
        .key(KEY)
        .api(&api);
    env.run(&["login", "--remote", "a"]).assert_code(0);
    env.run(&["login", "--remote", "b"]).assert_code(0);
    env.run(&["logout", "--post"]).assert_code(0);
    assert!(!env.trussrc().exists(), "the file login created is gone");

    let hand = "[keep]\nremote_provider = baseten\nremote_url = https://k\napi_key = K";
    std::fs::write(env.trussrc(), hand).unwrap();
    env.run(&["login", "--remote", "added"]).assert_code(0);
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        hand,
        "separators added on append are removed too"
    );
}

#[test]
fn post_on_github_undoes_this_action_and_clears_its_env() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    let (genv, gstate, gout) = (
        env.path("github_env"),
        env.path("github_state"),
        env.path("out"),
    );
    std::fs::write(&genv, "").unwrap();
    std::fs::write(&gstate, "").unwrap();
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_ENV", genv.to_str().unwrap())
        .set("GITHUB_OUTPUT", gout.to_str().unwrap())
        .set("GITHUB_STATE", gstate.to_str().unwrap())
        .set("BASETEN_API_KEY", KEY);
    // As the action's shim runs it: the key in env, the inputs as flags.
    let url = format!("--remote-url={}", api.url);
    env.run(&["login", "--from-env", &url, "--export-env"])
        .assert_code(0);
    let state = parse_file_command(&std::fs::read_to_string(&gstate).unwrap()).unwrap();
    // The post step runs with STATE_* and a fresh GITHUB_ENV.
    let post_env = env.path("post_env");
    std::fs::write(&post_env, "").unwrap();
    env.set("GITHUB_ENV", post_env.to_str().unwrap());
    env.unset("BASETEN_API_KEY");
    for (name, value) in &state {
        env.set(&format!("STATE_{name}"), value);
    }
    let run = env.run(&["logout", "--post"]);
    run.assert_code(0);
    assert!(!env.trussrc().exists());
    assert_eq!(
        parse_file_command(&std::fs::read_to_string(&post_env).unwrap()).unwrap(),
        [
            ("BASETEN_API_KEY".to_owned(), String::new()),
            ("BASETEN_REMOTE_URL".to_owned(), String::new())
        ]
    );
    env.run(&["logout", "--post"]).assert_code(0);
}

#[test]
fn repeated_logins_keep_one_record_and_post_restores_the_original() {
    let api = FakeApi::accepting(&["k1.x", "k2.x", "k3.x"]);
    let mut env = TestEnv::new().gitlab_job("6").api(&api);
    let before = truss_section("ci", "https://old", "ORIGINAL");
    std::fs::write(env.trussrc(), &before).unwrap();
    for key in ["k1.x", "k2.x", "k3.x"] {
        env.set("BASETEN_API_KEY", key);
        env.run(&["login", "--remote", "ci"]).assert_code(0);
    }
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(env.home.join(".trussrc.truss-ci-state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state.as_array().unwrap().len(), 1, "one record per remote");
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(env.read_trussrc().unwrap(), before);
}

/// The names in HOME.
fn home_files(env: &TestEnv) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&env.home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_job_leaves_home_holding_exactly_what_it_held() {
    let api = FakeApi::baseten();
    for existing in [None, Some(truss_section("keep", "https://k", "K"))] {
        let mut env = TestEnv::new();
        if let Some(text) = &existing {
            std::fs::write(env.trussrc(), text).unwrap();
        }
        let before = home_files(&env);
        env.set("BASETEN_API_KEY", KEY)
            .set("BASETEN_REMOTE_URL", &api.url);
        // A CI job: login, then the post step.
        env.set("GITLAB_CI", "true").set("CI_JOB_ID", "77");
        env.run(&["login", "--remote", "ci"]).assert_code(0);
        env.run(&["logout", "--post"]).assert_code(0);
        assert_eq!(home_files(&env), before, "after login and logout --post");
        assert_eq!(env.read_trussrc(), existing);
        // Outside CI: login, then a plain logout of that remote.
        env.unset("GITLAB_CI").unset("CI_JOB_ID");
        env.run(&["login", "--remote", "ci"]).assert_code(0);
        env.run(&["logout", "--remote", "ci"]).assert_code(0);
        let mut expected = before.clone();
        if existing.is_none() {
            // truss's own logout leaves an empty trussrc too.
            expected.push(".trussrc".into());
        }
        assert_eq!(home_files(&env), expected, "after login and logout");
    }
}

#[test]
fn a_crlf_file_gets_a_crlf_section_and_loses_it_without_a_trace() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &api.url);
    // As truss writes it on Windows (Python's text mode), and as a person might leave it.
    let by_truss = truss_section("prod", "https://x", "P").replace('\n', "\r\n");
    for before in [by_truss.as_str(), "; mine\r\n[prod]\r\nk = v"] {
        std::fs::write(env.trussrc(), before).unwrap();
        env.run(&["login"]).assert_code(0);
        let text = env.read_trussrc().unwrap();
        let added = text.strip_prefix(before).unwrap();
        assert!(
            !added.replace("\r\n", "").contains('\n'),
            "every line it adds ends in CRLF: {added:?}"
        );
        assert!(added.ends_with(&truss_section("baseten", &api.url, KEY).replace('\n', "\r\n")));
        if before == by_truss {
            env.run(&["logout", "--remote", "baseten"]).assert_code(0);
            assert_eq!(
                env.read_trussrc().unwrap(),
                before,
                "logout leaves no stray line ending"
            );
        }
    }
    // The undo restores any file, byte for byte.
    let mut job = env;
    job.set("GITLAB_CI", "true").set("CI_JOB_ID", "7");
    for before in [by_truss.as_str(), "; mine\r\n[prod]\r\nk = v"] {
        std::fs::write(job.trussrc(), before).unwrap();
        job.run(&["login"]).assert_code(0);
        job.run(&["logout", "--post"]).assert_code(0);
        assert_eq!(job.read_trussrc().unwrap(), before);
    }
}

/// `logout --all` over many remotes names a few and sums up the rest (JSON lists every one), and
/// a keyring that fails once is not asked about each of the others. The failing keyring is the
/// file store of test builds (`--features test-hooks`).
#[test]
#[cfg(feature = "test-hooks")]
fn logout_all_over_many_remotes_is_short_and_asks_a_failing_keyring_once() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let text: String = (0..20)
        .map(|i| truss_section(&format!("r{i}"), "https://app.baseten.co", "k.x"))
        .collect();
    let mut env = TestEnv::new();
    std::fs::write(env.trussrc(), &text).unwrap();
    // A keyring whose every entry fails: its "directory" is a regular file.
    let broken = env.path("not-a-dir");
    std::fs::write(&broken, "").unwrap();
    env.set("TRUSS_CI_TEST_KEYRING_DIR", broken.to_str().unwrap());
    let run = env.run(&["logout", "--all"]);
    run.assert_code(0);
    assert_eq!(
        run.stderr.matches("Logged out of remote").count(),
        5,
        "{}",
        run.stderr
    );
    run.assert_stderr_has("Logged out of 15 more remotes (20 in all).");
    std::fs::write(env.trussrc(), &text).unwrap();
    let json = env.run(&["--output", "json", "logout", "--all"]);
    let v: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(v["removed"].as_array().unwrap().len(), 20);

    std::fs::write(env.trussrc(), &text).unwrap();
    let log = env.path("strace.log");
    let mut wrapper = std::process::Command::new(strace);
    wrapper.args([
        "-f",
        "-e",
        "trace=unlink,unlinkat",
        "-o",
        log.to_str().unwrap(),
    ]);
    let run = to_run(
        env.under(wrapper, BIN, &["logout", "--all"])
            .output()
            .unwrap(),
    );
    run.assert_code(0);
    let calls = std::fs::read_to_string(&log).unwrap();
    let asked = calls.lines().filter(|l| l.contains("not-a-dir/")).count();
    assert_eq!(asked, 1, "{calls}");
}
