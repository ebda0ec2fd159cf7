//! What this binary is and how it was built (build.rs fills it in): `truss-ci --version --verbose`,
//! and the same as one JSON object with `--output json`.
use std::ffi::OsString;

use serde_json::json;

use crate::cli::OutputFormat;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const COMMIT: &str = env!("TRUSS_CI_BUILD_COMMIT");
pub const DATE: &str = env!("TRUSS_CI_BUILD_DATE");
pub const RUSTC: &str = env!("TRUSS_CI_BUILD_RUSTC");
pub const TARGET: &str = env!("TRUSS_CI_BUILD_TARGET");
pub const FEATURES: &str = env!("TRUSS_CI_BUILD_FEATURES");

/// Whether `--version` was asked for in detail: with `-v`/`--verbose`, or as JSON.
pub fn detailed(args: &[OsString], format: OutputFormat) -> bool {
    let verbose = |a: &str| {
        a == "--verbose"
            || a.strip_prefix('-').is_some_and(|flags| {
                flags.contains('v') && flags.bytes().all(|b| b == b'v' || b == b'V')
            })
    };
    format == OutputFormat::Json || args.iter().skip(1).any(|a| verbose(&a.to_string_lossy()))
}

fn features() -> Vec<&'static str> {
    FEATURES.split(',').filter(|f| !f.is_empty()).collect()
}

pub fn text() -> String {
    let features = features();
    let features = if features.is_empty() {
        "(none)".to_owned()
    } else {
        features.join(", ")
    };
    format!(
        "truss-ci {VERSION}\ncommit: {COMMIT}\nbuild date: {DATE}\nrustc: {RUSTC}\ntarget: {TARGET}\nfeatures: {features}\n"
    )
}

pub fn json() -> serde_json::Value {
    json!({
        "version": VERSION,
        "commit": COMMIT,
        "build_date": DATE,
        "rustc": RUSTC,
        "target": TARGET,
        "features": features(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn verbose_or_json_asks_for_the_detail() {
        let text = OutputFormat::Text;
        assert!(detailed(
            &args(&["truss-ci", "--version", "--verbose"]),
            text
        ));
        assert!(detailed(&args(&["truss-ci", "-vV"]), text));
        assert!(detailed(&args(&["truss-ci", "-v", "--version"]), text));
        assert!(detailed(
            &args(&["truss-ci", "--version"]),
            OutputFormat::Json
        ));
        assert!(!detailed(&args(&["truss-ci", "--version"]), text));
    }

    #[test]
    fn every_fact_is_filled_in() {
        let value = json();
        for field in ["version", "commit", "build_date", "rustc", "target"] {
            assert!(
                value[field].as_str().is_some_and(|v| !v.is_empty()),
                "{field}"
            );
        }
        assert!(RUSTC.starts_with("rustc "), "{RUSTC}");
        assert!(DATE == "unknown" || DATE.len() == 10, "{DATE}");
        assert!(text().starts_with(&format!("truss-ci {VERSION}\ncommit: ")));
    }
}
