//! Platforms with no log protocol: plain terminals and `--ci none` (one platform, two spellings),
//! and the dialects of the platforms whose only effect is a file of exports for later steps.
use std::path::PathBuf;

use super::{Dialect, Effect, Platform, Spec, Var, configured};
use crate::error::Result;
use crate::secret::Sensitive;

pub const SPEC: Spec = Spec {
    // Last in detection order: whatever no other platform claims.
    detect: |_| true,
    job_id: |_| None,
    job_vars: "a CI job identity",
    // No export at all.
    export_reaches_post: None,
    dialect: |_| configured(Plain(Platform::Plain)),
};

/// Nothing platform-specific at all.
pub struct Plain(pub Platform);

impl Dialect for Plain {
    fn platform(&self) -> Platform {
        self.0
    }
}

/// Exports appended to the file a platform's variable names, in the platform's format; nothing
/// where the variable is unset.
pub struct ExportFile {
    pub platform: Platform,
    /// The variable, for messages.
    pub what: &'static str,
    pub path: Option<PathBuf>,
    pub lines: fn(&[Var<'_>]) -> Result<Sensitive>,
}

impl Dialect for ExportFile {
    fn platform(&self) -> Platform {
        self.platform
    }

    fn export(&self, vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        Ok(Some(vec![Effect::Append {
            what: self.what,
            path: path.clone(),
            text: (self.lines)(vars)?,
        }]))
    }
}
