//! `truss-ci login` end to end: the built binary against a fake Baseten API on 127.0.0.1.
#![cfg(unix)] // modes, symlinks, sh and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;

fn login_env(api: &FakeApi) -> TestEnv {
    TestEnv::new().api(api)
}

#[test]
fn from_env_validates_and_writes_exactly_what_truss_writes() {
    let api = FakeApi::baseten();
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    let run = env.run(&["login", "--from-env"]);
    run.assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, KEY)
    );
    assert_eq!(mode(&env.trussrc()), 0o600);
    run.assert_stderr_has("Logged in to remote `baseten`");
    assert!(
        run.stderr
            .contains("ci-bot@example.com (workspace local-ws)"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    let reqs = api.requests();
    assert_eq!(reqs.len(), 2, "the check, and the lookup after it");
    let r = reqs.iter().find(|r| r.path == "/v1/users/me").unwrap();
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Api-Key {KEY}").as_str())
    );
    assert_eq!(r.header("accept"), Some("application/json"));
    assert_eq!(
        r.header("user-agent"),
        Some(format!("truss-ci/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
}

#[test]
fn json_output_is_one_object_without_the_key() {
    let api = FakeApi::baseten();
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    let run = env.run(&["login", "--output", "json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(v["remote"], "baseten");
    assert_eq!(v["remote_url"], api.url.as_str());
    assert_eq!(v["api_url"], api.url.as_str());
    assert_eq!(v["trussrc"], env.trussrc().to_str().unwrap());
    assert_eq!(v["storage"], "inline");
    assert_eq!(v["validated"], true);
    assert_eq!(v["restricted"], false);
    assert_eq!(v["user"]["email"], "ci-bot@example.com");
    assert_eq!(v["user"]["name"], "CI Bot");
    assert_eq!(v["user"]["workspace"], "local-ws");
    assert_eq!(v["key_source"], "env:BASETEN_API_KEY");
    assert!(!run.all().contains(KEY));
    // Global flags work after the subcommand and before it.
    let run = env.run(&["--output=json", "-q", "login"]);
    run.assert_code(0);
    assert_eq!(run.stderr, "");
    assert!(run.stdout.starts_with('{'));
}

#[test]
fn every_key_source_in_precedence_order() {
    let keys = [
        "kStdin.1",
        "kFile.2",
        "kArgv.3",
        "kInputH.4",
        "kInput.5",
        "kEnv.6",
        "kEnvFile.7",
    ];
    let api = FakeApi::accepting(&keys);
    let mut env = login_env(&api);
    let key_file = env.path("key");
    std::fs::write(&key_file, "kFile.2\n").unwrap();
    let env_file = env.path("env-key");
    std::fs::write(&env_file, "  kEnvFile.7\n").unwrap();
    env.set("INPUT_API-KEY", "kInputH.4")
        .set("INPUT_API_KEY", "kInput.5")
        .set("BASETEN_API_KEY", "kEnv.6")
        .set("BASETEN_API_KEY_FILE", env_file.to_str().unwrap());
    let kf = key_file.to_str().unwrap().to_owned();
    let json =
        |run: &Run| -> serde_json::Value { serde_json::from_str(run.stdout.trim()).unwrap() };
    let sent = |api: &FakeApi| {
        api.requests()
            .last()
            .unwrap()
            .header("authorization")
            .unwrap()
            .to_owned()
    };

    let run = env.run_stdin(
        &[
            "login",
            "--output=json",
            "--api-key-stdin",
            "--api-key-file",
            &kf,
            "--api-key",
            "kArgv.3",
        ],
        Some("kStdin.1\n"),
    );
    run.assert_code(0);
    assert_eq!(json(&run)["key_source"], "stdin");
    assert_eq!(sent(&api), "Api-Key kStdin.1");

    let run = env.run(&[
        "login",
        "--output=json",
        "--api-key-file",
        &kf,
        "--api-key",
        "kArgv.3",
    ]);
    assert_eq!(json(&run)["key_source"], format!("file:{kf}"));
    assert_eq!(sent(&api), "Api-Key kFile.2");

    let run = env.run(&["login", "--output=json", "--api-key", "kArgv.3"]);
    assert_eq!(json(&run)["key_source"], "flag:--api-key");
    assert!(
        run.stderr.contains("argv"),
        "warns about argv: {}",
        run.stderr
    );

    // Action inputs are the shim's to map (to BASETEN_API_KEY): the binary reads none.
    let run = env.run(&["login", "--output=json"]);
    assert_eq!(json(&run)["key_source"], "env:BASETEN_API_KEY");
    env.unset("BASETEN_API_KEY");
    let run = env.run(&["login", "--output=json"]);
    assert_eq!(json(&run)["key_source"], "env-file:BASETEN_API_KEY_FILE");
    assert_eq!(sent(&api), "Api-Key kEnvFile.7");
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, "kEnvFile.7")
    );
}

#[test]
fn from_env_var_reads_only_that_var_and_its_file() {
    let api = FakeApi::accepting(&["mine.1"]);
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", "other.2")
        .set("MY_KEY", "mine.1");
    env.run(&["login", "--from-env=MY_KEY"]).assert_code(0);
    env.unset("MY_KEY");
    let run = env.run(&["login", "--from-env=MY_KEY"]);
    run.assert_code(2);
    run.assert_stderr_has("MY_KEY, MY_KEY_FILE");
    let run = env.run(&["login", "--from-env", "--api-key", "x"]);
    run.assert_code(2);
}

#[test]
fn missing_or_malformed_keys_exit_2_and_name_the_source() {
    let api = FakeApi::baseten();
    let mut env = login_env(&api);
    env.set("GITHUB_ACTIONS", "true").set("BASETEN_API_KEY", "");
    let run = env.run(&["login"]);
    run.assert_code(2);
    run.assert_stderr_has("BASETEN_API_KEY is set but empty");
    assert!(run.stderr.contains("forks"), "GitHub hint: {}", run.stderr);

    for (bad, why) in [
        ("Api-Key SENTINELkey01", "authorization scheme"),
        ("Bearer SENTINELkey01", "authorization scheme"),
        ("SENTINEL key01", "whitespace"),
        ("\"SENTINELkey01\"", "quote"),
        ("SENTINEL\u{1}key01", "control"),
    ] {
        env.set("BASETEN_API_KEY", bad);
        let run = env.run(&["login"]);
        run.assert_code(2);
        assert!(run.stderr.contains("BASETEN_API_KEY"), "{}", run.stderr);
        assert!(run.stderr.contains(why), "{why}: {}", run.stderr);
        assert!(!run.stderr.contains("SENTINEL"), "{}", run.stderr);
    }
    assert_eq!(api.hits(), 0);
    assert!(env.read_trussrc().is_none());
}

#[test]
fn refused_settings_exit_2_before_any_request() {
    let api = FakeApi::baseten();
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    for (args, says) in [
        (vec!["login", "--remote", "DEFAULT"], "is reserved"),
        (
            vec!["login", "--remote", "<environment>"],
            "is reserved by truss",
        ),
        (vec!["login", "--remote", "a]b"], "contains a bracket"),
        (vec!["login", "--remote", "a b"], "contains whitespace"),
        (
            vec!["login", "--remote-url", "http://example.com"],
            "uses http://",
        ),
        (
            vec!["login", "--api-url", "http://example.com"],
            "uses http://",
        ),
        (
            vec!["login", "--remote-url", "not a url"],
            "contains whitespace",
        ),
        (
            vec!["login", "--timeout", "0"],
            "--timeout must be a number of seconds",
        ),
        (
            vec!["login", "--no-such-flag"],
            "unexpected argument '--no-such-flag'",
        ),
    ] {
        let run = env.run(&args);
        run.assert_code(2);
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(says),
            "{args:?} says {says}: {}",
            run.stderr
        );
    }
    env.set("BASETEN_REMOTE", "x\ny");
    env.run(&["login"]).assert_code(2);
    assert_eq!(api.hits(), 0);
    assert!(env.read_trussrc().is_none());
}

#[test]
fn http_to_a_remote_host_is_allowed_only_when_asked() {
    let env = TestEnv::new().key(KEY);
    let run = env.run(&[
        "login",
        "--remote-url",
        "http://baseten.internal",
        "--no-validate",
    ]);
    run.assert_code(2);
    run.assert_stderr_has("in clear");
    env.run(&[
        "login",
        "--remote-url",
        "http://baseten.internal",
        "--no-validate",
        "--allow-http",
    ])
    .assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", "http://baseten.internal", KEY)
    );
}

#[test]
fn rejected_key_exits_3_without_retry_or_write() {
    let api = FakeApi::baseten();
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", "wrong.key");
    let run = env.run(&["login"]);
    run.assert_code(3);
    run.assert_stderr_has("rejected");
    run.assert_stderr_has("env var BASETEN_API_KEY");
    assert_eq!(api.hits_on("/v1/users/me"), 1, "401 is never retried");
    assert_eq!(api.hits_on("/v1/api_keys"), 0, "nor is the key looked up");
    assert!(env.read_trussrc().is_none());
}

#[test]
fn restricted_key_exits_3_unless_allowed() {
    let api = FakeApi::start(|_, _| Reply::json(403, r#"{"error":"forbidden"}"#));
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    let run = env.run(&["login"]);
    run.assert_code(3);
    run.assert_stderr_has("inference-only");
    run.assert_stderr_has("--allow-restricted");
    assert_eq!(api.hits_on("/v1/users/me"), 1, "403 is never retried");
    assert_eq!(api.hits_on("/v1/api_keys"), 0, "nor is the key looked up");
    assert!(env.read_trussrc().is_none());

    let run = env.run(&["login", "--allow-restricted", "--output=json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(v["restricted"], true);
    assert_eq!(v["user"], serde_json::Value::Null);
    run.assert_stderr_has("warning");
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, KEY)
    );
}

#[test]
fn transient_failures_are_retried_then_succeed() {
    // The check's failures; the lookup that follows is answered at once.
    let checks = std::sync::atomic::AtomicUsize::new(0);
    let api = FakeApi::start(move |req, _| {
        if req.path != "/v1/users/me" {
            return Reply::json(200, r#"{"keys":[]}"#);
        }
        match checks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => Reply::status(503),
            1 => Reply::Http(429, vec![("Retry-After".into(), "1".into())], vec![]),
            2 => Reply::Close,
            3 => Reply::status(502),
            _ => Reply::json(200, USER_JSON),
        }
    });
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    let run = env.run(&["login", "--timeout", "20"]);
    run.assert_code(0);
    assert_eq!(
        api.hits_on("/v1/users/me"),
        5,
        "four failures, then the check"
    );
    assert_eq!(api.hits_on("/v1/api_keys"), 1, "the lookup");
    run.assert_stderr_has("retrying");
}

#[test]
fn persistent_5xx_exits_4_within_the_deadline() {
    let api = FakeApi::start(|_, _| Reply::json(503, r#"{"error":"down"}"#));
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    let started = Instant::now();
    let run = env.run(&["login", "--timeout", "3"]);
    run.assert_code(4);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        run.stderr.contains("127.0.0.1"),
        "names the host: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("503"),
        "names the last error: {}",
        run.stderr
    );
    assert!(api.hits() >= 2, "retried: {}", api.hits());
    assert!(env.read_trussrc().is_none());
}

#[test]
fn garbage_and_unexpected_answers_exit_4() {
    for reply in [
        || Reply::Http(200, vec![], b"<html>captive portal</html>".to_vec()),
        || Reply::json(200, "[1,2]"),
        || Reply::json(404, r#"{"error":"nope"}"#),
    ] {
        let api = FakeApi::start(move |_, _| reply());
        let mut env = login_env(&api);
        env.set("BASETEN_API_KEY", KEY);
        let run = env.run(&["login"]);
        run.assert_code(4);
        run.assert_stderr_has("--api-url");
        assert_eq!(api.hits_on("/v1/users/me"), 1);
        assert!(env.read_trussrc().is_none());
    }
}

#[test]
fn api_url_may_carry_a_path_prefix() {
    let api = FakeApi::start(|req, _| {
        if req.path == "/prefix/v1/users/me" {
            Reply::json(200, USER_JSON)
        } else {
            Reply::status(404)
        }
    });
    let env = TestEnv::new().key(KEY);
    let run = env.run(&[
        "login",
        "--remote-url",
        "https://app.baseten.co/",
        "--api-url",
        &format!("{}/prefix/", api.url),
    ]);
    run.assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", "https://app.baseten.co", KEY)
    );
}

#[test]
fn no_validate_makes_no_request() {
    let env = TestEnv::new().key(KEY);
    let run = env.run(&["login", "--no-validate", "--output=json"]);
    run.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(v["validated"], false);
    assert_eq!(v["api_url"], "https://api.baseten.co");
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", "https://app.baseten.co", KEY)
    );
}

#[test]
fn existing_remote_url_is_kept_and_other_bytes_survive() {
    let api = FakeApi::baseten();
    let env = TestEnv::new().key(KEY);
    let before = format!(
        "# my trussrc\r\n[prod]\r\nremote_provider = baseten\r\nremote_url = https://app.baseten.co\r\napi_key = PROD\r\n\r\n; staging below\r\n[ci]\r\nremote_provider = baseten\r\nremote_url = {}\r\nteam = ml\r\napi_key = OLD\r\n\r\n[zzz]\r\nremote_provider: baseten\r\n  continued\r\n",
        api.url
    );
    std::fs::write(env.trussrc(), &before).unwrap();
    env.run(&["login", "--remote", "ci"]).assert_code(0);
    let after = env.read_trussrc().unwrap();
    let start = before.find("[ci]").unwrap();
    let end = before.find("\r\n\r\n[zzz]").unwrap() + 2;
    let expected = format!(
        "{}{}{}",
        &before[..start],
        // The file's lines end in CRLF, and so do the section's.
        truss_section("ci", &api.url, KEY)
            .trim_end_matches('\n')
            .replace('\n', "\r\n")
            + "\r\n",
        &before[end..]
    );
    assert_eq!(after, expected);
    assert_eq!(
        api.hits(),
        2,
        "validated (and looked up) against the section's own remote_url"
    );
}

#[test]
fn appending_a_remote_to_a_truss_written_file() {
    let api = FakeApi::baseten();
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", KEY);
    let first = truss_section("prod", "https://app.baseten.co", "PROD");
    std::fs::write(env.trussrc(), &first).unwrap();
    env.run(&["login", "--remote", "ci"]).assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        format!("{first}{}", truss_section("ci", &api.url, KEY))
    );
}

#[test]
fn percent_in_the_key_is_doubled() {
    let api = FakeApi::accepting(&["ab%cd.1"]);
    let mut env = login_env(&api);
    env.set("BASETEN_API_KEY", "ab%cd.1");
    env.run(&["login"]).assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, "ab%%cd.1")
    );
}

#[test]
fn trussrc_path_from_env_and_flag_with_missing_dirs_created_0700() {
    let env = TestEnv::new()
        .key(KEY)
        .with("USER_TRUSSRC_PATH", "~/deep/er/rc");
    env.run(&["login", "--no-validate"]).assert_code(0);
    let p = env.home.join("deep/er/rc");
    assert!(p.exists());
    assert_eq!(mode(&env.home.join("deep")), 0o700);
    assert_eq!(mode(&p), 0o600);
    let flag = env.path("flag/rc");
    env.run(&[
        "login",
        "--no-validate",
        "--trussrc",
        flag.to_str().unwrap(),
    ])
    .assert_code(0);
    assert!(flag.exists());
}

#[test]
fn an_existing_0644_file_ends_up_0600() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().key(KEY);
    std::fs::write(env.trussrc(), "").unwrap();
    std::fs::set_permissions(env.trussrc(), std::fs::Permissions::from_mode(0o644)).unwrap();
    env.run(&["login", "--no-validate"]).assert_code(0);
    assert_eq!(mode(&env.trussrc()), 0o600);
}

#[test]
fn symlinks_and_non_files_are_refused_with_exit_5() {
    let env = TestEnv::new().key(KEY);
    let real = env.path("real");
    std::fs::write(&real, "[x]\nk = v\n").unwrap();
    std::os::unix::fs::symlink(&real, env.trussrc()).unwrap();
    let run = env.run(&["login", "--no-validate"]);
    run.assert_code(5);
    run.assert_stderr_has("symbolic link");
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "[x]\nk = v\n");

    let dir = env.path("adir");
    std::fs::create_dir(&dir).unwrap();
    let run = env.run(&["login", "--no-validate", "--trussrc", dir.to_str().unwrap()]);
    run.assert_code(5);
    run.assert_stderr_has("not a regular file");
}

#[test]
fn a_file_truss_cannot_parse_is_left_alone() {
    let env = TestEnv::new().key(KEY);
    let bad = "[a]\nk = 1\n[a]\nk = 2\n";
    std::fs::write(env.trussrc(), bad).unwrap();
    let run = env.run(&["login", "--no-validate"]);
    run.assert_code(5);
    run.assert_stderr_has("line 3");
    assert_eq!(env.read_trussrc().unwrap(), bad);
}

#[test]
fn unwritable_directory_exits_5_naming_the_path() {
    use std::os::unix::fs::PermissionsExt;
    if nix_is_root() {
        common::not_applicable("root ignores directory permissions");
        return;
    }
    let env = TestEnv::new().key(KEY);
    let dir = env.path("ro");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let rc = dir.join("rc");
    let run = env.run(&["login", "--no-validate", "--trussrc", rc.to_str().unwrap()]);
    run.assert_code(5);
    run.assert_stderr_has(dir.to_str().unwrap());
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid() == 0
        })
        .unwrap_or(false)
}

#[test]
fn a_read_only_file_in_place_is_exit_5_when_the_directory_is_read_only() {
    // A regular file that cannot be replaced because /proc is not writable.
    let env = TestEnv::new().key(KEY);
    let run = env.run(&[
        "login",
        "--no-validate",
        "--trussrc",
        "/proc/truss-ci-test-rc",
    ]);
    run.assert_code(5);
    run.assert_stderr_has("/proc");
}

#[test]
fn help_and_version_exit_0() {
    let env = TestEnv::new();
    let run = env.run(&["--version"]);
    run.assert_code(0);
    assert!(run.stdout.contains(env!("CARGO_PKG_VERSION")));
    let run = env.run(&["login", "--help"]);
    run.assert_code(0);
    assert!(run.stdout.contains("--from-env"));
}
