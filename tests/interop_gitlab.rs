//! A real GitLab pipeline runner (gitlab-ci-local, shell executor) runs two jobs: the first logs in
//! with --dotenv, the second receives the non-secret values through the dotenv report and logs in
//! again with them. Neither log may hold the key.
#![cfg(unix)] // modes, symlinks, sh and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use common::*;

#[test]
fn a_two_job_pipeline_hands_settings_through_dotenv() {
    let Some(gcl) = interop_tool(
        "TRUSS_CI_GITLAB_CI_LOCAL",
        "npm/node_modules/.bin/gitlab-ci-local",
    ) else {
        return;
    };
    let api = FakeApi::baseten();
    let env = TestEnv::new();
    let repo = env.path("repo");
    let bin = env.path("bin");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_truss-ci"), bin.join("truss-ci")).unwrap();
    std::fs::write(repo.join(".gitlab-ci.yml"), dotenv_pipeline(None)).unwrap();
    git_repo(&env.home, &repo, &["."]);

    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let out = Command::new(&gcl)
        .arg("--shell-executor-no-image")
        .current_dir(&repo)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", path)
        .env("BASETEN_API_KEY", KEY)
        .env("BASETEN_REMOTE_URL", &api.url)
        .output()
        .unwrap();
    assert_dotenv_pipeline(&out);
    assert_eq!(api.hits_on("/v1/users/me"), 2, "each job validated the key");
    let dotenv = std::fs::read_to_string(repo.join(".gitlab-ci-local/artifacts/login/baseten.env"))
        .or_else(|_| std::fs::read_to_string(repo.join("baseten.env")))
        .unwrap_or_default();
    assert!(!dotenv.contains(KEY), "the dotenv report holds the key");
}
