//! The trussrc: the configparser-compatible reader ([`document`]), the splice of one section
//! ([`splice`]), and the locked read-modify-write that puts it on disk (through
//! [`crate::atomic_file`]).
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::atomic_file;
use crate::error::{Error, Kind, Result};

mod document;
mod index;
mod splice;
mod work;

pub use document::{Document, ParseError, Section, py_isspace, py_strip};
pub use splice::{
    NATIVE_EOL, Spliced, api_key_section, arbitrary, escape_value, line_ending, with_line_ending,
};

/// `new_text`, if it leaves every section but `changed` reading as `doc` reads it; else a refusal.
fn checked(doc: &Document, path: &Path, new_text: &str, changed: &[&str]) -> Result<Document> {
    doc.check_others_unchanged(new_text, changed)
        .map_err(|why| refusal(path, &why))
}

fn refusal(path: &Path, why: &str) -> Error {
    Error::new(
        Kind::Local,
        format!(
            "editing {} here would change another section: {why}; it was left as it was",
            path.display()
        ),
    )
    .with_hint("an indented line next to the section is read by configparser as part of a value: remove its indentation")
}

/// Reads the trussrc at `path` for display; a missing file is an empty document.
pub fn load(path: &Path) -> Result<Document> {
    match read_regular(path)? {
        Some(text) => parse_for(path, text),
        None => Ok(Document::default()),
    }
}

fn parse_for(path: &Path, text: impl Into<String>) -> Result<Document> {
    Document::parse_owned(text.into()).map_err(|e| {
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

/// A trussrc of `len` bytes may be written: every read accepts it. Else exit 5, nothing written.
pub fn fits(path: &Path, len: usize) -> Result<()> {
    if u64::try_from(len).is_ok_and(|len| len <= MAX_SIZE) {
        return Ok(());
    }
    Err(Error::new(
        Kind::Local,
        format!(
            "this login would make {} {len} bytes, over the {MAX_SIZE} that truss-ci reads back; nothing was written",
            path.display()
        ),
    )
    .with_hint("remove sections you no longer use (`truss-ci logout --remote NAME`), or point --trussrc at a file of its own"))
}

/// Reads the file if it exists, through the one checked open: refuses a symbolic link, anything
/// that is not a regular file (a FIFO would block), a file far larger than a trussrc, and one
/// that another user owns or others may write (its `remote_url` decides where the key is sent).
fn read_regular(path: &Path) -> Result<Option<String>> {
    use atomic_file::Refusal;
    let refused =
        |message: String, hint: &str| Err(Error::new(Kind::Local, message).with_hint(hint));
    let bytes = match atomic_file::read_checked(path, MAX_SIZE, atomic_file::Owner::Me) {
        Ok(bytes) => bytes,
        Err(Refusal::Missing) => return Ok(None),
        Err(Refusal::Symlink) => {
            return refused(
                format!(
                    "{} is a symbolic link; truss-ci does not read or write through links",
                    path.display()
                ),
                "point --trussrc or USER_TRUSSRC_PATH at the real file",
            );
        }
        Err(Refusal::NotRegular) => {
            return refused(
                format!("{} is not a regular file", path.display()),
                "move it aside or choose another path with --trussrc",
            );
        }
        Err(Refusal::TooLarge { len, .. }) => {
            return refused(
                format!(
                    "{} is {len} bytes, far larger than a trussrc (at most {MAX_SIZE}); it was left as it was",
                    path.display()
                ),
                "check that --trussrc or USER_TRUSSRC_PATH names the right file",
            );
        }
        Err(why @ (Refusal::ForeignOwner(_) | Refusal::OthersMayWrite(_))) => {
            return refused(
                format!(
                    "{}: {why}, so its settings could send the key elsewhere; nothing was sent or written",
                    path.display()
                ),
                "make it yours and private (chown to this user, chmod go-w), or point --trussrc or USER_TRUSSRC_PATH at a file of your own",
            );
        }
        Err(Refusal::Io(e)) => return Err(Error::local("read", path, &e)),
    };
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

/// Writes `text` (already checked) beside the trussrc at `path` and fsyncs it, for the holder of
/// its lock to rename over it ([`atomic_file::Staged::commit`]); never more than [`MAX_SIZE`].
pub fn stage(path: &Path, text: &str) -> Result<atomic_file::Staged> {
    fits(path, text.len())?;
    atomic_file::stage(path, &[text.as_bytes()])
}

/// The trussrc, locked for one read-modify-write: other truss-ci processes wait (boundedly) until
/// it is dropped. Stale temporaries are swept when it is taken.
pub struct Locked {
    pub path: PathBuf,
    /// The text as it was when locked; `None` when the file did not exist.
    pub existing: Option<String>,
    pub doc: Document,
    /// `doc` is not yet the read of `existing` (see [`Locked::refresh`]).
    stale: bool,
    _lock: atomic_file::Lock,
}

/// A text checked for writing, and its read when the check needed one.
#[derive(Debug)]
pub struct Checked {
    pub text: String,
    pub read: Option<Document>,
}

impl Locked {
    pub fn open(path: &Path, wait: Duration) -> Result<Self> {
        Self::open_known(path, wait, Document::default())
    }

    /// [`Locked::open`], given the document as it was read before the lock: when the file holds
    /// exactly its text still, it is not read twice.
    pub fn open_known(path: &Path, wait: Duration, known: Document) -> Result<Self> {
        Self::open_sweeping(path, wait, known, (None, &[]))
    }

    /// [`Locked::open_known`], sweeping the stale temporaries of `beside` too (a file of the
    /// trussrc's directory that its lock guards): one read of the directory for both. The
    /// temporaries in `keep` are the caller's own, staged before the lock, and are left.
    pub fn open_sweeping(
        path: &Path,
        wait: Duration,
        known: Document,
        (beside, keep): (Option<&Path>, &[&Path]),
    ) -> Result<Self> {
        atomic_file::create_private_dir(&atomic_file::parent_dir(path))?;
        let lock = atomic_file::lock(path, wait)?;
        match beside {
            Some(beside) => atomic_file::sweep_but(&[path, beside], keep),
            None => atomic_file::sweep_but(&[path], keep),
        }
        let existing = read_regular(path)?;
        let doc = match &existing {
            Some(text) if !text.is_empty() && *text == known.text => known,
            Some(text) => parse_for(path, text)?,
            None => Document::default(),
        };
        Ok(Self {
            path: path.to_owned(),
            existing,
            doc,
            stale: false,
            _lock: lock,
        })
    }

    /// Checks that `new_text` reads every section but `changed` as the locked text does; the
    /// refusal is an error (exit 5) with nothing written.
    pub fn check(&self, new_text: &str, changed: &[&str]) -> Result<Document> {
        checked(&self.doc, &self.path, new_text, changed)
    }

    /// [`Locked::check`] for an edit of section `name` ([`Document::check_edit`]).
    pub fn check_edit(&self, text: String, block: (usize, usize), name: &str) -> Result<Checked> {
        match self.doc.check_edit(&text, block, name) {
            Ok(read) => Ok(Checked { text, read }),
            Err(why) => Err(refusal(&self.path, &why)),
        }
    }

    /// [`Locked::check`] for a splice of section `name` ([`Document::check_splice`]).
    pub fn check_splice(&self, spliced: &Spliced, name: &str) -> Result<()> {
        self.doc
            .check_splice(spliced, name)
            .map_err(|why| refusal(&self.path, &why))
    }

    /// Atomically replaces the file with `text` (already checked); never with more than
    /// [`MAX_SIZE`], which no read would accept.
    pub fn write(&self, text: &str) -> Result<()> {
        self.write_as(text, atomic_file::Durable::Named)
    }

    /// [`Locked::write`], made as `durable` as that says: a login's write of the section is
    /// [`atomic_file::Durable::Bytes`], its undo record already on disk.
    pub fn write_as(&self, text: &str, durable: atomic_file::Durable) -> Result<()> {
        stage(&self.path, text)?.commit(durable)
    }

    /// Replaces the file with the checked text, or removes it (`None`): the new state, still
    /// under the lock. The new text is read only when [`Locked::refresh`] asks for it.
    pub fn set(&mut self, checked: Option<Checked>) -> Result<()> {
        match &checked {
            Some(c) => self.write(&c.text)?,
            None => atomic_file::remove(&self.path)?,
        }
        match checked {
            Some(Checked { text, read }) => {
                self.stale = read.is_none();
                self.doc = read.unwrap_or_default();
                self.existing = Some(text);
            }
            None => {
                self.stale = false;
                self.doc = Document::default();
                self.existing = None;
            }
        }
        Ok(())
    }

    /// Reads the text written by [`Locked::set`] when it was not read yet: before `doc` is used
    /// again.
    pub fn refresh(&mut self) -> Result<()> {
        if std::mem::take(&mut self.stale)
            && let Some(text) = &self.existing
        {
            self.doc = parse_for(&self.path, text)?;
        }
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

/// Removes the sections `names` under the trussrc's lock, so concurrent edits of other sections
/// all land: the new text is written only if every other section still reads as it did.
pub fn remove(path: &Path, names: &[&str], wait: Duration, read: Document) -> Result<()> {
    let locked = Locked::open_known(path, wait, read)?;
    // One pass, whatever the number of sections (`logout --all`).
    let text = locked.doc.without_sections(names);
    let text = match names {
        // One section removed: checked where the text closes over it.
        [name] if let Some(s) = locked.doc.section(name) => {
            let start = s.start.min(text.len());
            locked.check_edit(text, (start, start), name)?.text
        }
        _ => {
            locked.check(&text, names)?;
            text
        }
    };
    locked.write(&text)
}

/// A remote name longer than this is refused.
const MAX_REMOTE_NAME: usize = 64;

/// Refuses remote names truss cannot use as a trussrc section.
pub fn check_remote_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name == "DEFAULT" {
        Some("is reserved: [DEFAULT] holds values every section inherits")
    } else if name == "<environment>" {
        Some("is reserved by truss for the remote defined by BASETEN_TRUSS_AUTH_* variables")
    } else if name.contains(['[', ']']) {
        Some("contains a bracket, which would break the section header")
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or a control character")
    } else if name.chars().count() > MAX_REMOTE_NAME {
        Some("is longer than 64 characters")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(Error::usage(format!(
            "remote name {:?} {p}",
            crate::error::truncate_for_message(name)
        ))
        .with_hint("pass --remote NAME with letters, digits, '-', '_' or '.'")),
    }
}

#[cfg(test)]
mod tests;
