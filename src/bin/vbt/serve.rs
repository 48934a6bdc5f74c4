//! `vbt serve`: serve every partition under a base directory, or one fixed snapshot directory, to
//! peers until SIGTERM or SIGINT; a second signal ends the transfers in flight at once.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use venice_blob_transfer::{Config, Error, FixedSnapshot, Node, PartitionId, PartitionMetadata, Result, TableFormat};

use crate::args::ConfArgs;

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, required_unless_present = "snapshot_dir")]
    base_dir: Option<PathBuf>,
    /// Serve this directory as the snapshot of --store/--version/--partition.
    #[arg(long, requires_all = ["store", "version", "partition", "offset_record", "store_version_state"])]
    snapshot_dir: Option<PathBuf>,
    #[arg(long)]
    store: Option<String>,
    #[arg(long)]
    version: Option<i32>,
    #[arg(long)]
    partition: Option<i32>,
    /// File holding the offset record bytes (magic 24, version, Avro record).
    #[arg(long)]
    offset_record: Option<PathBuf>,
    /// File holding the store-version state bytes (magic 25, version, Avro record).
    #[arg(long)]
    store_version_state: Option<PathBuf>,
    /// The table format served (default: from rocksdb.plain.table.format.enabled).
    #[arg(long)]
    table_format: Option<TableFormat>,
    #[command(flatten)]
    conf: ConfArgs,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let ServeArgs { base_dir, snapshot_dir, store, version, partition, offset_record, store_version_state, table_format, conf } = args;
    let mut pairs = conf.pairs()?;
    if let Some(b) = &base_dir {
        pairs.push(("vbt.base.dir".into(), b.display().to_string()));
    }
    if let Some(f) = table_format {
        pairs.push(("rocksdb.plain.table.format.enabled".into(), (f == TableFormat::PlainTable).to_string()));
    }
    let config = Config::from_pairs(pairs)?;
    let node = match snapshot_dir {
        Some(dir) => {
            let id = PartitionId::new(store.unwrap_or_default(), version.unwrap_or(-1), partition.unwrap_or(-1))?;
            let read = |p: Option<PathBuf>| {
                let p = p.expect("required by clap");
                std::fs::read(&p).map_err(|e| Error::io(format!("read {}", p.display()), e))
            };
            let metadata = PartitionMetadata::new(&id, read(offset_record)?, read(store_version_state)?)?;
            Node::builder(config).snapshot_source(Arc::new(FixedSnapshot { id, dir, metadata })).build()?
        }
        None => Node::new(config)?,
    };
    // Registered before the port opens: from then on a signal means a graceful stop.
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])
        .map_err(|e| Error::io("installing SIGTERM/SIGINT handlers", e))?;
    let addr = node.start_server()?;
    let cfg = node.config();
    // What is exposed, at a glance: address, TLS and ACL.
    println!(
        "{}",
        serde_json::json!({"listening": addr.to_string(), "tls": cfg.ssl_enabled, "acl": cfg.acl_enabled,
            "loopback_only": addr.ip().is_loopback(), "admin": node.admin_addr().map(|a| a.to_string())})
    );
    let _ = std::io::stdout().flush();
    let signal = signals.forever().next().unwrap_or(signal_hook::consts::SIGTERM);
    let grace = cfg.shutdown_grace;
    eprintln!(
        "vbt serve: signal {signal}: stopping; transfers in flight may finish for {:.1}s (vbt.server.shutdown.grace.ms)",
        grace.as_secs_f64()
    );
    // A second signal during the grace period ends the transfers in flight at once.
    let stopped = signals.handle();
    let cut = std::thread::scope(|scope| {
        let stopping = scope.spawn(|| {
            let cut = node.stop_server(grace);
            stopped.close();
            cut
        });
        if let Some(again) = signals.forever().next() {
            eprintln!("vbt serve: signal {again} again: ending transfers in flight now");
            node.close();
        }
        stopping.join().expect("the stopping thread")
    });
    if cut > 0 {
        eprintln!("vbt serve: ended {cut} unfinished transfer(s) after the grace period");
    }
    node.close();
    eprintln!("vbt serve: stopped");
    Ok(())
}
