//! The classes of attack and failure the Security section promises against: server text that
//! echoes the key, forged or foreign undo records, odd environments, outputs that fail after the
//! key was stored, waits that could be unbounded, retries of what cannot get better, and file
//! text that a CI runner would execute.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use common::github_oracle::parse_log;
use common::*;
use truss_ci::ci::Platform;

/// The `--ci` name of every platform.
fn every_ci() -> Vec<String> {
    Platform::value_variants()
        .iter()
        .map(|p| p.name())
        .collect()
}

/// A key whose secret part changes under JSON, percent and base64 encoding.
const LEAKY: &str = "kid01.SNTL+k/y=9Zq\\x7Leak";
const SECRET: &str = "SNTL+k/y=9Zq\\x7Leak";

/// The ways a server can echo the key back.
fn echoes() -> Vec<String> {
    vec![
        format!("your header was Authorization: Api-Key {LEAKY}"),
        serde_json::json!({ "detail": format!("Api-Key {LEAKY}") }).to_string(),
        serde_json::json!({ "detail": LEAKY })
            .to_string()
            .replace('/', "\\/"),
        format!("key={}", percent(LEAKY)),
        format!("basic {}", b64(format!("user:{LEAKY}").as_bytes(), false)),
        format!("auth {}", b64(format!("Api-Key {LEAKY}").as_bytes(), false)),
        format!("UPPER {}", LEAKY.to_ascii_uppercase()),
        // The key straddles the old 160-character cut.
        format!("{}{LEAKY}", "x".repeat(150)),
    ]
}

/// Asserts that no line shows the key's secret part, whole or as an 8-character run, in the raw,
/// JSON, percent or base64 form (the mask lines aside, which must carry it).
#[track_caller]
fn assert_no_leak(run: &Run, what: &str) {
    let lower = SECRET.to_ascii_lowercase();
    let mut needles: Vec<String> = lower
        .as_bytes()
        .windows(8)
        .map(|w| String::from_utf8(w.to_vec()).unwrap())
        .collect();
    needles.push(percent(SECRET).to_ascii_lowercase());
    needles.push(SECRET.replace('\\', "\\\\").to_ascii_lowercase());
    for prefix in ["", "a", "ab"] {
        let e = b64(format!("{prefix}{LEAKY}").as_bytes(), false);
        needles.push(e[4..e.len() - 4].to_ascii_lowercase());
    }
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        if line.starts_with("::add-mask::") || line.starts_with("##vso[task.setsecret]") {
            continue;
        }
        let l = line.to_ascii_lowercase();
        for n in &needles {
            assert!(!l.contains(n.as_str()), "{what}: {n:?} leaked in {line:?}");
        }
    }
}

#[test]
fn server_text_never_carries_the_key_out() {
    // Every encoding, dialect, format and command against 4xx answers, which end a run at once; a
    // 500 is retried to the deadline, so each encoding meets it once, in one combination each
    // (stepping through them, so every dialect, format and command meets a 500 too).
    let mut runs = 0;
    for (i, body) in echoes().into_iter().enumerate() {
        for status in [404u16, 400, 500] {
            let b = body.clone();
            let api = FakeApi::start(move |_, _| Reply::json(status, &b));
            let env = TestEnv::new()
                .key(LEAKY)
                .api(&api)
                .trussrc_text(&truss_section(
                    "baseten",
                    &api.url,
                    &LEAKY.replace('%', "%%"),
                ));
            let mut combination = 0;
            for ci in every_ci().iter().map(String::as_str) {
                for output in ["text", "json"] {
                    for cmd in [
                        &["login", "--timeout", "0.3"][..],
                        &["status", "--check", "--timeout", "0.3"][..],
                    ] {
                        combination += 1;
                        if status == 500 && combination != i * 5 % (every_ci().len() * 4) + 1 {
                            continue;
                        }
                        let mut args = vec!["--ci", ci, "--output", output, "-vv"];
                        args.extend_from_slice(cmd);
                        let run = env.run(&args);
                        assert_eq!(run.code, 4, "{args:?} {status}\n{}", run.stderr);
                        assert_no_leak(&run, &format!("{args:?} {status} {body:?}"));
                        runs += 1;
                    }
                }
            }
        }
    }
    assert_eq!(runs, 8 * (2 * every_ci().len() * 2 * 2 + 1));
}

#[test]
fn redirect_targets_and_proxy_pages_are_scrubbed() {
    // A redirect whose host spells the key (hosts are lower-cased by the URL parser).
    let host = format!("{}.example", SECRET.replace(['+', '/', '=', '\\'], "-"));
    let key = format!("kid01.{}", SECRET.replace(['+', '/', '=', '\\'], "-"));
    let target = format!("https://{host}/v1/users/me");
    let api = FakeApi::start(move |_, _| {
        Reply::Http(302, vec![("Location".into(), target.clone())], vec![])
    });
    let env = TestEnv::new().key(&key).api(&api);
    let run = env.run(&["--ci", "github", "login", "--timeout", "1"]);
    run.assert_code(4);
    let secret = key.split_once('.').unwrap().1.to_ascii_lowercase();
    for line in run.all().lines().filter(|l| !l.starts_with("::add-mask::")) {
        assert!(!line.to_ascii_lowercase().contains(&secret[..8]), "{line}");
    }
    run.assert_stderr_has("redirect to ****");

    // A plain-HTTP proxy whose 407 page quotes the request it was sent.
    let proxy = FakeApi::start(|req, _| {
        let auth = req.header("authorization").unwrap_or_default().to_owned();
        Reply::json(407, &format!("proxy denied request with {auth}"))
    });
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", LEAKY)
        // A 64-character label is no valid DNS name: without the proxy nothing would leave.
        .set(
            "BASETEN_REMOTE_URL",
            &format!("http://{}.invalid:9", "a".repeat(64)),
        )
        .set("HTTP_PROXY", &proxy.url)
        .set("http_proxy", &proxy.url);
    let run = env.run(&["login", "--allow-http", "--timeout", "1"]);
    run.assert_code(4);
    assert!(proxy.hits() >= 1, "the proxy was used");
    assert_no_leak(&run, "407 page");
}

#[test]
fn a_key_in_a_file_variable_is_never_echoed() {
    for (var, extra) in [
        ("BASETEN_API_KEY_FILE", vec![]),
        ("MY_KEY_FILE", vec!["--from-env=MY_KEY"]),
    ] {
        let env = TestEnv::new().with(var, LEAKY);
        let mut args = vec!["login", "--no-validate"];
        args.extend(extra);
        let run = env.run(&args);
        run.assert_code(2);
        run.assert_stderr_has(var);
        assert_no_leak(&run, var);
    }
}

#[test]
fn forged_undo_records_change_nothing() {
    let env = TestEnv::new().key(KEY).gitlab_job("7");
    let gitconfig = env.home.join(".gitconfig");
    std::fs::write(&gitconfig, "[core]\n\teditor = vi\n").unwrap();
    let record_file = env.home.join(".trussrc.truss-ci-state.json");
    env.run(&["login", "--no-validate"]).assert_code(0);
    let trussrc = env.read_trussrc().unwrap();
    let genuine: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record_file).unwrap()).unwrap();

    let forge = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = genuine.clone();
        f(&mut v[0]);
        std::fs::write(&record_file, serde_json::to_vec(&v).unwrap()).unwrap();
    };
    let gc = gitconfig.to_str().unwrap().to_owned();
    type Forgery = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Forgery)> = vec![
        (
            "another file",
            Box::new(move |r| {
                r["trussrc"] = gc.clone().into();
                r["remote"] = "core".into();
                r["previous_section"] = "[core]\n\tsshCommand = evil\n".into();
            }),
        ),
        (
            "an env name login never exports",
            Box::new(|r| r["exported"] = serde_json::json!(["PATH"])),
        ),
        (
            "a second section smuggled in",
            Box::new(|r| {
                r["previous_section"] = "[baseten]\nk = v\n[core]\nsshCommand = evil\n".into();
            }),
        ),
    ];
    for (what, f) in &cases {
        forge(f.as_ref());
        let run = env.run(&["logout", "--post"]);
        run.assert_code(5);
        assert!(
            run.stderr.contains("refusing the undo record"),
            "{what}: {}",
            run.stderr
        );
        assert_eq!(env.read_trussrc().unwrap(), trussrc, "{what}");
        assert_eq!(
            std::fs::read_to_string(&gitconfig).unwrap(),
            "[core]\n\teditor = vi\n"
        );
    }

    // A record file that is a link, or writable by others, is refused whole.
    std::fs::write(&record_file, serde_json::to_vec(&genuine).unwrap()).unwrap();
    let elsewhere = env.path("elsewhere.json");
    std::fs::rename(&record_file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &record_file).unwrap();
    env.run(&["logout", "--post"]).assert_code(5);
    std::fs::remove_file(&record_file).unwrap();
    std::fs::rename(&elsewhere, &record_file).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&record_file, std::fs::Permissions::from_mode(0o666)).unwrap();
    env.run(&["logout", "--post"]).assert_code(5);
    assert_eq!(env.read_trussrc().unwrap(), trussrc);

    // The genuine record, 0600, undoes the login.
    std::fs::set_permissions(&record_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(
        env.read_trussrc(),
        None,
        "login created the file; undo removes it"
    );
}

#[test]
fn github_state_must_name_the_record_beside_its_trussrc() {
    let mut env = TestEnv::new();
    let state = env.path("state");
    std::fs::write(&state, "").unwrap();
    let (forged, trussrc) = (env.path("forged.json"), env.trussrc());
    env.set("STATE_TRUSS_CI_STATE_FILE", forged.to_str().unwrap())
        .set("STATE_TRUSS_CI_TRUSSRC", trussrc.to_str().unwrap())
        .set("STATE_TRUSS_CI_STATE_ID", "x");
    let run = env.run(&["--ci", "github", "logout", "--post"]);
    run.assert_code(5);
    env.unset("STATE_TRUSS_CI_STATE_ID");
    let beside = env.home.join(".trussrc.truss-ci-state.json");
    env.set("STATE_TRUSS_CI_STATE_FILE", beside.to_str().unwrap());
    env.run(&["--ci", "github", "logout", "--post"])
        .assert_code(5);
}

#[test]
fn post_undoes_only_this_jobs_logins() {
    let before = "[prod]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = PROD\n\n";
    let a = TestEnv::new()
        .trussrc_text(before)
        .key("keyA.aaaaaaaaaa")
        .gitlab_job("100");
    let b = TestEnv::new()
        .home_of(&a)
        .key("keyB.bbbbbbbbbb")
        .gitlab_job("200");
    a.run(&["login", "--no-validate", "--remote", "ra"])
        .assert_code(0);
    b.run(&["login", "--no-validate", "--remote", "rb"])
        .assert_code(0);
    a.run(&["logout", "--post"]).assert_code(0);
    let text = a.read_trussrc().unwrap();
    assert!(
        !text.contains("[ra]") && text.contains("[rb]") && text.starts_with(before),
        "{text}"
    );
    // Without a job identity nothing is undone, rather than everything.
    let anon = TestEnv::new().home_of(&a).with("GITLAB_CI", "true");
    let run = anon.run(&["logout", "--post"]);
    run.assert_code(0);
    run.assert_stderr_has("CI_JOB_ID");
    assert!(anon.read_trussrc().unwrap().contains("[rb]"));
    b.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(a.read_trussrc().unwrap(), before, "every byte as it was");
}

#[test]
fn odd_variables_never_drop_the_ones_truss_ci_reads() {
    let api = FakeApi::baseten();
    let env = TestEnv::new()
        .with("path", "/elsewhere")
        .with("Home", "/nowhere")
        .with("GITHUB_ACTIONS", "true")
        .file_var("GITHUB_ENV", "")
        .with("BASETEN_REMOTE", "staging")
        .key(KEY)
        .api(&api);
    let run = env.run(&["login"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout.lines().next(),
        Some(format!("::add-mask::{KEY}").as_str())
    );
    assert!(env.read_trussrc().unwrap().starts_with("[staging]\n"));
}

#[test]
#[cfg(target_os = "linux")]
fn a_non_utf8_variable_is_named_in_a_warning() {
    use std::os::unix::ffi::OsStrExt;
    let env = TestEnv::new();
    let mut cmd = env.command(&[
        "login",
        "--no-validate",
        "--trussrc",
        env.path("rc").to_str().unwrap(),
    ]);
    cmd.env("BASETEN_API_KEY", KEY)
        .env("BASETEN_REMOTE", std::ffi::OsStr::from_bytes(b"r\xff"));
    let run = to_run(cmd.output().unwrap());
    run.assert_code(0);
    run.assert_stderr_has("BASETEN_REMOTE is not valid UTF-8");
}

#[test]
fn an_output_that_fails_after_the_write_rolls_the_login_back() {
    let before = "[keep]\nk = v\n";
    type Case = (Vec<String>, Vec<(&'static str, String)>);
    let mut cases: Vec<Case> = vec![
        (
            vec!["--dotenv".into(), "/nonexistent/dir/build.env".into()],
            vec![],
        ),
        (
            vec!["--export-env".into()],
            vec![
                ("GITHUB_ACTIONS", "true".into()),
                ("GITHUB_ENV", "/dev/full".into()),
            ],
        ),
    ];
    cases.push((vec!["--print-env".into(), "sh".into()], vec![]));
    for (i, (args, vars)) in cases.iter().enumerate() {
        let mut env = TestEnv::new().trussrc_text(before).key(KEY).gitlab_job("1");
        for (k, v) in vars {
            env.set(k, v);
        }
        let mut full = vec!["login", "--no-validate"];
        full.extend(args.iter().map(String::as_str));
        let run = if i == 2 {
            let out = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            to_run(
                env.command(&full)
                    .stdout(out)
                    .stderr(std::process::Stdio::piped())
                    .output()
                    .unwrap(),
            )
        } else {
            env.run(&full)
        };
        run.assert_code(5);
        run.assert_stderr_has("rolled back");
        assert_eq!(env.read_trussrc().unwrap(), before, "{args:?}");
        assert!(
            !env.home.join(".trussrc.truss-ci-state.json").exists(),
            "{args:?}"
        );
    }
}

#[test]
fn no_wait_is_unbounded() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let api = FakeApi::baseten();
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, i32);
    let cases: Vec<Case<'_>> = vec![
        (vec!["--api-key-file", f], vec![], 2),
        (vec![], vec![("BASETEN_API_KEY_FILE", f)], 2),
        (vec!["--ca-cert", f], vec![("BASETEN_API_KEY", KEY)], 2),
        (
            vec!["--remote-url", "https://127.0.0.1:1"],
            vec![("BASETEN_API_KEY", KEY), ("SSL_CERT_FILE", f)],
            2,
        ),
        (
            vec!["--dotenv", "/dev/zero", "--no-validate"],
            vec![("BASETEN_API_KEY", KEY)],
            5,
        ),
    ];
    for (args, vars, code) in cases {
        let mut env = TestEnv::new().api(&api);
        for (k, v) in &vars {
            env.set(k, v);
        }
        let mut full = vec!["login"];
        full.extend(args.iter().copied());
        let started = Instant::now();
        let run = env.run(&full);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{full:?} {vars:?} waited"
        );
        assert_eq!(run.code, code, "{full:?} {vars:?}\n{}", run.stderr);
    }

    // A lock held by another process: exit 5 within the bound, with a clear message.
    let env = TestEnv::new().key(KEY);
    let lock = std::fs::File::create(env.home.join(".trussrc.lock")).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let run = env.run(&["login", "--no-validate", "--timeout", "1"]);
    run.assert_code(5);
    assert!(started.elapsed() < Duration::from_secs(3));
    run.assert_stderr_has("held by another process");
}

#[test]
fn what_cannot_get_better_is_not_retried() {
    let check = |url: &str,
                 vars: &[(&str, &str)],
                 hits: &dyn Fn() -> usize,
                 expect_hits: std::ops::RangeInclusive<usize>,
                 why: &str| {
        let mut env = TestEnv::new().key(KEY).with("BASETEN_REMOTE_URL", url);
        for (k, v) in vars {
            env.set(k, v);
        }
        let started = Instant::now();
        let run = env.run(&["login", "--timeout", "5", "--allow-http"]);
        run.assert_code(4);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{why}: retried to the deadline"
        );
        assert!(expect_hits.contains(&hits()), "{why}: {} requests", hits());
        assert!(!run.stderr.contains("--ca-cert"), "{why}: {}", run.stderr);
        run
    };
    let huge = FakeApi::start(|_, _| {
        let mut raw = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        raw.extend(vec![b'a'; 1024 * 1024]);
        raw.extend(b"\r\n\r\n{}");
        Reply::Raw(raw)
    });
    let checks = |api: &FakeApi| api.hits_on("/v1/users/me");
    check(
        &huge.url,
        &[],
        &|| checks(&huge),
        1..=1,
        "oversized headers",
    );
    let garbage = FakeApi::start(|_, _| Reply::Raw(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()));
    check(
        &garbage.url,
        &[],
        &|| checks(&garbage),
        1..=1,
        "invalid HTTP",
    );
    let proxy = FakeApi::start(|_, _| {
        Reply::Raw(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n".to_vec(),
        )
    });
    let run = check(
        "https://127.0.0.1:9",
        &[("HTTPS_PROXY", &proxy.url), ("https_proxy", &proxy.url)],
        &|| proxy.hits(),
        1..=1,
        "407 on CONNECT",
    );
    run.assert_stderr_has("proxy requires authentication");
    // A proxy the client cannot speak would be bypassed in silence: refused up front.
    let env = TestEnv::new()
        .key(KEY)
        .with("BASETEN_REMOTE_URL", "https://127.0.0.1:9")
        .with("HTTPS_PROXY", "ftp://user:pw@127.0.0.1:1");
    let run = env.run(&["login", "--timeout", "5"]);
    run.assert_code(2);
    run.assert_stderr_has("HTTPS_PROXY uses a ftp:// proxy");
    run.assert_stderr_lacks("pw@");

    // Refused on a path that says "tls" is a refused connection, retried, with no TLS hint.
    let refused = format!("{}/tls", refused_url());
    let env = TestEnv::new().key(KEY).with("BASETEN_REMOTE_URL", &refused);
    let run = env.run(&["login", "--timeout", "1"]);
    run.assert_code(4);
    run.assert_stderr_lacks("--ca-cert");

    // Retry-After: 0 does not make a burst: retries keep a floor.
    let limited =
        FakeApi::start(|_, _| Reply::Http(503, vec![("Retry-After".into(), "0".into())], vec![]));
    let env = TestEnv::new().key(KEY).api(&limited);
    env.run(&["login", "--timeout", "0.6"]).assert_code(4);
    let checks = limited.hits_on("/v1/users/me");
    assert!(checks <= 3, "{checks} checks in 0.6 s");
}

/// `--ca-cert` adds to the system's roots (here `SSL_CERT_FILE`), which are read only for a server
/// the given CA does not vouch for; and neither trusts a server that no CA signed.
#[test]
fn the_given_ca_adds_to_the_system_roots() {
    let api = FakeApi::baseten_tls();
    let other = FakeApi::baseten_tls();
    let dir = tempfile::tempdir().unwrap();
    let pem = |name: &str, api: &FakeApi| {
        let path = dir.path().join(name);
        std::fs::write(&path, api.ca_pem.as_ref().unwrap()).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (ca, other_ca) = (pem("ca.pem", &api), pem("other.pem", &other));
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let login = |ca_cert: &str, system: &str| {
        let mut env = TestEnv::new();
        env.set("BASETEN_API_KEY", KEY)
            .set("BASETEN_REMOTE_URL", &api.url)
            .set("SSL_CERT_FILE", system);
        env.run(&["login", "--timeout", "3", "--ca-cert", ca_cert])
    };
    // The system's store holds the API's CA; the given one does not.
    login(&other_ca, &ca).assert_code(0);
    // The given CA vouches for the API: a system store with nothing usable is never needed.
    login(&ca, empty.to_str().unwrap()).assert_code(0);
    // Neither does: refused, as TLS, without a request.
    let hits = api.hits();
    let run = login(&other_ca, &other_ca);
    run.assert_code(4);
    assert!(run.stderr.contains("TLS"), "{}", run.stderr);
    assert_eq!(
        api.hits(),
        hits,
        "no request crossed an untrusted connection"
    );
}

#[test]
fn trussrc_text_never_becomes_a_runner_command() {
    let text = "[baseten]\nremote_provider = baseten\nremote_url = https://x\n  ::error::owned\n  ##vso[task.setvariable variable=PATH]x\nauth_type = api_key\napi_key = k.abcdefghij\n";
    for (ci, output) in [
        ("github", "text"),
        ("azure", "text"),
        ("github", "json"),
        ("azure", "json"),
    ] {
        let env = TestEnv::new();
        // JSON escapes line breaks: one line holds it all.
        let text = match output {
            "json" => &text.replace("\n  ", " "),
            _ => text,
        };
        std::fs::write(env.trussrc(), text).unwrap();
        let run = env.run(&["--ci", ci, "--output", output, "status"]);
        run.assert_code(0);
        // The only command is truss-ci's own warning about GitHub's missing files.
        let ours = "::warning title=truss-ci::GitHub Actions detected";
        for line in run
            .stdout
            .lines()
            .chain(run.stderr.lines())
            .filter(|l| !l.starts_with(ours))
        {
            match ci {
                "github" => assert!(parse_log(line).is_empty(), "{ci}: {line:?}"),
                _ => assert!(!line.contains("##"), "{ci}: {line:?}"),
            }
        }
        if output == "json" {
            // Still the same value, read back.
            let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
            assert!(v["remote_url"].as_str().unwrap().contains("##vso["), "{v}");
        }
    }
}

#[test]
fn small_ones() {
    // An explicit empty remote is refused, not the default's credentials overwritten.
    let mut env = TestEnv::new().key(KEY);
    let run = env.run(&["login", "--no-validate", "--remote", ""]);
    run.assert_code(2);
    assert_eq!(env.read_trussrc(), None);
    env.set("BASETEN_REMOTE", "");
    env.run(&["login", "--no-validate"]).assert_code(2);
    env.unset("BASETEN_REMOTE");

    // --isolate exports an absolute path, whatever RUNNER_TEMP looks like.
    let gh_env = env.path("github_env");
    std::fs::write(&gh_env, "").unwrap();
    std::fs::create_dir(env.path("rt")).unwrap();
    env.set("GITHUB_ACTIONS", "true")
        .set("GITHUB_ENV", gh_env.to_str().unwrap())
        .set("RUNNER_TEMP", "rt");
    env.run(&["login", "--no-validate", "--isolate"])
        .assert_code(0);
    let exported = std::fs::read_to_string(&gh_env).unwrap();
    let path = exported
        .lines()
        .skip_while(|l| !l.starts_with("USER_TRUSSRC_PATH<<"))
        .nth(1)
        .unwrap();
    assert!(Path::new(path).is_absolute(), "{path}");
    assert!(Path::new(path).exists(), "{path}");
}

/// Asserts that no readable 8-character run of `KEY`'s secret part is in `text`, after the
/// receiving side strips invisible characters and folds width, nor among its letters and digits.
#[track_caller]
fn assert_unreadable(text: &str, what: &str) {
    let secret = KEY.split_once('.').unwrap().1.to_ascii_lowercase();
    let read = common::encodings::readable(text);
    let alnum: String = read.chars().filter(char::is_ascii_alphanumeric).collect();
    for w in secret.as_bytes().windows(8) {
        let w = std::str::from_utf8(w).unwrap();
        assert!(!read.contains(w), "{what}: {w:?} readable in {text:?}");
        assert!(
            !alnum.contains(w),
            "{what}: {w:?} among the letters of {text:?}"
        );
    }
}

#[test]
fn interleaved_and_chunked_keys_reach_no_channel() {
    use common::encodings::{full_width, interleave};
    let hex: String = KEY.bytes().map(|b| format!("{b:02x}")).collect();
    let chunks: Vec<&str> = [0, 7, 14, 21]
        .iter()
        .map(|&i| &KEY[i..(i + 7).min(KEY.len())])
        .collect();
    let bodies = [
        (interleave(KEY, "\u{1}"), interleave(KEY, "\u{200B}")),
        (interleave(KEY, "\u{0}"), interleave(KEY, "\u{AD}")),
        (
            interleave(KEY, "\u{7f}"),
            format!("{}@x.io", full_width(KEY)),
        ),
        (interleave(KEY, "\t"), format!("{}@x.io", chunks.join("-"))),
    ];
    for (workspace, email) in bodies {
        let user =
            serde_json::json!({"workspace_name": workspace, "email": email, "name": workspace});
        let api = FakeApi::start(move |_, _| Reply::json(200, &user.to_string()));
        let modes = every_ci()
            .into_iter()
            .flat_map(|ci| [(ci.clone(), "text"), (ci, "json")]);
        for (ci, output) in modes {
            let ci = ci.as_str();
            let mut env = TestEnv::new();
            let mut files = Vec::new();
            for name in ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_STATE"] {
                let path = env.path(name);
                std::fs::write(&path, "").unwrap();
                env.set(name, path.to_str().unwrap());
                files.push(path);
            }
            let dotenv = env.path("build.env");
            files.push(dotenv.clone());
            let cli = env.path("baseten");
            env.set("BASETEN_API_KEY", KEY)
                .set("BASETEN_REMOTE_URL", &api.url)
                .set("BASETEN_CONFIG_DIR", cli.to_str().unwrap());
            // The baseten CLI's profile too: its report lines pass the same sweep.
            let args = [
                "--ci",
                ci,
                "--output",
                output,
                "login",
                "--dotenv",
                dotenv.to_str().unwrap(),
                "--baseten-profile",
            ];
            let run = env.run(&args);
            run.assert_code(0);
            let what = format!("{args:?} {workspace:?}");
            for line in run.stdout.lines().chain(run.stderr.lines()) {
                if !line.starts_with("::add-mask::") && !line.starts_with("##vso[task.setsecret]") {
                    assert_unreadable(line, &what);
                }
            }
            for file in &files {
                assert_unreadable(&std::fs::read_to_string(file).unwrap(), &what);
            }
            assert!(
                std::fs::read_to_string(cli.join("auth.json"))
                    .unwrap()
                    .contains(KEY),
                "{what}: the profile holds the key"
            );
            let dotenv_text = std::fs::read_to_string(&dotenv).unwrap();
            assert!(
                dotenv_text.contains("BASETEN_WORKSPACE=(withheld: not plain text)"),
                "{dotenv_text}"
            );
        }
    }

    // Error bodies: hex in either case, and the key in 7-character chunks.
    for body in [
        format!("bad key {hex}"),
        format!("bad key {}", hex.to_ascii_uppercase()),
        format!("bad key {}", chunks.join(" ")),
        format!("bad key {}", chunks.join("\u{200B}-")),
    ] {
        let b = body.clone();
        let api = FakeApi::start(move |_, _| Reply::json(404, &b));
        let env = TestEnv::new().key(KEY).api(&api);
        for output in ["text", "json"] {
            let run = env.run(&["--ci", "github", "--output", output, "login"]);
            run.assert_code(4);
            for line in run.stdout.lines().chain(run.stderr.lines()) {
                if !line.starts_with("::add-mask::") {
                    assert_unreadable(line, &body);
                }
            }
        }
    }
}

/// Lines that would make a runner act, in each dialect, with the key in several forms around.
fn hostile_log_text() -> String {
    format!(
        "TESTLOG ::set-output name=x::y\n::add-mask::nothing\n##vso[task.setvariable variable=HTTPS_PROXY]http://evil\n  ##[set-output name=a;]b\n\u{1b}[0Ksection_start:1:evil[collapsed=true]\r\u{1b}[0Kx\nkey {KEY} {}",
        common::encodings::interleave(KEY, "\u{1}")
    )
}

/// Asserts that no line of `text` would make the runner of `ci` act, but truss-ci's own.
#[track_caller]
fn assert_inert(ci: &str, text: &str, what: &str) {
    for line in text.lines() {
        match ci {
            "github" => {
                for c in parse_log(line) {
                    let ours = match c.name.as_str() {
                        "add-mask" => c.data == KEY,
                        "error" | "warning" => {
                            c.properties.get("title").map(String::as_str) == Some("truss-ci")
                        }
                        "group" | "endgroup" => true,
                        _ => false,
                    };
                    assert!(ours, "{what}: {line:?} is a command");
                }
            }
            "azure" => {
                if line.contains("##") {
                    let ours = [
                        "##vso[task.setsecret]",
                        "##vso[task.logissue type=",
                        "##[group]",
                        "##[endgroup]",
                    ]
                    .iter()
                    .any(|p| line.starts_with(p));
                    assert!(
                        ours && line.matches("##").count() == 1,
                        "{what}: {line:?} is a command"
                    );
                }
            }
            _ => {
                // GitLab reads `section_…:NAME\r\e[0K` anywhere in a line as a section marker.
                if line.contains(['\u{1b}', '\r']) {
                    assert!(
                        line.starts_with("\u{1b}[0Ksection_") && line.contains(":truss_ci_login"),
                        "{what}: {line:?} is a section marker"
                    );
                }
            }
        }
    }
}

#[test]
fn no_log_line_is_a_runner_command_or_carries_the_key() {
    let hex: String = KEY.bytes().map(|b| format!("{b:02x}")).collect();
    let body = format!(
        "##vso[task.setvariable variable=HTTPS_PROXY]http://evil\n##[set-output name=x;]y\n::set-env name=A::b {KEY} {hex} {}",
        common::encodings::interleave(KEY, "\u{200B}")
    );
    let api = FakeApi::start(move |_, _| {
        Reply::Http(
            503,
            vec![("Retry-After".into(), "0".into())],
            body.clone().into_bytes(),
        )
    });
    let hooks = cfg!(feature = "test-hooks");
    for ci in every_ci().iter().map(String::as_str) {
        for (verbosity, rust_log) in [
            (None, None),
            (Some("-v"), None),
            (Some("-vv"), None),
            (None, Some("trace")),
        ] {
            let outputs: &[&str] = if ci == "github" {
                &["text", "json"]
            } else {
                &["text"]
            };
            for &output in outputs {
                let mut env = TestEnv::new();
                env.set("BASETEN_API_KEY", KEY)
                    .set("BASETEN_REMOTE_URL", &api.url)
                    .set("TRUSS_CI_TEST_LOG", &hostile_log_text());
                if let Some(filter) = rust_log {
                    env.set("RUST_LOG", filter);
                }
                let mut args = vec!["--ci", ci, "--output", output];
                args.extend(verbosity);
                args.extend(["login", "--timeout", "0.4"]);
                let run = env.run(&args);
                run.assert_code(4);
                let what = format!("{args:?} RUST_LOG={rust_log:?}");
                assert!(
                    run.stderr.contains("attempt 1 of 6"),
                    "{what}: {}",
                    run.stderr
                );
                assert_inert(ci, &run.stdout, &what);
                assert_inert(ci, &run.stderr, &what);
                for line in run.stdout.lines().chain(run.stderr.lines()) {
                    if !line.starts_with("::add-mask::")
                        && !line.starts_with("##vso[task.setsecret]")
                    {
                        assert_unreadable(line, &what);
                    }
                }
                if hooks {
                    // The logger's lines come after the mask (on stderr in JSON mode).
                    let logged = run.stderr.find("TESTLOG").expect("the log line is written");
                    if ci == "github" && output == "json" {
                        assert!(
                            run.stderr.find("::add-mask::").unwrap() < logged,
                            "{}",
                            run.stderr
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_key_given_where_a_name_or_value_goes_is_never_echoed() {
    let mut env = TestEnv::new();
    std::fs::write(
        env.trussrc(),
        truss_section("baseten", "https://x", "k.abcdefghij"),
    )
    .unwrap();
    env.set("SENTINELkey01", "")
        .set("BASETEN_API_KEY", "abc.defghijklm");
    let cases: &[(&[&str], &str)] = &[
        (&["login", "--from-env=KEY"], "--from-env"),
        (&["login", "--from-env", "KEY"], "unexpected argument"),
        (&["login", "--from-env=SENTINELkey01"], "--from-env"),
        (&["login", "--bogus=KEY"], "--bogus"),
        (&["login", "--output", "KEY"], "--output"),
        (&["--ci", "KEY", "status"], "--ci"),
        (&["login", "KEY"], "unexpected argument"),
        (&["status", "--remote", "KEY"], "No remote"),
        (&["logout", "--remote", "KEY"], "No remote"),
        (
            &["login", "--api-key-stdin", "--remote-url", "KEY"],
            "--remote-url",
        ),
    ];
    for (args, names) in cases {
        for prefix in [&["--output", "json"][..], &["--ci", "github"], &[]] {
            let mut full: Vec<String> = prefix.iter().map(|a| (*a).to_owned()).collect();
            full.extend(args.iter().map(|a| a.replace("KEY", KEY)));
            let full: Vec<&str> = full.iter().map(String::as_str).collect();
            let run = env.run(&full);
            run.assert_code(2);
            assert!(run.all().contains(names), "{full:?}: {}", run.all());
            assert!(
                !run.all().contains("SENTINELkey01"),
                "{full:?}: {}",
                run.all()
            );
            assert_unreadable(&run.all(), &format!("{full:?}"));
            if prefix.contains(&"json") {
                let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
                assert_eq!(v["error"]["exit_code"], 2, "{}", run.stdout);
            }
            if prefix.contains(&"github") {
                let errors = parse_log(&run.stdout)
                    .into_iter()
                    .filter(|c| c.name == "error")
                    .count();
                assert_eq!(errors, 1, "{full:?}: {}", run.stdout);
            }
        }
    }
}
