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
