//! Unit tests of a refused command line: no key printed, the fault still named, its intent read.

use std::ffi::OsString;

use super::*;
use crate::error::Error;

fn refusal(args: &[&str]) -> Error {
    let args: Vec<OsString> = std::iter::once("truss-ci")
        .chain(args.iter().copied())
        .map(OsString::from)
        .collect();
    let e = Cli::try_parse_from(&args).expect_err("clap refuses it");
    refused(&e, &args)
}

/// Each class of clap error, with `KEY` where the key was put by mistake, and what the
/// message must still name.
const CLASSES: &[(&[&str], &str)] = &[
    (&["login", "--bogus=KEY"], "--bogus"),
    (&["login", "--bogus", "KEY"], "--bogus"),
    (&["login", "--output", "KEY"], "--output"),
    (&["login", "--storage=KEY"], "--storage"),
    (&["login", "--export-env=KEY"], "--export-env"),
    (&["login", "--print-env", "KEY"], "--print-env"),
    (&["login", "--from-env", "KEY"], "unexpected argument"),
    (&["login", "KEY"], "unexpected argument"),
    (&["KEY"], "unrecognized subcommand"),
    (&["--ci", "KEY", "login"], "--ci"),
    (&["status", "--timeout", "KEY"], "--timeout"),
    (&["login", "--remote", "KEY", "--remote", "x"], "--remote"),
    (
        &["--output", "json", "logout", "--post", "--remote=KEY"],
        "--remote",
    ),
    (&["exec", "--api-key=KEY", "--timeout", "KEY"], "--timeout"),
    (&["login", "--", "KEY"], "unexpected argument"),
    (&["login", "-vKEY"], "unexpected argument"),
    (&["login", "--KEY"], "unexpected argument"),
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
    #[test]
    fn clap_errors_never_print_an_argument_shaped_like_a_key(
        // Not starting with a short flag's letter: `-vh…` asks for help, which is no error.
        id in "[A-UW-Za-gi-pr-uw-z0-9][A-Za-z0-9]{3,11}",
        secret in "[A-Za-z0-9][A-Za-z0-9+/=_~-]{11,40}",
    ) {
        let key = format!("{id}.{secret}");
        for (args, names) in CLASSES {
            let args: Vec<String> = args.iter().map(|a| a.replace("KEY", &key)).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let err = refusal(&args);
            let all = format!("{} {}", err.message, err.hint().unwrap_or_default());
            proptest::prop_assert_eq!(err.exit_code(), 2);
            proptest::prop_assert!(all.contains(names), "{:?}: {}", args, all);
            for w in secret.as_bytes().windows(crate::secret::MIN_FRAGMENT) {
                let w = std::str::from_utf8(w).unwrap();
                proptest::prop_assert!(!all.contains(w), "{:?}: {} shows {}", args, all, w);
            }
            proptest::prop_assert!(!all.contains(&key), "{:?}: {}", args, all);
        }
    }
}

#[test]
fn clap_errors_still_name_what_is_wrong() {
    let err = refusal(&["login", "--outpt", "json"]);
    assert_eq!(err.message, "unexpected argument '--outpt' found");
    assert!(
        err.hint().unwrap().contains("'--output'"),
        "{:?}",
        err.hint()
    );
    let err = refusal(&["login", "--output", "xml"]);
    assert_eq!(err.message, "invalid value 'xml' for '--output <OUTPUT>'");
    let err = refusal(&["exec"]);
    assert!(
        err.message.ends_with("not provided: <CMD>..."),
        "{}",
        err.message
    );
    let err = refusal(&[
        "login",
        "--ci",
        "buildkite",
        "--storage",
        "keyring",
        "extra",
    ]);
    assert_eq!(err.message, "unexpected argument 'extra' found");
}

#[test]
fn the_refused_line_says_how_to_answer() {
    let args = |a: &[&str]| -> Vec<OsString> { a.iter().map(OsString::from).collect() };
    assert_eq!(
        intent(&args(&["t", "--output", "json", "--ci=azure", "x"])),
        (OutputFormat::Json, Some(Platform::Azure))
    );
    assert_eq!(
        intent(&args(&["t", "--output=text", "--ci", "auto"])),
        (OutputFormat::Text, None)
    );
}

/// The parse with only the named subcommand built gives what the full parse gives, for every
/// line it takes; the lines it leaves (no subcommand named, help, version, errors) are the full
/// parse's.
#[test]
fn the_parse_of_one_subcommand_is_the_full_parse() {
    let lines: &[&[&str]] = &[
        &["login"],
        &["login", "--from-env"],
        &[
            "-v",
            "login",
            "--from-env",
            "--require-key-type",
            "workspace-manage-all",
        ],
        &[
            "--output",
            "json",
            "--ci",
            "github",
            "login",
            "--remote",
            "r",
            "--api-key-file",
            "f",
        ],
        &[
            "login",
            "--storage",
            "keyring",
            "--export-env",
            "--no-validate",
            "-q",
        ],
        &[
            "login",
            "--job-key",
            "workspace-invoke",
            "--job-key-ttl",
            "2h",
            "--model-id",
            "m",
        ],
        &["login", "--baseten-profile", "p", "--storage=inline"],
        &["login", "--job-key-ttl", "2h"],
        &["status"],
        &["status", "--check", "--timeout", "5", "--output=json"],
        &["logout", "--post"],
        &["logout", "--all", "-vv"],
        &["logout", "--remote", "login"],
        &["exec", "--", "truss", "push", "--remote", "login"],
        &["exec", "--remote", "r", "--", "sh", "-c", "status"],
        &["keys", "prune", "--dry-run"],
        &["--ci", "gitlab", "keys", "prune"],
    ];
    for line in lines {
        let args: Vec<OsString> = std::iter::once("truss-ci")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect();
        let full = Cli::try_parse_from(&args);
        let one = Cli::parse_one(&args);
        match (&full, &one) {
            (Ok(full), Some(one)) => {
                assert_eq!(format!("{one:?}"), format!("{full:?}"), "{line:?}")
            }
            (Err(e), None) => assert!(Cli::parse_args(&args).is_err(), "{line:?}: {e}"),
            _ => panic!("{line:?}: the full parse gave {full:?}, the one-subcommand parse {one:?}"),
        }
    }
    // What the full parse refuses, the one-subcommand parse refuses too.
    for (line, _) in CLASSES {
        let args: Vec<OsString> = std::iter::once("truss-ci")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect();
        assert!(Cli::parse_one(&args).is_none(), "{line:?}");
    }
    for line in [
        &["--help"][..],
        &["login", "--help"],
        &["--version"],
        &["help", "login"],
    ] {
        let args: Vec<OsString> = std::iter::once("truss-ci")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect();
        assert!(Cli::parse_one(&args).is_none(), "{line:?}");
    }
}
