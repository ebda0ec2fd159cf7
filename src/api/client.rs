//! The client: built once from the API settings, it holds one runtime and one connection pool and
//! runs every request within one deadline, with no redirects, a capped body, full-jitter retries of
//! what is transient, and every byte of server text scrubbed of every key it knows.
use std::cell::Cell;
use std::future::poll_fn;
use std::path::Path;
use std::pin::pin;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use tracing::{debug, warn};
use zeroize::Zeroizing;

use super::ApiSettings;
use super::classify::{Class, classify, error_chain};
use super::scrub::Keys;
use crate::error::{Error, Kind, Result};
use crate::secret::{ApiKey, EXCERPT_MAX};

/// Bodies are read up to this size; the rest is never read.
pub const MAX_BODY: usize = 64 * 1024;
/// The key list's bodies are read up to this size: 10,000 keys take about 3 MiB.
pub const MAX_LIST_BODY: usize = 16 * 1024 * 1024;
const MAX_ATTEMPTS: u32 = 6;
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(8);
/// No retry comes sooner than this, whatever `Retry-After` or the jitter says.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
pub const USER_AGENT: &str = concat!("truss-ci/", env!("CARGO_PKG_VERSION"));

/// What the API answered that the client does not decide itself (redirects, transient statuses
/// and transport failures are its own).
#[derive(Debug)]
pub enum Response<T> {
    /// A 2xx whose body parsed as `T`.
    Ok(T),
    /// A 2xx whose body did not; `over_cap` when it was cut at the request's cap.
    Unparsed { status: StatusCode, over_cap: bool },
    /// Any other status, with a scrubbed excerpt of the body (`": …"`, or empty; the body of a
    /// 401 or 403 is never waited for).
    Status { status: StatusCode, excerpt: String },
}

/// A Baseten API client.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    /// The API URL without a trailing slash; paths are appended to it.
    base: String,
    host: String,
    deadline: Duration,
    /// When the current budget started: at [`Client::new`], or at [`Client::renew`].
    started: Cell<Instant>,
    keys: Keys,
}

/// One request, ready to be sent again.
struct Request {
    method: Method,
    url: Url,
    auth: HeaderValue,
    body: Option<Vec<u8>>,
    /// The most of the answer's body that is read.
    cap: usize,
}

/// What one attempt came to.
enum Attempt<T> {
    Done(Result<Response<T>>),
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
}

impl Client {
    /// Checks the proxies, the CA file and `SSL_CERT_FILE`, then sets up the runtime and the
    /// connection pool. The deadline starts now.
    pub fn new(api_url: &str, settings: &ApiSettings) -> Result<Self> {
        let tls = super::tls::config(settings.ca_cert.as_deref())?;
        if api_url.starts_with("https:")
            && let Some(file) = settings.ssl_cert_file.as_deref().filter(|f| !f.is_empty())
        {
            crate::atomic_file::probe_regular(Path::new(file)).map_err(|e| {
                Error::usage(format!(
                    "SSL_CERT_FILE names {file}, which cannot be used: {e}"
                ))
                .with_hint("point SSL_CERT_FILE at a PEM file of CA certificates, or unset it")
            })?;
        }
        let base = api_url.trim_end_matches('/').to_owned();
        let host = parse_url(&base)?.host_str().unwrap_or_default().to_owned();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::unexpected(format!("could not start the async runtime: {e}")))?;
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .connect_timeout(settings.timeout.min(Duration::from_secs(10)))
            .use_preconfigured_tls(tls);
        let http = super::proxy::with_proxies(builder, &settings.proxies)?
            .build()
            .map_err(|e| Error::unexpected(format!("could not set up the HTTP client: {e}")))?;
        Ok(Self {
            runtime,
            http,
            base,
            host,
            deadline: settings.timeout,
            started: Cell::new(Instant::now()),
            keys: Keys::default(),
        })
    }

    /// Starts a new budget of the whole `--timeout`: what comes after a long wait (the revocation
    /// after `exec`'s command) is not bounded by the deadline of what came before it.
    pub fn renew(&self) {
        self.started.set(Instant::now());
    }

    /// `--timeout`: the budget of one call, and how long its caller waits for a lock.
    pub fn timeout(&self) -> Duration {
        self.deadline
    }

    /// The API's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The API's host, for messages.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `{api_url}{path}` with `key` as the `Authorization` (a sensitive header): the scrubber is
    /// armed with `key` first, and with a key in any answer's body before that body is parsed.
    pub fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        key: &ApiKey,
    ) -> Result<Response<T>> {
        self.request_capped(method, path, body, key, MAX_BODY)
    }

    /// [`Client::request`], reading at most `cap` bytes of the answer (a list that may be large).
    pub fn request_capped<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        key: &ApiKey,
        cap: usize,
    ) -> Result<Response<T>> {
        let request = self.prepare(method, path, body, key, cap)?;
        self.send_meanwhile(&request, || ())
    }

    /// A GET as [`Client::request`] sends it, running `meanwhile` on this thread as soon as the
    /// request first waits (on its connection, or on the lookup of the API's name), or once it is
    /// done if it never waits: work that needs no answer starts once the request is under way,
    /// and overlaps the wait for the server.
    pub fn get_meanwhile<T: DeserializeOwned>(
        &self,
        path: &str,
        key: &ApiKey,
        meanwhile: impl FnOnce(),
    ) -> Result<Response<T>> {
        let request = self.prepare(Method::GET, path, None, key, MAX_BODY)?;
        self.send_meanwhile(&request, meanwhile)
    }

    /// Sends `request` until it is done ([`Client::send`]), running `meanwhile` at its first
    /// wait, or once it is done if it never waits.
    fn send_meanwhile<T: DeserializeOwned>(
        &self,
        request: &Request,
        meanwhile: impl FnOnce(),
    ) -> Result<Response<T>> {
        let mut sending = pin!(self.send::<T>(request));
        let mut meanwhile = Some(meanwhile);
        let answer = self.runtime.block_on(poll_fn(|cx| {
            let polled = sending.as_mut().poll(cx);
            if polled.is_pending()
                && let Some(meanwhile) = meanwhile.take()
            {
                meanwhile();
            }
            polled
        }));
        if let Some(meanwhile) = meanwhile {
            meanwhile();
        }
        answer
    }

    /// A request to `{api_url}{path}` with `key` as its `Authorization` (a sensitive header),
    /// the scrubber armed with `key` first.
    fn prepare(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        key: &ApiKey,
        cap: usize,
    ) -> Result<Request> {
        self.keys.arm(key);
        let header = Zeroizing::new(format!("Api-Key {}", key.expose()));
        let mut auth = HeaderValue::from_str(&header)
            .map_err(|_| Error::usage("the API key cannot be sent in an HTTP header"))?;
        auth.set_sensitive(true);
        Ok(Request {
            method,
            url: parse_url(&format!("{}{path}", self.base))?,
            auth,
            body: body.map(|b| b.to_string().into_bytes()),
            cap,
        })
    }

    /// Sends `request` until it is done, retrying what is transient within the deadline. A POST
    /// is sent once: it creates something, and a retry after a lost answer could create it twice.
    /// A revocation after a long wait starts a budget of its own first ([`Client::renew`]).
    async fn send<T: DeserializeOwned>(&self, request: &Request) -> Result<Response<T>> {
        let mut last_error = String::from("no attempt was made");
        let attempts = if request.method == Method::POST {
            1
        } else {
            MAX_ATTEMPTS
        };
        for attempt in 0..attempts {
            let Some(remaining) = self.deadline.checked_sub(self.started.get().elapsed()) else {
                break;
            };
            debug!(attempt = attempt + 1, host = %self.host, method = %request.method, path = request.url.path(), "calling the API");
            let (error, retry_after) =
                match tokio::time::timeout(remaining, self.once(request)).await {
                    Ok(Attempt::Done(done)) => return done,
                    Ok(Attempt::Transient { error, retry_after }) => (error, retry_after),
                    Err(_) => (
                        format!("no answer within {:.1}s", self.deadline.as_secs_f64()),
                        None,
                    ),
                };
            last_error = error;
            if attempt + 1 == attempts {
                break;
            }
            let Some(wait) = self.backoff(attempt, retry_after, &last_error)? else {
                break;
            };
            warn!(
                "attempt {} of {MAX_ATTEMPTS} to reach {} failed ({last_error}); retrying in {:.1}s",
                attempt + 1,
                self.host,
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
        }
        Err(self.unreachable(&last_error))
    }

    /// How long to wait before the next attempt: `None` when the deadline comes first, an error
    /// when the server asks for a wait beyond it.
    fn backoff(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        last_error: &str,
    ) -> Result<Option<Duration>> {
        let remaining = self.deadline.saturating_sub(self.started.get().elapsed());
        let wait = match retry_after {
            Some(wait) if wait > remaining => {
                return Err(self.unreachable(&format!(
                    "{last_error}; the server asked to retry after {}s, beyond the {:.0}s deadline",
                    wait.as_secs(),
                    self.deadline.as_secs_f64()
                )));
            }
            Some(wait) => wait.max(MIN_BACKOFF),
            None => full_jitter(attempt).max(MIN_BACKOFF),
        };
        Ok((wait < remaining).then_some(wait))
    }

    /// One request and its classification. Every piece of text the server controls (body, headers,
    /// redirect target) and every error's text pass the scrubber before anything else is done to
    /// them.
    async fn once<T: DeserializeOwned>(&self, request: &Request) -> Attempt<T> {
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone())
            .header(AUTHORIZATION, request.auth.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = &request.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return self.failed(&e),
        };
        let status = response.status();
        debug!(%status, "API answered");
        if status.is_redirection() {
            return Attempt::Done(Err(self.redirected(
                status,
                &request.url,
                response.headers(),
            )));
        }
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            let excerpt = String::new();
            return Attempt::Done(Ok(Response::Status { status, excerpt }));
        }
        self.answer(status, response, request.cap).await
    }

    /// What an answer that is neither a redirect nor a 401 or 403 comes to, by its status and
    /// its body (read capped, and armed into the scrubber before it is parsed).
    async fn answer<T: DeserializeOwned>(
        &self,
        status: StatusCode,
        mut response: reqwest::Response,
        cap: usize,
    ) -> Attempt<T> {
        let retry_after = retry_after(response.headers());
        let body = read_capped(&mut response, cap).await;
        // A key an answer carries (a create's) comes in a small body; a list is not read twice.
        if let Ok(body) = &body
            && body.len() <= MAX_BODY
        {
            self.keys.arm_from_body(body);
        }
        if transient(status) {
            let snippet = body.map(|b| self.keys.snippet(&b)).unwrap_or_default();
            let error = format!("{status}{snippet}");
            return Attempt::Transient { error, retry_after };
        }
        let body = match body {
            Ok(body) => body,
            Err(error) if status.is_success() => {
                let error = self.keys.excerpt(&error, 3 * EXCERPT_MAX);
                return Attempt::Transient {
                    error,
                    retry_after: None,
                };
            }
            Err(_) => Zeroizing::new(Vec::new()),
        };
        Attempt::Done(Ok(if status.is_success() {
            match serde_json::from_slice(&body) {
                Ok(value) => Response::Ok(value),
                Err(_) => Response::Unparsed {
                    status,
                    over_cap: body.len() >= cap,
                },
            }
        } else {
            Response::Status {
                status,
                excerpt: self.keys.snippet(&body),
            }
        }))
    }

    /// A request that got no answer, by the class of its error.
    fn failed<T>(&self, e: &reqwest::Error) -> Attempt<T> {
        // The chain can quote a peer (a certificate's names): it is held to an excerpt like a body.
        let error = self.keys.excerpt(&error_chain(e), 3 * EXCERPT_MAX);
        let host = &self.host;
        let fatal = match classify(e) {
            Class::Transient => return Attempt::Transient { error, retry_after: None },
            Class::Tls => Error::new(Kind::Unreachable, format!("TLS with {host} failed: {error}"))
                .with_hint("if the API uses a private CA, pass --ca-cert FILE (or set SSL_CERT_FILE) with its certificate"),
            Class::Fatal(why) => Error::new(Kind::Unreachable, format!("{why}: {error}"))
                .with_hint("this will not change by retrying: check the proxy settings (HTTPS_PROXY, NO_PROXY) and --api-url; nothing was written"),
        };
        Attempt::Done(Err(fatal))
    }

    fn redirected(&self, status: StatusCode, url: &Url, headers: &HeaderMap) -> Error {
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map_or_else(
                || "an unnamed location".to_owned(),
                |l| self.keys.location_text(&location_host(url, l)),
            );
        Error::new(
            Kind::Unreachable,
            format!(
                "the API at {} answered {status} with a redirect to {location}; the key is never sent to another host",
                self.host
            ),
        )
        .with_hint("set --api-url to the API's final address")
    }

    fn unreachable(&self, detail: &str) -> Error {
        Error::new(
            Kind::Unreachable,
            format!("could not reach the Baseten API at {}: {detail}", self.host),
        )
        .with_hint("check the network, proxy settings (HTTPS_PROXY, NO_PROXY) and --api-url; nothing was written")
    }
}

fn parse_url(url: &str) -> Result<Url> {
    Url::parse(url).map_err(|e| Error::usage(format!("API URL {url} is not valid: {e}")))
}

/// Statuses that say the server may do better soon.
fn transient(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// `Retry-After` in seconds (the date form is not honoured: the jitter applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Reads at most `cap` bytes of the body, into memory wiped on drop (it may hold a key): when
/// the buffer grows, the old one is wiped too.
async fn read_capped(
    response: &mut reqwest::Response,
    cap: usize,
) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
    let hint = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(1024);
    let mut body = Zeroizing::new(Vec::with_capacity(hint.clamp(1024, cap)));
    while body.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(cap - body.len());
                if body.len() + take > body.capacity() {
                    let wanted = (body.len() + take).max(2 * body.capacity()).min(cap);
                    let mut bigger = Zeroizing::new(Vec::with_capacity(wanted));
                    bigger.extend_from_slice(&body);
                    body = bigger;
                }
                body.extend_from_slice(&chunk[..take]);
            }
            Ok(None) => break,
            Err(e) => return Err(format!("reading the answer failed: {}", error_chain(&e))),
        }
    }
    Ok(body)
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
mod tests;
