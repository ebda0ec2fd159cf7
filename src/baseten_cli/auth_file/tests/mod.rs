//! Unit tests of the auth.json codec: Go's decoding rules, its encoder's bytes and the refusals;
//! what it says (`said`), and properties of any file (`properties`).

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

mod properties;
mod said;
