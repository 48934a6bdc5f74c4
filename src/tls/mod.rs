//! Mutual TLS as a Venice node does it (reference §1.1, §3.2), with rustls.
//!
//! - Sender: requires a client certificate that chains to a trusted CA; then Venice's ACL
//!   admits the peer only if its certificate's issuer DN equals the issuer DN of our own
//!   certificate (optionally also: its subject DN is on an allow-list). A refused peer gets 403
//!   with an empty body and the connection closed; a plaintext request gets no answer at all.
//! - Receiver: presents its certificate, sends no SNI, and checks the peer's chain only — not its
//!   host name (Venice's client does the same).
//! - Handshakes are bounded by 20 s.
//!
//! Files: `mod.rs` (the node's TLS state), `identity.rs` (where the certificate and the trusted
//! CAs come from), `keystore.rs` (Java's PKCS12 stores), `verify.rs` (the ACL and the receiver's
//! chain-only check), `testcerts.rs` (certificates generated for the demo and the tests).

mod identity;
mod keystore;
#[cfg(feature = "cli")]
pub mod testcerts;
mod verify;

use std::sync::Arc;
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CipherSuite, ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::ServerName;

use crate::config::Config;
use crate::error::{Error, Result};
use identity::{identity, trusted};
use verify::{issuer_der, ChainOnly};

/// Venice's fixed TLS handshake limit.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// Ready-made TLS state for one node.
pub struct Tls {
    pub server: Arc<ServerConfig>,
    pub client: Arc<ClientConfig>,
    acl: bool,
    own_issuer: Vec<u8>,
    /// Our certificate (DER): the origin rule reads our own identity from it.
    own_cert: Vec<u8>,
    allowed_subjects: Vec<String>,
}

/// ring's suites (the set the README lists), AES-128-GCM first in each TLS version: it costs
/// about a fifth less CPU than AES-256-GCM (ring, AES-NI) and Venice's allow-list takes both, so
/// only which of the shared suites is picked changes, never which peers connect.
fn provider() -> Arc<CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    p.cipher_suites.sort_by_key(|s| {
        !matches!(
            s.suite(),
            CipherSuite::TLS13_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        )
    });
    Arc::new(p)
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
        let own_cert = id.chain[0].as_ref().to_vec();
        let own_issuer = issuer_der(&id.chain[0]).map_err(|e| tls_err(format!("{}: own certificate: {e}", id.from)))?;
        let pair_err = |e: rustls::Error| tls_err(format!("{}: certificate and key: {e}", id.from));

        let client_verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider())
            .build()
            .map_err(|e| tls_err(format!("client verifier: {e}")))?;
        let mut server = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(id.chain.clone(), id.key.clone_key())
            .map_err(pair_err)?;
        // Our order, not the client's (Java clients list AES-256 first), as Java servers do.
        server.ignore_client_order = true;

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
            own_cert,
            allowed_subjects: cfg.tls.allowed_subjects.clone(),
        })))
    }

    /// Our own certificate (DER).
    pub fn own_cert(&self) -> &[u8] {
        &self.own_cert
    }

    /// The name rustls needs to connect; with SNI off and names unchecked it only identifies.
    pub fn server_name(host: &str) -> Result<ServerName<'static>> {
        ServerName::try_from(host.to_string()).map_err(|e| Error::invalid(format!("peer host {host:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_are_rings_with_aes_128_gcm_first_in_each_version() {
        let ours: Vec<CipherSuite> = provider().cipher_suites.iter().map(|s| s.suite()).collect();
        let mut all: Vec<CipherSuite> = rustls::crypto::ring::default_provider().cipher_suites.iter().map(|s| s.suite()).collect();
        let mut sorted = ours.clone();
        sorted.sort_by_key(|s| format!("{s:?}"));
        all.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(sorted, all, "the same set of suites");
        let first = |v13: bool| ours.iter().find(|s| format!("{s:?}").starts_with("TLS13") == v13).copied();
        assert_eq!(first(true), Some(CipherSuite::TLS13_AES_128_GCM_SHA256));
        assert!(matches!(
            first(false),
            Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        ));
    }
}
