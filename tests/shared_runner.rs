//! A self-hosted runner shared with other accounts: files truss-ci reads are never read through a
//! link, a trussrc someone else controls never decides where the key goes, and a proxy variable
//! is used exactly as checked or refused.
#![cfg(unix)] // symlinks, modes and owners
#![allow(clippy::unwrap_used)]

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Moves `path` aside and puts a link to it in its place; returns the real file.
fn replace_with_link(path: &Path) -> std::path::PathBuf {
    let real = path.with_extension("real");
    std::fs::rename(path, &real).unwrap();
    std::os::unix::fs::symlink(&real, path).unwrap();
    real
}

#[track_caller]
fn assert_refused(run: &Run, code: i32, needles: &[&str]) {
    run.assert_code(code);
    for needle in needles {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(!run.all().contains(KEY), "the key is never echoed");
}

#[test]
fn every_command_refuses_a_linked_trussrc() {
    let api = FakeApi::baseten();
    let env = TestEnv::new().key(KEY);
    std::fs::write(env.trussrc(), truss_section("baseten", &api.url, KEY)).unwrap();
    set_mode(&env.trussrc(), 0o600);
    let real = replace_with_link(&env.trussrc());
    let before = std::fs::read_to_string(&real).unwrap();
    for args in [
        &["status"][..],
        &["status", "--check"],
        &["login"],
        &["logout"],
        &["logout", "--all"],
    ] {
        let run = env.run(args);
        assert_refused(&run, 5, &["is a symbolic link", ".trussrc"]);
        assert!(!run.stdout.contains(&api.url), "{args:?}: {}", run.stdout);
    }
    assert_eq!(api.hits(), 0, "no request was made");
    assert_eq!(std::fs::read_to_string(&real).unwrap(), before);
}

#[test]
fn a_linked_undo_record_key_file_or_ca_file_is_refused() {
    let api = FakeApi::baseten();
    let env = TestEnv::new().key(KEY).gitlab_job("7");
    env.run(&["login", "--no-validate"]).assert_code(0);
    let written = env.read_trussrc().unwrap();
    let record = env.home.join(".trussrc.truss-ci-state.json");
    let real = replace_with_link(&record);
    let run = env.run(&["logout", "--post"]);
    assert_refused(&run, 5, &["refusing the undo record", "symbolic link"]);
    assert_eq!(env.read_trussrc().unwrap(), written, "nothing was undone");
    std::fs::remove_file(&record).unwrap();
    std::fs::rename(&real, &record).unwrap();
    env.run(&["logout", "--post"]).assert_code(0);

    let mut env = TestEnv::new().api(&api);
    let key_file = env.path("key");
    std::fs::write(&key_file, KEY).unwrap();
    replace_with_link(&key_file);
    let run = env.run(&["login", "--api-key-file", key_file.to_str().unwrap()]);
    assert_refused(&run, 2, &["symbolic link", "readlink -f"]);
    env.set("BASETEN_API_KEY_FILE", key_file.to_str().unwrap());
    let run = env.run(&["login"]);
    assert_refused(&run, 2, &["BASETEN_API_KEY_FILE", "symbolic link"]);
    assert_eq!(env.read_trussrc(), None);

    let tls = FakeApi::baseten_tls();
    let env = TestEnv::new().key(KEY).api(&tls);
    let ca = env.path("ca.pem");
    std::fs::write(&ca, tls.ca_pem.as_ref().unwrap()).unwrap();
    let real = replace_with_link(&ca);
    env.run(&["login", "--no-validate"]).assert_code(0);
    for args in [
        &["login", "--ca-cert", ca.to_str().unwrap()][..],
        &["status", "--check", "--ca-cert", ca.to_str().unwrap()],
    ] {
        let run = env.run(args);
        assert_refused(&run, 2, &["--ca-cert", "symbolic link"]);
    }
    assert_eq!(api.hits() + tls.hits(), 0, "no request was made");
    env.run(&["login", "--ca-cert", real.to_str().unwrap()])
        .assert_code(0);
}

/// Chowns `path` to nobody; false when this user may not (not root).
fn give_away(path: &Path) -> bool {
    std::os::unix::fs::chown(path, Some(65534), None).is_ok()
}

#[test]
fn a_trussrc_others_control_never_decides_where_the_key_goes() {
    // Another user's address for the key: taken from the file, it would receive the key.
    let elsewhere = FakeApi::baseten();
    let env = TestEnv::new().key(KEY);
    let rc = env.path("their-trussrc");
    let rc_arg = rc.to_str().unwrap().to_owned();
    let text = truss_section("baseten", &elsewhere.url, "THEIRS");
    // (what, mode, owned by another user)
    let mut cases = vec![
        ("mode 0664", 0o664, false),
        ("mode 0646", 0o646, false),
        ("mode 0620", 0o620, false),
    ];
    std::fs::write(&rc, "").unwrap();
    if give_away(&rc) {
        cases.push(("owned by uid 65534", 0o600, true));
    } // else not root: another owner cannot be set up here.
    for (what, mode, foreign) in cases {
        let _ = std::fs::remove_file(&rc);
        std::fs::write(&rc, &text).unwrap();
        set_mode(&rc, mode);
        if foreign {
            assert!(give_away(&rc));
        }
        let needle = if foreign {
            "owned by another user"
        } else {
            "its group or others may write to it"
        };
        for args in [
            &["login", "--trussrc", &rc_arg][..],
            &["login", "--trussrc", &rc_arg, "--storage", "keyring"],
            &["status", "--check", "--trussrc", &rc_arg],
            &["status", "--trussrc", &rc_arg],
            &["logout", "--trussrc", &rc_arg],
        ] {
            let run = env.run(args);
            assert_refused(&run, 5, &[needle, &rc_arg, "chmod go-w"]);
            assert!(!run.stdout.contains(&elsewhere.url), "{what} {args:?}");
        }
        assert_eq!(elsewhere.hits(), 0, "{what}: no request was made");
        assert_eq!(std::fs::read_to_string(&rc).unwrap(), text, "{what}");
    }

    // The same file, this user's and private, is used.
    let _ = std::fs::remove_file(&rc);
    std::fs::write(&rc, &text).unwrap();
    set_mode(&rc, 0o644);
    env.run(&["login", "--trussrc", &rc_arg]).assert_code(0);
    assert_eq!(elsewhere.hits(), 2, "the key check and the key's lookup");
}

/// A forward proxy on 127.0.0.1 for http:// destinations: answers the key check itself, like
/// Baseten, and counts what it saw.
fn forward_proxy() -> FakeApi {
    FakeApi::start(|req, _| {
        if req.path.starts_with("http://") && req.path.ends_with("/v1/users/me") {
            Reply::json(200, USER_JSON)
        } else if req.path.starts_with("http://") && req.path.ends_with("/v1/api_keys") {
            Reply::json(200, r#"{"keys": []}"#)
        } else {
            Reply::json(400, r#"{"error":"not a proxy request"}"#)
        }
    })
}

/// A CONNECT proxy on 127.0.0.1 that tunnels to whatever it is asked for, counting tunnels.
struct Tunnel {
    url: String,
    connects: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Tunnel {
    fn start() -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connects = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = std::sync::Arc::clone(&connects);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counter = std::sync::Arc::clone(&counter);
                std::thread::spawn(move || {
                    let mut client = client;
                    let _ = client.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match client.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let Some(target) = head
                        .strip_prefix("CONNECT ")
                        .and_then(|r| r.split(' ').next())
                    else {
                        return;
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let Ok(upstream) = std::net::TcpStream::connect(target) else {
                        return;
                    };
                    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                    let (mut c2, mut u2) =
                        (client.try_clone().unwrap(), upstream.try_clone().unwrap());
                    let up = std::thread::spawn(move || {
                        let _ = std::io::copy(&mut c2, &mut u2);
                        let _ = u2.shutdown(std::net::Shutdown::Write);
                    });
                    let (mut u, mut c) = (upstream, client);
                    let _ = std::io::copy(&mut u, &mut c);
                    let _ = c.shutdown(std::net::Shutdown::Write);
                    let _ = up.join();
                });
            }
        });
        Self { url, connects }
    }

    fn hits(&self) -> usize {
        self.connects.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn proxied_env(api: &FakeApi) -> TestEnv {
    TestEnv::new().key(KEY).api(api)
}

#[test]
fn a_proxy_variable_the_client_would_drop_is_refused_by_name() {
    let api = FakeApi::baseten();
    let proxy = forward_proxy();
    let port = proxy.port.to_string();
    for (var, value) in [
        ("HTTP_PROXY", format!("{}\n", proxy.url)),
        ("HTTP_PROXY", format!(" {}", proxy.url)),
        ("HTTP_PROXY", format!("{}\t", proxy.url)),
        (
            "HTTP_PROXY",
            format!("http://pro xy:s3cr3t@127.0.0.1:{port}"),
        ),
        ("HTTP_PROXY", "http://[::1".to_owned()),
        ("http_proxy", format!("{}\r", proxy.url)),
        ("ALL_PROXY", format!("{}\n", proxy.url)),
        ("HTTPS_PROXY", format!(" {}", proxy.url)),
    ] {
        let mut env = proxied_env(&api);
        env.set(var, &value);
        let run = env.run(&["login"]);
        assert_refused(&run, 2, &[&format!("{var} ")]);
        for part in [port.as_str(), "s3cr3t", "pro xy", "[::1"] {
            if value.contains(part) {
                assert!(!run.all().contains(part), "{var}={value:?}: {}", run.stderr);
            }
        }
        assert_eq!(env.read_trussrc(), None, "{var}={value:?}");
    }
    assert_eq!(api.hits(), 0, "nothing went direct");
    assert_eq!(proxy.hits(), 0);
}

#[test]
fn the_proxy_checked_is_the_proxy_used() {
    let api = FakeApi::baseten();
    let proxy = forward_proxy();
    let other = forward_proxy();

    let mut env = proxied_env(&api);
    env.set("HTTP_PROXY", &proxy.url);
    env.run(&["login"]).assert_code(0);
    // Each login makes two requests: the key check and the key's lookup.
    assert_eq!((proxy.hits(), api.hits()), (2, 0), "through the proxy");

    // No scheme is http://, as curl reads it; the lowercase name wins over the uppercase one.
    let mut env = proxied_env(&api);
    env.set("http_proxy", proxy.url.trim_start_matches("http://"))
        .set("HTTP_PROXY", &other.url);
    env.run(&["login"]).assert_code(0);
    assert_eq!((proxy.hits(), other.hits(), api.hits()), (4, 0, 0));

    // ALL_PROXY serves where HTTP_PROXY is unset; NO_PROXY sends 127.0.0.1 direct.
    let mut env = proxied_env(&api);
    env.set("ALL_PROXY", &proxy.url);
    env.run(&["login"]).assert_code(0);
    assert_eq!((proxy.hits(), api.hits()), (6, 0));
    env.set("NO_PROXY", "localhost, 127.0.0.1");
    env.run(&["login"]).assert_code(0);
    assert_eq!((proxy.hits(), api.hits()), (6, 2), "NO_PROXY went direct");

    // Over TLS the proxy is asked for a tunnel.
    let tls = FakeApi::baseten_tls();
    let tunnel = Tunnel::start();
    let mut env = proxied_env(&tls);
    let ca = env.path("ca.pem");
    std::fs::write(&ca, tls.ca_pem.as_ref().unwrap()).unwrap();
    env.set("HTTPS_PROXY", &tunnel.url);
    env.run(&["login", "--ca-cert", ca.to_str().unwrap()])
        .assert_code(0);
    assert_eq!(
        (tunnel.hits(), tls.hits()),
        (2, 2),
        "both requests tunnelled (the fake API closes each connection after one answer)"
    );
    env.set("https_proxy", &format!("{}\n", tunnel.url));
    env.run(&["login", "--ca-cert", ca.to_str().unwrap()])
        .assert_code(2);
    assert_eq!((tunnel.hits(), tls.hits()), (2, 2));
}

mod proxy_values {
    use super::*;
    use proptest::prelude::*;

    /// Blanks, controls and invisible characters a copy-paste or a heredoc leaves in a value.
    fn odd() -> impl Strategy<Value = char> {
        prop_oneof![
            Just(' '),
            Just('\t'),
            Just('\n'),
            Just('\r'),
            Just('\u{b}'),
            Just('\u{c}'),
            Just('\u{1b}'),
            Just('\u{7f}'),
            Just('\u{85}'),
            Just('\u{a0}'),
            Just('\u{200b}'),
            Just('\u{2028}'),
            Just('\u{3000}'),
            Just('\u{feff}'),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

        /// With a value of the proxy's address with odd characters put anywhere, the check goes
        /// through the proxy or is refused: never around it.
        #[test]
        fn refused_or_proxied_never_direct(
            form in 0usize..3,
            inserts in proptest::collection::vec((any::<prop::sample::Index>(), odd()), 0..3),
        ) {
            let api = FakeApi::baseten();
            let proxy = forward_proxy();
            let address = proxy.url.trim_start_matches("http://");
            let mut value: Vec<char> = match form {
                0 => proxy.url.clone(),
                1 => address.to_owned(),
                _ => format!("http://user:pw@{address}/"),
            }
            .chars()
            .collect();
            for (at, c) in &inserts {
                value.insert(at.index(value.len() + 1), *c);
            }
            let value: String = value.into_iter().collect();
            let mut env = proxied_env(&api);
            env.set("HTTP_PROXY", &value);
            let run = env.run(&["login"]);
            prop_assert_eq!(api.hits(), 0, "went direct: {:?} {}", value, run.stderr);
            match run.code {
                0 => prop_assert_eq!(proxy.hits(), 2, "{:?}", value),
                2 => {
                    prop_assert_eq!(proxy.hits(), 0);
                    prop_assert!(run.stderr.contains("HTTP_PROXY "), "{}", run.stderr);
                    prop_assert!(!run.all().contains(address), "{:?}: {}", value, run.stderr);
                }
                // A value that still parses but names another host (an invisible character the
                // URL parser drops from a name, say) reaches neither the proxy nor the API.
                4 => prop_assert_eq!(proxy.hits(), 0, "{:?}: {}", value, run.stderr),
                code => prop_assert!(false, "exit {} for {:?}: {}", code, value, run.stderr),
            }
        }
    }
}

#[test]
fn a_platform_file_swapped_for_a_link_is_never_written_through() {
    let api = FakeApi::baseten();
    let mut env = TestEnv::new();
    let victim = env.path("victim");
    std::fs::write(&victim, "kept\n").unwrap();
    let github_env = env.path("github_env");
    std::os::unix::fs::symlink(&victim, &github_env).unwrap();
    env.set("BASETEN_API_KEY", KEY)
        .set("BASETEN_API_URL", &api.url)
        .set("GITHUB_ACTIONS", "true")
        .set("GITHUB_ENV", github_env.to_str().unwrap());
    let run = env.run(&["login", "--from-env", "--export-env"]);
    run.assert_code(5);
    run.assert_stderr_has("GITHUB_ENV");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "kept\n");
    assert_eq!(env.read_trussrc(), None, "the login was rolled back");
}
