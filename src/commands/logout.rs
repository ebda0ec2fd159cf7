//! `truss-ci logout`: remove remotes (and their keyring entries); `--post` undoes exactly what
//! `login` recorded in this job.
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::atomic_file;
use crate::baseten_cli;
use crate::ci::{Value, Var};
use crate::cli::OutputFormat;
use crate::context::Context;
use crate::error::Result;
use crate::keyring_store::Keyring;
use crate::output::Output;
use crate::secret::Sensitive;
use crate::settings::{LogoutSettings, PostScope};
use crate::trussrc;
use crate::undo::{self, Head, Record, Records};

use crate::job_key::{self, post as job_keys};

mod baseten;
use baseten::{forget_profiles, undo_profiles};

pub fn run(settings: &LogoutSettings, ctx: &Context<'_>, stdin: &mut dyn Read) -> Result<()> {
    let (path, remote, (all, wait), baseten_auth_file) = match settings {
        LogoutSettings::Post {
            trussrc,
            scope: PostScope::Unknown,
            ..
        } => {
            ctx.out.info(&format!(
                "truss-ci: no job identity ({} not set), so nothing was undone: another job's login is not this one's to undo; remove a remote with `truss-ci logout --remote NAME`",
                ctx.platform.job_vars()
            ));
            return report(ctx.out, trussrc, &[]);
        }
        LogoutSettings::Post {
            trussrc,
            scope,
            revoker,
            baseten_auth_file,
        } => {
            let cli_file = baseten_auth_file.as_deref();
            let posted = run_post(trussrc, scope, revoker, ctx, stdin, cli_file);
            if let Some(file) = cli_file {
                baseten_cli::sweep(file, revoker.api.timeout);
            }
            return posted;
        }
        LogoutSettings::Remove {
            trussrc,
            wait,
            remote,
            all,
            baseten_auth_file,
        } => (trussrc, remote, (*all, *wait), baseten_auth_file.as_deref()),
    };
    let out = ctx.out;
    let doc = trussrc::load(path)?;
    // The names are slices of one buffer: the file may hold 115,917 remotes, and a string each
    // was as many allocations and copies, a third of `logout --all`'s time.
    let (mut joined, mut ends) = (String::new(), Vec::new());
    let mut add = |name: &str| {
        joined.push_str(name);
        ends.push(joined.len());
    };
    if all {
        doc.remotes().for_each(&mut add);
    } else {
        add(doc.pick_remote(remote.as_deref(), path)?);
    }
    let names: Vec<&str> = ends
        .iter()
        .scan(0, |start, &end| {
            Some(&joined[std::mem::replace(start, end)..end])
        })
        .collect();
    if names.is_empty() {
        out.info(&format!(
            "No remotes configured in {}; nothing to do",
            path.display()
        ));
        return report(out, path, &[]);
    }
    let profiles = match baseten_auth_file {
        // Most logouts find no profile at all: no key is looked up for them.
        Some(file) => forget_profiles(file, &doc, &names, ctx, wait),
        None => Vec::new(),
    };
    trussrc::remove(path, &names, wait, doc)?;
    forget(&ctx.keyring, &names);
    for profile in &profiles {
        out.info(&format!(
            "Removed baseten CLI profile `{profile}`, which held a key logged out of."
        ));
    }
    // Each remote by name, up to a few; a file of thousands is summed up, not listed (JSON lists all).
    for name in names.iter().take(NAMED) {
        out.info(&format!("Logged out of remote `{name}`."));
    }
    if names.len() > NAMED {
        out.info(&format!(
            "Logged out of {} more remotes ({} in all).",
            names.len() - NAMED,
            names.len()
        ));
    }
    report(out, path, &names)
}

/// `--post`: undoes this job's logins, then revokes their job keys whatever became of the
/// exports; a key left alive and exports that could not be cleared are both said.
fn run_post(
    trussrc: &Path,
    scope: &PostScope,
    revoker: &job_keys::Revoker,
    ctx: &Context<'_>,
    stdin: &mut dyn Read,
    cli_file: Option<&Path>,
) -> Result<()> {
    let wait = revoker.api.timeout;
    let posted = post(trussrc, scope, wait, ctx);
    // The baseten CLI's journals this job's logins wrote to, and the one this environment names
    // (where a post that could not reach it before left the job's entries): after the trussrc,
    // whatever became of it.
    let mut files = match &posted {
        Ok((_, _, files)) => files.clone(),
        Err(_) => Vec::new(),
    };
    files.extend(cli_file.map(Path::to_owned));
    files.sort();
    files.dedup();
    for file in &files {
        undo_profiles(file, scope, ctx, wait);
    }
    let ((removed, minted), exports, _) = posted?;
    let revoked = job_keys::revoke_all(&minted, revoker, ctx, stdin);
    let reported = report_post(ctx.out, trussrc, &removed, &revoked);
    match exports {
        Some(e) => {
            if let Err(not_revoked) = reported {
                ctx.out.annotate_error(&not_revoked);
            }
            Err(e)
        }
        None => reported,
    }
}

/// Deletes the remotes' keyring entries: a keyring that fails for one entry is not asked about
/// the next thousand.
fn forget(keyring: &Keyring, names: &[&str]) {
    if keyring.is_disabled() {
        return;
    }
    for name in names {
        if let Err(e) = keyring.delete(name) {
            tracing::debug!("keyring entry for {name} not deleted: {}", e.0);
            return;
        }
    }
}

/// How many remotes `logout --all` names one by one.
const NAMED: usize = 5;

/// The post's report: what was undone, and what became of each job key. A key not revoked is an
/// error (its kind's exit code: 2 no key to revoke with, 3 refused, 4 unreachable), said after
/// everything else was undone, with the report in its JSON object.
fn report_post(
    out: &Output,
    path: &Path,
    removed: &[String],
    revoked: &[job_keys::Outcome],
) -> Result<()> {
    for o in revoked {
        if o.failed.is_none() {
            out.info(&format!(
                "Revoked job key {} (prefix {})",
                o.key.name,
                o.key.prefix.as_deref().unwrap_or("found by name")
            ));
        } else {
            // Where the platform keeps a step summary, the key left alive is a line there too.
            let line = format!(
                "- **Job key not revoked:** `{}` (prefix `{}`): run `truss-ci keys prune` once it expires, or delete it in Baseten's settings\n",
                o.key.name,
                o.key.prefix.as_deref().unwrap_or("unknown")
            );
            if let Err(e) = out.apply(out.dialect().summary(&line)) {
                out.warn(&format!("the step summary was not written: {}", e.message));
            }
        }
    }
    let keys: Vec<_> = revoked
        .iter()
        .map(|o| json!({"name": o.key.name, "prefix": o.key.prefix, "revoked": o.failed.is_none()}))
        .collect();
    let report = json!({ "trussrc": path, "removed": removed, "job_keys": keys });
    let mut failures = revoked.iter().filter_map(|o| o.failed.as_ref());
    let Some(first) = failures.next() else {
        if out.format == OutputFormat::Json {
            out.json(&report)?;
        }
        return Ok(());
    };
    for other in failures {
        out.annotate_error(other);
    }
    let mut error = crate::error::Error::new(first.kind, first.message.clone()).with_report(report);
    error.hint.clone_from(&first.hint);
    Err(error)
}

fn report(out: &Output, path: &Path, removed: &[&str]) -> Result<()> {
    if out.format == OutputFormat::Json {
        out.json(&json!({ "trussrc": path, "removed": removed }))?;
    }
    Ok(())
}

/// Undoes this job's logins: on GitHub the record the action's main step saved (STATE_*), on
/// other platforms every record of this job (by its job identity). Every record is
/// authenticated before anything is changed. Clearing the exports comes last; its failure is
/// handed back beside what was undone, so that the job keys are still revoked.
fn post(
    trussrc: &Path,
    scope: &PostScope,
    wait: Duration,
    ctx: &Context<'_>,
) -> Result<(Posted, Option<crate::error::Error>, Vec<PathBuf>)> {
    let out = ctx.out;
    let file = undo::path_for(trussrc);
    // A job key's intent has an id of its own: on GitHub it is found by the job's identity.
    let mine = |r: &Head<'_>| match scope {
        PostScope::Id(id) => {
            r.id == id || (r.staged && r.job.is_some() && r.job == ctx.job.as_deref())
        }
        PostScope::Job(job) => r.job == Some(job.as_str()),
        PostScope::Unknown => false,
    };
    // Look before locking: a job with nothing to undo, and nothing a killed writer left behind
    // (temporaries, a lock file), creates no lock file. A temporary may also be a live login's
    // undo record, staged while its API answers: swept here, that login writes it again.
    let stale = !atomic_file::temporaries(&[&file, trussrc]).is_empty()
        || atomic_file::lock_exists(trussrc);
    let before = undo::read(&file)?;
    let known = undo::parse(&file, before.as_deref())?;
    if !stale && known.find(mine).is_empty() {
        out.info("truss-ci: nothing to clean up");
        return Ok((Posted::default(), None, Vec::new()));
    }
    let mut journal = undo::Journal::open(trussrc, wait)?;
    // The records read before the lock, when the file still holds exactly their bytes: a file
    // of thousands of records is not read twice.
    let now = journal.bytes()?;
    let mut chain = if now == before {
        known
    } else {
        journal.parse(now.as_deref())?
    };
    let records = chain.find(mine);
    if records.is_empty() {
        out.info("truss-ci: nothing to clean up");
        return Ok((Posted::default(), None, Vec::new()));
    }
    authenticate_chains(&mut chain, &records, &file)?;
    let (removed, minted, exported, files) =
        undo_all(&mut chain, &records, &mut journal.locked, ctx)?;
    journal.save(&chain)?;
    drop(journal);
    let exports = clear_exports(&exported, out).err();
    Ok(((removed, minted), exports, files))
}

/// What a post undid in the trussrc: the remotes, the job keys to revoke, the env names to clear
/// and the baseten CLI files whose journals the records name.
type Undid = (Vec<String>, Vec<job_keys::Found>, Vec<String>, Vec<PathBuf>);

/// Takes the records at `records` out of their chains and undoes what is still theirs to undo,
/// newest first: each as the live state then stands.
fn undo_all(
    chain: &mut Records<'_>,
    records: &[usize],
    locked: &mut trussrc::Locked,
    ctx: &Context<'_>,
) -> Result<Undid> {
    let (out, keyring) = (ctx.out, &ctx.keyring);
    let file = undo::path_for(&locked.path);
    let mut exported: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    let mut minted = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for &i in records.iter().rev() {
        // What the previous record wrote is read only when another record needs it.
        locked.refresh()?;
        if chain.head(i).staged {
            // A job key's intent: nothing in the files is its.
            minted.extend(job_keys::found(&chain.remove(i)?, locked, out));
            continue;
        }
        let (record, duty) = undo::retire(chain, i, locked.existing.as_deref(), &file)?;
        minted.extend(job_keys::found(&record, locked, out));
        undo_one(&record, &duty, locked, keyring, out)?;
        files.extend(record.baseten.iter().cloned());
        for name in &record.exported {
            if !exported.contains(name) {
                exported.push(name.clone());
            }
        }
        removed.insert(0, record.remote);
    }
    Ok((removed, minted, exported, files))
}

/// Checks every record of the chains the records at `mine` belong to, before anything changes: a
/// post may hand what it would restore to a later one.
fn authenticate_chains(chain: &mut Records<'_>, mine: &[usize], file: &Path) -> Result<()> {
    let mine: Vec<(PathBuf, String)> = mine
        .iter()
        .map(|&i| chain.head(i))
        .map(|h| (h.trussrc.to_owned(), h.remote.to_owned()))
        .collect();
    let touched = |r: &Head<'_>| {
        mine.iter()
            .any(|(trussrc, remote)| r.remote == remote && r.trussrc == trussrc)
    };
    for i in chain.find(touched) {
        job_key::authenticate(chain.get_mut(i)?, file)?;
    }
    Ok(())
}

/// What a post undid: the remotes, and the job keys it is to revoke.
type Posted = (Vec<String>, Vec<job_keys::Found>);

/// Puts the trussrc back as the record says it was before the job, then the keyring entry — as
/// far as they are still this record's to put back (`duty`).
fn undo_one(
    record: &Record,
    duty: &undo::Duty,
    locked: &mut trussrc::Locked,
    keyring: &Keyring,
    out: &Output,
) -> Result<()> {
    let path = &record.trussrc;
    let (what, to) = if duty.file {
        let what = match undo::file_undo(locked, record)? {
            undo::FileUndo::Unchanged => "Nothing to restore for",
            undo::FileUndo::Write(doc) => {
                locked.set(Some(doc))?;
                if record.previous_section.is_some() {
                    "Restored"
                } else {
                    "Removed"
                }
            }
            undo::FileUndo::Remove => {
                locked.set(None)?;
                "Removed"
            }
            undo::FileUndo::Replaced => {
                out.warn(&format!(
                    "[{}] in {} was replaced after login by something login does not write; it was left as it is",
                    record.remote,
                    path.display()
                ));
                "Left"
            }
        };
        (what, "")
    } else {
        // A later job logged in over this one: its login stays, and its post restores what was
        // there before both.
        ("Left", " to the later job that logged in over it")
    };
    restore_keyring(record, duty, keyring, out);
    out.info(&format!(
        "{what} remote `{}` in {}{to}",
        record.remote,
        path.display()
    ));
    Ok(())
}

/// Puts the keyring entry back as the record says it was, as far as that is still its to do.
fn restore_keyring(record: &Record, duty: &undo::Duty, keyring: &Keyring, out: &Output) {
    let restore = match &duty.keyring {
        undo::KeyringDuty::Leave => Ok(false),
        undo::KeyringDuty::Restore => Ok(true),
        check => keyring
            .get(&record.remote)
            .map(|now| check.restores(now.as_ref().map(|v| undo::sha256(v.expose())).as_deref())),
    };
    let previous = record.previous_keyring.clone().map(Sensitive::new);
    if let Err(e) = restore.and_then(|restore| {
        if restore {
            keyring.restore(&record.remote, previous.as_ref())
        } else {
            Ok(())
        }
    }) {
        out.warn(&format!(
            "could not restore the keyring entry for remote {}: {}",
            record.remote, e.0
        ));
    }
}

/// Overwrites the env login exported with empty values (a later step cannot unset it).
fn clear_exports(names: &[String], out: &Output) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let vars: Vec<Var<'_>> = names
        .iter()
        .map(|name| Var {
            name,
            value: Value::Plain(""),
        })
        .collect();
    if let Some(effects) = out.dialect().export(&vars)? {
        out.apply(effects)?;
    }
    Ok(())
}
