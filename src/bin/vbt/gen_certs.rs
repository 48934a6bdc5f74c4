//! `vbt gen-certs`: a CA and node certificates (PEM) for mutual TLS tests and benchmarks, and the
//! settings each node needs.

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
    let mut out = serde_json::Map::new();
    for n in &nodes {
        let pairs = write_node(&dir, n, &ca.issue(n, false)?, &trust)?;
        out.insert(n.clone(), pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect());
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
