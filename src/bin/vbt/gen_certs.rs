//! `vbt gen-certs`: a CA and node certificates for mutual TLS tests and benchmarks, and the
//! settings each node needs. PEM (`<node>.crt`, `<node>.key`, `ca.pem`) and the same in DER
//! (`<node>.crt.der`, `<node>.key.der` as PKCS#8, `ca.der`) for hosts that hand vbt an identity
//! in memory.

use std::path::PathBuf;

use clap::Args;
use venice_blob_transfer::tools::testcerts::{write_node, Ca};
use venice_blob_transfer::{Error, Result};

#[derive(Args)]
pub struct GenCertsArgs {
    #[arg(long)]
    dir: PathBuf,
    /// Node names; one certificate each, all from one CA.
    #[arg(long = "node", default_values_t = ["sender".to_string(), "receiver".to_string()])]
    nodes: Vec<String>,
}

pub fn run(GenCertsArgs { dir, nodes }: GenCertsArgs) -> Result<()> {
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let ca = Ca::new("vbt CA")?;
    let trust = dir.join("ca.pem");
    std::fs::write(&trust, &ca.pem).map_err(|e| Error::io(format!("write {}", trust.display()), e))?;
    der(&dir.join("ca.der"), &ca.pem, false)?;
    let mut out = serde_json::Map::new();
    for n in &nodes {
        let issued = ca.issue(n, false)?;
        der(&dir.join(format!("{n}.crt.der")), &issued.0, false)?;
        der(&dir.join(format!("{n}.key.der")), &issued.1, true)?;
        let pairs = write_node(&dir, n, &issued, &trust)?;
        out.insert(n.clone(), pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect());
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}

/// Writes the DER of the first certificate (or PKCS#8 key) in `pem` to `path`.
fn der(path: &std::path::Path, pem: &str, key: bool) -> Result<()> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let bytes = if key {
        PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map(|k| k.secret_pkcs8_der().to_vec())
    } else {
        CertificateDer::from_pem_slice(pem.as_bytes()).map(|c| c.to_vec())
    };
    let bytes = bytes.map_err(|e| Error::internal(format!("DER of {}: {e}", path.display())))?;
    std::fs::write(path, bytes).map_err(|e| Error::io(format!("write {}", path.display()), e))
}
