//! Python's configparser (what truss reads with) agrees with truss-ci's reader on generated
//! trussrc files, before and after a splice: the same sections, and the same value for every
//! key, whatever Unicode whitespace indents or pads the lines.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use truss_ci::trussrc::{Document, api_key_section};

/// Every character Python's `str.isspace()` accepts (but the line breaks it reads lines by),
/// and one it does not (U+200B), in indentation, around delimiters and on blank lines.
const SPACES: [char; 25] = [
    ' ', '\t', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}', '\u{85}', '\u{a0}',
    '\u{1680}', '\u{2000}', '\u{2003}', '\u{2007}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}',
    '\u{205f}', '\u{3000}', '\u{200b}', ' ', ' ', ' ', '\t',
];

fn spaces(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(&SPACES[..]), 0..=max)
        .prop_map(|v| v.into_iter().collect())
}

/// One line of a trussrc, in any indentation.
fn line() -> impl Strategy<Value = String> {
    let body = prop_oneof![
        "[abcXY._-]{1,3}".prop_map(|n| format!("[{n}]")),
        (
            "[abcde_]{1,3}",
            spaces(1),
            "[=:]",
            spaces(1),
            "[xyz =:;#{}()/+]{0,8}"
        )
            .prop_map(|(k, a, d, b, v)| format!("{k}{a}{d}{b}{v}")),
        "[qrs]{1,4}",
        "[#;][ a-z]{0,6}",
        Just(String::new()),
    ];
    (spaces(2), body, spaces(1)).prop_map(|(indent, body, trail)| format!("{indent}{body}{trail}"))
}

fn file() -> impl Strategy<Value = (String, String, String)> {
    (
        proptest::collection::vec(line(), 0..16),
        any::<bool>(),
        "[abcXY]{1,2}",
        "[AZaz09.+/=~!@#$^&*()-]{1,24}",
    )
        .prop_map(|(lines, crlf, name, key)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            (format!("[top]{eol}{}{eol}", lines.join(eol)), name, key)
        })
}

#[test]
fn configparser_reads_every_file_as_we_do() {
    let Some(python) = common::python3("the configparser cross-check") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = file();
    let mut ours: BTreeMap<String, Option<Document>> = BTreeMap::new();
    let mut accepted = 0;
    while ours.len() < 800 {
        let (text, name, key) = strategy.new_tree(&mut runner).unwrap().current();
        let parsed = Document::parse(&text).ok();
        let n = ours.len();
        std::fs::write(dir.path().join(format!("{n:04}")), &text).unwrap();
        if let Some(doc) = &parsed {
            accepted += 1;
            let spliced = doc.with_section(
                &name,
                &api_key_section(
                    &name,
                    "https://app.baseten.co/%7e",
                    Some(&key.replace('%', "")),
                ),
            );
            if doc.check_others_unchanged(&spliced.text, &[&name]).is_ok() {
                std::fs::write(dir.path().join(format!("{:04}", n + 1)), &spliced.text).unwrap();
                ours.insert(format!("{n:04}"), parsed);
                ours.insert(format!("{:04}", n + 1), Document::parse(&spliced.text).ok());
                continue;
            }
        }
        ours.insert(format!("{n:04}"), parsed);
    }
    assert!(accepted > 150, "only {accepted} generated files parse");
    let script = r#"
import configparser, json, os, sys
out = {}
for f in sorted(os.listdir(sys.argv[1])):
    c = configparser.ConfigParser()
    try:
        with open(os.path.join(sys.argv[1], f), encoding="utf-8", newline=None) as fh:
            c.read_file(fh)
        out[f] = {s: {k: c.get(s, k) for k in c[s]} for s in c.sections()}
    except (configparser.Error, ValueError):
        out[f] = None
print(json.dumps(out))
"#;
    let run = common::to_run(
        std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(dir.path())
            .output()
            .unwrap(),
    );
    run.assert_code(0);
    /// Sections → keys → values, or `None` where configparser refused the file.
    type Read = Option<BTreeMap<String, BTreeMap<String, String>>>;
    let theirs: BTreeMap<String, Read> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(theirs.len(), ours.len());
    for (file, doc) in &ours {
        // What we refuse, configparser may read (refusing is safe); what we read, it must too.
        let Some(doc) = doc else { continue };
        let Some(py) = &theirs[file] else {
            panic!("{file}: configparser refuses what we read:\n{:?}", doc.text);
        };
        let names: Vec<&str> = doc.remotes().collect();
        let py_names: Vec<&str> = py.keys().map(String::as_str).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, py_names, "{file}: sections\n{:?}", doc.text);
        for section in doc.sections() {
            if section.name == "DEFAULT" {
                continue;
            }
            for (key, _) in section.entries() {
                assert_eq!(
                    doc.value(section.name, key).as_deref(),
                    py[section.name].get(key).map(String::as_str),
                    "{file}: [{}] {key}\n{:?}",
                    section.name,
                    doc.text
                );
            }
        }
    }
}
