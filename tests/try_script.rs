//! `scripts/try.sh`, the walk README's first command runs: it ends well, shows no key in clear,
//! leaves the real HOME and CI files as they were and nothing in its temp dir, on a signal too.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::BIN;
use crate::common::encodings::b64;

/// The keys the walk uses: its demo key, its wrong key, and what the fake mints first.
const SECRETS: [&str; 3] = [
    "Zq8wPm3vXk2Lr7Ny",
    "Hk4sQz8pLm2Tv6Wd",
    "S0001xq7Lw3pTtZz9KeyBody0001",
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/try.sh")
}

/// The fake's program, built by `cargo test` beside the binary (or here, for a narrower run).
fn fake() -> PathBuf {
    let path = Path::new(BIN)
        .parent()
        .unwrap()
        .join("examples/fake-baseten");
    if !path.exists() {
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .args(["build", "--locked", "--quiet", "--example", "fake-baseten"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the fake's program failed");
    }
    path
}

/// A user's machine as the script finds it: a HOME that holds a trussrc and a `baseten` CLI
/// profile, a GitHub runner's env file, and a temp dir of its own.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".config/baseten")).unwrap();
        std::fs::write(
            home.join(".trussrc"),
            "[baseten]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = realKEY01.Real0Users0Own0Key\n\n",
        )
        .unwrap();
        std::fs::write(
            home.join(".config/baseten/auth.json"),
            "{\n  \"version\": 1,\n  \"profiles\": {}\n}\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        std::fs::write(dir.path().join("github_env"), "KEEP=1\n").unwrap();
        Self { dir }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("bash");
        let root = self.dir.path();
        cmd.arg(script())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", root.join("home"))
            .env("TMPDIR", root.join("tmp"))
            // A shell inside a CI job: none of it may reach the walk.
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ENV", root.join("github_env"))
            .env("CI_JOB_ID", "99")
            .env("TRUSS_CI_TRY_BIN", BIN)
            .env("TRUSS_CI_TRY_FAKE", fake())
            .stdin(Stdio::null());
        cmd
    }

    /// Every path under the machine's HOME and the runner's env file, with its bytes and mode.
    fn fingerprint(&self) -> BTreeMap<PathBuf, (u32, Vec<u8>)> {
        let mut seen = BTreeMap::new();
        let mut stack = vec![self.dir.path().join("home")];
        stack.push(self.dir.path().join("github_env"));
        while let Some(path) = stack.pop() {
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let bytes = if meta.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                Vec::new()
            } else {
                std::fs::read(&path).unwrap()
            };
            seen.insert(path, (meta.mode(), bytes));
        }
        seen
    }

    fn tmp_left(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path().join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

#[track_caller]
fn assert_no_key(output: &str) {
    for secret in SECRETS {
        let mut needles: Vec<String> = secret
            .as_bytes()
            .windows(8)
            .map(|w| String::from_utf8(w.to_vec()).unwrap())
            .collect();
        let encoded = b64(secret.as_bytes(), false);
        needles.push(encoded[..encoded.len() - 4].to_owned());
        for needle in needles {
            assert!(!output.contains(&needle), "{needle:?} in:\n{output}");
        }
    }
}

fn wait(child: &mut Child, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(start.elapsed() < limit, "try.sh still runs after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_walk_ends_well_and_leaves_the_machine_as_it_was() {
    let machine = Machine::new();
    let before = machine.fingerprint();
    let out = machine.command(&[]).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    for step in [
        "== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "== 6.", "Done.",
    ] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    for shown in [
        "::add-mask::tryDEMO01.****",
        "Revoked job key",
        "back to its bytes before the job",
        "BASETEN_API_KEY is set (26 characters)",
        "Files left in its temporary directory afterwards: 0.",
        "rejected the API key",
    ] {
        assert!(text.contains(shown), "{shown:?} missing:\n{text}");
    }
    assert_no_key(&text);
    assert_eq!(
        machine.fingerprint(),
        before,
        "the real HOME or CI files changed"
    );
    assert_eq!(machine.tmp_left(), Vec::<PathBuf>::new());
}

#[test]
fn a_signal_mid_walk_still_removes_everything_and_ends_the_fake() {
    for (signal, code) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
        let machine = Machine::new();
        let before = machine.fingerprint();
        let mut child = machine.command(&[]).stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        for line in lines.by_ref() {
            if line.unwrap().starts_with("== 3.") {
                break;
            }
        }
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        drop(lines);
        assert_eq!(wait(&mut child, Duration::from_secs(30)), code, "{signal}");
        assert_eq!(machine.tmp_left(), Vec::<PathBuf>::new(), "{signal}");
        assert_eq!(machine.fingerprint(), before, "{signal}");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "{signal}: the fake still serves"
        );
    }
}

#[test]
fn the_real_api_without_a_key_says_where_to_get_one() {
    let machine = Machine::new();
    let out = machine.command(&["--real"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("https://app.baseten.co/settings/api_keys"),
        "{stderr}"
    );
    assert_eq!(machine.tmp_left(), Vec::<PathBuf>::new());
}
