//! `keys prune`'s choice: the workspace's job keys whose expiry, written in their names, is past.
use crate::api::keys::KeyInfo;

use super::name;

/// `all`, split into the job keys expired at `now` (secs) and the rest.
pub fn select(all: Vec<KeyInfo>, now: u64) -> (Vec<KeyInfo>, Vec<KeyInfo>) {
    all.into_iter().partition(|k| {
        k.name
            .as_ref()
            .is_some_and(|n| name::expired(n.unprinted(), now))
    })
}
