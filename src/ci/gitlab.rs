//! GitLab CI: collapsible log sections, and the dotenv report format. GitLab has no runtime mask,
//! so the key is never printed; the README asks for a Masked and hidden variable.
use super::{Dialect, Effect, Platform, Spec, configured, identity, is_true};
use crate::error::{Error, Result};

const SECTION: &str = "truss_ci_login";
/// GitLab rejects dotenv reports of 5 KB or more.
pub const DOTENV_MAX: usize = 5 * 1024;

pub const SPEC: Spec = Spec {
    detect: |v| is_true(&v.gitlab_ci),
    // Job ids are unique within one GitLab; one runner host may serve two.
    job_id: |v| identity(&[&v.ci_job_id], &[&v.ci_server_host]),
    job_vars: "CI_JOB_ID",
    // No runtime export; after_script runs in a shell of its own with the job's variables.
    export_reaches_post: None,
    dialect: |_| configured(Gitlab { started: now() }),
};

pub struct Gitlab {
    started: u64,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Dialect for Gitlab {
    fn platform(&self) -> Platform {
        Platform::Gitlab
    }

    fn groups_always(&self) -> bool {
        true
    }

    fn missing_key_hint(&self) -> &'static str {
        "define BASETEN_API_KEY as a masked CI/CD variable; a protected variable reaches only protected branches and tags"
    }

    fn group_start(&self, title: &str) -> Vec<Effect> {
        vec![Effect::Log(format!(
            "\x1b[0Ksection_start:{}:{SECTION}[collapsed=true]\r\x1b[0K{}",
            self.started,
            super::clean(title)
        ))]
    }

    fn group_end(&self) -> Vec<Effect> {
        vec![Effect::Log(format!(
            "\x1b[0Ksection_end:{}:{SECTION}\r\x1b[0K",
            now()
        ))]
    }
}

/// `KEY=VALUE` lines in GitLab's dotenv report format: names `[A-Za-z0-9_]`, one line per value,
/// `$` doubled (GitLab expands variables in dotenv values), no blank lines.
pub fn dotenv_lines(vars: &[(&str, &str)]) -> Result<String> {
    let mut text = String::new();
    for (name, value) in vars {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::unexpected(format!("{name:?} is not a dotenv name")));
        }
        super::check_single_line("a dotenv report", name, value)?;
        text.push_str(&format!("{name}={}\n", value.trim().replace('$', "$$")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_have_gitlab_markers() {
        let g = Gitlab { started: 42 };
        let Effect::Log(start) = &g.group_start("truss-ci login")[0] else {
            panic!()
        };
        assert_eq!(
            start,
            "\x1b[0Ksection_start:42:truss_ci_login[collapsed=true]\r\x1b[0Ktruss-ci login"
        );
        let Effect::Log(end) = &g.group_end()[0] else {
            panic!()
        };
        assert!(
            end.starts_with("\x1b[0Ksection_end:") && end.ends_with(":truss_ci_login\r\x1b[0K")
        );
    }

    #[test]
    fn dotenv_lines_follow_the_report_format() {
        assert_eq!(
            dotenv_lines(&[("A", "x$y"), ("B_2", "https://h")]).unwrap(),
            "A=x$$y\nB_2=https://h\n"
        );
        assert!(dotenv_lines(&[("A-B", "x")]).is_err());
        assert!(dotenv_lines(&[("A", "x\ny")]).is_err());
    }
}
