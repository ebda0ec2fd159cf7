//! A command line clap refused: the usage error, the key-shaped pieces it must not print, and
//! the output format and platform it asked for.
use std::collections::BTreeSet;
use std::ffi::OsString;

use clap::{CommandFactory, ValueEnum};

use super::{Cli, OutputFormat};
use crate::ci::Platform;
use crate::error::Error;
use crate::secret::{self, ApiKey, Scrubber};

/// A command line clap refused, as a usage error (exit 2) that prints no argument with the shape
/// of a key: clap's text is scrubbed of every piece [`key_shaped`] finds, in every form the
/// scrubber knows. The message is clap's first line; its tips and usage are the hint.
pub fn refused(e: &clap::Error, args: &[OsString]) -> Error {
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return Error::usage("a command is needed: login, status, logout or exec")
            .with_hint("run `truss-ci --help`");
    }
    let mut text = e.render().to_string();
    for piece in key_shaped(args) {
        text = Scrubber::new(&piece).scrub(&text);
    }
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("the command line was not understood");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    let mut rest: Vec<&str> = lines.collect();
    // "the following required arguments were not provided:" names them on the next line.
    if message.ends_with(':') && !rest.is_empty() {
        message = format!("{message} {}", rest.remove(0));
    }
    let hint = if rest.is_empty() {
        "run `truss-ci --help`".to_owned()
    } else {
        rest.join("; ")
    };
    Error::usage(message).with_hint(hint)
}

/// The pieces of the arguments (for `--flag=value`, each side; split at whitespace and commas) that have the
/// shape of a key ([`secret::may_echo`]) and are no word of this command line (a subcommand, flag
/// or value name): what no error may print.
pub fn key_shaped(args: &[OsString]) -> Vec<ApiKey> {
    let mut shaped = Vec::new();
    for arg in args.iter().skip(1) {
        let arg = arg.to_string_lossy();
        let sides = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with('-') => vec![flag, value],
            _ => vec![&*arg],
        };
        // A list (`--require-key-type a,b`) is read item by item.
        let items = sides
            .iter()
            .flat_map(|side| side.split(|c: char| c.is_whitespace() || c == ','));
        shaped.extend(
            items
                .filter(|p| !p.is_empty() && !secret::may_echo(p))
                .map(|p| ApiKey::new(p.to_owned())),
        );
    }
    // The words are the whole command tree, built only when a piece needs them.
    if !shaped.is_empty() {
        let words = words();
        shaped.retain(|piece| !words.contains(piece.expose()));
    }
    shaped
}

/// The subcommand, flag and value names of this command line: printed as they are.
fn words() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, words: &mut BTreeSet<String>) {
        words.insert(cmd.get_name().to_owned());
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                words.insert(format!("--{long}"));
            }
            for value in arg.get_possible_values() {
                words.insert(value.get_name().to_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, words);
        }
    }
    let mut words = BTreeSet::from(["auto".to_owned()]);
    walk(&Cli::command(), &mut words);
    words.extend(
        Platform::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value)
            .map(|v| v.get_name().to_owned()),
    );
    words
}

/// What a refused command line asked for, as far as it can be read: `--output json`, and the
/// platform named by `--ci`, so that its error is said the way it asked.
pub fn intent(args: &[OsString]) -> (OutputFormat, Option<Platform>) {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let value = |flag: &str| {
        args.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&format!("{flag}="))
                .map(str::to_owned)
                .or_else(|| (a == flag).then(|| args.get(i + 1).cloned()).flatten())
        })
    };
    let format = match value("--output").as_deref() {
        Some("json") => OutputFormat::Json,
        _ => OutputFormat::Text,
    };
    let platform = value("--ci").and_then(|v| Platform::from_str(&v, false).ok());
    (format, platform)
}
