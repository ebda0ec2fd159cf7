//! A crash at any syscall loses nothing: strace kills `login` (or `logout --post`) at the Nth
//! call of each file syscall, for every N until the command runs through, and the next
//! `logout --post` must put back every byte of the trussrc, leaving no temporary, no record and
//! no lock file. Two jobs in one HOME likewise: a crash of the later job's login, or of the earlier
//! job's post while the later login is live.
//! Deterministic: `-e inject=SYSCALL:signal=KILL:when=N`, no sleeps.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const BEFORE: &str = "# hand-written\n[other]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = OTHER\n\n[baseten]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nteam = ml\napi_key = OLD\n";

const SYSCALLS: [&str; 7] = [
    "openat", "write", "fsync", "rename", "unlink", "flock", "close",
];

const LOGIN: [&str; 2] = ["login", "--no-validate"];
const POST: [&str; 2] = ["logout", "--post"];

/// Job 1 logs in, job 2's `login` is killed at the `n`th `syscall`, then job 1 posts. True when
/// the login was killed.
fn later_login_killed(
    strace: &Path,
    env: &mut TestEnv,
    login: &[&str],
    syscall: &str,
    n: usize,
) -> bool {
    as_job(env, "1", KEY);
    env.run(login).assert_code(0);
    as_job(env, "2", LATER_KEY);
    let killed = killed_at(strace, env, login, syscall, n);
    as_job(env, "1", KEY);
    env.run(&POST).assert_code(0);
    killed
}

/// Job 2 posts, and HOME is as it was `before` either job.
#[track_caller]
fn later_post_restores(env: &mut TestEnv, before: Option<&str>, what: &str) {
    as_job(env, "2", LATER_KEY);
    env.run(&POST).assert_code(0);
    assert_restored(env, before, what);
}

fn job_env() -> TestEnv {
    TestEnv::new().gitlab_job("4242").key(KEY)
}

/// Runs truss-ci under strace, killed at the `n`th `syscall`. True when it was killed.
fn killed_at(strace: &Path, env: &TestEnv, args: &[&str], syscall: &str, n: usize) -> bool {
    let mut strace = Command::new(strace);
    strace
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("inject={syscall}:signal=KILL:when={n}"));
    let status = env
        .under(strace, BIN, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    match status.code() {
        Some(0) => false,
        Some(code) if code == 128 + 9 => true,
        None => true,
        Some(code) => panic!("{args:?} at {syscall} #{n}: exit {code}"),
    }
}

fn leftovers(env: &TestEnv) -> Vec<String> {
    std::fs::read_dir(&env.home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with("state.json") || n.ends_with(".lock"))
        .collect()
}

/// Sets HOME up as `before` says (a file, or none).
fn reset(env: &TestEnv, before: Option<&str>) {
    for entry in std::fs::read_dir(&env.home).unwrap().flatten() {
        std::fs::remove_file(entry.path()).unwrap();
    }
    if let Some(text) = before {
        std::fs::write(env.trussrc(), text).unwrap();
    }
    let _ = std::fs::remove_file(env.path("build.env"));
}

#[track_caller]
fn assert_restored(env: &TestEnv, before: Option<&str>, what: &str) {
    assert_eq!(env.read_trussrc().as_deref(), before, "{what}");
    assert!(leftovers(env).is_empty(), "{what}: {:?}", leftovers(env));
}

#[test]
fn a_crash_at_any_syscall_of_login_is_undone_by_post() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let env = job_env();
    let login = [
        "login",
        "--no-validate",
        "--export-env",
        "--dotenv",
        "build.env",
    ];
    let mut kills = 0;
    for before in [Some(BEFORE), None] {
        for syscall in SYSCALLS {
            for n in 1.. {
                reset(&env, before);
                let killed = killed_at(&strace, &env, &login, syscall, n);
                let after = env.read_trussrc();
                // Whatever the moment, the file is the old one or the new one, whole.
                if let (Some(after), Some(before)) = (&after, before) {
                    assert!(
                        after == before || after.contains(&format!("api_key = {KEY}\n")),
                        "{syscall} #{n}: {after:?}"
                    );
                }
                // Every other run logs in again first: the retry must merge, not lose, the
                // record of the crashed one.
                if n % 2 == 0 {
                    env.run(&login).assert_code(0);
                }
                env.run(&["logout", "--post"]).assert_code(0);
                assert_restored(&env, before, &format!("login killed at {syscall} #{n}"));
                if !killed {
                    break;
                }
                kills += 1;
                assert!(n < 400, "{syscall}: no end");
            }
        }
    }
    assert!(kills > 40, "only {kills} crash points were reached");
}

#[test]
fn a_crash_at_any_syscall_of_post_is_finished_by_the_next_post() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let env = job_env();
    for before in [Some(BEFORE), None] {
        for syscall in ["openat", "write", "fsync", "rename", "unlink"] {
            for n in 1.. {
                reset(&env, before);
                env.run(&["login", "--no-validate"]).assert_code(0);
                let killed = killed_at(&strace, &env, &["logout", "--post"], syscall, n);
                env.run(&["logout", "--post"]).assert_code(0);
                assert_restored(&env, before, &format!("post killed at {syscall} #{n}"));
                if !killed {
                    break;
                }
                assert!(n < 400, "{syscall}: no end");
            }
        }
    }
}

const LATER_KEY: &str = "LATERjob02.Qm4xT8wZ";

/// Runs as CI job `id` with `key`.
fn as_job(env: &mut TestEnv, id: &str, key: &str) {
    env.set("CI_JOB_ID", id).set("BASETEN_API_KEY", key);
}

/// No file in HOME holds `key`.
#[track_caller]
fn assert_gone(env: &TestEnv, key: &str, what: &str) {
    for entry in std::fs::read_dir(&env.home).unwrap().flatten() {
        let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
        assert!(
            !text.contains(key),
            "{what}: the ended job's key is in {}",
            entry.path().display()
        );
    }
}

#[test]
fn a_crash_in_the_middle_of_a_chain_is_finished_by_the_next_post() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let mut env = job_env();
    let mut kills = 0;
    for before in [Some(BEFORE), None] {
        // The later job's login is killed; then the earlier job's post, then the later one's.
        for syscall in SYSCALLS {
            for n in 1.. {
                reset(&env, before);
                let killed = later_login_killed(&strace, &mut env, &LOGIN, syscall, n);
                let what = format!("later login killed at {syscall} #{n}");
                assert_gone(&env, KEY, &what);
                if !killed {
                    let live = env.read_trussrc().unwrap();
                    assert!(live.contains(LATER_KEY), "{what}: {live}");
                }
                later_post_restores(&mut env, before, &what);
                if !killed {
                    break;
                }
                kills += 1;
                assert!(n < 400, "{syscall}: no end");
            }
        }
        // The earlier job's post is killed while the later login is live; it runs again.
        for syscall in SYSCALLS {
            for n in 1.. {
                reset(&env, before);
                as_job(&mut env, "1", KEY);
                env.run(&LOGIN).assert_code(0);
                as_job(&mut env, "2", LATER_KEY);
                env.run(&LOGIN).assert_code(0);
                let live = env.read_trussrc();
                as_job(&mut env, "1", KEY);
                let killed = killed_at(&strace, &env, &POST, syscall, n);
                let what = format!("earlier post killed at {syscall} #{n}");
                assert_eq!(env.read_trussrc(), live, "{what}: the live login is left");
                env.run(&POST).assert_code(0);
                assert_eq!(env.read_trussrc(), live, "{what}: the live login is left");
                assert_gone(&env, KEY, &what);
                later_post_restores(&mut env, before, &what);
                if !killed {
                    break;
                }
                kills += 1;
                assert!(n < 400, "{syscall}: no end");
            }
        }
    }
    assert!(kills > 40, "only {kills} crash points were reached");
}

/// A section as truss writes it, with no blank line after it: a splice over it adds one.
const TRUSS_WRITTEN: &str = "[baseten]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = OLD\n[z]\nk = v\n";

#[test]
fn a_crash_of_an_earlier_login_is_undone_by_the_posts_of_both_jobs() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let mut env = job_env();
    for before in [Some(TRUSS_WRITTEN), Some(BEFORE), None] {
        for syscall in SYSCALLS {
            for n in 1.. {
                reset(&env, before);
                as_job(&mut env, "1", KEY);
                let killed = killed_at(&strace, &env, &LOGIN, syscall, n);
                as_job(&mut env, "2", LATER_KEY);
                env.run(&LOGIN).assert_code(0);
                as_job(&mut env, "1", KEY);
                env.run(&POST).assert_code(0);
                let what = format!("earlier login killed at {syscall} #{n}");
                assert_gone(&env, KEY, &what);
                later_post_restores(&mut env, before, &what);
                if !killed {
                    break;
                }
                assert!(n < 400, "{syscall}: no end");
            }
        }
    }
}

/// The same with the key in the keyring (the file store of test builds): a later login killed at
/// any point leaves the earlier job's key in no entry once its post has run.
#[test]
#[cfg(feature = "test-hooks")]
fn a_crash_of_a_later_keyring_login_leaves_no_earlier_key_in_the_keyring() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let mut env = job_env();
    let store = env.path("keyring");
    std::fs::create_dir(&store).unwrap();
    env.set("TRUSS_CI_TEST_KEYRING_DIR", store.to_str().unwrap());
    let login = ["login", "--no-validate", "--storage", "keyring"];
    let entry = store.join("baseten");
    for syscall in SYSCALLS {
        for n in 1.. {
            reset(&env, Some(BEFORE));
            let _ = std::fs::remove_file(&entry);
            let killed = later_login_killed(&strace, &mut env, &login, syscall, n);
            let what = format!("later keyring login killed at {syscall} #{n}");
            assert_gone(&env, KEY, &what);
            let stored = std::fs::read_to_string(&entry).unwrap_or_default();
            assert!(!stored.contains(KEY), "{what}: {stored}");
            as_job(&mut env, "2", LATER_KEY);
            env.run(&POST).assert_code(0);
            assert_restored(&env, Some(BEFORE), &what);
            assert!(!entry.exists(), "{what}: the entry is gone");
            if !killed {
                break;
            }
            assert!(n < 400, "{syscall}: no end");
        }
    }
}

/// A validated login in a CI job (the API's check and lookup first, against a fake on
/// 127.0.0.1): killed at any syscall, the next post puts every byte back.
#[test]
fn a_crash_at_any_syscall_of_a_validated_login_is_undone_by_post() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let api = FakeApi::accepting(&[KEY]);
    let env = job_env().api(&api);
    let mut kills = 0;
    for syscall in SYSCALLS {
        for n in 1.. {
            reset(&env, Some(BEFORE));
            let killed = killed_at(&strace, &env, &["login"], syscall, n);
            let after = env.read_trussrc().unwrap();
            assert!(
                after == BEFORE || after.contains(&format!("api_key = {KEY}\n")),
                "{syscall} #{n}: {after:?}"
            );
            env.run(&POST).assert_code(0);
            assert_restored(
                &env,
                Some(BEFORE),
                &format!("validated login killed at {syscall} #{n}"),
            );
            if !killed {
                break;
            }
            kills += 1;
        }
    }
    assert!(kills > 20, "only {kills} kills");
}

/// A job key: killed at any syscall between its intent and the stored key (and after), the
/// next `logout --post` finds the key, by its prefix or by its name, and revokes it; the key
/// that minted it is never written anywhere.
#[test]
fn a_crash_at_any_syscall_of_a_job_key_login_leaves_no_key_alive_after_post() {
    use common::management::{Baseten, MANAGE_ALL};
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("ci-admin"));
    let api = fake.start();
    let mut env = job_env();
    env.set("BASETEN_API_KEY", &admin)
        .set("BASETEN_REMOTE_URL", &api.url);
    let login = [
        "login",
        "--job-key",
        "--export-env",
        "--dotenv",
        "build.env",
    ];
    let alive = || fake.job_keys().len();
    let (mut kills, mut orphans) = (0, 0);
    for syscall in SYSCALLS {
        for n in 1.. {
            reset(&env, Some(BEFORE));
            let killed = killed_at(&strace, &env, &login, syscall, n);
            for entry in std::fs::read_dir(&env.home).unwrap().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                assert!(
                    !text.contains(&admin),
                    "{syscall} #{n}: the resolved key in {entry:?}"
                );
            }
            let unrecorded = killed && alive() > 0 && {
                let state = env.home.join(".trussrc.truss-ci-state.json");
                let text = std::fs::read_to_string(state).unwrap_or_default();
                !fake.keys().iter().any(|k| text.contains(&k.prefix))
            };
            orphans += usize::from(unrecorded);
            env.run(&["logout", "--post"]).assert_code(0);
            assert_restored(
                &env,
                Some(BEFORE),
                &format!("job key login killed at {syscall} #{n}"),
            );
            assert_eq!(
                alive(),
                0,
                "job key login killed at {syscall} #{n}: a key outlived the post"
            );
            if !killed {
                break;
            }
            kills += 1;
        }
    }
    assert!(kills > 20, "only {kills} kills");
    assert!(
        orphans > 0,
        "no kill fell between the create and the recorded prefix"
    );
    assert!(!fake.deleted().is_empty());
}

/// The fsyncs and renames of `args` run under strace, each named by the file it is about.
fn fsyncs_and_renames(strace: &Path, env: &TestEnv, args: &[&str]) -> Vec<String> {
    let log = env.path("fsync.log");
    let mut wrapper = Command::new(strace);
    wrapper.args([
        "-f",
        "-y",
        "-e",
        "trace=fsync,fdatasync,sync,syncfs,sync_file_range,msync,rename,renameat,renameat2",
        "-o",
        log.to_str().unwrap(),
    ]);
    let out = env.under(wrapper, BIN, args).output().unwrap();
    to_run(out).assert_code(0);
    // As the kernel names it (strace -y), whatever links lead to it.
    let home = std::fs::canonicalize(&env.home).unwrap();
    let home = home.to_str().unwrap();
    // Each file by what it is: the trussrc, the record, a temporary of either, the directory.
    let name = |path: &str| match path.strip_prefix(home) {
        Some("") => "dir",
        Some("/.trussrc") => "trussrc",
        Some("/.trussrc.truss-ci-state.json") => "record",
        Some(p) if p.starts_with("/..trussrc.truss-ci.") => "trussrc tmp",
        Some(p) if p.starts_with("/..trussrc.truss-ci-state.json.truss-ci.") => "record tmp",
        Some("/cfg") => "cli dir",
        Some("/cfg/auth.json") => "auth.json",
        Some("/cfg/.auth.json.truss-ci-state.json") => "journal",
        Some(p) if p.starts_with("/cfg/.auth.json.truss-ci.") => "auth.json tmp",
        Some(p) if p.starts_with("/cfg/..auth.json.truss-ci-state.json.truss-ci.") => "journal tmp",
        _ => "elsewhere",
    };
    let calls = std::fs::read_to_string(&log).unwrap();
    calls
        .lines()
        // A call another thread's interrupts is two lines: the call, then its return.
        .filter(|l| (l.contains("sync") || l.contains("rename")) && !l.contains(" resumed>"))
        .map(|l| {
            let paths: Vec<&str> = l
                .split(['<', '>', '"'])
                .filter(|p| p.starts_with(home))
                .collect();
            let call = if l.contains("rename") {
                "rename"
            } else {
                "fsync"
            };
            match (call, paths.as_slice()) {
                ("rename", [_, to]) => format!("rename to {}", name(to)),
                (_, [path]) => format!("fsync {}", name(path)),
                _ => format!("? {l}"),
            }
        })
        .collect()
}

/// In a CI job a file's new bytes (`file`: the trussrc, the baseten CLI's auth.json) are fsynced
/// on another thread while what undoes the change is made durable: that fsync is anywhere before
/// the file's rename, and only there. `calls` without it.
fn staged_fsync_anywhere(calls: Vec<String>, file: &str) -> Vec<String> {
    let (fsync, rename) = (format!("fsync {file} tmp"), format!("rename to {file}"));
    let at = |call: &str| calls.iter().position(|c| c == call);
    let (Some(synced), Some(renamed)) = (at(&fsync), at(&rename)) else {
        panic!("no fsync of the bytes of {file}, or no rename: {calls:?}");
    };
    assert!(
        synced < renamed,
        "the bytes of {file} after its rename: {calls:?}"
    );
    let rest: Vec<String> = calls.iter().filter(|c| **c != fsync).cloned().collect();
    assert_eq!(rest.len() + 1, calls.len(), "{calls:?}");
    rest
}

/// The fsyncs a login makes, counted and in order with its renames: in a CI job the undo record's
/// bytes before it takes its name, then its directory (the record durable before the trussrc
/// changes: write-ahead across a power cut too), and the trussrc's bytes (meanwhile, on another
/// thread) before it takes its name; outside CI the last alone. The trussrc's rename needs no
/// fsync of the directory: lost in a power cut, it leaves the file as it was, which the record's
/// post finds. A change that adds an fsync, or moves one after what it guards, fails here.
#[test]
fn a_login_makes_only_the_fsyncs_its_guarantees_need() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let trace = |env: &TestEnv, args: &[&str]| fsyncs_and_renames(&strace, env, args);
    let login = ["login", "--from-env", "--no-validate"];
    assert_eq!(
        staged_fsync_anywhere(trace(&job_env(), &login), "trussrc"),
        [
            "fsync record tmp",
            "rename to record",
            "fsync dir",
            "rename to trussrc",
        ],
        "in a CI job"
    );
    // Validated (the check and the lookup first): the same.
    let api = FakeApi::accepting(&[KEY]);
    assert_eq!(
        staged_fsync_anywhere(
            trace(&job_env().api(&api), &["login", "--from-env"]),
            "trussrc"
        ),
        [
            "fsync record tmp",
            "rename to record",
            "fsync dir",
            "rename to trussrc",
        ],
        "in a CI job, validated"
    );
    let mut plain = TestEnv::new();
    plain.set("BASETEN_API_KEY", KEY);
    assert_eq!(
        trace(&plain, &login),
        ["fsync trussrc tmp", "rename to trussrc"],
        "outside CI"
    );
    // The baseten CLI's profile: its journal entry durable before the file changes (write-ahead),
    // the file's bytes before its name; nothing after the last rename. The journal entry is saved
    // while the record is, on another thread: each in its own order, both before any rename of
    // the files they undo.
    let mut cli = job_env();
    let cfg = cli.home.join("cfg");
    cli.set("BASETEN_CONFIG_DIR", cfg.to_str().unwrap());
    let with_profile = ["login", "--from-env", "--no-validate", "--baseten-profile"];
    let calls = staged_fsync_anywhere(
        staged_fsync_anywhere(trace(&cli, &with_profile), "trussrc"),
        "auth.json",
    );
    let record = ["fsync record tmp", "rename to record", "fsync dir"];
    let journal = ["fsync journal tmp", "rename to journal", "fsync cli dir"];
    let renames = ["rename to trussrc", "rename to auth.json"];
    let mut sorted = calls.clone();
    sorted.sort();
    let mut expected: Vec<&str> = record
        .iter()
        .chain(&journal)
        .chain(&renames)
        .copied()
        .collect();
    expected.sort_unstable();
    assert_eq!(
        sorted, expected,
        "in a CI job, with --baseten-profile: {calls:?}"
    );
    let at = |call: &str| calls.iter().position(|c| c == call).unwrap();
    for chain in [&record[..], &journal[..], &renames[..]] {
        assert!(
            chain.windows(2).all(|w| at(w[0]) < at(w[1])),
            "{chain:?} in {calls:?}"
        );
    }
    assert!(
        at("fsync dir").max(at("fsync cli dir")) < at("rename to trussrc"),
        "{calls:?}"
    );
}
