//! The chain and the record's checks.
use std::path::PathBuf;

use super::*;

fn rec(remote: &str) -> Record {
    Record {
        id: "id".into(),
        job: Some("gitlab:1".into()),
        trussrc: PathBuf::from("/h/.trussrc"),
        remote: remote.into(),
        created_file: false,
        previous_section: None,
        before: "\n".into(),
        after: "\n".into(),
        original_sha256: None,
        written_sha256: sha256(""),
        keyring: false,
        previous_keyring: None,
        written_keyring_sha256: None,
        exported: vec![],
        staged: false,
        job_keys: vec![],
        baseten: Vec::new(),
    }
}

#[test]
fn forged_records_are_refused() {
    let file = path_for(Path::new("/h/.trussrc"));
    authenticate(&rec("baseten"), &file).unwrap();
    let forge: [fn(&mut Record); 8] = [
        |r| r.trussrc = PathBuf::from("/h/.gitconfig"),
        |r| r.remote = "a]b".into(),
        |r| r.previous_section = Some("[core]\nsshCommand = evil\n".into()),
        |r| r.previous_section = Some("[baseten]\nk = v\n[core]\nx = y\n".into()),
        |r| r.exported = vec!["PATH".into()],
        |r| r.after = "\n[x]\n".into(),
        |r| r.written_sha256 = "zz".into(),
        |r| r.previous_keyring = Some("not json".into()),
    ];
    for (i, f) in forge.iter().enumerate() {
        let mut r = rec("baseten");
        f(&mut r);
        let err = authenticate(&r, &file).unwrap_err();
        assert_eq!(err.exit_code(), 5, "forgery {i}");
    }
}

#[test]
fn a_staged_intent_takes_no_part_in_its_remotes_chain() {
    let file = path_for(Path::new("/h/.trussrc"));
    let key = JobKey {
        name: "truss-ci-gitlab-1-202611300513".into(),
        prefix: Some("Mint0001".into()),
        api_url: "https://api.baseten.co".into(),
    };
    let staged = Record::staged("s".into(), None, Path::new("/h/.trussrc"), "r", key.clone());
    let mut records = Records::from(vec![rec("r"), staged]);
    let mut again = rec("r");
    again.job_keys = vec![key];
    record(&mut records, again).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records.get_mut(0).unwrap().job_keys.len(),
        1,
        "merged into the job's login, not the intent"
    );
    let (_, duty) = retire(&mut records, 0, Some(""), &file).unwrap();
    assert!(duty.file, "the intent after it is no later login");
}

#[test]
fn later_logins_of_one_job_merge_into_the_earliest() {
    let mut records = Records::default();
    let first = record(&mut records, rec("a")).unwrap();
    let mut again = rec("a");
    again.id = "other".into();
    again.written_sha256 = sha256("x");
    again.exported = vec!["BASETEN_API_KEY".into()];
    assert_eq!(record(&mut records, again).unwrap(), first);
    assert_eq!(records.len(), 1);
    let merged = records.get_mut(0).unwrap();
    assert_eq!(merged.written_sha256, sha256("x"));
    assert_eq!(merged.exported, ["BASETEN_API_KEY"]);
    let mut other_job = rec("a");
    other_job.job = Some("gitlab:2".into());
    record(&mut records, other_job).unwrap();
    assert_eq!(records.len(), 2, "another job's login is its own record");
}

#[test]
fn a_login_after_another_jobs_is_a_new_link_under_the_jobs_id() {
    let mut records = Records::default();
    let first = record(&mut records, rec("r")).unwrap();
    let mut other = rec("r");
    other.job = Some("gitlab:2".into());
    other.id = "other".into();
    record(&mut records, other).unwrap();
    let mut again = rec("r");
    again.id = "again".into();
    assert_eq!(
        record(&mut records, again).unwrap(),
        first,
        "the job's post finds both"
    );
    assert_eq!(records.len(), 3, "the live section is the later login's");
    let jobless = |id: &str| Record {
        id: id.into(),
        job: None,
        ..rec("s")
    };
    record(&mut records, jobless("n1")).unwrap();
    assert_eq!(record(&mut records, jobless("n2")).unwrap(), "n2");
    assert_eq!(records.len(), 5, "jobs without an identity never merge");
}

#[test]
fn retiring_an_older_link_hands_its_state_before_to_the_next() {
    let file = path_for(Path::new("/h/.trussrc"));
    let payload = |key: &str| format!(r#"{{"auth_type": "api_key", "api_key": "{key}"}}"#);
    let a = Record {
        previous_section: Some("[r]\nteam = ml\n".into()),
        before: String::new(),
        after: "\n".into(),
        original_sha256: Some(sha256("before")),
        written_sha256: sha256("a"),
        keyring: true,
        previous_keyring: Some(payload("OLD")),
        ..rec("r")
    };
    let other_remote = Record {
        id: "o".into(),
        ..rec("o")
    };
    let b = Record {
        id: "b".into(),
        job: Some("gitlab:2".into()),
        previous_section: Some(
            "[r]\nremote_provider = baseten\nremote_url = https://x\nauth_type = api_key\n".into(),
        ),
        before: String::new(),
        after: String::new(),
        original_sha256: Some(sha256("a")),
        written_sha256: sha256("b"),
        keyring: true,
        previous_keyring: Some(payload("A")),
        written_keyring_sha256: Some(sha256(&payload("B"))),
        ..rec("r")
    };
    let mut records = Records::from(vec![a.clone(), other_remote.clone(), b.clone()]);
    let (retired, duty) = retire(&mut records, 0, Some("b"), &file).unwrap();
    let records = records.into_vec().unwrap();
    assert_eq!(retired, a);
    assert!(!duty.file, "the live login is the next one's");
    assert!(
        !duty.keyring.restores(Some(&sha256(&payload("B")))),
        "so is the keyring entry it wrote"
    );
    assert!(
        duty.keyring.restores(Some(&sha256(&payload("A")))),
        "unless it was killed before writing it"
    );
    assert!(!duty.keyring.restores(Some(&sha256(&payload("X")))));
    assert_eq!(records[0], other_remote, "other remotes are untouched");
    let next = &records[1];
    assert_eq!(next.previous_section, a.previous_section);
    assert_eq!((next.before.as_str(), next.after.as_str()), ("", "\n"));
    assert_eq!(next.original_sha256, a.original_sha256);
    assert_eq!(next.previous_keyring, a.previous_keyring);
    assert_eq!(next.written_sha256, b.written_sha256);

    // The next login was killed after its record: the section is still this one's.
    let mut records = Records::from(vec![a.clone(), b.clone()]);
    let (_, duty) = retire(&mut records, 0, Some("a"), &file).unwrap();
    let records = records.into_vec().unwrap();
    assert!(duty.file);
    assert_eq!(records[0].previous_keyring, a.previous_keyring);
    assert_eq!(records[0].previous_section, a.previous_section);

    // A section written some other way in between is the next login's to restore.
    let hand_made = Record {
        previous_section: Some("[r]\nteam = other\n".into()),
        ..b.clone()
    };
    let mut records = Records::from(vec![a.clone(), hand_made.clone()]);
    retire(&mut records, 0, Some("b"), &file).unwrap();
    let records = records.into_vec().unwrap();
    assert_eq!(records[0].previous_section, hand_made.previous_section);

    // This login was killed before its write: the next one found the file as it was before.
    let after_a_crash = Record {
        original_sha256: a.original_sha256.clone(),
        ..b.clone()
    };
    let mut records = Records::from(vec![a.clone(), after_a_crash.clone()]);
    retire(&mut records, 0, Some("b"), &file).unwrap();
    let records = records.into_vec().unwrap();
    assert_eq!(records[0].previous_section, after_a_crash.previous_section);
    assert_eq!(records[0].after, after_a_crash.after);

    // The newest undoes its own change.
    let mut records = Records::from(vec![a.clone()]);
    let (_, duty) = retire(&mut records, 0, Some("a"), &file).unwrap();
    assert!(duty.file && duty.keyring == KeyringDuty::Restore && records.is_empty());
}
