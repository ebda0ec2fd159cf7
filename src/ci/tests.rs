//! Unit tests of the platforms: detection, names and dialects, job identities, env names.

use super::*;

#[test]
fn detection_order_and_values() {
    let cases: [(&[(&str, &str)], Platform); 9] = [
        (&[], Platform::Plain),
        (
            &[("GITHUB_ACTIONS", "true"), ("GITLAB_CI", "true")],
            Platform::Github,
        ),
        (&[("GITLAB_CI", "true")], Platform::Gitlab),
        (&[("TF_BUILD", "True")], Platform::Azure),
        (&[("BUILDKITE", "true")], Platform::Buildkite),
        (&[("CIRCLECI", "true")], Platform::Circleci),
        (&[("BITBUCKET_BUILD_NUMBER", "7")], Platform::Bitbucket),
        (&[("JENKINS_URL", "http://j")], Platform::Jenkins),
        (&[("GITHUB_ACTIONS", "false")], Platform::Plain),
    ];
    for platform in Platform::value_variants() {
        assert!(cases.iter().any(|(_, p)| p == platform), "{platform:?}");
    }
    for (vars, expected) in cases {
        assert_eq!(Platform::detect(&Env::of(vars)), expected, "{vars:?}");
    }
    let github = Env::of(&[("GITHUB_ACTIONS", "true")]);
    let none = Platform::from_str("none", false).unwrap();
    assert_eq!(none, Platform::Plain);
    assert_eq!(Platform::chosen(Some(none), &github), Platform::Plain);
    assert_eq!(Platform::chosen(None, &github), Platform::Github);
}

#[test]
fn every_platform_has_its_own_name_and_dialect() {
    let empty = Env::of(&[]);
    let mut names = std::collections::BTreeSet::new();
    for &platform in Platform::value_variants() {
        assert_eq!(platform.dialect(&empty).0.platform(), platform);
        assert_eq!(Platform::from_str(&platform.name(), false), Ok(platform));
        assert!(names.insert(platform.name()));
        assert_eq!(platform.is_ci(), platform.job_vars() != "a CI job identity");
    }
}

#[test]
fn every_platform_names_its_job() {
    type Case<'a> = (Platform, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case<'_>; 7] = [
        (
            Platform::Github,
            &[
                ("GITHUB_RUN_ID", "9"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", "deploy"),
            ],
            "github:9/1/deploy/",
        ),
        (Platform::Gitlab, &[("CI_JOB_ID", "77")], "gitlab:77/"),
        (
            Platform::Azure,
            &[("BUILD_BUILDID", "5"), ("SYSTEM_JOBID", "j")],
            "azure:5/j",
        ),
        (
            Platform::Buildkite,
            &[("BUILDKITE_JOB_ID", "b")],
            "buildkite:b",
        ),
        (
            Platform::Circleci,
            &[("CIRCLE_WORKFLOW_JOB_ID", "c")],
            "circleci:c/",
        ),
        (
            Platform::Bitbucket,
            &[("BITBUCKET_STEP_UUID", "{u}")],
            "bitbucket:{u}",
        ),
        (
            Platform::Jenkins,
            &[("JOB_NAME", "a/b-c"), ("BUILD_NUMBER", "1")],
            "jenkins:a%2Fb-c/1//",
        ),
    ];
    for platform in Platform::value_variants().iter().filter(|p| p.is_ci()) {
        assert!(cases.iter().any(|(p, _, _)| p == platform), "{platform:?}");
    }
    for (platform, vars, id) in cases {
        assert_eq!(platform.job_id(&Env::of(vars)).as_deref(), Some(id));
        assert_eq!(platform.job_id(&Env::of(&[])), None, "{platform:?}");
    }
    assert_eq!(
        Platform::Azure.job_id(&Env::of(&[("BUILD_BUILDID", "5")])),
        None
    );
    assert_eq!(
        Platform::Plain.job_id(&Env::of(&[("CI_JOB_ID", "1")])),
        None
    );
}

/// Two runs that may share a HOME at once, sharing every variable their platform lets them
/// share, never have one identity: Jenkins jobs whose names differ only in `/` and `-`, a
/// build's parallel branches, a matrix's legs on runners of one host, a job's parallel
/// copies, and values that hold the separator.
#[test]
fn concurrent_runs_never_share_an_identity() {
    type Pair<'a> = (Platform, &'a [(&'a str, &'a str)], &'a [(&'a str, &'a str)]);
    let pairs: [Pair<'_>; 8] = [
        (
            Platform::Jenkins,
            &[
                ("JOB_NAME", "a/b-c"),
                ("BUILD_NUMBER", "1"),
                ("BUILD_TAG", "jenkins-a-b-c-1"),
            ],
            &[
                ("JOB_NAME", "a-b/c"),
                ("BUILD_NUMBER", "1"),
                ("BUILD_TAG", "jenkins-a-b-c-1"),
            ],
        ),
        (
            Platform::Jenkins,
            &[
                ("JOB_NAME", "x"),
                ("BUILD_NUMBER", "1"),
                ("NODE_NAME", "n"),
                ("EXECUTOR_NUMBER", "0"),
            ],
            &[
                ("JOB_NAME", "x"),
                ("BUILD_NUMBER", "1"),
                ("NODE_NAME", "n"),
                ("EXECUTOR_NUMBER", "1"),
            ],
        ),
        (
            Platform::Jenkins,
            &[("JOB_NAME", "x/1"), ("BUILD_NUMBER", "2")],
            &[("JOB_NAME", "x"), ("BUILD_NUMBER", "1/2")],
        ),
        (
            Platform::Jenkins,
            &[("JOB_NAME", "x"), ("BUILD_NUMBER", "1"), ("NODE_NAME", "0")],
            &[
                ("JOB_NAME", "x"),
                ("BUILD_NUMBER", "1"),
                ("EXECUTOR_NUMBER", "0"),
            ],
        ),
        (
            Platform::Github,
            &[
                ("GITHUB_RUN_ID", "9"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", "d"),
                ("RUNNER_NAME", "gpu-runner-1"),
            ],
            &[
                ("GITHUB_RUN_ID", "9"),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", "d"),
                ("RUNNER_NAME", "gpu-runner-2"),
            ],
        ),
        (
            Platform::Circleci,
            &[("CIRCLE_WORKFLOW_JOB_ID", "c"), ("CIRCLE_NODE_INDEX", "0")],
            &[("CIRCLE_WORKFLOW_JOB_ID", "c"), ("CIRCLE_NODE_INDEX", "1")],
        ),
        (
            Platform::Gitlab,
            &[("CI_JOB_ID", "7"), ("CI_SERVER_HOST", "gitlab.com")],
            &[("CI_JOB_ID", "7"), ("CI_SERVER_HOST", "gitlab.example")],
        ),
        (
            Platform::Azure,
            &[("BUILD_BUILDID", "5"), ("SYSTEM_JOBID", "j1")],
            &[("BUILD_BUILDID", "5"), ("SYSTEM_JOBID", "j2")],
        ),
    ];
    for (platform, a, b) in pairs {
        let (a, b) = (platform.job_id(&Env::of(a)), platform.job_id(&Env::of(b)));
        assert!(a.is_some() && a != b, "{platform:?}: {a:?}");
    }
    // A pipeline's `post` runs in a stage of its own, and still finds its run's login.
    let stage = |name| {
        Platform::Jenkins.job_id(&Env::of(&[
            ("JOB_NAME", "x"),
            ("BUILD_NUMBER", "1"),
            ("STAGE_NAME", name),
        ]))
    };
    assert_eq!(stage("Deploy"), stage("Declarative: Post Actions"));
}

#[test]
fn env_names_are_checked() {
    for ok in ["A", "_a", "BASETEN_API_KEY", "x9"] {
        check_env_name(ok).unwrap();
    }
    for bad in ["", "9a", "A-B", "A B", "A=B", "A\nB", "É"] {
        assert!(check_env_name(bad).is_err(), "{bad:?}");
    }
}
