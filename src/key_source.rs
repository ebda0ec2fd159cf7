//! Key sources, in order → `(ApiKey, Source)`. Reads stdin and files; never the network.
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::cli::KeyArgs;
use crate::context::Context;
use crate::env::{Env, names};
use crate::error::{Error, Result};
use crate::output::Output;
use crate::secret::ApiKey;

mod stored;

pub use stored::{Stored, stored_key};

/// A key longer than this is not a Baseten API key (they are tens of characters).
const MAX_KEY_LEN: usize = 1024;
/// How much of a key file or stdin is read before it is judged too large.
const MAX_READ: u64 = 64 * 1024;

/// Where the key came from. Shown to the user and in JSON; never holds the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    File(PathBuf),
    Argv,
    Env(String),
    EnvFile {
        var: String,
        path: PathBuf,
    },
    /// A trussrc section's inline `api_key` (status --check).
    Trussrc {
        path: PathBuf,
        remote: String,
    },
    /// The keyring entry truss reads for a remote (status --check).
    Keyring(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Stdin => f.write_str("stdin"),
            Source::File(p) => write!(f, "file:{}", p.display()),
            Source::Argv => f.write_str("flag:--api-key"),
            Source::Env(var) => write!(f, "env:{var}"),
            Source::EnvFile { var, .. } => write!(f, "env-file:{var}"),
            Source::Trussrc { path, .. } => write!(f, "trussrc:{}", path.display()),
            Source::Keyring(remote) => write!(f, "keyring:{remote}"),
        }
    }
}

impl Source {
    /// A phrase for messages: "the file named by BASETEN_API_KEY_FILE". A key file's path is
    /// never shown: a key put where its path belongs would be printed.
    pub fn describe(&self) -> String {
        match self {
            Source::Stdin => "standard input".into(),
            Source::File(_) => "the file given to --api-key-file".into(),
            Source::Argv => "--api-key".into(),
            Source::Env(var) => format!("env var {}", shown_name(var)),
            Source::EnvFile { var, .. } => format!("the file named by {}", shown_name(var)),
            Source::Trussrc { path, remote } => format!("[{remote}] in {}", path.display()),
            Source::Keyring(remote) => format!("the keyring entry for remote {remote}"),
        }
    }
}

/// A variable's name for a message, or a stand-in when the name has the shape of a key (a key
/// given to `--from-env`): see [`crate::secret::may_echo`].
fn shown_name(var: &str) -> &str {
    if crate::secret::may_echo(var) {
        var
    } else {
        "the variable named by --from-env (or its _FILE)"
    }
}

/// Names for a message, each as [`shown_name`] gives it, without repeats.
fn shown_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut names: Vec<&str> = names.map(shown_name).collect();
    names.dedup();
    names
}

/// Every variable a key sits in: those read when no source is named, in order (a `_FILE` one
/// names a file holding the key), then truss's own pair. `exec`'s command gets none of them.
pub const KEY_VARS: [&str; 4] = [
    names::BASETEN_API_KEY,
    names::BASETEN_API_KEY_FILE,
    names::BASETEN_TRUSS_AUTH_API_KEY,
    names::BASETEN_TRUSS_AUTH_REMOTE_URL,
];

/// A command's key, found and already masked.
pub struct Acquired {
    pub key: ApiKey,
    pub source: Source,
    /// What finding it raised, said once the key is masked ([`Acquired::warn`]).
    pub warnings: Vec<String>,
}

impl Acquired {
    pub fn warn(&self, out: &Output) {
        for w in &self.warnings {
            out.warn(w);
        }
    }
}

/// The one way a command gets its key: [`find`], then the platform's mask before anything else
/// the platform sees.
pub fn acquire(req: &KeyArgs, ctx: &Context<'_>, stdin: &mut dyn Read) -> Result<Acquired> {
    let (key, source, warnings) = find(req, ctx.env, stdin, ctx.missing_key_hint)?;
    ctx.out.mask(&key)?;
    Ok(Acquired {
        key,
        source,
        warnings,
    })
}

/// Finds the key: the first source that yields one wins. Returns warnings for the caller to print.
pub fn find(
    req: &KeyArgs,
    env: &Env,
    stdin: &mut dyn Read,
    missing_hint: &str,
) -> Result<(ApiKey, Source, Vec<String>)> {
    let mut warnings = Vec::new();
    let (raw, source) = first_source(req, env, stdin, missing_hint, &mut warnings)?;
    Ok((check(raw, &source, missing_hint)?, source, warnings))
}

/// The raw text of the first source that yields a key, unchecked.
fn first_source(
    req: &KeyArgs,
    env: &Env,
    stdin: &mut dyn Read,
    missing_hint: &str,
    warnings: &mut Vec<String>,
) -> Result<(String, Source)> {
    if req.api_key_stdin {
        let raw = read_capped(stdin, MAX_READ).map_err(|e| {
            Error::usage(format!(
                "could not read the API key from standard input: {e}"
            ))
        })?;
        return Ok((raw, Source::Stdin));
    }
    if let Some(path) = &req.api_key_file {
        let source = Source::File(path.to_owned());
        return Ok((read_key_file(path, &source)?, source));
    }
    if let Some(value) = &req.api_key {
        warnings.push(
            "--api-key puts the key in argv, where other processes on this machine can read it; \
             prefer --api-key-stdin, --api-key-file or BASETEN_API_KEY"
                .to_owned(),
        );
        return Ok((value.to_owned(), Source::Argv));
    }

    from_vars(req.from_env.as_deref(), env, missing_hint)
}

/// The key from `--from-env`'s variable (or its `_FILE`), else from the first of [`KEY_VARS`]'
/// defaults that is set and not blank.
fn from_vars(from_env: Option<&str>, env: &Env, missing_hint: &str) -> Result<(String, Source)> {
    if let Some(var) = from_env
        && !crate::ci::is_name(var, &[])
    {
        return Err(Error::usage(
            "the value of --from-env is not an env var name (letters, digits and _, not starting with a digit); it is not shown, in case it is the key itself",
        )
        .with_hint("pass the name of the variable that holds the key (--from-env=BASETEN_API_KEY); to pass the key itself, pipe it to --api-key-stdin"));
    }
    let owned_file_var;
    let candidates: Vec<(&str, bool)> = match from_env {
        Some(var) => {
            owned_file_var = format!("{var}_FILE");
            vec![(var, false), (owned_file_var.as_str(), true)]
        }
        None => KEY_VARS[..2]
            .iter()
            .map(|var| (*var, var.ends_with("_FILE")))
            .collect(),
    };
    let mut empty = Vec::new();
    for (var, is_file) in &candidates {
        match env.get(var) {
            None => {}
            Some(v) if v.trim().is_empty() => empty.push(*var),
            Some(v) if *is_file => {
                let path = PathBuf::from(v.trim());
                let source = Source::EnvFile {
                    var: (*var).to_owned(),
                    path: path.clone(),
                };
                return Ok((read_key_file(&path, &source)?, source));
            }
            Some(v) => return Ok((v.to_owned(), Source::Env((*var).to_owned()))),
        }
    }
    // A name with the shape of a key is not printed (a key given where its name goes).
    let looked = shown_names(candidates.iter().map(|(v, _)| *v));
    let empty = shown_names(empty.into_iter());
    let mut message = format!("no Baseten API key found (looked in {})", looked.join(", "));
    if !empty.is_empty() {
        let verb = if empty.len() == 1 { "is" } else { "are" };
        message.push_str(&format!("; {} {verb} set but empty", empty.join(" and ")));
    }
    Err(Error::usage(message).with_hint(missing_hint))
}

fn read_capped(reader: &mut dyn Read, cap: u64) -> std::io::Result<String> {
    let mut buf = Vec::new();
    reader.take(cap + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "more than {cap} bytes: this is not an API key"
        )));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

fn read_key_file(path: &Path, source: &Source) -> Result<String> {
    use crate::atomic_file::{Owner, Refusal, read_checked};
    let fail = |e: &dyn fmt::Display, hint: &str| {
        Error::usage(format!(
            "could not read the API key from {}: {e}",
            source.describe()
        ))
        .with_hint(hint)
    };
    match read_checked(path, MAX_READ, Owner::Anyone) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(Refusal::Symlink) => Err(fail(
            &Refusal::Symlink,
            "name the file itself (`readlink -f` gives it; a Kubernetes secret volume's files are links), or pipe the key with --api-key-stdin",
        )),
        Err(Refusal::TooLarge { cap, .. }) => Err(fail(
            &format!("more than {cap} bytes: this is not an API key"),
            "check that the path names the key file",
        )),
        Err(e) => Err(fail(
            &e,
            "check the path, and that the secret is mounted into this job; pipe a key with --api-key-stdin",
        )),
    }
}

/// Trims the key and refuses what cannot be a Baseten API key, naming the source (never the value).
fn check(raw: String, source: &Source, missing_hint: &str) -> Result<ApiKey> {
    let key = ApiKey::new(raw.trim().to_owned());
    drop(ApiKey::new(raw));
    let value = key.expose();
    let lower = value.to_ascii_lowercase();
    let problem = if value.is_empty() {
        Some("is empty")
    } else if value.len() > MAX_KEY_LEN {
        Some("is far longer than a Baseten API key (is this the right file?)")
    } else if lower.starts_with("api-key ") || lower.starts_with("bearer ") {
        Some("includes an authorization scheme (\"Api-Key \" or \"Bearer \"); give the key alone")
    } else if value.chars().any(char::is_whitespace) {
        Some("contains whitespace (a space or line break pasted with it?)")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else if value.contains(['"', '\'', '`']) {
        Some("contains a quote character; store the key without quotes")
    } else if !value.is_ascii() {
        Some("contains non-ASCII characters, which no Baseten API key has")
    } else {
        None
    };
    match problem {
        None => Ok(key),
        Some(p) => {
            let err = Error::usage(format!("the API key from {} {p}", source.describe()));
            Err(if value.is_empty() {
                err.with_hint(missing_hint)
            } else {
                err.with_hint("copy the key again from Baseten's API keys page into the secret")
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(req: &KeyArgs, e: &Env, stdin: &str) -> Result<(String, Source)> {
        let mut input = stdin.as_bytes();
        find(req, e, &mut input, "hint").map(|(k, s, _)| (k.expose().to_owned(), s))
    }

    #[test]
    fn env_precedence_env_then_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, "fromfile\n").unwrap();
        let f = f.to_str().unwrap();
        let all = Env::of(&[
            ("INPUT_API-KEY", "hyphen"),
            ("INPUT_API_KEY", "underscore"),
            ("BASETEN_API_KEY", "plain"),
            ("BASETEN_API_KEY_FILE", f),
        ]);
        let req = KeyArgs::default();
        // Action inputs are the shim's to map: the core reads none.
        assert_eq!(run(&req, &all, "").unwrap().0, "plain");
        let e = Env::of(&[("INPUT_API-KEY", "hyphen"), ("BASETEN_API_KEY", " plain\n")]);
        assert_eq!(
            run(&req, &e, "").unwrap(),
            ("plain".into(), Source::Env("BASETEN_API_KEY".into()))
        );
        let e = Env::of(&[("BASETEN_API_KEY", "  "), ("BASETEN_API_KEY_FILE", f)]);
        let (k, s) = run(&req, &e, "").unwrap();
        assert_eq!(k, "fromfile");
        assert_eq!(s.to_string(), "env-file:BASETEN_API_KEY_FILE");
    }

    #[test]
    fn flags_beat_env_and_stdin_beats_all() {
        let e = Env::of(&[("BASETEN_API_KEY", "plain")]);
        let req = KeyArgs {
            api_key_stdin: true,
            api_key: Some("argv".into()),
            ..Default::default()
        };
        assert_eq!(run(&req, &e, "piped\n").unwrap().0, "piped");
        let req = KeyArgs {
            api_key: Some("argv".into()),
            ..Default::default()
        };
        assert_eq!(run(&req, &e, "").unwrap(), ("argv".into(), Source::Argv));
    }

    #[test]
    fn from_env_restricts_the_search() {
        let e = Env::of(&[("BASETEN_API_KEY", "plain"), ("MY_KEY", "mine")]);
        let req = KeyArgs {
            from_env: Some("MY_KEY".into()),
            ..Default::default()
        };
        assert_eq!(run(&req, &e, "").unwrap().0, "mine");
        let req = KeyArgs {
            from_env: Some("OTHER".into()),
            ..Default::default()
        };
        let err = run(&req, &e, "").unwrap_err();
        assert!(err.message.contains("OTHER, OTHER_FILE"), "{}", err.message);
    }

    #[test]
    fn a_key_given_to_from_env_is_refused_unechoed() {
        let key = "SENTINELkey01.Zx9qv7Lw3pTt";
        let e = Env::of(&[("SENTINELkey01", " ")]);
        for name in [key, "a-b", "9LIVES", "SENTINELkey01"] {
            let req = KeyArgs {
                from_env: Some(name.into()),
                ..Default::default()
            };
            let err = run(&req, &e, "").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{name}");
            let all = format!("{} {:?}", err.message, err.hint());
            assert!(all.contains("--from-env"), "{all}");
            assert!(!all.contains("SENTINEL") && !all.contains(name), "{all}");
        }
    }

    #[test]
    fn missing_and_empty_sources_are_named() {
        let e = Env::of(&[("BASETEN_API_KEY", "")]);
        let err = run(&KeyArgs::default(), &e, "").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message.contains("BASETEN_API_KEY is set but empty"),
            "{}",
            err.message
        );
        assert_eq!(err.hint(), Some("hint"));
    }

    #[test]
    fn malformed_keys_are_refused_without_echoing_them() {
        for bad in [
            "Api-Key abcdefgh",
            "bearer abcdefgh",
            "abc defgh",
            "abc\u{7}defgh",
            "\"abcdefgh\"",
            "'abcdefgh'",
            "abcdéfgh",
        ] {
            let e = Env::of(&[("BASETEN_API_KEY", bad)]);
            let err = run(&KeyArgs::default(), &e, "").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
            assert!(err.message.contains("BASETEN_API_KEY"), "{}", err.message);
            assert!(!err.message.contains("abc"), "{}", err.message);
        }
        let long = "k".repeat(MAX_KEY_LEN + 1);
        let e = Env::of(&[("BASETEN_API_KEY", &long)]);
        assert!(run(&KeyArgs::default(), &e, "").is_err());
        let req = KeyArgs {
            api_key_stdin: true,
            ..Default::default()
        };
        let err = run(&req, &Env::of(&[]), "\n").unwrap_err();
        assert!(
            err.message.contains("standard input is empty"),
            "{}",
            err.message
        );
    }

    #[test]
    fn unreadable_key_file_is_a_usage_error() {
        let req = KeyArgs {
            api_key_file: Some(PathBuf::from("/nonexistent/key")),
            ..Default::default()
        };
        let err = run(&req, &Env::of(&[]), "").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message.contains("--api-key-file"), "{}", err.message);
    }

    #[test]
    fn a_key_put_where_its_path_belongs_is_never_echoed() {
        let secret = "kid01.NotAPathButAKey";
        for (var, req) in [
            ("BASETEN_API_KEY_FILE", KeyArgs::default()),
            (
                "MY_KEY_FILE",
                KeyArgs {
                    from_env: Some("MY_KEY".into()),
                    ..Default::default()
                },
            ),
        ] {
            let err = run(&req, &Env::of(&[(var, secret)]), "").unwrap_err();
            assert!(err.message.contains(var), "{}", err.message);
            let all = format!("{} {:?}", err.message, err.hint());
            assert!(!all.contains("NotAPath"), "{all}");
        }
        let req = KeyArgs {
            api_key_file: Some(PathBuf::from(secret)),
            ..Default::default()
        };
        let err = run(&req, &Env::of(&[]), "").unwrap_err();
        assert!(!err.message.contains("NotAPath"), "{}", err.message);
    }
}
