//! Unit tests of the trussrc: reading it as truss does, splicing its sections, remote names.

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
