//! Unit tests of the lock, the atomic writes, the sweep and the random tokens.

use super::*;

#[test]
fn tokens_are_fresh() {
    let a = random_token(16);
    assert_eq!(a.len(), 32);
    assert_ne!(a, random_token(16));
}

#[test]
fn a_held_lock_is_waited_for_within_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc");
    let held = lock(&path, Duration::from_secs(1)).unwrap();
    let started = Instant::now();
    let err = lock(&path, Duration::from_millis(200)).err().unwrap();
    assert_eq!(err.exit_code(), 5);
    assert!(
        err.message.contains("held by another process"),
        "{}",
        err.message
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    drop(held);
    lock(&path, Duration::from_millis(200)).unwrap();
}

#[test]
fn the_lock_file_goes_with_the_lock_and_excludes_all_the_while() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc");
    let inside = dir.path().join("inside");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..150 {
                    let held = lock(&path, Duration::from_secs(20)).unwrap();
                    // Two holders at once would find the other's marker.
                    File::create_new(&inside).expect("one holder at a time");
                    std::thread::yield_now();
                    fs::remove_file(&inside).unwrap();
                    drop(held);
                }
            });
        }
    });
    #[cfg(unix)]
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no lock file is left"
    );
}

#[test]
#[cfg(unix)]
fn the_lock_never_follows_a_link_and_fifos_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc");
    let target = dir.path().join("elsewhere");
    std::os::unix::fs::symlink(&target, dir.path().join("rc.lock")).unwrap();
    assert_eq!(
        lock(&path, Duration::from_millis(50))
            .err()
            .unwrap()
            .exit_code(),
        5
    );
    assert!(!target.exists(), "the link's target was not created");

    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = read_checked(&fifo, 10, Owner::Anyone).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    assert!(read_checked(Path::new("/dev/zero"), 10, Owner::Anyone).is_err());
}

/// A path that flips between a regular file and a link to a secret, as fast as a thread can
/// rename them into place, is read thousands of times: no read ever returns the secret.
#[test]
#[cfg(unix)]
fn a_link_swapped_in_is_never_read_through() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("root-only");
    fs::write(&secret, "SECRET").unwrap();
    let path = dir.path().join("rc");
    fs::write(&path, "PLAIN").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (dir, secret, path, stop) = (
            dir.path().to_owned(),
            secret.clone(),
            path.clone(),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            let other = dir.join("other");
            std::os::unix::fs::symlink(&secret, &other).unwrap();
            while !stop.load(Ordering::Relaxed) {
                swap(&path, &other);
            }
        })
    };
    let (mut reads, mut links, mut files) = (0u32, 0u32, 0u32);
    let started = Instant::now();
    // Bounded: enough reads, with both sides of the race seen, or 20 s.
    while (reads < 100_000 || links < 50 || files < 50)
        && started.elapsed() < Duration::from_secs(20)
    {
        reads += 1;
        match read_checked(&path, 100, Owner::Me) {
            Ok(bytes) => {
                assert_eq!(bytes, b"PLAIN", "read {reads} went through the link");
                files += 1;
            }
            Err(Refusal::Symlink) => links += 1,
            // Between the renames of the fallback swap.
            Err(Refusal::Missing) => {}
            Err(e) => panic!("read {reads}: {e}"),
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        links >= 50 && files >= 50,
        "the race ran both ways: {links} links, {files} files in {reads} reads"
    );
}

/// Exchanges two names in one step where the kernel can (so the flips come as fast as
/// possible), else by renames through a third name.
#[cfg(unix)]
fn swap(a: &Path, b: &Path) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if rustix::fs::renameat_with(
        rustix::fs::CWD,
        a,
        rustix::fs::CWD,
        b,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .is_ok()
    {
        return;
    }
    let third = b.with_extension("swap");
    fs::rename(a, &third).unwrap();
    fs::rename(b, a).unwrap();
    fs::rename(&third, b).unwrap();
}

#[test]
#[cfg(unix)]
fn reads_are_judged_on_the_open_descriptor() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, "0123456789").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(read_checked(&path, 10, Owner::Me).unwrap(), b"0123456789");
    assert!(matches!(
        read_checked(&path, 9, Owner::Anyone),
        Err(Refusal::TooLarge { len: 10, cap: 9 })
    ));
    assert!(matches!(
        read_checked(&dir.path().join("none"), 9, Owner::Me),
        Err(Refusal::Missing)
    ));
    for mode in [0o620, 0o602, 0o664, 0o646] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        let err = read_checked(&path, 10, Owner::Me).unwrap_err();
        assert!(matches!(err, Refusal::OthersMayWrite(_)), "{mode:o}: {err}");
        read_checked(&path, 10, Owner::Anyone).unwrap();
    }
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(matches!(
        read_checked(&link, 10, Owner::Anyone),
        Err(Refusal::Symlink)
    ));
    std::os::unix::fs::symlink(dir.path().join("dangling"), dir.path().join("d")).unwrap();
    assert!(matches!(
        read_checked(&dir.path().join("d"), 10, Owner::Anyone),
        Err(Refusal::Symlink)
    ));
    assert!(matches!(
        read_checked(dir.path(), 10, Owner::Anyone),
        Err(Refusal::NotRegular)
    ));
    if rustix::process::geteuid().is_root() {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        assert!(matches!(
            read_checked(&path, 10, Owner::Me),
            Err(Refusal::ForeignOwner(65534))
        ));
        read_checked(&path, 10, Owner::Anyone).unwrap();
    }
}

#[test]
fn writes_are_whole_and_temporaries_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc");
    write(&path, b"one").unwrap();
    let stale = dir.path().join(".rc.truss-ci.1.abc.tmp");
    fs::write(&stale, "old key").unwrap();
    sweep(&[&path]);
    assert!(!stale.exists());
    assert_eq!(fs::read(&path).unwrap(), b"one");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn staged_bytes_take_the_name_only_when_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rc");
    write(&path, b"old").unwrap();
    let entries = || fs::read_dir(dir.path()).unwrap().count();
    // Dropped uncommitted (a failure elsewhere): the temporary goes, the file stays.
    let staged = stage(&path, &[b"new ", b"key"]).unwrap();
    assert_eq!(entries(), 2);
    drop(staged);
    assert_eq!(entries(), 1);
    assert_eq!(fs::read(&path).unwrap(), b"old");
    stage(&path, &[b"new ", b"key"])
        .unwrap()
        .commit(Durable::Bytes)
        .unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new key");
    assert_eq!(entries(), 1);
}

#[test]
fn one_read_of_the_directory_sweeps_the_temporaries_of_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let (rc, record) = (dir.path().join("rc"), dir.path().join("rc.state"));
    let stale = [
        dir.path().join(".rc.truss-ci.1.abc.tmp"),
        dir.path().join(".rc.state.truss-ci.2.def.tmp"),
    ];
    let kept = [
        dir.path().join(".other.truss-ci.3.abc.tmp"),
        dir.path().join(".rc.truss-ci.4.abc"),
    ];
    for file in stale.iter().chain(&kept) {
        fs::write(file, "x").unwrap();
    }
    let mut found = temporaries(&[&rc, &record]);
    found.sort();
    let mut expected = stale.to_vec();
    expected.sort();
    assert_eq!(found, expected);
    sweep(&[&rc, &record]);
    assert!(stale.iter().all(|f| !f.exists()));
    assert!(kept.iter().all(|f| f.exists()));
}
