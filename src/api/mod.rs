//! The Baseten API client: one key check, `GET {api_url}/v1/users/me`, with a whole-call deadline,
//! full-jitter retries of what is transient, no redirects and a capped body.
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::error::{Error, Kind, Result};

mod classify;

use crate::secret::{ApiKey, EXCERPT_MAX, Scrubber};
use classify::{Class, classify, error_chain};

/// Bodies are read up to this size; the rest is never read.
pub const MAX_BODY: usize = 64 * 1024;
const MAX_ATTEMPTS: u32 = 6;
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// No retry comes sooner than this, whatever `Retry-After` or the jitter says.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// A CA file larger than this is not one.
const MAX_PEM: u64 = 4 * 1024 * 1024;
pub const USER_AGENT: &str = concat!("truss-ci/", env!("CARGO_PKG_VERSION"));

/// Who the key belongs to, as `/v1/users/me` tells (every field optional: parsed tolerantly).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct User {
    #[serde(default, skip_serializing)]
    pub user_id: Option<serde_json::Value>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(
        default,
        rename(deserialize = "workspace_name", serialize = "workspace")
    )]
    pub workspace: Option<String>,
}

/// How a check ended when the key was accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid(User),
    /// 403: the key authenticated but may not call the management API.
    Restricted,
}

/// What one attempt came to.
enum Attempt {
    Done(Verdict),
    Fatal(Error),
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
}

/// Extra trust for the check: CA certificates from `--ca-cert`, in addition to the system's (and
/// `SSL_CERT_FILE`'s).
#[derive(Default)]
pub struct Trust {
    pub ca_certs: Vec<reqwest::Certificate>,
}

impl Trust {
    /// Reads a PEM file of one or more CA certificates, through the checked open: a regular file
    /// (a FIFO would block), not a symbolic link.
    pub fn from_pem_file(path: &std::path::Path) -> Result<Self> {
        let pem =
            crate::atomic_file::read_checked(path, MAX_PEM, crate::atomic_file::Owner::Anyone)
                .map_err(|e| {
                    Error::usage(format!("could not read --ca-cert {}: {e}", path.display()))
                        .with_hint("name the PEM file itself, not a link to it")
                })?;
        let ca_certs = reqwest::Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Error::usage(format!(
                    "--ca-cert {} holds no PEM certificate",
                    path.display()
                ))
            })?;
        Ok(Self { ca_certs })
    }
}

/// The URL of the key check, `{api_url}/v1/users/me`, with no doubled slash.
pub fn users_me_url(api_url: &str) -> String {
    format!("{}/v1/users/me", api_url.trim_end_matches('/'))
}

/// How a key check runs.
pub struct CheckOptions<'a> {
    /// The deadline for the whole check, retries included.
    pub deadline: Duration,
    /// `--ca-cert`: CA certificates trusted in addition to the system's.
    pub ca_cert: Option<&'a std::path::Path>,
    /// `SSL_CERT_FILE`, which the TLS stack reads itself: checked first, so it cannot block.
    pub ssl_cert_file: Option<&'a str>,
    /// The proxy variables set (name, value), lowercase names first: parsed and checked here,
    /// and the parsed URLs are the only proxies the HTTP client is given.
    pub proxies: Vec<(&'static str, &'a str)>,
}

/// Checks `key` on a current-thread runtime.
pub fn check(
    api_url: &str,
    key: &ApiKey,
    source: &str,
    options: &CheckOptions<'_>,
) -> Result<Verdict> {
    let proxies = crate::settings::Proxies::resolve(&options.proxies)?;
    let trust = match options.ca_cert {
        Some(path) => Trust::from_pem_file(path)?,
        None => Trust::default(),
    };
    if api_url.starts_with("https:")
        && let Some(file) = options.ssl_cert_file.filter(|f| !f.is_empty())
    {
        crate::atomic_file::probe_regular(std::path::Path::new(file)).map_err(|e| {
            Error::usage(format!(
                "SSL_CERT_FILE names {file}, which cannot be used: {e}"
            ))
            .with_hint("point SSL_CERT_FILE at a PEM file of CA certificates, or unset it")
        })?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::unexpected(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(check_key(
        api_url,
        key,
        source,
        options.deadline,
        &trust,
        &proxies,
    ))
}

/// Checks `key` against `{api_url}/v1/users/me` within `deadline`.
pub async fn check_key(
    api_url: &str,
    key: &ApiKey,
    source: &str,
    deadline: Duration,
    trust: &Trust,
    proxies: &crate::settings::Proxies,
) -> Result<Verdict> {
    let url = Url::parse(&users_me_url(api_url))
        .map_err(|e| Error::usage(format!("API URL {api_url} is not valid: {e}")))?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let started = Instant::now();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .connect_timeout(deadline.min(Duration::from_secs(10)))
        // The system's CA roots are read from disk only when the check is over TLS.
        .tls_built_in_root_certs(url.scheme() == "https");
    for cert in &trust.ca_certs {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder = with_proxies(builder, proxies)?;
    let client = builder
        .build()
        .map_err(|e| Error::unexpected(format!("could not set up the HTTP client: {e}")))?;

    let scrubber = Scrubber::new(key);
    let mut last_error = String::from("no attempt was made");
    for attempt in 0..MAX_ATTEMPTS {
        let Some(remaining) = deadline.checked_sub(started.elapsed()) else {
            break;
        };
        debug!(attempt = attempt + 1, %host, "checking the API key");
        let outcome =
            tokio::time::timeout(remaining, once(&client, &url, key, source, &scrubber)).await;
        let (error, retry_after) = match outcome {
            Ok(Attempt::Done(v)) => return Ok(v),
            Ok(Attempt::Fatal(e)) => return Err(e),
            Ok(Attempt::Transient { error, retry_after }) => (error, retry_after),
            Err(_) => (
                format!("no answer within {:.1}s", deadline.as_secs_f64()),
                None,
            ),
        };
        last_error = error;
        if attempt + 1 == MAX_ATTEMPTS {
            break;
        }
        let remaining = deadline.saturating_sub(started.elapsed());
        let wait = match retry_after {
            Some(wait) if wait > remaining => {
                return Err(unreachable(
                    &host,
                    &format!(
                        "{last_error}; the server asked to retry after {}s, beyond the {:.0}s deadline",
                        wait.as_secs(),
                        deadline.as_secs_f64()
                    ),
                ));
            }
            Some(wait) => wait.max(MIN_BACKOFF),
            None => full_jitter(attempt).max(MIN_BACKOFF),
        };
        if wait >= remaining {
            break;
        }
        warn!(
            "attempt {} of {MAX_ATTEMPTS} to reach {host} failed ({last_error}); retrying in {:.1}s",
            attempt + 1,
            wait.as_secs_f64()
        );
        tokio::time::sleep(wait).await;
    }
    Err(unreachable(&host, &last_error))
}

/// Which destinations a proxy serves.
enum Role {
    Http,
    Https,
    All,
}

/// The client's proxies are exactly `proxies`: its own reading of the environment is turned off
/// (it would read the variables again, by its own rules, and drop what it cannot parse).
fn with_proxies(
    builder: reqwest::ClientBuilder,
    proxies: &crate::settings::Proxies,
) -> Result<reqwest::ClientBuilder> {
    let mut builder = builder.no_proxy();
    let no_proxy = proxies
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let roles = [
        (&proxies.http, Role::Http),
        (&proxies.https, Role::Https),
        (&proxies.all, Role::All),
    ];
    for (proxy, role) in roles {
        if let Some(p) = proxy {
            let url = p.url.clone();
            let proxy = match role {
                Role::Http => reqwest::Proxy::http(url),
                Role::Https => reqwest::Proxy::https(url),
                Role::All => reqwest::Proxy::all(url),
            }
            .map_err(|_| {
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

fn unreachable(host: &str, detail: &str) -> Error {
    Error::new(
        Kind::Unreachable,
        format!("could not reach the Baseten API at {host}: {detail}"),
    )
    .with_hint("check the network, proxy settings (HTTPS_PROXY, NO_PROXY) and --api-url; nothing was written")
}

/// One request and its classification. Every piece of text the server controls (body, headers,
/// redirect target) and every error's text pass `scrubber` before anything else is done to them.
async fn once(
    client: &reqwest::Client,
    url: &Url,
    key: &ApiKey,
    source: &str,
    scrubber: &Scrubber,
) -> Attempt {
    let host = url.host_str().unwrap_or_default();
    let mut auth = match HeaderValue::from_str(&format!("Api-Key {}", key.expose())) {
        Ok(v) => v,
        Err(_) => {
            return Attempt::Fatal(Error::usage(format!(
                "the API key from {source} cannot be sent in an HTTP header"
            )));
        }
    };
    auth.set_sensitive(true);
    let response = client
        .get(url.clone())
        .header(AUTHORIZATION, auth)
        .header(ACCEPT, "application/json")
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return failed_request(&e, host, scrubber),
    };
    let status = response.status();
    debug!(%status, "API answered");
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| location_text(&location_host(url, l), scrubber));

    match status {
        s if s.is_redirection() => Attempt::Fatal(
            Error::new(
                Kind::Unreachable,
                format!(
                    "the API at {host} answered {s} with a redirect to {}; the key is never sent to another host",
                    location.unwrap_or_else(|| "an unnamed location".into())
                ),
            )
            .with_hint("set --api-url to the API's final address"),
        ),
        StatusCode::UNAUTHORIZED => Attempt::Fatal(
            Error::new(
                Kind::Rejected,
                format!("the Baseten API at {host} rejected the API key from {source} (401 Unauthorized)"),
            )
            .with_hint("the key is wrong, revoked or for another environment: create a new key in Baseten's settings and update the secret"),
        ),
        StatusCode::FORBIDDEN => Attempt::Done(Verdict::Restricted),
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::INTERNAL_SERVER_ERROR
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => {
            let snippet = read_capped(&mut response).await.map(|b| snippet(&b, scrubber)).unwrap_or_default();
            Attempt::Transient {
                error: format!("{status}{snippet}"),
                retry_after,
            }
        }
        s if s.is_success() => match read_capped(&mut response).await {
            Err(error) => Attempt::Transient { error: scrubber.excerpt(&error, 3 * EXCERPT_MAX), retry_after: None },
            Ok(body) => match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(value @ serde_json::Value::Object(_)) => {
                    Attempt::Done(Verdict::Valid(serde_json::from_value(value).unwrap_or_default()))
                }
                _ => Attempt::Fatal(
                    Error::new(
                        Kind::Unreachable,
                        format!(
                            "{host} answered {s} but not with Baseten's user info (not a JSON object{})",
                            if body.len() >= MAX_BODY { ", or over 64 KiB" } else { "" }
                        ),
                    )
                    .with_hint("check --api-url: something other than the Baseten API answered"),
                ),
            },
        },
        s => {
            let snippet = read_capped(&mut response).await.map(|b| snippet(&b, scrubber)).unwrap_or_default();
            Attempt::Fatal(
                Error::new(
                    Kind::Unreachable,
                    format!("the API at {host} answered {s} to the key check{snippet}"),
                )
                .with_hint("check --api-url: this does not look like the Baseten API"),
            )
        }
    }
}

/// A request that got no answer, by the class of its error.
fn failed_request(e: &reqwest::Error, host: &str, scrubber: &Scrubber) -> Attempt {
    // The chain can quote a peer (a certificate's names): it is held to an excerpt like a body.
    let error = scrubber.excerpt(&error_chain(e), 3 * EXCERPT_MAX);
    match classify(e) {
        Class::Transient => Attempt::Transient {
            error,
            retry_after: None,
        },
        Class::Tls => Attempt::Fatal(
            Error::new(
                Kind::Unreachable,
                format!("TLS with {host} failed: {error}"),
            )
            .with_hint(
                "if the API uses a private CA, pass --ca-cert FILE (or set SSL_CERT_FILE) with its certificate",
            ),
        ),
        Class::Fatal(why) => Attempt::Fatal(
            Error::new(Kind::Unreachable, format!("{why}: {error}"))
                .with_hint("this will not change by retrying: check the proxy settings (HTTPS_PROXY, NO_PROXY) and --api-url; nothing was written"),
        ),
    }
}

/// Reads at most [`MAX_BODY`] bytes of the body.
async fn read_capped(response: &mut reqwest::Response) -> std::result::Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while body.len() < MAX_BODY {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(MAX_BODY - body.len());
                body.extend_from_slice(&chunk[..take]);
            }
            Ok(None) => break,
            Err(e) => return Err(format!("reading the answer failed: {}", error_chain(&e))),
        }
    }
    Ok(body)
}

/// A short excerpt of a server's body for an error message (see [`Scrubber::excerpt`]): none of
/// it when it spells the key in pieces.
fn snippet(body: &[u8], scrubber: &Scrubber) -> String {
    let short = scrubber.excerpt(&String::from_utf8_lossy(body), EXCERPT_MAX);
    if short.is_empty() {
        return String::new();
    }
    format!(": {short}")
}

/// A redirect target's host for a message: `****` when it spells the key, even in pieces; else a
/// short plain excerpt.
fn location_text(host: &str, scrubber: &Scrubber) -> String {
    if scrubber.holds_key(host) {
        return "****".to_owned();
    }
    crate::secret::excerpt(&scrubber.scrub(host), EXCERPT_MAX)
}

fn location_host(base: &Url, location: &str) -> String {
    match base.join(location) {
        Ok(u) => match u.port() {
            Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
            None => u.host_str().unwrap_or_default().to_owned(),
        },
        Err(_) => "an unparsable location".into(),
    }
}

/// Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempt)).
fn full_jitter(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1u32 << attempt.min(16))
        .min(BACKOFF_CAP);
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return ceiling / 2;
    }
    let fraction = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    ceiling.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_url_has_no_doubled_slash() {
        assert_eq!(users_me_url("http://h/p/"), "http://h/p/v1/users/me");
        assert_eq!(users_me_url("http://h"), "http://h/v1/users/me");
    }

    #[test]
    fn jitter_stays_under_the_exponential_ceiling() {
        for attempt in 0..8 {
            let ceiling = BACKOFF_BASE.saturating_mul(1 << attempt).min(BACKOFF_CAP);
            for _ in 0..50 {
                assert!(full_jitter(attempt) < ceiling);
            }
        }
    }

    #[test]
    fn snippets_are_single_line_and_short() {
        let none = Scrubber::new(&ApiKey::new("k.secretpart-x".into()));
        assert_eq!(snippet(b"  a\r\n b\x1b[31m ", &none), ": a b ?31m");
        assert_eq!(snippet(b"", &none), "");
        assert_eq!(
            snippet(&[b'x'; 500], &none).chars().count(),
            2 + EXCERPT_MAX + 1
        );
        // The key straddling the cut is scrubbed before the cut, so no tail of it survives.
        let key = ApiKey::new("kid.SECRETSECRETSECRET".into());
        let mut body = "x".repeat(150);
        body.push_str("kid.SECRETSECRETSECRET");
        let cut = snippet(body.as_bytes(), &Scrubber::new(&key));
        assert!(!cut.contains("SECRET"), "{cut}");
    }

    #[test]
    fn redirect_hosts_are_plain_and_never_spell_the_key() {
        let scrubber = Scrubber::new(&ApiKey::new("kid01.Zx9qv7Lw3pTtQ".into()));
        let base = Url::parse("https://api.example/v1/users/me").unwrap();
        let host = |l: &str| location_text(&location_host(&base, l), &scrubber);
        assert_eq!(host("https://zx9qv7l.w3pttq.example/x"), "****");
        assert_eq!(host("https://ZX9-QV7-LW3-PTT-Q.example/x"), "****");
        assert_eq!(host("https://other.example:8443/"), "other.example:8443");
        assert_eq!(host("/relative"), "api.example");
    }

    #[test]
    fn user_info_is_parsed_tolerantly() {
        let u: User = serde_json::from_str(
            r#"{"user_id":"u1","email":"a@b","workspace_name":"ws","extra":[1]}"#,
        )
        .unwrap();
        assert_eq!(u.email.as_deref(), Some("a@b"));
        assert_eq!(u.workspace.as_deref(), Some("ws"));
        let u: User = serde_json::from_str("{}").unwrap();
        assert_eq!(u, User::default());
    }
}
