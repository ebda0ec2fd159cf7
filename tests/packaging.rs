//! The shipped artefacts kept right by construction: the Dockerfile (no Docker engine runs here)
//! and action.yml, checked against the code they package.
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

/// Dockerfile instructions, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (op, args) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((op.to_uppercase(), args.trim().to_owned()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn dockerfile_builds_static_and_runs_as_non_root_without_entrypoint() {
    let ins = instructions(&read("Dockerfile"));
    let froms: Vec<&String> = ins
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: build, then final");
    assert!(
        froms[0].contains("alpine") && froms[0].ends_with(" AS build"),
        "musl build stage: {}",
        froms[0]
    );
    assert!(
        froms[1].starts_with("alpine:"),
        "small final stage with a shell: {}",
        froms[1]
    );

    let final_start = ins.iter().rposition(|(op, _)| op == "FROM").unwrap();
    let (build, last) = ins.split_at(final_start);
    assert!(
        !ins.iter().any(|(op, _)| op == "ENTRYPOINT"),
        "GitLab's script must run as written"
    );

    // The copied path is exactly the build's output.
    let workdir = build
        .iter()
        .rev()
        .find(|(op, _)| op == "WORKDIR")
        .map(|(_, a)| a.clone())
        .unwrap();
    let cargo = build
        .iter()
        .find(|(op, a)| op == "RUN" && a.contains("cargo build"))
        .map(|(_, a)| a.clone())
        .unwrap();
    assert!(
        cargo.contains("--release") && cargo.contains("--locked"),
        "{cargo}"
    );
    let profile_dir = match cargo
        .split_whitespace()
        .skip_while(|w| *w != "--target")
        .nth(1)
    {
        Some(target) => format!("target/{target}/release"),
        None => "target/release".to_owned(),
    };
    let built = format!("{workdir}/{profile_dir}/truss-ci");
    let copy = last
        .iter()
        .find(|(op, a)| op == "COPY" && a.starts_with("--from=build"))
        .map(|(_, a)| a.clone())
        .unwrap();
    assert_eq!(
        copy.split_whitespace().nth(1),
        Some(built.as_str()),
        "{copy}"
    );

    let user = last
        .iter()
        .rev()
        .find(|(op, _)| op == "USER")
        .map(|(_, a)| a.clone())
        .expect("a USER");
    assert!(user != "root" && user != "0", "non-root: {user}");
    let runs: String = last
        .iter()
        .filter(|(op, _)| op == "RUN")
        .map(|(_, a)| a.as_str())
        .collect();
    assert!(
        runs.contains("ca-certificates"),
        "CA certificates for HTTPS"
    );
    let labels: String = last
        .iter()
        .filter(|(op, _)| op == "LABEL")
        .map(|(_, a)| a.as_str())
        .collect();
    for label in ["title", "description", "source", "licenses", "version"] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{label}=")),
            "OCI label {label}"
        );
    }

    // CI builds the image from this Dockerfile.
    let release = read(".github/workflows/release.yml");
    assert!(
        release.contains("docker buildx build --file Dockerfile"),
        "release.yml builds this Dockerfile"
    );
}

/// The `  name:` keys directly under a top-level `section:` of a simple YAML file.
fn yaml_keys(text: &str, section: &str) -> Vec<String> {
    let mut in_section = false;
    let mut keys = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_section = line == format!("{section}:");
            continue;
        }
        if in_section
            && let Some(rest) = line.strip_prefix("  ")
            && !rest.starts_with(' ')
            && let Some(key) = rest.strip_suffix(':')
        {
            keys.push(key.to_owned());
        }
    }
    keys
}

#[test]
fn action_yml_matches_what_the_binary_reads_and_writes() {
    let action = read("action.yml");
    assert!(action.contains("  using: node24\n"));
    assert!(
        action.contains("  main: action/main.js\n") && action.contains("  post: action/main.js\n")
    );
    assert!(action.contains("  post-if: always()\n"));
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("action/main.js")
            .exists()
    );

    // Every input the binary reads as INPUT_* is declared, and the shim's own.
    let inputs = yaml_keys(&action, "inputs");
    let binary_inputs = [
        "api-key",
        "remote",
        "remote-url",
        "api-url",
        "trussrc-path",
        "export-env",
        "validate",
        "timeout",
        "isolate",
    ];
    let shim_inputs = ["cleanup", "version", "truss-ci-path"];
    let mut expected: Vec<String> = binary_inputs
        .iter()
        .chain(shim_inputs.iter())
        .map(|s| (*s).to_owned())
        .collect();
    expected.sort();
    let mut got = inputs.clone();
    got.sort();
    assert_eq!(got, expected);
    let env_rs = read("src/env.rs");
    for input in binary_inputs.iter().filter(|i| **i != "api-key") {
        assert!(
            env_rs.contains(&format!("\"INPUT_{}\"", input.to_ascii_uppercase())),
            "env.rs reads INPUT_{input}"
        );
    }

    // The outputs are exactly those login writes to GITHUB_OUTPUT.
    let login = read("src/commands/login.rs");
    for output in yaml_keys(&action, "outputs") {
        assert!(
            login.contains(&format!("(\"{output}\", ")),
            "login writes output {output}"
        );
    }
    assert_eq!(yaml_keys(&action, "outputs").len(), 7);
}

#[test]
fn the_manifest_is_valid_and_every_checksum_is_sha256() {
    let manifest: serde_json::Value = serde_json::from_str(&read("action/manifest.json")).unwrap();
    assert_eq!(
        manifest["version"],
        env!("CARGO_PKG_VERSION"),
        "the action defaults to this release"
    );
    for (_, targets) in manifest["sha256"].as_object().unwrap() {
        for (_, sum) in targets.as_object().unwrap() {
            let sum = sum.as_str().unwrap();
            assert!(
                sum.len() == 64 && sum.chars().all(|c| c.is_ascii_hexdigit()),
                "{sum}"
            );
        }
    }
}

#[test]
fn readme_and_examples_tell_the_same_story() {
    let readme = read("README.md");
    for example in [
        "examples/github/deploy.yml",
        "examples/gitlab/.gitlab-ci.yml",
        "examples/circleci/config.yml",
        "examples/azure/azure-pipelines.yml",
        "examples/bitbucket/bitbucket-pipelines.yml",
        "examples/buildkite/pipeline.yml",
    ] {
        assert!(readme.contains(example), "README links {example}");
        assert!(
            read(example).contains("truss-ci login --from-env")
                || read(example).contains("baseten/auth-action@v1")
        );
    }
}
