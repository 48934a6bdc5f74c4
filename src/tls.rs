//! Mutual TLS as a Venice node does it (reference §1.1, §3.2), with rustls.
//!
//! - Sender: requires a client certificate that chains to a trusted CA; then Venice's ACL
//!   admits the peer only if its certificate's issuer DN equals the issuer DN of our own
//!   certificate (optionally also: its subject DN is on an allow-list). A refused peer gets 403
//!   with an empty body and the connection closed; a plaintext request gets no answer at all.
//! - Receiver: presents its certificate, sends no SNI, and checks the peer's chain only — not its
//!   host name (Venice's client does the same).
//! - Handshakes are bounded by 20 s.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::Config;
use crate::error::{Error, Result};

/// Venice's fixed TLS handshake limit.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Ready-made TLS state for one node.
pub struct Tls {
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
    acl: bool,
    own_issuer: Vec<u8>,
    allowed_subjects: Vec<String>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_err(what: impl std::fmt::Display) -> Error {
    Error::config(format!("TLS: {what}"))
}

impl Tls {
    /// Builds the TLS state when `blob.transfer.ssl.enabled` is on; `None` for plaintext.
    pub fn from_config(cfg: &Config) -> Result<Option<Arc<Tls>>> {
        if !cfg.ssl_enabled {
            return Ok(None);
        }
        let f = &cfg.tls;
        let need = |p: &Option<std::path::PathBuf>, key: &str| {
            p.clone().ok_or_else(|| Error::config(format!("blob.transfer.ssl.enabled=true needs {key}")))
        };
        const CHAIN: &str = "vbt.ssl.cert.chain.path";
        const KEY: &str = "vbt.ssl.private.key.path";
        const TRUST: &str = "vbt.ssl.trust.ca.path";
        let (chain_path, trust_path) = (need(&f.cert_chain, CHAIN)?, need(&f.trust_ca, TRUST)?);
        let chain = read_certs(&chain_path, CHAIN)?;
        let key = read_key(&need(&f.private_key, KEY)?, KEY)?;
        let trust = read_certs(&trust_path, TRUST)?;
        let mut roots = RootCertStore::empty();
        for ca in trust {
            roots.add(ca).map_err(|e| tls_err(format!("{TRUST}={}: trusted CA: {e}", trust_path.display())))?;
        }
        let roots = Arc::new(roots);
        let own_issuer =
            issuer_der(&chain[0]).map_err(|e| tls_err(format!("{CHAIN}={}: own certificate: {e}", chain_path.display())))?;
        let pair_err = |e: rustls::Error| tls_err(format!("{CHAIN} and {KEY}: certificate and key: {e}"));

        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(|e| tls_err(format!("client verifier: {e}")))?;
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(pair_err)?;

        let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| tls_err(format!("server verifier: {e}")))?;
        let mut client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            .with_client_auth_cert(chain, key)
            .map_err(pair_err)?;
        client.enable_sni = false;
        Ok(Some(Arc::new(Tls {
            server: Arc::new(server),
            client: Arc::new(client),
            acl: cfg.acl_enabled,
            own_issuer,
            allowed_subjects: f.allowed_subjects.clone(),
        })))
    }

    /// Venice's ACL on a peer's certificate chain: `Err` names why the peer is refused.
    pub fn check_peer(&self, peer_certs: Option<&[CertificateDer<'_>]>) -> Result<(), String> {
        if !self.acl {
            return Ok(());
        }
        let cert = peer_certs.and_then(|c| c.first()).ok_or("no client certificate")?;
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| format!("unreadable certificate: {e}"))?;
        if parsed.issuer().as_raw() != self.own_issuer.as_slice() {
            return Err(format!("issuer {} differs from ours", parsed.issuer()));
        }
        if !self.allowed_subjects.is_empty() {
            let subject = parsed.subject().to_string();
            if !self.allowed_subjects.iter().any(|s| *s == subject) {
                return Err(format!("subject {subject} is not on vbt.ssl.acl.allowed.subjects"));
            }
        }
        Ok(())
    }

    /// The name rustls needs to connect; with SNI off and names unchecked it only identifies.
    pub fn server_name(host: &str) -> Result<ServerName<'static>> {
        ServerName::try_from(host.to_string()).map_err(|e| Error::invalid(format!("peer host {host:?}: {e}")))
    }
}

/// PEM certificates from the file `key` names; errors name both the key and the path.
fn read_certs(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| tls_err(format!("{key}={}: reading certificates: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(tls_err(format!("{key}={}: no PEM certificate in the file", path.display())));
    }
    Ok(certs)
}

/// The PEM private key from the file `key` names; errors name both the key and the path.
fn read_key(path: &Path, key: &str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| tls_err(format!("{key}={}: reading the private key: {e}", path.display())))
}

fn issuer_der(cert: &CertificateDer<'_>) -> std::result::Result<Vec<u8>, String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| e.to_string())?;
    Ok(parsed.issuer().as_raw().to_vec())
}

/// Verifies the server's chain and signatures, but not that its certificate names the host we
/// dialled (Venice's client checks the chain only).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

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
            Err(rustls::Error::InvalidCertificate(NotValidForName | NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
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

/// Test and demo certificates: CAs and leaf certificates generated at run time.
#[cfg(feature = "cli")]
pub mod testcerts {
    use std::path::{Path, PathBuf};

    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

    use crate::error::{Error, Result};

    /// A certificate authority that can issue node certificates.
    pub struct Ca {
        issuer: Issuer<'static, KeyPair>,
        pub pem: String,
    }

    fn gen_err(e: impl std::fmt::Display) -> Error {
        Error::internal(format!("generating certificates: {e}"))
    }

    impl Ca {
        pub fn new(common_name: &str) -> Result<Ca> {
            let mut p = CertificateParams::default();
            p.distinguished_name.push(DnType::CommonName, common_name);
            p.distinguished_name.push(DnType::OrganizationName, "vbt test");
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
            let key = KeyPair::generate().map_err(gen_err)?;
            let cert = p.self_signed(&key).map_err(gen_err)?;
            Ok(Ca { pem: cert.pem(), issuer: Issuer::new(p, key) })
        }

        /// Issues a node certificate (usable as client and server); `expired` makes one whose
        /// validity ended in 2020.
        pub fn issue(&self, common_name: &str, expired: bool) -> Result<(String, String)> {
            let mut p = CertificateParams::new(vec!["localhost".to_string()]).map_err(gen_err)?;
            p.distinguished_name.push(DnType::CommonName, common_name);
            p.extended_key_usages =
                vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
            if expired {
                p.not_before = rcgen::date_time_ymd(2019, 1, 1);
                p.not_after = rcgen::date_time_ymd(2020, 1, 1);
            }
            let key = KeyPair::generate().map_err(gen_err)?;
            let cert = p.signed_by(&key, &self.issuer).map_err(gen_err)?;
            Ok((cert.pem(), key.serialize_pem()))
        }
    }

    /// Writes `<dir>/<name>.crt`, `<name>.key` and returns the config pairs that use them with
    /// `trust` as the trusted CA file.
    pub fn write_node(dir: &Path, name: &str, cert_key: &(String, String), trust: &Path) -> Result<Vec<(String, String)>> {
        let crt = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        let w = |p: &PathBuf, s: &str| std::fs::write(p, s).map_err(|e| Error::io(format!("write {}", p.display()), e));
        w(&crt, &cert_key.0)?;
        w(&key, &cert_key.1)?;
        Ok(vec![
            ("blob.transfer.ssl.enabled".into(), "true".into()),
            ("blob.transfer.acl.enabled".into(), "true".into()),
            ("vbt.ssl.cert.chain.path".into(), crt.display().to_string()),
            ("vbt.ssl.private.key.path".into(), key.display().to_string()),
            ("vbt.ssl.trust.ca.path".into(), trust.display().to_string()),
        ])
    }
}
