//! Azure Pipelines: `##vso[...]` logging commands, escaped as the agent unescapes them.
use super::{
    Dialect, Effect, Level, Platform, Spec, Value, Var, check_env_name, configured, joined,
};
use crate::error::Result;
use crate::secret::{ApiKey, Sensitive};

pub const SPEC: Spec = Spec {
    detect: |v| {
        v.tf_build
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    },
    job_id: |v| joined(&[&v.build_buildid, &v.system_jobid]),
    job_vars: "BUILD_BUILDID and SYSTEM_JOBID",
    // A set variable replaces the pipeline's: `$(BASETEN_API_KEY)` in the post-job step (the
    // task's own, or a last step's env) expands to it.
    export_reaches_post: Some("the post-job step"),
    dialect: |_| configured(Azure),
};

pub struct Azure;

/// The agent's escaping: `%` first (as `%AZP25`), then `;`, CR, LF and `]`.
pub fn escape(s: &str) -> String {
    s.replace('%', "%AZP25")
        .replace(';', "%3B")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
}

impl Dialect for Azure {
    fn platform(&self) -> Platform {
        Platform::Azure
    }

    fn mask(&self, key: &ApiKey) -> Vec<Effect> {
        vec![Effect::Command(Sensitive::new(format!(
            "##vso[task.setsecret]{}",
            escape(key.expose())
        )))]
    }

    fn export(&self, vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        let mut effects = Vec::new();
        for var in vars {
            check_env_name(var.name)?;
            let secret = if matches!(var.value, Value::Secret(_)) {
                ";issecret=true"
            } else {
                ""
            };
            effects.push(Effect::Command(Sensitive::new(format!(
                "##vso[task.setvariable variable={}{secret}]{}",
                var.name,
                escape(var.value.expose())
            ))));
        }
        Ok(Some(effects))
    }

    fn annotate(&self, level: Level, message: &str) -> Vec<Effect> {
        vec![Effect::Command(Sensitive::new(format!(
            "##vso[task.logissue type={}]{}",
            level.as_str(),
            escape(&neutralize(message))
        )))]
    }

    fn group_start(&self, title: &str) -> Vec<Effect> {
        let title = neutralize(title);
        vec![Effect::Command(Sensitive::new(format!("##[group]{title}")))]
    }

    fn group_end(&self) -> Vec<Effect> {
        vec![Effect::Command(Sensitive::new("##[endgroup]".to_owned()))]
    }

    fn neutralize(&self, line: &str) -> String {
        neutralize(line)
    }
}

/// The agent finds `##vso[` and `##[` anywhere in a line: no two `#` may stay adjacent.
pub fn neutralize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c == '#' && out.ends_with('#') {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
#[path = "../../tests/common/azure_oracle.rs"]
mod oracle;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    use super::oracle::unescape;

    proptest! {
        #[test]
        fn neutralized_lines_hold_no_command_prefix(s in r"[#\[vso a-z]{0,30}") {
            let n = neutralize(&s);
            prop_assert!(!n.contains("##"), "{:?} -> {:?}", s, n);
            prop_assert_eq!(n.replace("# ", "#").replace(' ', ""), s.replace(' ', ""));
        }

        #[test]
        fn the_agent_reads_back_what_was_escaped(s in r"(%|%3B|%AZP25|;|\r|\n|\]|##vso\[|[a-z]|é){0,30}") {
            let escaped = escape(&s);
            prop_assert!(!escaped.contains(['\r', '\n', ';', ']']));
            prop_assert_eq!(unescape(&escaped), s);
        }
    }

    #[test]
    fn escapes_like_the_agent_expects() {
        assert_eq!(escape("a%b;c\r\nd]e"), "a%AZP25b%3Bc%0D%0Ad%5De");
        assert_eq!(
            neutralize("x ##vso[task.setvariable variable=A]b"),
            "x # #vso[task.setvariable variable=A]b"
        );
    }
}
