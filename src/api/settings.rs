//! How the API is reached and how its verdict is taken: filled by the settings from the flags.
use std::path::PathBuf;
use std::time::Duration;

use super::Proxies;
use crate::urls::derive_api_url;

/// How the API is reached and how its verdict is taken: what every key check shares.
#[derive(Debug, Default)]
pub struct ApiSettings {
    /// `--api-url`/env, already checked; `None` means "derived from the remote's URL".
    pub api_url: Option<String>,
    pub timeout: Duration,
    pub allow_http: bool,
    pub allow_restricted: bool,
    pub ca_cert: Option<PathBuf>,
    /// `--require-key-type`, in the API's spelling (`WORKSPACE_INVOKE`); empty when not asked.
    pub require_key_type: Vec<String>,
    /// `SSL_CERT_FILE`, which the TLS stack reads itself.
    pub ssl_cert_file: Option<String>,
    /// The proxies, checked: exactly what the HTTP client is given.
    pub proxies: Proxies,
}

impl ApiSettings {
    /// The API base: `--api-url` (or env), else derived from `remote_url` (normalised).
    pub fn api_url_for(&self, remote_url: &str) -> String {
        self.api_url
            .clone()
            .unwrap_or_else(|| derive_api_url(remote_url))
    }
}
