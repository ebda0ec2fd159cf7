//! Python's configparser (what truss reads with) agrees with truss-ci's reader on generated
//! trussrc files after a splice: the same sections, and the same value for every key.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use truss_ci::trussrc::arbitrary::{Line, render};
use truss_ci::trussrc::{Document, api_key_section};

/// A small deterministic generator (xorshift), so every run checks the same files.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn word(&mut self, alphabet: &[u8], max: u64) -> String {
        (0..=self.next(max))
            .map(|_| alphabet[self.next(alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

#[test]
fn configparser_reads_every_spliced_file_as_we_do() {
    let Some(python) = common::python3() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let mut ours: BTreeMap<String, Document> = BTreeMap::new();
    while ours.len() < 300 {
        let lines: Vec<Line> = (0..g.next(20))
            .map(|_| match g.next(5) {
                0 => Line::Section(g.word(b"abcXY._-", 3)),
                1 => Line::Option(
                    g.word(b"abcde_", 3),
                    g.word(b"xyz =:;#[]{}()/\\+%%", 8)
                        .replace('%', "%%")
                        .trim()
                        .to_owned(),
                ),
                2 => Line::Continuation(g.word(b"qrs%", 4).replace('%', "%%")),
                3 => Line::Comment(g.word(b"any text", 6)),
                _ => Line::Blank,
            })
            .collect();
        let text = render(&lines, g.next(2) == 0, g.next(3) != 0);
        let Ok(doc) = Document::parse(&text) else {
            continue;
        };
        let name = g.word(b"abcXY", 2);
        let key = g.word(b"AZaz09.%+/=\\-_~!@#$^&*()", 24);
        let spliced = doc.with_section(
            &name,
            &api_key_section(&name, "https://app.baseten.co/%7e", Some(&key)),
        );
        let file = format!("{:03}", ours.len());
        std::fs::write(dir.path().join(&file), &spliced.text).unwrap();
        ours.insert(file, Document::parse(&spliced.text).unwrap());
    }
    let script = r#"
import configparser, json, os, sys
out = {}
for f in sorted(os.listdir(sys.argv[1])):
    c = configparser.ConfigParser()
    with open(os.path.join(sys.argv[1], f), encoding="utf-8", newline=None) as fh:
        c.read_file(fh)
    out[f] = {s: {k: c.get(s, k) for k in c[s]} for s in c.sections()}
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
    let theirs: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> =
        serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(theirs.len(), ours.len());
    for (file, doc) in &ours {
        let py = &theirs[file];
        let names: Vec<&str> = doc.remotes().collect();
        let py_names: Vec<&str> = py.keys().map(String::as_str).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, py_names, "{file}: sections\n{}", doc.text);
        for section in &doc.sections {
            if section.name == "DEFAULT" {
                continue;
            }
            for (key, _) in &section.entries {
                assert_eq!(
                    doc.value(&section.name, key).as_deref(),
                    py[&section.name].get(key).map(String::as_str),
                    "{file}: [{}] {key}\n{}",
                    section.name,
                    doc.text
                );
            }
        }
    }
}
