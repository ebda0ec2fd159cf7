//! What a command runs in besides its settings: the environment, the platform, the output.
use std::path::PathBuf;
use std::time::Duration;

use crate::ci::Platform;
use crate::env::Env;
use crate::keyring_store::Keyring;
use crate::output::Output;

/// How long a request, or a wait for the trussrc's lock, may take unless `--timeout` says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a command runs in besides its settings: the environment snapshot, the platform (and
/// what it offers), and the output.
pub struct Context<'a> {
    pub env: &'a Env,
    pub platform: Platform,
    pub out: &'a Output,
    /// What the platform suggests when no key was found (a GitHub fork, say).
    pub missing_key_hint: &'static str,
    /// A directory the platform wipes after the job, if it has one.
    pub job_temp_dir: Option<PathBuf>,
    /// Whether the platform hands the login's id to its post step itself.
    pub hands_state_to_post: bool,
    /// Where truss keeps keys outside the trussrc (or that it is disabled by env).
    pub keyring: Keyring,
    /// This CI job's identity, if it has one.
    pub job: Option<String>,
}
