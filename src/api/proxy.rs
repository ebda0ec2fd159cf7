//! The proxies, from the proxy variables alone, parsed and checked once: exactly what the HTTP
//! client is given.
use url::Url;

use crate::error::{Error, Result};

/// A proxy URL, parsed once from the variable that names it; this parsed URL is what the HTTP
/// client is given. `Debug` names the variable only: the URL may hold a password.
pub struct ProxyUrl {
    pub var: &'static str,
    pub url: Url,
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUrl({})", self.var)
    }
}

/// The proxies for the key check, from the proxy variables alone: the HTTP client reads none
/// itself. For each of http, https, all and no, the lowercase variable wins over the uppercase
/// one (truss and curl agree), and every one that is set must be usable.
#[derive(Debug, Default)]
pub struct Proxies {
    /// For http:// API URLs (`http_proxy`, `HTTP_PROXY`).
    pub http: Option<ProxyUrl>,
    /// For https:// API URLs (`https_proxy`, `HTTPS_PROXY`).
    pub https: Option<ProxyUrl>,
    /// For either, where the one above is unset (`all_proxy`, `ALL_PROXY`).
    pub all: Option<ProxyUrl>,
    /// Hosts that are reached directly (`no_proxy`, `NO_PROXY`), as the variable says: its own
    /// grammar (comma-separated, blanks around entries ignored) is the HTTP client's.
    pub no_proxy: Option<String>,
}

impl Proxies {
    /// `vars`: the proxy variables that are set, lowercase names before uppercase ones
    /// ([`crate::env::Env::proxies`]). A value that cannot be used exactly as it is is refused
    /// (exit 2) by its name, never its value.
    pub fn resolve(vars: &[(&'static str, &str)]) -> Result<Self> {
        let mut proxies = Self::default();
        for &(var, value) in vars {
            let lower = var.to_ascii_lowercase();
            if lower == "no_proxy" {
                proxies.no_proxy.get_or_insert_with(|| value.to_owned());
                continue;
            }
            let parsed = ProxyUrl {
                var,
                url: parse_proxy(var, value)?,
            };
            let slot = match lower.as_str() {
                "http_proxy" => &mut proxies.http,
                "https_proxy" => &mut proxies.https,
                _ => &mut proxies.all,
            };
            slot.get_or_insert(parsed);
        }
        Ok(proxies)
    }
}

/// Parses a proxy variable's value as it is: no trimming, no repair. A value without `://` is
/// `http://` + value, as curl and the HTTP client read it.
fn parse_proxy(var: &str, value: &str) -> Result<Url> {
    let bad = |why: &str| {
        Error::usage(format!("{var} {why}; no request was made"))
            .with_hint(format!("set {var} to a proxy URL such as http://proxy.example:3128 (a user name or password percent-encoded, no spaces), or unset it"))
    };
    // Url::parse drops tabs and newlines and trims spaces, and the HTTP client would not read
    // such a value at all: look at the raw text first.
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or a control character"));
    }
    if value.contains(char::REPLACEMENT_CHARACTER) {
        return Err(bad("is not valid UTF-8"));
    }
    let text = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(&text).map_err(|e| bad(&format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::usage(format!(
            "{var} uses a {}:// proxy, which truss-ci cannot use: it speaks http:// and https:// proxies",
            url.scheme()
        ))
        .with_hint(format!("set {var} to an http:// or https:// proxy, or unset it")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    // The HTTP client reads the URL's text once more, and drops a proxy it cannot read: it must
    // read this one, to the same host.
    let again: hyper::Uri = url
        .as_str()
        .parse()
        .map_err(|_| bad("cannot be read by the HTTP client"))?;
    let host = again
        .host()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    let parsed_host = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'));
    if host.is_none() || host != parsed_host {
        return Err(bad("cannot be read by the HTTP client"));
    }
    Ok(url)
}

/// The client's proxies are exactly `proxies`: its own reading of the environment is turned off
/// (it would read the variables again, by its own rules, and drop what it cannot parse).
pub(super) fn with_proxies(
    builder: reqwest::ClientBuilder,
    proxies: &Proxies,
) -> Result<reqwest::ClientBuilder> {
    let mut builder = builder.no_proxy();
    let no_proxy = proxies
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let roles: [(_, fn(_) -> _); 3] = [
        (&proxies.http, reqwest::Proxy::http::<reqwest::Url>),
        (&proxies.https, reqwest::Proxy::https::<reqwest::Url>),
        (&proxies.all, reqwest::Proxy::all::<reqwest::Url>),
    ];
    for (proxy, role) in roles {
        if let Some(p) = proxy {
            let proxy = role(p.url.clone()).map_err(|_| {
                Error::usage(format!(
                    "{} cannot be used as a proxy; no request was made",
                    p.var
                ))
                .with_hint(format!(
                    "set {} to an http:// or https:// proxy URL, or unset it",
                    p.var
                ))
            })?;
            builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
        }
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_used_as_parsed_or_refused_by_name() {
        let p = Proxies::resolve(&[
            ("http_proxy", "lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
            ("HTTPS_PROXY", "https://u%20x:p@h:3/ignored"),
            ("no_proxy", "a, b"),
            ("NO_PROXY", "c"),
        ])
        .unwrap();
        let http = p.http.unwrap();
        assert_eq!(
            (http.var, http.url.as_str()),
            ("http_proxy", "http://lower:1/")
        );
        assert_eq!(p.https.unwrap().url.username(), "u%20x");
        assert!(p.all.is_none());
        assert_eq!(p.no_proxy.as_deref(), Some("a, b"));

        for (value, why) in [
            (
                "http://127.0.0.1:3129\n",
                "whitespace or a control character",
            ),
            (
                " http://127.0.0.1:3129",
                "whitespace or a control character",
            ),
            (
                "http://127.0.0.1:3129\t",
                "whitespace or a control character",
            ),
            (
                "http://us er:pw@127.0.0.1:3129",
                "whitespace or a control character",
            ),
            (
                "http://127.0.0.1:3129\u{a0}",
                "whitespace or a control character",
            ),
            ("http://[::1", "is not a valid URL"),
            ("http://", "is not a valid URL"),
            ("http://:3129", "is not a valid URL"),
            ("http://h:99999", "is not a valid URL"),
            ("socks5://127.0.0.1:1080", "uses a socks5:// proxy"),
            ("http://h\u{fffd}:1", "not valid UTF-8"),
        ] {
            let err = Proxies::resolve(&[("HTTPS_PROXY", "http://fine:1"), ("HTTP_PROXY", value)])
                .unwrap_err();
            assert_eq!(err.exit_code(), 2, "{value:?}");
            assert!(err.message.starts_with("HTTP_PROXY "), "{}", err.message);
            assert!(err.message.contains(why), "{value:?}: {}", err.message);
            let hint = err.hint.clone().unwrap_or_default();
            for part in ["3129", "us er", "[::1", "99999"] {
                if value.contains(part) {
                    assert!(
                        !err.message.contains(part) && !hint.contains(part),
                        "{value:?}"
                    );
                }
            }
        }
        // An unused variable is checked all the same.
        assert!(Proxies::resolve(&[("all_proxy", "http://a:1"), ("ALL_PROXY", "x y")]).is_err());
    }
}
