//! The `pip install truss-ci` channel: the manylinux wheel that `scripts/wheel.sh` built (as a
//! user's `pip wheel .` would) installs with `pip install --no-index` into a fresh venv, puts
//! `truss-ci` on that venv's PATH, logs in against the fake API, and the real truss reads what it
//! wrote.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

fn wheel() -> Option<PathBuf> {
    let dir = suite_var("TRUSS_CI_WHEEL_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/wheel"),
        PathBuf::from,
    );
    let found = std::fs::read_dir(&dir).ok().and_then(|entries| {
        entries
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "whl"))
    });
    if found.is_none() {
        skip(&format!(
            "no wheel in {}: run scripts/wheel.sh (scripts/test.sh does)",
            dir.display()
        ));
    }
    found
}

#[test]
fn the_wheel_installs_runs_and_writes_what_truss_reads() {
    let (Some(wheel), Some(python), Some(truss)) = (
        wheel(),
        python3("the wheel's venv"),
        interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss"),
    ) else {
        return;
    };
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("truss_ci-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );
    assert!(name.contains("manylinux"), "{name}");
    assert!(std::fs::metadata(&wheel).unwrap().len() <= 4 * 1024 * 1024);

    let venv = tempfile::tempdir().unwrap();
    to_run(
        Command::new(&python)
            .args(["-m", "venv"])
            .arg(venv.path())
            .output()
            .unwrap(),
    )
    .assert_code(0);
    let pip = venv.path().join("bin/pip");
    to_run(
        Command::new(&pip)
            .args([
                "install",
                "--no-index",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(&wheel)
            .output()
            .unwrap(),
    )
    .assert_code(0);
    let bin = venv.path().join("bin");
    assert!(
        bin.join("truss-ci").is_file(),
        "truss-ci is on the venv's PATH"
    );

    let api = FakeApi::baseten();
    let env = TestEnv::new()
        .with(
            "PATH",
            &format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .key(KEY)
        .api(&api);
    let version = to_run(
        Command::new("sh")
            .args(["-c", "truss-ci --version"])
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap(),
    );
    version.assert_code(0);
    assert_eq!(
        version.stdout.trim(),
        format!("truss-ci {}", env!("CARGO_PKG_VERSION"))
    );

    let login = to_run(
        Command::new(bin.join("truss-ci"))
            .args(["login", "--from-env"])
            .env_clear()
            .env("HOME", &env.home)
            .env("BASETEN_API_KEY", KEY)
            .env("BASETEN_REMOTE_URL", &api.url)
            .output()
            .unwrap(),
    );
    login.assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, KEY)
    );

    let whoami = to_run(
        Command::new(&truss)
            .arg("whoami")
            .env_clear()
            .env("HOME", &env.home)
            .env("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1")
            .env("TRUSS_NO_UPDATE_CHECK", "1")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .unwrap(),
    );
    whoami.assert_code(0);
    whoami.assert_stdout_has("local-ws");
}
