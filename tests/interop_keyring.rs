//! Keyring storage against a real Secret Service: Debian's gnome-keyring in a private D-Bus
//! session (`dbus-run-session`). secret-tool and Python's keyring (truss's own reader) must read
//! back what truss-ci stored, and truss must use a key that lives only in the keyring.
#![cfg(unix)] // modes, symlinks, sh and the interop tools are Unix things
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use common::*;

const SCRIPT: &str = r#"set -u
echo -n unlock-pw | gnome-keyring-daemon --unlock --daemonize --components=secrets >/dev/null
pykr() { "$PYTHON" -c "import keyring,sys; v=keyring.get_password('baseten-truss', sys.argv[1]); print(v if v is not None else 'NONE')" "$1"; }
mark() { printf '\n@@%s@@\n' "$1"; }

mark login;       truss-ci login --from-env --storage keyring --remote kr --output json; echo "rc=$?"
mark trussrc;     cat "$HOME/.trussrc"
mark secret-tool; secret-tool lookup service baseten-truss username kr; echo
mark python;      pykr kr
mark truss-status; "$TRUSS" auth status --remote kr
mark truss-whoami; "$TRUSS" whoami --remote kr; echo "rc=$?"
mark check;       truss-ci status --remote kr --check; echo "rc=$?"
mark logout;      truss-ci logout --remote kr; echo "rc=$?"
mark after-logout; pykr kr

"$PYTHON" -c "import keyring; keyring.set_password('baseten-truss', 'kr2', '{\"auth_type\": \"api_key\", \"api_key\": \"PREVIOUS.k\"}')"
mark post-login;  GITLAB_CI=true CI_JOB_ID=42 truss-ci login --from-env --storage keyring --remote kr2; echo "rc=$?"
mark post-during; pykr kr2
mark post;        GITLAB_CI=true CI_JOB_ID=42 truss-ci logout --post; echo "rc=$?"
mark post-after;  pykr kr2
mark end
"#;

#[test]
fn keyring_entries_are_where_truss_looks() {
    let Some(truss) = interop_tool("TRUSS_CI_TRUSS", "venv/bin/truss") else {
        return;
    };
    let python = truss.with_file_name("python");
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
        if system_tool(tool).is_none() {
            return;
        }
    }
    let api = FakeApi::baseten();
    let env = TestEnv::new();
    let bin = env.path("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_truss-ci"), bin.join("truss-ci")).unwrap();
    let script = env.path("keyring.sh");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = Command::new("dbus-run-session")
        .arg("--")
        .arg("bash")
        .arg(&script)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("TRUSS", &truss)
        .env("PYTHON", &python)
        .env("BASETEN_API_KEY", KEY)
        .env("BASETEN_REMOTE_URL", &api.url)
        .env("TRUSS_NO_UPDATE_CHECK", "1")
        .env("XDG_CONFIG_HOME", env.home.join(".config"))
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let payload = format!(r#"{{"auth_type": "api_key", "api_key": "{KEY}"}}"#);

    let login = section(&text, "login");
    assert!(login.contains(r#""storage":"keyring""#), "{text}");
    assert!(login.ends_with("rc=0"), "{text}");
    assert_eq!(
        section(&text, "trussrc"),
        format!(
            "[kr]\nremote_provider = baseten\nremote_url = {}\nauth_type = api_key",
            api.url
        )
    );
    assert_eq!(section(&text, "secret-tool"), payload);
    assert_eq!(section(&text, "python"), payload);
    assert!(
        section(&text, "truss-status").ends_with("source: keyring"),
        "{text}"
    );
    let whoami = section(&text, "truss-whoami");
    assert!(
        whoami.contains("local-ws\\ci-bot@example.com") && whoami.ends_with("rc=0"),
        "{text}"
    );
    assert_eq!(
        api.hits_on("/graphql/"),
        1,
        "truss used the keyring-only key"
    );
    assert!(
        section(&text, "check").contains("validated: true"),
        "{text}"
    );
    assert!(section(&text, "logout").ends_with("rc=0"), "{text}");
    assert_eq!(
        section(&text, "after-logout"),
        "NONE",
        "logout deleted the entry"
    );

    assert!(section(&text, "post-login").ends_with("rc=0"), "{text}");
    assert_eq!(section(&text, "post-during"), payload);
    assert!(section(&text, "post").ends_with("rc=0"), "{text}");
    assert_eq!(
        section(&text, "post-after"),
        r#"{"auth_type": "api_key", "api_key": "PREVIOUS.k"}"#,
        "--post restored the entry it replaced"
    );
}
