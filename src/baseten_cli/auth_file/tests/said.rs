//! What the codec says: no secret reaches `Debug` or a refusal, and a refusal says what was
//! wrong and where.

use super::*;

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
