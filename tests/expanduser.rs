//! `~` expands as the Python that runs truss expands it: truss-ci's rule against Python's own
//! `posixpath.expanduser` and `ntpath.expanduser` (both importable on any OS), over generated
//! environments and paths, then through `pathlib` as truss calls it.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use truss_ci::home::{Flavor, HomeVars, NoHome, expand_user};

#[derive(Debug, Clone)]
struct Case {
    flavor: Flavor,
    path: String,
    vars: Vec<(&'static str, String)>,
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,4}",
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("//".to_owned()),
        Just("C:".to_owned()),
        Just("c:\\".to_owned()),
        Just("\\\\srv\\share".to_owned()),
        Just("ci".to_owned()),
        Just(" é ".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = Option<String>> {
    proptest::option::weighted(
        0.6,
        proptest::collection::vec(piece(), 0..4).prop_map(|v| v.concat()),
    )
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        prop_oneof![
            Just("~".to_owned()),
            Just("~/.trussrc".to_owned()),
            Just("~\\.trussrc".to_owned()),
            Just("~ci/x".to_owned()),
            Just("~ci\\x".to_owned()),
            Just("~bob\\x".to_owned()),
            Just("/abs/~".to_owned()),
            proptest::collection::vec(piece(), 0..3).prop_map(|v| format!("~{}", v.concat())),
        ],
        [value(), value(), value(), value(), value()],
    )
        .prop_map(|(windows, path, vals)| {
            let names = ["HOME", "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "USERNAME"];
            let vars = names
                .into_iter()
                .zip(vals)
                .filter_map(|(n, v)| v.map(|v| (n, v)))
                .collect();
            Case {
                flavor: if windows {
                    Flavor::Windows
                } else {
                    Flavor::Posix
                },
                path,
                vars,
            }
        })
}

fn get<'a>(case: &'a Case, name: &str) -> Option<&'a str> {
    case.vars
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// What truss-ci makes of a case: the expansion, or `None` where Python leaves the path as it is.
fn ours(case: &Case, passwd_home: &str) -> Option<String> {
    let vars = HomeVars {
        home: get(case, "HOME"),
        passwd_home: Some(passwd_home),
        userprofile: get(case, "USERPROFILE"),
        homedrive: get(case, "HOMEDRIVE"),
        homepath: get(case, "HOMEPATH"),
        username: get(case, "USERNAME"),
    };
    match expand_user(&case.path, &vars, case.flavor) {
        Ok(p) => Some(p),
        Err(NoHome::Undetermined) => None,
        Err(NoHome::OtherUser) => Some("<other-user>".to_owned()),
    }
}

const PYTHON: &str = r#"
import json, ntpath, os, posixpath, pwd, sys
out = []
for case in json.load(sys.stdin):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(case["vars"])
    try:
        if case["windows"]:
            got = ntpath.expanduser(case["path"])
        elif case["path"].startswith("~") and not case["path"][1:].split("/")[0] == "":
            got = "<other-user>"
        else:
            got = posixpath.expanduser(case["path"])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    out.append(None if got.startswith("~") else got)
print(json.dumps({"passwd_home": pwd.getpwuid(os.getuid()).pw_dir, "results": out}))
"#;

#[test]
fn tilde_expands_as_python_expands_it() {
    let Some(python) = common::python3("the expanduser cross-check") else {
        return;
    };
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = case();
    let cases: Vec<Case> = (0..3000)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let input = serde_json::Value::Array(
        cases
            .iter()
            .map(|c| {
                serde_json::json!({
                    "windows": c.flavor == Flavor::Windows,
                    "path": c.path,
                    "vars": c.vars.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                })
            })
            .collect(),
    );
    let mut child = Command::new(python)
        .args(["-c", PYTHON])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let passwd_home = answer["passwd_home"].as_str().unwrap();
    let results = answer["results"].as_array().unwrap();
    let mut expanded = 0;
    for (case, theirs) in cases.iter().zip(results) {
        let theirs = theirs.as_str().map(str::to_owned);
        expanded += usize::from(theirs.is_some());
        assert_eq!(ours(case, passwd_home), theirs, "{case:?}");
    }
    assert!(expanded > 1500, "too few cases expanded: {expanded}");
}
