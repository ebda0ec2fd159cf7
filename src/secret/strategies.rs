//! Separators that render as nothing, and keys interleaved with them, for property tests.
use proptest::prelude::*;

/// A separator that renders as nothing: Cc, Cf, and the zero-width and soft-hyphen ones.
pub(crate) fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap().to_string()),
        Just("\u{7f}".to_owned()),
        (0x80u32..0xA0).prop_map(|c| char::from_u32(c).unwrap().to_string()),
        Just("\u{200B}".to_owned()),
        Just("\u{00AD}".to_owned()),
        Just("\u{2060}".to_owned()),
        Just("\u{FEFF}".to_owned()),
        Just("\u{200E}".to_owned()),
        Just("\u{E0041}".to_owned()),
        Just(String::new()),
    ]
}

/// Full-width form of an ASCII character, where there is one.
pub(crate) fn wide(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap(),
        _ => c,
    }
}

/// `key` with a separator after each character, each character full-width or not.
pub(crate) fn interleaved(key: &str, seps: &[String], widths: &[bool]) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| {
            let c = if widths[i % widths.len()] { wide(c) } else { c };
            format!("{c}{}", seps[i % seps.len()])
        })
        .collect()
}
