//! `truss-ci keys prune`: deletes the job keys truss-ci minted whose expiry, written in their
//! name, has passed — only names that parse exactly as a job key's, never any other key.
use std::io::Read;

use serde_json::{Value, json};

use crate::api::Client;
use crate::api::keys::{self, KeyInfo};
use crate::cli::OutputFormat;
use crate::context::Context;
use crate::endpoint::endpoint;
use crate::error::{Error, Kind, Result};
use crate::job_key;
use crate::key_source;
use crate::output::Output;
use crate::secret::ApiKey;
use crate::settings::PruneSettings;

pub fn prune(settings: &PruneSettings, ctx: &Context<'_>, stdin: &mut dyn Read) -> Result<()> {
    let out = ctx.out;
    let acquired = key_source::acquire(&settings.key, ctx, stdin)?;
    acquired.warn(out);
    let key = acquired.key;
    let conn = &settings.conn;
    let at = endpoint(conn.remote_url.as_deref(), &conn.api, &conn.remote, None)?;
    let client = Client::new(&at.api_url, &conn.api)?;
    let all = keys::list(&client, &key)?.map_err(|why| {
        Error::new(
            why.kind(),
            format!("could not list the workspace's keys: {why}; nothing was deleted"),
        )
        .with_hint("pruning needs a key that may list and delete keys (a workspace key that manages all, or one that manages API keys)")
    })?;
    let (expired, kept) = job_key::prune::select(all, settings.now);
    let (deleted, failed, failed_kind) = delete(&client, &key, &expired, settings.dry_run, out)?;
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
    match failed_kind {
        None => Ok(()),
        Some(kind) => Err(Error::new(
            kind,
            format!("{} expired job key(s) could not be deleted", failed.len()),
        )
        .with_hint("the key may not delete keys: prune with a workspace key that manages all")),
    }
}

/// Deletes the expired job keys (none with `dry_run`): those deleted (or to delete) and those
/// the API refused, as the JSON report lists them, and the kind of the first refusal. Names and
/// prefixes are the server's: shown through the one gate.
fn delete(
    client: &Client,
    key: &ApiKey,
    expired: &[KeyInfo],
    dry_run: bool,
    out: &Output,
) -> Result<(Vec<Value>, Vec<Value>, Option<Kind>)> {
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    let mut failed_kind = None;
    for k in expired {
        let name = out.show(k.name.as_ref());
        let prefix = out.show(Some(&k.prefix));
        if dry_run {
            out.info(&format!("Would delete {name} (prefix {prefix})"));
            deleted.push(json!({"name": name, "prefix": prefix}));
            continue;
        }
        match keys::delete(client, key, k.prefix.unprinted())? {
            Ok(_) => {
                out.info(&format!("Deleted {name} (prefix {prefix})"));
                deleted.push(json!({"name": name, "prefix": prefix}));
            }
            Err(why) => {
                out.warn(&format!("could not delete {name} (prefix {prefix}): {why}"));
                failed_kind.get_or_insert(why.kind());
                failed.push(json!({"name": name, "prefix": prefix, "why": why.to_string()}));
            }
        }
    }
    Ok((deleted, failed, failed_kind))
}
