//! Each CI dialect end to end: the binary's stdout, stderr and platform files, checked against the
//! platforms' own parsers (the GitHub runner's, ported in tests/common/github_oracle.rs).
#![cfg(unix)] // modes, symlinks, sh and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::github_oracle::{parse_file_command, parse_log};
use common::*;
use truss_ci::ci::Platform;

/// A GitHub job as the action's shim sets it up: the key in BASETEN_API_KEY, the inputs as flags.
struct Github {
    env: TestEnv,
    files: BTreeMap<&'static str, PathBuf>,
    /// The remote-url input.
    url: String,
}

impl Github {
    fn new(api: &FakeApi) -> Self {
        let mut env = TestEnv::new();
        let mut files = BTreeMap::new();
        for name in [
            "GITHUB_ENV",
            "GITHUB_OUTPUT",
            "GITHUB_STATE",
            "GITHUB_STEP_SUMMARY",
        ] {
            let path = env.path(&name.to_lowercase());
            std::fs::write(&path, "").unwrap();
            env.set(name, path.to_str().unwrap());
            files.insert(name, path);
        }
        let runner_temp = env.path("runner_temp");
        std::fs::create_dir(&runner_temp).unwrap();
        env.set("GITHUB_ACTIONS", "true")
            .set("RUNNER_TEMP", runner_temp.to_str().unwrap())
            .set("BASETEN_API_KEY", KEY);
        Self {
            env,
            files,
            url: api.url.clone(),
        }
    }

    /// `truss-ci login` as the shim runs it, with `args` (the other inputs' flags) added.
    fn login(&self, args: &[&str]) -> Run {
        let url = format!("--remote-url={}", self.url);
        let mut all = vec!["login", "--from-env", &url];
        all.extend_from_slice(args);
        self.env.run(&all)
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(&self.files[name]).unwrap()
    }

    fn pairs(&self, name: &str) -> Vec<(String, String)> {
        parse_file_command(&self.file(name)).unwrap()
    }
}

fn names(commands: &[common::github_oracle::ActionCommand]) -> Vec<&str> {
    commands.iter().map(|c| c.name.as_str()).collect()
}

#[test]
fn github_masks_first_exports_outputs_and_summarises() {
    let api = FakeApi::baseten();
    let gh = Github::new(&api);
    let run = gh.login(&["--export-env"]);
    run.assert_code(0);

    assert_eq!(
        run.stdout.lines().next(),
        Some(format!("::add-mask::{KEY}").as_str())
    );
    let commands = parse_log(&run.stdout);
    assert_eq!(names(&commands), ["add-mask"]);
    assert_eq!(commands[0].data, KEY);
    assert!(parse_log(&run.stderr).is_empty(), "{}", run.stderr);
    assert!(!run.stderr.contains(KEY));

    // The baseten CLI reads the remote beside the key: the fake is not the default remote.
    assert_eq!(
        gh.pairs("GITHUB_ENV"),
        [
            ("BASETEN_API_KEY".to_owned(), KEY.to_owned()),
            ("BASETEN_REMOTE_URL".to_owned(), api.url.clone())
        ]
    );
    let outputs: BTreeMap<String, String> = gh.pairs("GITHUB_OUTPUT").into_iter().collect();
    let expected: BTreeMap<String, String> = [
        ("remote", "baseten"),
        ("remote-url", api.url.as_str()),
        ("api-url", api.url.as_str()),
        ("trussrc-path", gh.env.trussrc().to_str().unwrap()),
        ("workspace", "local-ws"),
        ("user-email", "ci-bot@example.com"),
        ("validated", "true"),
        ("key-type", "workspace-manage-all"),
        ("key-name", "ci-deploy"),
        ("key-team", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(outputs, expected);
    let state: Vec<String> = gh
        .pairs("GITHUB_STATE")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        state,
        [
            "TRUSS_CI_STATE_FILE",
            "TRUSS_CI_STATE_ID",
            "TRUSS_CI_TRUSSRC"
        ]
    );
    assert!(!gh.file("GITHUB_STATE").contains(KEY));
    let summary = gh.file("GITHUB_STEP_SUMMARY");
    assert!(summary.contains("| Workspace | `local-ws` |"), "{summary}");
    assert!(
        summary.contains("| Key from | `env:BASETEN_API_KEY` |"),
        "{summary}"
    );
    for name in ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"] {
        assert!(!gh.file(name).contains(KEY), "{name}");
    }
    assert_eq!(
        gh.env.read_trussrc().unwrap(),
        truss_section("baseten", &api.url, KEY)
    );
}

#[test]
fn github_without_export_writes_no_env() {
    let api = FakeApi::baseten();
    let gh = Github::new(&api);
    gh.login(&[]).assert_code(0);
    assert!(gh.file("GITHUB_ENV").is_empty());
    assert!(!gh.file("GITHUB_OUTPUT").is_empty());
}

#[test]
fn github_truss_env_mode_and_isolate() {
    let api = FakeApi::baseten();
    let gh = Github::new(&api);
    gh.login(&["--isolate", "--export-env=truss-env"])
        .assert_code(0);
    let rc = gh.env.path("runner_temp").join("truss-ci/trussrc");
    assert_eq!(
        gh.pairs("GITHUB_ENV"),
        [
            ("BASETEN_API_KEY".to_owned(), KEY.to_owned()),
            ("BASETEN_REMOTE_URL".to_owned(), api.url.clone()),
            (
                "USER_TRUSSRC_PATH".to_owned(),
                rc.to_str().unwrap().to_owned()
            ),
            ("BASETEN_TRUSS_AUTH_API_KEY".to_owned(), KEY.to_owned()),
            ("BASETEN_TRUSS_AUTH_REMOTE_URL".to_owned(), api.url.clone()),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap(),
        truss_section("baseten", &api.url, KEY)
    );
    assert!(gh.env.read_trussrc().is_none(), "HOME untouched");
}

#[test]
fn github_isolate_alone_exports_only_the_path() {
    let api = FakeApi::baseten();
    let gh = Github::new(&api);
    gh.login(&["--isolate"]).assert_code(0);
    let pairs = gh.pairs("GITHUB_ENV");
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].0, "USER_TRUSSRC_PATH");
}

#[test]
fn github_inputs_are_flags_which_beat_env() {
    let api = FakeApi::baseten();
    let mut gh = Github::new(&api);
    gh.env
        .set("BASETEN_REMOTE", "from-env")
        // Action inputs are the shim's to map: the binary reads none.
        .set("INPUT_REMOTE", "from-input")
        .set("INPUT_VALIDATE", "true");
    gh.login(&["--no-validate"]).assert_code(0);
    assert_eq!(api.hits(), 0, "validate: false input");
    assert!(gh.env.read_trussrc().unwrap().starts_with("[from-env]\n"));
    gh.login(&["--no-validate", "--remote", "from-flag"])
        .assert_code(0);
    assert!(gh.env.read_trussrc().unwrap().contains("[from-flag]\n"));
}

#[test]
fn github_failure_is_exactly_one_error_annotation_and_no_env() {
    let api = FakeApi::accepting(&["another.key"]);
    let gh = Github::new(&api);
    let run = gh.login(&["--export-env"]);
    run.assert_code(3);
    let commands = parse_log(&run.stdout);
    assert_eq!(names(&commands), ["add-mask", "error"]);
    assert_eq!(commands[1].properties["title"], "truss-ci");
    assert!(
        commands[1].data.contains("rejected"),
        "{}",
        commands[1].data
    );
    assert!(gh.file("GITHUB_ENV").is_empty());
    assert!(gh.file("GITHUB_OUTPUT").is_empty());
}

#[test]
fn github_missing_key_names_the_input_and_forks() {
    let api = FakeApi::baseten();
    let mut gh = Github::new(&api);
    // A blank api-key input (a fork's run has no secrets): the shim passes no key and no --from-env.
    gh.env.unset("BASETEN_API_KEY");
    let run = gh.env.run(&["login", "--remote-url", &gh.url]);
    run.assert_code(2);
    let commands = parse_log(&run.stdout);
    assert_eq!(names(&commands), ["error"]);
    assert!(commands[0].data.contains("no Baseten API key found"));
    assert!(run.stderr.contains("api-key"), "{}", run.stderr);
    assert!(run.stderr.contains("forks"), "{}", run.stderr);
}

#[test]
fn github_server_text_cannot_inject_commands() {
    let api = FakeApi::start(|_, _| {
        Reply::json(
            418,
            "::add-mask::x\n::set-env name=LD_PRELOAD::/evil ##[error]boom %0A::warning::y",
        )
    });
    let mut gh = Github::new(&api);
    gh.env.set("RUNNER_DEBUG", "1");
    let run = gh.login(&[]);
    run.assert_code(4);
    let stdout_commands = parse_log(&run.stdout);
    assert_eq!(names(&stdout_commands), ["add-mask", "error"]);
    assert!(stdout_commands[1].data.contains("boom"));
    let stderr_commands = parse_log(&run.stderr);
    assert_eq!(
        names(&stderr_commands),
        ["group", "endgroup"],
        "{}",
        run.stderr
    );
}

#[test]
fn github_runner_debug_groups_the_verbose_output() {
    let api = FakeApi::baseten();
    let mut gh = Github::new(&api);
    gh.env.set("RUNNER_DEBUG", "1");
    let run = gh.login(&[]);
    run.assert_code(0);
    let start = run.stderr.find("::group::truss-ci login").unwrap();
    let debug = run.stderr.find("checking the API key").unwrap();
    let end = run.stderr.find("::endgroup::").unwrap();
    assert!(start < debug && debug < end, "{}", run.stderr);
    assert!(
        !run.all()
            .replacen(&format!("::add-mask::{KEY}"), "", 1)
            .contains(KEY)
    );
}

#[test]
fn github_without_runner_files_degrades_with_a_warning() {
    let api = FakeApi::baseten();
    let mut gh = Github::new(&api);
    gh.env.unset("GITHUB_ENV").unset("GITHUB_OUTPUT");
    let run = gh.login(&["--export-env"]);
    run.assert_code(0);
    let commands = parse_log(&run.stdout);
    assert_eq!(commands[0].name, "add-mask");
    assert!(
        commands.iter().filter(|c| c.name == "warning").count() >= 2,
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("GITHUB_ENV"));
}

#[test]
fn github_json_mode_keeps_stdout_pure() {
    let api = FakeApi::baseten();
    let gh = Github::new(&api);
    let run = gh.login(&["--output", "json"]);
    run.assert_code(0);
    assert_eq!(run.stdout.lines().count(), 1);
    serde_json::from_str::<serde_json::Value>(&run.stdout).unwrap();
    assert_eq!(
        run.stderr.lines().next(),
        Some(format!("::add-mask::{KEY}").as_str())
    );
}

#[test]
fn gitlab_sections_dotenv_and_no_key_anywhere() {
    let api = FakeApi::baseten();
    let env = TestEnv::new().with("GITLAB_CI", "true").key(KEY).api(&api);
    let dotenv = env.path("baseten.env");
    std::fs::write(&dotenv, "EARLIER=1").unwrap();
    let rc = env.path("custom/rc");
    let run = env.run(&[
        "login",
        "--from-env",
        "--remote",
        "ci",
        "--trussrc",
        rc.to_str().unwrap(),
        "--dotenv",
        dotenv.to_str().unwrap(),
    ]);
    run.assert_code(0);
    assert!(
        run.stderr.starts_with("\x1b[0Ksection_start:"),
        "{:?}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(":truss_ci_login[collapsed=true]\r\x1b[0Ktruss-ci login\n")
    );
    assert!(run.stderr.contains("\x1b[0Ksection_end:"));
    assert!(!run.all().contains(KEY));
    let text = std::fs::read_to_string(&dotenv).unwrap();
    assert_eq!(
        text,
        format!(
            "EARLIER=1\nBASETEN_REMOTE=ci\nBASETEN_REMOTE_URL={0}\nBASETEN_API_URL={0}\nBASETEN_WORKSPACE=local-ws\nUSER_TRUSSRC_PATH={1}\n",
            api.url,
            rc.display()
        )
    );
}

#[test]
fn gitlab_failure_still_closes_the_section() {
    let api = FakeApi::accepting(&["other.key"]);
    let env = TestEnv::new().with("GITLAB_CI", "true").key(KEY).api(&api);
    let run = env.run(&["login"]);
    run.assert_code(3);
    let end = run.stderr.find("section_end").unwrap();
    let error = run.stderr.find("error:").unwrap();
    assert!(end < error, "the error shows outside the collapsed section");
}

#[test]
fn print_env_evals_in_a_real_shell() {
    let api = FakeApi::baseten();
    let env = TestEnv::new().with("GITLAB_CI", "true").key(KEY).api(&api);
    let run = env.run(&["login", "--from-env", "--print-env", "sh"]);
    run.assert_code(0);
    assert_eq!(
        run.stdout,
        format!(
            "export BASETEN_API_KEY='{KEY}'\nexport BASETEN_REMOTE_URL='{}'\n",
            api.url
        )
    );
    assert!(!run.stderr.contains(KEY));

    let bin = env!("CARGO_BIN_EXE_truss-ci");
    let script = format!(
        "set -e; unset BASETEN_API_KEY_COPY; eval \"$(BASETEN_API_KEY={KEY} {bin} login --from-env --print-env sh --trussrc {})\"; printf %s \"$BASETEN_API_KEY|$USER_TRUSSRC_PATH\"",
        env.path("rc").display()
    );
    let run = to_run(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .env("HOME", &env.home)
            .env("BASETEN_REMOTE_URL", &api.url)
            .output()
            .unwrap(),
    );
    run.assert_code(0);
    assert_eq!(run.stdout, format!("{KEY}|{}", env.path("rc").display()));
    let run = env.run(&["login", "--print-env", "sh", "--output", "json"]);
    run.assert_code(2);
}

#[test]
fn azure_setsecret_first_then_variables() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new()
        .with("TF_BUILD", "True")
        .key("k%;]y.1")
        .api(&api);
    let api = FakeApi::accepting(&["k%;]y.1"]);
    env.set("BASETEN_REMOTE_URL", &api.url);
    let rc = env.path("rc");
    let run = env.run(&["login", "--export-env", "--trussrc", rc.to_str().unwrap()]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "##vso[task.setsecret]k%AZP25%3B%5Dy.1",
            // Its prefix is not plain text, so it is not looked up.
            "##vso[task.logissue type=warning]could not look the key up: the key has no plain prefix (the text before its first `.`) to find it by%3B carrying on without its name and type",
            "##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]k%AZP25%3B%5Dy.1",
            &format!(
                "##vso[task.setvariable variable=BASETEN_REMOTE_URL]{}",
                api.url
            ),
            &format!(
                "##vso[task.setvariable variable=USER_TRUSSRC_PATH]{}",
                rc.display()
            ),
        ]
    );
    env.set("BASETEN_API_KEY", "wrong.1");
    let run = env.run(&["login"]);
    run.assert_code(3);
    let issues: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("##vso[task.logissue type=error]"))
        .collect();
    assert_eq!(issues.len(), 1, "{}", run.stdout);
}

#[test]
fn buildkite_redacts_and_exports_through_the_agent_on_stdin() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    let bin = env.path("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = env.path("agent.log");
    let agent = bin.join("buildkite-agent");
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\nprintf 'ARGS %s\\n' \"$*\" >> {0}\ncat >> {0}\nprintf '\\n' >> {0}\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&agent, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set("BUILDKITE", "true")
        .set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &api.url)
        .set("PATH", &format!("{}:/usr/bin:/bin", bin.display()));
    let run = env.run(&["login", "--export-env"]);
    run.assert_code(0);
    assert!(!run.all().contains(KEY));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!(
            "ARGS redactor add\n{KEY}\nARGS env set --input-format=json --output-format=quiet -\n{{\"BASETEN_API_KEY\":\"{KEY}\",\"BASETEN_REMOTE_URL\":\"{}\"}}\n",
            api.url
        )
    );
    env.set("PATH", "/usr/bin:/bin");
    let run = env.run(&["login"]);
    run.assert_code(0);
    run.assert_stderr_has("buildkite-agent is not on PATH");
}

#[test]
fn circleci_appends_quoted_exports_to_bash_env() {
    let api = FakeApi::baseten();
    let env = TestEnv::new()
        .with("CIRCLECI", "true")
        .key(KEY)
        .api(&api)
        .file_var("BASH_ENV", "export EARLIER=1\n");
    let bash_env = env.path("bash_env");
    env.run(&["login", "--export-env"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&bash_env).unwrap(),
        format!(
            "export EARLIER=1\nexport BASETEN_API_KEY='{KEY}'\nexport BASETEN_REMOTE_URL='{}'\n",
            api.url
        )
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            ". {}; printf %s \"$BASETEN_API_KEY\"",
            bash_env.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), KEY);
}

#[test]
fn bitbucket_appends_variables_for_output_variables() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    let vars = env.path("vars");
    env.set("BITBUCKET_BUILD_NUMBER", "12")
        .set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &api.url)
        .set("BITBUCKET_PIPELINES_VARIABLES_PATH", vars.to_str().unwrap());
    env.run(&["login", "--export-env"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&vars).unwrap(),
        format!("BASETEN_API_KEY={KEY}\nBASETEN_REMOTE_URL={}\n", api.url)
    );
}

#[test]
fn plain_and_jenkins_say_export_has_no_effect() {
    let api = FakeApi::baseten();
    for platform in [None, Some("JENKINS_URL")] {
        let mut env = TestEnv::new();
        env.set("BASETEN_API_KEY", KEY)
            .set("BASETEN_REMOTE_URL", &api.url);
        if let Some(var) = platform {
            env.set(var, "http://jenkins");
        }
        let run = env.run(&["login", "--export-env"]);
        run.assert_code(0);
        run.assert_stderr_has("--export-env has no effect");
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn ci_none_emits_nothing_platform_specific() {
    let api = FakeApi::baseten();
    let gh = Github::new(&api);
    let run = gh.login(&["--ci", "none", "--export-env"]);
    run.assert_code(0);
    assert_eq!(run.stdout, "");
    assert!(gh.file("GITHUB_ENV").is_empty());
    assert!(gh.file("GITHUB_OUTPUT").is_empty());
    let run = gh.login(&["--ci", "gitlab"]);
    assert!(run.stderr.contains("section_start"));
}

#[test]
fn the_key_appears_only_where_it_belongs_in_every_mode() {
    let api = FakeApi::baseten();
    let bad = FakeApi::accepting(&["nobody"]);
    for platform in Platform::spellings().iter().map(String::as_str) {
        for (api_url, code) in [(&api.url, 0), (&bad.url, 3)] {
            let mut gh = Github::new(&api);
            let bash_env = gh.env.path("bash_env");
            gh.env
                .set("BASH_ENV", bash_env.to_str().unwrap())
                .set("RUST_LOG", "trace");
            gh.url = api_url.clone();
            let run = gh.login(&["--ci", platform, "--export-env", "-vv"]);
            run.assert_code(code);
            let allowed = [
                format!("::add-mask::{KEY}"),
                format!("##vso[task.setsecret]{KEY}"),
                format!("##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]{KEY}"),
            ];
            for line in run.stdout.lines().chain(run.stderr.lines()) {
                if line.contains(KEY) {
                    assert!(
                        allowed.iter().any(|a| a == line),
                        "{platform}: key leaked in {line:?}"
                    );
                }
            }
        }
    }
}
