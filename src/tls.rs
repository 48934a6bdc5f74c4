//! Mutual TLS as a Venice node does it (reference §1.1, §3.2), with rustls.
//!
//! - Sender: requires a client certificate that chains to a trusted CA; then Venice's ACL
//!   admits the peer only if its certificate's issuer DN equals the issuer DN of our own
//!   certificate (optionally also: its subject DN is on an allow-list). A refused peer gets 403
//!   with an empty body and the connection closed; a plaintext request gets no answer at all.
//! - Receiver: presents its certificate, sends no SNI, and checks the peer's chain only — not its
//!   host name (Venice's client does the same).
//! - Handshakes are bounded by 20 s.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use p12_keystore::{KeyStoreEntry, Pkcs12ImportPolicy};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};

use crate::config::{Config, TlsFiles};
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
    ///
    /// The node's certificate and the trusted CAs each come from a `vbt.ssl.*` PEM file if one is
    /// given, else from Venice's `ssl.keystore.*` / `ssl.truststore.*` PKCS12 stores.
    pub fn from_config(cfg: &Config) -> Result<Option<Arc<Tls>>> {
        if !cfg.ssl_enabled {
            return Ok(None);
        }
        let id = identity(&cfg.tls)?;
        let (trust, trust_from) = trusted(&cfg.tls)?;
        let mut roots = RootCertStore::empty();
        for ca in trust {
            roots.add(ca).map_err(|e| tls_err(format!("{trust_from}: trusted CA: {e}")))?;
        }
        let roots = Arc::new(roots);
        let own_issuer = issuer_der(&id.chain[0]).map_err(|e| tls_err(format!("{}: own certificate: {e}", id.from)))?;
        let pair_err = |e: rustls::Error| tls_err(format!("{}: certificate and key: {e}", id.from));

        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(|e| tls_err(format!("client verifier: {e}")))?;
        let server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(id.chain.clone(), id.key.clone_key())
            .map_err(pair_err)?;

        let inner =
            WebPkiServerVerifier::builder_with_provider(roots, provider()).build().map_err(|e| tls_err(format!("server verifier: {e}")))?;
        let mut client = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(inner)))
            .with_client_auth_cert(id.chain, id.key)
            .map_err(pair_err)?;
        client.enable_sni = false;
        Ok(Some(Arc::new(Tls {
            server: Arc::new(server),
            client: Arc::new(client),
            acl: cfg.acl_enabled,
            own_issuer,
            allowed_subjects: cfg.tls.allowed_subjects.clone(),
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
            if !self.allowed_subjects.contains(&subject) {
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

const CHAIN: &str = "vbt.ssl.cert.chain.path";
const KEY: &str = "vbt.ssl.private.key.path";
const TRUST: &str = "vbt.ssl.trust.ca.path";
const KEYSTORE: &str = "ssl.keystore.location";
const TRUSTSTORE: &str = "ssl.truststore.location";

/// The node's certificate chain and private key, and where they came from (for errors).
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    from: String,
}

/// The node's certificate: the PEM pair if either PEM key is given (both are then needed), else
/// the PKCS12 keystore.
fn identity(f: &TlsFiles) -> Result<Identity> {
    if f.cert_chain.is_some() || f.private_key.is_some() {
        let need = |p: &Option<PathBuf>, key: &str| {
            p.clone()
                .ok_or_else(|| Error::config(format!("blob.transfer.ssl.enabled=true: {CHAIN} and {KEY} go together; {key} is missing")))
        };
        let (chain_path, key_path) = (need(&f.cert_chain, CHAIN)?, need(&f.private_key, KEY)?);
        if let Some(ks) = &f.keystore {
            log::info!(
                "TLS: the node's certificate comes from {CHAIN}={} and {KEY}={}; {KEYSTORE}={} is not used (vbt.ssl.* PEM files win)",
                chain_path.display(),
                key_path.display(),
                ks.display()
            );
        }
        return Ok(Identity {
            chain: read_certs(&chain_path, CHAIN)?,
            key: read_key(&key_path, KEY)?,
            from: format!("{CHAIN}={} and {KEY}={}", chain_path.display(), key_path.display()),
        });
    }
    let Some(path) = &f.keystore else {
        return Err(Error::config(format!(
            "blob.transfer.ssl.enabled=true needs the node's certificate: {KEYSTORE} (a PKCS12 keystore, with \
             ssl.keystore.password), or the PEM files {CHAIN} and {KEY}"
        )));
    };
    let from = format!("{KEYSTORE}={}", path.display());
    let store = Store { path, key: KEYSTORE, password_key: "ssl.keystore.password", type_key: "ssl.keystore.type" };
    let data = store.read(f.keystore_type.as_deref())?;
    let mut ks = store.open(&data, f.keystore_password.as_deref());
    // PKCS12 as keytool and openssl write it has one password; a host may have put it under
    // ssl.key.password only.
    if let (Err(Opened::WrongPassword(_)), Some(kp)) = (&ks, f.key_password.as_deref()) {
        if Some(kp) != f.keystore_password.as_deref() {
            ks = store.open(&data, Some(kp)).map_err(|e| match e {
                Opened::WrongPassword(_) => {
                    Opened::WrongPassword(store.err("wrong password: neither ssl.keystore.password nor ssl.key.password opens it"))
                }
                other => other,
            });
        }
    }
    let ks = ks.map_err(Opened::into_error)?;
    let mut chains = ks.entries().filter_map(|(alias, e)| match e {
        KeyStoreEntry::PrivateKeyChain(c) if !c.certs().is_empty() => Some((alias, c)),
        _ => None,
    });
    let Some((alias, chain)) = chains.next() else {
        return Err(tls_err(format!("{from}: no private key entry with a certificate in the keystore")));
    };
    let others: Vec<&String> = chains.map(|(a, _)| a).collect();
    if !others.is_empty() {
        log::warn!("TLS: {from} holds several private keys; using alias {alias:?}, not {others:?}");
    }
    Ok(Identity {
        chain: chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())).collect(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
        from: format!("{from} (alias {alias:?})"),
    })
}

/// The trusted CAs and where they came from: the PEM file if given, else the PKCS12 truststore.
fn trusted(f: &TlsFiles) -> Result<(Vec<CertificateDer<'static>>, String)> {
    if let Some(path) = &f.trust_ca {
        if let Some(ts) = &f.truststore {
            log::info!(
                "TLS: trusted CAs come from {TRUST}={}; {TRUSTSTORE}={} is not used (vbt.ssl.* PEM files win)",
                path.display(),
                ts.display()
            );
        }
        return Ok((read_certs(path, TRUST)?, format!("{TRUST}={}", path.display())));
    }
    let Some(path) = &f.truststore else {
        return Err(Error::config(format!(
            "blob.transfer.ssl.enabled=true needs trusted CAs: {TRUSTSTORE} (a PKCS12 truststore, with \
             ssl.truststore.password), or the PEM file {TRUST}"
        )));
    };
    let from = format!("{TRUSTSTORE}={}", path.display());
    let store = Store { path, key: TRUSTSTORE, password_key: "ssl.truststore.password", type_key: "ssl.truststore.type" };
    let data = store.read(f.truststore_type.as_deref())?;
    let ks = store.open(&data, f.truststore_password.as_deref()).map_err(Opened::into_error)?;
    // What Java's TrustManagerFactory trusts in a KeyStore: every trusted-certificate entry, and
    // the first certificate of every private-key entry (Venice's own tests use one store for both).
    let roots: Vec<CertificateDer<'static>> = ks
        .entries()
        .filter_map(|(_, e)| match e {
            KeyStoreEntry::Certificate(c) => Some(c),
            KeyStoreEntry::PrivateKeyChain(c) => c.certs().first(),
            _ => None,
        })
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    if roots.is_empty() {
        // `openssl pkcs12 -export -nokeys` (before OpenSSL 3.2's -jdktrust) writes certificates
        // without Java's trusted-key-usage attribute: Java ignores them, and so does vbt.
        return Err(tls_err(format!(
            "{from}: no trusted certificate entry (Java would trust nothing in it either); add the CA with \
             `keytool -importcert -noprompt -alias ca -file ca.pem -keystore {} -storetype PKCS12`",
            path.display()
        )));
    }
    Ok((roots, from))
}

/// One Java store named by `key`; errors name the key and the path, never a password.
struct Store<'a> {
    path: &'a Path,
    key: &'a str,
    password_key: &'a str,
    type_key: &'a str,
}

/// The first four bytes of a JKS file and of a JCEKS file.
const JKS_MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

impl Store<'_> {
    fn err(&self, what: impl std::fmt::Display) -> Error {
        tls_err(format!("{}={}: {what}", self.key, self.path.display()))
    }

    /// The store's bytes. As Java's dual-format keystores do, the file decides its format, not
    /// `type_key`; a JKS or JCEKS file gets the command that converts it.
    fn read(&self, declared: Option<&str>) -> Result<Vec<u8>> {
        let data = std::fs::read(self.path).map_err(|e| self.err(format!("reading the store: {e}")))?;
        let java = match data.get(..4) {
            Some(m) if m == JKS_MAGIC => Some("JKS"),
            Some(m) if m == JCEKS_MAGIC => Some("JCEKS"),
            _ => None,
        };
        if let Some(kind) = java {
            let p = self.path.display();
            return Err(self.err(format!(
                "this is a {kind} store, which vbt does not read; convert it to PKCS12 with \
                 `keytool -importkeystore -srckeystore {p} -srcstoretype {kind} -destkeystore {p}.p12 -deststoretype PKCS12`, \
                 then set {}={p}.p12 and {}=PKCS12",
                self.key, self.type_key
            )));
        }
        if declared == Some("JKS") {
            log::info!(
                "TLS: {}=JKS, but {}={} is PKCS12: reading it as PKCS12, as Java does",
                self.type_key,
                self.key,
                self.path.display()
            );
        }
        Ok(data)
    }

    /// Opens PKCS12 `data` with `password` (unset = empty, as Java's null password).
    fn open(&self, data: &[u8], password: Option<&str>) -> std::result::Result<p12_keystore::KeyStore, Opened> {
        use p12_keystore::error::Error as P12;
        p12_keystore::KeyStore::from_pkcs12(data, password.unwrap_or(""), Pkcs12ImportPolicy::Strict).map_err(|e| {
            match e {
                // The MAC is keyed by the password; a store without one fails to decrypt instead.
                P12::MacError(_) | P12::UnpadError | P12::Pkcs5Error(_) => {
                    let unset = if password.is_none() { format!(" ({} is not set)", self.password_key) } else { String::new() };
                    Opened::WrongPassword(self.err(format!("wrong password: {} does not open it{unset}", self.password_key)))
                }
                e => Opened::Other(self.err(format!("not a PKCS12 store vbt can read: {e}"))),
            }
        })
    }
}

/// Why a store did not open: a wrong password (worth another try) or anything else.
enum Opened {
    WrongPassword(Error),
    Other(Error),
}

impl Opened {
    fn into_error(self) -> Error {
        match self {
            Opened::WrongPassword(e) | Opened::Other(e) => e,
        }
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
    PrivateKeyDer::from_pem_file(path).map_err(|e| tls_err(format!("{key}={}: reading the private key: {e}", path.display())))
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
            p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth, rcgen::ExtendedKeyUsagePurpose::ClientAuth];
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
