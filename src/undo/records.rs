//! The records of an undo file as a change reads them: every record checked as [`Record`] reads
//! it, and kept as the file's text until something needs it whole. A file of thousands of other
//! jobs' records is read in one pass that keeps no string of theirs, and written back by copying
//! their text: only the records a change touches are parsed and written field by field.
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::format::{Record, refused};
use crate::error::Result;

/// The records of one file, in its order.
#[derive(Debug, Default)]
pub struct Records<'a> {
    /// The file as read.
    source: &'a [u8],
    entries: Vec<Entry<'a>>,
}

#[derive(Debug)]
enum Entry<'a> {
    /// A record as the file holds it (its text in `source`, checked), with what finds it.
    Kept {
        span: Range<usize>,
        head: Box<Kept<'a>>,
    },
    /// A record parsed whole: to change it, or new.
    Whole(Box<Record>),
}

/// What finds a kept record: the fields a change selects records by.
#[derive(Debug)]
struct Kept<'a> {
    id: Str<'a>,
    job: Option<Str<'a>>,
    trussrc: Str<'a>,
    remote: Str<'a>,
    staged: bool,
}

/// What finds a record, kept or whole.
#[derive(Clone, Copy, Debug)]
pub struct Head<'r> {
    pub id: &'r str,
    pub job: Option<&'r str>,
    pub trussrc: &'r Path,
    pub remote: &'r str,
    pub staged: bool,
}

impl<'a> Records<'a> {
    /// The records in `bytes`, read from `file`: refused whole (exit 5) when any record is not
    /// one [`Record`] reads, with the words a whole read would say.
    pub fn parse(file: &Path, bytes: &'a [u8]) -> Result<Self> {
        match split(bytes) {
            Some(entries) => Ok(Self {
                source: bytes,
                entries,
            }),
            // What is not a plain array of records is read whole: the refusal says where.
            None => serde_json::from_slice::<Vec<Record>>(bytes)
                .map(Self::from)
                .map_err(|e| refused(file, &format!("it is not a truss-ci undo record ({e})"))),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What finds record `i`.
    pub fn head(&self, i: usize) -> Head<'_> {
        match &self.entries[i] {
            Entry::Kept { head, .. } => Head {
                id: &head.id.0,
                job: head.job.as_ref().map(|j| &*j.0),
                trussrc: Path::new(&*head.trussrc.0),
                remote: &head.remote.0,
                staged: head.staged,
            },
            Entry::Whole(r) => Head {
                id: &r.id,
                job: r.job.as_deref(),
                trussrc: &r.trussrc,
                remote: &r.remote,
                staged: r.staged,
            },
        }
    }

    /// The indices of the records `wanted` picks, in the file's order.
    pub fn find(&self, wanted: impl Fn(&Head<'_>) -> bool) -> Vec<usize> {
        (0..self.len()).filter(|&i| wanted(&self.head(i))).collect()
    }

    /// Record `i`, parsed whole (once).
    pub fn get_mut(&mut self, i: usize) -> Result<&mut Record> {
        let entry = &mut self.entries[i];
        if let Entry::Kept { span, .. } = entry {
            *entry = Entry::Whole(Box::new(whole(&self.source[span.clone()])?));
        }
        match entry {
            Entry::Whole(record) => Ok(record),
            Entry::Kept { .. } => unreachable!("parsed above"),
        }
    }

    /// Takes record `i` out, whole.
    pub fn remove(&mut self, i: usize) -> Result<Record> {
        match self.entries.remove(i) {
            Entry::Whole(record) => Ok(*record),
            Entry::Kept { span, .. } => whole(&self.source[span]),
        }
    }

    pub fn push(&mut self, record: Record) {
        self.entries.push(Entry::Whole(Box::new(record)));
    }

    /// Keeps the records `keep` picks.
    pub fn retain(&mut self, keep: impl Fn(&Head<'_>) -> bool) {
        let picked: Vec<bool> = (0..self.len()).map(|i| keep(&self.head(i))).collect();
        let mut picked = picked.into_iter();
        self.entries.retain(|_| picked.next().unwrap_or(true));
    }

    /// The records parsed whole so far, with their indices, from record `from` on.
    pub fn parsed_from(&mut self, from: usize) -> impl Iterator<Item = (usize, &mut Record)> {
        self.entries
            .iter_mut()
            .enumerate()
            .skip(from)
            .filter_map(|(i, e)| match e {
                Entry::Whole(record) => Some((i, &mut **record)),
                Entry::Kept { .. } => None,
            })
    }

    /// Every record, whole.
    pub fn into_vec(self) -> Result<Vec<Record>> {
        let source = self.source;
        self.entries
            .into_iter()
            .map(|e| match e {
                Entry::Whole(record) => Ok(*record),
                Entry::Kept { span, .. } => whole(&source[span]),
            })
            .collect()
    }

    /// A JSON array of the records, one record per line: a kept record is its text as read,
    /// and a run of them kept as the file holds them is one piece of it.
    pub(super) fn encode(&self) -> serde_json::Result<Encoded<'_>> {
        let mut pieces = vec![Piece::Own(b"[".to_vec())];
        for (i, entry) in self.entries.iter().enumerate() {
            let separator: &[u8] = if i == 0 { b"\n" } else { b",\n" };
            match entry {
                Entry::Kept { span, .. } => match pieces.last_mut() {
                    Some(Piece::Read(run))
                        if self.source.get(run.end..span.start) == Some(separator) =>
                    {
                        run.end = span.end;
                    }
                    _ => {
                        own(&mut pieces).extend_from_slice(separator);
                        pieces.push(Piece::Read(span.clone()));
                    }
                },
                Entry::Whole(record) => {
                    let json = own(&mut pieces);
                    json.extend_from_slice(separator);
                    serde_json::to_writer(json, record)?;
                }
            }
        }
        own(&mut pieces).extend_from_slice(b"\n]\n");
        let mut encoded = Encoded {
            source: self.source,
            pieces,
        };
        // A file of many pieces (another layout than this one writes) is written as one.
        if encoded.pieces.len() > MAX_PIECES {
            encoded.pieces = vec![Piece::Own(encoded.to_vec())];
        }
        Ok(encoded)
    }
}

/// The most pieces an encoded file is written in.
const MAX_PIECES: usize = 16;

/// A record file's text, in pieces: of the file as read, or encoded.
pub(super) struct Encoded<'r> {
    source: &'r [u8],
    pieces: Vec<Piece>,
}

enum Piece {
    Read(Range<usize>),
    Own(Vec<u8>),
}

/// The last piece, made one to encode into when it is not.
fn own(pieces: &mut Vec<Piece>) -> &mut Vec<u8> {
    if !matches!(pieces.last(), Some(Piece::Own(_))) {
        pieces.push(Piece::Own(Vec::new()));
    }
    match pieces.last_mut() {
        Some(Piece::Own(json)) => json,
        _ => unreachable!("pushed above"),
    }
}

impl Encoded<'_> {
    /// The pieces, in order.
    pub(super) fn parts(&self) -> Vec<&[u8]> {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Read(span) => &self.source[span.clone()],
                Piece::Own(json) => json.as_slice(),
            })
            .collect()
    }

    pub(super) fn len(&self) -> usize {
        self.parts().iter().map(|p| p.len()).sum()
    }

    /// The whole text.
    pub(super) fn to_vec(&self) -> Vec<u8> {
        self.parts().concat()
    }
}

impl From<Vec<Record>> for Records<'_> {
    fn from(records: Vec<Record>) -> Self {
        Self {
            source: &[],
            entries: records
                .into_iter()
                .map(|r| Entry::Whole(Box::new(r)))
                .collect(),
        }
    }
}

/// A kept record, parsed whole: it was checked as [`Record`] reads it, so this is not refused.
fn whole(text: &[u8]) -> Result<Record> {
    serde_json::from_slice(text).map_err(|e| {
        crate::error::Error::unexpected(format!("an undo record checked could not be read: {e}"))
    })
}

/// The records of a JSON array, each checked ([`Check`]) and kept as its text; `None` for
/// anything else, or a record [`Check`] refuses (read whole then, for the refusal's words).
fn split(bytes: &[u8]) -> Option<Vec<Entry<'_>>> {
    // UTF-8 throughout, checked once: then no string is checked again on its own.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'[') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    let mut entries = Vec::new();
    if bytes.get(at) == Some(&b']') {
        return (skip_space(bytes, at + 1) == bytes.len()).then_some(entries);
    }
    loop {
        let mut stream = serde_json::Deserializer::from_str(&text[at..]).into_iter::<Check<'_>>();
        let check = stream.next()?.ok()?;
        let end = at + stream.byte_offset();
        entries.push(Entry::Kept {
            span: at..end,
            head: Box::new(check.head()),
        });
        at = skip_space(bytes, end);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b']') => {
                return (skip_space(bytes, at + 1) == bytes.len()).then_some(entries);
            }
            _ => return None,
        }
    }
}

/// The first index from `at` on that is not JSON whitespace.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
    {
        at += 1;
    }
    at
}

/// A record as [`Record`] reads it: the same fields, of the same types, as strict (unknown
/// fields refused, the same ones required), keeping only what finds it. The unit tests hold the
/// two to the same verdict on every field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Check<'a> {
    #[serde(borrow)]
    id: Str<'a>,
    #[serde(borrow)]
    job: Option<Str<'a>>,
    #[serde(borrow)]
    trussrc: Str<'a>,
    #[serde(borrow)]
    remote: Str<'a>,
    #[serde(rename = "created_file")]
    _created_file: bool,
    #[serde(rename = "previous_section")]
    _previous_section: Option<Text>,
    #[serde(rename = "before")]
    _before: Text,
    #[serde(rename = "after")]
    _after: Text,
    #[serde(rename = "original_sha256")]
    _original_sha256: Option<Text>,
    #[serde(rename = "written_sha256")]
    _written_sha256: Text,
    #[serde(rename = "keyring")]
    _keyring: bool,
    #[serde(rename = "previous_keyring")]
    _previous_keyring: Option<Text>,
    #[serde(default, rename = "written_keyring_sha256")]
    _written_keyring_sha256: Option<Text>,
    #[serde(rename = "exported")]
    _exported: Seq<Text>,
    #[serde(default)]
    staged: bool,
    #[serde(default, rename = "job_keys")]
    _job_keys: Seq<CheckJobKey>,
    #[serde(default, rename = "baseten")]
    _baseten: Seq<Text>,
}

impl<'a> Check<'a> {
    fn head(self) -> Kept<'a> {
        Kept {
            id: self.id,
            job: self.job,
            trussrc: self.trussrc,
            remote: self.remote,
            staged: self.staged,
        }
    }
}

/// A job key as [`super::JobKey`] reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckJobKey {
    #[serde(rename = "name")]
    _name: Text,
    #[serde(rename = "prefix")]
    _prefix: Option<Text>,
    #[serde(rename = "api_url")]
    _api_url: Text,
}

/// A string, borrowed from the file where it has no escapes.
#[derive(Debug)]
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Borrowing<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Borrowing<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(Borrowing(std::marker::PhantomData))
    }
}

/// A string, checked and not kept.
struct Text;

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Checking;
        impl Visitor<'_> for Checking {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
                Ok(Text)
            }
        }
        deserializer.deserialize_str(Checking)
    }
}

/// A sequence of `T`, each checked, none kept.
struct Seq<T>(std::marker::PhantomData<T>);

impl<T> Default for Seq<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Seq<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Checking<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Checking<T> {
            type Value = Seq<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<T>()?.is_some() {}
                Ok(Seq::default())
            }
        }
        deserializer.deserialize_seq(Checking(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests;
