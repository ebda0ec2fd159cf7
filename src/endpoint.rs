//! Where a key is sent: the remote's URL and the API base, decided one way for every command.
use std::path::Path;

use crate::api::ApiSettings;
use crate::error::{Error, Result};
use crate::trussrc::Document;
use crate::urls::normalize_url;

/// Baseten's own remote, truss's default.
pub const DEFAULT_REMOTE_URL: &str = "https://app.baseten.co";

/// A remote's URL (as the trussrc stores it) and its API's base.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub remote_url: String,
    pub api_url: String,
}

/// The endpoint of `remote`: the URL given (`--remote-url`, its env var, or truss's env-var
/// remote), else the one `remote`'s section of the trussrc at `path` holds (checked as a given one
/// is: the key would go there), else Baseten's; the API from `--api-url` (or its env var), else
/// derived from the remote's URL. `trussrc` is `None` for a command that reads no trussrc.
pub fn endpoint(
    given: Option<&str>,
    api: &ApiSettings,
    remote: &str,
    trussrc: Option<(&Document, &Path)>,
) -> Result<Endpoint> {
    let stored = trussrc.and_then(|(doc, path)| Some((doc.value(remote, "remote_url")?, path)));
    let remote_url = match (given, stored) {
        (Some(url), _) => url.to_owned(),
        (None, Some((url, path))) => {
            normalize_url(&url, "remote_url", api.allow_http).map_err(|e| {
                Error::usage(format!("in {}, [{remote}] {}", path.display(), e.message))
                    .with_hint("fix its remote_url (login: pass --remote-url to replace it)")
            })?
        }
        (None, None) => DEFAULT_REMOTE_URL.to_owned(),
    };
    let api_url = api.api_url_for(&remote_url);
    Ok(Endpoint {
        remote_url,
        api_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_then_the_section_then_baseten_and_the_api_from_the_remote() {
        let api = ApiSettings::default();
        let doc = Document::parse("[r]\nremote_url = https://app.staging.baseten.co/\n").unwrap();
        let at = Some((&doc, Path::new("/h/.trussrc")));
        let e = endpoint(Some("https://x.example"), &api, "r", at).unwrap();
        assert_eq!(e.remote_url, "https://x.example");
        let e = endpoint(None, &api, "r", at).unwrap();
        assert_eq!(e.remote_url, "https://app.staging.baseten.co");
        assert_eq!(e.api_url, "https://api.staging.baseten.co");
        let e = endpoint(None, &api, "other", at).unwrap();
        assert_eq!(e.remote_url, DEFAULT_REMOTE_URL);
        assert_eq!(e.api_url, "https://api.baseten.co");
        let given_api = ApiSettings {
            api_url: Some("http://127.0.0.1:9".into()),
            ..ApiSettings::default()
        };
        assert_eq!(
            endpoint(None, &given_api, "r", None).unwrap().api_url,
            "http://127.0.0.1:9"
        );
        let bad = Document::parse("[r]\nremote_url = http://evil.example\n").unwrap();
        let err = endpoint(None, &api, "r", Some((&bad, Path::new("/h/rc")))).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.starts_with("in /h/rc, [r] "), "{}", err.message);
    }
}
