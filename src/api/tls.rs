//! Whom the client trusts: the CA certificates of `--ca-cert`, and the system's roots (or
//! `SSL_CERT_FILE`'s). The system store is read and parsed only for a server the given CA does
//! not vouch for, at most once: reading it (every file of /etc/ssl/certs) cost more than the
//! handshake itself.
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tracing::debug;

use crate::error::{Error, Result};

/// A CA file larger than this is not one.
const MAX_PEM: u64 = 4 * 1024 * 1024;

/// The client's TLS configuration: TLS 1.2 and 1.3 with ring, HTTP/1.1, and certificates checked
/// against `ca_cert`'s CAs, then the system's.
pub(super) fn config(ca_cert: Option<&Path>) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let given = match ca_cert {
        Some(path) => Some(verifier(read_pem(path)?, &provider).map_err(|e| {
            Error::usage(format!("--ca-cert {} cannot be used: {e}", path.display()))
        })?),
        None => None,
    };
    let roots = Roots {
        given,
        system: OnceLock::new(),
        provider: provider.clone(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::unexpected(format!("could not set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(roots))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Reads a PEM file of one or more CA certificates, through the checked open: a regular file
/// (a FIFO would block), not a symbolic link.
fn read_pem(path: &Path) -> Result<RootCertStore> {
    let pem = crate::atomic_file::read_checked(path, MAX_PEM, crate::atomic_file::Owner::Anyone)
        .map_err(|e| {
            Error::usage(format!("could not read --ca-cert {}: {e}", path.display()))
                .with_hint("name the PEM file itself, not a link to it")
        })?;
    let certs: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<_, _>>()
        .ok()
        .filter(|c: &Vec<_>| !c.is_empty())
        .ok_or_else(|| {
            Error::usage(format!(
                "--ca-cert {} holds no PEM certificate",
                path.display()
            ))
        })?;
    let mut store = RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|e| {
            Error::usage(format!(
                "--ca-cert {} holds a certificate that cannot be parsed: {e}",
                path.display()
            ))
        })?;
    }
    Ok(store)
}

fn verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> std::result::Result<Arc<WebPkiServerVerifier>, rustls::Error> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))
}

/// The system's roots, as the TLS stack always read them (`SSL_CERT_FILE`, `SSL_CERT_DIR`, else
/// the platform's store); certificates it cannot parse are skipped, as before.
fn system(
    provider: &Arc<CryptoProvider>,
) -> std::result::Result<Arc<WebPkiServerVerifier>, rustls::Error> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (valid, invalid) = roots.add_parsable_certificates(loaded.certs);
    debug!(
        valid,
        invalid,
        errors = loaded.errors.len(),
        "read the system's CA certificates"
    );
    if valid == 0 {
        return Err(rustls::Error::General(
            "the system's CA store holds no usable certificate".into(),
        ));
    }
    verifier(roots, provider)
}

/// The given CA first; the system's store, read on first need, for what the given CA does not
/// vouch for. Equivalent to one store holding both: a chain ends at one anchor or the other.
#[derive(Debug)]
struct Roots {
    given: Option<Arc<WebPkiServerVerifier>>,
    system: OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, rustls::Error>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Roots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verify = |v: &WebPkiServerVerifier| {
            v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        };
        let given = match self.given.as_deref().map(verify) {
            Some(Ok(verified)) => return Ok(verified),
            Some(Err(e)) => Some(e),
            None => None,
        };
        let system = self.system.get_or_init(|| system(&self.provider)).clone();
        match (system.and_then(|v| verify(&v)), given) {
            (Ok(verified), _) => Ok(verified),
            // The given CA signed it but something else is wrong (a name, a date): say that.
            (Err(_), Some(e))
                if e != rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) =>
            {
                Err(e)
            }
            (Err(e), _) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
