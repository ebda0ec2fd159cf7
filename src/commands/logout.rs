//! `truss-ci logout`: remove remotes (and their keyring entries); `--post` undoes exactly what
//! `login` recorded in this job.
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::ci::{Platform, Value, Var};
use crate::cli::{LogoutArgs, OutputFormat};
use crate::commands::status::pick_remote;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::keyring_store::Keyring;
use crate::output::Output;
use crate::secret::Sensitive;
use crate::settings;
use crate::state::{self, Record};
use crate::trussrc::{self, Document};

pub fn run(args: &LogoutArgs, env: &Env, out: &Output) -> Result<()> {
    if args.post {
        return post(args, env, out);
    }
    let path = settings::trussrc_path(args.trussrc.as_deref(), env)?.path;
    let doc = trussrc::load(&path)?;
    let names: Vec<String> = if args.all {
        doc.remotes().map(str::to_owned).collect()
    } else {
        vec![pick_remote(&doc, args.remote.as_deref(), &path)?.to_owned()]
    };
    if names.is_empty() {
        out.info(&format!(
            "No remotes configured in {}; nothing to do",
            path.display()
        ));
        return report(out, &path, &[]);
    }
    let removed: Vec<&str> = names.iter().map(String::as_str).collect();
    trussrc::edit(&path, &removed, |doc| {
        let mut text = doc.text.clone();
        for name in &names {
            let current = Document::parse(&text).map_err(|e| Error::unexpected(e.problem))?;
            if let Some(next) = current.without_section(name) {
                text = next;
            }
        }
        Ok(Some(text))
    })?;
    let keyring = Keyring::from_env(env);
    for name in &names {
        if !keyring.is_disabled()
            && let Err(e) = keyring.delete(name)
        {
            tracing::debug!("keyring entry for {name} not deleted: {}", e.0);
        }
        out.info(&format!("Logged out of remote `{name}`."));
    }
    report(out, &path, &names)
}

fn report(out: &Output, path: &Path, removed: &[String]) -> Result<()> {
    if out.format == OutputFormat::Json {
        out.json(&json!({ "trussrc": path, "removed": removed }));
    }
    Ok(())
}

/// Finds the records to undo: on GitHub the one this action's main step saved (STATE_*),
/// elsewhere every record beside the trussrc.
fn post(args: &LogoutArgs, env: &Env, out: &Output) -> Result<()> {
    let (file, trussrc, id): (PathBuf, PathBuf, Option<&str>) =
        match env.get_nonblank(&format!("STATE_{}", state::STATE_FILE)) {
            Some(file) => (
                PathBuf::from(file),
                env.get_nonblank(&format!("STATE_{}", state::STATE_TRUSSRC))
                    .map(PathBuf::from)
                    .unwrap_or_default(),
                env.get_nonblank(&format!("STATE_{}", state::STATE_ID)),
            ),
            None => {
                let path = settings::trussrc_path(args.trussrc.as_deref(), env)?.path;
                (state::path_for(&path), path, None)
            }
        };
    let records: Vec<Record> = state::load(&file)?
        .into_iter()
        .filter(|r| id.is_none_or(|id| r.id == id))
        .collect();
    if records.is_empty() {
        out.info("truss-ci: nothing to clean up");
        return report(out, &trussrc, &[]);
    }
    let keyring = Keyring::from_env(env);
    let mut undone = Vec::new();
    let mut exported: Vec<String> = Vec::new();
    for record in records.iter().rev() {
        undo(record, &keyring, out)?;
        undone.push(record.id.clone());
        for name in &record.exported {
            if !exported.contains(name) {
                exported.push(name.clone());
            }
        }
    }
    let lock_path = if trussrc.as_os_str().is_empty() {
        records[0].trussrc.clone()
    } else {
        trussrc
    };
    state::update(&file, &lock_path, |rs| {
        rs.retain(|r| !undone.contains(&r.id))
    })?;
    clear_exports(&exported, out)?;
    let removed: Vec<String> = records.iter().map(|r| r.remote.clone()).collect();
    report(out, &lock_path, &removed)
}

/// Restores the replaced section byte for byte, or removes the section (and the file, when
/// login created it and nothing else is left), then puts the keyring entry back as it was.
fn undo(record: &Record, keyring: &Keyring, out: &Output) -> Result<()> {
    let path = &record.trussrc;
    let mut now_empty = false;
    if path.exists() {
        trussrc::edit(path, &[&record.remote], |doc| {
            let text = doc.unsplice(
                &record.remote,
                record.previous_section.as_deref(),
                &record.before,
                &record.after,
            );
            now_empty = text.as_deref().is_some_and(str::is_empty);
            Ok(text)
        })?;
    }
    if record.created_file && now_empty {
        trussrc::remove(path)?;
    }
    if record.keyring {
        let previous = record.previous_keyring.clone().map(Sensitive::new);
        if let Err(e) = keyring.restore(&record.remote, previous.as_ref()) {
            out.warn(&format!(
                "could not restore the keyring entry for remote {}: {}",
                record.remote, e.0
            ));
        }
    }
    let what = if record.previous_section.is_some() {
        "Restored"
    } else {
        "Removed"
    };
    out.info(&format!(
        "{what} remote `{}` in {}",
        record.remote,
        path.display()
    ));
    Ok(())
}

/// Overwrites the env login exported with empty values (a later step cannot unset it).
fn clear_exports(names: &[String], out: &Output) -> Result<()> {
    if names.is_empty() || out.dialect().platform() == Platform::None {
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
