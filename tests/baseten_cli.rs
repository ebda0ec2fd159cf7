//! `login --baseten-profile`: the `baseten` CLI's auth.json and keyring entry written, refused
//! whole when the file is not one the CLI wrote, undone by `logout --post` (for overlapping jobs
//! in one HOME too, and after a crash at any syscall), removed by `logout`, reported by `status`.
//! What the CLI itself reads back is checked against its own store in `interop_baseten_cli`.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

const LATER_KEY: &str = "LATERjob02.Qm4xT8wZ";

/// A file as the CLI writes it: a personal profile, current, and an OAuth one.
const BEFORE: &str = r#"{
  "version": 1,
  "current": "personal",
  "profiles": {
    "oauth": {
      "remote_url": "https://app.baseten.co",
      "auth_type": "oauth",
      "oauth_credential": {
        "access_token": "AT",
        "refresh_token": "RT",
        "expiry": "2026-01-02T03:04:05Z"
      }
    },
    "personal": {
      "remote_url": "https://app.baseten.co",
      "auth_type": "api_key",
      "api_key": "PERSONALkey.abcdefgh"
    }
  }
}
"#;

fn auth(env: &TestEnv) -> PathBuf {
    env.path("cfg").join("auth.json")
}

/// An environment whose baseten CLI keeps its file in `<dir>/cfg` (holding `before`).
fn cli_env(before: Option<&str>) -> TestEnv {
    let env = TestEnv::new().key(KEY);
    let dir = env.path("cfg");
    std::fs::create_dir(&dir).unwrap();
    if let Some(text) = before {
        std::fs::write(dir.join("auth.json"), text).unwrap();
        set_mode(&dir.join("auth.json"), 0o600);
    }
    let dir = dir.to_str().unwrap().to_owned();
    env.with("BASETEN_CONFIG_DIR", &dir)
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path).unwrap()).unwrap()
}

#[test]
fn login_writes_a_profile_the_cli_reads_and_makes_it_current() {
    let env = cli_env(Some(BEFORE));
    let run = env.run(&["login", "--no-validate", "--baseten-profile=ci"]);
    run.assert_code(0)
        .assert_stderr_has("Logged the baseten CLI in as profile `ci` (key in its file)");
    let file = json(&auth(&env));
    assert_eq!(file["current"], "ci");
    assert_eq!(file["profiles"]["ci"]["api_key"], KEY);
    assert_eq!(file["profiles"]["ci"]["auth_type"], "api_key");
    assert_eq!(
        file["profiles"]["ci"]["remote_url"],
        "https://app.baseten.co"
    );
    // Everything else comes through, OAuth credentials included.
    assert_eq!(
        file["profiles"]["oauth"]["oauth_credential"]["refresh_token"],
        "RT"
    );
    assert_eq!(
        file["profiles"]["personal"]["api_key"],
        "PERSONALkey.abcdefgh"
    );
    assert_eq!(mode(&auth(&env)), 0o600);
    assert!(!run.all().contains(KEY));
}

#[test]
fn the_default_name_is_the_remote_and_no_switch_keeps_current() {
    let env = cli_env(Some(BEFORE));
    env.run(&[
        "login",
        "--no-validate",
        "--remote",
        "deploy",
        "--baseten-profile",
        "--baseten-no-switch",
    ])
    .assert_code(0);
    let file = json(&auth(&env));
    assert_eq!(file["current"], "personal");
    assert_eq!(file["profiles"]["deploy"]["api_key"], KEY);
}

#[test]
fn a_new_file_is_private_in_a_private_directory() {
    let env = TestEnv::new().key(KEY);
    env.run(&["login", "--no-validate", "--baseten-profile"])
        .assert_code(0);
    let path = env.home.join(".config/baseten/auth.json");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(json(&path)["profiles"]["baseten"]["api_key"], KEY);
}

/// Each refused starting file: exit 5 before any request, nothing written anywhere.
#[test]
fn a_file_the_cli_did_not_write_is_refused_whole() {
    type Make = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "could not parse",
            Box::new(|p| std::fs::write(p, "{\"version\":1,\"profiles\":{},}").unwrap()),
        ),
        (
            "could not parse",
            Box::new(|p| std::fs::write(p, "{\"version\":\"1\"}").unwrap()),
        ),
        (
            "symbolic link",
            Box::new(|p| {
                std::fs::write(p.with_file_name("real.json"), BEFORE).unwrap();
                std::os::unix::fs::symlink("real.json", p).unwrap();
            }),
        ),
        (
            "may write",
            Box::new(|p| {
                std::fs::write(p, BEFORE).unwrap();
                set_mode(p, 0o666);
            }),
        ),
        (
            "more than",
            Box::new(|p| {
                let big = format!("{{\"version\":1,\"x\":\"{}\"}}", "a".repeat(1 << 20));
                std::fs::write(p, big).unwrap();
            }),
        ),
    ];
    let mut cases = cases;
    // Another user's file (as root; elsewhere another owner cannot be set up).
    let probe = std::env::temp_dir().join(format!("truss-ci-chown-{}", std::process::id()));
    std::fs::write(&probe, "").unwrap();
    let root = std::os::unix::fs::chown(&probe, Some(65534), None).is_ok();
    std::fs::remove_file(&probe).unwrap();
    if root {
        cases.push((
            "owned by another user",
            Box::new(|p| {
                std::fs::write(p, BEFORE).unwrap();
                set_mode(p, 0o600);
                std::os::unix::fs::chown(p, Some(65534), None).unwrap();
            }),
        ));
    }
    for (why, make) in cases {
        let api = FakeApi::baseten();
        let env = cli_env(None).api(&api);
        make(&auth(&env));
        let before = std::fs::read(auth(&env)).ok();
        let run = env.run(&["login", "--baseten-profile=ci"]);
        run.assert_code(5).assert_stderr_has(why);
        assert!(!run.all().contains(KEY));
        assert_eq!(api.hits(), 0, "{why}: no request before the refusal");
        assert!(env.read_trussrc().is_none(), "{why}: no trussrc written");
        assert_eq!(std::fs::read(auth(&env)).ok(), before, "{why}");
    }
}

#[test]
fn a_remote_url_with_a_path_is_refused_for_the_cli_naming_both_rules() {
    for flags in [
        &["--baseten-profile"][..],
        &["--export-env"][..],
        &["--print-env", "sh"][..],
    ] {
        let env = cli_env(None).with("GITLAB_CI", "true");
        let mut args = vec![
            "login",
            "--no-validate",
            "--remote-url",
            "https://example.com/baseten",
        ];
        args.extend_from_slice(flags);
        env.run(&args)
            .assert_code(2)
            .assert_stderr_has("truss reads it, but the baseten CLI accepts only scheme://host");
        assert!(env.read_trussrc().is_none(), "{flags:?}");
        assert!(!auth(&env).exists(), "{flags:?}");
    }
    // Without the baseten CLI in play, truss's own rule stands.
    let env = cli_env(None);
    env.run(&[
        "login",
        "--no-validate",
        "--remote-url",
        "https://example.com/baseten",
    ])
    .assert_code(0);
}

#[test]
fn post_restores_the_profile_current_and_the_missing_file() {
    for before in [Some(BEFORE), None] {
        let env = cli_env(before).gitlab_job("7");
        env.run(&["login", "--no-validate", "--baseten-profile=personal"])
            .assert_code(0);
        assert_eq!(json(&auth(&env))["profiles"]["personal"]["api_key"], KEY);
        env.run(&["logout", "--post"])
            .assert_code(0)
            .assert_stderr_has("baseten CLI profile `personal`");
        assert_eq!(read(&auth(&env)).as_deref(), before);
        assert!(env.read_trussrc().is_none());
    }
}

/// Two jobs in one HOME, the later one logged in over the earlier one's profile: whichever
/// posts first, the later login stays live until its own post, and the last post restores the
/// file as it was before both. No file keeps an ended job's key.
#[test]
fn overlapping_jobs_restore_the_state_before_both_in_either_order() {
    for earlier_first in [true, false] {
        let mut env = cli_env(Some(BEFORE)).gitlab_job("1");
        let login = ["login", "--no-validate", "--baseten-profile=ci"];
        env.run(&login).assert_code(0);
        env.set("CI_JOB_ID", "2").set("BASETEN_API_KEY", LATER_KEY);
        env.run(&login).assert_code(0);
        let (first, second) = if earlier_first {
            (("1", KEY), ("2", LATER_KEY))
        } else {
            (("2", LATER_KEY), ("1", KEY))
        };
        env.set("CI_JOB_ID", first.0)
            .set("BASETEN_API_KEY", first.1);
        env.run(&["logout", "--post"]).assert_code(0);
        let now = read(&auth(&env)).unwrap();
        assert!(!now.contains(first.1), "order {earlier_first}: {now}");
        if earlier_first {
            assert!(now.contains(LATER_KEY), "the later login stays live: {now}");
        }
        env.set("CI_JOB_ID", second.0)
            .set("BASETEN_API_KEY", second.1);
        env.run(&["logout", "--post"]).assert_code(0);
        assert_eq!(
            read(&auth(&env)).as_deref(),
            Some(BEFORE),
            "order {earlier_first}"
        );
    }
}

#[test]
fn post_leaves_a_profile_a_later_step_replaced() {
    let env = cli_env(Some(BEFORE)).gitlab_job("3");
    env.run(&["login", "--no-validate", "--baseten-profile=ci"])
        .assert_code(0);
    let replaced = read(&auth(&env))
        .unwrap()
        .replace(KEY, "SOMEONEelse.12345678");
    std::fs::write(auth(&env), &replaced).unwrap();
    env.run(&["logout", "--post"])
        .assert_code(0)
        .assert_stderr_has("was replaced after login");
    assert!(read(&auth(&env)).unwrap().contains("SOMEONEelse.12345678"));
}

#[test]
fn logout_removes_the_profile_login_wrote_and_no_other() {
    let env = cli_env(Some(BEFORE));
    env.run(&["login", "--no-validate", "--baseten-profile"])
        .assert_code(0);
    // A profile of the user's own with the same key and remote, under another name, stays.
    let mine = read(&auth(&env)).unwrap().replace(
        "\"profiles\": {",
        &format!("\"profiles\": {{\n    \"mine\": {{\"remote_url\": \"https://app.baseten.co\", \"auth_type\": \"api_key\", \"api_key\": \"{KEY}\"}},"),
    );
    std::fs::write(auth(&env), mine).unwrap();
    env.run(&["logout"])
        .assert_code(0)
        .assert_stderr_has("Removed baseten CLI profile `baseten`");
    let file = json(&auth(&env));
    assert!(file["profiles"].get("baseten").is_none());
    assert_eq!(file["profiles"]["mine"]["api_key"], KEY);
    assert_eq!(
        file["profiles"]["personal"]["api_key"],
        "PERSONALkey.abcdefgh"
    );
    // `current` was the removed profile: the CLI has none now, as after its own logout.
    assert!(file.get("current").is_none());

    // A key with `%`, which the trussrc holds as `%%`: the profile holds it as it is.
    let env = cli_env(None).key("pct%key.12345678");
    env.run(&["login", "--no-validate", "--baseten-profile"])
        .assert_code(0);
    assert!(env.read_trussrc().unwrap().contains("pct%%key.12345678"));
    env.run(&["logout"])
        .assert_code(0)
        .assert_stderr_has("Removed baseten CLI profile `baseten`");

    // A profile named like the remote with another key is the user's: it stays.
    let env = cli_env(Some(&BEFORE.replace("\"personal\"", "\"baseten\"")));
    env.run(&["login", "--no-validate", "--baseten-profile=ci"])
        .assert_code(0);
    env.run(&["logout"]).assert_code(0);
    assert_eq!(
        json(&auth(&env))["profiles"]["baseten"]["api_key"],
        "PERSONALkey.abcdefgh"
    );
}

/// A baseten CLI file that a later step broke never keeps the rest of a logout or a post from
/// being done: the trussrc is put back, and the profile's part is a warning.
#[test]
fn a_broken_auth_json_is_a_warning_for_logout_and_post() {
    let env = cli_env(Some(BEFORE)).gitlab_job("8");
    env.run(&["login", "--no-validate", "--baseten-profile=ci"])
        .assert_code(0);
    let written = read(&auth(&env)).unwrap();
    std::fs::write(auth(&env), "garbage").unwrap();
    env.run(&["logout", "--post"])
        .assert_code(0)
        .assert_stderr_has("were not put back");
    assert!(env.read_trussrc().is_none(), "the trussrc was put back");
    // Once the file is readable again, the job's next post finds its entry by the job's identity.
    std::fs::write(auth(&env), written).unwrap();
    env.run(&["logout", "--post"])
        .assert_code(0)
        .assert_stderr_has("Removed baseten CLI profile `ci`");
    assert_eq!(read(&auth(&env)).as_deref(), Some(BEFORE));

    let env = cli_env(None);
    env.run(&["login", "--no-validate"]).assert_code(0);
    std::fs::write(env.path("real.json"), BEFORE).unwrap();
    std::os::unix::fs::symlink(env.path("real.json"), auth(&env)).unwrap();
    env.run(&["logout"])
        .assert_code(0)
        .assert_stderr_has("left as they are");
    assert_eq!(env.read_trussrc().as_deref(), Some(""));
}

/// `current` and profiles that come back to an earlier value (A, then B, then A again): a post
/// never undoes a live login, and one job's logins in any order come back to the state before it.
#[test]
fn values_that_come_back_never_undo_a_live_login() {
    let mut env = cli_env(Some(
        &BEFORE.replace("\"current\": \"personal\"", "\"current\": \"x\""),
    ))
    .gitlab_job("1");
    let before = read(&auth(&env)).unwrap();
    // One job: p without switching, q, then p again.
    for args in [
        &["--baseten-profile=p", "--baseten-no-switch"][..],
        &["--remote", "other", "--baseten-profile=q"][..],
        &["--baseten-profile=p"][..],
    ] {
        let mut login = vec!["login", "--no-validate"];
        login.extend_from_slice(args);
        env.run(&login).assert_code(0);
    }
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(read(&auth(&env)).unwrap(), before);

    // Three jobs switch to p, q, p; the first one's post leaves job 3's `current` live.
    for (job, profile) in [("1", "p"), ("2", "q"), ("3", "p")] {
        env.set("CI_JOB_ID", job);
        let flag = format!("--baseten-profile={profile}");
        let remote = format!("r{profile}");
        env.run(&["login", "--no-validate", "--remote", &remote, &flag])
            .assert_code(0);
    }
    env.set("CI_JOB_ID", "1");
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(json(&auth(&env))["current"], "p", "job 3's login is live");
    for job in ["3", "2"] {
        env.set("CI_JOB_ID", job);
        env.run(&["logout", "--post"]).assert_code(0);
    }
    assert_eq!(read(&auth(&env)).unwrap(), before);
}

/// Jobs that share the baseten CLI's file but not a trussrc (`--isolate`, `--trussrc`), log in
/// to different remotes and profiles, or log in again after another job: in every order of their
/// posts, the file ends as it was before both, and an ended job's key is in no profile.
#[test]
fn overlapping_jobs_on_one_auth_json_chain_whatever_their_trussrc_and_profiles() {
    let jobs: [(&str, &str, &[&str]); 3] = [
        (
            "1",
            KEY,
            &[
                "--trussrc",
                "t1/rc",
                "--remote",
                "r1",
                "--baseten-profile=p",
            ],
        ),
        (
            "2",
            LATER_KEY,
            &[
                "--trussrc",
                "t2/rc",
                "--remote",
                "r2",
                "--baseten-profile=p",
            ],
        ),
        (
            "3",
            "THIRDjob03.Xy7zQ2",
            &["--remote", "r3", "--baseten-profile=q"],
        ),
    ];
    let orders: [&[usize]; 4] = [&[0, 1, 2], &[2, 1, 0], &[1, 0, 2], &[0, 2, 1]];
    for order in orders {
        let mut env = cli_env(Some(BEFORE)).gitlab_job("0");
        std::fs::create_dir(env.path("t1")).unwrap();
        std::fs::create_dir(env.path("t2")).unwrap();
        for (id, key, flags) in &jobs {
            env.set("CI_JOB_ID", id).set("BASETEN_API_KEY", key);
            let mut args = vec!["login", "--no-validate"];
            args.extend_from_slice(flags);
            env.run(&args).assert_code(0);
        }
        // Job 1 logs in again after job 2 took its profile over.
        env.set("CI_JOB_ID", "1")
            .set("BASETEN_API_KEY", "AGAINjob01.Rt5uV6");
        let mut args = vec!["login", "--no-validate"];
        args.extend_from_slice(jobs[0].2);
        env.run(&args).assert_code(0);
        let mut ended = Vec::new();
        for &i in order {
            let (id, key, flags) = jobs[i];
            env.set("CI_JOB_ID", id).set("BASETEN_API_KEY", key);
            let mut args = vec!["logout", "--post"];
            if flags[0] == "--trussrc" {
                args.extend_from_slice(&flags[..2]);
            }
            env.run(&args).assert_code(0);
            ended.push(key);
            if id == "1" {
                ended.push("AGAINjob01.Rt5uV6");
            }
            let now = read(&auth(&env)).unwrap_or_default();
            for key in &ended {
                assert!(
                    !now.contains(key),
                    "order {order:?}: {key} after post {id}: {now}"
                );
            }
        }
        assert_eq!(
            read(&auth(&env)).as_deref(),
            Some(BEFORE),
            "order {order:?}"
        );
        assert!(!env.path("cfg/.auth.json.truss-ci-state.json").exists());
    }
}

#[test]
fn status_says_which_profile_the_cli_picks_and_what_shadows_it() {
    let mut env = cli_env(Some(BEFORE));
    env.run(&["login", "--no-validate", "--baseten-profile=ci"])
        .assert_code(0);
    env.unset("BASETEN_API_KEY");
    let run = env.run(&["status"]);
    run.assert_code(0)
        .assert_stdout_has("baseten_cli_profile: ci (current)")
        .assert_stdout_has("baseten_cli_key: file");
    assert!(!run.all().contains("PERSONALkey"));
    assert!(!run.all().contains(KEY));
    env.set("BASETEN_PROFILE", "personal");
    env.run(&["status"])
        .assert_stdout_has("baseten_cli_profile: personal (BASETEN_PROFILE)");
    env.set("BASETEN_API_KEY", "SOMEkey.12345678");
    let run = env.run(&["status", "--output", "json"]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["baseten_cli"]["shadowed_by"], "BASETEN_API_KEY");
    assert_eq!(report["baseten_cli"]["chosen_by"], "BASETEN_PROFILE");
}

#[test]
fn export_env_hands_the_cli_its_remote_beside_the_key() {
    let api = FakeApi::baseten();
    let env = cli_env(None)
        .api(&api)
        .with("CIRCLECI", "true")
        .file_var("BASH_ENV", "");
    env.run(&["login", "--export-env"]).assert_code(0);
    let text = read(&env.path("bash_env")).unwrap();
    assert!(
        text.contains(&format!("export BASETEN_REMOTE_URL='{}'\n", api.url)),
        "{text}"
    );
    // The default remote needs none.
    let env = cli_env(None)
        .with("CIRCLECI", "true")
        .file_var("BASH_ENV", "");
    env.run(&["login", "--no-validate", "--export-env"])
        .assert_code(0);
    assert!(
        !read(&env.path("bash_env"))
            .unwrap()
            .contains("BASETEN_REMOTE_URL")
    );
}

#[test]
fn exec_gives_the_command_the_pair_and_nothing_else_does() {
    let api = FakeApi::baseten();
    let env = cli_env(None).api(&api);
    let show = "echo \"key=$BASETEN_API_KEY url=$BASETEN_REMOTE_URL\"";
    let run = env.run(&["exec", "--export-env", "--", "sh", "-c", show]);
    run.assert_code(0)
        .assert_stdout_has(format!("key={KEY} url={}", api.url));
    let run = env.run(&["exec", "--", "sh", "-c", show]);
    run.assert_code(0).assert_stdout_has("key= url=");
}

/// With the key in the keyring (the test builds' file store): the profile holds none, and the
/// post puts the entry back. A key in the file is not shadowed by an older entry, which the
/// post also puts back.
#[test]
#[cfg(feature = "test-hooks")]
fn keyring_entries_are_written_and_put_back() {
    let mut env = cli_env(Some(BEFORE)).gitlab_job("9");
    let store = env.path("keyring");
    std::fs::create_dir(&store).unwrap();
    env.set("TRUSS_CI_TEST_KEYRING_DIR", store.to_str().unwrap());
    let entry = store.join("baseten-profile:personal");
    std::fs::write(&entry, "OLDentry.12345678").unwrap();
    let run = env.run(&[
        "login",
        "--no-validate",
        "--storage",
        "keyring",
        "--baseten-profile=personal",
    ]);
    run.assert_code(0).assert_stderr_has("(key in its keyring)");
    assert_eq!(read(&entry).as_deref(), Some(KEY));
    let file = json(&auth(&env));
    assert!(file["profiles"]["personal"].get("api_key").is_none());
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(read(&entry).as_deref(), Some("OLDentry.12345678"));
    assert_eq!(read(&auth(&env)).as_deref(), Some(BEFORE));

    // Inline: the older entry would shadow the key in the file, so it goes while the job runs.
    env.run(&["login", "--no-validate", "--baseten-profile=personal"])
        .assert_code(0);
    assert!(!entry.exists());
    env.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(read(&entry).as_deref(), Some("OLDentry.12345678"));
    assert_eq!(read(&auth(&env)).as_deref(), Some(BEFORE));
}

const SYSCALLS: [&str; 7] = [
    "openat", "write", "fsync", "rename", "unlink", "flock", "close",
];

/// Killed at any file syscall of a login that writes a profile, the next `logout --post` puts
/// auth.json back byte for byte, with no temporary or lock file left beside it.
#[test]
fn a_crash_at_any_syscall_of_a_profile_login_is_undone_by_post() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let mut env = cli_env(None).gitlab_job("4242");
    let mut logins = vec![&["login", "--no-validate", "--baseten-profile=personal"][..]];
    // A keyring that refuses the write: the key goes to the file after all, and the journal
    // says so before the file does.
    if cfg!(feature = "test-hooks") {
        let missing = env.path("no-such-keyring-dir");
        env.set("TRUSS_CI_TEST_KEYRING_DIR", missing.to_str().unwrap());
        logins.push(&[
            "login",
            "--no-validate",
            "--storage",
            "keyring",
            "--baseten-profile=personal",
        ]);
    }
    let mut kills = 0;
    for (login, syscall) in logins
        .iter()
        .flat_map(|l| SYSCALLS.iter().map(move |s| (*l, *s)))
    {
        for n in 1.. {
            std::fs::write(auth(&env), BEFORE).unwrap();
            set_mode(&auth(&env), 0o600);
            let mut wrapper = Command::new(&strace);
            wrapper
                .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("inject={syscall}:signal=KILL:when={n}"));
            let status = env
                .under(wrapper, BIN, login)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            let killed = status.code() != Some(0);
            let now = read(&auth(&env)).unwrap();
            assert!(
                now == BEFORE || now.contains(KEY),
                "{syscall} #{n}: the file is the old one or the new one, whole"
            );
            env.run(&["logout", "--post"]).assert_code(0);
            let what = format!("{login:?} killed at {syscall} #{n}");
            assert_eq!(read(&auth(&env)).as_deref(), Some(BEFORE), "{what}");
            assert!(env.read_trussrc().is_none(), "{what}");
            let left: Vec<_> = std::fs::read_dir(env.path("cfg"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "auth.json")
                .collect();
            assert!(left.is_empty(), "{what}: {left:?}");
            if !killed {
                break;
            }
            kills += 1;
            assert!(n < 400, "{syscall}: no end");
        }
    }
    assert!(kills > 20, "only {kills} crash points");
}
