//! Jenkins: no log protocol (the README shows `withCredentials`), but a job identity.
use super::plain::Plain;
use super::{Platform, Spec, configured, joined};

pub const SPEC: Spec = Spec {
    detect: |v| v.jenkins_url.is_some(),
    job_id: |v| joined(&[&v.build_tag]),
    job_vars: "BUILD_TAG",
    dialect: |_| configured(Plain(Platform::Jenkins)),
};
