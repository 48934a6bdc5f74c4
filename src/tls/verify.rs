//! Verification: Venice's ACL on a peer's certificate (issuer DN equal to ours, optionally an
//! allow-listed subject DN), and the receiver's server-certificate check (the chain only, not
//! the host name).

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::Tls;

impl Tls {
    /// Venice's ACL on a peer's certificate chain: `Err` names why the peer is refused. A peer the
    /// ACL admitted comes back with its certificate (DER), for the origin rule; with the ACL off,
    /// `None`.
    pub fn check_peer(&self, peer_certs: Option<&[CertificateDer<'_>]>) -> Result<Option<Vec<u8>>, String> {
        if !self.acl {
            return Ok(None);
        }
        let cert = peer_certs.and_then(|c| c.first()).ok_or("no client certificate")?;
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| format!("unreadable certificate: {e}"))?;
        if parsed.issuer().as_raw() != self.own_issuer.as_slice() {
            return Err(format!("issuer {} differs from ours", parsed.issuer()));
        }
        if !self.allowed_subjects.is_empty() {
            let subject = parsed.subject().to_string();
            if !self.allowed_subjects.contains(&subject) {
                return Err(format!("subject {subject} is not on vbt.ssl.acl.allowed.subjects"));
            }
        }
        Ok(Some(cert.as_ref().to_vec()))
    }
}

pub(super) fn issuer_der(cert: &CertificateDer<'_>) -> std::result::Result<Vec<u8>, String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| e.to_string())?;
    Ok(parsed.issuer().as_raw().to_vec())
}

/// Verifies the server's chain and signatures, but not that its certificate names the host we
/// dialled (Venice's client checks the chain only).
#[derive(Debug)]
pub(super) struct ChainOnly(pub(super) Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        use rustls::CertificateError::{NotValidForName, NotValidForNameContext};
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            // The chain was verified before the name was compared.
            Err(rustls::Error::InvalidCertificate(NotValidForName | NotValidForNameContext { .. })) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
