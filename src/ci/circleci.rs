//! CircleCI: exports are `export` lines appended to `$BASH_ENV`, which bash sources before each
//! later step.
use super::plain::ExportFile;
use super::{Platform, Spec, configured, is_true, joined, shell};
use crate::env::path_var;

pub const SPEC: Spec = Spec {
    detect: |v| is_true(&v.circleci),
    job_id: |v| joined(&[&v.circle_workflow_job_id]),
    job_vars: "CIRCLE_WORKFLOW_JOB_ID",
    dialect: |env| {
        configured(ExportFile {
            platform: Platform::Circleci,
            what: "BASH_ENV",
            path: path_var(&env.vars.bash_env),
            lines: shell::export_lines,
        })
    },
};
