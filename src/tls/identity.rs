//! Where the node's certificate and its trusted CAs come from: the `vbt.ssl.*` PEM files if
//! given, else Venice's `ssl.keystore.*` / `ssl.truststore.*` PKCS12 stores (read in
//! [`keystore`](super::keystore)).

use std::path::{Path, PathBuf};

use p12_keystore::KeyStoreEntry;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::keystore::{Opened, Store};
use super::tls_err;
use crate::config::TlsFiles;
use crate::error::{Error, Result};

const CHAIN: &str = "vbt.ssl.cert.chain.path";
const KEY: &str = "vbt.ssl.private.key.path";
const TRUST: &str = "vbt.ssl.trust.ca.path";
const KEYSTORE: &str = "ssl.keystore.location";
const TRUSTSTORE: &str = "ssl.truststore.location";

/// The node's certificate chain and private key, and where they came from (for errors).
pub(super) struct Identity {
    pub(super) chain: Vec<CertificateDer<'static>>,
    pub(super) key: PrivateKeyDer<'static>,
    pub(super) from: String,
}

/// The node's certificate: the PEM pair if either PEM key is given (both are then needed), else
/// the PKCS12 keystore.
pub(super) fn identity(f: &TlsFiles) -> Result<Identity> {
    if let Some(m) = &f.material {
        if m.chain.is_empty() || m.key_pkcs8.is_empty() {
            return Err(Error::config("the host's TLS identity has no certificate chain or no private key"));
        }
        return Ok(Identity {
            chain: m.chain.iter().map(|c| CertificateDer::from(c.clone())).collect(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(m.key_pkcs8.clone())),
            from: "the host's TLS identity".into(),
        });
    }
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
pub(super) fn trusted(f: &TlsFiles) -> Result<(Vec<CertificateDer<'static>>, String)> {
    if let Some(m) = &f.material {
        if m.trusted.is_empty() {
            return Err(Error::config("the host's TLS identity has no trusted certificate"));
        }
        return Ok((m.trusted.iter().map(|c| CertificateDer::from(c.clone())).collect(), "the host's trusted certificates".into()));
    }
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
