//! Shared test harness: a hermetic environment for the binary and a fake Baseten API on 127.0.0.1.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::disallowed_methods
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_truss-ci"));
        cmd.args(args).env_clear().current_dir(self.dir.path());
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
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

/// A fake Baseten API on 127.0.0.1:0. Records every request.
pub struct FakeApi {
    pub url: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

pub const USER_JSON: &str = r#"{"user_id":"u_123","email":"ci-bot@example.com","name":"CI Bot","workspace_name":"local-ws"}"#;
pub const GRAPHQL_JSON: &str = r#"{"data":{"organization":{"workspace_name":"local-ws"},"user":{"email":"ci-bot@example.com"}}}"#;

impl FakeApi {
    /// Answers like Baseten for `KEY`: `GET /v1/users/me` (Api-Key) and `POST /graphql/` (what
    /// `truss whoami` sends), 401 for any other key.
    pub fn baseten() -> Self {
        Self::accepting(&[KEY])
    }

    pub fn accepting(keys: &[&str]) -> Self {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        Self::start(move |req, _| {
            let auth = req.header("authorization").unwrap_or_default();
            let ok = keys
                .iter()
                .any(|k| auth == format!("Api-Key {k}") || auth == format!("Bearer {k}"));
            match (req.method.as_str(), req.path.as_str(), ok) {
                (_, _, false) => Reply::json(401, r#"{"error":"invalid api key"}"#),
                ("GET", "/v1/users/me", true) => Reply::json(200, USER_JSON),
                ("POST", "/graphql/", true) => Reply::json(200, GRAPHQL_JSON),
                _ => Reply::json(404, r#"{"error":"not found"}"#),
            }
        })
    }

    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let counter = Arc::new(AtomicUsize::new(0));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let recorded = Arc::clone(&recorded);
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || serve(stream, &*handler, &recorded, &counter));
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            requests,
        }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve(
    stream: TcpStream,
    handler: &Handler,
    recorded: &Mutex<Vec<Request>>,
    counter: &AtomicUsize,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    let n = counter.fetch_add(1, Ordering::SeqCst);
    recorded.lock().unwrap().push(request.clone());
    let mut stream = stream;
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
        Reply::Trickle(every, body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            for b in body {
                if stream.write_all(&[b]).is_err() {
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

/// Whether interop tests must run (CI) or may skip.
pub fn require_interop() -> bool {
    std::env::var("TRUSS_CI_REQUIRE_INTEROP").is_ok_and(|v| v == "1")
}

/// Finds an interop tool from its env var or the default install location; skips loudly, or
/// panics under TRUSS_CI_REQUIRE_INTEROP=1.
pub fn interop_tool(var: &str, default_rel: &str) -> Option<PathBuf> {
    let candidate = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/interop")
            .join(default_rel)
    });
    if candidate.exists() {
        return Some(candidate);
    }
    let msg = format!(
        "interop tool missing: {} ({var}); run scripts/interop-setup.sh",
        candidate.display()
    );
    assert!(!require_interop(), "{msg} (TRUSS_CI_REQUIRE_INTEROP=1)");
    eprintln!("SKIPPED: {msg}");
    None
}

/// A program from the system's packages (`/usr/bin`), with the same skip-or-fail rule.
pub fn system_tool(name: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    let msg = format!(
        "interop tool missing: {} (Debian package); run scripts/interop-setup.sh",
        path.display()
    );
    assert!(!require_interop(), "{msg} (TRUSS_CI_REQUIRE_INTEROP=1)");
    eprintln!("SKIPPED: {msg}");
    None
}

pub mod github_oracle;
