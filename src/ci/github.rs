//! GitHub Actions: workflow commands on the log streams and file commands (GITHUB_ENV,
//! GITHUB_OUTPUT, GITHUB_STATE, GITHUB_STEP_SUMMARY), escaped as the runner unescapes them.
use std::path::PathBuf;

use super::{
    Dialect, Effect, Level, Platform, Spec, Var, check_env_name, check_name, identity, is_true,
};
use crate::env::path_var;
use crate::error::{Error, Result};
use crate::secret::{ApiKey, Sensitive};

pub const SPEC: Spec = Spec {
    detect: |v| is_true(&v.github_actions),
    // A matrix's legs share the first three; runners on one host may share a HOME, and each runs
    // one job at a time: their names tell them apart.
    job_id: |v| {
        identity(
            &[&v.github_run_id, &v.github_run_attempt, &v.github_job],
            &[&v.runner_name],
        )
    },
    job_vars: "GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT and GITHUB_JOB",
    // The action's post step hands over its api-key input, which GITHUB_ENV does not change.
    export_reaches_post: None,
    dialect: |env| {
        let v = &env.vars;
        let github = Github {
            env: path_var(&v.github_env),
            output: path_var(&v.github_output),
            state: path_var(&v.github_state),
            summary: path_var(&v.github_step_summary),
            runner_temp: path_var(&v.runner_temp),
        };
        let lacking = github.env.is_none() || github.output.is_none();
        let warning = "GitHub Actions detected but GITHUB_ENV or GITHUB_OUTPUT is not set: env exports and outputs are skipped (plain mode for those)";
        (
            Box::new(github),
            lacking.then(|| warning.to_owned()).into_iter().collect(),
        )
    },
};

/// The runner's files (each `None` when its variable is unset) and its temp directory.
#[derive(Default)]
pub struct Github {
    pub env: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub runner_temp: Option<PathBuf>,
}

/// Escaping for command data (after the final `::`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping for command property values.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `NAME<<DELIM\nVALUE\nDELIM\n` with a fresh random delimiter. The value may not contain the
/// delimiter, CR or LF: such an entry is refused before anything is written.
pub fn file_entry(name: &str, value: &str) -> Result<String> {
    let delimiter = format!("ghadelimiter_{}", crate::atomic_file::random_token(16));
    if value.contains(['\r', '\n']) || value.contains(&delimiter) || name.contains(&delimiter) {
        return Err(Error::new(
            crate::error::Kind::Local,
            format!(
                "the value for {name} holds a line break and cannot be written as a GitHub file command; nothing was written"
            ),
        ));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// The file command that sets `pairs`, each name checked by `check` first; nothing where the
/// file's variable is unset.
fn file_command<'a>(
    what: &'static str,
    path: Option<&PathBuf>,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    check: fn(&str) -> Result<()>,
) -> Result<Vec<Effect>> {
    let mut text = String::new();
    for (name, value) in pairs {
        check(name)?;
        text.push_str(&file_entry(name, value)?);
    }
    Ok(append(what, path, text))
}

fn append(what: &'static str, path: Option<&PathBuf>, text: String) -> Vec<Effect> {
    let text = Sensitive::new(text);
    path.map(|path| Effect::Append {
        what,
        path: path.clone(),
        text,
    })
    .into_iter()
    .collect()
}

impl Dialect for Github {
    fn platform(&self) -> Platform {
        Platform::Github
    }

    fn mask(&self, key: &ApiKey) -> Vec<Effect> {
        vec![Effect::Command(Sensitive::new(format!(
            "::add-mask::{}",
            escape_data(key.expose())
        )))]
    }

    fn export(&self, vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        if self.env.is_none() {
            return Ok(None);
        }
        let pairs = vars.iter().map(|v| (v.name, v.value.expose()));
        file_command("GITHUB_ENV", self.env.as_ref(), pairs, check_env_name).map(Some)
    }

    fn outputs(&self, outputs: &[(&str, &str)]) -> Result<Vec<Effect>> {
        // Output names may also hold `-` (as action outputs do); env names may not.
        let check = |name: &str| check_name(name, &['-'], "output");
        let pairs = outputs.iter().copied();
        file_command("GITHUB_OUTPUT", self.output.as_ref(), pairs, check)
    }

    fn save_state(&self, state: &[(&str, &str)]) -> Result<Vec<Effect>> {
        let pairs = state.iter().copied();
        file_command("GITHUB_STATE", self.state.as_ref(), pairs, check_env_name)
    }

    fn annotate(&self, level: Level, message: &str) -> Vec<Effect> {
        vec![Effect::Command(Sensitive::new(format!(
            "::{} title={}::{}",
            level.as_str(),
            escape_property("truss-ci"),
            escape_data(&neutralize(message))
        )))]
    }

    fn group_start(&self, title: &str) -> Vec<Effect> {
        let title = escape_data(&neutralize(title));
        vec![Effect::Log(format!("::group::{title}"))]
    }

    fn group_end(&self) -> Vec<Effect> {
        vec![Effect::Log("::endgroup::".to_owned())]
    }

    fn summary(&self, markdown: &str) -> Vec<Effect> {
        append(
            "GITHUB_STEP_SUMMARY",
            self.summary.as_ref(),
            markdown.to_owned(),
        )
    }

    fn neutralize(&self, line: &str) -> String {
        neutralize(line)
    }

    fn missing_key_hint(&self) -> &'static str {
        "pass the key as `api-key: ${{ secrets.BASETEN_API_KEY }}` (or env BASETEN_API_KEY); GitHub does not pass secrets to workflows run from forks or by Dependabot"
    }

    fn job_temp_dir(&self) -> Option<PathBuf> {
        self.runner_temp.clone()
    }

    fn hands_state_to_post(&self) -> bool {
        true
    }
}

/// No line may be read by the runner as a command: a leading `::` (after whitespace) is broken
/// up, and so is `##[` anywhere (the runner's legacy parser finds it mid-line).
pub fn neutralize(line: &str) -> String {
    let mut out = line.replace("##[", "# #[");
    let indent = out.len() - out.trim_start().len();
    if out[indent..].starts_with("::") {
        out.replace_range(indent..indent + 2, ": :");
    }
    out
}

/// Formats a value for the Markdown summary table as a code span, where nothing renders: no link,
/// image, autolink or HTML that a server-chosen name could carry. Only the table's `|` needs
/// escaping inside it; the fence is longer than any run of backticks in the value.
pub fn md_cell(value: &str) -> String {
    let value = neutralize(&super::clean(value)).replace('|', "\\|");
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{value}{pad}{fence}")
}

#[cfg(test)]
#[path = "../../tests/common/github_oracle.rs"]
mod oracle;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::oracle::{parse_file_command, parse_log};
    use super::*;
    use crate::ci::Value;

    /// Text built from the pieces that break naive emitters.
    fn hostile() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("%".to_owned()),
                Just("%25".to_owned()),
                Just("\r".to_owned()),
                Just("\n".to_owned()),
                Just("::".to_owned()),
                Just("##[".to_owned()),
                Just("]".to_owned()),
                Just(",".to_owned()),
                Just("=".to_owned()),
                Just("<<".to_owned()),
                Just(" ".to_owned()),
                Just("é🦀".to_owned()),
                "[a-zA-Z0-9_.-]{1,4}",
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    fn command_line(effects: Vec<Effect>) -> String {
        match effects.as_slice() {
            [Effect::Command(line)] => line.expose().to_owned(),
            other => panic!("expected one command, got {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn mask_registers_exactly_the_key(key in hostile()) {
            let line = command_line(Github::default().mask(&ApiKey::new(key.clone())));
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let parsed = parse_log(&line);
            prop_assert_eq!(parsed.len(), 1);
            prop_assert_eq!(&parsed[0].name, "add-mask");
            prop_assert_eq!(&parsed[0].data, &key);
        }

        #[test]
        fn file_commands_set_exactly_the_intended_pairs(
            a in hostile(), b in hostile(), key in hostile()
        ) {
            let gh = Github { env: Some("/x".into()), output: Some("/y".into()), ..Github::default() };
            let api_key = ApiKey::new(key.clone());
            let vars = [
                Var { name: "BASETEN_API_KEY", value: Value::Secret(&api_key) },
                Var { name: "USER_TRUSSRC_PATH", value: Value::Plain(&a) },
            ];
            let single_line = ![&a, &key].iter().any(|v| v.contains(['\r', '\n']));
            match gh.export(&vars) {
                Ok(Some(effects)) => {
                    prop_assert!(single_line);
                    let [Effect::Append { text, .. }] = effects.as_slice() else { panic!() };
                    let pairs = parse_file_command(text.expose()).unwrap();
                    prop_assert_eq!(pairs, vec![
                        ("BASETEN_API_KEY".to_owned(), key.clone()),
                        ("USER_TRUSSRC_PATH".to_owned(), a.clone()),
                    ]);
                }
                Ok(None) => prop_assert!(false, "GITHUB_ENV is set"),
                Err(_) => prop_assert!(!single_line),
            }
            match gh.outputs(&[("remote-url", &b), ("workspace", &a)]) {
                Ok(effects) => {
                    let [Effect::Append { text, .. }] = effects.as_slice() else { panic!() };
                    let pairs = parse_file_command(text.expose()).unwrap();
                    prop_assert_eq!(pairs, vec![
                        ("remote-url".to_owned(), b.clone()),
                        ("workspace".to_owned(), a.clone()),
                    ]);
                }
                Err(_) => prop_assert!(a.contains(['\r', '\n']) || b.contains(['\r', '\n'])),
            }
        }

        #[test]
        fn an_error_annotation_is_one_command_with_the_message(message in hostile()) {
            let line = command_line(Github::default().annotate(Level::Error, &message));
            let parsed = parse_log(&line);
            prop_assert_eq!(parsed.len(), 1);
            prop_assert_eq!(&parsed[0].name, "error");
            prop_assert_eq!(parsed[0].properties.get("title").map(String::as_str), Some("truss-ci"));
            prop_assert_eq!(&parsed[0].data, &neutralize(&message));
        }

        #[test]
        fn neutralized_lines_are_never_commands(text in hostile()) {
            for line in text.split(['\n', '\r']) {
                prop_assert!(parse_log(&neutralize(line)).is_empty(), "{:?}", line);
            }
        }
    }

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\r\nc:d,e"), "a%25b%0D%0Ac%3Ad%2Ce");
    }

    #[test]
    fn heredoc_entries_use_fresh_delimiters_and_refuse_line_breaks() {
        let a = file_entry("N", "v").unwrap();
        let b = file_entry("N", "v").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("N<<ghadelimiter_"));
        assert!(file_entry("N", "x\ny").is_err());
        assert!(file_entry("N", "x\ry").is_err());
    }

    #[test]
    fn summary_cells_render_nothing_a_server_chose() {
        assert_eq!(md_cell("ws"), "`ws`");
        assert_eq!(md_cell("[x](https://evil)"), "`[x](https://evil)`");
        assert_eq!(
            md_cell("![i](https://e/p.png) <img>"),
            "`![i](https://e/p.png) <img>`"
        );
        assert_eq!(md_cell("a|b"), "`a\\|b`");
        assert_eq!(md_cell("``x`"), "``` ``x` ```");
        assert_eq!(md_cell("a\nb"), "`a b`");
    }

    #[test]
    fn untrusted_lines_cannot_become_commands() {
        assert_eq!(neutralize("::add-mask::x"), ": :add-mask::x");
        assert_eq!(neutralize("  ::error::x"), "  : :error::x");
        assert_eq!(neutralize("text ##[error]x"), "text # #[error]x");
        assert_eq!(neutralize("a :: b"), "a :: b");
    }
}
