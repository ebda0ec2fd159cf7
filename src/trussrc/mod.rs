//! The trussrc: the configparser-compatible reader ([`document`]), the splice of one section
//! ([`splice`]), and the locked read-modify-write that puts it on disk (through
//! [`crate::atomic_file`]).
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::atomic_file;
use crate::error::{Error, Kind, Result};

mod document;
mod splice;

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
        atomic_file::create_private_dir(&atomic_file::parent_dir(path))?;
        let lock = atomic_file::lock(path, wait)?;
        atomic_file::sweep(path);
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
        fits(&self.path, text.len())?;
        atomic_file::write(&self.path, text.as_bytes())
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
pub fn remove(path: &Path, names: &[String], wait: Duration, read: Document) -> Result<()> {
    let locked = Locked::open_known(path, wait, read)?;
    let changed: Vec<&str> = names.iter().map(String::as_str).collect();
    // One pass, whatever the number of sections (`logout --all`).
    let text = locked.doc.without_sections(&changed);
    let text = match changed.as_slice() {
        // One section removed: checked where the text closes over it.
        [name] if let Some(s) = locked.doc.section(name) => {
            let start = s.start.min(text.len());
            locked.check_edit(text, (start, start), name)?.text
        }
        _ => {
            locked.check(&text, &changed)?;
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
mod tests {
    use proptest::prelude::*;

    use super::arbitrary::{Line, render};
    use super::*;

    #[test]
    fn remote_names_truss_cannot_use_are_refused() {
        for bad in [
            "",
            "DEFAULT",
            "<environment>",
            "a[b",
            "a]b",
            "a b",
            "a\tb",
            "a\nb",
            "a\u{0}b",
            &"x".repeat(65),
        ] {
            let err = check_remote_name(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
        for good in [
            "baseten",
            "staging-2",
            "my.remote_x",
            "default",
            &"x".repeat(64),
        ] {
            check_remote_name(good).unwrap();
        }
    }

    fn line() -> impl Strategy<Value = Line> {
        prop_oneof![
            "[a-c]{1,2}".prop_map(Line::Section),
            "[a-c]{1,2}".prop_map(|n| Line::Indented(format!("[{n}]"))),
            ("[a-e_]{1,3}", "[a-z]{0,4}").prop_map(|(k, v)| Line::Indented(format!("{k} = {v}"))),
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
            // The check without the whole read says what the whole read says.
            let whole = doc.check_others_unchanged(&spliced.text, &[&name]);
            prop_assert_eq!(doc.check_splice(&spliced, &name).is_ok(), whole.is_ok());
            if whole.is_err() {
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
            for s in doc.sections().filter(|s| s.name != name) {
                let trim = |t: Option<&str>| t.map(|t| t.trim_end_matches(['\r', '\n']).to_owned());
                prop_assert_eq!(trim(after.section_text(s.name)), trim(doc.section_text(s.name)));
            }
            let stored = after.value(&name, "api_key");
            prop_assert_eq!(stored.as_deref(), Some(key.as_str()));
            let mine = after.section(&name).expect("the section is there");
            prop_assert_eq!(mine.entries().len(), 4);
            let mut expected: Vec<&str> = doc.sections().map(|s| s.name).collect();
            if doc.section(&name).is_none() {
                expected.push(&name);
            }
            let names: Vec<&str> = after.sections().map(|s| s.name).collect();
            prop_assert_eq!(names, expected);
            let undone = after.unsplice(&name, doc.section_text(&name), &spliced.before, &spliced.after);
            prop_assert_eq!(undone.as_deref(), Some(text.as_str()));
            // The undo's and a removal's checks without the whole read say what the whole read says.
            let (undone, block) = after
                .unsplice_at(&name, doc.section_text(&name), &spliced.before, &spliced.after)
                .unwrap();
            let whole = after.check_others_unchanged(&undone, &[&name]).is_ok();
            prop_assert_eq!(after.check_edit(&undone, block, &name).is_ok(), whole);
            for s in doc.sections() {
                let removed = doc.without_sections(&[s.name]);
                let start = s.start.min(removed.len());
                let whole = doc.check_others_unchanged(&removed, &[s.name]).is_ok();
                prop_assert_eq!(doc.check_edit(&removed, (start, start), s.name).is_ok(), whole);
            }
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
        let crlf = with_line_ending(&block, "\r\n");
        for (before, after) in [
            ("", with_line_ending(&format!("{block}\n"), NATIVE_EOL)),
            ("[a]\nk = v", format!("[a]\nk = v\n\n{block}\n")),
            ("[a]\nk = v\n", format!("[a]\nk = v\n\n{block}\n")),
            ("[a]\nk = v\n\n", format!("[a]\nk = v\n\n{block}\n")),
            // A CRLF file gets a CRLF section and separators.
            (
                "[a]\r\nk = v\r\n",
                format!("[a]\r\nk = v\r\n\r\n{crlf}\r\n"),
            ),
            ("[a]\r\nk = v", format!("[a]\r\nk = v\r\n\r\n{crlf}\r\n")),
            (
                "[a]\r\nk = v\r\n\r\n",
                format!("[a]\r\nk = v\r\n\r\n{crlf}\r\n"),
            ),
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
            format!(
                "{prefix}{}\r\n# trailing comment\r\n[last]\r\nk=v",
                with_line_ending(&block, "\r\n")
            )
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
        assert!(doc.check_splice(&spliced, "baseten").is_err());
        let err = checked(&doc, Path::new("rc"), &spliced.text, &["baseten"]).unwrap_err();
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
        assert!(checked(&doc, Path::new("rc"), &text, &["gone"]).is_err());
        let start = doc.section("gone").unwrap().start;
        assert!(doc.check_edit(&text, (start, start), "gone").is_err());
        // So can an undo that puts back a section, or none, before an indented header another
        // step wrote after the login's.
        let after = Document::parse("[x]\nk = v\n[b]\n  [y]\n").unwrap();
        for previous in [None, Some("[b]\nk = w\n")] {
            let (undone, block) = after.unsplice_at("b", previous, "", "").unwrap();
            assert!(after.check_others_unchanged(&undone, &["b"]).is_err());
            assert!(
                after.check_edit(&undone, block, "b").is_err(),
                "{previous:?}"
            );
        }
        // A block that is not the section's own lines is read whole, and an edit that does not
        // keep the text around the block is never taken for one that does.
        let doc = Document::parse("[x]\nk = v\n[b]\nq = 1\n[z]\n").unwrap();
        let joined = "[x]\nk = v\nq = 2\n[z]\n";
        assert!(doc.check_edit(joined, (10, 16), "b").is_err());
        assert!(doc.check_edit("[z]\n", (0, 0), "b").is_err());
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
