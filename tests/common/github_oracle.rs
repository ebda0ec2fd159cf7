//! A port of the GitHub Actions runner's parsers, as the oracle for what truss-ci emits:
//! `EnvFileKeyValuePairs` (GITHUB_ENV / GITHUB_OUTPUT / GITHUB_STATE, Linux line endings) and
//! `ActionCommand.TryParseV2` with the legacy `TryParse` fallback (`##[name k=v;…]data`), with the
//! runner's unescaping and stop-commands handling. Shared by unit and integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// The commands the runner registers (matched case-insensitively).
const REGISTERED: &[&str] = &[
    "add-mask",
    "add-path",
    "set-env",
    "set-output",
    "save-state",
    "debug",
    "warning",
    "error",
    "notice",
    "group",
    "endgroup",
    "echo",
    "stop-commands",
    "add-matcher",
    "remove-matcher",
    "internal-set-repo-path",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionCommand {
    pub name: String,
    pub properties: BTreeMap<String, String>,
    pub data: String,
}

fn registered(name: &str) -> bool {
    REGISTERED.iter().any(|r| r.eq_ignore_ascii_case(name))
}

fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn unescape_legacy(s: &str) -> String {
    s.replace("%3B", ";")
        .replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%5D", "]")
        .replace("%25", "%")
}

/// `ActionCommand.TryParseV2`: `::name k=v,k=v::data`, after trimming leading whitespace.
pub fn try_parse_v2(message: &str) -> Option<ActionCommand> {
    let message = message.trim_start();
    let rest = message.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, props) = match info.find(' ') {
        Some(i) => (&info[..i], Some(&info[i + 1..])),
        None => (info, None),
    };
    if !registered(name) {
        return None;
    }
    let mut properties = BTreeMap::new();
    if let Some(props) = props {
        for prop in props.trim().split(',').filter(|p| !p.is_empty()) {
            let pair: Vec<&str> = prop.splitn(2, '=').filter(|p| !p.is_empty()).collect();
            if pair.len() == 2 {
                properties.insert(pair[0].to_owned(), unescape_property(pair[1]));
            }
        }
    }
    Some(ActionCommand {
        name: name.to_owned(),
        properties,
        data: unescape_data(&rest[end + 2..]),
    })
}

/// The legacy `ActionCommand.TryParse`: `##[name k=v;k=v]data` anywhere in the line.
pub fn try_parse_legacy(message: &str) -> Option<ActionCommand> {
    let prefix = message.find("##[")?;
    let rb = prefix + message[prefix..].find(']')?;
    let info = &message[prefix + 3..rb];
    let (name, props) = match info.find(' ') {
        Some(i) => (&info[..i], Some(&info[i + 1..])),
        None => (info, None),
    };
    if !registered(name) {
        return None;
    }
    let mut properties = BTreeMap::new();
    if let Some(props) = props {
        for prop in props.split(';').filter(|p| !p.is_empty()) {
            let pair: Vec<&str> = prop.splitn(2, '=').filter(|p| !p.is_empty()).collect();
            if pair.len() == 2 {
                properties.insert(pair[0].to_owned(), unescape_legacy(pair[1]));
            }
        }
    }
    Some(ActionCommand {
        name: name.to_owned(),
        properties,
        data: unescape_legacy(&message[rb + 1..]),
    })
}

/// Processes a whole log stream as the runner does: each line is a command (V2 first, then
/// legacy) unless commands are stopped by `::stop-commands::TOKEN` until `::TOKEN::`.
pub fn parse_log(log: &str) -> Vec<ActionCommand> {
    let mut commands = Vec::new();
    let mut stop_token: Option<String> = None;
    for line in log.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(token) = &stop_token {
            if line.trim() == format!("::{token}::") {
                stop_token = None;
            }
            continue;
        }
        if let Some(cmd) = try_parse_v2(line).or_else(|| try_parse_legacy(line)) {
            if cmd.name.eq_ignore_ascii_case("stop-commands") && !cmd.data.is_empty() {
                stop_token = Some(cmd.data.clone());
            }
            commands.push(cmd);
        }
    }
    commands
}

pub type Pairs = Vec<(String, String)>;

/// `EnvFileKeyValuePairs`: the pairs a file command applies, in order, or the error the runner
/// raises (pairs before the error are applied anyway: they are returned with it).
pub fn parse_file_command(text: &str) -> Result<Pairs, (Pairs, String)> {
    let mut pairs = Vec::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (k, v) = line.split_at(e);
                pairs.push((k.to_owned(), v[1..].to_owned()));
            }
            (_, Some(h)) => {
                let key = &line[..h];
                let delimiter = &line[h + 2..];
                if key.is_empty() || delimiter.is_empty() {
                    return Err((pairs, format!("Invalid format '{line}'")));
                }
                let start = index;
                let mut end = index;
                loop {
                    match read_line(text, &mut index) {
                        None => {
                            return Err((
                                pairs,
                                format!("Matching delimiter not found '{delimiter}'"),
                            ));
                        }
                        Some((l, _)) if l == delimiter => break,
                        Some((_, None)) => {
                            return Err((pairs, "EOF marker missing new line".to_owned()));
                        }
                        Some((_, Some(nl))) => end = index - nl.len(),
                    }
                }
                let value = if end > start { &text[start..end] } else { "" };
                pairs.push((key.to_owned(), value.to_owned()));
            }
            _ => return Err((pairs, format!("Invalid format '{line}'"))),
        }
    }
    Ok(pairs)
}

fn read_line<'a>(text: &'a str, index: &mut usize) -> Option<(&'a str, Option<&'static str>)> {
    if *index >= text.len() {
        return None;
    }
    let start = *index;
    match text[start..].find('\n') {
        None => {
            *index = text.len();
            Some((&text[start..], None))
        }
        Some(i) => {
            *index = start + i + 1;
            Some((&text[start..start + i], Some("\n")))
        }
    }
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn oracle_reproduces_the_runner_on_known_cases() {
        assert_eq!(
            parse_file_command("TOKEN=abc\nLD_PRELOAD=./evil.so\n")
                .unwrap()
                .len(),
            2
        );
        let (applied, err) = parse_file_command("TOKEN<<EOF\nabc\nEOF\nEVIL=1\nEOF\n").unwrap_err();
        assert_eq!(
            applied,
            [("TOKEN".into(), "abc".into()), ("EVIL".into(), "1".into())]
        );
        assert!(err.contains("Invalid format 'EOF'"));
        assert_eq!(
            parse_file_command("TOKEN<<EOF\nabc\n\nEOF\n").unwrap(),
            [("TOKEN".into(), "abc\n".into())]
        );
        assert!(parse_file_command("A=1\nT<<EOF\nabc").is_err());
        let c = try_parse_v2("  ::error title=a%3Ab%2Cc::x%25y%0Az").unwrap();
        assert_eq!(c.properties["title"], "a:b,c");
        assert_eq!(c.data, "x%y\nz");
        assert!(try_parse_v2("::nope::x").is_none());
        assert_eq!(
            try_parse_legacy("junk ##[warning]boom").unwrap().name,
            "warning"
        );
        let log = "::stop-commands::tok\n::error::hidden\n::tok::\n::warning::seen";
        let names: Vec<_> = parse_log(log).into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["stop-commands", "warning"]);
    }
}
