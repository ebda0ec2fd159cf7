//! The reader's line-by-line pass: configparser's state between lines, and its checks for repeats.
use std::hash::RandomState;

use super::{Entry, ParseError, Piece, Stored, piece_of, py_isspace, py_strip};
use crate::trussrc::index::{Index, repeated_key};

/// Where `inner`, a slice of `outer`, starts in it.
fn offset_in(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// The reader's state between lines, as configparser keeps it.
pub(super) struct Parser<'t> {
    text: &'t str,
    pub(super) sections: Vec<Stored>,
    pub(super) entries: Vec<Entry>,
    pub(super) made: Vec<String>,
    pub(super) hasher: RandomState,
    /// The first key repeated in a section already read: (its line's offset, the problem).
    repeated_key: Option<(usize, String)>,
    /// Where each key of the section being read starts (an offset into the text).
    key_starts: Vec<usize>,
    /// The indentation of the option being read, while continuation lines may follow.
    option_indent: Option<usize>,
    blanks: usize,
}

impl<'t> Parser<'t> {
    pub(super) fn new(text: &'t str) -> Self {
        Self {
            text,
            sections: Vec::new(),
            entries: Vec::new(),
            made: Vec::new(),
            hasher: RandomState::new(),
            repeated_key: None,
            key_starts: Vec::new(),
            option_indent: None,
            blanks: 0,
        }
    }

    /// `inner`, a slice of the text, as a piece.
    fn text_piece(&self, inner: &str) -> Piece {
        let start = offset_in(self.text, inner);
        // The text is under 4 GiB (checked before reading).
        Piece::Text {
            start: start as u32,
            end: (start + inner.len()) as u32,
        }
    }

    fn piece(&self, piece: Piece) -> &str {
        piece_of(self.text, &self.made, piece)
    }

    /// Reads one line (`body`, a slice of the text without its line ending) that spans
    /// `start..end` of the text.
    pub(super) fn line(
        &mut self,
        body: &str,
        start: usize,
        end: usize,
    ) -> std::result::Result<(), String> {
        let stripped = py_strip(body);
        if stripped.starts_with('#') || stripped.starts_with(';') {
            return Ok(());
        }
        if stripped.is_empty() {
            // configparser keeps blank lines inside a value when an indented line follows.
            self.blanks += 1;
            return Ok(());
        }
        // configparser counts indentation in characters, not bytes.
        let indent = body.chars().take_while(|c| py_isspace(*c)).count();
        let blanks = std::mem::take(&mut self.blanks);
        if let Some(opt) = self.option_indent
            && indent > opt
            && !self.sections.is_empty()
        {
            self.continuation(stripped, blanks, end);
            return Ok(());
        }
        if let Some(name) = header(stripped) {
            self.end_section();
            let Piece::Text { start: a, end: b } = self.text_piece(name) else {
                unreachable!("a slice of the text is a text piece")
            };
            self.sections.push(Stored {
                name: (a, b),
                start: start as u32,
                content_end: end as u32,
                first_entry: self.entries.len() as u32,
                entries: 0,
            });
            self.option_indent = None;
            return Ok(());
        }
        self.option(stripped, start, end)?;
        self.option_indent = Some(indent);
        Ok(())
    }

    /// An indented line that continues the value of the option being read.
    fn continuation(&mut self, stripped: &str, blanks: usize, end: usize) {
        let Some(section) = self.sections.last_mut() else {
            return;
        };
        section.content_end = end as u32;
        if section.entries == 0 {
            return;
        }
        let Some(&Entry { value, .. }) = self.entries.last() else {
            return;
        };
        let i = match value {
            Piece::Made(i) => i as usize,
            Piece::Text { .. } => {
                self.made.push(self.piece(value).to_owned());
                self.made.len() - 1
            }
        };
        let joined = &mut self.made[i];
        joined.push_str(&"\n".repeat(blanks + 1));
        joined.push_str(stripped);
        if let Some(last) = self.entries.last_mut() {
            last.value = Piece::Made(i as u32);
        }
    }

    /// Checks the keys of the section just read for a repeat (the first one is kept).
    fn end_section(&mut self) {
        if self.repeated_key.is_some() {
            return;
        }
        let Some(section) = self.sections.last() else {
            return;
        };
        let first = section.first_entry as usize;
        let keys = &self.entries[first..first + section.entries as usize];
        let key_of = |i: usize| piece_of(self.text, &self.made, keys[i].key);
        if let Some(j) = repeated_key(keys.len(), key_of, &self.hasher) {
            let name = &self.text[section.name.0 as usize..section.name.1 as usize];
            let problem = format!("repeats key {} in [{name}]", key_of(j));
            self.repeated_key = Some((self.key_starts[j], problem));
        }
        self.key_starts.clear();
    }

    /// The sections' index, and the first repeat, in file order, of a section name or of a key
    /// within a section, among what was read so far.
    pub(super) fn repeat(
        &mut self,
        line_of: &impl Fn(usize) -> usize,
    ) -> (Index, Option<ParseError>) {
        self.end_section();
        let text = self.text;
        let sections = &self.sections;
        let name_of = |i: usize| &text[sections[i].name.0 as usize..sections[i].name.1 as usize];
        let (index, section) = Index::build(sections.len(), name_of, &self.hasher);
        let section = section.map(|i| {
            (
                sections[i].start as usize,
                format!("repeats section [{}]", name_of(i)),
            )
        });
        let first = match (section, self.repeated_key.clone()) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let repeat = first.map(|(offset, problem)| ParseError {
            line: line_of(offset),
            problem,
        });
        (index, repeat)
    }

    /// A `key = value` (or `key: value`) line of the current section, starting at `start`.
    fn option(
        &mut self,
        stripped: &str,
        start: usize,
        end: usize,
    ) -> std::result::Result<(), String> {
        if self.sections.is_empty() {
            return Err("has text before the first [section] header".into());
        }
        let Some(delim) = stripped.find(['=', ':']) else {
            return Err("is neither a [section], a key = value line nor a comment".into());
        };
        let written = py_strip(&stripped[..delim]);
        if written.is_empty() {
            return Err("has a value with no key name".into());
        }
        let key = if written
            .bytes()
            .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
        {
            let lower = written.to_lowercase();
            if lower == written {
                self.text_piece(written)
            } else {
                self.made.push(lower);
                Piece::Made((self.made.len() - 1) as u32)
            }
        } else {
            self.text_piece(written)
        };
        let value = self.text_piece(py_strip(&stripped[delim + 1..]));
        self.entries.push(Entry { key, value });
        self.key_starts.push(start);
        if let Some(section) = self.sections.last_mut() {
            section.entries += 1;
            section.content_end = end as u32;
        }
        Ok(())
    }
}

/// configparser's `\[(?P<header>.+)\]`, matched at the start of the stripped line (greedy).
fn header(stripped: &str) -> Option<&str> {
    let inner = stripped.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}
