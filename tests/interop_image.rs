//! The image, built from the repository's Dockerfile around the release binary (scripts/image.sh,
//! which scripts/test.sh runs once and names in TRUSS_CI_IMAGE), run by a real engine (podman):
//! its own non-root user logs in by host name and writes $HOME/.trussrc; and a real two-job GitLab
//! pipeline (gitlab-ci-local, docker executor on podman) runs inside it, handing the non-secret
//! values on through dotenv, with the key in no log.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use common::*;

/// The image to test and the engine that runs it, or a loud skip (a failure under
/// TRUSS_CI_REQUIRE_INTEROP=1).
fn image() -> Option<(String, String)> {
    let tag = suite_var("TRUSS_CI_IMAGE");
    let engine = ["/usr/bin/podman", "/usr/bin/docker"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_owned);
    match (tag, engine) {
        (Some(tag), Some(engine)) => Some((tag, engine)),
        _ => {
            skip(
                "no image to test: scripts/test.sh builds it with scripts/image.sh and sets TRUSS_CI_IMAGE (needs podman: scripts/container-setup.sh)",
            );
            None
        }
    }
}

#[test]
fn the_images_own_user_logs_in_by_host_name() {
    let Some((tag, engine)) = image() else {
        return;
    };
    let api = FakeApi::baseten();
    // A name the image must resolve without glibc's NSS modules (it has none): from /etc/hosts.
    let url = format!("http://api.test:{}", api.port);
    let out = Command::new(&engine)
        .args(["run", "--rm", "--network", "host", "--add-host", "api.test:127.0.0.1"])
        .args(["-e", "BASETEN_API_KEY", "-e", "BASETEN_REMOTE_URL"])
        .arg(&tag)
        .args([
            "sh",
            "-c",
            "id -u; echo \"HOME=$HOME\"; truss-ci login --from-env --allow-http && stat -c '%a %u' \"$HOME/.trussrc\" && cat \"$HOME/.trussrc\"",
        ])
        .env("BASETEN_API_KEY", KEY)
        .env("BASETEN_REMOTE_URL", &url)
        .output()
        .unwrap();
    let run = to_run(out);
    run.assert_code(0);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some("10001"), "runs as its non-root user");
    assert_eq!(lines.next(), Some("HOME=/home/truss-ci"));
    assert_eq!(lines.next(), Some("600 10001"), "{}", run.stdout);
    run.assert_stdout_has(truss_section("baseten", &url, KEY));
    assert_eq!(
        api.hits(),
        2,
        "the check and the key's lookup reached the API by its host name"
    );
    assert!(!run.stderr.contains(KEY));

    let inspect = to_run(
        Command::new(&engine)
            .args(["image", "inspect", "--format", "{{json .Config}}", &tag])
            .output()
            .unwrap(),
    );
    inspect.assert_code(0);
    let config: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert!(
        config["Entrypoint"].is_null() || config["Entrypoint"] == serde_json::json!([]),
        "no ENTRYPOINT: {config}"
    );
    assert_eq!(config["User"], "10001:10001");
    assert_eq!(
        config["Labels"]["org.opencontainers.image.source"],
        "https://github.com/baseten/auth-action"
    );
}

#[test]
fn a_gitlab_pipeline_runs_in_the_image() {
    let Some((tag, engine)) = image() else {
        return;
    };
    let Some(gcl) = interop_tool(
        "TRUSS_CI_GITLAB_CI_LOCAL",
        "npm/node_modules/.bin/gitlab-ci-local",
    ) else {
        return;
    };
    let helper = suite_var("TRUSS_CI_GCL_HELPER")
        .unwrap_or_else(|| "localhost/truss-ci-gcl-helper:bookworm".into());
    let api = FakeApi::baseten();
    let env = TestEnv::new();
    let repo = env.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join(".gitlab-ci.yml"), dotenv_pipeline(Some(&tag))).unwrap();
    // Variables as a project's CI/CD settings would hold them (not on any command line).
    std::fs::write(
        repo.join(".gitlab-ci-local-variables.yml"),
        format!("BASETEN_API_KEY: {KEY}\nBASETEN_REMOTE_URL: {}\n", api.url),
    )
    .unwrap();
    git_repo(&env.home, &repo, &[".gitlab-ci.yml"]);
    let out = Command::new(&gcl)
        .args(["--container-executable", &engine])
        .args(["--helper-image", &helper])
        .args(["--variable", "GITLAB_CI=true"])
        .current_dir(&repo)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .output()
        .unwrap();
    assert_dotenv_pipeline(&out);
    assert_eq!(api.hits(), 4, "each job validated the key and looked it up");
}
