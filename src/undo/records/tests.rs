//! The check of a kept record against `Record`'s own reading, the file's layouts, and the copy of
//! kept records as read.
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;
use crate::undo::{JobKey, sha256};

/// A record with every field set to something other than its default.
fn full() -> Record {
    Record {
        id: "0123456789abcdef".into(),
        job: Some("gitlab:1".into()),
        trussrc: PathBuf::from("/h/.trussrc"),
        remote: "baseten".into(),
        created_file: true,
        previous_section: Some("[baseten]\nk = \"v\"\n".into()),
        before: "\n".into(),
        after: "\r\n".into(),
        original_sha256: Some(sha256("a")),
        written_sha256: sha256("b"),
        keyring: true,
        previous_keyring: Some(r#"{"auth_type":"api_key"}"#.into()),
        written_keyring_sha256: Some(sha256("c")),
        exported: vec!["BASETEN_API_KEY".into()],
        staged: true,
        job_keys: vec![JobKey {
            name: "truss-ci-gitlab-1-202611300513".into(),
            prefix: Some("Mint0001".into()),
            api_url: "https://api.baseten.co".into(),
        }],
        baseten: vec!["/h/.config/baseten/auth.json".into()],
    }
}

fn file() -> PathBuf {
    PathBuf::from("/h/.trussrc.truss-ci-state.json")
}

/// Whether `Record` reads `value`, and whether the check does: they must agree.
fn verdicts(value: &Value) -> (bool, bool) {
    let text = value.to_string();
    let whole = serde_json::from_str::<Record>(&text).is_ok();
    let checked = serde_json::from_str::<Check<'_>>(&text).is_ok();
    (whole, checked)
}

#[test]
fn the_check_reads_every_field_as_the_record_does() {
    let genuine = serde_json::to_value(full()).unwrap();
    assert_eq!(verdicts(&genuine), (true, true));
    let wrong: [Value; 7] = [
        Value::Null,
        json!(1),
        json!("x"),
        json!(true),
        json!([]),
        json!(["x"]),
        json!({}),
    ];
    let fields: Vec<String> = genuine.as_object().unwrap().keys().cloned().collect();
    for field in &fields {
        let mut without = genuine.clone();
        without.as_object_mut().unwrap().remove(field);
        let (whole, checked) = verdicts(&without);
        assert_eq!(whole, checked, "{field} missing");
        for value in &wrong {
            let mut changed = genuine.clone();
            changed[field] = value.clone();
            let (whole, checked) = verdicts(&changed);
            assert_eq!(whole, checked, "{field} = {value}");
        }
    }
    // Inside a job key, and beside the fields: the same.
    for field in ["name", "prefix", "api_url", "other"] {
        for value in wrong.iter().chain([&json!("x")]) {
            let mut changed = genuine.clone();
            changed["job_keys"][0][field] = value.clone();
            let (whole, checked) = verdicts(&changed);
            assert_eq!(whole, checked, "job key {field} = {value}");
        }
        let mut without = genuine.clone();
        without["job_keys"][0]
            .as_object_mut()
            .unwrap()
            .remove(field);
        assert_eq!(
            verdicts(&without).0,
            verdicts(&without).1,
            "job key {field}"
        );
    }
    let mut unknown = genuine.clone();
    unknown["unknown"] = json!(1);
    assert_eq!(verdicts(&unknown), (false, false));
    let twice = genuine.to_string().replacen('{', r#"{"id":"again","#, 1);
    assert!(serde_json::from_str::<Record>(&twice).is_err());
    assert!(serde_json::from_str::<Check<'_>>(&twice).is_err());
}

#[test]
fn kept_records_are_found_as_the_record_says_and_read_whole_on_demand() {
    let mut escaped = full();
    escaped.remote = "r\u{e9}\"\\".into();
    escaped.job = None;
    escaped.staged = false;
    escaped.baseten = Vec::new();
    let originals = vec![full(), escaped];
    let bytes = Records::from(originals.clone()).encode().unwrap().to_vec();
    let mut records = Records::parse(&file(), &bytes).unwrap();
    assert!(matches!(records.entries[0], Entry::Kept { .. }));
    for (i, original) in originals.iter().enumerate() {
        let head = records.head(i);
        assert_eq!(head.id, original.id);
        assert_eq!(head.job, original.job.as_deref());
        assert_eq!(head.trussrc, original.trussrc);
        assert_eq!(head.remote, original.remote);
        assert_eq!(head.staged, original.staged);
    }
    assert_eq!(records.get_mut(1).unwrap(), &originals[1]);
    assert_eq!(records.find(|h| h.staged), [0]);
    assert_eq!(records.into_vec().unwrap(), originals);
}

#[test]
fn a_file_unchanged_is_written_back_byte_for_byte_and_changes_touch_only_their_records() {
    let mut others: Vec<Record> = (0..5)
        .map(|i| Record {
            id: format!("{i:016x}"),
            remote: format!("r{i}"),
            ..full()
        })
        .collect();
    let bytes = Records::from(others.clone()).encode().unwrap().to_vec();
    let records = Records::parse(&file(), &bytes).unwrap();
    let encoded = records.encode().unwrap();
    assert_eq!(encoded.to_vec(), bytes);
    assert_eq!(
        encoded.parts().len(),
        3,
        "the records as read are one piece"
    );

    let mut records = Records::parse(&file(), &bytes).unwrap();
    records.get_mut(2).unwrap().written_sha256 = sha256("changed");
    records.retain(|h| h.remote != "r0");
    let removed = records.remove(0).unwrap();
    assert_eq!(removed, others[1]);
    records.push(Record {
        id: "new".into(),
        ..full()
    });
    let encoded = records.encode().unwrap();
    assert_eq!(
        encoded.parts().len(),
        3,
        "what changed, the run kept, what is new"
    );
    let written = encoded.to_vec();
    others[2].written_sha256 = sha256("changed");
    let expected = vec![
        others[2].clone(),
        others[3].clone(),
        others[4].clone(),
        Record {
            id: "new".into(),
            ..full()
        },
    ];
    assert_eq!(
        Records::parse(&file(), &written)
            .unwrap()
            .into_vec()
            .unwrap(),
        expected
    );
    assert_eq!(written, Records::from(expected).encode().unwrap().to_vec());
}

#[test]
fn any_layout_of_the_array_is_read_and_anything_else_refused_in_the_same_words() {
    let record = serde_json::to_string(&full()).unwrap();
    let pretty = serde_json::to_string_pretty(&vec![full(), full()]).unwrap();
    for layout in [
        format!("[{record},{record}]"),
        format!(" \r\n\t[ {record} ,\n\n{record}\t] \n"),
        pretty,
    ] {
        let records = Records::parse(&file(), layout.as_bytes()).unwrap();
        assert_eq!(records.into_vec().unwrap(), [full(), full()], "{layout}");
    }
    for empty in ["[]", " [ \n ] \n"] {
        assert!(
            Records::parse(&file(), empty.as_bytes())
                .unwrap()
                .is_empty()
        );
    }
    let mut unknown = serde_json::to_value(full()).unwrap();
    unknown["extra"] = json!(1);
    for bad in [
        String::new(),
        "{}".into(),
        "[".into(),
        format!("[{record}"),
        format!("[{record},]"),
        format!("[{record}] x"),
        format!("[{record}]]"),
        format!("[{record} {record}]"),
        format!("[{record}, 1]"),
        format!("[{unknown}]"),
        "\u{feff}[]".into(),
        "[\"\\ud800\"]".into(),
    ] {
        let whole = serde_json::from_str::<Vec<Record>>(&bad).unwrap_err();
        let refused = Records::parse(&file(), bad.as_bytes()).unwrap_err();
        assert_eq!(refused.exit_code(), 5, "{bad}");
        assert!(
            refused.message.contains(&whole.to_string()),
            "{bad}: {}",
            refused.message
        );
    }
    let invalid = [b"[\"".as_slice(), &[0xff], b"\"]"].concat();
    assert!(Records::parse(&file(), &invalid).is_err());
    assert!(Records::parse(Path::new("/x"), b"[]").unwrap().is_empty());
}

#[test]
fn a_file_of_another_layout_is_written_in_one_piece() {
    let record = serde_json::to_string(&full()).unwrap();
    let compact = format!("[{}]", vec![record; 40].join(","));
    let mut records = Records::parse(&file(), compact.as_bytes()).unwrap();
    records.push(full());
    let encoded = records.encode().unwrap();
    assert_eq!(encoded.parts().len(), 1);
    let written = encoded.to_vec();
    assert_eq!(
        written,
        Records::from(vec![full(); 41]).encode().unwrap().to_vec()
    );
    assert_eq!(
        written.iter().filter(|&&b| b == b'\n').count(),
        43,
        "one record a line"
    );
}
