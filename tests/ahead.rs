//! A CI login writes its undo record while the API answers (`src/commands/login/ahead.rs`): the
//! record is durable before the check ends, a key that fails leaves the record file as it was, a
//! slow answer lets the lock go, another process's lock is never waited for, and a change another
//! writer makes to the trussrc meanwhile is not written over.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

const OTHER_KEY: &str = "OTHERjob07.Hq2mW8xZ";

fn record(env: &TestEnv) -> PathBuf {
    env.home.join(".trussrc.truss-ci-state.json")
}

fn lock(env: &TestEnv) -> PathBuf {
    env.home.join(".trussrc.lock")
}

/// Polls `done` for up to 10 s.
#[cfg(feature = "test-hooks")]
fn within_10s(done: impl Fn() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// A fake Baseten API that accepts `keys` and calls `hook` (once, at the key's check) before it
/// answers: the test acts while the login waits for the API.
fn api_with(keys: &[&str], hook: impl Fn() + Send + Sync + 'static) -> FakeApi {
    let answer = baseten_handler(keys);
    let hook = Mutex::new(Some(hook));
    FakeApi::start(move |req, n| {
        if req.path == "/v1/users/me"
            && let Some(hook) = hook.lock().unwrap().take()
        {
            hook();
        }
        answer(req, n)
    })
}

fn job(api: &FakeApi, id: &str, key: &str) -> TestEnv {
    TestEnv::new()
        .gitlab_job(id)
        .key(key)
        .api(api)
        .trussrc_text("[other]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = HANDWRITTEN\n")
}

fn file_bytes(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

// The hold set by a test (`--features test-hooks`) keeps the record ahead while the test acts.
#[cfg(feature = "test-hooks")]
#[test]
fn the_record_is_on_disk_before_the_api_answers() {
    let seen = Arc::new(Mutex::new(None));
    let home = Arc::new(Mutex::new(PathBuf::new()));
    let (seen2, home2) = (Arc::clone(&seen), Arc::clone(&home));
    let api = api_with(&[KEY], move || {
        let file = home2.lock().unwrap().join(".trussrc.truss-ci-state.json");
        let written = within_10s(|| {
            std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"job\":\"gitlab:"))
        });
        *seen2.lock().unwrap() = Some(written);
    });
    let mut env = job(&api, "4242", KEY);
    env.set("TRUSS_CI_TEST_AHEAD_HOLD_MS", "20000");
    *home.lock().unwrap() = env.home.clone();
    let before = env.read_trussrc();
    env.run(&["login"]).assert_code(0);
    assert_eq!(
        *seen.lock().unwrap(),
        Some(true),
        "the record while the API answered"
    );
    assert!(env.read_trussrc().unwrap().contains(KEY));
    assert!(!lock(&env).exists());
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(env.read_trussrc(), before);
    assert!(!record(&env).exists());
}

#[test]
fn a_key_that_fails_leaves_the_record_file_byte_for_byte() {
    let api = FakeApi::accepting(&[OTHER_KEY, KEY]);
    // Another job's login first: its record is there before this job's login starts.
    let mut env = job(&api, "7", OTHER_KEY);
    env.run(&["login"]).assert_code(0);
    let (trussrc, records) = (env.read_trussrc(), file_bytes(&record(&env)));
    assert!(records.is_some());
    env.set("CI_JOB_ID", "8")
        .set("TRUSS_CI_TEST_AHEAD_HOLD_MS", "20000");
    let wrong = "WRONGkey99.Zx9qv7Lw3pTt";
    let failures: [(&str, &str, &[&str], i32); 3] = [
        ("a rejected key", wrong, &["login"], 3),
        (
            "a key of another type",
            KEY,
            &["login", "--require-key-type", "workspace-invoke"],
            3,
        ),
        (
            "an export that cannot be made",
            KEY,
            &["login", "--dotenv", "/nonexistent/dir/x.env"],
            5,
        ),
    ];
    for (what, key, args, code) in failures {
        env.set("BASETEN_API_KEY", key);
        env.run(args).assert_code(code);
        assert_eq!(env.read_trussrc(), trussrc, "{what}: the trussrc");
        assert_eq!(
            file_bytes(&record(&env)),
            records,
            "{what}: the record file"
        );
        assert!(!lock(&env).exists(), "{what}: the lock file");
    }
    // And with no record before: none after.
    let mut fresh = job(&api, "9", "WRONGkey99.Zx9qv7Lw3pTt");
    fresh.set("TRUSS_CI_TEST_AHEAD_HOLD_MS", "20000");
    fresh.run(&["login"]).assert_code(3);
    assert!(!record(&fresh).exists());
    let names: Vec<String> = std::fs::read_dir(&fresh.home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [".trussrc"], "nothing but the trussrc");
}

#[test]
fn a_slow_answer_lets_the_lock_go_and_the_record_back() {
    let observed = Arc::new(Mutex::new(None));
    let home = Arc::new(Mutex::new(PathBuf::new()));
    let (observed2, home2) = (Arc::clone(&observed), Arc::clone(&home));
    let api = api_with(&[KEY], move || {
        let home = home2.lock().unwrap().clone();
        // Well past the hold: the record written ahead is back out, its lock let go.
        std::thread::sleep(Duration::from_millis(600));
        let state = (
            home.join(".trussrc.lock").exists(),
            home.join(".trussrc.truss-ci-state.json").exists(),
        );
        *observed2.lock().unwrap() = Some(state);
    });
    let mut env = job(&api, "4242", KEY);
    env.set("TRUSS_CI_TEST_AHEAD_HOLD_MS", "50");
    *home.lock().unwrap() = env.home.clone();
    env.run(&["login"]).assert_code(0);
    assert_eq!(
        *observed.lock().unwrap(),
        Some((false, false)),
        "(lock file, record file) while the answer was slow"
    );
    // The login still wrote its record, after the check.
    assert!(
        std::fs::read_to_string(record(&env))
            .unwrap()
            .contains("gitlab:")
    );
    assert!(env.read_trussrc().unwrap().contains(KEY));
}

// The hold set by a test (`--features test-hooks`) keeps the record ahead while the test acts.
#[cfg(feature = "test-hooks")]
#[test]
fn a_lock_another_process_holds_is_not_waited_for_before_the_answer() {
    let held = Arc::new(Mutex::new(None::<std::fs::File>));
    let observed = Arc::new(Mutex::new(None));
    let home = Arc::new(Mutex::new(PathBuf::new()));
    let (held2, observed2, home2) = (Arc::clone(&held), Arc::clone(&observed), Arc::clone(&home));
    let api = api_with(&[KEY], move || {
        let home = home2.lock().unwrap().clone();
        let ahead = || home.join(".trussrc.truss-ci-state.json").exists();
        std::thread::sleep(Duration::from_millis(300));
        let while_held = ahead();
        // Let go: a login that waited for the lock would now take it and write its record.
        held2.lock().unwrap().take();
        std::thread::sleep(Duration::from_millis(300));
        *observed2.lock().unwrap() = Some((while_held, ahead()));
    });
    let mut env = job(&api, "4242", KEY);
    env.set("TRUSS_CI_TEST_AHEAD_HOLD_MS", "20000");
    *home.lock().unwrap() = env.home.clone();
    let file = std::fs::File::create(lock(&env)).unwrap();
    file.lock().unwrap();
    *held.lock().unwrap() = Some(file);
    env.run(&["login"]).assert_code(0);
    assert_eq!(
        *observed.lock().unwrap(),
        Some((false, false)),
        "a record ahead (while the lock was held, once it was let go)"
    );
    assert!(
        std::fs::read_to_string(record(&env))
            .unwrap()
            .contains("gitlab:")
    );
}

// The hold set by a test (`--features test-hooks`) keeps the record ahead while the test acts.
#[cfg(feature = "test-hooks")]
#[test]
fn a_change_another_writer_makes_during_the_check_is_kept() {
    let home = Arc::new(Mutex::new(PathBuf::new()));
    let home2 = Arc::clone(&home);
    let added = "\n[late]\nremote_provider = baseten\nremote_url = https://late.example\nauth_type = api_key\napi_key = LATE\n";
    let api = api_with(&[KEY], move || {
        let home = home2.lock().unwrap().clone();
        // Once the record is written ahead, a writer that takes no lock (truss itself, a
        // script) adds a section.
        assert!(within_10s(|| home
            .join(".trussrc.truss-ci-state.json")
            .exists()));
        let trussrc = home.join(".trussrc");
        let mut text = std::fs::read_to_string(&trussrc).unwrap();
        text.push_str(added);
        std::fs::write(&trussrc, text).unwrap();
    });
    let mut env = job(&api, "4242", KEY);
    env.set("TRUSS_CI_TEST_AHEAD_HOLD_MS", "20000");
    *home.lock().unwrap() = env.home.clone();
    let before = env.read_trussrc().unwrap();
    env.run(&["login"]).assert_code(0);
    let after = env.read_trussrc().unwrap();
    assert!(after.contains("[late]") && after.contains(KEY), "{after}");
    // The post takes out this login's section only: the late one stays.
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(env.read_trussrc().unwrap(), format!("{before}{added}"));
}
