//! Flags and the environment → settings: precedence, paths, bounds.
use super::*;

#[test]
#[cfg(unix)]
fn trussrc_path_precedence_and_tilde() {
    let e = Env::of(&[("HOME", "/home/u")]);
    let p = trussrc_path(None, &e).unwrap();
    assert_eq!(p.path, Path::new("/home/u/.trussrc"));
    assert!(p.is_default);

    let e = Env::of(&[("HOME", "/home/u"), ("USER_TRUSSRC_PATH", "~/ci/rc")]);
    let p = trussrc_path(None, &e).unwrap();
    assert_eq!(p.path, Path::new("/home/u/ci/rc"));
    assert!(!p.is_default);

    let p = trussrc_path(Some(Path::new("/tmp/x")), &e).unwrap();
    assert_eq!(p.path, Path::new("/tmp/x"));

    // As posixpath: an empty HOME is the root; an unset one is the password database's;
    // USERPROFILE is Windows'.
    let e = Env::of(&[("HOME", ""), ("USERPROFILE", "/w")]);
    assert_eq!(trussrc_path(None, &e).unwrap().path, Path::new("/.trussrc"));
    let mut e = Env::of(&[("USERPROFILE", "/w")]);
    e.passwd_home = Some("/var/lib/ci/".into());
    assert_eq!(
        trussrc_path(None, &e).unwrap().path,
        Path::new("/var/lib/ci/.trussrc")
    );
    let e = Env::of(&[("HOME", "/h"), ("USER_TRUSSRC_PATH", "~bob/rc")]);
    assert_eq!(trussrc_path(None, &e).unwrap_err().exit_code(), 2);

    let e = Env::of(&[]);
    assert_eq!(trussrc_path(None, &e).unwrap_err().exit_code(), 2);
    assert_eq!(
        trussrc_path(Some(Path::new("/tmp/a\nb")), &e)
            .unwrap_err()
            .exit_code(),
        2
    );
    assert_eq!(
        trussrc_path(Some(Path::new("~/x")), &e)
            .unwrap_err()
            .exit_code(),
        2
    );
}

#[test]
fn timeouts_are_bounded() {
    assert!(parse_timeout(0.0).is_err());
    assert!(parse_timeout(f64::NAN).is_err());
    assert!(parse_timeout(-1.0).is_err());
    assert_eq!(parse_timeout(1.5).unwrap(), Duration::from_millis(1500));
}
