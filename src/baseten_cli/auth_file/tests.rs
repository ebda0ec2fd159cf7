//! Unit tests of the auth.json codec: Go's decoding rules, its encoder's bytes, the refusals, and
//! that no secret reaches `Debug` or an error message.

use proptest::prelude::*;

use super::*;

const SECRET: &str = "sk-SENTINEL-9f3a";

fn read(text: &str) -> AuthFile {
    parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text:?} refused: {e}"))
}

fn refused(text: &str) -> Unreadable {
    match parse(text.as_bytes()) {
        Ok(file) => panic!("{text:?} read as {file:?}"),
        Err(e) => e,
    }
}

fn encoded(file: &AuthFile) -> String {
    String::from_utf8(encode(file)).unwrap()
}

fn cred(access: &str, refresh: &str, expiry: &str) -> OAuthCredential {
    OAuthCredential {
        access_token: access.to_owned(),
        refresh_token: refresh.to_owned(),
        expiry: expiry.to_owned(),
    }
}

fn file_with(current: &str, profiles: Vec<(&str, Profile)>) -> AuthFile {
    AuthFile {
        current: current.to_owned(),
        profiles: profiles
            .into_iter()
            .map(|(n, p)| (n.to_owned(), p))
            .collect(),
    }
}

/// The CLI's own output for each, as `MarshalIndent` writes them.
const CANONICAL: [&str; 3] = [
    "{\n  \"version\": 1,\n  \"profiles\": {}\n}\n",
    "{\n  \"version\": 1,\n  \"current\": \"ci\",\n  \"profiles\": {\n    \"ci\": {\n      \"remote_url\": \"https://app.baseten.co\",\n      \"auth_type\": \"api_key\",\n      \"api_key\": \"KEY\"\n    }\n  }\n}\n",
    "{\n  \"version\": 1,\n  \"profiles\": {\n    \"a\": {\n      \"remote_url\": \"\",\n      \"auth_type\": \"\"\n    },\n    \"o\": {\n      \"remote_url\": \"https://app.baseten.co\",\n      \"auth_type\": \"oauth\",\n      \"oauth_credential\": {\n        \"access_token\": \"at\",\n        \"refresh_token\": \"rt\",\n        \"expiry\": \"2026-01-02T03:04:05.5+05:30\"\n      }\n    }\n  }\n}\n",
];

#[test]
fn canonical_files_round_trip_unchanged() {
    for text in CANONICAL {
        assert_eq!(encoded(&read(text)), text);
    }
    assert_eq!(encoded(&AuthFile::default()), CANONICAL[0]);
    let file = file_with(
        "ci",
        vec![("ci", Profile::api_key("https://app.baseten.co", "KEY"))],
    );
    assert_eq!(encoded(&file), CANONICAL[1]);
}

#[test]
fn top_level_null_is_an_empty_file_and_other_non_objects_are_refused() {
    assert_eq!(read("null"), AuthFile::default());
    assert_eq!(read(" \r\n\tnull\n"), AuthFile::default());
    assert_eq!(read("{}"), AuthFile::default());
    for bad in [
        "",
        " ",
        "[]",
        "\"x\"",
        "1",
        "true",
        "{}x",
        "{} {}",
        "null null",
        "{,}",
        "{\"a\":1,}",
        "\u{feff}{}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":NaN}",
    ] {
        refused(bad);
    }
}

#[test]
fn keys_match_fields_as_go_folds_them() {
    let file = read(
        r#"{"VERSION":1,"Current":"c","PROFILES":{"p":{"REMOTE_URL":"u","Auth_Type":"t","API_\u212Aey":"k"}}}"#,
    );
    let p = &file.profiles["p"];
    assert_eq!(
        (
            file.current.as_str(),
            p.remote_url.as_str(),
            p.auth_type.as_str()
        ),
        ("c", "u", "t")
    );
    assert_eq!(p.api_key, "k");
    // The long s folds to s, in `profiles` and in `access_token`.
    let file = read(
        "{\"profile\u{17F}\":{\"p\":{\"oauth_credential\":{\"acce\u{17F}\u{17F}_to\u{212A}en\":\"a\"}}}}",
    );
    assert_eq!(
        file.profiles["p"]
            .oauth_credential
            .as_ref()
            .unwrap()
            .access_token,
        "a"
    );
    // Not Go's folding: dotted and dotless i, other letters, extra characters.
    for other in [
        "profİles",
        "profıles",
        "profile",
        "profiles ",
        "pro_files",
        "ｐrofiles",
    ] {
        let text = format!("{{\"{other}\":{{\"p\":null}}}}");
        assert!(read(&text).profiles.is_empty(), "{other}");
    }
}

#[test]
fn every_matching_key_is_decoded_in_order_and_the_last_wins() {
    let file = read(
        r#"{"current":"a","CURRENT":"b","profiles":{"p":{"api_key":"1","remote_url":"u","API_KEY":"2"}}}"#,
    );
    assert_eq!(file.current, "b");
    assert_eq!(file.profiles["p"].api_key, "2");
    // An earlier valid version does not save a later invalid one.
    refused(r#"{"version":1,"Version":"1"}"#);
}

#[test]
fn null_keeps_strings_and_the_version_and_clears_pointers_and_maps() {
    let file = read(
        r#"{"version":1,"version":null,"current":"a","current":null,"profiles":{"p":{"remote_url":"u","remote_url":null,"auth_type":null,"api_key":"k","api_key":null,"oauth_credential":{"access_token":"a"},"oauth_credential":null}}}"#,
    );
    assert_eq!(file.current, "a");
    let p = &file.profiles["p"];
    assert_eq!((p.remote_url.as_str(), p.api_key.as_str()), ("u", "k"));
    assert_eq!(p.oauth_credential, None);
    assert_eq!(
        read(r#"{"profiles":{"a":{}},"profiles":null}"#),
        AuthFile::default()
    );
    assert_eq!(
        read(r#"{"profiles":{"a":{}},"profiles":null,"profiles":{"b":{}}}"#)
            .profiles
            .keys()
            .collect::<Vec<_>>(),
        ["b"]
    );
    // A null profile is a zero one, written with its empty strings.
    let file = read(r#"{"profiles":{"z":null}}"#);
    assert_eq!(file.profiles["z"], Profile::default());
    assert!(
        encoded(&file)
            .contains("\"z\": {\n      \"remote_url\": \"\",\n      \"auth_type\": \"\"\n    }")
    );
}

#[test]
fn profiles_objects_merge_and_a_repeated_name_replaces() {
    let file = read(
        r#"{"profiles":{"a":{"api_key":"1","remote_url":"u"},"b":{}},"profiles":{"a":{"auth_type":"t"},"c":{}}}"#,
    );
    assert_eq!(file.profiles.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    let a = &file.profiles["a"];
    assert_eq!(
        (
            a.remote_url.as_str(),
            a.auth_type.as_str(),
            a.api_key.as_str()
        ),
        ("", "t", "")
    );
    let file = read(r#"{"profiles":{"a":{"api_key":"1"},"a":{"remote_url":"u"}}}"#);
    assert_eq!(file.profiles["a"].api_key, "");
}

#[test]
fn a_second_oauth_credential_merges_into_the_first() {
    let file = read(
        r#"{"profiles":{"p":{"oauth_credential":{"access_token":"a","expiry":"2026-01-01T00:00:00Z"},"oauth_credential":{"refresh_token":"r","expiry":null}}}}"#,
    );
    let c = file.profiles["p"].oauth_credential.clone().unwrap();
    assert_eq!(c, cred("a", "r", "2026-01-01T00:00:00Z"));
    let file = read(r#"{"profiles":{"p":{"oauth_credential":{}}}}"#);
    let c = file.profiles["p"].oauth_credential.clone().unwrap();
    assert_eq!(c, cred("", "", ZERO_TIME));
    let file = read(r#"{"profiles":{"p":{"oauth_credential":{"expiry":null}}}}"#);
    assert_eq!(
        file.profiles["p"].oauth_credential.as_ref().unwrap().expiry,
        ZERO_TIME
    );
}

#[test]
fn type_errors_are_refusals() {
    for bad in [
        r#"{"version":"1"}"#,
        r#"{"version":1.0}"#,
        r#"{"version":1e0}"#,
        r#"{"version":-0.0}"#,
        r#"{"version":9223372036854775808}"#,
        r#"{"version":-9223372036854775809}"#,
        r#"{"version":100000000000000000000000000000000000000000}"#,
        r#"{"version":true}"#,
        r#"{"version":{}}"#,
        r#"{"current":1}"#,
        r#"{"current":{}}"#,
        r#"{"current":["a"]}"#,
        r#"{"profiles":[]}"#,
        r#"{"profiles":"a"}"#,
        r#"{"profiles":{"a":1}}"#,
        r#"{"profiles":{"a":[]}}"#,
        r#"{"profiles":{"a":{"remote_url":5}}}"#,
        r#"{"profiles":{"a":{"auth_type":false}}}"#,
        r#"{"profiles":{"a":{"api_key":{}}}}"#,
        r#"{"profiles":{"a":{"oauth_credential":"x"}}}"#,
        r#"{"profiles":{"a":{"oauth_credential":[]}}}"#,
        r#"{"profiles":{"a":{"oauth_credential":{"access_token":1}}}}"#,
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":5}}}}"#,
        r#"{"profiles":{"a":{"oauth_credential":{"expiry":"soon"}}}}"#,
    ] {
        refused(bad);
    }
    for (good, why) in [
        (r#"{"version":-0}"#, "Go reads -0 as an int"),
        (r#"{"version":-9223372036854775808}"#, "the least int64"),
        (r#"{"version":7}"#, "rewritten as 1"),
        (r#"{"version":null}"#, "null"),
    ] {
        assert_eq!(read(good), AuthFile::default(), "{why}");
    }
}

#[test]
fn unknown_keys_are_skipped_at_every_level_and_dropped() {
    let file = read(
        r#"{"x":[1,{"y":null},"s",-1.5e3,true],"profiles":{"p":{"x":{"remote_url":"no"},"remote_url":"u","oauth_credential":{"x":[[]],"access_token":"a"}}},"expiry":5}"#,
    );
    let p = &file.profiles["p"];
    assert_eq!(p.remote_url, "u");
    assert_eq!(p.oauth_credential.as_ref().unwrap().access_token, "a");
    assert!(!encoded(&file).contains("\"x\""));
}

#[test]
fn strings_are_escaped_as_go_1_22_writes_them() {
    let mut out = Vec::new();
    push_str(
        &mut out,
        "q\"b\\n\nr\rt\tnul\0us\u{1f}del\u{7f}<>&\u{2028}\u{2029}/é日😀",
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\"q\\\"b\\\\n\\nr\\rt\\tnul\\u0000us\\u001fdel\u{7f}\\u003c\\u003e\\u0026\\u2028\\u2029/é日😀\""
    );
    // Go 1.22 and later (what the CLI is built with); Go 1.21 and earlier wrote \u0008 and \u000c.
    let mut out = Vec::new();
    push_str(&mut out, "\u{8}\u{c}");
    assert_eq!(out, b"\"\\b\\f\"");
    let file = read(r#"{"profiles":{"\u0008\f":{"api_key":"\b\u000c"}}}"#);
    assert!(encoded(&file).contains("\"\\b\\f\": {"));
    assert!(encoded(&file).contains("\"api_key\": \"\\b\\f\""));
}

#[test]
fn expiry_forms_are_rewritten_as_go_rewrites_them_or_refused() {
    for (given, written) in [
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05-00:00", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.000Z", "2026-01-02T03:04:05Z"),
        ("2026-01-02T03:04:05.120000000Z", "2026-01-02T03:04:05.12Z"),
        (
            "2026-01-02T03:04:05.123456789+00:00",
            "2026-01-02T03:04:05.123456789Z",
        ),
        ("2026-01-02T03:04:05.5+05:30", "2026-01-02T03:04:05.5+05:30"),
        ("2026-01-02T03:04:05-23:59", "2026-01-02T03:04:05-23:59"),
        ("2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z"),
        ("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
        ("0000-02-29T00:00:00+01:00", "0000-02-29T00:00:00+01:00"),
        ("0001-01-01T00:00:00Z", ZERO_TIME),
        (
            "9999-12-31T23:59:59.999999999Z",
            "9999-12-31T23:59:59.999999999Z",
        ),
    ] {
        let text =
            format!(r#"{{"profiles":{{"p":{{"oauth_credential":{{"expiry":"{given}"}}}}}}}}"#);
        let file = read(&text);
        assert_eq!(
            file.profiles["p"].oauth_credential.as_ref().unwrap().expiry,
            written,
            "{given}"
        );
    }
    for bad in [
        "",
        "2026-01-02",
        "2026-01-02 03:04:05Z",
        "2026-01-02t03:04:05Z",
        "2026-01-02T03:04:05z",
        "2026-01-02T03:04:05",
        "2026-01-02T03:04:05.Z",
        "2026-01-02T03:04:05.1234567891Z",
        "2026-01-02T03:04:05,5Z",
        "2026-01-02T03:04:05+0530",
        "2026-01-02T03:04:05+24:00",
        "2026-01-02T03:04:05+00:60",
        "2026-01-02T03:04:05+5:30",
        "2026-01-02T3:04:05Z",
        "2026-01-02T24:00:00Z",
        "2026-01-02T23:60:00Z",
        "2026-01-02T23:59:60Z",
        "2026-00-02T03:04:05Z",
        "2026-13-02T03:04:05Z",
        "2026-01-00T03:04:05Z",
        "2026-04-31T03:04:05Z",
        "2023-02-29T03:04:05Z",
        "1900-02-29T03:04:05Z",
        "+2026-01-02T03:04:05Z",
        "12026-01-02T03:04:05Z",
        "2026-01-02T03:04:05Z ",
        " 2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05ZZ",
        "2026-01-02T03:04:05\u{e9}",
        "２026-01-02T03:04:05Z",
    ] {
        let text = format!(r#"{{"profiles":{{"p":{{"oauth_credential":{{"expiry":"{bad}"}}}}}}}}"#);
        let e = refused(&text);
        assert!(e.0.starts_with(BAD_EXPIRY), "{bad}: {e}");
    }
    // time.Time parses the literal's raw bytes: Go refuses an escape even where it spells a digit.
    let e = refused(
        r#"{"profiles":{"p":{"oauth_credential":{"expiry":"\u0032026-01-02T03:04:05Z"}}}}"#,
    );
    assert!(e.0.starts_with(BAD_EXPIRY), "{e}");
    assert_eq!(canonical_time("2026-01-02T03:04:05\\/"), None);
}

#[test]
fn what_go_would_rewrite_is_refused_and_what_it_drops_is_not() {
    // Not UTF-8, or a lone surrogate, where the value is kept: Go would write U+FFFD.
    for bad in [
        b"{\"current\":\"\xff\"}".as_slice(),
        b"{\"profiles\":{\"\xc3\":{}}}",
        br#"{"current":"\ud800"}"#,
        br#"{"profiles":{"\udc00x":{}}}"#,
        br#"{"current":"\ud800\u0041"}"#,
    ] {
        assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    // In a value Go skips (and so drops), both are read, as Go reads them.
    for fine in [
        b"{\"x\":\"\xff\",\"y\":[\"\\ud800\"]}".as_slice(),
        b"{\"profiles\":{\"p\":{\"x\":\"\xc3\"}}}",
    ] {
        assert!(parse(fine).is_ok(), "{}", String::from_utf8_lossy(fine));
    }
    assert_eq!(read(r#"{"current":"\ud83d\ude00"}"#).current, "😀");
}

#[test]
fn nesting_deeper_than_the_limit_is_refused() {
    let nested = |n: usize| format!("{{\"x\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
    read(&nested(MAX_DEPTH));
    let e = refused(&nested(MAX_DEPTH + 1));
    assert!(e.0.starts_with("nested deeper"), "{e}");
    // Brackets in strings do not count.
    read(&format!("{{\"x\":\"{}\"}}", "[{".repeat(MAX_DEPTH)));
}

#[test]
fn debug_never_shows_a_secret() {
    let file = file_with(
        SECRET,
        vec![
            ("k", Profile::api_key("https://u", SECRET)),
            (
                "o",
                Profile {
                    remote_url: "https://u".to_owned(),
                    auth_type: "oauth".to_owned(),
                    oauth_credential: Some(cred(SECRET, SECRET, ZERO_TIME)),
                    api_key: String::new(),
                },
            ),
        ],
    );
    // `current` is a profile name, not a secret: only the profiles' secrets are redacted.
    let shown = format!("{:?}", file.profiles);
    assert!(!shown.contains("SENTINEL"), "{shown}");
    assert!(shown.contains("api_key: ****") && shown.contains("access_token: ****"));
    assert!(shown.contains("refresh_token: ****") && shown.contains("api_key: \"\""));
    assert!(shown.contains("https://u") && shown.contains(ZERO_TIME));
    let shown = format!("{:#?}", file.profiles["o"].oauth_credential);
    assert!(!shown.contains("SENTINEL"), "{shown}");
}

#[test]
fn no_refusal_quotes_the_file() {
    let s = SECRET;
    let bad = [
        format!(r#"{{"version":"{s}"}}"#),
        format!(r#"{{"{s}":1,"current":{{"{s}":"{s}"}}}}"#),
        format!(r#"{{"current":"{s}","profiles":["{s}"]}}"#),
        format!(r#"{{"profiles":{{"{s}":"{s}"}}}}"#),
        format!(r#"{{"profiles":{{"{s}":{{"api_key":["{s}"]}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"remote_url":{{"{s}":"{s}"}},"api_key":"{s}"}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"auth_type":true,"api_key":"{s}"}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"oauth_credential":"{s}"}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"oauth_credential":{{"access_token":["{s}"]}}}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"oauth_credential":{{"refresh_token":{{"{s}":1}}}}}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"oauth_credential":{{"expiry":"{s}"}}}}}}}}"#),
        format!(
            r#"{{"profiles":{{"p":{{"oauth_credential":{{"expiry":"2026-01-02T03:04:05Z{s}"}}}}}}}}"#
        ),
        format!(r#"{{"profiles":{{"p":{{"api_key":"{s}\q"}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"api_key":"{s}"}}}}}} "{s}""#),
        format!(r#"{{"profiles":{{"p":{{"api_key":"{s}","#),
        format!(r#"{{"profiles":{{"p":{{"api_key":"{s}"#),
        format!(r#"{{"profiles":{{"p":{{"api_key":"{s}\ud800"}}}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"api_key":"{s}"}},}}}}"#),
        format!(r#"{{"profiles":{{"p":{{"api_key":{s}}}}}}}"#),
        format!(r#"["{s}"]"#),
        format!(r#""{s}""#),
        format!("{{\"x\":\"{s}\",\"y\":{}}}", "[".repeat(200)),
        format!("\u{feff}{{\"api_key\":\"{s}\"}}"),
    ];
    for text in &bad {
        let e = refused(text);
        assert!(!e.0.contains("SENTINEL"), "{text}: {e}");
        assert!(e.0.contains("line ") || e.0.starts_with("nested"), "{e}");
    }
    let e = Profile::from_json(&format!(r#"{{"api_key":5,"remote_url":"{s}"}} {s}"#)).unwrap_err();
    assert!(!e.to_string().contains("SENTINEL"), "{e}");
}

#[test]
fn a_profile_alone_is_written_compact_and_read_by_the_same_rules() {
    let p = Profile {
        remote_url: "https://u/<&>".to_owned(),
        auth_type: "oauth".to_owned(),
        oauth_credential: Some(cred("a\"", "r", "2026-01-02T03:04:05Z")),
        api_key: "\u{8}k".to_owned(),
    };
    let json = p.to_json();
    assert_eq!(
        json,
        r#"{"remote_url":"https://u/\u003c\u0026\u003e","auth_type":"oauth","oauth_credential":{"access_token":"a\"","refresh_token":"r","expiry":"2026-01-02T03:04:05Z"},"api_key":"\bk"}"#
    );
    assert_eq!(Profile::from_json(&json).unwrap(), p);
    assert_eq!(
        Profile::api_key("u", "k").to_json(),
        r#"{"remote_url":"u","auth_type":"api_key","api_key":"k"}"#
    );
    assert_eq!(Profile::from_json(" null ").unwrap(), Profile::default());
    assert_eq!(
        Profile::from_json(r#"{"API_KEY":"k","Remote_URL":null,"auth_TYPE":"api_key","x":[]}"#)
            .unwrap(),
        Profile::api_key("", "k")
    );
    for bad in [
        "",
        "[]",
        "1",
        r#"{"api_key":1}"#,
        "{} x",
        r#"{"api_key":"k",}"#,
    ] {
        assert!(Profile::from_json(bad).is_err(), "{bad}");
    }
}

/// Any string, weighted towards the characters the encoder escapes.
fn text() -> impl Strategy<Value = String> {
    let special = proptest::sample::select(vec![
        '"', '\\', '/', '<', '>', '&', '\n', '\r', '\t', '\u{8}', '\u{c}', '\0', '\u{1f}',
        '\u{7f}', '\u{2028}', '\u{2029}', '\u{212A}', '\u{17F}', 'é', '😀',
    ]);
    proptest::collection::vec(
        prop_oneof![
            any::<char>(),
            special,
            "[a-z]".prop_map(|s| s.chars().next().unwrap_or('a'))
        ],
        0..12,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn expiry() -> impl Strategy<Value = String> {
    (
        0u32..10000,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        0u32..1_000_000_000,
    )
        .prop_flat_map(|(y, mo, d, h, mi, s, ns)| {
            let base = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            let frac = format!("{ns:09}");
            let frac = frac.trim_end_matches('0').to_owned();
            (
                Just(base),
                Just(frac),
                prop_oneof![
                    Just("Z".to_owned()),
                    "[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9]"
                        .prop_filter("zero offsets are written Z", |o| &o[1..] != "00:00")
                ],
            )
        })
        .prop_map(|(base, frac, zone)| {
            let dot = if frac.is_empty() { "" } else { "." };
            format!("{base}{dot}{frac}{zone}")
        })
}

fn profile() -> impl Strategy<Value = Profile> {
    let credential =
        proptest::option::of((text(), text(), expiry()).prop_map(|(a, r, e)| cred(&a, &r, &e)));
    (text(), text(), credential, text()).prop_map(
        |(remote_url, auth_type, oauth_credential, api_key)| Profile {
            remote_url,
            auth_type,
            oauth_credential,
            api_key,
        },
    )
}

fn auth_file() -> impl Strategy<Value = AuthFile> {
    (
        text(),
        proptest::collection::btree_map(text(), profile(), 0..4),
    )
        .prop_map(|(current, profiles)| AuthFile { current, profiles })
}

/// `name` with each letter in either case, `k` and `s` also as Go's other two foldings of them.
fn recased(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..3, name.len()).prop_map(move |picks| {
        name.chars()
            .zip(picks)
            .map(|(c, pick)| match (c, pick) {
                ('k', 2) => '\u{212A}',
                ('s', 2) => '\u{17F}',
                (c, 1 | 2) => c.to_ascii_uppercase(),
                (c, _) => c,
            })
            .collect()
    })
}

/// One top-level member: a field, recased, with a value or null, or an unknown key.
fn edit() -> impl Strategy<Value = String> {
    let json = |s: &str| serde_json::to_string(s).unwrap();
    prop_oneof![
        (recased("current"), proptest::option::of(text())).prop_map(move |(k, v)| {
            format!("{}:{}", json(&k), v.map_or("null".to_owned(), |v| json(&v)))
        }),
        (recased("version"), proptest::option::of(any::<i64>())).prop_map(move |(k, v)| {
            format!(
                "{}:{}",
                json(&k),
                v.map_or("null".to_owned(), |v| v.to_string())
            )
        }),
        (
            recased("profiles"),
            text(),
            recased("api_key"),
            proptest::option::of(text())
        )
            .prop_map(move |(k, name, field, v)| {
                let value = v.map_or("null".to_owned(), |v| {
                    format!("{{{}:{}}}", json(&field), json(&v))
                });
                format!("{}:{{{}:{value}}}", json(&k), json(&name))
            }),
        (recased("profiles")).prop_map(move |k| format!("{}:null", json(&k))),
        ("[a-z_]{0,9}", text()).prop_map(move |(k, v)| format!("{}:[{}]", json(&k), json(&v))),
    ]
}

proptest! {
    #[test]
    fn parse_reads_back_what_encode_wrote(file in auth_file()) {
        let bytes = encode(&file);
        let again = parse(&bytes).unwrap();
        prop_assert_eq!(&again, &file);
        prop_assert_eq!(encode(&again), bytes);
        for p in file.profiles.values() {
            prop_assert_eq!(&Profile::from_json(&p.to_json()).unwrap(), p);
        }
    }

    #[test]
    fn encode_after_parse_is_idempotent(start in auth_file(), edits in proptest::collection::vec(edit(), 0..6)) {
        // The encoded file with fields recased, repeated, nulled and unknown ones added.
        let mut text = String::from_utf8(encode(&start)).unwrap();
        for edit in &edits {
            text.insert_str(1, &format!("{edit},"));
        }
        let once = parse(text.as_bytes()).unwrap();
        let bytes = encode(&once);
        let twice = parse(&bytes).unwrap();
        prop_assert_eq!(&twice, &once);
        prop_assert_eq!(encode(&twice), bytes);
    }
}

#[test]
fn a_refusal_says_what_and_where() {
    for (text, message) in [
        ("", "EOF while parsing a value (line 1, column 0)"),
        ("{} x", "trailing characters (line 1, column 4)"),
        ("{\"version\":1,}", "trailing comma (line 1, column 14)"),
        (
            "{\"current\":\"\t\"}",
            "control character (\\u0000-\\u001F) found while parsing a string (line 1, column 13)",
        ),
        (
            "{\"current\":\"\\ud800\"}",
            "unexpected end of hex escape (line 1, column 19)",
        ),
        ("{\"version\":\"1\"}", "invalid number (line 1, column 12)"),
        (
            "{\"version\":1e99999}",
            "expected `,` or `}` (line 1, column 13)",
        ),
        (
            "{\n\"current\": 5}",
            "a value does not have the type the baseten CLI reads there (line 2, column 12)",
        ),
        (
            "{\"version\": 9223372036854775808}",
            "version is out of the range of Go's int (line 1, column 31)",
        ),
    ] {
        assert_eq!(refused(text).0, message, "{text:?}");
    }
}
