//! Unit tests of the splice: line endings, lookups, removals, and work in proportion to bytes.

use proptest::prelude::*;

use super::arbitrary::{Line, render};
use super::*;
use crate::trussrc::MAX_SIZE;
use crate::trussrc::work;

#[test]
fn a_section_ends_its_lines_as_the_file_does_or_as_truss_does_here() {
    assert_eq!(
        line_ending("[a]\r\nk = v\n"),
        "\r\n",
        "the first line decides"
    );
    assert_eq!(line_ending("[a]\nk = v\r\n"), "\n");
    assert_eq!(line_ending(""), NATIVE_EOL);
    assert_eq!(line_ending("[a]"), NATIVE_EOL);
    let block = api_key_section("b", "https://x", Some("K"));
    for (text, eol) in [
        ("[a]\r\nk = v", "\r\n"),
        ("[a]\r\nk = v\r\n", "\r\n"),
        ("[b]\r\nk = v\r\n\r\n[c]\r\n", "\r\n"),
        ("[a]\nk = v\n", "\n"),
        ("", NATIVE_EOL),
    ] {
        let doc = Document::parse(text).unwrap();
        let spliced = doc.with_section("b", &block);
        assert!(
            spliced.text.contains(&with_line_ending(&block, eol)),
            "{text:?}"
        );
        for added in [&spliced.before, &spliced.after] {
            assert_eq!(added.replace(eol, ""), "", "{text:?}: {added:?}");
        }
        let lone_lf = |t: &str| t.replace("\r\n", "").contains('\n');
        if eol == "\r\n" {
            assert!(!lone_lf(&spliced.text), "{:?}", spliced.text);
        }
    }
}

/// Repeats `unit(i)` for i = 0, 1, … after `head`, while the text stays within `MAX_SIZE`.
fn fill(head: &str, unit: impl Fn(usize) -> String) -> String {
    let cap = usize::try_from(MAX_SIZE).unwrap();
    let mut text = head.to_owned();
    for i in 0.. {
        let next = unit(i);
        if text.len() + next.len() > cap {
            break;
        }
        text.push_str(&next);
    }
    text
}

/// Files of the largest size login accepts, in the shapes that stress each part of the reader.
fn shapes() -> Vec<(&'static str, String)> {
    let big = usize::try_from(MAX_SIZE).unwrap() - 16;
    vec![
        ("empty sections", fill("", |i| format!("[s{i}]\n"))),
        ("empty sections, CRLF", fill("", |i| format!("[s{i}]\r\n"))),
        (
            "sections as truss writes them",
            fill("", |i| {
                format!(
                    "[r{i}]\nremote_provider = baseten\nremote_url = https://app.baseten.co\nauth_type = api_key\napi_key = K{i}\n\n"
                )
            }),
        ),
        (
            "one section, many keys",
            fill("[big]\n", |i| format!("k{i} = v\n")),
        ),
        (
            "long continuation value",
            fill("[s]\nk = v\n", |_| format!("  {}\n", "x".repeat(62))),
        ),
        (
            "deeply indented continuations",
            fill("[s]\nk = v\n", |_| format!("{}x\n", " ".repeat(4000))),
        ),
        (
            "comment lines",
            fill("[s]\nk = v\n", |i| format!("# note {i}\n")),
        ),
        (
            "blank lines inside a value",
            format!("[s]\nk = v\n{}  tail\n[t]\n", "\n".repeat(big - 32)),
        ),
        (
            "blank lines",
            format!("[s]\nk = v\n{}[t]\n", "\n".repeat(big - 32)),
        ),
        ("one long line", format!("[s]\nk = {}\n", "x".repeat(big))),
    ]
}

/// What login, status, logout and `logout --post` do with the file: read it, look a section
/// up, replace or append one and check the rest, undo that, remove one or all of them.
fn every_path(text: &str) {
    let doc = Document::parse(text).expect("the shape reads");
    let names: Vec<&str> = doc.sections().map(|s| s.name).collect();
    let middle = names[names.len() / 2];
    assert_eq!(doc.section(middle).map(|s| s.name), Some(middle));
    let previous = doc.section_text(middle).map(str::to_owned);
    for name in [middle, "new"] {
        let block = api_key_section(name, "https://app.baseten.co", Some("K"));
        let spliced = doc.with_section(name, &block);
        doc.check_others_unchanged(&spliced.text, &[name]).unwrap();
        let after = Document::parse(&spliced.text).unwrap();
        let previous = (name == middle).then_some(previous.as_deref()).flatten();
        let undone = after.unsplice(name, previous, &spliced.before, &spliced.after);
        assert!(
            undone.as_deref() == Some(text),
            "the undo restores the file"
        );
    }
    let without = doc.without_section(middle).unwrap();
    doc.check_others_unchanged(&without, &[middle]).unwrap();
    let none = doc.without_sections(&names);
    doc.check_others_unchanged(&none, &names).unwrap();
    assert!(Document::parse(&none).unwrap().sections().len() == 0);
    // The check walks both files in order; sections in another order are looked up by name.
    let reversed: String = doc
        .sections()
        .rev()
        .map(|s| format!("{}\n", &text[s.start..s.content_end]))
        .collect();
    doc.check_others_unchanged(&reversed, &[]).unwrap();
}

/// Every path over the file, at the size cap, within a budget of steps proportional to its
/// bytes. A budget rather than a stopwatch: the runner is shared, and a quadratic path
/// (115,968 empty sections compared pairwise: 6.7e9 steps) spends it within milliseconds
/// instead of running for minutes.
#[test]
fn every_shape_at_the_size_cap_costs_steps_in_proportion_to_its_bytes() {
    let mut over = Vec::new();
    for (shape, text) in shapes() {
        assert!(text.len() as u64 <= MAX_SIZE, "{shape}");
        work::budget(Some(16 * text.len() as u64));
        let run = std::panic::catch_unwind(|| every_path(&text));
        work::budget(None);
        if run.is_err() {
            over.push(shape);
        }
    }
    assert!(over.is_empty(), "over budget or failing: {over:?}");
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        "[a-c]{1,2}".prop_map(Line::Section),
        Just(Line::Section("DEFAULT".into())),
        ("[a-e_]{1,3}", "[a-z ]{0,6}").prop_map(|(k, v)| Line::Option(k, v.trim().to_owned())),
        "[a-z\\[\\]]{1,6}".prop_map(Line::Continuation),
        "[ -~]{0,6}".prop_map(Line::Comment),
        Just(Line::Blank),
    ]
}

/// Removing sections one by one, reading the file again after each, as `logout --all` did.
fn one_by_one(text: &str, names: &[&str]) -> Option<(String, bool)> {
    let mut text = text.to_owned();
    let mut every_one_found = true;
    for name in names {
        match Document::parse(&text).ok()?.without_section(name) {
            Some(next) => text = next,
            None => every_one_found = false,
        }
    }
    Some((text, every_one_found))
}

proptest! {
    #[test]
    fn a_lookup_finds_the_one_section_of_that_name(
        lines in proptest::collection::vec(line(), 0..24),
        crlf: bool,
        other in "[a-d]{1,2}",
    ) {
        let text = render(&lines, crlf, true);
        let Ok(doc) = Document::parse(&text) else { return Ok(()) };
        for s in doc.sections() {
            prop_assert_eq!(doc.section(s.name), Some(s));
        }
        let linear = doc.sections().find(|s| s.name == other);
        prop_assert_eq!(doc.section(&other), linear);
    }

    #[test]
    fn removing_sections_at_once_is_removing_them_one_by_one(
        lines in proptest::collection::vec(line(), 0..24),
        crlf: bool,
        final_newline: bool,
        pick in proptest::collection::vec(any::<bool>(), 24),
    ) {
        let text = render(&lines, crlf, final_newline);
        let Ok(doc) = Document::parse(&text) else { return Ok(()) };
        let names: Vec<&str> = doc
            .sections()
            .zip(&pick)
            .filter(|(_, p)| **p)
            .map(|(s, _)| s.name)
            .collect();
        let at_once = doc.without_sections(&names);
        let Some((sequential, every_one_found)) = one_by_one(&text, &names) else {
            // A removal made the file unreadable: the one-pass result is checked instead.
            return Ok(());
        };
        // They differ only where a removal lets an indented header fold into the section
        // before it; the check refuses what one by one then leaves.
        if every_one_found || doc.check_others_unchanged(&sequential, &names).is_ok() {
            prop_assert_eq!(&at_once, &sequential);
        }
        if let Some(&first) = names.first() {
            prop_assert_eq!(doc.without_section(first), one_by_one(&text, &[first]).map(|r| r.0));
        }
    }
}

#[test]
fn removing_every_remote_takes_a_header_that_would_fold_with_it() {
    let doc = Document::parse("[DEFAULT]\nk = v\n[gone]\n  [y]\nz = 1\n").unwrap();
    assert_eq!(doc.remotes().collect::<Vec<_>>(), ["gone", "y"]);
    let text = doc.without_sections(&["gone", "y"]);
    assert_eq!(text, "[DEFAULT]\nk = v\n");
    doc.check_others_unchanged(&text, &["gone", "y"]).unwrap();
    // One by one, [y] would fold into k's value once [gone] is gone, and stay.
    let (sequential, found) = one_by_one(&doc.text, &["gone", "y"]).unwrap();
    assert!(!found);
    assert!(
        doc.check_others_unchanged(&sequential, &["gone", "y"])
            .is_err()
    );
}
