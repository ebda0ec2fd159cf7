//! Jobs that overlap in one HOME: every order of their logins and posts (each post after its own
//! login), on GitLab (job ids) and GitHub (the state the action hands its post step), from an
//! existing section, an appended one and no file, with the key inline or in the keyring. After
//! every step the live section is the newest live job's; an ended job's key is in no file under
//! HOME and not in the keyring; once no job is live the trussrc and the keyring are as they were
//! before the first job, and HOME holds exactly the files it held.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::github_oracle::parse_file_command;
use common::*;

const REMOTE: &str = "ci";
const URL: &str = "https://app.baseten.co";

/// An existing `[ci]` between other sections, CRLF before it, no final newline after.
const WITH_SECTION: &str = "# hand-written\r\n[other]\r\nremote_provider = baseten\r\nremote_url = https://o\r\napi_key = OTHER\r\n\r\n\r\n[ci]\nremote_provider: baseten\nremote_url = https://old\nteam = ml\napi_key = OLDKEY\n[last]\nk = v";
/// No `[ci]`: the login appends after a CRLF line without its ending.
const WITHOUT_SECTION: &str =
    "[other]\r\nremote_provider = baseten\r\nremote_url = https://o\r\napi_key = OTHER";
const OLD_KEYRING: &str = r#"{"auth_type": "api_key", "api_key": "OLDKEYRING"}"#;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Platform {
    Gitlab,
    Github,
}

#[derive(Clone, Copy, Debug)]
struct Case {
    platform: Platform,
    start: Option<&'static str>,
    keyring: bool,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for platform in [Platform::Gitlab, Platform::Github] {
        for start in [Some(WITH_SECTION), Some(WITHOUT_SECTION), None] {
            for keyring in [false, true] {
                // The file store for the keyring exists in test builds only.
                if !keyring || cfg!(feature = "test-hooks") {
                    cases.push(Case {
                        platform,
                        start,
                        keyring,
                    });
                }
            }
        }
    }
    cases
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Event {
    Login(usize),
    Post(usize),
}

/// Every order of the events of jobs that log in `logins[j]` times each, then post once.
fn interleavings(logins: &[usize]) -> Vec<Vec<Event>> {
    fn go(left: &mut [usize], logins: &[usize], seq: &mut Vec<Event>, all: &mut Vec<Vec<Event>>) {
        if left.iter().all(|&n| n == 0) {
            all.push(seq.clone());
            return;
        }
        for j in 0..left.len() {
            if left[j] == 0 {
                continue;
            }
            let done = logins[j] + 1 - left[j];
            seq.push(if done < logins[j] {
                Event::Login(j)
            } else {
                Event::Post(j)
            });
            left[j] -= 1;
            go(left, logins, seq, all);
            left[j] += 1;
            seq.pop();
        }
    }
    let mut left: Vec<usize> = logins.iter().map(|n| n + 1).collect();
    let mut all = Vec::new();
    go(&mut left, logins, &mut Vec::new(), &mut all);
    all
}

/// The key of job `j`'s `n`th login.
fn key(j: usize, n: usize) -> String {
    format!("JOB{j}LOGIN{n}key.Zq7Wm4")
}

struct Jobs {
    env: TestEnv,
    case: Case,
    keyring_dir: PathBuf,
    /// Logins so far per job.
    logins: Vec<usize>,
    /// Live jobs' logins, oldest first: (job, login).
    live: Vec<(usize, usize)>,
    ended: Vec<usize>,
    home_before: BTreeSet<PathBuf>,
    /// Every job logs in with the same key (one CI secret for all): a key is gone only once no
    /// job is live.
    shared_key: bool,
}

impl Jobs {
    fn new(case: Case, jobs: usize) -> Self {
        let mut env = TestEnv::new();
        let keyring_dir = env.path("keyring");
        std::fs::create_dir(&keyring_dir).unwrap();
        if let Some(text) = case.start {
            std::fs::write(env.trussrc(), text).unwrap();
            if case.keyring {
                std::fs::write(keyring_dir.join(REMOTE), OLD_KEYRING).unwrap();
            }
        }
        if case.keyring {
            env.set("TRUSS_CI_TEST_KEYRING_DIR", keyring_dir.to_str().unwrap());
        }
        for j in 0..jobs {
            std::fs::create_dir(env.path(&format!("job{j}"))).unwrap();
        }
        let home_before = files(&env.home);
        Self {
            env,
            case,
            keyring_dir,
            logins: vec![0; jobs],
            live: Vec::new(),
            ended: Vec::new(),
            home_before,
            shared_key: false,
        }
    }

    fn key(&self, j: usize, n: usize) -> String {
        if self.shared_key {
            "SHAREDkey.Zq7Wm4".into()
        } else {
            key(j, n)
        }
    }

    fn job_file(&self, j: usize, name: &str) -> String {
        self.env
            .path(&format!("job{j}/{name}"))
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// Sets the environment job `j` runs in.
    fn as_job(&mut self, j: usize) {
        for name in [
            "STATE_TRUSS_CI_STATE_FILE",
            "STATE_TRUSS_CI_STATE_ID",
            "STATE_TRUSS_CI_TRUSSRC",
        ] {
            self.env.unset(name);
        }
        match self.case.platform {
            Platform::Gitlab => {
                self.env
                    .set("GITLAB_CI", "true")
                    .set("CI_JOB_ID", &(100 + j).to_string());
            }
            Platform::Github => {
                let (genv, gout, gstate) = (
                    self.job_file(j, "env"),
                    self.job_file(j, "output"),
                    self.job_file(j, "state"),
                );
                self.env
                    .set("GITHUB_ACTIONS", "true")
                    .set("GITHUB_RUN_ID", &(100 + j).to_string())
                    .set("GITHUB_RUN_ATTEMPT", "1")
                    .set("GITHUB_JOB", "deploy")
                    .set("GITHUB_ENV", &genv)
                    .set("GITHUB_OUTPUT", &gout)
                    .set("GITHUB_STATE", &gstate);
            }
        }
    }

    fn login(&mut self, j: usize) {
        self.as_job(j);
        let n = self.logins[j];
        self.logins[j] += 1;
        let k = self.key(j, n);
        let mut args = vec!["login", "--remote", REMOTE, "--remote-url", URL];
        if self.case.keyring {
            args.extend(["--storage", "keyring"]);
        }
        match self.case.platform {
            Platform::Gitlab => {
                self.env.set("BASETEN_API_KEY", &k);
                args.push("--no-validate");
            }
            Platform::Github => {
                // As the action's shim runs it: the key in env, the inputs as flags.
                self.env.set("BASETEN_API_KEY", &k);
                args.extend(["--from-env", "--no-validate"]);
                // Each of the action's main steps saves its own state; its post gets that.
                let _ = std::fs::remove_file(self.job_file(j, "state"));
            }
        }
        self.env.run(&args).assert_code(0);
        self.env.unset("BASETEN_API_KEY");
        self.live.retain(|&(live, _)| live != j);
        self.live.push((j, n));
    }

    fn post(&mut self, j: usize) -> String {
        self.as_job(j);
        if self.case.platform == Platform::Github {
            let saved = std::fs::read_to_string(self.job_file(j, "state")).unwrap();
            for (name, value) in parse_file_command(&saved).unwrap() {
                self.env.set(&format!("STATE_{name}"), &value);
            }
        }
        let run = self.env.run(&["logout", "--post"]);
        run.assert_code(0);
        self.live.retain(|&(live, _)| live != j);
        self.ended.push(j);
        run.stderr
    }

    fn keyring_entry(&self) -> Option<String> {
        std::fs::read_to_string(self.keyring_dir.join(REMOTE)).ok()
    }

    #[track_caller]
    fn check(&self, what: &str) {
        let trussrc = self.env.read_trussrc();
        match self.live.last() {
            Some(&(j, n)) => {
                let text = trussrc.clone().unwrap_or_default();
                let newest = self.key(j, n);
                if self.case.keyring {
                    assert!(
                        self.keyring_entry().unwrap_or_default().contains(&newest),
                        "{what}: the keyring holds the newest live login's key"
                    );
                    assert_eq!(job_keys(&text), 0, "{what}: no key inline:\n{text}");
                } else {
                    assert!(
                        text.contains(&format!("api_key = {newest}\n"))
                            || text.contains(&format!("api_key = {newest}\r\n")),
                        "{what}: the section is the newest live login's:\n{text}"
                    );
                    assert_eq!(job_keys(&text), 1, "{what}: one key:\n{text}");
                }
            }
            None => {
                assert_eq!(trussrc.as_deref(), self.case.start, "{what}: as before");
                let before =
                    (self.case.keyring && self.case.start.is_some()).then_some(OLD_KEYRING);
                assert_eq!(
                    self.keyring_entry().as_deref(),
                    before,
                    "{what}: keyring as before"
                );
            }
        }
        let ended = if self.shared_key && !self.live.is_empty() {
            &[][..]
        } else {
            &self.ended[..]
        };
        for &j in ended {
            for n in 0..self.logins[j] {
                let gone = self.key(j, n);
                for file in files(&self.env.home)
                    .iter()
                    .chain(&files(&self.keyring_dir))
                {
                    let bytes = std::fs::read(file).unwrap_or_default();
                    assert!(
                        !String::from_utf8_lossy(&bytes).contains(&gone),
                        "{what}: ended job {j}'s key is still in {}",
                        file.display()
                    );
                }
            }
        }
    }

    fn play(case: Case, logins: &[usize], events: &[Event]) {
        Self::play_with(case, logins, events, false);
    }

    fn play_with(case: Case, logins: &[usize], events: &[Event], shared_key: bool) {
        let mut run = Jobs::new(case, logins.len());
        run.shared_key = shared_key;
        for (step, event) in events.iter().enumerate() {
            match *event {
                Event::Login(j) => run.login(j),
                Event::Post(j) => {
                    run.post(j);
                }
            }
            run.check(&format!("{case:?} {events:?} after step {step}"));
        }
        assert_eq!(
            files(&run.env.home),
            run.home_before,
            "{case:?} {events:?}: HOME holds exactly the files it held"
        );
    }
}

/// How many of the jobs' keys `text` holds.
fn job_keys(text: &str) -> usize {
    text.matches("JOB").count() + text.matches("SHARED").count()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path);
        }
    }
    out
}

#[test]
fn two_jobs_in_every_order() {
    for case in cases() {
        for events in interleavings(&[1, 1]) {
            Jobs::play(case, &[1, 1], &events);
        }
    }
}

#[test]
fn jobs_that_share_one_key() {
    for case in cases() {
        for events in interleavings(&[1, 1]) {
            Jobs::play_with(case, &[1, 1], &events, true);
        }
    }
}

#[test]
fn a_job_that_logs_in_again_after_another_job() {
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.platform == Platform::Gitlab)
        .collect();
    for case in cases {
        for events in interleavings(&[2, 1]) {
            Jobs::play(case, &[2, 1], &events);
        }
    }
}

#[test]
fn three_jobs_in_every_order() {
    let cases = cases();
    for (i, events) in interleavings(&[1, 1, 1]).iter().enumerate() {
        // Every order once, the cases taken in turn.
        Jobs::play(cases[i % cases.len()], &[1, 1, 1], events);
    }
}

/// Job 0 logs in, a step outside truss-ci rewrites `[ci]` as `outside`, job 1 logs in, then job
/// 0's post and job 1's. Returns the file as the outside step left it.
fn with_a_step_between(outside: &str) -> (Jobs, String) {
    let case = Case {
        platform: Platform::Gitlab,
        start: Some(WITH_SECTION),
        keyring: false,
    };
    let mut run = Jobs::new(case, 2);
    run.login(0);
    // Login ends the section's lines as the file's first line ends.
    let eol = truss_ci::trussrc::line_ending(WITH_SECTION);
    let mine = truss_ci::trussrc::with_line_ending(&truss_section(REMOTE, URL, &key(0, 0)), eol);
    let text = run.env.read_trussrc().unwrap();
    let rewritten = text.replace(
        mine.trim_end_matches(['\r', '\n']),
        outside.trim_end_matches('\n'),
    );
    assert_ne!(rewritten, text);
    std::fs::write(run.env.trussrc(), &rewritten).unwrap();
    run.login(1);
    let said = run.post(0);
    assert!(
        said.contains("Left remote `ci` in")
            && said.contains("to the later job that logged in over it"),
        "{said}"
    );
    run.check("the earlier job's post");
    run.post(1);
    (run, rewritten)
}

#[test]
fn a_section_written_between_two_logins_by_another_tool() {
    // Written its own way: left as the later login found it, as an undo leaves such a section.
    let hand = "[ci]\nremote_provider = baseten\nremote_url = https://hand\nteam = ml\napi_key = HANDKEY\n";
    let (run, rewritten) = with_a_step_between(hand);
    assert_eq!(run.env.read_trussrc().unwrap(), rewritten);
    // Written as a login writes it (truss auth login): undone with the logins around it.
    let like_login = truss_section(REMOTE, "https://hand", "HANDKEY");
    let (run, _) = with_a_step_between(&like_login);
    assert_eq!(run.env.read_trussrc().as_deref(), Some(WITH_SECTION));
    assert_eq!(files(&run.env.home), run.home_before);
}

/// Three jobs log in to one remote, the first and the third with the same key: the first job's
/// post leaves the third's login (the same bytes the first wrote) live, and the last post puts
/// the file back as it was before all three.
#[test]
fn a_state_that_comes_back_is_a_live_logins() {
    let original = common::truss_section("baseten", "https://app.baseten.co", "ORIGINAL.0000");
    let mut env = TestEnv::new().gitlab_job("1").trussrc_text(&original);
    for (job, key) in [
        ("1", "SAMEkey1.1111"),
        ("2", "OTHERkey.2222"),
        ("3", "SAMEkey1.1111"),
    ] {
        env.set("CI_JOB_ID", job).set("BASETEN_API_KEY", key);
        env.run(&["login", "--no-validate"]).assert_code(0);
    }
    env.set("CI_JOB_ID", "1");
    env.run(&["logout", "--post"]).assert_code(0);
    let now = env.read_trussrc().unwrap();
    assert!(now.contains("SAMEkey1.1111"), "job 3's login stays: {now}");
    for job in ["2", "3"] {
        env.set("CI_JOB_ID", job);
        env.run(&["logout", "--post"]).assert_code(0);
    }
    assert_eq!(env.read_trussrc().as_deref(), Some(original.as_str()));
}
