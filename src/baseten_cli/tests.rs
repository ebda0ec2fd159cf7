use std::path::PathBuf;

use super::journal::{Entry, When, add, retire};
use super::*;
use crate::atomic_file::sha256;

fn vars(pairs: &[(&str, &str)]) -> Vars {
    let mut v = Vars::default();
    for (k, val) in pairs {
        let slot = match *k {
            "HOME" => &mut v.home,
            "XDG_CONFIG_HOME" => &mut v.xdg_config_home,
            "APPDATA" => &mut v.appdata,
            "BASETEN_CONFIG_DIR" => &mut v.baseten_config_dir,
            _ => unreachable!(),
        };
        *slot = Some((*val).to_owned());
    }
    v
}

#[test]
fn auth_json_is_where_the_cli_looks_on_each_os() {
    let p = |pairs: &[(&str, &str)], os| auth_path(&vars(pairs), os).map_err(|e| e.message);
    let home = [("HOME", "/h")];
    assert_eq!(
        p(&home, Os::Linux).unwrap(),
        PathBuf::from("/h/.config/baseten/auth.json")
    );
    assert_eq!(
        p(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")], Os::Linux).unwrap(),
        PathBuf::from("/x/baseten/auth.json")
    );
    // Go ignores an empty XDG_CONFIG_HOME and refuses a relative one.
    assert_eq!(
        p(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "")], Os::Linux).unwrap(),
        PathBuf::from("/h/.config/baseten/auth.json")
    );
    assert!(
        p(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "rel")], Os::Linux)
            .unwrap_err()
            .contains("relative")
    );
    assert!(p(&[], Os::Linux).is_err());
    assert_eq!(
        p(&home, Os::MacOs).unwrap(),
        PathBuf::from("/h/Library/Application Support/baseten/auth.json")
    );
    // Windows: %AppData% only (HOME is not looked at).
    assert_eq!(
        p(&[("APPDATA", r"C:\Users\u\AppData\Roaming")], Os::Windows).unwrap(),
        PathBuf::from(r"C:\Users\u\AppData\Roaming")
            .join("baseten")
            .join("auth.json")
    );
    assert!(p(&home, Os::Windows).unwrap_err().contains("AppData"));
    // BASETEN_CONFIG_DIR wins everywhere, as given.
    for os in [Os::Linux, Os::MacOs, Os::Windows] {
        assert_eq!(
            p(&[("BASETEN_CONFIG_DIR", "cfg"), ("HOME", "/h")], os).unwrap(),
            PathBuf::from("cfg").join("auth.json")
        );
    }
}

#[test]
fn remote_urls_take_the_cli_form_or_are_refused_with_both_rules() {
    assert_eq!(
        cli_remote_url("https://app.baseten.co").unwrap(),
        DEFAULT_REMOTE_URL
    );
    assert_eq!(
        cli_remote_url("http://127.0.0.1:8123").unwrap(),
        "http://127.0.0.1:8123"
    );
    assert_eq!(
        cli_remote_url("HTTPS://Example.com:8443").unwrap(),
        "https://Example.com:8443"
    );
    let err = cli_remote_url("https://example.com/baseten").unwrap_err();
    assert!(err.message.contains("truss reads it"), "{}", err.message);
    assert!(err.message.contains("scheme://host"), "{}", err.message);
}

#[test]
fn profile_names_are_plain() {
    for ok in ["baseten", "ci-1", "a.b_c"] {
        check_profile_name(ok).unwrap();
    }
    let long = "x".repeat(MAX_PROFILE_NAME + 1);
    for bad in ["", "a b", "a/b", "ä", "<x>", long.as_str()] {
        assert!(check_profile_name(bad).is_err(), "{bad:?}");
    }
}
fn entry(record: &str, profile: &str, previous: Option<&str>, written: &str) -> Entry {
    Entry {
        record: record.into(),
        job: Some(format!("job-{record}")),
        profile: profile.into(),
        created_file: previous.is_none(),
        previous: previous.map(str::to_owned),
        written_sha256: sha256(written),
        switched: true,
        previous_current: "personal".into(),
        keyring: false,
        previous_keyring: None,
        written_keyring_sha256: None,
    }
}

#[test]
fn the_newest_restores_what_it_wrote() {
    let mut entries = vec![entry("aa", "ci", Some("P0"), "A")];
    let (_, duty) = retire(&mut entries, 0);
    assert_eq!(duty.profile, When::Written(Some(sha256("A"))));
    assert!(duty.profile.applies(Some(&sha256("A"))));
    assert!(!duty.profile.applies(Some(&sha256("other"))));
    assert_eq!(duty.current, Some(When::Written(Some("ci".into()))));
    assert_eq!(duty.keyring, None);
}

#[test]
fn an_older_post_hands_the_state_before_it_to_the_later_logins() {
    let mut b = entry("bb", "ci", Some("A"), "B");
    b.switched = false;
    b.previous_current = "ci".into();
    b.created_file = false;
    // Another profile's login switched `current` after A: it gets A's `current` before.
    let mut other = entry("cc", "other", Some("Q"), "O");
    other.previous_current = "ci".into();
    let mut a = entry("aa", "ci", Some("P0"), "A");
    a.created_file = true;
    let mut entries = vec![a, other, b];
    let (_, duty) = retire(&mut entries, 0);
    // B wrote: A's profile is no longer live, and B now restores what was before A.
    assert!(!duty.profile.applies(Some(&sha256("B"))));
    // B was killed before writing: A's profile is still there, and A's post restores it now.
    assert!(duty.profile.applies(Some(&sha256("A"))));
    assert_eq!(entries[1].previous.as_deref(), Some("P0"));
    assert!(entries[1].created_file, "A created the file");
    // `current`: the other profile's login took it over, and restores what was before A.
    assert!(!duty.current.as_ref().unwrap().applies(Some("other")));
    assert_eq!(entries[0].previous_current, "personal");
    assert_eq!(entries[0].previous.as_deref(), Some("Q"));
}

#[test]
fn keyring_entries_chain_by_account() {
    let mut a = entry("aa", "ci", None, "A");
    a.keyring = true;
    a.previous_keyring = Some("K0".into());
    a.written_keyring_sha256 = Some(sha256("KA"));
    let mut b = entry("bb", "ci", Some("A"), "B");
    b.keyring = true;
    b.previous_keyring = Some("KA".into());
    b.written_keyring_sha256 = Some(sha256("KB"));
    let mut entries = vec![a, b];
    let (_, duty) = retire(&mut entries, 0);
    let keyring = duty.keyring.unwrap();
    assert!(!keyring.applies(Some(&sha256("KB"))));
    assert!(keyring.applies(Some(&sha256("KA"))));
    assert_eq!(entries[0].previous_keyring.as_deref(), Some("K0"));
}

#[test]
fn a_later_login_of_the_same_job_merges_only_while_it_is_the_newest_of_its_profile() {
    let mut entries = vec![entry("aa", "ci", Some("P0"), "A")];
    let mut again = entry("aa", "ci", Some("A"), "A2");
    again.switched = false;
    again.keyring = true;
    again.written_keyring_sha256 = Some(sha256("K"));
    add(&mut entries, again);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].previous.as_deref(), Some("P0"));
    assert_eq!(entries[0].written_sha256, sha256("A2"));
    assert!(entries[0].switched && entries[0].keyring);
    // Another job took the profile over: the job's next login is an entry of its own.
    add(&mut entries, entry("bb", "ci", Some("A2"), "B"));
    add(&mut entries, entry("aa", "ci", Some("B"), "A3"));
    assert_eq!(entries.len(), 3);
}

#[test]
fn a_tampered_entry_is_refused_and_debug_hides_the_previous_profile() {
    let good = entry(
        "aa",
        "ci",
        Some(r#"{"remote_url":"u","auth_type":"api_key","api_key":"SECRETKEY123"}"#),
        "A",
    );
    assert_eq!(good.refusal(), None);
    assert!(!format!("{good:?}").contains("SECRETKEY123"));
    let bad = |change: fn(&mut Entry)| {
        let mut e = good.clone();
        change(&mut e);
        e.refusal().is_some()
    };
    assert!(bad(|e| e.profile = "../x".into()));
    assert!(bad(|e| e.written_sha256 = "zz".into()));
    assert!(bad(|e| e.previous = Some("[not json".into())));
    assert!(bad(
        |e| e.previous_keyring = Some("k\u{1b}[31m\n::set-output".into())
    ));
    assert!(bad(|e| e.previous_current = "x\ny".into()));
    assert!(bad(|e| e.record = "not hex".into()));
}
