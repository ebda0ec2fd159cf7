//! `truss-ci exec -- CMD`: the key, validated, for one command, and nothing left behind on any
//! path — the command succeeds, fails, crashes or is killed; truss-ci is signalled or SIGKILLed.
#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;

/// An environment whose temp directory is its own, so leftovers can be counted.
fn exec_env(api: &FakeApi) -> TestEnv {
    TestEnv::new().own_tmpdir().key(KEY).api(api)
}

fn leftovers(env: &TestEnv) -> Vec<PathBuf> {
    std::fs::read_dir(env.path("tmp"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

/// What the command saw: `USER_TRUSSRC_PATH`, the file there and its mode, the dir's mode, and
/// whether BASETEN_API_KEY reached it.
const PROBE: &str = r#"p="$USER_TRUSSRC_PATH"; echo "path=$p"; echo "file-mode=$(stat -c %a "$p")"; echo "dir-mode=$(stat -c %a "$(dirname "$p")")"; echo "key-env=${BASETEN_API_KEY:-unset}"; cat "$p""#;

#[test]
fn the_command_gets_a_private_trussrc_that_is_gone_after() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let home_rc = "[baseten]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nthis file = is not read\n";
    std::fs::write(env.trussrc(), home_rc).unwrap();
    let run = env.run(&["exec", "--", "sh", "-c", PROBE]);
    run.assert_code(0);
    run.assert_stdout_has("file-mode=600");
    run.assert_stdout_has("dir-mode=700");
    run.assert_stdout_has("key-env=unset");
    assert!(
        run.stdout
            .contains(&truss_section("baseten", &api.url, KEY)),
        "{}",
        run.stdout
    );
    let path = run
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("path=");
    assert!(
        path.starts_with(env.path("tmp").to_str().unwrap()),
        "{path}"
    );
    assert!(!Path::new(path).exists());
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
    assert_eq!(env.read_trussrc().unwrap(), home_rc, "~/.trussrc untouched");
    assert_eq!(api.hits(), 2, "validated and looked up once");

    let run = env.run(&[
        "exec",
        "--export-env",
        "--remote",
        "r2",
        "--",
        "sh",
        "-c",
        PROBE,
    ]);
    run.assert_code(0);
    run.assert_stdout_has(format!("key-env={KEY}"));
    run.assert_stdout_has("[r2]\n");
}

#[test]
fn exit_codes_pass_through() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    env.run(&["exec", "--", "sh", "-c", "exit 7"])
        .assert_code(7);
    env.run(&["exec", "--", "sh", "-c", "kill -TERM $$"])
        .assert_code(128 + 15);
    env.run(&["exec", "--", "sh", "-c", "kill -SEGV $$"])
        .assert_code(128 + 11);
    let run = env.run(&["exec", "--", "/nonexistent/cmd"]);
    run.assert_code(127);
    run.assert_stderr_has("could not run /nonexistent/cmd");
    let not_exec = env.path("not-exec");
    std::fs::write(&not_exec, "data").unwrap();
    env.run(&["exec", "--", not_exec.to_str().unwrap()])
        .assert_code(126);
    // The code said is the code left with.
    for (cmd, code, kind) in [
        ("/nonexistent/cmd", 127, "not-found"),
        (not_exec.to_str().unwrap(), 126, "cannot-run"),
    ] {
        let run = env.run(&["--output", "json", "exec", "--", cmd]);
        run.assert_code(code);
        let err: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
        assert_eq!(err["error"]["exit_code"], code, "{}", run.stdout);
        assert_eq!(err["error"]["kind"], kind, "{}", run.stdout);
    }
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

#[test]
fn the_command_never_runs_with_a_key_that_failed() {
    let marker = |env: &TestEnv| env.path("ran");
    let rejecting = FakeApi::accepting(&["someone-else"]);
    let mut env = exec_env(&rejecting);
    let script = format!("touch {}", marker(&env).display());
    env.run(&["exec", "--", "sh", "-c", &script]).assert_code(3);
    env.unset("BASETEN_API_KEY");
    env.run(&["exec", "--", "sh", "-c", &script]).assert_code(2);
    let refused = refused_url();
    env.set("BASETEN_API_KEY", KEY)
        .set("BASETEN_REMOTE_URL", &refused);
    env.run(&["exec", "--timeout", "0.5", "--", "sh", "-c", &script])
        .assert_code(4);
    assert!(!marker(&env).exists());
    assert!(leftovers(&env).is_empty());
}

#[test]
fn the_mask_comes_first_on_github() {
    let api = FakeApi::baseten();
    let mut env = exec_env(&api);
    let runner_temp = env.path("runner-temp");
    std::fs::create_dir(&runner_temp).unwrap();
    env.set("GITHUB_ACTIONS", "true")
        .set("RUNNER_TEMP", runner_temp.to_str().unwrap());
    let run = env.run(&["exec", "--", "sh", "-c", "echo \"$USER_TRUSSRC_PATH\""]);
    run.assert_code(0);
    let mut lines = run.stdout.lines();
    assert_eq!(lines.next(), Some(format!("::add-mask::{KEY}").as_str()));
    assert!(
        lines.any(|l| l.starts_with(runner_temp.to_str().unwrap())),
        "{}",
        run.stdout
    );
}

/// Starts `exec` with a command that records the signal it gets and exits 40+N, waits until the
/// command is running, sends `signal` to truss-ci, and returns truss-ci's exit code.
fn signalled(env: &TestEnv, signal: &str) -> i32 {
    let ready = env.path("ready");
    let _ = std::fs::remove_file(&ready);
    let script = format!(
        "trap 'exit 41' HUP; trap 'exit 42' INT; trap 'exit 45' TERM; touch {}; while :; do sleep 0.05; done",
        ready.display()
    );
    let mut child = running(env, &script, &ready);
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn signals_reach_the_command_and_nothing_is_left() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    for (signal, code) in [("HUP", 41), ("INT", 42), ("TERM", 45)] {
        assert_eq!(signalled(&env, signal), code, "{signal}");
        assert!(
            leftovers(&env).is_empty(),
            "{signal}: {:?}",
            leftovers(&env)
        );
    }
}

#[test]
fn after_a_sigkill_the_next_run_sweeps_the_private_trussrc() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    assert_eq!(signalled_kill(&env), None);
    let left: Vec<_> = leftovers(&env).into_iter().filter(|p| p.is_dir()).collect();
    assert_eq!(left.len(), 1, "the killed run left its directory: {left:?}");
    assert!(
        std::fs::read_to_string(left[0].join("trussrc"))
            .unwrap()
            .contains(KEY)
    );
    // Any command sweeps it: here the cheapest.
    env.run(&["status"]).assert_code(2);
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

/// Starts `truss-ci exec -- sh -c SCRIPT` and returns once the script has touched `ready`.
fn running(env: &TestEnv, script: &str, ready: &Path) -> std::process::Child {
    let child = env
        .command(&["exec", "--", "sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(ready);
    child
}

/// SIGKILLs truss-ci while its command runs; returns its exit code (none when killed).
fn signalled_kill(env: &TestEnv) -> Option<i32> {
    let ready = env.path("ready-kill");
    let script = format!("touch {}; sleep 30", ready.display());
    let mut child = running(env, &script, &ready);
    child.kill().unwrap();
    let code = child.wait().unwrap().code();
    // The orphaned `sleep 30` holds no lock: the lock died with truss-ci.
    let _ = std::process::Command::new("pkill")
        .args(["-f", &format!("touch {}", ready.display())])
        .status();
    code
}

#[test]
fn real_truss_works_through_exec() {
    let Some(truss) = interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss") else {
        return;
    };
    let api = FakeApi::baseten();
    let mut env = exec_env(&api);
    env.set("BASETEN_TRUSS_AUTH_KEYRING_DISABLED", "1")
        .set("TRUSS_NO_UPDATE_CHECK", "1")
        .set("HTTPS_PROXY", "http://127.0.0.1:9")
        .set("NO_PROXY", "127.0.0.1,localhost");
    let run = env.run(&[
        "exec",
        "--from-env",
        "--",
        truss.to_str().unwrap(),
        "whoami",
    ]);
    run.assert_code(0);
    assert!(
        run.stdout.contains("local-ws"),
        "{}{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(
        api.hits_on("/graphql/"),
        1,
        "truss called the API with the key from the private trussrc"
    );
    assert_eq!(env.read_trussrc(), None, "~/.trussrc was never written");
    assert!(leftovers(&env).is_empty());
}

/// The pause exists only in test builds (`--features test-hooks`).
#[test]
#[cfg(feature = "test-hooks")]
fn a_starting_exec_is_never_swept() {
    let api = FakeApi::baseten();
    let mut env = exec_env(&api);
    let pause = env.path("pause");
    std::fs::create_dir(&pause).unwrap();
    env.set("TRUSS_CI_TEST_EXEC_PAUSE", pause.to_str().unwrap());
    let ran = env.path("ran");
    let child = env
        .command(&["exec", "--", "touch", ran.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held between the creation of its files and the lock that tells a sweeper they are live.
    wait_for(&pause.join("paused"));
    env.run(&["status"]).assert_code(2);
    std::fs::write(pause.join("resume"), "").unwrap();
    to_run(child.wait_with_output().unwrap()).assert_code(0);
    assert!(ran.exists());
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}

/// Every signal that ends a process by default and can be caught, as Linux numbers them (the C
/// library keeps 32 and 33 of the real-time ones; musl also 34).
#[cfg(target_os = "linux")]
const TERMINATING: [(&str, i32); 18] = [
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("TRAP", 5),
    ("ABRT", 6),
    ("BUS", 7),
    ("USR1", 10),
    ("USR2", 12),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("IO", 29),
    ("PWR", 30),
    ("SYS", 31),
];

/// The real-time signals glibc leaves to programs (SIGRTMIN is 34 there).
#[cfg(target_os = "linux")]
const REAL_TIME: std::ops::RangeInclusive<i32> = 34..=64;

#[cfg(target_os = "linux")]
fn kill(pid: u32, signal: i32) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

#[cfg(target_os = "linux")]
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
}

#[test]
#[cfg(target_os = "linux")]
fn every_terminating_signal_reaches_the_command_and_nothing_is_left() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let (ready, pid_file) = (env.path("ready"), env.path("pid"));
    let script = format!(
        "echo $$ > {}; touch {}; exec sleep 30",
        pid_file.display(),
        ready.display()
    );
    let real_time = REAL_TIME.map(|n| ("RT", n));
    for (name, signal) in TERMINATING.into_iter().chain(real_time) {
        let _ = std::fs::remove_file(&ready);
        let mut child = running(&env, &script, &ready);
        kill(child.id(), signal);
        let status = child.wait().unwrap();
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let pid = pid.trim();
        let orphaned = alive(pid);
        if orphaned {
            kill(pid.parse().unwrap(), 9);
        }
        assert!(!orphaned, "SIG{name}: the command was left running");
        // A real-time signal reaches the command as SIGTERM (it cannot be sent as itself
        // without unsafe code); both end it by default.
        let expected = if signal >= 32 { 128 + 15 } else { 128 + signal };
        assert_eq!(status.code(), Some(expected), "SIG{name}: {status:?}");
        assert!(
            leftovers(&env).is_empty(),
            "SIG{name}: {:?}",
            leftovers(&env)
        );
    }
}

/// A key check that never answers: the run waits in validation until it is signalled.
#[cfg(target_os = "linux")]
fn hanging_api() -> FakeApi {
    FakeApi::start(|_, _| Reply::Hang)
}

#[test]
#[cfg(target_os = "linux")]
fn a_signal_during_validation_ends_the_run_with_nothing_left() {
    let api = hanging_api();
    let env = exec_env(&api);
    let ran = env.path("ran");
    for (name, signal) in [("TERM", 15), ("QUIT", 3), ("USR1", 10), ("RTMIN", 35)] {
        let hits = api.hits();
        let child = env
            .command(&["exec", "--", "touch", ran.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until("the key check", || api.hits() > hits);
        kill(child.id(), signal);
        let run = to_run(child.wait_with_output().unwrap());
        run.assert_code(128 + signal);
        assert!(
            run.stderr.contains(&if signal < 32 {
                format!("stopped by SIG{name} before anything was written")
            } else {
                format!("stopped by signal {signal} before anything was written")
            }),
            "SIG{name}: {}",
            run.stderr
        );
        assert!(!ran.exists(), "SIG{name}: the command ran");
        assert!(
            leftovers(&env).is_empty(),
            "SIG{name}: {:?}",
            leftovers(&env)
        );
    }
}

/// A signal at the private directory's first steps (its lock, its creation, the trussrc's fsync
/// and rename), delivered by strace at exactly that syscall: the run removes what it made and
/// exits 128+N without starting the command.
#[test]
#[cfg(target_os = "linux")]
fn a_signal_while_the_directory_is_made_removes_it() {
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let ran = env.path("ran");
    // The lock file's flock, the directory's mkdir, the trussrc's fsync and rename, then the
    // directory's fsync.
    let points = [
        ("flock", 1),
        ("mkdir", 1),
        ("fsync", 1),
        ("rename", 1),
        ("fsync", 2),
    ];
    for (syscall, nth) in points {
        for (name, signal) in [("TERM", 15), ("QUIT", 3), ("USR2", 12)] {
            let mut traced = std::process::Command::new(&strace);
            traced
                .args(["-f", "-qq", "-o", "/dev/null", "-e"])
                .arg(format!("inject={syscall}:signal={name}:when={nth}"));
            let args = ["exec", "--", "touch", ran.to_str().unwrap()];
            let run = to_run(env.under(traced, BIN, &args).output().unwrap());
            let what = format!("SIG{name} at {syscall} #{nth}");
            assert_eq!(run.code, 128 + signal, "{what}: {}", run.stderr);
            assert!(
                run.stderr.contains(&format!(
                    "stopped by SIG{name} before touch started; the private trussrc was removed"
                )),
                "{what}: {}",
                run.stderr
            );
            assert!(!ran.exists(), "{what}: the command ran");
            assert!(leftovers(&env).is_empty(), "{what}: {:?}", leftovers(&env));
        }
    }
}

/// The command starts as if run directly: nothing blocked, SIGPIPE at its default (Rust's
/// runtime ignores it in truss-ci; `std` sets it back for the child).
#[test]
#[cfg(target_os = "linux")]
fn the_command_starts_with_default_signals() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let run = env.run(&[
        "exec",
        "--",
        "grep",
        "-E",
        "^Sig(Blk|Ign)",
        "/proc/self/status",
    ]);
    run.assert_code(0);
    let mask = |field: &str| {
        let line = run.stdout.lines().find(|l| l.starts_with(field)).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    };
    assert_eq!(mask("SigBlk:"), 0, "{}", run.stdout);
    assert_eq!(
        mask("SigIgn:") & (1 << (13 - 1)),
        0,
        "SIGPIPE: {}",
        run.stdout
    );
}

/// Reads `field` of `/proc/<pid>/limits`: the soft and hard limits.
#[cfg(target_os = "linux")]
fn core_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let mut values = line["Max core file size".len()..].split_whitespace();
    (
        values.next().unwrap().to_owned(),
        values.next().unwrap().to_owned(),
    )
}

#[cfg(target_os = "linux")]
fn files_holding(dir: &Path, needle: &str, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_holding(&path, needle, found);
        } else if std::fs::read(&path)
            .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(path);
        }
    }
}

/// SIGQUIT while `login` or `exec` waits on the key check, with cores enabled as far as the
/// shell can: the process that holds the key has a soft core limit of 0, and no core is written
/// (checked on disk when the kernel's core pattern is a plain file name; through the limits
/// alone when it pipes to a helper).
#[test]
#[cfg(target_os = "linux")]
fn no_core_file_holds_the_key() {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let plain = !pattern.trim_start().starts_with('|');
    let api = hanging_api();
    let env = exec_env(&api);
    for args in [&["login"][..], &["exec", "--", "true"]] {
        let hits = api.hits();
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", "ulimit -c \"$(ulimit -Hc)\" && exec \"$0\" \"$@\""]);
        let mut child = env
            .under(sh, BIN, args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the key check", || api.hits() > hits);
        let (soft, hard) = core_limits(child.id());
        assert_eq!(soft, "0", "{args:?}");
        assert_eq!(
            hard,
            core_limits(std::process::id()).1,
            "{args:?}: the hard limit is left alone"
        );
        kill(child.id(), 3);
        let status = child.wait().unwrap();
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(!status.core_dumped(), "{args:?}: {status:?}");
            if args[0] == "exec" {
                assert_eq!(status.code(), Some(128 + 3), "{args:?}");
            } else {
                assert_eq!(status.signal(), Some(3), "{args:?}");
            }
        }
        if plain {
            let mut found = Vec::new();
            files_holding(env.dir.path(), KEY, &mut found);
            assert!(found.is_empty(), "{args:?}: {found:?}");
            let cores: Vec<_> = std::fs::read_dir(env.dir.path())
                .unwrap()
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("core"))
                .map(|e| e.path())
                .collect();
            assert!(cores.is_empty(), "{args:?}: {cores:?}");
        }
    }
}

/// Every command marks itself not dumpable (a piping core pattern cannot get round it) and
/// lowers only the soft core limit, which the command `exec` runs inherits and may raise.
#[test]
#[cfg(target_os = "linux")]
fn every_command_is_not_dumpable_and_exec_passes_on_the_soft_limit() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let run = env.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        "ulimit -c; ulimit -Hc; ulimit -c \"$(ulimit -Hc)\" && ulimit -c",
    ]);
    run.assert_code(0);
    let lines: Vec<_> = run.stdout.lines().collect();
    assert_eq!(lines[0], "0", "{}", run.stdout);
    assert_eq!(
        lines[1], lines[2],
        "raised back to the hard limit: {}",
        run.stdout
    );
    let Some(strace) = system_tool("strace") else {
        return;
    };
    let trace = env.path("prctl.trace");
    for command in ["status", "logout", "login"] {
        let mut traced = std::process::Command::new(&strace);
        traced
            .args(["-qq", "-e", "trace=prctl,prlimit64,setrlimit", "-o"])
            .arg(&trace);
        let status = env
            .under(traced, BIN, &[command])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.code().is_some(), "{command}: {status:?}");
        let trace = std::fs::read_to_string(&trace).unwrap();
        assert!(
            trace.contains("prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE) = 0"),
            "{command}: {trace}"
        );
        assert!(
            trace.contains("RLIMIT_CORE, {rlim_cur=0,"),
            "{command}: {trace}"
        );
    }
}

/// A signal while the command runs reaches it while its trussrc is still there: the directory
/// goes only once the command has ended, and its own exit code is truss-ci's.
#[test]
#[cfg(target_os = "linux")]
fn the_trussrc_outlives_a_signalled_command() {
    let api = FakeApi::baseten();
    let env = exec_env(&api);
    let (ready, seen) = (env.path("ready"), env.path("seen"));
    let script = format!(
        "trap 'cat \"$USER_TRUSSRC_PATH\" > {}; exit 7' USR1; touch {}; while :; do sleep 0.05; done",
        seen.display(),
        ready.display()
    );
    let mut child = running(&env, &script, &ready);
    kill(child.id(), 10);
    assert_eq!(child.wait().unwrap().code(), Some(7));
    assert!(
        std::fs::read_to_string(&seen).unwrap().contains(KEY),
        "the command read its trussrc after the signal"
    );
    assert!(leftovers(&env).is_empty(), "{:?}", leftovers(&env));
}
