//! Jenkins: no log protocol (the README shows `withCredentials`), but a job identity.
use super::plain::Plain;
use super::{Platform, Spec, configured, identity};

pub const SPEC: Spec = Spec {
    detect: |v| v.jenkins_url.is_some(),
    // Not BUILD_TAG: it writes `/` as `-`, so `a/b-c` #1 and `a-b/c` #1 share one, and so do the
    // parallel branches of one build. A build's branches run on executors of their own (one
    // node's executors are numbered, nodes named) or in stages of their own.
    job_id: |v| {
        identity(
            &[&v.job_name, &v.build_number],
            &[&v.node_name, &v.executor_number, &v.stage_name],
        )
    },
    job_vars: "JOB_NAME and BUILD_NUMBER",
    dialect: |_| configured(Plain(Platform::Jenkins)),
};
