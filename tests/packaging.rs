//! The shipped artefacts kept in step with the code: the Dockerfile (tests/interop_image.rs builds
//! and runs it) and action.yml, checked against the code they package.
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
fn dockerfile_assembles_the_release_binary_from_scratch() {
    // tests/interop_image.rs builds and runs it; this keeps its shape and names in step with the
    // release packaging (scripts/package.js) without an engine.
    let ins = instructions(&read("Dockerfile"));
    let froms: Vec<&String> = ins
        .iter()
        .filter(|(op, _)| op == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(froms, ["${BASE} AS assemble", "scratch"], "two stages");
    assert!(
        !ins.iter().any(|(op, _)| op == "ENTRYPOINT"),
        "GitLab's script must run as written"
    );
    let copies: Vec<&String> = ins
        .iter()
        .filter(|(op, _)| op == "COPY")
        .map(|(_, a)| a)
        .collect();
    assert_eq!(copies, ["dist/ /dist/", "--from=assemble /out/ /"]);
    let run = ins
        .iter()
        .filter(|(op, _)| op == "RUN")
        .map(|(_, a)| a.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        assert!(
            run.contains(target),
            "picks the release binary for {target}"
        );
    }
    assert!(
        run.contains("/dist/truss-ci-$target"),
        "the name scripts/package.js writes"
    );
    assert!(
        read("scripts/package.js").contains("`truss-ci-${target}${"),
        "package.js names the binary truss-ci-TARGET"
    );
    let user = ins.iter().rev().find(|(op, _)| op == "USER").unwrap();
    assert_eq!(user.1, "10001:10001", "a non-root numeric user");
    let labels = ins
        .iter()
        .filter(|(op, _)| op == "LABEL")
        .map(|(_, a)| a.as_str())
        .collect::<String>();
    for label in ["title", "source", "licenses", "version"] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{label}=")),
            "{label}"
        );
    }
    assert_eq!(
        read(".dockerignore")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        ["*", "!dist/"]
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

    // Every input the shim maps to a login flag (the key to its env) is declared, and the shim's own.
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
        "require-key-type",
        "job-key",
        "model-ids",
        "team",
        "job-key-ttl",
        "baseten-profile",
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
    let shim = read("action/main.js");
    for input in &binary_inputs {
        assert!(
            shim.contains(&format!("'{input}'")),
            "the shim maps {input}"
        );
    }
    // The binary reads no action input itself: one precedence, flag, env, default.
    for file in ["src/env.rs", "src/settings.rs", "src/key_source.rs"] {
        let code = read(file);
        let code = code.split("#[cfg(test)]").next().unwrap();
        assert!(!code.contains("INPUT_"), "{file} reads an action input");
    }

    // The outputs are exactly those login writes to GITHUB_OUTPUT.
    let login = read("src/commands/login/outputs.rs");
    for output in yaml_keys(&action, "outputs") {
        assert!(
            login.contains(&format!("(\"{output}\", ")),
            "login writes output {output}"
        );
    }
    assert_eq!(yaml_keys(&action, "outputs").len(), 10);
}

#[test]
fn the_manifest_is_valid_and_every_checksum_is_sha256() {
    let manifest: serde_json::Value = serde_json::from_str(&read("action/manifest.json")).unwrap();
    assert_eq!(
        manifest["version"],
        env!("CARGO_PKG_VERSION"),
        "the action defaults to this release"
    );
    let hex = |sum: &serde_json::Value| {
        let sum = sum.as_str().unwrap();
        assert!(
            sum.len() == 64 && sum.chars().all(|c| c.is_ascii_hexdigit()),
            "{sum}"
        );
    };
    for table in ["sha256", "binary_sha256"] {
        for (_, targets) in manifest[table].as_object().unwrap() {
            targets.as_object().unwrap().values().for_each(hex);
        }
    }
    // The release's image, by version (its multi-arch index), which the component pins.
    manifest["image_sha256"]
        .as_object()
        .unwrap()
        .values()
        .for_each(hex);
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
        let text = read(example);
        assert!(
            [
                "truss-ci login --from-env",
                "truss-ci exec --from-env",
                "baseten/auth-action@v1"
            ]
            .iter()
            .any(|form| text.contains(form)),
            "{example} logs in as the README shows"
        );
    }
}

#[test]
fn without_the_keyring_feature_there_is_no_dbus_stack() {
    // `cargo build --no-default-features` must leave out the keyring stores and their D-Bus,
    // crypto and async crates (README: the binary is then over 25% smaller).
    let tree = |features: &[&str]| {
        let out = std::process::Command::new(env!("CARGO"))
            .args([
                "tree",
                "--locked",
                "--offline",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(features)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let with = tree(&[]);
    let without = tree(&["--no-default-features"]);
    for krate in [
        "keyring-core ",
        "zbus ",
        "zbus-secret-service-keyring-store ",
    ] {
        assert!(with.contains(krate), "the default build has {krate}");
        assert!(
            !without.contains(krate),
            "--no-default-features still has {krate}"
        );
    }
}
