//! Jenkins: no log protocol (the README shows `withCredentials`), but a job identity.
use super::plain::Plain;
use super::{Platform, Spec, configured, identity};

pub const SPEC: Spec = Spec {
    detect: |v| v.jenkins_url.is_some(),
    // Not BUILD_TAG: it writes `/` as `-`, so `a/b-c` #1 and `a-b/c` #1 share one, and so do the
    // parallel branches of one build. A build's branches run on executors of their own (one
    // node's executors are numbered, nodes named). Not the stage: a pipeline's `post` runs in a
    // stage of its own ("Declarative: Post Actions") and must find the login of the stage before.
    job_id: |v| {
        identity(
            &[&v.job_name, &v.build_number],
            &[&v.node_name, &v.executor_number],
        )
    },
    job_vars: "JOB_NAME and BUILD_NUMBER",
    // No export at all.
    export_reaches_post: None,
    dialect: |_| configured(Plain(Platform::Jenkins)),
};
