//! The reader: a trussrc read as Python's configparser reads it (truss's own reader), with where
//! each section starts and ends, so that the splice can leave every other byte alone.
use std::hash::{BuildHasher, RandomState};
use std::path::Path;

use crate::error::{Error, Result};

/// Steps of the reader and the splice (a line read, a name or key looked up, a section compared),
/// counted in tests only, so that a test can hold them to a budget proportional to the input.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static LEFT: Cell<Option<u64>> = const { Cell::new(None) };
    }

    /// Allows `steps` more steps on this thread; one more panics (`None`: no limit).
    pub fn budget(steps: Option<u64>) {
        LEFT.with(|left| left.set(steps));
    }

    pub fn step() {
        LEFT.with(|left| {
            if let Some(n) = left.get() {
                assert!(
                    n > 0,
                    "the trussrc work budget is spent: a super-linear path"
                );
                left.set(Some(n - 1));
            }
        });
    }
}

/// One step of work (see [`work`]); nothing outside tests.
#[inline]
pub(crate) fn step() {
    #[cfg(test)]
    work::step();
}

/// Positions of named items (sections, or one section's keys) by name, hashed with a per-process
/// random key (`RandomState`'s SipHash, so that names cannot be crafted to collide) and sorted by
/// hash: built in one sequential pass and a sort once the items are read, so that a file of
/// 100,000 sections costs no random access per line; a lookup is a binary search.
#[derive(Debug, Default)]
struct Index {
    /// (hash, position), sorted.
    sorted: Vec<(u64, u32)>,
}

impl Index {
    /// Indexes `items`; also the position of the first item, in file order, whose name an earlier
    /// item has (what a reader going line by line would stop at).
    fn build<T>(
        items: &[T],
        name_of: impl Fn(&T) -> &str,
        hasher: &RandomState,
    ) -> (Self, Option<usize>) {
        // A trussrc is at most 1 MiB: it never holds 2^32 items.
        let mut sorted: Vec<(u64, u32)> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                step();
                let pos = u32::try_from(i).unwrap_or(u32::MAX);
                (hasher.hash_one(name_of(item)), pos)
            })
            .collect();
        sorted.sort_unstable();
        let mut repeat: Option<usize> = None;
        let mut run = 0;
        while run < sorted.len() {
            let hash = sorted[run].0;
            let mut end = run + 1;
            while sorted.get(end).is_some_and(|&(h, _)| h == hash) {
                end += 1;
            }
            // A run shares a hash (one name, short of a 64-bit collision), in file order.
            for j in run + 1..end {
                step();
                let later = sorted[j].1 as usize;
                let name = name_of(&items[later]);
                if sorted[run..j]
                    .iter()
                    .any(|&(_, i)| name_of(&items[i as usize]) == name)
                {
                    repeat = Some(repeat.map_or(later, |r| r.min(later)));
                    break;
                }
            }
            run = end;
        }
        (Self { sorted }, repeat)
    }

    fn find<T>(
        &self,
        items: &[T],
        name_of: impl Fn(&T) -> &str,
        name: &str,
        hasher: &RandomState,
    ) -> Option<usize> {
        let hash = hasher.hash_one(name);
        let start = self.sorted.partition_point(|&(h, _)| h < hash);
        self.sorted[start..]
            .iter()
            .take_while(|&&(h, _)| h == hash)
            .map(|&(_, i)| i as usize)
            .find(|&i| name_of(&items[i]) == name)
    }
}

/// The first key of `keys`, in file order, that an earlier one repeats.
fn repeated_key(keys: &[(String, String)], hasher: &RandomState) -> Option<usize> {
    if keys.len() <= 16 {
        return (1..keys.len()).find(|&j| {
            step();
            keys[..j].iter().any(|(k, _)| *k == keys[j].0)
        });
    }
    Index::build(keys, |(k, _)| k.as_str(), hasher).1
}

/// Python's `str.isspace()`, which configparser's `strip()` and `\\S` follow: Unicode White_Space
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

/// A parsed trussrc: the exact text and where its sections are.
#[derive(Debug, Default)]
pub struct Document {
    pub text: String,
    /// In file order; read-only (built by [`Document::parse`] together with the index).
    pub sections: Vec<Section>,
    /// Sections by name: a lookup costs the same with 100,000 sections.
    index: Index,
    hasher: RandomState,
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
        let mut parser = Parser::default();
        let mut offset = 0;
        let line_of = |offset: usize| text[..offset].matches('\n').count() + 1;
        for (line_index, line) in text.split_inclusive('\n').enumerate() {
            step();
            let start = offset;
            offset += line.len();
            if let Err(problem) = parser.line(line.trim_end_matches(['\n', '\r']), start, offset) {
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
        Ok(Self {
            text,
            sections: parser.sections,
            index,
            hasher: parser.hasher,
        })
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        let i = self
            .index
            .find(&self.sections, |s| s.name.as_str(), name, &self.hasher)?;
        Some(&self.sections[i])
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

/// The reader's state between lines, as configparser keeps it.
#[derive(Default)]
struct Parser {
    sections: Vec<Section>,
    hasher: RandomState,
    /// The first key repeated in a section already read: (its line's offset, the problem).
    repeated_key: Option<(usize, String)>,
    /// Where each key of the section being read starts (an offset into the text).
    key_starts: Vec<usize>,
    /// The indentation of the option being read, while continuation lines may follow.
    option_indent: Option<usize>,
    blanks: usize,
}

impl Parser {
    /// Reads one line (`body`, without its line ending) that spans `start..end` of the text.
    fn line(&mut self, body: &str, start: usize, end: usize) -> std::result::Result<(), String> {
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
        if let (Some(section), Some(opt)) = (self.sections.last_mut(), self.option_indent)
            && indent > opt
        {
            section.content_end = end;
            if let Some(last) = section.entries.last_mut() {
                last.1.push_str(&"\n".repeat(blanks + 1));
                last.1.push_str(stripped);
            }
            return Ok(());
        }
        if let Some(name) = header(stripped) {
            self.end_section();
            self.sections.push(Section {
                name: name.to_owned(),
                start,
                content_end: end,
                entries: Vec::new(),
            });
            self.option_indent = None;
            return Ok(());
        }
        self.option(stripped, start, end)?;
        self.option_indent = Some(indent);
        Ok(())
    }

    /// Checks the keys of the section just read for a repeat (the first one is kept).
    fn end_section(&mut self) {
        if self.repeated_key.is_some() {
            return;
        }
        let Some(section) = self.sections.last() else {
            return;
        };
        if let Some(j) = repeated_key(&section.entries, &self.hasher) {
            let problem = format!("repeats key {} in [{}]", section.entries[j].0, section.name);
            self.repeated_key = Some((self.key_starts[j], problem));
        }
        self.key_starts.clear();
    }

    /// The sections' index, and the first repeat, in file order, of a section name or of a key
    /// within a section, among what was read so far.
    fn repeat(&mut self, line_of: &impl Fn(usize) -> usize) -> (Index, Option<ParseError>) {
        self.end_section();
        let (index, section) = Index::build(&self.sections, |s| s.name.as_str(), &self.hasher);
        let section = section.map(|i| {
            let s = &self.sections[i];
            (s.start, format!("repeats section [{}]", s.name))
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
        let Some(section) = self.sections.last_mut() else {
            return Err("has text before the first [section] header".into());
        };
        let Some(delim) = stripped.find(['=', ':']) else {
            return Err("is neither a [section], a key = value line nor a comment".into());
        };
        let key = py_strip(&stripped[..delim]).to_lowercase();
        if key.is_empty() {
            return Err("has a value with no key name".into());
        }
        let value = py_strip(&stripped[delim + 1..]).to_owned();
        section.entries.push((key, value));
        self.key_starts.push(start);
        section.content_end = end;
        Ok(())
    }
}

/// configparser's `\[(?P<header>.+)\]`, matched at the start of the stripped line (greedy).
fn header(stripped: &str) -> Option<&str> {
    let inner = stripped.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}
