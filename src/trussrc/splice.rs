//! The splice: one section replaced, appended, restored or removed, every other byte left as it
//! was, and a check that no other section reads differently afterwards.
use std::collections::HashSet;

use super::document::{Document, py_isspace, py_strip};
use super::work::step;

/// A set of section names: a handful (what login and logout change) compared directly, every
/// remote of the document in its order (`logout --all`) known without a lookup, any other many
/// hashed, so that asking about every section of the file stays linear.
enum Names<'a> {
    Few(&'a [&'a str]),
    AllRemotes,
    Many(HashSet<&'a str>),
}

impl<'a> Names<'a> {
    fn new(doc: &Document, names: &'a [&'a str]) -> Self {
        if names.len() <= 8 {
            return Names::Few(names);
        }
        let mut remotes = doc.remotes();
        let all = names.iter().all(|name| {
            step();
            remotes.next() == Some(*name)
        }) && remotes.next().is_none();
        if all {
            Names::AllRemotes
        } else {
            Names::Many(names.iter().copied().collect())
        }
    }

    fn contains(&self, name: &str) -> bool {
        match self {
            Names::Few(names) => names.contains(&name),
            Names::AllRemotes => name != "DEFAULT",
            Names::Many(set) => set.contains(name),
        }
    }
}

/// The result of [`Document::with_section`]: the new text and the separators it added.
#[derive(Debug, PartialEq, Eq)]
pub struct Spliced {
    pub text: String,
    pub before: String,
    pub after: String,
    /// Where the old text after the section (or nothing, for an append) starts in `text`.
    pub tail: usize,
}

impl Document {
    /// The text with `block` (a whole section, ending in one newline) in place of section `name`,
    /// or appended. The result keeps one blank line after the section, as configparser writes;
    /// the separators added around the block are reported so that an undo can remove them.
    ///
    /// Lines end as the file's do (its first line ending), or, in a new file, as truss writes
    /// them on this OS: Python's text mode ends them in CRLF on Windows.
    pub fn with_section(&self, name: &str, block: &str) -> Spliced {
        let (head, before, block, after, tail) = self.splice_parts(name, block);
        let text = format!("{head}{before}{block}{after}{tail}");
        Spliced {
            tail: text.len() - tail.len(),
            text,
            before,
            after,
        }
    }

    /// The length of [`Document::with_section`]'s text, without making it.
    pub fn spliced_len(&self, name: &str, block: &str) -> usize {
        let (head, before, block, after, tail) = self.splice_parts(name, block);
        head.len() + before.len() + block.len() + after.len() + tail.len()
    }

    /// What [`Document::with_section`] joins: the text before, the separators and the block, the
    /// text after.
    fn splice_parts<'a>(
        &'a self,
        name: &str,
        block: &str,
    ) -> (&'a str, String, String, String, &'a str) {
        let text = &self.text;
        let eol = line_ending(text);
        let block = with_line_ending(block, eol);
        let mut before = String::new();
        let mut after = String::new();
        let (head, tail) = match self.section(name) {
            Some(s) => {
                if !starts_with_blank_line(&text[s.content_end..]) {
                    after.push_str(eol);
                }
                (&text[..s.start], &text[s.content_end..])
            }
            None => {
                if !text.is_empty() {
                    if !text.ends_with('\n') {
                        before.push_str(eol);
                    }
                    // Only the last lines matter: not the whole text again.
                    let start = text.len().saturating_sub(8);
                    let start = (start..text.len())
                        .find(|&i| text.is_char_boundary(i))
                        .unwrap_or(text.len());
                    if !ends_with_blank_line(&format!("{}{before}", &text[start..])) {
                        before.push_str(eol);
                    }
                }
                after.push_str(eol);
                (text.as_str(), "")
            }
        };
        (head, before, block, after, tail)
    }

    /// Checks a splice of section `name` as [`Document::check_others_unchanged`] does, without
    /// reading the new text whole where the splice's shape settles it. What comes before the
    /// block reads as it did (each line is read by what precedes it); the block starts with a
    /// header at column 0, which nothing before it can fold into. After it, the old text starts
    /// at a header (the section's last line ended at its old end): when that header, the first
    /// line that is neither blank nor a comment, is at column 0, it starts a section in the new
    /// text too, and everything from there reads as before. Otherwise (an indented header could
    /// fold into the block's last value) the new text is read whole.
    pub fn check_splice(&self, spliced: &Spliced, name: &str) -> std::result::Result<(), String> {
        if starts_at_column_0(&spliced.text[spliced.tail..]) {
            return Ok(());
        }
        self.check_others_unchanged(&spliced.text, &[name])
            .map(drop)
    }

    /// Checks an edit of section `name` as [`Document::check_others_unchanged`] does:
    /// `new_text` keeps this text before `start` and after the block `new_text[start..end]`
    /// (the section restored as it was, or nothing: an undo or a removal). Settled without reading
    /// the new text when what precedes the block is whole lines, the block is empty or whole lines
    /// starting with a header at column 0, and what follows it starts, at its first line that is
    /// neither blank nor a comment, at column 0 (it is a header: the section's own lines ended
    /// where it starts): nothing can then fold into anything else. Otherwise read whole; the read
    /// document is given back then.
    pub fn check_edit(
        &self,
        new_text: &str,
        (start, end): (usize, usize),
        name: &str,
    ) -> std::result::Result<Option<Document>, String> {
        let old = self.text.as_bytes();
        let new = new_text.as_bytes();
        let kept_tail = new.len() - end;
        let shaped = start <= end
            && end <= new.len()
            && start <= old.len()
            && kept_tail <= old.len() - start
            && new[..start] == old[..start]
            && new[end..] == old[old.len() - kept_tail..]
            && (start == 0 || new[..start].ends_with(b"\n"))
            && self.replaced_only(name, start, old.len() - kept_tail);
        let block = new_text.get(start..end).unwrap_or_default();
        let block_ok = block.is_empty() || (block.starts_with('[') && block.ends_with('\n'));
        let tail = new_text.get(end..).unwrap_or_default();
        if shaped && block_ok && starts_at_column_0(tail) {
            return Ok(None);
        }
        self.check_others_unchanged(new_text, &[name]).map(Some)
    }

    /// Checks that `new_text` reads every section other than `changed` exactly as this document
    /// does: same names, keys and values, and gives it read. Splicing or removing a section next
    /// to an indented line could otherwise make configparser fold that line into a neighbour's
    /// value.
    pub fn check_others_unchanged(
        &self,
        new_text: &str,
        changed: &[&str],
    ) -> std::result::Result<Document, String> {
        let new =
            Document::parse(new_text).map_err(|e| format!("line {} {}", e.line, e.problem))?;
        let changed = Names::new(self, changed);
        // Sections keep their order, so the new file's are paired with the old ones in one walk;
        // a lookup by name is needed only where the two part.
        Self::same_others(self, &new, &changed)?;
        Ok(new)
    }

    /// Whether every section of `old` that is not `changed` reads the same in `new`.
    fn same_others(
        old: &Document,
        new: &Document,
        changed: &Names,
    ) -> std::result::Result<(), String> {
        let mut fresh = new.sections().filter(|s| !changed.contains(s.name));
        for old in old.sections().filter(|s| !changed.contains(s.name)) {
            step();
            let paired = fresh.next().filter(|s| s.name == old.name);
            match paired.or_else(|| new.section(old.name)) {
                Some(s) if s.entries().eq(old.entries()) => {}
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
        self.unsplice_at(name, previous, before, after)
            .map(|(text, _)| text)
    }

    /// [`Document::unsplice`], and where the restored block starts and ends in the new text.
    pub fn unsplice_at(
        &self,
        name: &str,
        previous: Option<&str>,
        before: &str,
        after: &str,
    ) -> Option<(String, (usize, usize))> {
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
        let block = previous.unwrap_or("");
        let new = format!("{}{block}{}", &text[..start], &text[end..]);
        Some((new, (start, start + block.len())))
    }

    /// The text without section `name`: its lines and the blank lines that followed it go; every
    /// other byte stays. Removing the last section leaves an empty file, as truss does.
    pub fn without_section(&self, name: &str) -> Option<String> {
        self.section(name)?;
        Some(self.without_sections(&[name]))
    }

    /// The text without the named sections (names not in the file are ignored), in one pass:
    /// what removing them one by one in file order leaves, as long as no removal lets an indented
    /// header fold into the section before it (removing it too is what `logout --all` means).
    pub fn without_sections(&self, names: &[&str]) -> String {
        let names = Names::new(self, names);
        let mut out = String::with_capacity(self.text.len());
        let mut kept_from = 0;
        let mut removed = false;
        for s in self.sections() {
            step();
            if !names.contains(s.name) {
                continue;
            }
            let rest = &self.text[s.content_end..];
            let skip = rest.len() - rest.trim_start_matches(py_isspace).len();
            // Keep the line structure: only drop whole blank lines.
            let skip = rest[..skip].rfind('\n').map_or(0, |i| i + 1);
            out.push_str(&self.text[kept_from..s.start]);
            kept_from = s.content_end + skip;
            removed = true;
        }
        out.push_str(&self.text[kept_from..]);
        if removed && py_strip(&out).is_empty() {
            out.clear();
        }
        out
    }
}

impl Document {
    /// Whether `self.text[start..end]` is section `name` and blank lines around it, nothing else.
    fn replaced_only(&self, name: &str, start: usize, end: usize) -> bool {
        let blank = |a: usize, b: usize| {
            self.text
                .get(a..b)
                .is_some_and(|t| t.chars().all(py_isspace))
        };
        self.section(name).is_some_and(|s| {
            start <= s.start
                && s.content_end <= end
                && blank(start, s.start)
                && blank(s.content_end, end)
        })
    }
}

/// Whether the first line of `text` that is neither blank nor a comment (if any) starts at column
/// 0: a header there cannot fold into the value of an option before it.
fn starts_at_column_0(text: &str) -> bool {
    let first = text
        .split_inclusive('\n')
        .map(|line| line.trim_end_matches(['\n', '\r']))
        .find(|line| {
            step();
            let stripped = py_strip(line);
            !(stripped.is_empty() || stripped.starts_with('#') || stripped.starts_with(';'))
        });
    first.is_none_or(|line| !line.starts_with(py_isspace))
}

/// How truss ends lines in a file it writes on this OS (Python's text mode).
pub const NATIVE_EOL: &str = if cfg!(windows) { "\r\n" } else { "\n" };

/// The line ending of `text`: that of its first line, or the native one when it has none.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        Some(_) => "\n",
        None => NATIVE_EOL,
    }
}

/// `block` (whose lines end in `\n`) with its lines ending in `eol`.
pub fn with_line_ending(block: &str, eol: &str) -> String {
    if eol == "\n" {
        block.to_owned()
    } else {
        block.replace('\n', eol)
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
        /// A line as given, after two spaces (an indented header or option).
        Indented(String),
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
                Line::Indented(l) => out.push_str(&format!("  {l}")),
                Line::Blank => {}
            }
            if i + 1 < lines.len() || final_newline {
                out.push_str(eol);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
