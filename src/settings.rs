//! Flags + the environment snapshot → the settings a command runs with. Pure: no I/O.
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Url;

use crate::cli::{ExportMode, LoginArgs, RemoteArgs, StatusArgs};
use crate::env::{Env, truthy};
use crate::error::{Error, Result};

pub const DEFAULT_REMOTE: &str = "baseten";
pub const DEFAULT_REMOTE_URL: &str = "https://app.baseten.co";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REMOTE_NAME: usize = 64;

/// The remote, its URLs and how the key is checked: what `login` and `exec` share, resolved
/// from flags, action inputs and env.
#[derive(Debug)]
pub struct Connection {
    pub remote: String,
    /// `--remote-url`/env, already checked; `None` means "the section's, else the default".
    pub remote_url: Option<String>,
    /// `--api-url`/env, already checked; `None` means "derived from remote_url".
    pub api_url: Option<String>,
    pub validate: bool,
    pub timeout: Duration,
    pub allow_http: bool,
    pub allow_restricted: bool,
    pub ca_cert: Option<PathBuf>,
}

/// What `login` needs besides the key.
#[derive(Debug)]
pub struct LoginSettings {
    pub conn: Connection,
    pub trussrc: TrussrcPath,
    pub export: Option<ExportMode>,
    pub isolate: bool,
}

/// Where the trussrc is, and whether that is where truss looks without being told.
#[derive(Clone, Debug)]
pub struct TrussrcPath {
    pub path: PathBuf,
    /// True when the path is `~/.trussrc` and truss finds it with no `USER_TRUSSRC_PATH`.
    pub is_default: bool,
}

impl Connection {
    /// Flags beat GitHub Action inputs (`INPUT_*`), which beat env vars, which beat defaults.
    pub fn resolve(args: &RemoteArgs, env: &Env) -> Result<Self> {
        let v = &env.vars;
        // An explicit but empty name (`--remote "$UNSET"`) must not fall back to the default and
        // overwrite its credentials. A blank action input is unset: the runner sets every input.
        for (given, what) in [
            (args.remote.as_deref(), "--remote"),
            (v.baseten_remote.as_deref(), "BASETEN_REMOTE"),
        ] {
            if given.is_some_and(|r| r.trim().is_empty()) {
                return Err(Error::usage(format!("{what} is given but empty"))
                    .with_hint("name the remote, or leave it out to write the default [baseten]"));
            }
        }
        let remote = first([
            args.remote.as_deref(),
            v.input_remote.as_deref(),
            v.baseten_remote.as_deref(),
        ])
        .unwrap_or(DEFAULT_REMOTE)
        .to_owned();
        check_remote_name(&remote)?;
        let allow_http = args.allow_http;
        let remote_url = first([
            args.remote_url.as_deref(),
            v.input_remote_url.as_deref(),
            v.baseten_remote_url.as_deref(),
        ])
        .map(|u| normalize_url(u, "--remote-url", allow_http))
        .transpose()?;
        let api_url = first([
            args.api_url.as_deref(),
            v.input_api_url.as_deref(),
            v.baseten_api_url.as_deref(),
        ])
        .map(|u| normalize_url(u, "--api-url", allow_http))
        .transpose()?;
        let timeout = timeout(args.timeout, env)?;
        let validate = !args.no_validate && first([v.input_validate.as_deref()]).is_none_or(truthy);
        Ok(Self {
            remote,
            remote_url,
            api_url,
            validate,
            timeout,
            allow_http,
            allow_restricted: args.allow_restricted,
            ca_cert: args.ca_cert.clone(),
        })
    }

    /// The API base: `--api-url` (or env), else derived from `remote_url`.
    pub fn api_url_for(&self, remote_url: &str) -> String {
        self.api_url
            .clone()
            .unwrap_or_else(|| derive_api_url(remote_url))
    }
}

impl LoginSettings {
    pub fn resolve(args: &LoginArgs, env: &Env) -> Result<Self> {
        let v = &env.vars;
        let conn = Connection::resolve(&args.remote, env)?;
        let isolate = args.isolate || v.input_isolate.as_deref().is_some_and(truthy);
        let explicit_trussrc = args
            .trussrc
            .clone()
            .or_else(|| first([v.input_trussrc_path.as_deref()]).map(PathBuf::from));
        let trussrc = if isolate {
            if explicit_trussrc.is_some() {
                return Err(Error::usage(
                    "--isolate chooses the trussrc path itself; drop --trussrc (or the trussrc-path input)",
                ));
            }
            let temp = first([v.runner_temp.as_deref()]).ok_or_else(|| {
                Error::usage("--isolate needs RUNNER_TEMP, which GitHub Actions runners set")
                    .with_hint("outside GitHub Actions, pass --trussrc PATH and export USER_TRUSSRC_PATH yourself")
            })?;
            // Later steps run elsewhere: the exported path must not depend on this cwd.
            let dir = std::path::absolute(temp).unwrap_or_else(|_| PathBuf::from(temp));
            TrussrcPath {
                path: dir.join("truss-ci").join("trussrc"),
                is_default: false,
            }
        } else {
            trussrc_path(explicit_trussrc.as_deref(), env)?
        };
        let export = match (args.export_env, first([v.input_export_env.as_deref()])) {
            (Some(mode), _) => Some(mode),
            (None, None) => None,
            (None, Some(input)) => match input.to_ascii_lowercase().as_str() {
                "truss-env" => Some(ExportMode::TrussEnv),
                "key" => Some(ExportMode::Key),
                s if truthy(s) => Some(ExportMode::Key),
                "false" | "0" | "no" | "off" => None,
                _ => {
                    return Err(Error::usage(format!(
                        "the export-env input must be true, false or truss-env, not {input:?}"
                    )));
                }
            },
        };
        Ok(Self {
            conn,
            trussrc,
            export,
            isolate,
        })
    }
}

/// What `status --check` needs besides the trussrc: the API base (flag, action input or env; else
/// derived from the remote's URL) and the deadline.
#[derive(Debug)]
pub struct CheckSettings {
    pub api_url: Option<String>,
    pub timeout: Duration,
    pub allow_http: bool,
    pub ca_cert: Option<PathBuf>,
}

impl CheckSettings {
    pub fn resolve(args: &StatusArgs, env: &Env) -> Result<Self> {
        let v = &env.vars;
        let api_url = first([
            args.api_url.as_deref(),
            v.input_api_url.as_deref(),
            v.baseten_api_url.as_deref(),
        ])
        .map(|u| normalize_url(u, "--api-url", args.allow_http))
        .transpose()?;
        Ok(Self {
            api_url,
            timeout: timeout(args.timeout, env)?,
            allow_http: args.allow_http,
            ca_cert: args.ca_cert.clone(),
        })
    }

    /// The API base for a remote whose trussrc `remote_url` is `raw_remote_url` (as written).
    pub fn api_url_for(&self, raw_remote_url: &str) -> Result<String> {
        match &self.api_url {
            Some(url) => Ok(url.clone()),
            None => Ok(derive_api_url(&normalize_url(
                &raw_remote_url.replace("%%", "%"),
                "remote_url",
                self.allow_http,
            )?)),
        }
    }
}

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

/// `--timeout`, else the `timeout` action input, else the default.
fn timeout(flag: Option<f64>, env: &Env) -> Result<Duration> {
    match (flag, first([env.vars.input_timeout.as_deref()])) {
        (Some(secs), _) => parse_timeout(secs),
        (None, Some(input)) => parse_timeout(input.parse::<f64>().map_err(|_| {
            Error::usage(format!(
                "the timeout input must be a number of seconds, not {input:?}"
            ))
        })?),
        (None, None) => Ok(DEFAULT_TIMEOUT),
    }
}

/// The first value that is set and not blank.
fn first<const N: usize>(candidates: [Option<&str>; N]) -> Option<&str> {
    candidates
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
}

pub fn parse_timeout(secs: f64) -> Result<Duration> {
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(Error::usage(format!(
            "--timeout must be a number of seconds between 0 and 3600, not {secs}"
        )))
    }
}

/// Refuses remote names truss cannot use as a trussrc section.
pub fn check_remote_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name == "DEFAULT" {
        Some("is reserved: [DEFAULT] holds values every section inherits")
    } else if name == "<environment>" {
        Some("is reserved by truss for the remote defined by BASETEN_TRUSS_AUTH_* variables")
    } else if name.contains(['[', ']']) {
        Some("contains a bracket, which would break the section header")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or a control character")
    } else if name.chars().count() > MAX_REMOTE_NAME {
        Some("is longer than 64 characters")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(
            Error::usage(format!("remote name {:?} {p}", truncate_for_message(name)))
                .with_hint("pass --remote NAME with letters, digits, '-', '_' or '.'"),
        ),
    }
}

fn truncate_for_message(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

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

/// `--trussrc`, else `USER_TRUSSRC_PATH`, else `~/.trussrc`; `~` is expanded as the Python that
/// runs truss expands it on this OS (`HOME` on Linux and macOS, `USERPROFILE` on Windows).
pub fn trussrc_path(flag: Option<&Path>, env: &Env) -> Result<TrussrcPath> {
    let from_env = first([env.vars.user_trussrc_path.as_deref()]);
    let given = match (flag, from_env) {
        (Some(p), _) => Some(p.to_string_lossy()),
        (None, Some(p)) => Some(p.into()),
        (None, None) => None,
    };
    let chosen = PathBuf::from(expand_user(
        given.as_deref().unwrap_or(DEFAULT_TRUSSRC),
        env,
    )?);
    if chosen.to_string_lossy().chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "the trussrc path {:?} contains a control character",
            chosen
        )));
    }
    let path = std::path::absolute(&chosen).unwrap_or(chosen);
    let is_default = from_env.is_none()
        && (flag.is_none()
            || expand_user(DEFAULT_TRUSSRC, env)
                .is_ok_and(|d| std::path::absolute(d).is_ok_and(|d| d == path)));
    Ok(TrussrcPath { path, is_default })
}

/// Where truss looks when `USER_TRUSSRC_PATH` is unset.
const DEFAULT_TRUSSRC: &str = "~/.trussrc";

fn expand_user(path: &str, env: &Env) -> Result<String> {
    use crate::home::{Flavor, NoHome};
    let vars = if cfg!(windows) {
        "USERPROFILE (or HOMEDRIVE and HOMEPATH)"
    } else {
        "HOME"
    };
    crate::home::expand_user(path, &env.home_vars(), Flavor::NATIVE).map_err(|e| match e {
        NoHome::Undetermined => Error::usage(format!(
            "cannot expand ~ in {path}: {vars} is not set, so truss could not find its trussrc either"
        ))
        .with_hint("set USER_TRUSSRC_PATH (for truss too) or pass --trussrc with a full path"),
        NoHome::OtherUser => Error::usage(format!(
            "{path} names another user's home, which truss-ci does not look up"
        ))
        .with_hint("write the path out in full"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_names_truss_cannot_use_are_refused() {
        for bad in [
            "",
            "DEFAULT",
            "<environment>",
            "a[b",
            "a]b",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{0}b",
            &"x".repeat(65),
        ] {
            let err = check_remote_name(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        for good in [
            "baseten",
            "staging-2",
            "my.remote_x",
            "default",
            &"x".repeat(64),
        ] {
            check_remote_name(good).unwrap();
        }
    }

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

    #[test]
    #[cfg(unix)]
    fn trussrc_path_precedence_and_tilde() {
        let e = Env::of(&[("HOME", "/home/u")]);
        let p = trussrc_path(None, &e).unwrap();
        assert_eq!(p.path, Path::new("/home/u/.trussrc"));
        assert!(p.is_default);

        let e = Env::of(&[("HOME", "/home/u"), ("USER_TRUSSRC_PATH", "~/ci/rc")]);
        let p = trussrc_path(None, &e).unwrap();
        assert_eq!(p.path, Path::new("/home/u/ci/rc"));
        assert!(!p.is_default);

        let p = trussrc_path(Some(Path::new("/tmp/x")), &e).unwrap();
        assert_eq!(p.path, Path::new("/tmp/x"));

        // As posixpath: an empty HOME is the root; an unset one is the password database's;
        // USERPROFILE is Windows'.
        let e = Env::of(&[("HOME", ""), ("USERPROFILE", "/w")]);
        assert_eq!(trussrc_path(None, &e).unwrap().path, Path::new("/.trussrc"));
        let mut e = Env::of(&[("USERPROFILE", "/w")]);
        e.passwd_home = Some("/var/lib/ci/".into());
        assert_eq!(
            trussrc_path(None, &e).unwrap().path,
            Path::new("/var/lib/ci/.trussrc")
        );
        let e = Env::of(&[("HOME", "/h"), ("USER_TRUSSRC_PATH", "~bob/rc")]);
        assert_eq!(trussrc_path(None, &e).unwrap_err().exit_code(), 2);

        let e = Env::of(&[]);
        assert_eq!(trussrc_path(None, &e).unwrap_err().exit_code(), 2);
        assert_eq!(
            trussrc_path(Some(Path::new("/tmp/a\nb")), &e)
                .unwrap_err()
                .exit_code(),
            2
        );
        assert_eq!(
            trussrc_path(Some(Path::new("~/x")), &e)
                .unwrap_err()
                .exit_code(),
            2
        );
    }

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

    #[test]
    fn timeouts_are_bounded() {
        assert!(parse_timeout(0.0).is_err());
        assert!(parse_timeout(f64::NAN).is_err());
        assert!(parse_timeout(-1.0).is_err());
        assert_eq!(parse_timeout(1.5).unwrap(), Duration::from_millis(1500));
    }
}
