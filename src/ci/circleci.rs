//! CircleCI: exports are `export` lines appended to `$BASH_ENV`, which bash sources before each
//! later step.
use super::plain::ExportFile;
use super::{Platform, Spec, configured, identity, is_true, shell};
use crate::env::path_var;

pub const SPEC: Spec = Spec {
    detect: |v| is_true(&v.circleci),
    // A job's parallel copies share its id, and each has its own node index.
    job_id: |v| identity(&[&v.circle_workflow_job_id], &[&v.circle_node_index]),
    job_vars: "CIRCLE_WORKFLOW_JOB_ID",
    // Every later step sources $BASH_ENV, the `when: always` one included.
    export_reaches_post: Some("the `when: always` step"),
    dialect: |env| {
        configured(ExportFile {
            platform: Platform::Circleci,
            what: "BASH_ENV",
            path: path_var(&env.vars.bash_env),
            lines: shell::export_lines,
        })
    },
};
