//! Build facts for `truss-ci --version --verbose`: the commit, the build date, rustc's version,
//! the target and the features. The build date is the commit's (or `SOURCE_DATE_EPOCH`'s), never
//! the clock's, so two builds of one commit give the same bytes. A build outside a git checkout
//! (a crate or sdist tarball) takes `TRUSS_CI_BUILD_COMMIT` or says `unknown`.
// A build script reads cargo's variables from its environment: that is its interface.
#![allow(clippy::disallowed_methods)]
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-env-changed=TRUSS_CI_BUILD_COMMIT");
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let checkout = git(&manifest, &["rev-parse", "--show-toplevel"])
        .is_some_and(|top| same_dir(Path::new(&top), &manifest));
    if checkout {
        for name in ["HEAD", "packed-refs"] {
            watch(&manifest, name);
        }
        if let Some(branch) = git(&manifest, &["symbolic-ref", "-q", "HEAD"]) {
            watch(&manifest, &branch);
        }
    }
    let from_git = |args: &[&str]| checkout.then(|| git(&manifest, args)).flatten();
    let commit = env("TRUSS_CI_BUILD_COMMIT").or_else(|| from_git(&["rev-parse", "HEAD"]));
    let epoch = env("SOURCE_DATE_EPOCH").or_else(|| from_git(&["log", "-1", "--format=%ct"]));
    let date = epoch.and_then(|e| e.parse::<i64>().ok()).map(date_of);
    let rustc = env("RUSTC").unwrap_or_else(|| "rustc".to_owned());
    let rustc = Command::new(rustc).arg("-V").output().ok();
    let rustc = rustc.and_then(|o| String::from_utf8(o.stdout).ok());
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| k.strip_prefix("CARGO_FEATURE_").map(str::to_owned))
        .map(|f| f.to_ascii_lowercase().replace('_', "-"))
        .collect();
    features.sort();
    let unknown = || "unknown".to_owned();
    set("COMMIT", &commit.unwrap_or_else(unknown));
    set("DATE", &date.unwrap_or_else(unknown));
    set("RUSTC", rustc.as_deref().map_or("unknown", str::trim));
    set("TARGET", &env("TARGET").unwrap_or_else(unknown));
    set("FEATURES", &features.join(","));
}

fn set(name: &str, value: &str) {
    println!("cargo::rustc-env=TRUSS_CI_BUILD_{name}={value}");
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn same_dir(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Rebuild when the git file `name` (HEAD, a branch ref) changes.
fn watch(dir: &Path, name: &str) {
    if let Some(path) = git(dir, &["rev-parse", "--git-path", name]) {
        let path = dir.join(path);
        if path.exists() {
            println!("cargo::rerun-if-changed={}", path.display());
        }
    }
}

/// `secs` since the epoch as a UTC date, YYYY-MM-DD (Howard Hinnant's civil_from_days).
fn date_of(secs: i64) -> String {
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
