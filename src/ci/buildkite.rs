//! Buildkite: the agent's log redactor for the key, and its Job API (`env set`) for exports.
//! Both take their input on stdin, so the key never reaches argv.
use super::{Dialect, Effect, Platform, Spec, Var, check_env_name, configured, is_true, joined};
use crate::error::Result;
use crate::secret::{ApiKey, Sensitive};

pub const SPEC: Spec = Spec {
    detect: |v| is_true(&v.buildkite),
    job_id: |v| joined(&[&v.buildkite_job_id]),
    job_vars: "BUILDKITE_JOB_ID",
    // `env set` changes the job's environment for every later phase, pre-exit included.
    export_reaches_post: Some("the pre-exit hook"),
    dialect: |_| configured(Buildkite),
};

pub struct Buildkite;

const AGENT: &str = "buildkite-agent";

impl Dialect for Buildkite {
    fn platform(&self) -> Platform {
        Platform::Buildkite
    }

    fn neutralize(&self, line: &str) -> String {
        neutralize(line)
    }

    fn mask(&self, key: &ApiKey) -> Vec<Effect> {
        vec![Effect::Run {
            program: AGENT,
            args: vec!["redactor", "add"],
            stdin: Sensitive::new(key.expose().to_owned()),
            unable: "the key could not be added to the log redactor",
        }]
    }

    fn export(&self, vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        let mut object = serde_json::Map::new();
        for var in vars {
            check_env_name(var.name)?;
            object.insert(var.name.to_owned(), var.value.expose().into());
        }
        Ok(Some(vec![Effect::Run {
            program: AGENT,
            args: vec![
                "env",
                "set",
                "--input-format=json",
                "--output-format=quiet",
                "-",
            ],
            stdin: Sensitive::new(serde_json::Value::Object(object).to_string()),
            unable: "--export-env could not set env for later phases",
        }]))
    }
}

/// The log reads a line that starts with `---`, `+++`, `~~~` or `^^^` as a group header (or the
/// expansion of one): such a line of untrusted text gets a space after its first character.
pub fn neutralize(line: &str) -> String {
    let indent = line.len() - line.trim_start().len();
    let rest = &line[indent..];
    if ["---", "+++", "~~~", "^^^"]
        .iter()
        .any(|h| rest.starts_with(h))
    {
        format!("{}{} {}", &line[..indent], &rest[..1], &rest[1..])
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_lines_open_no_group() {
        assert_eq!(neutralize("--- evil"), "- -- evil");
        assert_eq!(neutralize("  +++ evil"), "  + ++ evil");
        assert_eq!(neutralize("^^^ +++"), "^ ^^ +++");
        assert_eq!(neutralize("a --- b"), "a --- b");
    }
}
