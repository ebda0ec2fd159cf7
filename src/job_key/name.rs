//! A job key's name: `truss-ci-<platform>-<job id>-<yyyymmddhhmm>-<random>`, what made it, when
//! it expires, and 8 random hex digits that make each mint's name its own (two matrix legs in
//! the same minute, or job ids that read alike once cut, never share one). The grammar is what
//! `keys prune` matches; it never matches a name truss-ci did not make. Also the TTL and the
//! clock. A leaf: it imports nothing else of the crate's but the platforms' names.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::ValueEnum;

use crate::ci::Platform;
use crate::error::{Error, Result};

/// Names are at most this long (Baseten's limit for key names).
pub const MAX_NAME: usize = 63;
const PREFIX: &str = "truss-ci-";
/// The random part's length, in hex digits.
const RANDOM_LEN: usize = 8;
/// `--job-key-ttl` bounds.
pub const MIN_TTL: Duration = Duration::from_secs(5 * 60);
pub const MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// `30m`, `6h`, `2d`: a whole number of minutes, hours or days, from 5m to 7d.
pub fn parse_ttl(text: &str) -> Result<Duration> {
    let bad = || {
        let mut shown: String = text.chars().take(80).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        Error::usage(format!(
            "--job-key-ttl {shown:?} is not a duration from 5m to 7d"
        ))
        .with_hint("write a whole number of minutes, hours or days: 30m, 6h, 2d")
    };
    let unit = match text.trim().chars().last() {
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        _ => return Err(bad()),
    };
    let digits = &text.trim()[..text.trim().len() - 1];
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let ttl = Duration::from_secs(n * unit);
    if ttl < MIN_TTL || ttl > MAX_TTL {
        return Err(bad());
    }
    Ok(ttl)
}

/// Seconds since the epoch now (a test may pin it with `TRUSS_CI_TEST_NOW`).
pub fn now(env: &crate::env::Env) -> u64 {
    #[cfg(feature = "test-hooks")]
    if let Some(now) = env.get("TRUSS_CI_TEST_NOW").and_then(|n| n.parse().ok()) {
        return now;
    }
    let _ = env;
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `yyyymmddhhmm` in UTC for `secs` since the epoch.
pub fn stamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}", rem / 3600, rem % 3600 / 60)
}

/// The date of day `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whether `text` is a real `yyyymmddhhmm` (it formats back to itself).
fn valid_stamp(text: &str) -> bool {
    if text.len() != 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap_or(-1);
    let (y, m, d, h, mi) = (n(0..4), n(4..6), n(6..8), n(8..10), n(10..12));
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return false;
    }
    if h > 23 || mi > 59 {
        return false;
    }
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    civil(days) == (y, m, d)
}

/// The platforms a job key's name may say (every CI platform by its `--ci` name).
fn platforms() -> Vec<String> {
    Platform::value_variants()
        .iter()
        .filter(|p| p.is_ci())
        .map(|p| p.name())
        .collect()
}

/// The job id part of a name: lower-case letters and digits, single hyphens between runs.
fn job_part(id: &str) -> String {
    let mut part = String::new();
    for c in id.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            part.push(c);
        } else if !part.is_empty() && !part.ends_with('-') {
            part.push('-');
        }
    }
    part.trim_end_matches('-').to_owned()
}

/// A fresh random part: [`RANDOM_LEN`] lower-case hex digits from the OS.
pub fn random_part() -> String {
    crate::atomic_file::random_token(RANDOM_LEN / 2)
}

fn is_random_part(text: &str) -> bool {
    text.len() == RANDOM_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name of a key minted by job `job` (`github:123/runner`) that expires at `expiry` (secs),
/// with the random part `random`: the job id is cut to fit 63 characters, never the expiry or
/// the random part.
pub fn name(job: &str, expiry: u64, random: &str) -> Option<String> {
    let (platform, id) = job.split_once(':')?;
    platforms().iter().find(|p| *p == platform)?;
    if !is_random_part(random) {
        return None;
    }
    let stamp = stamp(expiry);
    let room = MAX_NAME - PREFIX.len() - platform.len() - 3 - stamp.len() - RANDOM_LEN;
    let mut id = job_part(id);
    id.truncate(room);
    let id = id.trim_end_matches('-');
    let id = if id.is_empty() { "0" } else { id };
    Some(format!("{PREFIX}{platform}-{id}-{stamp}-{random}"))
}

/// What a job key's name says, read back.
#[derive(Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The expiry, `yyyymmddhhmm`.
    pub stamp: &'a str,
    /// Whether the name has a random part (names made before it had none: not unique).
    pub unique: bool,
}

/// A job key's name read back, when `name` is exactly one [`name`] makes (or one made before
/// names had a random part, `truss-ci-<platform>-<job id>-<yyyymmddhhmm>`, so that `keys prune`
/// still finds those).
pub fn parse(name: &str) -> Option<Parsed<'_>> {
    if name.len() > MAX_NAME {
        return None;
    }
    let rest = name.strip_prefix(PREFIX)?;
    let rest = platforms()
        .iter()
        .find_map(|p| rest.strip_prefix(p.as_str())?.strip_prefix('-'))?;
    let (rest, unique) = match rest.rsplit_once('-') {
        Some((rest, random)) if is_random_part(random) => (rest, true),
        _ => (rest, false),
    };
    let (id, stamp) = rest.rsplit_once('-')?;
    let id_ok = !id.is_empty()
        && job_part(id) == id
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (id_ok && valid_stamp(stamp)).then_some(Parsed { stamp, unique })
}

/// Whether a job key named `name` has expired at `now` (secs).
pub fn expired(name: &str, now: u64) -> bool {
    parse(name).is_some_and(|p| p.stamp <= stamp(now).as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "0a1b2c3d";

    #[test]
    fn names_say_what_made_them_when_they_expire_and_are_each_their_own() {
        // 2026-11-30T05:13:00Z
        let t = 1_796_015_580;
        assert_eq!(stamp(t), "202611300513");
        let n = name("github:123-1-build/runner 7", t, R).unwrap();
        assert_eq!(
            n,
            "truss-ci-github-123-1-build-runner-7-202611300513-0a1b2c3d"
        );
        assert_eq!(
            parse(&n),
            Some(Parsed {
                stamp: "202611300513",
                unique: true
            })
        );
        for platform in platforms() {
            let long = name(&format!("{platform}:{}", "a".repeat(90)), t, R).unwrap();
            assert_eq!(long.len(), MAX_NAME, "{long}");
            assert!(long.ends_with("-202611300513-0a1b2c3d"));
            assert!(parse(&long).is_some_and(|p| p.unique));
        }
        assert!(name("plain:1", t, R).is_none());
        assert!(name("gitlab:1", t, "0A1B2C3D").is_none());
        assert!(expired(&n, t) && !expired(&n, t - 60));
        // Two jobs whose ids read alike once cut get different names from their random parts.
        let (a, b) = (random_part(), random_part());
        assert_ne!(name("gitlab:a/b", t, &a), name("gitlab:a-b", t, &b));
        // Names made before the random part still parse, as not unique.
        assert_eq!(
            parse("truss-ci-github-1-202611300513"),
            Some(Parsed {
                stamp: "202611300513",
                unique: false
            })
        );
        for bad in [
            "truss-ci-github-1-202613010000-0a1b2c3d",
            "truss-ci-github-1-202602300000",
            "truss-ci-github--1-202611300513-0a1b2c3d",
            "truss-ci-github-1-20261130051-0a1b2c3d",
            "truss-ci-github-A-202611300513-0a1b2c3d",
            "truss-ci-plain-1-202611300513-0a1b2c3d",
            "truss-ci-github-202611300513-0a1b2c3d",
            "x-truss-ci-github-1-202611300513-0a1b2c3d",
            "truss-ci-github-1-202611300513-0a1b2c3d ",
            "truss-ci-github-1-202611300513-0A1B2C3D",
            "truss-ci-github-1-202611300513-0a1b2c3",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ttls_are_bounded() {
        assert_eq!(parse_ttl("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_ttl("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_ttl("7d").unwrap(), MAX_TTL);
        for bad in ["4m", "8d", "6", "h", "-1h", "1.5h", "6H", "9999999d"] {
            assert_eq!(parse_ttl(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn only_names_truss_ci_makes_parse(text in "truss-ci-[a-z]{4,9}-[a-z0-9-]{0,40}-[0-9]{12}(-[0-9a-f]{8})?|.{0,70}") {
            if let Some(parsed) = parse(&text) {
                let rest = text.strip_prefix(PREFIX).unwrap();
                let (platform, rest) = rest.split_once('-').unwrap();
                proptest::prop_assert!(platforms().iter().any(|p| p == platform));
                let rest = if parsed.unique { &rest[..rest.len() - RANDOM_LEN - 1] } else { rest };
                let id = &rest[..rest.len() - parsed.stamp.len() - 1];
                proptest::prop_assert_eq!(job_part(id), id);
                proptest::prop_assert!(text.len() <= MAX_NAME);
                proptest::prop_assert!(valid_stamp(parsed.stamp));
            }
        }

        #[test]
        fn every_name_made_parses_back(job in "[ -~]{0,80}", secs in 0u64..253_402_300_000) {
            let n = name(&format!("gitlab:{job}"), secs, &random_part()).unwrap();
            proptest::prop_assert!(n.len() <= MAX_NAME);
            let expiry = stamp(secs);
            proptest::prop_assert_eq!(parse(&n), Some(Parsed { stamp: expiry.as_str(), unique: true }));
        }
    }
}
