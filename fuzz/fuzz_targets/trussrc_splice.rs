//! The trussrc splice: for any file the reader accepts and any usable remote and key, either the
//! edit is refused because another section would read differently, or every other byte survives,
//! the result reads back with the new section, and the undo restores the file; removing every
//! section in one pass leaves what removing them one by one leaves.
//! Input: `NAME|KEY\n` followed by the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truss_ci::trussrc::check_remote_name;
use truss_ci::trussrc::{Document, api_key_section};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (head, text) = input.split_once('\n').unwrap_or((input, ""));
    let (name, key) = head.split_once('|').unwrap_or((head, "k"));
    if check_remote_name(name).is_err()
        || key.is_empty()
        || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return;
    }
    let Ok(doc) = Document::parse(text) else {
        return;
    };
    // Removing every section at once (`logout --all`) is removing them one by one, reading the
    // file again each time, unless a removal lets an indented header fold into the one before.
    let names: Vec<&str> = doc.sections().map(|s| s.name).collect();
    let mut one_by_one = Some(text.to_owned());
    for n in &names {
        one_by_one = one_by_one.and_then(|t| Document::parse(&t).ok()?.without_section(n));
    }
    if let Some(sequential) = one_by_one {
        assert_eq!(doc.without_sections(&names), sequential);
    }
    // The checks that settle an edit without reading it whole say what the whole read says: a
    // removal of any one section, and the splice below.
    for s in doc.sections() {
        let removed = doc.without_sections(&[s.name]);
        let start = s.start.min(removed.len());
        let whole = doc.check_others_unchanged(&removed, &[s.name]).is_ok();
        assert_eq!(doc.check_edit(&removed, (start, start), s.name).is_ok(), whole);
    }
    let spliced = doc.with_section(
        name,
        &api_key_section(name, "https://app.baseten.co", Some(key)),
    );
    // An edit that would change how another section reads is refused (that is checked by reading
    // it back); an accepted one must keep every property below.
    let whole = doc.check_others_unchanged(&spliced.text, &[name]).is_ok();
    assert_eq!(doc.check_splice(&spliced, name).is_ok(), whole);
    if !whole {
        return;
    }
    let after = Document::parse(&spliced.text).expect("the spliced file reads back");
    match doc.section(name) {
        None => assert!(spliced.text.starts_with(text)),
        Some(s) => {
            assert!(spliced.text.starts_with(&text[..s.start]));
            assert!(spliced.text.ends_with(&text[s.content_end..]));
        }
    }
    for s in doc.sections().filter(|s| s.name != name) {
        let trim = |t: Option<&str>| t.map(|t| t.trim_end_matches(['\r', '\n']).to_owned());
        assert_eq!(
            trim(after.section_text(s.name)),
            trim(doc.section_text(s.name))
        );
    }
    assert_eq!(after.value(name, "api_key").as_deref(), Some(key));
    let undone = after.unsplice(
        name,
        doc.section_text(name),
        &spliced.before,
        &spliced.after,
    );
    assert_eq!(undone.as_deref(), Some(text));
});
