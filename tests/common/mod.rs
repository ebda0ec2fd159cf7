//! Shared test harness: a hermetic environment for the binary and a fake Baseten API on 127.0.0.1.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::disallowed_methods
)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary under test (the fake's own program, tests/fake_baseten.rs, runs none).
pub const BIN: &str = match option_env!("CARGO_BIN_EXE_truss-ci") {
    Some(bin) => bin,
    None => "truss-ci",
};

pub const KEY: &str = "SENTINELkey01.Zx9qv7Lw3pTt";

/// A temp HOME and an environment that holds only what the test adds.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    vars: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_stderr_has(&self, needle: impl AsRef<str>) -> &Self {
        assert_holds("stderr", &self.stderr, needle.as_ref(), true);
        self
    }

    #[track_caller]
    pub fn assert_stderr_lacks(&self, needle: impl AsRef<str>) -> &Self {
        assert_holds("stderr", &self.stderr, needle.as_ref(), false);
        self
    }

    #[track_caller]
    pub fn assert_stdout_has(&self, needle: impl AsRef<str>) -> &Self {
        assert_holds("stdout", &self.stdout, needle.as_ref(), true);
        self
    }
}

#[track_caller]
fn assert_holds(stream: &str, text: &str, needle: &str, present: bool) {
    let verb = if present { "lacks" } else { "has" };
    assert!(
        text.contains(needle) == present,
        "{stream} {verb} {needle:?}:\n{text}"
    );
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let mut env = Self {
            dir,
            home: home.clone(),
            vars: Vec::new(),
        };
        env.set("HOME", home.to_str().unwrap());
        env.set("PATH", "/usr/local/bin:/usr/bin:/bin");
        env
    }

    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Builder form of [`TestEnv::set`]: `TestEnv::new().key(KEY).api(&api).with("CI", "true")`.
    #[must_use]
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.set(name, value);
        self
    }

    /// The key in `BASETEN_API_KEY`.
    #[must_use]
    pub fn key(self, key: &str) -> Self {
        self.with("BASETEN_API_KEY", key)
    }

    /// The fake API as the remote URL (`BASETEN_REMOTE_URL`).
    #[must_use]
    pub fn api(self, api: &FakeApi) -> Self {
        self.with("BASETEN_REMOTE_URL", &api.url)
    }

    /// A GitLab job (`GITLAB_CI`, `CI_JOB_ID`).
    #[must_use]
    pub fn gitlab_job(self, job: &str) -> Self {
        self.with("GITLAB_CI", "true").with("CI_JOB_ID", job)
    }

    /// A `~/.trussrc` holding `text` before the test starts.
    #[must_use]
    pub fn trussrc_text(self, text: &str) -> Self {
        std::fs::write(self.trussrc(), text).unwrap();
        self
    }

    /// A platform file holding `contents` (`<dir>/<var in lower case>`), named by `var`.
    #[must_use]
    pub fn file_var(self, var: &str, contents: &str) -> Self {
        let path = self.path(&var.to_lowercase());
        std::fs::write(&path, contents).unwrap();
        let path = path.to_str().unwrap().to_owned();
        self.with(var, &path)
    }

    /// The HOME of `other` (two jobs on one runner).
    #[must_use]
    pub fn home_of(mut self, other: &TestEnv) -> Self {
        self.home.clone_from(&other.home);
        self.with("HOME", other.home.to_str().unwrap())
    }

    /// A temp directory of its own in `TMPDIR` (`<dir>/tmp`), so leftovers can be counted.
    #[must_use]
    pub fn own_tmpdir(self) -> Self {
        let tmp = self.path("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let tmp = tmp.to_str().unwrap().to_owned();
        self.with("TMPDIR", &tmp)
    }

    pub fn unset(&mut self, name: &str) -> &mut Self {
        self.vars.retain(|(k, _)| k != name);
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn trussrc(&self) -> PathBuf {
        self.home.join(".trussrc")
    }

    pub fn read_trussrc(&self) -> Option<String> {
        std::fs::read_to_string(self.trussrc()).ok()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env_clear().current_dir(self.dir.path());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// `program` (the binary, or another build of it) with `args`, run by `wrapper` (strace, a
    /// shell, qemu, already given its own arguments) in this environment and directory.
    pub fn under(
        &self,
        mut wrapper: Command,
        program: impl AsRef<OsStr>,
        args: &[&str],
    ) -> Command {
        wrapper
            .arg(program)
            .args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k, v)))
            .current_dir(self.dir.path());
        wrapper
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, None)
    }

    pub fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        to_run(child.wait_with_output().unwrap())
    }
}

/// Starts every command at once and asserts that each one succeeds.
pub fn run_all_at_once(commands: impl IntoIterator<Item = Command>) {
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut cmd| {
            cmd.stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

pub fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A request the fake API received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the fake answers one request.
pub enum Reply {
    /// Status, extra headers, body.
    Http(u16, Vec<(String, String)>, Vec<u8>),
    /// Accept, read the request, and never answer (until the client gives up).
    Hang,
    /// Close the connection without a response.
    Close,
    /// Send the headers, then the body one byte per `Duration`.
    Trickle(Duration, Vec<u8>),
    /// Write these bytes and close (a response cut off mid-way).
    Raw(Vec<u8>),
}

impl Reply {
    pub fn json(status: u16, body: &str) -> Self {
        Reply::Http(
            status,
            vec![("Content-Type".into(), "application/json".into())],
            body.as_bytes().to_vec(),
        )
    }

    pub fn status(status: u16) -> Self {
        Reply::Http(status, vec![], Vec::new())
    }
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

/// A fake Baseten API on 127.0.0.1:0 (plain HTTP, or TLS with a self-signed certificate).
/// Records every request.
pub struct FakeApi {
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    /// With TLS: the PEM of the self-signed certificate (its own CA).
    pub ca_pem: Option<String>,
}

pub const USER_JSON: &str = r#"{"user_id":"u_123","email":"ci-bot@example.com","name":"CI Bot","workspace_name":"local-ws"}"#;
pub const GRAPHQL_JSON: &str = r#"{"data":{"organization":{"workspace_name":"local-ws"},"user":{"email":"ci-bot@example.com"}}}"#;

/// Answers like Baseten for `keys` (401 for any other key).
pub fn baseten_handler(keys: &[&str]) -> impl Fn(&Request, usize) -> Reply + Send + Sync + 'static {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    move |req, _| {
        let auth = req.header("authorization").unwrap_or_default();
        let ok = keys
            .iter()
            .any(|k| auth == format!("Api-Key {k}") || auth == format!("Bearer {k}"));
        match (req.method.as_str(), req.path.as_str(), ok) {
            (_, _, false) => Reply::json(401, r#"{"error":"invalid api key"}"#),
            ("GET", "/v1/users/me", true) => Reply::json(200, USER_JSON),
            ("POST", "/graphql/", true) => Reply::json(200, GRAPHQL_JSON),
            ("GET", "/v1/api_keys", true) => Reply::json(200, &keys_json(auth)),
            _ => Reply::json(404, r#"{"error":"not found"}"#),
        }
    }
}

/// `GET /v1/api_keys` as Baseten answers it, listing the calling key as the workspace's
/// `ci-deploy` key.
fn keys_json(auth: &str) -> String {
    let key = auth.split_once(' ').map_or(auth, |(_, k)| k);
    let prefix = key.split_once('.').map_or(key, |(p, _)| p);
    serde_json::json!({"keys": [{
        "prefix": prefix, "name": "ci-deploy", "type": "WORKSPACE_MANAGE_ALL",
        "model_ids": null, "team_name": null, "created_at": "2026-11-01T00:00:00Z",
        "last_used_at": "2026-11-29T10:00:00Z",
    }]})
    .to_string()
}

/// Waits (at most 10 s) until `done` holds.
pub fn wait_until(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{what}: never happened"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

impl FakeApi {
    /// Answers like Baseten for `KEY`: `GET /v1/users/me` (Api-Key) and `POST /graphql/` (what
    /// `truss whoami` sends), 401 for any other key.
    pub fn baseten() -> Self {
        Self::accepting(&[KEY])
    }

    pub fn accepting(keys: &[&str]) -> Self {
        Self::start(baseten_handler(keys))
    }

    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::listen(Arc::new(handler), None)
    }

    /// Like [`FakeApi::baseten`], over TLS with a self-signed certificate for 127.0.0.1.
    pub fn baseten_tls() -> Self {
        let cert = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
        ])
        .unwrap();
        let der = rustls::pki_types::CertificateDer::from(cert.cert.der().to_vec());
        let key =
            rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
        let mut api = Self::listen(Arc::new(baseten_handler(&[KEY])), Some(Arc::new(config)));
        api.url = api.url.replace("http://", "https://");
        api.ca_pem = Some(cert.cert.pem());
        api
    }

    fn listen(handler: Arc<Handler>, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let counter = Arc::new(AtomicUsize::new(0));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let (handler, recorded, counter) = (
                    Arc::clone(&handler),
                    Arc::clone(&recorded),
                    Arc::clone(&counter),
                );
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve(stream, &*handler, &recorded, &counter),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        serve(
                            rustls::StreamOwned::new(conn, stream),
                            &*handler,
                            &recorded,
                            &counter,
                        );
                    }
                });
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
            ca_pem: None,
        }
    }

    /// How many requests asked for `path`.
    pub fn hits_on(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn serve<S: Read + Write>(
    mut stream: S,
    handler: &Handler,
    recorded: &Mutex<Vec<Request>>,
    counter: &AtomicUsize,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    let n = counter.fetch_add(1, Ordering::SeqCst);
    recorded.lock().unwrap().push(request.clone());
    match handler(&request, n) {
        Reply::Http(status, extra, body) => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Reply::Hang => std::thread::sleep(Duration::from_secs(60)),
        Reply::Close => {}
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Reply::Trickle(every, body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            for b in body {
                if stream
                    .write_all(&[b])
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
                std::thread::sleep(every);
            }
        }
    }
    let _ = stream.flush();
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// The mode bits of a file.
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What `truss auth login --api-key KEY --remote NAME` writes for one section.
pub fn truss_section(name: &str, url: &str, key: &str) -> String {
    format!(
        "[{name}]\nremote_provider = baseten\nremote_url = {url}\nauth_type = api_key\napi_key = {key}\n\n"
    )
}

/// A URL on 127.0.0.1 whose port refuses connections (it was just bound and released).
pub fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The two-job GitLab pipeline the interop tests run: the first job logs in with `--dotenv`, the
/// second reads the non-secret values it handed on and logs in again. `image`: the jobs' image.
pub fn dotenv_pipeline(image: Option<&str>) -> String {
    let image = image.map(|i| format!("  image: {i}\n")).unwrap_or_default();
    format!(
        r#"stages: [login, deploy]

login:
  stage: login
{image}  script:
    - truss-ci login --from-env --remote ci-remote --dotenv baseten.env
    - test -s "$HOME/.trussrc"
  artifacts:
    reports:
      dotenv: baseten.env

deploy:
  stage: deploy
{image}  needs: [login]
  script:
    - test "$BASETEN_REMOTE" = "ci-remote"
    - test "$BASETEN_WORKSPACE" = "local-ws"
    - truss-ci login --from-env --output json
"#
    )
}

/// Checks what gitlab-ci-local printed for [`dotenv_pipeline`]: both jobs passed, the second used
/// the remote the first handed on, and the key is in no log.
#[track_caller]
pub fn assert_dotenv_pipeline(out: &Output) {
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "pipeline failed:\n{log}");
    assert!(log.contains("PASS  login"), "{log}");
    assert!(log.contains("PASS  deploy"), "{log}");
    assert!(
        log.contains(r#""remote":"ci-remote""#),
        "the second job used the dotenv remote:\n{log}"
    );
    assert!(!log.contains(KEY), "the key reached a job log:\n{log}");
}

/// Makes a FIFO at `path`.
pub fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {}", path.display());
}

/// A git repository at `dir` holding `files` in one commit (for gitlab-ci-local).
pub fn git_repo(home: &Path, dir: &Path, files: &[&str]) {
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("HOME", home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "."]);
    let mut add = vec!["add"];
    add.extend_from_slice(files);
    git(&add);
    git(&[
        "-c",
        "user.email=ci@example.com",
        "-c",
        "user.name=ci",
        "commit",
        "-qm",
        "pipeline",
    ]);
}

/// Waits (at most 10 s) for `path` to appear: a child's sign that it is ready.
pub fn wait_for(path: &Path) {
    let started = std::time::Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A setting of the suite itself from its environment (not the binary's: tests pass the binary
/// only what they name).
pub fn suite_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Where this run's skips are listed, one a line (`scripts/test.sh` empties it before the suite and
/// prints it after).
pub fn skips_file() -> PathBuf {
    // Cargo sets it for the integration tests; the fake's own program never skips.
    Path::new(option_env!("CARGO_TARGET_TMPDIR").unwrap_or("target/tmp")).join("skipped.txt")
}

/// Skips loudly, or fails under TRUSS_CI_REQUIRE_INTEROP=1. Every skip for a missing tool or
/// artifact comes here.
#[track_caller]
pub fn skip(msg: &str) {
    assert!(!require_interop(), "{msg} (TRUSS_CI_REQUIRE_INTEROP=1)");
    record_skip(msg);
}

/// A check that cannot mean anything on this machine (not a missing tool): shown and listed like
/// a skip, but not fatal under TRUSS_CI_REQUIRE_INTEROP=1.
pub fn not_applicable(msg: &str) {
    record_skip(msg);
}

fn record_skip(msg: &str) {
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let line = format!("SKIPPED {test}: {msg}\n");
    // libtest captures `eprintln!`, so a passing test's skip would never show; the process's own
    // stderr is not captured.
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skips_file())
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Whether interop tests must run (CI) or may skip.
pub fn require_interop() -> bool {
    std::env::var("TRUSS_CI_REQUIRE_INTEROP").is_ok_and(|v| v == "1")
}

/// Finds an interop tool from its env var or the default install location, or [`skip`]s.
pub fn interop_tool(var: &str, default_rel: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/interop")
            .join(default_rel)
    });
    installed(candidate, var)
}

/// A program from the system's packages (`/usr/bin`), or a [`skip`].
pub fn system_tool(name: &str) -> Option<PathBuf> {
    installed(Path::new("/usr/bin").join(name), "Debian package")
}

/// `path` if it exists, else a [`skip`] naming it and `how` it is installed.
fn installed(path: PathBuf, how: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    skip(&format!(
        "interop tool missing: {} ({how}); run scripts/interop-setup.sh",
        path.display()
    ));
    None
}

/// The system's python3 (its configparser and expanduser are the reference), or a [`skip`]:
/// `why` names the check that needs it.
pub fn python3(why: &str) -> Option<PathBuf> {
    let found = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join("python3")),
        )
        .find(|p| p.exists());
    if found.is_none() {
        skip(&format!("no python3 for {why}"));
    }
    found
}

pub mod encodings;
pub mod github_oracle;
pub mod management;

#[allow(unused_imports)] // not every test binary uses them
pub use encodings::{b64, percent};

/// What real `truss` runs with in the suite, beside its HOME: its config there, no update check,
/// no keyring, and every request but those to 127.0.0.1 sent to a proxy that answers nothing.
pub fn truss_offline(home: &Path) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("XDG_CONFIG_HOME", home.join(".config").into_os_string()),
        ("TRUSS_NO_UPDATE_CHECK", "1".into()),
        ("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1".into()),
        ("HTTPS_PROXY", "http://127.0.0.1:9".into()),
        ("HTTP_PROXY", "http://127.0.0.1:9".into()),
        ("NO_PROXY", "127.0.0.1,localhost".into()),
        ("LANG", "C.UTF-8".into()),
    ]
}

/// Runs truss hermetically: the test's HOME, no update check, no keyring, and proxies that would
/// fail anything not bound for loopback.
pub fn run_truss(truss: &Path, env: &TestEnv, args: &[&str]) -> Run {
    let out = Command::new(truss)
        .args(args)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/bin:/bin")
        .envs(truss_offline(&env.home))
        .output()
        .unwrap();
    to_run(out)
}

/// The text a test script printed after its `@@NAME@@` mark, up to the next mark, trimmed.
pub fn section<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!("@@{name}@@\n"))
        .unwrap_or_else(|| panic!("no {name} in:\n{out}"));
    let rest = &out[start + name.len() + 5..];
    rest[..rest.find("\n@@").unwrap_or(rest.len())].trim()
}
