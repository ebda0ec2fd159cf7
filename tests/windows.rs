//! The Windows build, run under wine against the fake API: the code behind `cfg(windows)` (paths,
//! file locking, rename, the Credential Manager, process handling) doing what the Linux build's
//! tests prove on Linux. Each test runs in a wine prefix of its own, made from the one
//! `scripts/cross.sh wineprefix` keeps, and gives wine a HOME of its own: nothing it does reaches
//! the real home, that prefix, or another test's.
//!
//! Where wine differs from Windows, and so what these tests cannot show:
//! - wine sets `USERPROFILE`, `HOMEDRIVE` and `HOMEPATH` to the prefix's own profile
//!   (`C:\users\<name>`), whatever the caller passes, and passes no `HOME`;
//! - Rust's standard library imports `ProcessPrng` from `bcryptprimitives.dll`, which wine 8 lacks:
//!   `scripts/cross.sh windows` puts a small DLL beside the exe that answers it with
//!   `RtlGenRandom` (Windows has the real one);
//! - wine's Credential Manager keeps credentials in the prefix's registry, not in a protected
//!   store, and its file locks and renames map onto Linux's.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use common::{FakeApi, KEY, Run};

/// The exe (`TRUSS_CI_WINDOWS_EXE`), a wine prefix and a HOME of the test's own (in `_dir`), and a
/// lock: one wine test at a time, as each starts a wineserver of its own.
struct Wine {
    exe: PathBuf,
    prefix: PathBuf,
    home: PathBuf,
    _dir: tempfile::TempDir,
    _held: MutexGuard<'static, ()>,
}

static SERIAL: Mutex<()> = Mutex::new(());

fn wine() -> Option<Wine> {
    let (Some(exe), Some(template)) = (
        common::suite_var("TRUSS_CI_WINDOWS_EXE"),
        common::suite_var("TRUSS_CI_WINEPREFIX"),
    ) else {
        common::skip(
            "no Windows build (TRUSS_CI_WINDOWS_EXE, TRUSS_CI_WINEPREFIX): run scripts/test.sh after scripts/interop-setup.sh",
        );
        return None;
    };
    let held = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let template = PathBuf::from(template);
    // Beside the template, so on its file system: its files can be hard-linked.
    let dir = tempfile::Builder::new()
        .prefix("truss-ci-wine-")
        .tempdir_in(template.parent().unwrap_or(Path::new("/")))
        .unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    Some(Wine {
        exe: PathBuf::from(exe),
        prefix: own_prefix(&template, dir.path()),
        home,
        _dir: dir,
        _held: held,
    })
}

/// A prefix of the test's own in `dir`, made from `template` (`TRUSS_CI_WINEPREFIX`, which
/// `scripts/cross.sh wineprefix` made once with wineboot, and which no test runs in): its files
/// hard-linked (copied where they cannot be), and its top-level files, the registry wine rewrites
/// (settings and the Credential Manager), copied. So a test's trussrc, credentials and temp files
/// are in its prefix alone, never in the template or another test's prefix.
fn own_prefix(template: &Path, dir: &Path) -> PathBuf {
    let prefix = dir.join("prefix");
    let cp = |how: &str| {
        Command::new("cp")
            .arg(how)
            .arg(template)
            .arg(&prefix)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !cp("-al") {
        let _ = std::fs::remove_dir_all(&prefix);
        assert!(
            cp("-a"),
            "cannot copy the wine prefix {}",
            template.display()
        );
    }
    for entry in std::fs::read_dir(template).unwrap().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let own = prefix.join(entry.file_name());
            std::fs::remove_file(&own).unwrap();
            std::fs::copy(entry.path(), &own).unwrap();
        }
    }
    prefix
}

impl Drop for Wine {
    /// Stops the prefix's wineserver, and waits for it, before its directory is removed.
    fn drop(&mut self) {
        for flag in ["-k", "-w"] {
            let _ = Command::new("wineserver")
                .arg(flag)
                .env_clear()
                .env("WINEPREFIX", &self.prefix)
                .env("HOME", &self.home)
                .env("PATH", "/usr/local/bin:/usr/bin:/bin")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A Linux path as a Windows program under wine sees it.
fn win(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}

impl Wine {
    /// The profile directory wine gives a Windows program (`USERPROFILE`).
    fn profile(&self) -> PathBuf {
        let user = std::fs::read_dir(self.prefix.join("drive_c/users"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|n| n != "Public")
            .unwrap();
        self.prefix.join("drive_c/users").join(user)
    }

    fn command(&self, args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg(&self.exe)
            .args(args)
            .env_clear()
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd
    }

    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let out = self.command(args, vars).output().unwrap();
        common::to_run(out)
    }
}

fn api_args(api: &FakeApi) -> Vec<String> {
    vec![
        "--remote-url".into(),
        "https://app.baseten.co".into(),
        "--api-url".into(),
        api.url.clone(),
    ]
}

fn with<'a>(head: &[&'a str], tail: &'a [String]) -> Vec<&'a str> {
    head.iter()
        .copied()
        .chain(tail.iter().map(String::as_str))
        .collect()
}

/// The section as truss writes it on Windows: Python's text mode ends lines in CRLF.
fn crlf_section(name: &str) -> String {
    common::truss_section(name, "https://app.baseten.co", KEY).replace('\n', "\r\n")
}

#[test]
fn login_status_logout_where_truss_looks_on_windows() {
    let Some(w) = wine() else { return };
    let api = FakeApi::baseten();
    let rc = w.profile().join(".trussrc");
    let _ = std::fs::remove_file(&rc);
    let remote = api_args(&api);
    let key = [("BASETEN_API_KEY", KEY)];
    w.run(&with(&["login", "--from-env"], &remote), &key)
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap(),
        crlf_section("baseten"),
        "written to USERPROFILE's .trussrc, in CRLF as truss writes it there"
    );
    let status = w.run(&["status"], &[]);
    status.assert_code(0);
    assert!(
        status.stdout.contains("remote: baseten") && status.stdout.contains("trussrc-inline"),
        "{}",
        status.stdout
    );
    w.run(&["logout"], &[]).assert_code(0);
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), "");
    std::fs::remove_file(&rc).unwrap();
}

#[test]
fn the_credential_manager_holds_the_key_and_status_reads_it_back() {
    let Some(w) = wine() else { return };
    let api = FakeApi::baseten();
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join(".trussrc");
    let rc_win = win(&rc);
    let remote = format!("wine-kr-{}", std::process::id());
    let mut args = vec!["login", "--from-env", "--storage", "keyring", "--trussrc"];
    args.extend([rc_win.as_str(), "--remote", remote.as_str()]);
    let urls = api_args(&api);
    w.run(&with(&args, &urls), &[("BASETEN_API_KEY", KEY)])
        .assert_code(0);
    let text = std::fs::read_to_string(&rc).unwrap();
    assert!(!text.contains(KEY), "the key is in the keyring: {text:?}");
    let status = w.run(&["status", "--trussrc", &rc_win, "--remote", &remote], &[]);
    status.assert_code(0);
    status.assert_stdout_has("source: keyring");
    let check = w.run(
        &[
            "status",
            "--check",
            "--trussrc",
            &rc_win,
            "--remote",
            &remote,
            "--api-url",
            &api.url,
        ],
        &[],
    );
    check.assert_code(0);
    w.run(&["logout", "--trussrc", &rc_win, "--remote", &remote], &[])
        .assert_code(0);
    let gone = w.run(
        &[
            "status",
            "--check",
            "--trussrc",
            &rc_win,
            "--remote",
            &remote,
        ],
        &[],
    );
    assert_ne!(gone.code, 0, "logged out: {}", gone.all());
}

#[test]
fn a_crlf_file_in_a_path_with_spaces_and_accents_keeps_its_bytes() {
    let Some(w) = wine() else { return };
    let api = FakeApi::baseten();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("dossier à espaces");
    std::fs::create_dir(&home).unwrap();
    let rc = home.join(".trussrc");
    let before = "; kept\r\n[other]\r\nremote_provider = baseten\r\nremote_url = https://x\r\n\r\n";
    std::fs::write(&rc, before).unwrap();
    let rc_win = win(&rc);
    let urls = api_args(&api);
    let key = [("BASETEN_API_KEY", KEY)];
    w.run(
        &with(&["login", "--from-env", "--trussrc", &rc_win], &urls),
        &key,
    )
    .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&rc).unwrap(),
        format!("{before}{}", crlf_section("baseten"))
    );
    w.run(
        &["logout", "--trussrc", &rc_win, "--remote", "baseten"],
        &[],
    )
    .assert_code(0);
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), before);

    // logout --post with a job id restores the bytes too.
    let job = [
        ("BASETEN_API_KEY", KEY),
        ("GITLAB_CI", "true"),
        ("CI_JOB_ID", "4242"),
    ];
    w.run(
        &with(&["login", "--from-env", "--trussrc", &rc_win], &urls),
        &job,
    )
    .assert_code(0);
    assert_ne!(std::fs::read_to_string(&rc).unwrap(), before);
    w.run(&["logout", "--post", "--trussrc", &rc_win], &job[1..])
        .assert_code(0);
    assert_eq!(std::fs::read_to_string(&rc).unwrap(), before);
    let mut left: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".trussrc"], "nothing else is left beside it");
}

#[test]
fn exec_hands_the_command_a_private_trussrc_and_removes_it() {
    let Some(w) = wine() else { return };
    let api = FakeApi::baseten();
    let urls = api_args(&api);
    let args = with(&["exec", "--from-env"], &urls);
    let mut args: Vec<&str> = args;
    args.extend([
        "--",
        "cmd",
        "/c",
        "type",
        "%USER_TRUSSRC_PATH%",
        "&",
        "echo",
        "%USER_TRUSSRC_PATH%",
    ]);
    let run = w.run(&args, &[("BASETEN_API_KEY", KEY)]);
    run.assert_code(0);
    run.assert_stdout_has("[baseten]");
    let path = run.stdout.lines().last().unwrap().trim().to_owned();
    let unix = path
        .strip_prefix("C:\\")
        .map(|rest| w.prefix.join("drive_c").join(rest.replace('\\', "/")))
        .unwrap();
    assert!(!unix.exists(), "{} is gone", unix.display());
    assert!(!unix.parent().unwrap().exists(), "and its directory");

    let missing = w.run(
        &with(&["exec", "--from-env"], &urls)
            .into_iter()
            .chain(["--", "no-such-program-here.exe"])
            .collect::<Vec<_>>(),
        &[("BASETEN_API_KEY", KEY)],
    );
    assert_eq!(missing.code, 127, "{}", missing.all());
}

#[test]
fn two_logins_at_once_both_land() {
    let Some(w) = wine() else { return };
    let api = FakeApi::baseten();
    let dir = tempfile::tempdir().unwrap();
    let rc = dir.path().join(".trussrc");
    let rc_win = win(&rc);
    let urls = api_args(&api);
    let remotes = ["one", "two", "three", "four"];
    let children: Vec<_> = remotes
        .into_iter()
        .map(|remote| {
            w.command(
                &with(
                    &[
                        "login",
                        "--from-env",
                        "--trussrc",
                        &rc_win,
                        "--remote",
                        remote,
                    ],
                    &urls,
                ),
                &[("BASETEN_API_KEY", KEY)],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    for child in children {
        common::to_run(child.wait_with_output().unwrap()).assert_code(0);
    }
    let text = std::fs::read_to_string(&rc).unwrap();
    for remote in remotes {
        assert!(text.contains(&format!("[{remote}]")), "{text}");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, [".trussrc"], "the lock file went with the lock");
}

#[test]
fn every_exit_code() {
    let Some(w) = wine() else { return };
    let api = FakeApi::baseten();
    let dir = tempfile::tempdir().unwrap();
    let rc_win = win(&dir.path().join(".trussrc"));
    let urls = api_args(&api);
    let login = with(&["login", "--from-env", "--trussrc", &rc_win], &urls);
    let code = |args: &[&str], vars: &[(&str, &str)]| w.run(args, vars).code;
    assert_eq!(code(&login, &[("BASETEN_API_KEY", KEY)]), 0);
    assert_eq!(
        code(
            &login,
            &[("BASETEN_API_KEY", KEY), ("TRUSS_CI_TEST_PANIC", "login")]
        ),
        1
    );
    assert_eq!(code(&login, &[]), 2);
    assert_eq!(code(&login, &[("BASETEN_API_KEY", "wrong.key")]), 3);
    let refused = common::refused_url();
    assert_eq!(
        code(
            &[
                "login",
                "--from-env",
                "--trussrc",
                &rc_win,
                "--api-url",
                &refused,
                "--timeout",
                "2"
            ],
            &[("BASETEN_API_KEY", KEY)]
        ),
        4
    );
    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join(".trussrc")).unwrap();
    let blocked_rc = win(&blocked.join(".trussrc"));
    assert_eq!(
        code(
            &with(&["login", "--from-env", "--trussrc", &blocked_rc], &urls),
            &[("BASETEN_API_KEY", KEY)]
        ),
        5
    );
}

/// The baseten CLI's profile goes where the CLI looks on Windows, `%AppData%\baseten\auth.json`
/// (Go's `os.UserConfigDir`), in the bytes the CLI writes (LF, as Go writes on every OS); the
/// post of the job puts the CLI back as it was (no file).
#[test]
fn the_baseten_cli_profile_is_in_appdata() {
    let Some(w) = wine() else { return };
    let file = w.profile().join("AppData/Roaming/baseten/auth.json");
    let _ = std::fs::remove_file(&file);
    let job = [
        ("BASETEN_API_KEY", KEY),
        ("GITLAB_CI", "true"),
        ("CI_JOB_ID", "5"),
    ];
    w.run(
        &[
            "login",
            "--from-env",
            "--no-validate",
            "--baseten-profile=win",
        ],
        &job,
    )
    .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!(
            "{{\n  \"version\": 1,\n  \"current\": \"win\",\n  \"profiles\": {{\n    \"win\": {{\n      \"remote_url\": \"https://app.baseten.co\",\n      \"auth_type\": \"api_key\",\n      \"api_key\": \"{KEY}\"\n    }}\n  }}\n}}\n"
        )
    );
    w.run(&["logout", "--post"], &job).assert_code(0);
    assert!(
        !file.exists(),
        "the post removed the file the login created"
    );
    let _ = std::fs::remove_file(w.profile().join(".trussrc"));
}
