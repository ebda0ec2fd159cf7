//! The URL rules: what a remote or API URL may be, and the API a remote's URL means.
use url::Url;

use crate::error::{Error, Result, truncate_for_message};

/// Checks a base URL and returns it without trailing slashes, as truss stores `remote_url`.
pub fn normalize_url(raw: &str, what: &str, allow_http: bool) -> Result<String> {
    let trimmed = raw.trim();
    let bad = |why: &str| Error::usage(format!("{what} {:?} {why}", truncate_for_message(trimmed)));
    // Url::parse silently drops tabs and newlines, so look at the raw text first.
    if trimmed.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("contains whitespace or a control character"));
    }
    let url = Url::parse(trimmed).map_err(|e| bad(&format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(bad("must start with https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    check_transport(&url, what, allow_http)?;
    Ok(trimmed.trim_end_matches('/').to_owned())
}

/// The key must not cross the network in clear: http is for loopback unless `--allow-http`.
fn check_transport(url: &Url, what: &str, allow_http: bool) -> Result<()> {
    if url.scheme() == "http" && !allow_http && !is_loopback(url) {
        return Err(Error::usage(format!(
            "{what} {url} uses http:// to a host that is not loopback: the API key would cross the network in clear"
        ))
        .with_hint("use https://, or pass --allow-http if the network path is trusted"));
    }
    Ok(())
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The REST base for a remote URL, with truss's table for Baseten's own hosts and the remote's own
/// origin for anything else.
pub fn derive_api_url(remote_url: &str) -> String {
    let Ok(url) = Url::parse(remote_url) else {
        return remote_url.to_owned();
    };
    let mapped = match url.host_str() {
        Some("app.baseten.co") => Some("api.baseten.co"),
        Some("app.staging.baseten.co") => Some("api.staging.baseten.co"),
        Some("app.dev.baseten.co") => Some("api.mc-dev.baseten.co"),
        _ => None,
    };
    match mapped {
        Some(host) => format!("{}://{host}", url.scheme()),
        None => url.origin().ascii_serialization(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_lose_trailing_slashes() {
        assert_eq!(
            normalize_url(" https://app.baseten.co/ ", "u", false).unwrap(),
            "https://app.baseten.co"
        );
        assert_eq!(
            normalize_url("http://127.0.0.1:9/prefix//", "u", false).unwrap(),
            "http://127.0.0.1:9/prefix"
        );
        normalize_url("http://localhost:9", "u", false).unwrap();
        normalize_url("http://[::1]:9", "u", false).unwrap();
        normalize_url("http://example.com", "u", true).unwrap();
        for bad in [
            "http://example.com",
            "ftp://x",
            "app.baseten.co",
            "https://u:p@x.co",
            "https://x.co/?a=1",
            "https://x.co/\n[evil]",
            "https://x.co/a b",
        ] {
            assert_eq!(
                normalize_url(bad, "u", false).unwrap_err().exit_code(),
                2,
                "{bad}"
            );
        }
    }

    #[test]
    fn api_url_follows_truss_table_else_origin() {
        assert_eq!(
            derive_api_url("https://app.baseten.co"),
            "https://api.baseten.co"
        );
        assert_eq!(
            derive_api_url("https://app.staging.baseten.co"),
            "https://api.staging.baseten.co"
        );
        assert_eq!(
            derive_api_url("https://app.dev.baseten.co"),
            "https://api.mc-dev.baseten.co"
        );
        assert_eq!(
            derive_api_url("http://127.0.0.1:8000/some/path"),
            "http://127.0.0.1:8000"
        );
    }
}
