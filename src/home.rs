//! `~` expanded as the Python that runs truss expands it: truss finds its file with
//! `Path(os.environ.get("USER_TRUSSRC_PATH", "~/.trussrc")).expanduser()`, which is
//! `posixpath.expanduser` on Linux and macOS and `ntpath.expanduser` on Windows (Python ≥ 3.8:
//! `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`; `HOME` is ignored there).

/// Which of Python's two rules applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Posix,
    Windows,
}

impl Flavor {
    /// The rule of the OS this binary runs on.
    pub const NATIVE: Flavor = if cfg!(windows) {
        Flavor::Windows
    } else {
        Flavor::Posix
    };
}

/// The variables the rules read (each as set, possibly empty, or `None` when unset), and the
/// password database's home for the current user (`pwd.getpwuid(os.getuid()).pw_dir`), which
/// `posixpath` falls back to when `HOME` is unset.
#[derive(Clone, Copy, Debug, Default)]
pub struct HomeVars<'a> {
    pub home: Option<&'a str>,
    pub passwd_home: Option<&'a str>,
    pub userprofile: Option<&'a str>,
    pub homedrive: Option<&'a str>,
    pub homepath: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// Why a `~` path has no expansion truss could use.
#[derive(Debug, PartialEq, Eq)]
pub enum NoHome {
    /// Python would leave the path as it is, and `pathlib` then raises "Could not determine home
    /// directory": truss itself cannot start.
    Undetermined,
    /// `~user/…` on Linux or macOS: Python asks the password database for that user, which
    /// truss-ci does not; the path is refused rather than guessed.
    OtherUser,
}

/// `path` with a leading `~` or `~user` expanded as Python's `os.path.expanduser` does for
/// `flavor`; a path that does not start with `~` is returned as it is.
pub fn expand_user(path: &str, vars: &HomeVars<'_>, flavor: Flavor) -> Result<String, NoHome> {
    if !path.starts_with('~') {
        return Ok(path.to_owned());
    }
    let expanded = match flavor {
        Flavor::Posix => posix(path, vars)?,
        Flavor::Windows => windows(path, vars)?,
    };
    // pathlib's own check: a home that still starts with `~` is no home.
    if expanded.starts_with('~') {
        return Err(NoHome::Undetermined);
    }
    Ok(expanded)
}

/// `posixpath.expanduser`.
fn posix(path: &str, vars: &HomeVars<'_>) -> Result<String, NoHome> {
    let i = path[1..].find('/').map_or(path.len(), |i| i + 1);
    if i != 1 {
        return Err(NoHome::OtherUser);
    }
    let home = vars.home.or(vars.passwd_home).ok_or(NoHome::Undetermined)?;
    let expanded = format!("{}{}", home.trim_end_matches('/'), &path[i..]);
    Ok(if expanded.is_empty() {
        "/".to_owned()
    } else {
        expanded
    })
}

/// `ntpath.expanduser`.
fn windows(path: &str, vars: &HomeVars<'_>) -> Result<String, NoHome> {
    let i = path[1..].find(['\\', '/']).map_or(path.len(), |i| i + 1);
    let mut home = match (vars.userprofile, vars.homepath) {
        (Some(profile), _) => profile.to_owned(),
        (None, None) => return Err(NoHome::Undetermined),
        (None, Some(homepath)) => nt_join(vars.homedrive.unwrap_or(""), homepath),
    };
    if i != 1 {
        let target = &path[1..i];
        if Some(target) != vars.username {
            // Python guesses a sibling profile directory, and only when the current user's own
            // home is named after them.
            let (parent, name) = nt_split(&home);
            if vars.username != Some(name) {
                return Err(NoHome::Undetermined);
            }
            home = nt_join(parent, target);
        }
    }
    Ok(format!("{home}{}", &path[i..]))
}

const NT_SEPS: [char; 2] = ['\\', '/'];

/// `ntpath.splitroot`: (drive, root, rest).
fn nt_splitroot(p: &str) -> (&str, &str, &str) {
    let b = p.as_bytes();
    let is_sep = |c: u8| c == b'\\' || c == b'/';
    if b.first().copied().is_some_and(is_sep) {
        if b.get(1).copied().is_some_and(is_sep) {
            // UNC: \\server\share\rest (or a device path \\?\…).
            let rest = &p[2..];
            let upper = rest.to_uppercase();
            let start = if upper.starts_with("UNC\\") || upper.starts_with("UNC/") {
                6
            } else {
                2
            };
            let Some(i1) = p[start..].find(NT_SEPS).map(|i| i + start) else {
                return (p, "", "");
            };
            let Some(i2) = p[i1 + 1..].find(NT_SEPS).map(|i| i + i1 + 1) else {
                return (p, "", "");
            };
            return (&p[..i2], &p[i2..=i2], &p[i2 + 1..]);
        }
        return ("", &p[..1], &p[1..]);
    }
    if b.get(1) == Some(&b':') {
        if b.get(2).copied().is_some_and(is_sep) {
            return (&p[..2], &p[2..3], &p[3..]);
        }
        return (&p[..2], "", &p[2..]);
    }
    ("", "", p)
}

/// `ntpath.join(a, b)`.
fn nt_join(a: &str, b: &str) -> String {
    let (mut drive, mut root, a_rest) = nt_splitroot(a);
    let mut rest = a_rest.to_owned();
    let (b_drive, b_root, b_rest) = nt_splitroot(b);
    if !b_root.is_empty() {
        if !b_drive.is_empty() || drive.is_empty() {
            drive = b_drive;
        }
        root = b_root;
        rest = b_rest.to_owned();
    } else if !b_drive.is_empty() && b_drive != drive {
        if b_drive.to_lowercase() != drive.to_lowercase() {
            return b.to_owned();
        }
        drive = b_drive;
        if !rest.is_empty() && !rest.ends_with(NT_SEPS) {
            rest.push('\\');
        }
        rest.push_str(b_rest);
    } else {
        if !rest.is_empty() && !rest.ends_with(NT_SEPS) {
            rest.push('\\');
        }
        rest.push_str(b_rest);
    }
    if !rest.is_empty() && root.is_empty() && !drive.is_empty() && !drive.ends_with(':') {
        return format!("{drive}\\{rest}");
    }
    format!("{drive}{root}{rest}")
}

/// `(ntpath.dirname(p), ntpath.basename(p))`.
fn nt_split(p: &str) -> (&str, &str) {
    let (drive, root, rest) = nt_splitroot(p);
    let prefix = drive.len() + root.len();
    let i = rest.rfind(NT_SEPS).map_or(0, |i| i + 1);
    let (head, tail) = (&p[..prefix + i], &p[prefix + i..]);
    let trimmed = head.trim_end_matches(NT_SEPS);
    let head = if trimmed.len() < prefix || trimmed.is_empty() {
        head
    } else {
        trimmed
    };
    (head, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posix_home(home: Option<&str>) -> HomeVars<'_> {
        HomeVars {
            home,
            passwd_home: Some("/var/lib/ci"),
            ..HomeVars::default()
        }
    }

    #[test]
    fn posix_follows_posixpath() {
        let cases = [
            (Some("/home/u"), "~/.trussrc", Ok("/home/u/.trussrc")),
            (Some("/home/u/"), "~/.trussrc", Ok("/home/u/.trussrc")),
            (Some(""), "~/.trussrc", Ok("/.trussrc")),
            (Some("/"), "~", Ok("/")),
            (Some(""), "~", Ok("/")),
            (None, "~/.trussrc", Ok("/var/lib/ci/.trussrc")),
            (Some("rel"), "~/x", Ok("rel/x")),
            (Some("/h"), "/abs/~/x", Ok("/abs/~/x")),
        ];
        for (home, path, want) in cases {
            assert_eq!(
                expand_user(path, &posix_home(home), Flavor::Posix),
                want.map(str::to_owned),
                "HOME={home:?} {path}"
            );
        }
        assert_eq!(
            expand_user("~bob/x", &posix_home(Some("/h")), Flavor::Posix),
            Err(NoHome::OtherUser)
        );
        let nothing = HomeVars::default();
        assert_eq!(
            expand_user("~/x", &nothing, Flavor::Posix),
            Err(NoHome::Undetermined)
        );
    }

    #[test]
    fn windows_follows_ntpath() {
        let profile = HomeVars {
            home: Some("/ignored"),
            userprofile: Some(r"C:\Users\ci"),
            username: Some("ci"),
            ..HomeVars::default()
        };
        let w = |p: &str, v: &HomeVars<'_>| expand_user(p, v, Flavor::Windows);
        assert_eq!(w("~/.trussrc", &profile).unwrap(), r"C:\Users\ci/.trussrc");
        assert_eq!(w(r"~\.trussrc", &profile).unwrap(), r"C:\Users\ci\.trussrc");
        assert_eq!(w(r"~bob\x", &profile).unwrap(), r"C:\Users\bob\x");
        let parts = HomeVars {
            homedrive: Some("D:"),
            homepath: Some(r"\Home\ci"),
            ..HomeVars::default()
        };
        assert_eq!(w(r"~\x", &parts).unwrap(), r"D:\Home\ci\x");
        let only_home = HomeVars {
            home: Some("/h"),
            ..HomeVars::default()
        };
        assert_eq!(w("~/x", &only_home), Err(NoHome::Undetermined));
    }
}
