//! `vbt demo`: generate a partition, serve it, bootstrap it into a second directory over
//! loopback (optionally in mutual TLS with Venice's ACL), verify it, and report.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use venice_blob_transfer::tools::records;
use venice_blob_transfer::{BootstrapRequest, Config, Error, Node, PartitionId, Result, TableFormat};

use crate::args::ConfArgs;
use crate::gen::write_partition;
use crate::meter::Meter;
use crate::report::{mb_per_s, result_json};

#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 256)]
    size_mib: u64,
    #[arg(long, default_value = "BLOCK_BASED_TABLE")]
    table_format: TableFormat,
    /// Keep the demo's files in this directory (default: a temporary one, removed after).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Run both nodes in mutual TLS with Venice's ACL, with certificates generated now.
    #[arg(long)]
    tls: bool,
    /// Settings for both nodes (e.g. limits); by default the demo lifts Venice's 150 MiB/s
    /// limits so it shows what the machine can do.
    #[command(flatten)]
    conf: ConfArgs,
}

pub fn run(DemoArgs { size_mib, table_format: format, work_dir, tls, conf }: DemoArgs) -> Result<()> {
    let temp;
    let root = match work_dir {
        Some(d) => d,
        None => {
            temp = TempDir::new()?;
            temp.0.clone()
        }
    };
    let (sender_base, receiver_base) = (root.join("sender"), root.join("receiver"));
    let id = PartitionId::new("demoStore", 1, 0)?;
    let mode = if tls { "mutual TLS" } else { "plaintext" };
    println!("vbt demo: {size_mib} MiB {format} partition {} over {mode}, in {}", id.replica(), root.display());

    let (count, gen_secs) = write_partition(&sender_base, &id, format, size_mib)?;
    println!("  1. generated {count} records with RocksDB in {gen_secs:.2}s");

    // Both nodes: the demo's defaults, then TLS material, then the user's settings (which win).
    let common: Vec<(String, String)> = vec![
        ("rocksdb.plain.table.format.enabled".into(), (format == TableFormat::PlainTable).to_string()),
        ("vbt.server.bind.address".into(), "127.0.0.1".into()),
        ("blob.transfer.service.write.limit.bytes.per.sec".into(), "0".into()),
        ("blob.transfer.client.read.limit.bytes.per.sec".into(), "0".into()),
    ];
    let mut per_node: [Vec<(String, String)>; 2] = [Vec::new(), Vec::new()];
    if tls {
        use venice_blob_transfer::tools::testcerts::{write_node, Ca};
        let pki = root.join("pki");
        std::fs::create_dir_all(&pki).map_err(|e| Error::io(format!("create {}", pki.display()), e))?;
        let ca = Ca::new("vbt demo CA")?;
        let trust = pki.join("ca.pem");
        std::fs::write(&trust, &ca.pem).map_err(|e| Error::io(format!("write {}", trust.display()), e))?;
        for (i, name) in ["sender", "receiver"].iter().enumerate() {
            per_node[i] = write_node(&pki, name, &ca.issue(&format!("vbt demo {name}"), false)?, &trust)?;
        }
        println!("     generated a CA and a certificate for each node in {}", pki.display());
    }
    // --admin-port is the receiver's (two nodes cannot share one port); -D applies to both.
    let admin_port = conf.admin_port;
    let user = ConfArgs { admin_port: None, config: conf.config, defines: conf.defines }.pairs()?;
    let node_config = |i: usize, extra: Vec<(String, String)>| -> Result<Config> {
        let all = common.iter().cloned().chain(per_node[i].iter().cloned()).chain(extra).chain(user.iter().cloned());
        Config::from_pairs(all.collect::<Vec<_>>())
    };
    let sender = Node::new(node_config(
        0,
        vec![("vbt.base.dir".into(), sender_base.display().to_string()), ("davinci.p2p.blob.transfer.server.port".into(), "0".into())],
    )?)?;
    let addr = sender.start_server()?;
    println!("  2. sender listening on {addr}");

    let mut receiver_pairs = vec![("vbt.base.dir".into(), receiver_base.display().to_string())];
    if let Some(p) = admin_port {
        receiver_pairs.push(("vbt.admin.port".into(), p.to_string()));
    }
    let receiver = Node::new(node_config(1, receiver_pairs)?)?;
    if let Some(a) = receiver.admin_addr() {
        println!("     receiver's admin endpoint on http://{a}/ (/metrics, /health, /transfers)");
    }
    let mut req = BootstrapRequest::new(id.clone(), vec![addr.to_string()]);
    let meter = Meter::start("bootstrap");
    req.progress = meter.callback();
    let out = receiver.bootstrap_blocking(req);
    meter.finish();
    let out = out?;
    println!(
        "  3. bootstrapped {} files, {} bytes from {} in {:.2}s: {:.1} MB/s, every byte {}-checked, installed atomically",
        out.files,
        out.bytes,
        out.peer,
        out.elapsed.as_secs_f64(),
        mb_per_s(out.bytes, out.elapsed.as_secs_f64()),
        out.checksum
    );
    let started = Instant::now();
    let verified = records::verify(&out.partition_dir, format)?;
    println!("  4. verified all {verified} records in the received partition in {:.2}s", started.elapsed().as_secs_f64());
    println!(
        "  5. offset record ({} bytes) and store-version state ({} bytes) delivered with the partition",
        out.metadata.offset_record.len(),
        out.metadata.store_version_state.len()
    );
    println!("demo ok");
    println!("{}", result_json(&out));
    Ok(())
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("vbt-demo-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
