//! A CI login writes its undo record while the API answers, staged beside the record file from
//! what it read before the lock. Another job's login or post in the same HOME meanwhile changes
//! the record file or sweeps the staged temporary: the login then writes its record as it would
//! without one staged, and every job's post still restores every byte. The key itself reaches no
//! file before the API accepts it.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BEFORE: &str =
    "[other]\nremote_provider = baseten\nremote_url = https://o\napi_key = OTHER\n";
const SECOND: &str = "second.Zx9qv7Lw3pTt";

/// Holds a fake API's answers until the test opens it (or 20 s have passed).
struct Gate(tempfile::TempDir);

impl Gate {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    /// A fake API that answers as `answer` does once the gate is open.
    fn api(&self, answer: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> FakeApi {
        let open = self.0.path().join("open");
        FakeApi::start(move |req, n| {
            let started = Instant::now();
            while !open.exists() && started.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(5));
            }
            answer(req, n)
        })
    }

    /// A fake API that answers like Baseten once the gate is open.
    fn baseten(&self) -> FakeApi {
        self.api(baseten_handler(&[KEY, SECOND]))
    }

    /// Opens the gate, and waits for the login that waited on it to end.
    fn open(&self, waiting: Child) -> Run {
        std::fs::write(self.0.path().join("open"), "").unwrap();
        to_run(waiting.wait_with_output().unwrap())
    }
}

/// The staged temporaries of the undo record in `home`.
fn staged_records(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("..trussrc.truss-ci-state.json.truss-ci.") && name.ends_with(".tmp")
        })
        .collect()
}

/// Job 1's login, waiting on the gated API with its record staged.
fn waiting_login(job: &TestEnv, api: &FakeApi) -> Child {
    let child = job
        .command(&["login", "--from-env"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the key check", || api.hits() > 0);
    wait_until("the record staged", || {
        !staged_records(&job.home).is_empty()
    });
    child
}

/// Two GitLab jobs in one HOME, the first with `KEY`, the second with `other_key`. With the same
/// key, the section they write is in the trussrc already, as login writes it: the second job's
/// login then changes the record file alone.
fn jobs(api: &FakeApi, other_key: &str) -> (TestEnv, TestEnv) {
    let first = TestEnv::new()
        .gitlab_job("1")
        .key(KEY)
        .api(api)
        .trussrc_text(BEFORE);
    let second = TestEnv::new()
        .gitlab_job("2")
        .key(other_key)
        .api(api)
        .home_of(&first);
    if other_key == KEY {
        let mut outside = TestEnv::new().key(KEY).api(api).home_of(&first);
        outside.unset("GITLAB_CI");
        outside
            .run(&["login", "--from-env", "--no-validate"])
            .assert_code(0);
    }
    (first, second)
}

/// Job 1's login (of [`jobs`]), with `meanwhile` done while the API answers and its record is
/// staged; the login exits 0. Returns the two jobs and the trussrc as it was before the login.
fn login_while(
    other_key: &str,
    meanwhile: impl FnOnce(&TestEnv, &TestEnv),
) -> (TestEnv, TestEnv, String) {
    let gate = Gate::new();
    let api = gate.baseten();
    let (first, second) = jobs(&api, other_key);
    let before = first.read_trussrc().unwrap();
    let waiting = waiting_login(&first, &api);
    meanwhile(&first, &second);
    gate.open(waiting).assert_code(0);
    (first, second, before)
}

/// With nothing in the way, the record staged while the API answered is the one saved: the record
/// file is that temporary, renamed.
#[test]
fn a_login_saves_the_record_it_staged() {
    use std::os::unix::fs::MetadataExt;
    // A second name keeps the staged file's inode from being freed and numbered again.
    let (first, _, _) = login_while(SECOND, |first, _| {
        std::fs::hard_link(&staged_records(&first.home)[0], first.path("held")).unwrap();
    });
    let held = first.path("held");
    let record = first.home.join(".trussrc.truss-ci-state.json");
    let ino = |path: &Path| std::fs::metadata(path).unwrap().ino();
    assert_eq!(ino(&record), ino(&held));
    assert!(staged_records(&first.home).is_empty());
    first.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(first.read_trussrc().as_deref(), Some(BEFORE));
}

/// Another job logs in while the first waits for the API: the first's staged record was made
/// from the record file before that login, and is not used; both records are kept, and the two
/// posts, in either order, restore the file. The other job's key is another one (the trussrc
/// changes too) or the same (only the record file does).
#[test]
fn a_record_staged_before_another_login_is_not_used() {
    for (other_key, first_post_first) in
        [(SECOND, true), (SECOND, false), (KEY, true), (KEY, false)]
    {
        let (first, second, before) = login_while(other_key, |_, second| {
            second
                .run(&["login", "--from-env", "--no-validate"])
                .assert_code(0);
        });
        let records =
            std::fs::read_to_string(first.home.join(".trussrc.truss-ci-state.json")).unwrap();
        assert_eq!(
            records.matches("\"job\"").count(),
            2,
            "{other_key}: {records}"
        );
        assert!(first.read_trussrc().unwrap().contains(KEY));
        assert!(staged_records(&first.home).is_empty());
        let (a, b) = if first_post_first {
            (&first, &second)
        } else {
            (&second, &first)
        };
        a.run(&["logout", "--post"]).assert_code(0);
        b.run(&["logout", "--post"]).assert_code(0);
        assert_eq!(first.read_trussrc(), Some(before), "{other_key}");
    }
}

/// The change no sweep sees: another job's login holds the lock (its sweep done) while this one
/// stages its record, and writes its own files after. The staged record is not used: the record
/// file is read again under the lock, and both jobs' records are kept. The other job's key is
/// another one (the trussrc changes too) or the same (only the record file does).
#[test]
fn a_record_file_changed_after_staging_is_read_again() {
    for other_key in [SECOND, KEY] {
        let gate = Gate::new();
        let api = gate.baseten();
        let (first, second) = jobs(&api, other_key);
        let before = first.read_trussrc().unwrap();
        // What the other job's login writes, made first and set aside.
        let (rc, record) = (
            first.trussrc(),
            first.home.join(".trussrc.truss-ci-state.json"),
        );
        second
            .run(&["login", "--from-env", "--no-validate"])
            .assert_code(0);
        let (their_rc, their_record) = (first.path("their-rc"), first.path("their-record"));
        std::fs::rename(&rc, &their_rc).unwrap();
        std::fs::rename(&record, &their_record).unwrap();
        std::fs::write(&rc, &before).unwrap();
        // The other job holds the lock while this one stages, then writes and lets go.
        let lock_path = first.home.join(".trussrc.lock");
        let lock = std::fs::File::create(&lock_path).unwrap();
        lock.lock().unwrap();
        let waiting = waiting_login(&first, &api);
        std::fs::rename(&their_rc, &rc).unwrap();
        std::fs::rename(&their_record, &record).unwrap();
        std::fs::remove_file(&lock_path).unwrap();
        drop(lock);
        gate.open(waiting).assert_code(0);
        let records = std::fs::read_to_string(&record).unwrap();
        assert_eq!(
            records.matches("\"job\"").count(),
            2,
            "{other_key}: {records}"
        );
        first.run(&["logout", "--post"]).assert_code(0);
        second.run(&["logout", "--post"]).assert_code(0);
        assert_eq!(first.read_trussrc(), Some(before), "{other_key}");
    }
}

/// Another tool (truss, an editor) rewrites the trussrc while the login waits for the API, with a
/// section of the login's remote: the staged record describes the file as it was, and is not
/// used. The post puts back the section the other tool wrote.
#[test]
fn a_trussrc_changed_by_another_tool_after_staging_is_read_again() {
    let edited = "[baseten]\nremote_provider = baseten\nremote_url = https://e\napi_key = EDITED\n";
    let (first, _, _) = login_while(SECOND, |first, _| {
        std::fs::write(first.trussrc(), edited).unwrap();
    });
    assert!(first.read_trussrc().unwrap().contains(KEY));
    first.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(first.read_trussrc().as_deref(), Some(edited));
}

/// A post of a job with nothing to undo takes the lock and sweeps the temporaries it finds, the
/// waiting login's staged record among them: the login writes its record all the same.
#[test]
fn a_staged_record_swept_by_another_job_is_written_again() {
    let (first, _, _) = login_while(SECOND, |first, second| {
        second.run(&["logout", "--post"]).assert_code(0);
        assert!(staged_records(&first.home).is_empty(), "swept");
    });
    assert!(first.read_trussrc().unwrap().contains(KEY));
    first.run(&["logout", "--post"]).assert_code(0);
    assert_eq!(first.read_trussrc().as_deref(), Some(BEFORE));
}

/// While the API answers, the record is staged and the key is in no file; a rejected key leaves
/// nothing behind, and the record file is as it was.
#[test]
fn the_key_reaches_no_file_before_it_is_accepted() {
    let gate = Gate::new();
    let rejecting = gate.api(|_, _| Reply::json(401, r#"{"error":"invalid api key"}"#));
    let job = TestEnv::new()
        .gitlab_job("1")
        .key(KEY)
        .api(&rejecting)
        .trussrc_text(BEFORE);
    let waiting = waiting_login(&job, &rejecting);
    for file in std::fs::read_dir(&job.home).unwrap().flatten() {
        let bytes = std::fs::read(file.path()).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "{}",
            file.path().display()
        );
    }
    gate.open(waiting).assert_code(3);
    let left: Vec<_> = std::fs::read_dir(&job.home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, [".trussrc"], "{left:?}");
    assert_eq!(job.read_trussrc().as_deref(), Some(BEFORE));
}
