//! The auth.json codec against the `baseten` CLI's own credential store (a test client built from
//! its internal/auth/store.go; scripts/interop-setup.sh builds it): from the same starting file, a
//! login through the codec writes the bytes the CLI's `SetAPIKeyProfile` writes; a file the CLI
//! cannot read is refused; and what the codec refuses while the CLI reads it is only what the codec
//! documents (strings Go would rewrite, deep nesting, expiry forms). Skips loudly without the
//! client; fails instead under TRUSS_CI_REQUIRE_INTEROP=1.
//!
//! The client is built with Go 1.19, which writes U+0008 and U+000C as `\u0008` and `\u000c`; the
//! CLI itself (Go 1.22+) and the codec write `\b` and `\f`. No string here holds either character:
//! the unit tests pin their escapes.
#![cfg(unix)] // the client is built for Linux
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use truss_ci::baseten_cli::auth_file::{self, Profile};

fn oracle() -> Option<PathBuf> {
    common::interop_tool("TRUSS_CI_BASETEN_ORACLE", "baseten-oracle")
}

/// `baseten auth login --with-api-key` with the key on stdin, as the store sees it.
#[derive(Clone, Debug)]
struct Login {
    name: String,
    url: String,
    key: String,
    switch: bool,
}

fn login(name: &str, url: &str, key: &str, switch: bool) -> Login {
    Login {
        name: name.to_owned(),
        url: url.to_owned(),
        key: key.to_owned(),
        switch,
    }
}

/// The logins each readable starting file gets: a new profile made current, one over a profile
/// the files hold (`a`) left not current, and names, URL and key that need escaping.
fn logins() -> Vec<Login> {
    vec![
        login("ci", "https://app.baseten.co", "KEY.one", true),
        login("a", "https://app.staging.baseten.co", "KEY.two", false),
        login(
            "w<&>\"\\é\u{2028}😀",
            "https://h.example/<&>\"\\é\u{2029}",
            "k<&>\"\\é\u{2028}z",
            true,
        ),
    ]
}

/// What the CLI's store leaves in a fresh config directory holding `start` (none: no file) after
/// `login`, or `None` when it cannot read `start` (and then leaves it as it was).
fn theirs(oracle: &Path, start: Option<&[u8]>, login: &Login) -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.json");
    if let Some(start) = start {
        std::fs::write(&path, start).unwrap();
    }
    let mut cmd = Command::new(oracle);
    cmd.args(["login", &login.name, &login.url, "--insecure-storage"]);
    if !login.switch {
        cmd.arg("--no-switch");
    }
    // No D-Bus session and no HOME: auth.json in BASETEN_CONFIG_DIR is the only store.
    let mut child = cmd
        .env_clear()
        .env("BASETEN_CONFIG_DIR", dir.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", login.key).as_bytes())
        .unwrap();
    drop(stdin);
    let out = common::to_run(child.wait_with_output().unwrap());
    if out.code == 0 {
        return Some(std::fs::read(&path).unwrap());
    }
    assert!(
        out.code == 1 && out.stderr.starts_with("parsing "),
        "the client failed otherwise than on the file: {} {}",
        out.code,
        out.stderr
    );
    assert_eq!(std::fs::read(&path).ok().as_deref(), start);
    None
}

/// The same login through the codec: `SetAPIKeyProfile`'s change, on what `parse` read.
fn ours(start: Option<&[u8]>, login: &Login) -> Result<Vec<u8>, auth_file::Unreadable> {
    let mut file = start.map_or_else(|| Ok(Default::default()), auth_file::parse)?;
    let profile = Profile::api_key(&login.url, &login.key);
    file.profiles.insert(login.name.clone(), profile);
    if login.switch {
        file.current.clone_from(&login.name);
    }
    Ok(auth_file::encode(&file))
}

/// Both write the same bytes, or both refuse the file.
fn agree(oracle: &Path, what: &str, start: Option<&[u8]>, login: &Login) {
    match (ours(start, login), theirs(oracle, start, login)) {
        (Ok(ours), Some(theirs)) => assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "{what}, {login:?}"
        ),
        (Err(_), None) => {}
        (Ok(_), None) => panic!("{what}: the CLI cannot read it, the codec read it"),
        (Err(e), Some(_)) => panic!("{what}: the CLI reads it, the codec refused it: {e}"),
    }
}

/// Starting files both read; each gets every login in [`logins`].
const READ_ALIKE: &[(&str, &str)] = &[
    (
        "the CLI's own empty file",
        "{\n  \"version\": 1,\n  \"profiles\": {}\n}\n",
    ),
    ("minified", r#"{"version":1,"profiles":{}}"#),
    (
        "an API key profile, current",
        "{\n  \"version\": 1,\n  \"current\": \"a\",\n  \"profiles\": {\n    \"a\": {\n      \"remote_url\": \"https://app.baseten.co\",\n      \"auth_type\": \"api_key\",\n      \"api_key\": \"OLD\"\n    }\n  }\n}\n",
    ),
    (
        "another profile current",
        r#"{"version":1,"current":"other","profiles":{"other":{"remote_url":"u","auth_type":"api_key"}}}"#,
    ),
    (
        "an OAuth profile under the name logged into",
        r#"{"version":1,"current":"a","profiles":{"a":{"remote_url":"u","auth_type":"oauth","oauth_credential":{"access_token":"at","refresh_token":"rt","expiry":"2026-01-02T03:04:05Z"}}}}"#,
    ),
    (
        "OAuth expiry forms",
        r#"{"profiles":{
          "e1":{"auth_type":"oauth","oauth_credential":{"expiry":"2026-01-02T03:04:05+00:00"}},
          "e2":{"auth_type":"oauth","oauth_credential":{"expiry":"2026-01-02T03:04:05-00:00"}},
          "e3":{"auth_type":"oauth","oauth_credential":{"expiry":"2026-01-02T03:04:05.000Z"}},
          "e4":{"auth_type":"oauth","oauth_credential":{"expiry":"2026-01-02T03:04:05.120+05:30"}},
          "e5":{"auth_type":"oauth","oauth_credential":{"expiry":"2026-01-02T03:04:05.123456789-23:59"}},
          "e6":{"auth_type":"oauth","oauth_credential":{"expiry":"2024-02-29T23:59:59.5Z"}},
          "e7":{"auth_type":"oauth","oauth_credential":{"expiry":"0000-01-01T00:00:00+01:00"}},
          "e8":{"auth_type":"oauth","oauth_credential":{"expiry":"9999-12-31T23:59:59.999999999Z"}},
          "e9":{"auth_type":"oauth","oauth_credential":{"access_token":"only"}},
          "e10":{"auth_type":"oauth","oauth_credential":{"expiry":null}},
          "e11":{"auth_type":"oauth","oauth_credential":{}}}}"#,
    ),
    (
        "characters to escape in names, URLs, keys and tokens",
        r#"{"current":"<&>\"\\é\u2028","profiles":{"<&>\"\\é\u2028 \u2029":{"remote_url":"https://x/<&>\"\\/é\u0001\u001f\u007f","auth_type":"\ud83d\ude00","api_key":"k<>&\n\r\t\"","oauth_credential":{"access_token":"<a>","refresh_token":"&r","expiry":"2026-01-02T03:04:05Z"}},"é":{},"E":{},"e":{}}}"#,
    ),
    (
        "unknown keys at every level",
        r#"{"x":1,"version":1,"y":{"profiles":{"z":{}}},"profiles":{"a":{"x":[{"api_key":"no"}],"remote_url":"u","oauth_credential":{"x":"\ud800","access_token":"t"},"api_key":"k","remote":"no"}},"current":"a","z":[null,true,-1.5e300,"\u0000"]}"#,
    ),
    (
        "case-folded keys",
        "{\"VERSION\":1,\"Current\":\"a\",\"Profiles\":{\"a\":{\"REMOTE_URL\":\"u\",\"Auth_Type\":\"t\",\"API_KEY\":\"k1\",\"OAUTH_CREDENTIAL\":{\"ACCESS_TO\u{212A}EN\":\"t\",\"refre\u{17F}h_token\":\"r\",\"EXPIRY\":\"2026-01-02T03:04:05Z\"}},\"b\":{\"api_\u{212A}ey\":\"k2\"}}}",
    ),
    (
        "keys that fold to no field",
        "{\"profile\":{\"p\":{}},\"pro files\":{},\"profİles\":{\"q\":{}},\"profıles\":{\"r\":{}},\"ｐrofiles\":{\"s\":{}}}",
    ),
    (
        "duplicate keys",
        r#"{"current":"a","current":"b","profiles":{"a":{"api_key":"1","remote_url":"u1"},"a":{"remote_url":"u2"},"b":{"api_key":"1","API_KEY":"2"}},"profiles":{"c":{"oauth_credential":{"access_token":"t","expiry":"2026-01-02T03:04:05Z"},"oauth_credential":{"refresh_token":"r"}}},"version":1,"version":2}"#,
    ),
    (
        "nulls in every position",
        r#"{"version":null,"current":"a","current":null,"profiles":{"a":null,"b":{"remote_url":"u","remote_url":null,"auth_type":null,"api_key":"k","api_key":null,"oauth_credential":{"access_token":"t"},"oauth_credential":null},"c":{"oauth_credential":{"access_token":null,"refresh_token":null,"expiry":null}}}}"#,
    ),
    (
        "profiles null",
        r#"{"version":1,"current":"a","profiles":null}"#,
    ),
    (
        "profiles null between two objects",
        r#"{"profiles":{"gone":{}},"profiles":null,"profiles":{"kept":{}}}"#,
    ),
    ("top-level null", "null"),
    ("top-level null, spaced", " \r\n\tnull\n\n"),
    ("an empty object", "{}"),
    ("version 7", r#"{"version":7,"profiles":{}}"#),
    ("version -0", r#"{"version":-0}"#),
    (
        "version at the ends of int64",
        r#"{"version":-9223372036854775808,"Version":9223372036854775807}"#,
    ),
    (
        "CRLF line endings",
        "{\r\n  \"version\": 1,\r\n  \"current\": \"a\",\r\n  \"profiles\": {\r\n    \"a\": {\r\n      \"remote_url\": \"u\",\r\n      \"auth_type\": \"api_key\",\r\n      \"api_key\": \"k\"\r\n    }\r\n  }\r\n}\r\n",
    ),
    (
        "no trailing newline",
        "{\n  \"version\": 1,\n  \"profiles\": {\n    \"a\": {\n      \"remote_url\": \"u\",\n      \"auth_type\": \"api_key\"\n    }\n  }\n}",
    ),
    (
        "escapes Go decodes",
        r#"{"\u0063urrent":"\u0061","profiles":{"\u0061":{"api_key":"\/\u00e9\ud83d\ude00\u2028"}}}"#,
    ),
    (
        "deep nesting within the limit",
        concat!(
            r#"{"x":"#,
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            "}"
        ),
    ),
];

/// Starting files the CLI cannot read: the codec refuses each too.
const REFUSED_ALIKE: &[(&str, &str)] = &[
    ("empty", ""),
    ("only whitespace", " \n"),
    ("a trailing comma", r#"{"version":1,}"#),
    ("a trailing comma in profiles", r#"{"profiles":{"a":{},}}"#),
    ("version a string", r#"{"version":"1"}"#),
    ("version 1.0", r#"{"version":1.0}"#),
    ("version 1e0", r#"{"version":1e0}"#),
    ("version -0.0", r#"{"version":-0.0}"#),
    ("version beyond int64", r#"{"version":9223372036854775808}"#),
    ("an array", "[]"),
    ("a string", "\"auth\""),
    ("a number", "1"),
    ("a UTF-8 BOM", "\u{feff}{\"version\":1}"),
    (
        "remote_url a number",
        r#"{"profiles":{"a":{"remote_url":5}}}"#,
    ),
    ("api_key an object", r#"{"profiles":{"a":{"api_key":{}}}}"#),
    ("current an array", r#"{"current":["a"]}"#),
    ("profiles an array", r#"{"profiles":[]}"#),
    ("a profile a string", r#"{"profiles":{"a":"x"}}"#),
    (
        "oauth_credential a string",
        r#"{"profiles":{"a":{"oauth_credential":"x"}}}"#,
    ),
    (
        "expiry a number",
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":5}}}}"#,
    ),
    (
        "expiry not a time",
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":"soon"}}}}"#,
    ),
    (
        "expiry escaped",
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":"\u0032026-01-02T03:04:05Z"}}}}"#,
    ),
    (
        "expiry on a day that does not exist",
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":"2023-02-29T03:04:05Z"}}}}"#,
    ),
    (
        "expiry at hour 24",
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":"2026-01-02T24:00:00Z"}}}}"#,
    ),
    ("garbage after the value", r#"{"version":1} x"#),
    ("a second value", "{} {}"),
    ("single quotes", "{'version':1}"),
    ("a comment", "{\"version\":1} // x"),
    ("a raw control character", "{\"current\":\"a\u{1}\"}"),
    ("an invalid escape", r#"{"current":"\x"}"#),
    ("a leading zero", r#"{"x":01}"#),
    ("NaN", r#"{"x":NaN}"#),
    ("cut short", r#"{"profiles":{"a":{"#),
];

/// Starting files the CLI reads and the codec refuses, as it documents: Go would rewrite the
/// string (U+FFFD), the nesting is deeper than the codec reads, or the expiry is in a form Go's
/// versions do not all read, or rewrite alike.
fn refused_here() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
    let expiry =
        |e: &str| format!(r#"{{"profiles":{{"a":{{"oauth_credential":{{"expiry":"{e}"}}}}}}}}"#);
    vec![
        ("current not UTF-8", b"{\"current\":\"a\xff\"}".to_vec()),
        (
            "a profile name not UTF-8",
            b"{\"profiles\":{\"\xc3\":{}}}".to_vec(),
        ),
        (
            "an API key not UTF-8",
            b"{\"profiles\":{\"a\":{\"api_key\":\"\xed\xa0\x80\"}}}".to_vec(),
        ),
        (
            "a lone surrogate in current",
            br#"{"current":"\ud800"}"#.to_vec(),
        ),
        (
            "a lone surrogate in a name",
            br#"{"profiles":{"\udc00":{}}}"#.to_vec(),
        ),
        (
            "an unknown key with a lone surrogate",
            br#"{"\ud800":1}"#.to_vec(),
        ),
        ("nesting 200 deep", deep.into_bytes()),
        (
            "expiry offset 24:00",
            expiry("2026-01-02T03:04:05+24:00").into_bytes(),
        ),
        (
            "expiry offset minute 60",
            expiry("2026-01-02T03:04:05+00:60").into_bytes(),
        ),
        (
            "expiry with a comma",
            expiry("2026-01-02T03:04:05,5Z").into_bytes(),
        ),
        (
            "expiry with 10 digits",
            expiry("2026-01-02T03:04:05.1234567891Z").into_bytes(),
        ),
        (
            "expiry with a 1-digit hour",
            expiry("2026-01-02T3:04:05Z").into_bytes(),
        ),
    ]
}

#[test]
fn a_login_writes_what_the_cli_writes_from_every_starting_file() {
    let Some(oracle) = oracle() else { return };
    for login in &logins() {
        agree(&oracle, "no file", None, login);
        for (what, start) in READ_ALIKE {
            assert!(auth_file::parse(start.as_bytes()).is_ok(), "{what}");
            agree(&oracle, what, Some(start.as_bytes()), login);
        }
    }
}

#[test]
fn a_file_the_cli_cannot_read_is_refused() {
    let Some(oracle) = oracle() else { return };
    let login = &logins()[0];
    for (what, start) in REFUSED_ALIKE {
        assert!(auth_file::parse(start.as_bytes()).is_err(), "{what}");
        assert_eq!(
            theirs(&oracle, Some(start.as_bytes()), login),
            None,
            "{what}"
        );
    }
}

#[test]
fn what_only_the_codec_refuses_is_what_it_documents() {
    let Some(oracle) = oracle() else { return };
    let login = &logins()[0];
    for (what, start) in refused_here() {
        assert!(auth_file::parse(&start).is_err(), "{what}");
        assert!(
            theirs(&oracle, Some(&start), login).is_some(),
            "{what}: the CLI refuses it too"
        );
    }
}

/// A string of the characters that matter to both sides, each written raw or as a `\u` escape
/// (never U+0008 or U+000C: see the module's comment).
fn json_string() -> impl Strategy<Value = String> {
    let chars = proptest::sample::select(vec![
        'a', 'b', 'Z', '0', ' ', '<', '>', '&', '"', '\\', '/', '\n', '\r', '\t', '\0', '\u{1f}',
        '\u{7f}', 'é', '日', '😀', '\u{2028}', '\u{2029}', '\u{212A}', '\u{17F}', 'K', 's',
    ]);
    proptest::collection::vec((chars, any::<bool>()), 0..8).prop_map(|cs| {
        let mut out = String::from("\"");
        for (c, escaped) in cs {
            let mut units = [0u16; 2];
            match c {
                '"' | '\\' => out.extend(['\\', c]),
                c if escaped || c < ' ' => {
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04X}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    })
}

/// `name` in mixed case, with `k` and `s` sometimes as the Kelvin sign and the long s.
fn recased(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..4, name.len()).prop_map(move |picks| {
        let key: String = name
            .chars()
            .zip(picks)
            .map(|(c, pick)| match (c, pick) {
                ('k', 3) => '\u{212A}',
                ('s', 3) => '\u{17F}',
                (c, 2) => c.to_ascii_uppercase(),
                (c, _) => c,
            })
            .collect();
        serde_json::to_string(&key).unwrap()
    })
}

fn or_null(value: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop_oneof![1 => Just("null".to_owned()), 4 => value]
}

/// An unknown member's key and a value of any type.
fn unknown() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        json_string(),
        Just("[1,{\"a\":null},-2.5e10,true]".to_owned()),
        Just("{\"profiles\":{\"x\":{}}}".to_owned()),
        Just("false".to_owned()),
    ];
    ("[a-z_]{0,10}", value).prop_map(|(k, v)| format!("\"x{k}\":{v}"))
}

fn object(members: Vec<String>) -> String {
    format!("{{{}}}", members.join(","))
}

fn members(
    member: impl Strategy<Value = String>,
    most: usize,
) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(member, 0..most)
}

fn credential() -> impl Strategy<Value = String> {
    let expiry = proptest::sample::select(vec![
        "\"2026-01-02T03:04:05Z\"",
        "\"2026-01-02T03:04:05.500+00:00\"",
        "\"2026-01-02T03:04:05.123456789-07:00\"",
        "\"0001-01-01T00:00:00Z\"",
        "null",
    ]);
    let member = prop_oneof![
        (recased("access_token"), or_null(json_string())).prop_map(|(k, v)| format!("{k}:{v}")),
        (recased("refresh_token"), or_null(json_string())).prop_map(|(k, v)| format!("{k}:{v}")),
        (recased("expiry"), expiry).prop_map(|(k, v)| format!("{k}:{v}")),
        unknown(),
    ];
    members(member, 5).prop_map(object)
}

fn profile() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        (recased("remote_url"), or_null(json_string())).prop_map(|(k, v)| format!("{k}:{v}")),
        (recased("auth_type"), or_null(json_string())).prop_map(|(k, v)| format!("{k}:{v}")),
        (recased("api_key"), or_null(json_string())).prop_map(|(k, v)| format!("{k}:{v}")),
        (recased("oauth_credential"), or_null(credential())).prop_map(|(k, v)| format!("{k}:{v}")),
        unknown(),
    ];
    or_null(members(member, 6).prop_map(object))
}

fn profiles() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        proptest::sample::select(vec!["\"a\"", "\"ci\"", "\"b\"", "\"\\u0061\""])
            .prop_map(str::to_owned),
        json_string(),
    ];
    members((name, profile()).prop_map(|(n, p)| format!("{n}:{p}")), 4).prop_map(object)
}

/// A starting file: members in any order, repeated, recased, nulled, unknown, laid out compact,
/// indented, or with CRLF, with or without a final newline.
fn starting_file() -> impl Strategy<Value = String> {
    let member = prop_oneof![
        1 => (recased("version"), or_null(any::<i64>().prop_map(|v| v.to_string())))
            .prop_map(|(k, v)| format!("{k}:{v}")),
        1 => (recased("current"), or_null(json_string())).prop_map(|(k, v)| format!("{k}:{v}")),
        3 => (recased("profiles"), or_null(profiles())).prop_map(|(k, v)| format!("{k}:{v}")),
        1 => unknown(),
    ];
    let layout = proptest::sample::select(vec!["", "\n", "\r\n", " "]);
    (members(member, 6), layout, any::<bool>()).prop_map(|(members, eol, final_eol)| {
        let text = format!("{{{eol}{}{eol}}}", members.join(&format!(",{eol}")));
        if final_eol {
            format!("{text}{eol}")
        } else {
            text
        }
    })
}

fn generated_login() -> impl Strategy<Value = Login> {
    let text = "[a-zA-Z0-9<>&\"\\\\/ é日😀\u{2028}\u{212A}]{0,6}";
    (
        prop_oneof![
            proptest::sample::select(vec!["a", "ci", "b"]).prop_map(str::to_owned),
            "[a-zé<&\"]{1,4}"
        ],
        text,
        "[!-~é]{1,12}",
        any::<bool>(),
    )
        .prop_map(|(name, url, key, switch)| Login {
            name,
            url,
            key,
            switch,
        })
}

#[test]
fn generated_starting_files_are_rewritten_as_the_cli_rewrites_them() {
    let Some(oracle) = oracle() else { return };
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (starting_file(), generated_login());
    for _ in 0..64 {
        let (start, login) = strategy.new_tree(&mut runner).unwrap().current();
        assert!(auth_file::parse(start.as_bytes()).is_ok(), "{start}");
        agree(&oracle, &start, Some(start.as_bytes()), &login);
    }
}
