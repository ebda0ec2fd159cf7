//! What a failed request says about the next one, read from the types in its cause chain (never
//! from its text, which holds the URL).

/// The error and its causes on one line; reqwest's own message alone hides the reason.
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// What a failed request says about the next one.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// The network or the server may do better soon: retry within the deadline.
    Transient,
    /// TLS failed (an untrusted certificate, a handshake the server refused).
    Tls,
    /// Retrying cannot help: the reason, for the message.
    Fatal(&'static str),
}

/// Classifies a request error by the types in its cause chain, never by its text (which holds
/// the URL).
pub(super) fn classify(e: &reqwest::Error) -> Class {
    if e.is_builder() {
        return Class::Fatal("the request could not be made (check the proxy variables)");
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if err.is::<rustls::Error>() {
            return Class::Tls;
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>()
            && h.is_parse()
        {
            return Class::Fatal("the server did not answer with valid HTTP");
        }
        // hyper-util's proxy tunnel error has no public type; its variant is matched by name.
        match format!("{err:?}").as_str() {
            "ProxyAuthRequired" => {
                return Class::Fatal("the proxy requires authentication (407 on CONNECT)");
            }
            "ProxyHeadersTooLong" | "TunnelUnsuccessful" | "MissingHost" => {
                return Class::Fatal("the proxy refused to open a tunnel to the API");
            }
            _ => {}
        }
        // An io::Error's source() skips the error it wraps (often another io::Error around a
        // rustls::Error), so step into it instead.
        cause = match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner),
            None => err.source(),
        };
    }
    Class::Transient
}
