//! Unit tests of `ApiKey` and the `Scrubber`: redaction, and no form of a key left by a scrub.

use proptest::prelude::*;

use super::encodings::{b64, percent};
use super::spelling::spelled;
use super::strategies::{interleaved, separator};
use super::*;

#[test]
fn debug_and_display_are_redacted() {
    let key = ApiKey::new("sk.secret-value".into());
    assert_eq!(format!("{key:?}"), "ApiKey(****)");
    assert_eq!(format!("{key}"), "****");
    assert_eq!(format!("{:#?}", Some(&key)), "Some(\n    ApiKey(****),\n)");
    assert_eq!(key.expose(), "sk.secret-value");
}

#[test]
fn scrub_removes_every_occurrence() {
    let key = ApiKey::new("abc.def".into());
    let s = Scrubber::new(&key);
    assert_eq!(s.scrub("x abc.def y abc.def"), "x **** y ****");
    assert_eq!(s.scrub("x ABC.DEF y"), "x **** y");
}

/// Every form a leak can take: the key as a careless server, proxy or encoder would print it.
fn leaked_forms(key: &str, prefix: &str) -> Vec<String> {
    vec![
        key.to_owned(),
        key.to_ascii_uppercase(),
        key.to_ascii_lowercase(),
        key.replace('/', "\\/"),
        serde_json::to_string(key).unwrap(),
        percent(key),
        percent(key).to_ascii_lowercase(),
        b64(format!("{prefix}{key}").as_bytes(), false),
        b64(format!("{prefix}{key}").as_bytes(), true),
        b64(format!("Api-Key {key}").as_bytes(), false),
    ]
}

proptest! {
    #[test]
    fn no_form_of_the_key_survives(
        id in "[A-Za-z0-9]{0,10}",
        secret in r"[A-Za-z0-9+/=%\\_~-]{8,40}",
        prefix in "[ -~]{0,5}",
        before in "[ -~é]{0,30}",
        after in "[ -~é]{0,30}",
        form in 0usize..10,
    ) {
        let key_text = if id.is_empty() { secret.clone() } else { format!("{id}.{secret}") };
        let key = ApiKey::new(key_text.clone());
        let scrubber = Scrubber::new(&key);
        let leaked = &leaked_forms(&key_text, &prefix)[form];
        let text = format!("{before}{leaked}{after}");
        let out = scrubber.scrub(&text);
        let lower = out.to_ascii_lowercase();
        // No run of 8 characters of the secret part, in any text form, is left.
        for f in [secret.clone(), secret.replace('\\', "\\\\"), percent(&secret)] {
            let f = f.to_ascii_lowercase();
            for w in f.as_bytes().windows(MIN_FRAGMENT) {
                let w = std::str::from_utf8(w).unwrap();
                prop_assert!(!lower.contains(w), "{:?} in {:?} (form {})", w, out, form);
            }
        }
        // No base64 run that spells the key at any alignment.
        for p in ["", "a", "ab"] {
            let encoded = b64(format!("{p}{key_text}").as_bytes(), false);
            let stable = &encoded[(p.len() * 4).div_ceil(3) + 1..encoded.len() - 2];
            if stable.len() >= 8 {
                prop_assert!(!out.contains(stable), "{:?} in {:?}", stable, out);
            }
        }
    }

    #[test]
    fn text_without_the_key_is_untouched(text in "[ -~é\\n]{0,80}") {
        let key = ApiKey::new("kid01234.QQQQ7777zzzzWWWW".into());
        prop_assume!(!text.to_ascii_lowercase().contains("qqqq7777"));
        prop_assert_eq!(Scrubber::new(&key).scrub(&text), text);
    }
}

/// What a reader, or a receiving side that strips invisible characters and folds width,
/// makes of `text`: the projection the scrubber reads, as a string.
fn as_read(text: &str) -> String {
    Projection::of(text)
        .bytes
        .iter()
        .filter(|&&b| b != 0xFF)
        .map(|&b| char::from(b))
        .collect()
}

proptest! {
    #[test]
    fn invisible_separators_and_full_width_forms_hide_nothing(
        id in "[A-Za-z0-9]{0,10}",
        secret in "[A-Za-z0-9]{8,40}",
        seps in proptest::collection::vec(separator(), 1..6),
        widths in proptest::collection::vec(any::<bool>(), 1..4),
        before in "[ -~é]{0,20}",
        after in "[ -~é]{0,20}",
    ) {
        let key_text = if id.is_empty() { secret.clone() } else { format!("{id}.{secret}") };
        let scrubber = Scrubber::new(&ApiKey::new(key_text.clone()));
        let text = format!("{before}{}{after}", interleaved(&key_text, &seps, &widths));
        let read = as_read(&scrubber.scrub(&text));
        let lower = secret.to_ascii_lowercase();
        for w in lower.as_bytes().windows(MIN_FRAGMENT) {
            let w = std::str::from_utf8(w).unwrap();
            prop_assert!(!read.contains(w), "{:?} readable in {:?}", w, read);
        }
        prop_assert!(scrubber.holds_key(&text));
    }

    #[test]
    fn chunks_with_any_separator_are_caught(
        secret in "[A-Za-z0-9]{16,40}",
        chunk in 1usize..8,
        sep in "[ -/:-@\\[-`{-~]{1,3}",
    ) {
        let key_text = format!("kid01.{secret}");
        let scrubber = Scrubber::new(&ApiKey::new(key_text.clone()));
        let chunks: Vec<String> = key_text
            .as_bytes()
            .chunks(chunk)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let text = format!("key was {}", chunks.join(&sep));
        prop_assert!(scrubber.holds_key(&text));
        prop_assert_eq!(scrubber.excerpt(&text, EXCERPT_MAX), WITHHELD_BODY);
    }

    #[test]
    fn ordinary_text_holds_no_key(text in "[ -~é\u{200B}\u{00AD}\t\n]{0,200}") {
        let scrubber = Scrubber::new(&ApiKey::new("kid01234.QQQQ7777zzzzWWWW".into()));
        let alnum: String = text.chars().filter(char::is_ascii_alphanumeric).collect();
        prop_assume!(!alnum.to_ascii_lowercase().contains("qqqq7777"));
        prop_assert_eq!(scrubber.scrub(&text), text.clone());
        prop_assert!(!scrubber.holds_key(&text));
    }

    #[test]
    fn excerpts_are_short_and_plain(text in "\\PC{0,300}") {
        let short = excerpt(&text, EXCERPT_MAX);
        prop_assert!(short.chars().count() <= EXCERPT_MAX + 1);
        prop_assert!(short.chars().all(|c| excerpt_char(c) || c == '…'), "{:?}", short);
    }
}

#[test]
fn hex_and_escaped_forms_are_removed() {
    let key = "kid01.Zx9qv7Lw3pTt";
    let s = Scrubber::new(&ApiKey::new(key.into()));
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let escaped: String = key.bytes().map(|b| format!("\\u{b:04x}")).collect();
    let xs: String = key.bytes().map(|b| format!("\\x{b:02X}")).collect();
    for form in [hex.clone(), hex.to_ascii_uppercase(), escaped, xs] {
        assert_eq!(s.scrub(&format!("a {form} b")), "a **** b", "{form}");
    }
    // The secret part alone, as 8 characters' worth of hex, is a leak too.
    let secret_hex: String = "qv7Lw3pT".bytes().map(|b| format!("{b:02x}")).collect();
    assert_eq!(s.scrub(&format!("x{secret_hex}x")), "x****x");
}

#[test]
fn the_whole_span_is_redacted_separators_included() {
    let s = Scrubber::new(&ApiKey::new("kid01.Zx9qv7Lw3pTt".into()));
    let text = "ws k\u{1}i\u{0}d\u{7f}0\t1.Z\u{200B}x9\u{AD}q\u{FF56}7Lw3pTt end";
    assert_eq!(s.scrub(text), "ws **** end");
}

#[test]
fn plain_values_are_a_strict_set() {
    for ok in ["local-ws", "ci-bot@example.com", "Team A_1+x"] {
        assert!(plain_value(ok), "{ok}");
    }
    for bad in [
        "a\u{1}b",
        "a\u{200B}b",
        "ｗｓ",
        "a##[x]",
        "a:b",
        "é",
        &"x".repeat(129),
    ] {
        assert!(!plain_value(bad), "{bad:?}");
    }
}

#[test]
fn names_words_paths_and_short_text_may_be_echoed_keys_not() {
    for ok in [
        "BASETEN_API_KEY",
        "MY_KEY_2",
        "production",
        "truss-env",
        "--api-key-stdin",
        "/home/runner/.trussrc",
        "C:\\Users\\runner\\.trussrc",
        "D:/a/_temp/trussrc",
        "\\\\share\\ci\\.trussrc",
        "https://app.baseten.co",
        "abc.def",
    ] {
        assert!(may_echo(ok), "{ok}");
    }
    for key in [
        "SENTINELkey01.Zx9qv7Lw3pTt",
        "kid01.SNTL+k/y=9Zq\\x7Leak",
        "abcdEFGH",
        "staging2eu",
        "--SENTINELkey01",
        "Zx9qv7Lw3pTt",
        "C:Zx9qv7Lw3pTt",
    ] {
        assert!(!may_echo(key), "{key}");
    }
}

#[test]
fn a_fragment_straddling_a_cut_is_removed() {
    let key = ApiKey::new("SENTINELkey01.Zx9qv7Lw3pTt".into());
    let s = Scrubber::new(&key);
    assert_eq!(
        s.scrub("Authorization: Api-Key SENTINELkey01.Zx9qv7Lw"),
        "Authorization: Api-Key ****"
    );
    assert_eq!(s.scrub("tail: 9qv7Lw3pTt end"), "tail: **** end");
    assert_eq!(
        s.scrub("short Zx9qv7L"),
        "short Zx9qv7L",
        "7 characters are not a leak"
    );
}

proptest! {
    /// The scrubber looks for a run only where its first character is spelled: exactly where
    /// one can start.
    #[test]
    fn a_run_starts_only_where_its_first_character_is_spelled(
        hay in "[-%\\\\xu0-9a-fA-Fg\"/ ]{0,12}",
        key in "[a-f0-9%\\\\\"/.]{1,6}",
    ) {
        let (chars, _) = encoded_run(hay.as_bytes(), key.as_bytes(), &mut Runs::default());
        prop_assert_eq!(chars > 0, spelled(hay.as_bytes(), key.as_bytes()[0]));
    }
}

proptest! {
    /// The reading made once per place finds exactly the key's offsets whose character
    /// [`spellings`] finds there.
    #[test]
    fn spelled_once_reads_as_each_spelling(
        rest in proptest::collection::vec(
            prop_oneof![
                Just(b'\\'), Just(b'x'), Just(b'u'), Just(b'%'), Just(b'"'), Just(b'/'),
                proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()),
                any::<u8>(),
            ],
            0..8,
        ),
        key in proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(b"\\\"/%xu0123456789abcdefzABCZ.".to_vec()),
                any::<u8>(),
            ],
            1..12,
        ),
    ) {
        let mut found = std::collections::BTreeSet::new();
        Spelled::at(&rest).offsets(&KeyIndex::of(&key), |offset| {
            found.insert(offset);
        });
        let want: std::collections::BTreeSet<usize> =
            (0..key.len()).filter(|&o| spelled(&rest, key[o])).collect();
        prop_assert_eq!(found, want);
    }
}
