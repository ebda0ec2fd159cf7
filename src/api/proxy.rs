//! The client's proxies: exactly the ones settings checked.
use crate::error::{Error, Result};
use crate::settings::Proxies;

/// The client's proxies are exactly `proxies`: its own reading of the environment is turned off
/// (it would read the variables again, by its own rules, and drop what it cannot parse).
pub(super) fn with_proxies(
    builder: reqwest::ClientBuilder,
    proxies: &Proxies,
) -> Result<reqwest::ClientBuilder> {
    let mut builder = builder.no_proxy();
    let no_proxy = proxies
        .no_proxy
        .as_deref()
        .and_then(reqwest::NoProxy::from_string);
    let roles: [(_, fn(_) -> _); 3] = [
        (&proxies.http, reqwest::Proxy::http::<reqwest::Url>),
        (&proxies.https, reqwest::Proxy::https::<reqwest::Url>),
        (&proxies.all, reqwest::Proxy::all::<reqwest::Url>),
    ];
    for (proxy, role) in roles {
        if let Some(p) = proxy {
            let proxy = role(p.url.clone()).map_err(|_| {
                Error::usage(format!(
                    "{} cannot be used as a proxy; no request was made",
                    p.var
                ))
                .with_hint(format!(
                    "set {} to an http:// or https:// proxy URL, or unset it",
                    p.var
                ))
            })?;
            builder = builder.proxy(proxy.no_proxy(no_proxy.clone()));
        }
    }
    Ok(builder)
}
