//! Attack and failure, across the whole surface: network faults, TLS, a leak sweep of every command
//! in every CI mode, 64 concurrent writers, and hostile files and inputs. (Crashes at every
//! syscall: tests/crash.rs.)
#![cfg(unix)] // SIGKILL, FIFOs, modes, sh
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use truss_ci::ci::Platform;

const BEFORE: &str = "# untouched\n[other]\nremote_provider = baseten\nremote_url = https://app.baseten.co\napi_key = OTHER\n\n";

fn fault_env(url: &str) -> TestEnv {
    TestEnv::new()
        .key(KEY)
        .with("BASETEN_REMOTE_URL", url)
        .trussrc_text(BEFORE)
}

/// Runs login with a deadline and checks the exit code, the time and that nothing was written.
#[track_caller]
fn assert_fault(env: &TestEnv, extra: &[&str], deadline: f64, code: i32) -> Run {
    let mut args = vec!["login", "--timeout"];
    let d = deadline.to_string();
    args.push(&d);
    args.extend_from_slice(extra);
    let started = Instant::now();
    let run = env.run(&args);
    let took = started.elapsed();
    run.assert_code(code);
    assert!(
        took < Duration::from_secs_f64(deadline + 1.0),
        "took {took:?}, deadline {deadline}s"
    );
    assert_eq!(
        env.read_trussrc().unwrap(),
        BEFORE,
        "the trussrc is untouched"
    );
    assert!(!run.all().contains(KEY));
    run
}

#[test]
fn network_faults_end_within_the_deadline_with_exit_4() {
    let run = assert_fault(&fault_env(&refused_url()), &[], 2.0, 4);
    assert!(
        run.stderr.contains("127.0.0.1"),
        "names the host: {}",
        run.stderr
    );

    let reset = FakeApi::start(|_, _| {
        Reply::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"user".to_vec())
    });
    assert_fault(&fault_env(&reset.url), &[], 2.0, 4);

    let silent = FakeApi::start(|_, _| Reply::Hang);
    assert_fault(&fault_env(&silent.url), &[], 2.0, 4);

    let trickle = FakeApi::start(|_, _| {
        Reply::Trickle(Duration::from_secs(1), USER_JSON.as_bytes().to_vec())
    });
    assert_fault(&fault_env(&trickle.url), &[], 2.5, 4);

    let huge = FakeApi::start(|_, _| Reply::Http(200, vec![], vec![b' '; 10 * 1024 * 1024]));
    let run = assert_fault(&fault_env(&huge.url), &[], 5.0, 4);
    assert!(
        run.stderr.contains("over 64 KiB"),
        "not read past 64 KiB: {}",
        run.stderr
    );

    let limited = FakeApi::start(|_, _| {
        Reply::Http(429, vec![("Retry-After".into(), "3600".into())], vec![])
    });
    let run = assert_fault(&fault_env(&limited.url), &[], 3.0, 4);
    run.assert_stderr_has("retry after 3600s");
    assert_eq!(limited.hits_on("/v1/users/me"), 1);

    let elsewhere = FakeApi::baseten();
    let target = format!("{}/v1/users/me", elsewhere.url);
    let redirect = FakeApi::start(move |_, _| {
        Reply::Http(307, vec![("Location".into(), target.clone())], vec![])
    });
    let run = assert_fault(&fault_env(&redirect.url), &[], 2.0, 4);
    assert_eq!(elsewhere.hits(), 0, "the redirect target received nothing");
    assert!(
        run.stderr
            .contains(&format!("127.0.0.1:{}", elsewhere.port)),
        "names where it was sent: {}",
        run.stderr
    );

    // A 64-character label is not a valid DNS name: resolution fails locally, no query leaves.
    let unresolvable = format!("https://{}.invalid", "a".repeat(64));
    let run = assert_fault(&fault_env(&unresolvable), &[], 2.0, 4);
    assert!(
        run.stderr.contains(".invalid"),
        "names the host: {}",
        run.stderr
    );
}

#[test]
fn a_self_signed_api_is_refused_unless_its_ca_is_trusted() {
    let api = FakeApi::baseten_tls();
    let env = fault_env(&api.url);
    let run = assert_fault(&env, &[], 3.0, 4);
    run.assert_stderr_has("TLS");
    assert!(
        run.stderr.contains("--ca-cert"),
        "the hint names the fix: {}",
        run.stderr
    );
    assert_eq!(api.hits(), 0, "no request crossed an untrusted connection");

    let ca = env.path("ca.pem");
    std::fs::write(&ca, api.ca_pem.as_ref().unwrap()).unwrap();
    env.run(&["login", "--ca-cert", ca.to_str().unwrap()])
        .assert_code(0);
    assert!(
        env.read_trussrc()
            .unwrap()
            .contains(&format!("remote_url = {}\n", api.url))
    );

    let mut env = fault_env(&api.url);
    env.set("SSL_CERT_FILE", ca.to_str().unwrap());
    env.run(&["login"]).assert_code(0);
    env.run(&[
        "status",
        "--check",
        "--remote",
        "baseten",
        "--ca-cert",
        ca.to_str().unwrap(),
    ])
    .assert_code(0);

    let bad = env.path("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let run = env.run(&["login", "--ca-cert", bad.to_str().unwrap()]);
    run.assert_code(2);
    run.assert_stderr_has("no PEM certificate");
}

/// The key and the encodings a log scanner or a careless encoder would produce.
fn forms(key: &str) -> Vec<String> {
    let url: String = key
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    vec![
        key.to_owned(),
        b64(key.as_bytes(), false),
        b64(format!("Api-Key {key}").as_bytes(), false),
        url,
        key.replace('\\', "\\\\"),
    ]
}

/// Every file under `dir`, except those the key is meant to reach.
fn files_under(dir: &Path, allowed: &[PathBuf]) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !allowed.iter().any(|a| a == &p) && p.is_file() {
                out.push((
                    p.clone(),
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
                ));
            }
        }
    }
    out
}

#[test]
#[allow(clippy::too_many_lines)] // one table of scenarios and one sweep, read top to bottom
fn leak_sweep_every_command_every_mode_every_failure() {
    // Characters that change under base64, URL and JSON encoding.
    const LEAKY: &str = "SNTL+k/y=9%Zq\\x7Leak";
    let api = FakeApi::accepting(&[LEAKY]);
    let rejecting = FakeApi::accepting(&["someone-else"]);
    let refused = refused_url();
    let forms = forms(LEAKY);
    let mut runs = 0;
    let mut expected_runs = 0;
    let every_ci = Platform::spellings();
    for platform in every_ci.iter().map(String::as_str) {
        let scenarios: Vec<(Vec<&str>, &str, i32)> = vec![
            (
                vec!["login", "--export-env", "--storage", "keyring"],
                api.url.as_str(),
                0,
            ),
            (vec!["status", "--check"], api.url.as_str(), 0),
            (vec!["login", "--print-env", "sh"], api.url.as_str(), 0),
            (vec!["logout", "--post"], api.url.as_str(), 0),
            (vec!["login", "--remote", "r2"], api.url.as_str(), 0),
            (vec!["logout", "--remote", "r2"], api.url.as_str(), 0),
            (vec!["exec", "--", "true"], api.url.as_str(), 0),
            (vec!["exec", "--", "false"], api.url.as_str(), 1),
            (vec!["login"], rejecting.url.as_str(), 3),
            (vec!["exec", "--", "true"], rejecting.url.as_str(), 3),
            (vec!["status", "--check"], rejecting.url.as_str(), 3),
            (vec!["login", "--timeout", "1"], refused.as_str(), 4),
            (vec!["login", "--remote", "bad]name"], api.url.as_str(), 2),
            (
                vec!["login", "--trussrc", "/proc/truss-ci-leak"],
                api.url.as_str(),
                5,
            ),
            (vec!["login"], api.url.as_str(), 1),
        ];
        // The forced panic exists only in test builds (`--features test-hooks`).
        let scenarios: Vec<_> = scenarios
            .into_iter()
            .filter(|(args, _, code)| {
                *code != 1 || args[0] != "login" || cfg!(feature = "test-hooks")
            })
            .collect();
        expected_runs += scenarios.len();
        let mut env = TestEnv::new();
        let files: Vec<PathBuf> = [
            "github_env",
            "github_output",
            "github_state",
            "summary",
            "bash_env",
            "bb_vars",
        ]
        .iter()
        .map(|n| env.path(n))
        .collect();
        for f in &files {
            std::fs::write(f, "").unwrap();
        }
        env.set("GITHUB_ACTIONS", "true")
            .set("GITHUB_ENV", files[0].to_str().unwrap())
            .set("GITHUB_OUTPUT", files[1].to_str().unwrap())
            .set("GITHUB_STATE", files[2].to_str().unwrap())
            .set("GITHUB_STEP_SUMMARY", files[3].to_str().unwrap())
            .set("BASH_ENV", files[4].to_str().unwrap())
            .set(
                "BITBUCKET_PIPELINES_VARIABLES_PATH",
                files[5].to_str().unwrap(),
            )
            .set("RUNNER_DEBUG", "1")
            .set("RUST_LOG", "trace")
            .set("RUST_BACKTRACE", "1")
            .set("BASETEN_API_KEY", LEAKY);
        for (args, url, code) in &scenarios {
            env.set("BASETEN_REMOTE_URL", url);
            if *code == 1 && args[0] == "login" {
                env.set("TRUSS_CI_TEST_PANIC", "login");
            }
            if args[0] == "status" {
                std::fs::write(
                    env.trussrc(),
                    truss_section("baseten", url, &LEAKY.replace('%', "%%")),
                )
                .unwrap();
            }
            let mut full = vec!["--ci", platform, "-vv"];
            full.extend(args.iter().copied());
            let run = env.run(&full);
            env.unset("TRUSS_CI_TEST_PANIC");
            runs += 1;
            assert_eq!(run.code, *code, "{platform} {args:?}\n{}", run.stderr);
            let allowed_lines = [
                format!("::add-mask::{}", LEAKY.replace('%', "%25")),
                format!("##vso[task.setsecret]{}", LEAKY.replace('%', "%AZP25")),
                format!(
                    "##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]{}",
                    LEAKY.replace('%', "%AZP25")
                ),
                format!("export BASETEN_API_KEY='{LEAKY}'"),
            ];
            for line in run.stdout.lines().chain(run.stderr.lines()) {
                if allowed_lines.iter().any(|a| a == line) {
                    assert!(
                        !line.starts_with("export") || args.contains(&"--print-env"),
                        "{platform} {args:?}: export line without --print-env"
                    );
                    continue;
                }
                for form in &forms {
                    assert!(
                        !line.contains(form.as_str()),
                        "{platform} {args:?}: {form:?} leaked in {line:?}"
                    );
                }
            }
        }
        // Files: only the trussrc, its undo record and the export targets may hold the key.
        let state = env.home.join(".trussrc.truss-ci-state.json");
        let allowed = [
            env.trussrc(),
            state,
            files[0].clone(),
            files[4].clone(),
            files[5].clone(),
        ];
        for (path, text) in files_under(env.dir.path(), &allowed) {
            for form in &forms {
                assert!(
                    !text.contains(form.as_str()),
                    "{platform}: {form:?} leaked into {}",
                    path.display()
                );
            }
        }
    }
    assert_eq!(runs, expected_runs);
    assert!(runs >= 9 * 14);
}

#[test]
fn sixty_four_concurrent_logins_all_land() {
    let env = TestEnv::new();
    std::fs::write(env.trussrc(), "# keep me\n").unwrap();
    run_all_at_once((0..64).map(|i| {
        let mut cmd = env.command(&["login", "--no-validate", "--remote", &format!("r{i}")]);
        cmd.env("BASETEN_API_KEY", format!("K{i}.x"));
        cmd
    }));
    let text = env.read_trussrc().unwrap();
    assert!(text.starts_with("# keep me\n"), "other bytes stay");
    assert_eq!(text.matches("\n[r").count(), 64);
    for i in 0..64 {
        assert!(
            text.contains(&truss_section(
                &format!("r{i}"),
                "https://app.baseten.co",
                &format!("K{i}.x")
            )),
            "r{i}"
        );
    }
    // Readable by truss itself, when it is installed.
    if let Some(python) = interop_tool("TRUSS_CI_PYTHON", "venv/bin/python") {
        let script = "from truss.remote.remote_factory import RemoteFactory as F\nfor i in range(64):\n    c = F.load_remote_config(f'r{i}')\n    assert c.configs['api_key'] == f'K{i}.x', c\nprint('truss read 64 remotes')\n";
        to_run(
            std::process::Command::new(python)
                .arg("-c")
                .arg(script)
                .env_clear()
                .env("HOME", &env.home)
                .env("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1")
                .output()
                .unwrap(),
        )
        .assert_code(0);
    }
}

#[test]
fn hostile_files_are_left_alone_with_a_clear_message() {
    let mut env = TestEnv::new().key(KEY);
    let rc = env.trussrc();
    let check = |env: &TestEnv, code: i32, needle: &str| {
        let started = Instant::now();
        let run = env.run(&["login", "--no-validate"]);
        run.assert_code(code);
        assert!(started.elapsed() < Duration::from_secs(5), "no hang");
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    };

    mkfifo(&rc);
    check(&env, 5, "not a regular file");
    std::fs::remove_file(&rc).unwrap();

    let big = vec![b'#'; 50 * 1024 * 1024];
    std::fs::write(&rc, &big).unwrap();
    check(&env, 5, "far larger than a trussrc");
    assert_eq!(std::fs::metadata(&rc).unwrap().len(), big.len() as u64);

    std::fs::write(&rc, b"[a]\nk = \xff\xfe\n").unwrap();
    check(&env, 5, "not UTF-8");
    assert_eq!(std::fs::read(&rc).unwrap(), b"[a]\nk = \xff\xfe\n");

    std::fs::write(&rc, "").unwrap();
    check(&env, 0, "Logged in");

    std::fs::write(&rc, "[a]\r\rk = v\n").unwrap();
    check(&env, 5, "carriage return");

    // A trussrc that cannot be read, even by root: a path through a regular file.
    let through_file = rc.join("nested");
    let run = env.run(&[
        "login",
        "--no-validate",
        "--trussrc",
        through_file.to_str().unwrap(),
    ]);
    run.assert_code(5);
    assert!(
        run.stderr.contains(through_file.to_str().unwrap()),
        "names the path: {}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap(),
        "[a]\r\rk = v\n",
        "the file in the way is untouched"
    );

    std::fs::remove_file(&rc).unwrap();
    // Without HOME, truss (Python's posixpath) looks in the password database's home: so does
    // truss-ci. That home is the real one, so the test only reads it, and asks for a remote no
    // trussrc there holds: the answer names the file whether it exists or not.
    env.unset("HOME");
    let uid = String::from_utf8(Command::new("id").arg("-u").output().unwrap().stdout).unwrap();
    let entry = Command::new("getent")
        .args(["passwd", uid.trim()])
        .output()
        .unwrap();
    let passwd_home = String::from_utf8(entry.stdout).unwrap();
    let passwd_home = passwd_home
        .trim()
        .split(':')
        .nth(5)
        .unwrap()
        .trim_end_matches('/');
    let absent = format!("truss-ci-test-absent-{}", std::process::id());
    let run = env.run(&["status", "--remote", &absent]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.assert_stderr_has(format!("{passwd_home}/.trussrc"));
}

#[test]
fn hostile_names_urls_and_keys_are_refused_by_name() {
    let mut env = TestEnv::new().key(KEY);
    for remote in ["a]b", "[x", "a\nb", "a\rb", "a b", "DEFAULT"] {
        env.run(&["login", "--no-validate", "--remote", remote])
            .assert_code(2);
    }
    // INI metacharacters that configparser reads fine in a section name are kept as they are.
    for remote in ["a=b", "x:y", "#hash", ";semi", "%pct"] {
        env.run(&["login", "--no-validate", "--remote", remote])
            .assert_code(0);
        let text = env.read_trussrc().unwrap();
        assert!(text.contains(&format!("[{remote}]\n")), "{remote}");
    }
    for url in [
        "https://x\n[evil]",
        "https://x\r\n[evil]",
        "https://x/#frag",
        "https://x/?q=1",
        "https://user:pw@x",
    ] {
        env.run(&["login", "--no-validate", "--remote-url", url])
            .assert_code(2);
    }
    let key_file = env.path("huge-key");
    std::fs::write(&key_file, "k".repeat(1024 * 1024)).unwrap();
    let run = env.run(&[
        "login",
        "--no-validate",
        "--api-key-file",
        key_file.to_str().unwrap(),
    ]);
    run.assert_code(2);
    run.assert_stderr_has("not an API key");
    // The kernel caps one env string at 128 KiB; the 1 MB key above came through a file.
    env.set("BASETEN_API_KEY", &"k".repeat(100 * 1024));
    let run = env.run(&["login", "--no-validate"]);
    run.assert_code(2);
    run.assert_stderr_has("far longer");
    let nul_key = env.path("nul-key");
    std::fs::write(&nul_key, "abc\0def").unwrap();
    let run = env.run(&[
        "login",
        "--no-validate",
        "--api-key-file",
        nul_key.to_str().unwrap(),
    ]);
    run.assert_code(2);
    run.assert_stderr_has("control character");
}
