//! The Linux arm64 build (`scripts/cross.sh arm64`: Debian's Rust, zig as C compiler and linker)
//! run under qemu-aarch64 (Debian's `qemu-user`, with `libc6-arm64-cross` as its sysroot): its
//! version, and one login against the fake API on 127.0.0.1 that real truss-ci tests read back.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use common::{FakeApi, KEY, TestEnv};

#[test]
fn the_arm64_build_runs_a_login_under_qemu() {
    let Some(bin) = common::suite_var("TRUSS_CI_ARM64_BIN") else {
        common::skip(
            "no arm64 build (TRUSS_CI_ARM64_BIN): run scripts/test.sh after scripts/interop-setup.sh",
        );
        return;
    };
    let Some(qemu) = common::system_tool("qemu-aarch64") else {
        return;
    };
    let file = Command::new("file").arg(&bin).output().unwrap();
    assert!(
        String::from_utf8_lossy(&file.stdout).contains("ARM aarch64"),
        "{}",
        String::from_utf8_lossy(&file.stdout)
    );
    let run = |env: &TestEnv, args: &[&str]| {
        let mut qemu_cmd = Command::new(&qemu);
        qemu_cmd.args(["-L", "/usr/aarch64-linux-gnu"]);
        common::to_run(env.under(qemu_cmd, &bin, args).output().unwrap())
    };
    let env = TestEnv::new();
    let version = run(&env, &["--version"]);
    version.assert_code(0);
    assert!(
        version
            .stdout
            .starts_with(&format!("truss-ci {}", env!("CARGO_PKG_VERSION"))),
        "{}",
        version.stdout
    );

    let api = FakeApi::baseten();
    let env = TestEnv::new()
        .key(KEY)
        .with("BASETEN_REMOTE_URL", "https://app.baseten.co")
        .with("BASETEN_API_URL", &api.url);
    run(&env, &["login", "--from-env"]).assert_code(0);
    assert_eq!(
        env.read_trussrc().unwrap(),
        common::truss_section("baseten", "https://app.baseten.co", KEY)
    );
    assert_eq!(api.hits(), 2, "the key check and the key's lookup");
    // The x86_64 build reads what the arm64 build wrote.
    let status = env.run(&["status"]);
    status.assert_code(0);
    status.assert_stdout_has("source: trussrc-inline");
}
