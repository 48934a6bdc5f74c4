//! Test and demo certificates: CAs and leaf certificates generated at run time.

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
