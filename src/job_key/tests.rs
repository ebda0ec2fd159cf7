//! Unit tests of the job key records' authentication.

use std::path::Path;

use super::*;
use crate::undo::{JobKey, Record, path_for};

#[test]
fn job_keys_and_staged_records_are_authenticated() {
    let file = path_for(Path::new("/h/.trussrc"));
    let key = JobKey {
        name: "truss-ci-gitlab-1-202611300513".into(),
        prefix: Some("Mint0001".into()),
        api_url: "https://api.baseten.co".into(),
    };
    let staged = Record::staged("s".into(), None, Path::new("/h/.trussrc"), "r", key);
    authenticate(&staged, &file).unwrap();
    let forge: [fn(&mut Record); 5] = [
        |r| r.job_keys[0].name = "my-production-key".into(),
        |r| r.job_keys[0].prefix = Some("a/../b".into()),
        |r| r.job_keys[0].api_url = "http://evil.example".into(),
        |r| r.previous_section = Some("[r]\nk = v\n".into()),
        |r| r.exported = vec!["BASETEN_API_KEY".into()],
    ];
    for (i, f) in forge.iter().enumerate() {
        let mut r = staged.clone();
        f(&mut r);
        assert_eq!(
            authenticate(&r, &file).unwrap_err().exit_code(),
            5,
            "forgery {i}"
        );
    }
}
