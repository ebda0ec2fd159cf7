//! The splice: one section replaced, appended, restored or removed, every other byte left as it
//! was, and a check that no other section reads differently afterwards.
use super::document::{Document, py_isspace, py_strip};

/// The result of [`Document::with_section`]: the new text and the separators it added.
#[derive(Debug, PartialEq, Eq)]
pub struct Spliced {
    pub text: String,
    pub before: String,
    pub after: String,
}

impl Document {
    /// The text with `block` (a whole section, ending in one newline) in place of section `name`,
    /// or appended. The result keeps one blank line after the section, as configparser writes;
    /// the separators added around the block are reported so that an undo can remove them.
    pub fn with_section(&self, name: &str, block: &str) -> Spliced {
        let text = &self.text;
        let mut before = String::new();
        let mut after = String::new();
        let (head, tail) = match self.section(name) {
            Some(s) => {
                if !starts_with_blank_line(&text[s.content_end..]) {
                    after.push('\n');
                }
                (&text[..s.start], &text[s.content_end..])
            }
            None => {
                if !text.is_empty() {
                    if !text.ends_with('\n') {
                        before.push_str(if text.contains("\r\n") { "\r\n" } else { "\n" });
                    }
                    if !ends_with_blank_line(&format!("{text}{before}")) {
                        before.push('\n');
                    }
                }
                after.push('\n');
                (text.as_str(), "")
            }
        };
        Spliced {
            text: format!("{head}{before}{block}{after}{tail}"),
            before,
            after,
        }
    }

    /// Checks that `new_text` reads every section other than `changed` exactly as this document
    /// does: same names, keys and values. Splicing or removing a section next to an indented line
    /// could otherwise make configparser fold that line into a neighbour's value.
    pub fn check_others_unchanged(
        &self,
        new_text: &str,
        changed: &[&str],
    ) -> std::result::Result<(), String> {
        let new =
            Document::parse(new_text).map_err(|e| format!("line {} {}", e.line, e.problem))?;
        for old in self
            .sections
            .iter()
            .filter(|s| !changed.contains(&s.name.as_str()))
        {
            match new.section(&old.name) {
                Some(s) if s.entries == old.entries => {}
                Some(_) => return Err(format!("[{}] would read differently", old.name)),
                None => return Err(format!("[{}] would no longer read as a section", old.name)),
            }
        }
        Ok(())
    }
    /// Undoes a splice of section `name`: puts `previous` back in its place, or removes the
    /// section, together with the separators the splice added (when they are still there).
    pub fn unsplice(
        &self,
        name: &str,
        previous: Option<&str>,
        before: &str,
        after: &str,
    ) -> Option<String> {
        let s = self.section(name)?;
        let text = &self.text;
        let end = if text[s.content_end..].starts_with(after) {
            s.content_end + after.len()
        } else {
            s.content_end
        };
        let start = match previous {
            None if text[..s.start].ends_with(before) => s.start - before.len(),
            _ => s.start,
        };
        Some(format!(
            "{}{}{}",
            &text[..start],
            previous.unwrap_or(""),
            &text[end..]
        ))
    }

    /// The text without section `name`: its lines and the blank lines that followed it go; every
    /// other byte stays. Removing the last section leaves an empty file, as truss does.
    pub fn without_section(&self, name: &str) -> Option<String> {
        let s = self.section(name)?;
        let rest = &self.text[s.content_end..];
        let skip = rest.len() - rest.trim_start_matches(py_isspace).len();
        // Keep the line structure: only drop whole blank lines.
        let skip = rest[..skip].rfind('\n').map_or(0, |i| i + 1);
        let mut out = String::with_capacity(self.text.len());
        out.push_str(&self.text[..s.start]);
        out.push_str(&rest[skip..]);
        if py_strip(&out).is_empty() {
            out.clear();
        }
        Some(out)
    }
}

fn starts_with_blank_line(rest: &str) -> bool {
    let first = rest.split_inclusive('\n').next().unwrap_or("");
    first.ends_with('\n') && py_strip(first).is_empty()
}

fn ends_with_blank_line(text: &str) -> bool {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let body = body.strip_suffix('\r').unwrap_or(body);
    body.is_empty() || body.ends_with('\n')
}

/// configparser interpolates `%`, so a literal `%` is written `%%`.
pub fn escape_value(value: &str) -> String {
    value.replace('%', "%%")
}

/// The section `truss auth login --api-key` writes, byte for byte.
pub fn api_key_section(name: &str, remote_url: &str, api_key: Option<&str>) -> String {
    let mut s = format!(
        "[{name}]\nremote_provider = baseten\nremote_url = {}\nauth_type = api_key\n",
        escape_value(remote_url)
    );
    if let Some(key) = api_key {
        s.push_str("api_key = ");
        s.push_str(&escape_value(key));
        s.push('\n');
    }
    s
}
/// Builders shared by the property tests and the fuzz targets: a trussrc from parts.
pub mod arbitrary {
    /// One line of a generated trussrc.
    #[derive(Clone, Debug)]
    pub enum Line {
        Section(String),
        Option(String, String),
        Continuation(String),
        Comment(String),
        Blank,
    }

    /// Renders lines with `\n` or `\r\n`, with or without a final line ending.
    pub fn render(lines: &[Line], crlf: bool, final_newline: bool) -> String {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate() {
            match line {
                Line::Section(n) => out.push_str(&format!("[{n}]")),
                Line::Option(k, v) => out.push_str(&format!("{k} = {v}")),
                Line::Continuation(v) => out.push_str(&format!("    {v}")),
                Line::Comment(c) => out.push_str(&format!("# {c}")),
                Line::Blank => {}
            }
            if i + 1 < lines.len() || final_newline {
                out.push_str(eol);
            }
        }
        out
    }
}
