//! A self-hosted runner shared with other accounts: files truss-ci reads are never read through a
//! link, a trussrc someone else controls never decides where the key goes, and a proxy variable
//! is used exactly as checked or refused.
#![cfg(unix)] // symlinks, modes and owners
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Moves `path` aside and puts a link to it in its place; returns the real file.
fn replace_with_link(path: &Path) -> std::path::PathBuf {
    let real = path.with_extension("real");
    std::fs::rename(path, &real).unwrap();
    std::os::unix::fs::symlink(&real, path).unwrap();
    real
}

#[track_caller]
fn assert_refused(run: &Run, code: i32, needles: &[&str]) {
    run.assert_code(code);
    for needle in needles {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(!run.all().contains(KEY), "the key is never echoed");
}

#[test]
fn every_command_refuses_a_linked_trussrc() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", KEY);
    std::fs::write(env.trussrc(), truss_section("baseten", &api.url, KEY)).unwrap();
    set_mode(&env.trussrc(), 0o600);
    let real = replace_with_link(&env.trussrc());
    let before = std::fs::read_to_string(&real).unwrap();
    for args in [
        &["status"][..],
        &["status", "--check"],
        &["login"],
        &["logout"],
        &["logout", "--all"],
    ] {
        let run = env.run(args);
        assert_refused(&run, 5, &["is a symbolic link", ".trussrc"]);
        assert!(!run.stdout.contains(&api.url), "{args:?}: {}", run.stdout);
    }
    assert_eq!(api.hits(), 0, "no request was made");
    assert_eq!(std::fs::read_to_string(&real).unwrap(), before);
}

#[test]
fn a_linked_undo_record_key_file_or_ca_file_is_refused() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", KEY)
        .set("GITLAB_CI", "true")
        .set("CI_JOB_ID", "7");
    env.run(&["login", "--no-validate"]).assert_code(0);
    let written = env.read_trussrc().unwrap();
    let record = env.home.join(".trussrc.truss-ci-state.json");
    let real = replace_with_link(&record);
    let run = env.run(&["logout", "--post"]);
    assert_refused(&run, 5, &["refusing the undo record", "symbolic link"]);
    assert_eq!(env.read_trussrc().unwrap(), written, "nothing was undone");
    std::fs::remove_file(&record).unwrap();
    std::fs::rename(&real, &record).unwrap();
    env.run(&["logout", "--post"]).assert_code(0);

    let mut env = TestEnv::new();
    env.set("BASETEN_REMOTE_URL", &api.url);
    let key_file = env.path("key");
    std::fs::write(&key_file, KEY).unwrap();
    replace_with_link(&key_file);
    let run = env.run(&["login", "--api-key-file", key_file.to_str().unwrap()]);
    assert_refused(&run, 2, &["symbolic link", "readlink -f"]);
    env.set("BASETEN_API_KEY_FILE", key_file.to_str().unwrap());
    let run = env.run(&["login"]);
    assert_refused(&run, 2, &["BASETEN_API_KEY_FILE", "symbolic link"]);
    assert_eq!(env.read_trussrc(), None);

    let tls = FakeApi::baseten_tls();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &tls.url);
    let ca = env.path("ca.pem");
    std::fs::write(&ca, tls.ca_pem.as_ref().unwrap()).unwrap();
    let real = replace_with_link(&ca);
    env.run(&["login", "--no-validate"]).assert_code(0);
    for args in [
        &["login", "--ca-cert", ca.to_str().unwrap()][..],
        &["status", "--check", "--ca-cert", ca.to_str().unwrap()],
    ] {
        let run = env.run(args);
        assert_refused(&run, 2, &["--ca-cert", "symbolic link"]);
    }
    assert_eq!(api.hits() + tls.hits(), 0, "no request was made");
    env.run(&["login", "--ca-cert", real.to_str().unwrap()])
        .assert_code(0);
}

/// Chowns `path` to nobody; false when this user may not (not root).
fn give_away(path: &Path) -> bool {
    std::os::unix::fs::chown(path, Some(65534), None).is_ok()
}

#[test]
fn a_trussrc_others_control_never_decides_where_the_key_goes() {
    // Another user's address for the key: taken from the file, it would receive the key.
    let elsewhere = FakeApi::baseten();
    let mut env = TestEnv::new();
    env.set("BASETEN_API_KEY", KEY);
    let rc = env.path("their-trussrc");
    let rc_arg = rc.to_str().unwrap().to_owned();
    let text = truss_section("baseten", &elsewhere.url, "THEIRS");
    // (what, mode, owned by another user)
    let mut cases = vec![
        ("mode 0664", 0o664, false),
        ("mode 0646", 0o646, false),
        ("mode 0620", 0o620, false),
    ];
    std::fs::write(&rc, "").unwrap();
    if give_away(&rc) {
        cases.push(("owned by uid 65534", 0o600, true));
    } // else not root: another owner cannot be set up here.
    for (what, mode, foreign) in cases {
        let _ = std::fs::remove_file(&rc);
        std::fs::write(&rc, &text).unwrap();
        set_mode(&rc, mode);
        if foreign {
            assert!(give_away(&rc));
        }
        let needle = if foreign {
            "owned by another user"
        } else {
            "its group or others may write to it"
        };
        for args in [
            &["login", "--trussrc", &rc_arg][..],
            &["login", "--trussrc", &rc_arg, "--storage", "keyring"],
            &["status", "--check", "--trussrc", &rc_arg],
            &["status", "--trussrc", &rc_arg],
            &["logout", "--trussrc", &rc_arg],
        ] {
            let run = env.run(args);
            assert_refused(&run, 5, &[needle, &rc_arg, "chmod go-w"]);
            assert!(!run.stdout.contains(&elsewhere.url), "{what} {args:?}");
        }
        assert_eq!(elsewhere.hits(), 0, "{what}: no request was made");
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), text, "{what}");
    }

    // The same file, this user's and private, is used.
    let _ = std::fs::remove_file(&rc);
    std::fs::write(&rc, &text).unwrap();
    set_mode(&rc, 0o644);
    env.run(&["login", "--trussrc", &rc_arg]).assert_code(0);
    assert_eq!(elsewhere.hits(), 1);
}
