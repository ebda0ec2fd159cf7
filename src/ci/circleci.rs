//! CircleCI: exports are `export` lines appended to `$BASH_ENV`, which bash sources before each
//! later step.
use std::path::PathBuf;

use super::{Dialect, Effect, Platform, Var, shell};
use crate::env::{Env, path_var};
use crate::error::Result;

pub struct Circleci {
    bash_env: Option<PathBuf>,
}

impl Circleci {
    pub fn from_env(env: &Env) -> Self {
        Self {
            bash_env: path_var(&env.vars.bash_env),
        }
    }
}

impl Dialect for Circleci {
    fn platform(&self) -> Platform {
        Platform::Circleci
    }

    fn export(&self, vars: &[Var<'_>]) -> Result<Option<Vec<Effect>>> {
        let Some(path) = &self.bash_env else {
            return Ok(None);
        };
        Ok(Some(vec![Effect::Append {
            what: "BASH_ENV",
            path: path.clone(),
            text: shell::export_lines(vars)?,
        }]))
    }
}
