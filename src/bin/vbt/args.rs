//! Flag groups several commands share: a store version, a partition of one, and the settings
//! (`--config`, `-D`, `--admin-port`).

use std::path::PathBuf;

use clap::Args;
use venice_blob_transfer::{Error, PartitionId, Result, TableFormat};

/// A store version under a base directory, and its table format.
#[derive(Args)]
pub struct StoreArgs {
    #[arg(long)]
    pub base_dir: PathBuf,
    #[arg(long)]
    pub store: String,
    #[arg(long)]
    pub version: i32,
    #[arg(long, default_value = "BLOCK_BASED_TABLE")]
    pub table_format: TableFormat,
}

/// One partition of a store version.
#[derive(Args)]
pub struct PartArgs {
    #[command(flatten)]
    pub at: StoreArgs,
    #[arg(long)]
    pub partition: i32,
}

impl PartArgs {
    pub fn id(&self) -> Result<PartitionId> {
        PartitionId::new(&self.at.store, self.at.version, self.partition)
    }
}

#[derive(Args)]
pub struct ConfArgs {
    /// A Java properties file with Venice (and vbt.*) settings.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// One setting, KEY=VALUE; repeat for more. Applied after --config.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub defines: Vec<String>,
    /// Serve /metrics, /health and /transfers on this port (vbt.admin.port; 0 = any free port;
    /// bound to vbt.admin.bind.address, loopback by default). `demo` gives it to the receiver.
    #[arg(long)]
    pub admin_port: Option<u16>,
}

impl ConfArgs {
    pub fn pairs(&self) -> Result<Vec<(String, String)>> {
        let mut pairs = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
                venice_blob_transfer::tools::parse_properties(&text)?
            }
            None => Vec::new(),
        };
        for d in &self.defines {
            let (k, v) = d.split_once('=').ok_or_else(|| Error::invalid(format!("-D {d:?}: expected KEY=VALUE")))?;
            pairs.push((k.trim().to_string(), v.trim().to_string()));
        }
        if let Some(p) = self.admin_port {
            pairs.push(("vbt.admin.port".into(), p.to_string()));
        }
        Ok(pairs)
    }
}
