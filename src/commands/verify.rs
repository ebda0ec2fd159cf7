//! The key check `login`, `exec` and `status --check` share: the API's verdict, the rule for
//! restricted keys, and the key's lookup once the check lets it through.
use crate::api::ApiSettings;
use crate::api::{self, Client, Verdict};
use crate::context::Context;
use crate::error::{Error, Kind, Result};
use crate::key_info::{self, Lookup};
use crate::key_source::Source;
use crate::output::Output;
use crate::secret::ApiKey;

/// Checks `key` against `/v1/users/me` on `client`, then looks it up by its prefix on the same
/// connection ([`api::check_and_find`]). The verdict comes first: a full key's, and a restricted
/// one's (403) when `--allow-restricted` lets it through, after a warning; exit 3 for a restricted
/// key otherwise, and a rejected key or an unreachable API ends the command with its own error,
/// nothing looked up. Only then is the lookup judged ([`key_info::judge`]).
pub fn verify(
    client: &Client,
    api: &ApiSettings,
    key: &ApiKey,
    source: &Source,
    ctx: &Context<'_>,
) -> Result<(Verdict, Lookup)> {
    verify_meanwhile(client, api, key, (source, ctx), || ())
}

/// [`verify`], running `meanwhile` on this thread once the check is on its way: what needs no
/// answer (`login` starts staging its undo record) waits neither for it nor before it.
pub fn verify_meanwhile(
    client: &Client,
    api: &ApiSettings,
    key: &ApiKey,
    (source, ctx): (&Source, &Context<'_>),
    meanwhile: impl FnOnce(),
) -> Result<(Verdict, Lookup)> {
    let out = ctx.out;
    let accept = |verdict| {
        match verdict {
        Verdict::Valid(user) => Ok(Verdict::Valid(user)),
        Verdict::Restricted if api.allow_restricted => {
            out.warn(&format!(
                "the key from {} may not call the management API (403): used anyway because of --allow-restricted; it can call models but not deploy",
                source.describe()
            ));
            Ok(Verdict::Restricted)
        }
        Verdict::Restricted => Err(Error::new(
            Kind::Rejected,
            format!(
                "the key from {} authenticated, but may not call Baseten's management API (403 Forbidden): it looks like an inference-only or metrics-only team key",
                source.describe()
            ),
        )
        .with_hint("deploying with truss needs a full-access key; pass --allow-restricted to use this key anyway for calling models")),
    }
    };
    let prefix = key_info::prefix_to_find(key);
    let (verdict, found) =
        api::check_and_find(client, key, &source.describe(), prefix, accept, meanwhile)?;
    Ok((verdict, key_info::judge(api, key, found, ctx)?))
}

/// Who the key belongs to, as printed and in JSON: each value through [`Output::show`].
#[derive(Debug, Default, serde::Serialize)]
pub struct ShownUser {
    pub email: Option<String>,
    pub name: Option<String>,
    pub workspace: Option<String>,
}

pub fn shown_user(user: &api::User, out: &Output) -> ShownUser {
    let shown = |v: &Option<api::ServerText>| v.as_ref().map(|v| out.show(Some(v)));
    ShownUser {
        email: shown(&user.email),
        name: shown(&user.name),
        workspace: shown(&user.workspace),
    }
}
