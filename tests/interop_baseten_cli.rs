//! The `baseten` CLI's own credential store reads what truss-ci wrote: the test client built from
//! its upstream store (../shared/real-clients/baseten-cli, `scripts/interop-setup.sh` builds it)
//! resolves a credential exactly as the CLI does — `--profile`, `BASETEN_API_KEY` (+
//! `BASETEN_REMOTE_URL`), `BASETEN_PROFILE`, `current` — from auth.json and from a real Secret
//! Service (gnome-keyring in `dbus-run-session`). Its `login` mode writes what
//! `baseten auth login --with-api-key` writes: truss-ci's bytes must be the same, from the same
//! starting file. Real `truss` reads the trussrc of the same login.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

fn oracle() -> Option<PathBuf> {
    interop_tool("TRUSS_CI_BASETEN_ORACLE", "baseten-oracle")
}

/// The oracle run with only `vars` beside the CLI's config directory (no D-Bus: no keyring).
fn resolve(oracle: &Path, config: &Path, args: &[&str], vars: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(oracle)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("BASETEN_CONFIG_DIR", config)
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

const START: &str = "{\n  \"version\": 1,\n  \"current\": \"personal\",\n  \"profiles\": {\n    \"personal\": {\n      \"remote_url\": \"https://app.baseten.co\",\n      \"auth_type\": \"api_key\",\n      \"api_key\": \"PERSONALkey.abcdefgh\"\n    }\n  }\n}\n";

#[test]
fn the_cli_reads_the_profile_the_env_pair_and_exec_and_the_post_puts_it_back() {
    let Some(oracle) = oracle() else { return };
    let api = FakeApi::baseten();
    let env = TestEnv::new()
        .key(KEY)
        .api(&api)
        .with("CIRCLECI", "true")
        .with("CIRCLE_WORKFLOW_JOB_ID", "job-1")
        .file_var("BASH_ENV", "");
    let config = env.path("cfg");
    std::fs::create_dir(&config).unwrap();
    std::fs::write(config.join("auth.json"), START).unwrap();
    let mut env = env.with("BASETEN_CONFIG_DIR", config.to_str().unwrap());
    env.run(&["login", "--export-env", "--baseten-profile=ci"])
        .assert_code(0);
    let ci = format!("profile\tci\t{}\t{KEY}\n", api.url);
    let personal = "profile\tpersonal\thttps://app.baseten.co\tPERSONALkey.abcdefgh\n";
    // current, --profile, BASETEN_PROFILE.
    assert_eq!(resolve(&oracle, &config, &[], &[]), (0, ci.clone()));
    assert_eq!(
        resolve(&oracle, &config, &["--profile", "ci"], &[]),
        (0, ci.clone())
    );
    assert_eq!(
        resolve(&oracle, &config, &[], &[("BASETEN_PROFILE", "personal")]),
        (0, personal.to_owned())
    );
    // A later step's env: BASH_ENV sourced, then the CLI.
    let later = Command::new("sh")
        .arg("-c")
        .arg(". \"$BASH_ENV\" && exec \"$ORACLE\"")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("BASH_ENV", env.path("bash_env"))
        .env("ORACLE", &oracle)
        .env("BASETEN_CONFIG_DIR", env.path("empty"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&later.stdout),
        format!("env\t-\t{}\t{KEY}\n", api.url)
    );
    // exec: the pair for one command.
    let exec = env.run(&["exec", "--export-env", "--", oracle.to_str().unwrap()]);
    exec.assert_code(0);
    assert!(
        exec.stdout
            .ends_with(&format!("env\t-\t{}\t{KEY}\n", api.url)),
        "{}",
        exec.stdout
    );
    // Real truss reads the trussrc of the same login.
    if let Some(truss) = interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss") {
        let whoami = run_truss(&truss, &env, &["whoami"]);
        whoami.assert_code(0);
        whoami.assert_stdout_has("ci-bot@example.com");
    }
    // The post: the CLI is back to the profile it had before the job.
    env.unset("BASETEN_API_KEY");
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(
        resolve(&oracle, &config, &[], &[]),
        (0, personal.to_owned())
    );
    assert_eq!(resolve(&oracle, &config, &["--profile", "ci"], &[]).0, 1);
    assert_eq!(
        std::fs::read_to_string(config.join("auth.json")).unwrap(),
        START
    );
}

/// Starting files, each as a user's machine may hold it: written by the CLI or by hand.
const CORPUS: &[&str] = &[
    "",
    "{\"version\":1,\"profiles\":{}}",
    START,
    "{\n  \"version\": 1,\n  \"current\": \"oauth\",\n  \"profiles\": {\n    \"oauth\": {\n      \"remote_url\": \"https://app.baseten.co\",\n      \"auth_type\": \"oauth\",\n      \"oauth_credential\": {\n        \"access_token\": \"AT\",\n        \"refresh_token\": \"RT\",\n        \"expiry\": \"2026-01-02T03:04:05.5+01:00\"\n      }\n    }\n  }\n}\n",
    "{\"version\":1,\"current\":\"ci\",\"profiles\":{\"ci\":{\"remote_url\":\"https://old.example\",\"auth_type\":\"api_key\",\"api_key\":\"OLD.k\"}}}",
    "{\"version\":1,\"profiles\":{\"<a&b>\":{\"remote_url\":\"https://x.example?a<b&c>d\",\"auth_type\":\"api_key\",\"api_key\":\"k<&>\\u2028\\\"q\\\\\"}}}",
    "{\"version\":3,\"extra\":{\"deep\":[1,2,{\"x\":null}]},\"profiles\":{\"p\":{\"remote_url\":\"u\",\"auth_type\":\"api_key\",\"unknown\":true}}}",
    "{\r\n  \"version\": 1,\r\n  \"current\": \"personal\",\r\n  \"profiles\": {\r\n    \"personal\": {\"remote_url\": \"https://app.baseten.co\", \"auth_type\": \"api_key\", \"api_key\": \"P.k\"}\r\n  }\r\n}\r\n",
    "{\"version\":1,\"current\":\"x\",\"profiles\":{\"x\":{\"remote_url\":\"https://app.baseten.co\",\"auth_type\":\"api_key\",\"api_key\":\"X.k\"}}}",
    "null",
    "{\"Version\":1,\"PROFILES\":{\"a\":{\"Remote_URL\":\"https://a.example\",\"AUTH_TYPE\":\"api_key\"}},\"profiles\":{\"b\":null}}",
];

/// The oracle's `login` mode (`baseten auth login --with-api-key`, plaintext: no keyring here).
fn oracle_login(oracle: &Path, config: &Path, name: &str, url: &str, no_switch: bool) {
    let mut cmd = Command::new(oracle);
    cmd.args(["login", name, url, "--insecure-storage"]);
    if no_switch {
        cmd.arg("--no-switch");
    }
    let mut child = cmd
        .env_clear()
        .env("BASETEN_CONFIG_DIR", config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{KEY}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_bytes_are_what_baseten_auth_login_writes_from_every_starting_file() {
    let Some(oracle) = oracle() else { return };
    for (i, start) in CORPUS.iter().enumerate() {
        for (name, url) in [
            ("ci", "https://app.baseten.co"),
            ("personal", "https://self-hosted.example:8443"),
            ("x", "https://app.baseten.co"),
        ] {
            for no_switch in [false, true] {
                let theirs = TestEnv::new();
                let ours = TestEnv::new().key(KEY);
                for env in [&theirs, &ours] {
                    std::fs::create_dir(env.path("cfg")).unwrap();
                    if !start.is_empty() {
                        std::fs::write(env.path("cfg/auth.json"), start).unwrap();
                    }
                }
                oracle_login(&oracle, &theirs.path("cfg"), name, url, no_switch);
                let profile = format!("--baseten-profile={name}");
                let mut args = vec!["login", "--no-validate", "--remote-url", url, &profile];
                if no_switch {
                    args.push("--baseten-no-switch");
                }
                let config = ours.path("cfg");
                let ours = ours.with("BASETEN_CONFIG_DIR", config.to_str().unwrap());
                ours.run(&args).assert_code(0);
                assert_eq!(
                    std::fs::read_to_string(ours.path("cfg/auth.json")).unwrap(),
                    std::fs::read_to_string(theirs.path("cfg/auth.json")).unwrap(),
                    "starting file #{i} {start:?}, profile {name}, no-switch {no_switch}"
                );
            }
        }
    }
}

const KEYRING_SCRIPT: &str = r#"set -u
echo -n unlock-pw | gnome-keyring-daemon --unlock --daemonize --components=secrets >/dev/null
mark() { printf '\n@@%s@@\n' "$1"; }
mark login;    truss-ci login --no-validate --storage keyring --baseten-profile=kr; echo "rc=$?"
mark file;     cat "$BASETEN_CONFIG_DIR/auth.json"
mark lookup;   secret-tool lookup service baseten-profile username kr; echo
mark current;  env -u BASETEN_API_KEY "$ORACLE"
mark profile;  env -u BASETEN_API_KEY BASETEN_PROFILE=kr "$ORACLE"
mark post;     truss-ci logout --post; echo "rc=$?"
mark after;    env -u BASETEN_API_KEY "$ORACLE" --profile kr; echo "rc=$?"
mark gone;     secret-tool lookup service baseten-profile username kr; echo "rc=$?"
mark end
"#;

#[test]
fn the_cli_reads_the_key_from_a_real_secret_service_and_the_post_removes_it() {
    let Some(oracle) = oracle() else { return };
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
        if system_tool(tool).is_none() {
            return;
        }
    }
    let env = TestEnv::new();
    let bin = env.path("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("truss-ci")).unwrap();
    let script = env.path("keyring.sh");
    std::fs::write(&script, KEYRING_SCRIPT).unwrap();
    let out = Command::new("dbus-run-session")
        .args(["--", "bash"])
        .arg(&script)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("ORACLE", &oracle)
        .env("BASETEN_API_KEY", KEY)
        .env("BASETEN_CONFIG_DIR", env.path("cfg"))
        .env("XDG_CONFIG_HOME", env.home.join(".config"))
        .env("GITLAB_CI", "true")
        .env("CI_JOB_ID", "77")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(section(&text, "login").ends_with("rc=0"), "{text}");
    let file = section(&text, "file");
    assert!(
        !file.contains(KEY),
        "the key is in the keyring only: {file}"
    );
    assert!(file.contains("\"kr\""), "{file}");
    assert_eq!(section(&text, "lookup"), KEY, "{text}");
    let expect = format!("profile\tkr\thttps://app.baseten.co\t{KEY}");
    assert_eq!(section(&text, "current"), expect, "{text}");
    assert_eq!(section(&text, "profile"), expect, "{text}");
    assert!(section(&text, "post").ends_with("rc=0"), "{text}");
    assert!(section(&text, "after").ends_with("rc=1"), "{text}");
    assert!(!section(&text, "gone").contains(KEY), "{text}");
}
