//! Property tests of the codec: any file it writes reads back the same, and writing what it read
//! is idempotent, whatever Go's decoding folds or drops.

use proptest::prelude::*;

use super::*;

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
