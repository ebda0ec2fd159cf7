//! The reader: a trussrc read as Python's configparser reads it (truss's own reader), with where
//! each section starts and ends, so that the splice can leave every other byte alone.
use std::hash::RandomState;
use std::path::Path;

use self::parser::Parser;
use super::index::Index;
use super::work::step;
use crate::error::{Error, Result};

mod parser;

/// Python's `str.isspace()`, which configparser's `strip()` and `\\S` follow: Unicode White_Space
/// and the separators U+001C to U+001F.
pub fn py_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_isspace)
}

/// A piece of text the reader keeps: a stretch of the file's text, or text it had to make (a key
/// it lower-cased, a value it joined from continuation lines), by its place in `Document::made`.
#[derive(Clone, Copy, Debug)]
enum Piece {
    Text { start: u32, end: u32 },
    Made(u32),
}

/// A key and its raw value.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Piece,
    value: Piece,
}

/// What the reader keeps of one section: offsets only, 24 bytes, so that 100,000 sections cost
/// neither an allocation each nor megabytes of memory to touch.
#[derive(Clone, Copy, Debug)]
struct Stored {
    name: (u32, u32),
    start: u32,
    content_end: u32,
    /// Its keys: `Document::entries[first_entry..first_entry + entries]`.
    first_entry: u32,
    entries: u32,
}

/// One section, located by byte offsets into the file text (a view into its [`Document`]).
#[derive(Clone, Copy)]
pub struct Section<'a> {
    pub name: &'a str,
    /// Start of the header line.
    pub start: usize,
    /// End of the last header, option or continuation line (its line ending included).
    pub content_end: usize,
    entries: &'a [Entry],
    doc: &'a Document,
}

impl<'a> Section<'a> {
    /// Keys (lower-cased, as configparser does) with their raw values, in file order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + use<'a> {
        let doc = self.doc;
        self.entries
            .iter()
            .map(move |e| (doc.piece(e.key), doc.piece(e.value)))
    }

    /// The raw value of a key, as written (interpolation not applied).
    pub fn raw(&self, key: &str) -> Option<&'a str> {
        self.entries().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }
}

impl PartialEq for Section<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.start == other.start
            && self.content_end == other.content_end
            && self.entries().eq(other.entries())
    }
}

/// Names and places, and keys without their values: a section may hold a key.
impl std::fmt::Debug for Section<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Section")
            .field("name", &self.name)
            .field("start", &self.start)
            .field("content_end", &self.content_end)
            .field("keys", &self.entries().map(|(k, _)| k).collect::<Vec<_>>())
            .finish()
    }
}

/// A parsed trussrc: the exact text and where its sections are.
#[derive(Default)]
pub struct Document {
    pub text: String,
    /// In file order.
    sections: Vec<Stored>,
    /// Every section's keys, in file order.
    entries: Vec<Entry>,
    /// Text the reader made (see [`Piece::Made`]).
    made: Vec<String>,
    /// Sections by name: a lookup costs the same with 100,000 sections.
    index: Index,
    hasher: RandomState,
}

/// Its size and section names only: the text may hold a key.
impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("bytes", &self.text.len())
            .field(
                "sections",
                &self.sections().map(|s| s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
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
        Self::parse_owned(text.to_owned())
    }

    /// [`Document::parse`] of a text it keeps (no copy of a 1 MiB file).
    pub fn parse_owned(text: String) -> std::result::Result<Self, ParseError> {
        if u32::try_from(text.len()).is_err() {
            return Err(ParseError {
                line: 1,
                problem: "is over 4 GiB".into(),
            });
        }
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
        let mut parser = Parser::new(&text);
        let mut offset = 0;
        let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
        for (line_index, line) in text.split_inclusive('\n').enumerate() {
            step();
            let start = offset;
            offset += line.len();
            let body = line.trim_end_matches(['\n', '\r']);
            if let Err(problem) = parser.line(body, start, offset) {
                // A repeat earlier in the file is what a line-by-line reader stops at first.
                return Err(parser.repeat(&line_of).1.unwrap_or(ParseError {
                    line: line_index + 1,
                    problem,
                }));
            }
        }
        let (index, repeat) = parser.repeat(&line_of);
        if let Some(repeat) = repeat {
            return Err(repeat);
        }
        let Parser {
            sections,
            entries,
            made,
            hasher,
            ..
        } = parser;
        Ok(Self {
            text,
            sections,
            entries,
            made,
            index,
            hasher,
        })
    }

    fn piece(&self, piece: Piece) -> &str {
        piece_of(&self.text, &self.made, piece)
    }

    fn view<'a>(&'a self, s: &Stored) -> Section<'a> {
        let first = s.first_entry as usize;
        Section {
            name: &self.text[s.name.0 as usize..s.name.1 as usize],
            start: s.start as usize,
            content_end: s.content_end as usize,
            entries: &self.entries[first..first + s.entries as usize],
            doc: self,
        }
    }

    /// The sections, in file order.
    pub fn sections(&self) -> impl DoubleEndedIterator<Item = Section<'_>> + ExactSizeIterator {
        self.sections.iter().map(|s| self.view(s))
    }

    pub fn section(&self, name: &str) -> Option<Section<'_>> {
        let text = &self.text;
        let sections = &self.sections;
        let name_of = |i: usize| &text[sections[i].name.0 as usize..sections[i].name.1 as usize];
        let i = self.index.find(name_of, name, &self.hasher)?;
        Some(self.view(&self.sections[i]))
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
        self.sections().map(|s| s.name).filter(|n| *n != "DEFAULT")
    }
    /// The exact text of section `name`, header through its last line.
    pub fn section_text(&self, name: &str) -> Option<&str> {
        self.section(name)
            .map(|s| &self.text[s.start..s.content_end])
    }

    /// Picks a remote as truss does: the named one, or the only one there is.
    pub fn pick_remote<'a>(&'a self, remote: Option<&'a str>, path: &Path) -> Result<&'a str> {
        let remotes: Vec<&str> = self.remotes().collect();
        match (remote, remotes.as_slice()) {
            (Some(name), _) if self.text.is_empty() && !path.exists() => {
                Err(Error::usage(format!(
                    "No trussrc found at {} (looking for remote {name:?})",
                    path.display()
                ))
                .with_hint("run `truss-ci login` first"))
            }
            (Some(name), _) if remotes.contains(&name) => Ok(name),
            (Some(name), _) => Err(Error::usage(format!(
                "No remote '{name}' configured in {}",
                path.display()
            ))
            .with_hint(if remotes.is_empty() {
                "run `truss-ci login` first".to_owned()
            } else {
                format!("configured remotes: {}", remotes.join(", "))
            })),
            (None, []) => Err(
                Error::usage(format!("No remotes configured in {}", path.display()))
                    .with_hint("run `truss-ci login` first"),
            ),
            (None, [only]) => Ok(only),
            (None, many) => Err(Error::usage(format!(
                "several remotes are configured in {}: {}",
                path.display(),
                many.join(", ")
            ))
            .with_hint("pass --remote NAME")),
        }
    }
}

/// The text of `piece`.
fn piece_of<'t>(text: &'t str, made: &'t [String], piece: Piece) -> &'t str {
    match piece {
        Piece::Text { start, end } => &text[start as usize..end as usize],
        Piece::Made(i) => &made[i as usize],
    }
}
