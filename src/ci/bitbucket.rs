//! Bitbucket Pipelines: exports are `NAME=value` lines appended to
//! `$BITBUCKET_PIPELINES_VARIABLES_PATH`; the step lists them under `output-variables`.
use std::path::PathBuf;

use super::{Dialect, Effect, Platform, Var, check_env_name, check_single_line};
use crate::env::{Env, path_var};
use crate::error::Result;
use crate::secret::Sensitive;

pub struct Bitbucket {
    path: Option<PathBuf>,
}

impl Bitbucket {
    pub fn from_env(env: &Env) -> Self {
        Self {
            path: path_var(&env.vars.bitbucket_pipelines_variables_path),
        }
    }
}

impl Dialect for Bitbucket {
    fn platform(&self) -> Platform {
        Platform::Bitbucket
    }

    fn export(&self, vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        let Some(path) = &self.path else {
            return Ok(None);
        };
        let mut text = String::new();
        for var in vars {
            check_env_name(var.name)?;
            check_single_line(
                "BITBUCKET_PIPELINES_VARIABLES_PATH",
                var.name,
                var.value.expose(),
            )?;
            text.push_str(&format!("{}={}\n", var.name, var.value.expose()));
        }
        Ok(Some(vec![Effect::Append {
            what: "BITBUCKET_PIPELINES_VARIABLES_PATH",
            path: path.clone(),
            text: Sensitive::new(text),
        }]))
    }
}
