//! Go's text for what auth.json holds: strings and objects as encoding/json writes them (`Marshal`,
//! `MarshalIndent`), and times as `time.Time` reads and writes them (RFC 3339).
use std::io::Write as _;

/// An object being written: compact (`level` none) or indented as `MarshalIndent` indents it.
pub(super) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    level: Option<usize>,
    empty: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn open(out: &'a mut Vec<u8>, level: Option<usize>) -> Self {
        out.push(b'{');
        Obj {
            out,
            level,
            empty: true,
        }
    }

    /// Writes the key of the next field; its value goes into the returned buffer.
    pub(super) fn field(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.newline(1);
        push_str(self.out, key);
        self.out.push(b':');
        if self.level.is_some() {
            self.out.push(b' ');
        }
        self.out
    }

    pub(super) fn close(mut self) {
        if !self.empty {
            self.newline(0);
        }
        self.out.push(b'}');
    }

    fn newline(&mut self, deeper: usize) {
        if let Some(level) = self.level {
            self.out.push(b'\n');
            self.out.resize(self.out.len() + 2 * (level + deeper), b' ');
        }
    }
}

/// A JSON string as Go's encoder (Go 1.22+, HTML escaping on) writes it.
pub(super) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut utf8 = [0; 4];
    for c in s.chars() {
        let short: &[u8] = match c {
            '"' => b"\\\"",
            '\\' => b"\\\\",
            '\n' => b"\\n",
            '\r' => b"\\r",
            '\t' => b"\\t",
            '\u{8}' => b"\\b",
            '\u{c}' => b"\\f",
            '\0'..='\u{1f}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                // Writing to a Vec cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
                continue;
            }
            _ => c.encode_utf8(&mut utf8).as_bytes(),
        };
        out.extend_from_slice(short);
    }
    out.push(b'"');
}

/// Go's RFC3339Nano form of an RFC 3339 time, for the forms every Go version reads and rewrites
/// alike: `YYYY-MM-DDThh:mm:ss`, a fraction of 1 to 9 digits, `Z` or `±hh:mm` under 24:00.
pub(super) fn canonical_time(s: &str) -> Option<String> {
    // Whether `text` has the shape of `pattern`, where `0` stands for any digit.
    let shaped = |text: &str, pattern: &str| {
        text.len() == pattern.len()
            && (text.bytes().zip(pattern.bytes()))
                .all(|(c, p)| c == p || (p == b'0' && c.is_ascii_digit()))
    };
    let (time, rest) = (s.get(..19)?, &s[19..]);
    if !shaped(time, "0000-00-00T00:00:00") {
        return None;
    }
    let n = |text: &str, from: usize, to: usize| text[from..to].parse::<u32>().ok();
    let (year, month, day) = (n(time, 0, 4)?, n(time, 5, 7)?, n(time, 8, 10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 => 28 + u32::from(leap),
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days).contains(&day)
        && n(time, 11, 13)? < 24
        && n(time, 14, 16)? < 60
        && n(time, 17, 19)? < 60;
    let digits = rest.bytes().skip(1).take_while(u8::is_ascii_digit).count();
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(_) if !(1..=9).contains(&digits) => return None,
        Some(after) => (after[..digits].trim_end_matches('0'), &after[digits..]),
        None => ("", rest),
    };
    let zone = match zone {
        "Z" | "+00:00" | "-00:00" => "Z",
        z if (shaped(z, "+00:00") || shaped(z, "-00:00"))
            && n(z, 1, 3)? < 24
            && n(z, 4, 6)? < 60 =>
        {
            z
        }
        _ => return None,
    };
    let dot = if fraction.is_empty() { "" } else { "." };
    valid.then(|| format!("{time}{dot}{fraction}{zone}"))
}
