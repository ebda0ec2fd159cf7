//! Bitbucket Pipelines: exports are `NAME=value` lines appended to
//! `$BITBUCKET_PIPELINES_VARIABLES_PATH`; the step lists them under `output-variables`.
use super::plain::ExportFile;
use super::{Platform, Spec, Var, check_env_name, check_single_line, configured, joined};
use crate::env::path_var;
use crate::error::Result;
use crate::secret::Sensitive;

const WHAT: &str = "BITBUCKET_PIPELINES_VARIABLES_PATH";

pub const SPEC: Spec = Spec {
    detect: |v| v.bitbucket_build_number.is_some(),
    job_id: |v| joined(&[&v.bitbucket_step_uuid]),
    job_vars: "BITBUCKET_STEP_UUID",
    // Output variables reach later steps, not this step's after-script.
    export_reaches_post: None,
    dialect: |env| {
        configured(ExportFile {
            platform: Platform::Bitbucket,
            what: WHAT,
            path: path_var(&env.vars.bitbucket_pipelines_variables_path),
            lines,
        })
    },
};

/// `NAME=value` lines; a value must fit on one.
fn lines(vars: &[Var<'_>]) -> Result<Sensitive> {
    let mut text = String::new();
    for var in vars {
        check_env_name(var.name)?;
        check_single_line(WHAT, var.name, var.value.expose())?;
        text.push_str(&format!("{}={}\n", var.name, var.value.expose()));
    }
    Ok(Sensitive::new(text))
}
