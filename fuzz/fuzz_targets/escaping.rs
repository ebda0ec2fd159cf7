//! Each platform's escaping: what the platform's own unescaping reads back is the input, and no
//! line truss-ci prints for people can be read as a command.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truss_ci::ci::{azure, github, gitlab, shell};

#[path = "../../tests/common/github_oracle.rs"]
mod oracle;

#[path = "../../tests/common/azure_oracle.rs"]
mod azure_oracle;

/// A POSIX shell's reading of a single-quoted word with `'\''` escapes.
fn sh_unquote(s: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (_, '\'') => quoted = !quoted,
            (false, '\\') => out.extend(chars.next()),
            (_, c) => out.push(c),
        }
    }
    out
}

fuzz_target!(|s: &str| {
    let data = github::escape_data(s);
    assert!(!data.contains(['\r', '\n']));
    let line = format!("::add-mask::{data}");
    let parsed = oracle::parse_log(&line);
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].data, s);

    let prop = github::escape_property(s);
    assert!(!prop.contains([',', ':', '\r', '\n']));

    for part in s.split(['\r', '\n']) {
        assert!(
            oracle::parse_log(&github::neutralize(part)).is_empty(),
            "{part:?}"
        );
        assert!(!azure::neutralize(part).contains("##"), "{part:?}");
    }

    let az = azure::escape(s);
    assert!(!az.contains([';', ']', '\r', '\n']));
    assert_eq!(azure_oracle::unescape(&az), s);

    assert_eq!(sh_unquote(&shell::quote(s)), s);

    if let Ok(line) = gitlab::dotenv_lines(&[("NAME", s)]) {
        let value = line
            .strip_prefix("NAME=")
            .and_then(|l| l.strip_suffix('\n'))
            .expect("one line");
        assert!(!value.contains('\n'));
        assert_eq!(value.replace("$$", "$"), s.trim());
    }
});
