//! The trussrc: a scanner that reads it as Python's configparser does, a splice that replaces or
//! appends one section leaving every other byte alone, and an atomic, locked, 0600 write.
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::atomic_file;
use crate::error::{Error, Kind, Result};

/// Python's `str.isspace()`, which configparser's `strip()` and `\S` follow: Unicode White_Space
/// and the separators U+001C to U+001F.
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// One section, located by byte offsets into the file text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// Start of the header line.
    pub start: usize,
    /// End of the last header, option or continuation line (its line ending included).
    pub content_end: usize,
    /// Keys (lower-cased, as configparser does) with their raw values, in file order.
    pub entries: Vec<(String, String)>,
}

impl Section {
    /// The raw value of a key, as written (interpolation not applied).
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }
}

/// The result of [`Document::with_section`]: the new text and the separators it added.
#[derive(Debug, PartialEq, Eq)]
pub struct Spliced {
    pub text: String,
    pub before: String,
    pub after: String,
}

/// A parsed trussrc: the exact text and where its sections are.
#[derive(Debug, Default)]
pub struct Document {
    pub text: String,
    pub sections: Vec<Section>,
}

/// Why a file cannot be read the way truss reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub problem: String,
}

impl Document {
    /// Reads `text` with configparser's default rules: `[name]` headers, `key = value` or
    /// `key: value` options, whole-line `#`/`;` comments, indented continuation lines, strict (no
    /// duplicate sections or keys). A file configparser would reject is refused here too.
    pub fn parse(text: &str) -> std::result::Result<Self, ParseError> {
        if let Some(i) = text
            .match_indices('\r')
            .map(|(i, _)| i)
            .find(|&i| text.as_bytes().get(i + 1) != Some(&b'\n'))
        {
            return Err(ParseError {
                line: text[..i].matches('\n').count() + 1,
                problem: "has a carriage return that does not end a line".into(),
            });
        }
        let mut sections: Vec<Section> = Vec::new();
        // The indentation of the option being read, while continuation lines may follow.
        let mut option_indent: Option<usize> = None;
        let mut blanks = 0;
        let mut offset = 0;
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let line_no = index + 1;
            let start = offset;
            offset += line.len();
            let body = line.trim_end_matches(['\n', '\r']);
            let stripped = py_strip(body);
            let err = |problem: &str| ParseError {
                line: line_no,
                problem: problem.to_owned(),
            };
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            if stripped.is_empty() {
                // configparser keeps blank lines inside a value when an indented line follows.
                blanks += 1;
                continue;
            }
            // configparser counts indentation in characters, not bytes.
            let indent = body.chars().take_while(|c| py_isspace(*c)).count();
            if let (Some(section), Some(opt)) = (sections.last_mut(), option_indent)
                && indent > opt
            {
                section.content_end = offset;
                if let Some(last) = section.entries.last_mut() {
                    last.1.push_str(&"\n".repeat(blanks + 1));
                    last.1.push_str(stripped);
                }
                blanks = 0;
                continue;
            }
            blanks = 0;
            if let Some(name) = header(stripped) {
                if sections.iter().any(|s| s.name == name) {
                    return Err(err(&format!("repeats section [{name}]")));
                }
                sections.push(Section {
                    name: name.to_owned(),
                    start,
                    content_end: offset,
                    entries: Vec::new(),
                });
                option_indent = None;
                continue;
            }
            let Some(section) = sections.last_mut() else {
                return Err(err("has text before the first [section] header"));
            };
            let Some(delim) = stripped.find(['=', ':']) else {
                return Err(err(
                    "is neither a [section], a key = value line nor a comment",
                ));
            };
            let key = py_strip(&stripped[..delim]).to_lowercase();
            if key.is_empty() {
                return Err(err("has a value with no key name"));
            }
            if section.has(&key) {
                return Err(err(&format!("repeats key {key} in [{}]", section.name)));
            }
            let value = py_strip(&stripped[delim + 1..]).to_owned();
            section.entries.push((key, value));
            section.content_end = offset;
            option_indent = Some(indent);
        }
        Ok(Self {
            text: text.to_owned(),
            sections,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// A key's value as truss reads it: the section's own, else `[DEFAULT]`'s, with `%%` → `%`.
    pub fn value(&self, section: &str, key: &str) -> Option<String> {
        self.raw_value(section, key).map(|v| v.replace("%%", "%"))
    }

    /// A key's raw value as written (no interpolation), the section's own else `[DEFAULT]`'s.
    pub fn raw_value(&self, section: &str, key: &str) -> Option<&str> {
        self.section(section)
            .and_then(|s| s.raw(key))
            .or_else(|| self.section("DEFAULT").and_then(|s| s.raw(key)))
    }

    /// Remote names, as truss lists them (`DEFAULT` is not a remote).
    pub fn remotes(&self) -> impl Iterator<Item = &str> {
        self.sections
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| *n != "DEFAULT")
    }

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

    /// The exact text of section `name`, header through its last line.
    pub fn section_text(&self, name: &str) -> Option<&str> {
        self.section(name)
            .map(|s| &self.text[s.start..s.content_end])
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

/// configparser's `\[(?P<header>.+)\]`, matched at the start of the stripped line (greedy).
fn header(stripped: &str) -> Option<&str> {
    let inner = stripped.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
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

/// `new_text`, if it leaves every section but `changed` reading as `doc` reads it; else a refusal.
fn checked(doc: &Document, path: &Path, new_text: String, changed: &[&str]) -> Result<String> {
    doc.check_others_unchanged(&new_text, changed).map(|()| new_text).map_err(|why| {
        Error::new(
            Kind::Local,
            format!(
                "editing {} here would change another section: {why}; it was left as it was",
                path.display()
            ),
        )
        .with_hint("an indented line next to the section is read by configparser as part of a value: remove its indentation")
    })
}

/// Reads the trussrc at `path` for display; a missing file is an empty document.
pub fn load(path: &Path) -> Result<Document> {
    match read_regular(path)? {
        Some(text) => parse_for(path, &text),
        None => Ok(Document::default()),
    }
}

fn parse_for(path: &Path, text: &str) -> Result<Document> {
    Document::parse(text).map_err(|e| {
        Error::new(
            Kind::Local,
            format!(
                "{} line {} {}; truss cannot read this file either",
                path.display(),
                e.line,
                e.problem
            ),
        )
        .with_hint("fix or move the file, then run truss-ci again; it was left as it was")
    })
}

/// A trussrc larger than this is not one; it is left alone.
pub const MAX_SIZE: u64 = 1024 * 1024;

/// Reads the file if it exists; refuses symlinks, anything that is not a regular file (a FIFO
/// would block), and files far larger than a trussrc.
fn read_regular(path: &Path) -> Result<Option<String>> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::local("inspect", path, &e)),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(Error::new(
                Kind::Local,
                format!(
                    "{} is a symbolic link; truss-ci does not write through links",
                    path.display()
                ),
            )
            .with_hint("point --trussrc or USER_TRUSSRC_PATH at the real file"));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(Error::new(
                Kind::Local,
                format!("{} is not a regular file", path.display()),
            )
            .with_hint("move it aside or choose another path with --trussrc"));
        }
        Ok(meta) if meta.len() > MAX_SIZE => {
            return Err(Error::new(
                Kind::Local,
                format!(
                    "{} is {} bytes, far larger than a trussrc (at most {MAX_SIZE}); it was left as it was",
                    path.display(),
                    meta.len()
                ),
            )
            .with_hint("check that --trussrc or USER_TRUSSRC_PATH names the right file"));
        }
        Ok(_) => {}
    }
    let bytes =
        atomic_file::read_capped(path, MAX_SIZE).map_err(|e| Error::local("read", path, &e))?;
    String::from_utf8(bytes).map(Some).map_err(|_| {
        Error::new(
            Kind::Local,
            format!(
                "{} is not UTF-8 text; it was left as it was",
                path.display()
            ),
        )
        .with_hint("fix or move the file, then run truss-ci again")
    })
}

/// The trussrc, locked for one read-modify-write: other truss-ci processes wait (boundedly) until
/// it is dropped. Stale temporaries are swept when it is taken.
pub struct Locked {
    pub path: PathBuf,
    /// The text as it was when locked; `None` when the file did not exist.
    pub existing: Option<String>,
    pub doc: Document,
    _lock: atomic_file::Lock,
}

impl Locked {
    pub fn open(path: &Path, wait: Duration) -> Result<Self> {
        atomic_file::create_private_dir(&atomic_file::parent_dir(path))?;
        let lock = atomic_file::lock(path, wait)?;
        atomic_file::sweep(path);
        let existing = read_regular(path)?;
        let doc = match &existing {
            Some(text) => parse_for(path, text)?,
            None => Document::default(),
        };
        Ok(Self {
            path: path.to_owned(),
            existing,
            doc,
            _lock: lock,
        })
    }

    /// Checks that `new_text` reads every section but `changed` as the locked text does; the
    /// refusal is an error (exit 5) with nothing written.
    pub fn check(&self, new_text: String, changed: &[&str]) -> Result<String> {
        checked(&self.doc, &self.path, new_text, changed)
    }

    /// Atomically replaces the file with `text` (already checked).
    pub fn write(&self, text: &str) -> Result<()> {
        atomic_file::write(&self.path, text.as_bytes())
    }

    /// Replaces the file with `text` (already checked), or removes it (`None`), and reads the
    /// new state, still under the lock.
    pub fn set(&mut self, text: Option<String>) -> Result<()> {
        match &text {
            Some(t) => self.write(t)?,
            None => atomic_file::remove(&self.path)?,
        }
        self.doc = match &text {
            Some(t) => parse_for(&self.path, t)?,
            None => Document::default(),
        };
        self.existing = text;
        Ok(())
    }

    /// Puts the file back as it was when locked: its old bytes, or no file.
    pub fn restore(&self) -> Result<()> {
        match &self.existing {
            Some(text) => self.write(text),
            None => atomic_file::remove(&self.path),
        }
    }
}

/// Reads, edits and atomically rewrites the trussrc under its lock, so concurrent edits of
/// different sections all land. `edit` returns the new text (or `None` to leave the file alone)
/// and a value that is handed back; the new text is written only if every section but `changed`
/// still reads as it did. The bool is whether the file existed before.
pub fn edit<T, F>(path: &Path, changed: &[&str], wait: Duration, edit: F) -> Result<(bool, T)>
where
    F: FnOnce(&Document) -> Result<(Option<String>, T)>,
{
    let locked = Locked::open(path, wait)?;
    let (new_text, value) = edit(&locked.doc)?;
    if let Some(text) = new_text {
        let text = locked.check(text, changed)?;
        locked.write(&text)?;
    }
    Ok((locked.existing.is_some(), value))
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::arbitrary::{Line, render};
    use super::*;

    fn line() -> impl Strategy<Value = Line> {
        prop_oneof![
            "[a-c]{1,2}".prop_map(Line::Section),
            ("[a-e_]{1,3}", "[ -~&&[^%]]{0,12}")
                .prop_map(|(k, v)| Line::Option(k, v.trim().to_owned())),
            "[a-z%]{1,6}".prop_map(|v| Line::Continuation(v.replace('%', "%%"))),
            "[ -~]{0,10}".prop_map(Line::Comment),
            Just(Line::Blank),
        ]
    }

    proptest! {
        #[test]
        fn splicing_keeps_every_other_section_byte_for_byte(
            lines in proptest::collection::vec(line(), 0..24),
            crlf: bool,
            final_newline: bool,
            name in "[a-d]{1,2}",
            key in "[!-~&&[^\"'`]]{1,20}",
        ) {
            let text = render(&lines, crlf, final_newline);
            let Ok(doc) = Document::parse(&text) else { return Ok(()) };
            let block = api_key_section(&name, "https://app.baseten.co", Some(&key));
            let spliced = doc.with_section(&name, &block);
            if doc.check_others_unchanged(&spliced.text, &[&name]).is_err() {
                return Ok(());
            }
            let after = Document::parse(&spliced.text).expect("the result parses");
            // Every other byte stays: an append keeps the whole text as a prefix; a replace keeps
            // everything before the section and everything after it.
            match doc.section(&name) {
                None => prop_assert!(spliced.text.starts_with(&text)),
                Some(s) => {
                    prop_assert!(spliced.text.starts_with(&text[..s.start]));
                    prop_assert!(spliced.text.ends_with(&text[s.content_end..]));
                }
            }
            for s in doc.sections.iter().filter(|s| s.name != name) {
                let trim = |t: Option<&str>| t.map(|t| t.trim_end_matches(['\r', '\n']).to_owned());
                prop_assert_eq!(trim(after.section_text(&s.name)), trim(doc.section_text(&s.name)));
            }
            let stored = after.value(&name, "api_key");
            prop_assert_eq!(stored.as_deref(), Some(key.as_str()));
            let mine = after.section(&name).expect("the section is there");
            prop_assert_eq!(mine.entries.len(), 4);
            let mut expected: Vec<&str> = doc.sections.iter().map(|s| s.name.as_str()).collect();
            if doc.section(&name).is_none() {
                expected.push(&name);
            }
            let names: Vec<&str> = after.sections.iter().map(|s| s.name.as_str()).collect();
            prop_assert_eq!(names, expected);
            let undone = after.unsplice(&name, doc.section_text(&name), &spliced.before, &spliced.after);
            prop_assert_eq!(undone.as_deref(), Some(text.as_str()));
        }
    }

    const TRUSS_WRITTEN: &str = "[a]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = A\n\n[b]\nremote_provider = baseten\nremote_url = http://127.0.0.1:1\nauth_type = api_key\napi_key = B\n\n";

    #[test]
    fn parses_what_truss_writes() {
        let doc = Document::parse(TRUSS_WRITTEN).unwrap();
        assert_eq!(doc.remotes().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            doc.value("b", "remote_url").as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(
            doc.section("a").unwrap().content_end,
            TRUSS_WRITTEN.find("\n\n[b]").unwrap() + 1
        );
    }

    #[test]
    fn replacing_a_section_matches_truss_bytes() {
        let doc = Document::parse(TRUSS_WRITTEN).unwrap();
        let block = api_key_section("a", "https://app.baseten.co", Some("NEW"));
        let out = doc.with_section("a", &block).text;
        assert_eq!(out, TRUSS_WRITTEN.replace("api_key = A", "api_key = NEW"));
        let block = api_key_section("b", "http://127.0.0.1:1", Some("NEW"));
        assert_eq!(
            doc.with_section("b", &block).text,
            TRUSS_WRITTEN.replace("api_key = B", "api_key = NEW")
        );
    }

    #[test]
    fn appending_keeps_one_blank_line_between_sections() {
        let block = api_key_section("c", "https://x", Some("C"));
        for (before, after) in [
            ("", format!("{block}\n")),
            ("[a]\nk = v", format!("[a]\nk = v\n\n{block}\n")),
            ("[a]\nk = v\n", format!("[a]\nk = v\n\n{block}\n")),
            ("[a]\nk = v\n\n", format!("[a]\nk = v\n\n{block}\n")),
            ("[a]\r\nk = v\r\n", format!("[a]\r\nk = v\r\n\n{block}\n")),
            ("[a]\r\nk = v", format!("[a]\r\nk = v\r\n\n{block}\n")),
        ] {
            let doc = Document::parse(before).unwrap();
            let spliced = doc.with_section("c", &block);
            assert_eq!(spliced.text, after, "{before:?}");
            let undone = Document::parse(&spliced.text)
                .unwrap()
                .unsplice("c", None, &spliced.before, &spliced.after)
                .unwrap();
            assert_eq!(undone, before, "undo restores every byte");
        }
    }

    #[test]
    fn comments_crlf_and_extra_keys_around_the_section_survive() {
        let text = "# top comment\r\n[other]\r\nremote_provider: baseten\r\n  continued\r\n\r\n; note\r\n[mine]\r\nteam = x\r\nAPI_KEY = old\r\n# trailing comment\r\n[last]\r\nk=v";
        let doc = Document::parse(text).unwrap();
        assert_eq!(
            doc.section("other").unwrap().raw("remote_provider"),
            Some("baseten\ncontinued")
        );
        assert_eq!(doc.section("mine").unwrap().raw("api_key"), Some("old"));
        let block = api_key_section("mine", "https://u", Some("K"));
        let spliced = doc.with_section("mine", &block);
        let out = spliced.text.clone();
        let undone = Document::parse(&out)
            .unwrap()
            .unsplice(
                "mine",
                doc.section_text("mine"),
                &spliced.before,
                &spliced.after,
            )
            .unwrap();
        assert_eq!(
            undone, text,
            "undo restores the replaced section byte for byte"
        );
        let prefix =
            "# top comment\r\n[other]\r\nremote_provider: baseten\r\n  continued\r\n\r\n; note\r\n";
        assert_eq!(
            out,
            format!("{prefix}{block}\n# trailing comment\r\n[last]\r\nk=v")
        );
    }

    #[test]
    fn percent_is_doubled() {
        let block = api_key_section("r", "https://h/%7e", Some("a%b"));
        assert!(block.contains("api_key = a%%b\n"));
        assert!(block.contains("remote_url = https://h/%%7e\n"));
        let doc = Document::parse(&format!("{block}\n")).unwrap();
        assert_eq!(doc.value("r", "api_key").as_deref(), Some("a%b"));
    }

    #[test]
    fn files_configparser_rejects_are_refused() {
        for (text, line) in [
            ("k = v\n", 1),
            ("[a]\n[a]\n", 2),
            ("[a]\nk = 1\nK = 2\n", 3),
            ("[a]\njunk\n", 2),
            ("[a]\n= v\n", 2),
            ("[a]\rk = v\n", 1),
        ] {
            assert_eq!(Document::parse(text).unwrap_err().line, line, "{text:?}");
        }
    }

    #[test]
    fn an_edit_that_would_fold_an_indented_neighbour_is_refused() {
        // `[a]` is a section while it follows a section without options; after the splice it
        // would be read as a continuation of api_key.
        let doc = Document::parse("[baseten]ci\\\n\u{b}[a] =\n").unwrap();
        assert_eq!(doc.remotes().collect::<Vec<_>>(), ["baseten", "a"]);
        let spliced = doc.with_section(
            "baseten",
            &api_key_section("baseten", "https://x", Some("S")),
        );
        let err = checked(&doc, Path::new("rc"), spliced.text, &["baseten"]).unwrap_err();
        assert_eq!(err.exit_code(), 5);
        assert!(
            err.message
                .contains("[a] would no longer read as a section"),
            "{}",
            err.message
        );
        // Removing a section can do the same to the one before it.
        let doc = Document::parse("[x]\nk = v\n[gone]\n  [y]\n").unwrap();
        let text = doc.without_section("gone").unwrap();
        assert!(checked(&doc, Path::new("rc"), text, &["gone"]).is_err());
    }

    #[test]
    fn default_section_values_are_inherited() {
        let doc = Document::parse("[DEFAULT]\nremote_url = https://d\n[x]\napi_key = k\n").unwrap();
        assert_eq!(doc.value("x", "remote_url").as_deref(), Some("https://d"));
        assert_eq!(doc.remotes().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn removing_sections_keeps_the_rest() {
        let doc = Document::parse(TRUSS_WRITTEN).unwrap();
        let without_a = doc.without_section("a").unwrap();
        assert_eq!(
            without_a,
            &TRUSS_WRITTEN[TRUSS_WRITTEN.find("[b]").unwrap()..]
        );
        let doc_b = Document::parse(&without_a).unwrap();
        assert_eq!(doc_b.without_section("b").unwrap(), "");
        assert!(doc.without_section("zzz").is_none());
    }
}
