#![allow(dead_code)] // each test binary uses some of them
// Encodings written out independently of the code under test, for the leak checks (shared by
// the scrubber's unit tests and the integration tests).

/// Base64 with padding; `url_safe` uses `-` and `_`.
pub fn b64(bytes: &[u8], url_safe: bool) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    if url_safe {
        out = out.replace('+', "-").replace('/', "_");
    }
    out
}

/// Every byte but ASCII letters and digits as `%XX` (upper-case hex).
pub fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What a reader sees of `text`, or a receiving side that strips invisible characters (Cc, the
/// zero-width ones, soft hyphens, BOMs, tags) and folds full-width forms: lower-cased.
pub fn readable(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            !c.is_control()
                && !matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
        })
        .map(|c| match u32::from(c) {
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// `text` with `sep` after each character.
pub fn interleave(text: &str, sep: &str) -> String {
    text.chars().map(|c| format!("{c}{sep}")).collect()
}

/// `text` in full-width forms.
pub fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}
