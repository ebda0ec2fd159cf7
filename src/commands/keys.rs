//! `truss-ci keys prune`: deletes the job keys truss-ci minted whose expiry, written in their
//! name, has passed — only names that parse exactly as a job key's, never any other key.
use std::io::Read;

use serde_json::{Value, json};

use crate::api::Client;
use crate::api::keys::{self, KeyInfo};
use crate::cli::OutputFormat;
use crate::commands::job_key;
use crate::error::{Error, Kind, Result};
use crate::key_source;
use crate::output::Output;
use crate::secret::ApiKey;
use crate::settings::{Context, DEFAULT_REMOTE_URL, PruneSettings};

pub fn prune(settings: &PruneSettings, ctx: &Context<'_>, stdin: &mut dyn Read) -> Result<()> {
    let out = ctx.out;
    let (key, _, warnings) = key_source::find(&settings.key, ctx.env, stdin, ctx.missing_key_hint)?;
    out.mask(&key)?;
    for w in &warnings {
        out.warn(w);
    }
    let conn = &settings.conn;
    let remote_url = conn.remote_url.as_deref().unwrap_or(DEFAULT_REMOTE_URL);
    let client = Client::new(&conn.api.api_url_for(remote_url), &conn.api)?;
    let all = keys::list(&client, &key)?.map_err(|why| {
        Error::new(
            Kind::Rejected,
            format!("could not list the workspace's keys: {why}; nothing was deleted"),
        )
        .with_hint("pruning needs a key that may list and delete keys (a workspace key that manages all, or one that manages API keys)")
    })?;
    let (expired, kept): (Vec<KeyInfo>, Vec<KeyInfo>) = all.into_iter().partition(|k| {
        k.name
            .as_deref()
            .is_some_and(|n| job_key::expired(n, settings.now))
    });
    let (deleted, failed) = delete(&client, &key, &expired, settings.dry_run, out)?;
    out.info(&format!(
        "{} expired job key(s) {}, {} key(s) kept",
        deleted.len(),
        if settings.dry_run {
            "to delete"
        } else {
            "deleted"
        },
        kept.len()
    ));
    if out.format == OutputFormat::Json {
        out.json(&json!({
            "dry_run": settings.dry_run,
            "deleted": deleted,
            "failed": failed,
            "kept": kept.len(),
        }))?;
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            Kind::Rejected,
            format!("{} expired job key(s) could not be deleted", failed.len()),
        )
        .with_hint("the key may not delete keys: prune with a workspace key that manages all"))
    }
}

/// Deletes the expired job keys (none with `dry_run`): those deleted (or to delete) and those
/// the API refused, as the JSON report lists them.
fn delete(
    client: &Client,
    key: &ApiKey,
    expired: &[KeyInfo],
    dry_run: bool,
    out: &Output,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for k in expired {
        let name = k.name.clone().unwrap_or_default();
        if dry_run {
            out.info(&format!("Would delete {name} (prefix {})", k.prefix));
            deleted.push(json!({"name": name, "prefix": k.prefix}));
            continue;
        }
        match keys::delete(client, key, &k.prefix)? {
            Ok(_) => {
                out.info(&format!("Deleted {name} (prefix {})", k.prefix));
                deleted.push(json!({"name": name, "prefix": k.prefix}));
            }
            Err(why) => {
                out.warn(&format!(
                    "could not delete {name} (prefix {}): {why}",
                    k.prefix
                ));
                failed.push(json!({"name": name, "prefix": k.prefix, "why": why.to_string()}));
            }
        }
    }
    Ok((deleted, failed))
}
